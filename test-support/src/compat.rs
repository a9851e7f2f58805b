//! Builds the plugin template against a copy of `loadrun-plugin-api` claiming another version,
//! to test how the host treats plugins built for other API versions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::artifacts::{target_dir, workspace_root};

static BUILD_LOCK: Mutex<()> = Mutex::new(());

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy file");
        }
    }
}

/// Builds `examples/plugin-template` against the current `plugin-api` sources relabelled as
/// `api_version`; returns the path of the built `.so` (kept under `target/compat/`).
pub fn template_built_against(api_version: &str) -> PathBuf {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = target_dir()
        .join("compat")
        .join(format!("api-{api_version}"));
    let api = root.join("plugin-api");
    let plugin = root.join("plugin");
    let _ = std::fs::remove_dir_all(api.join("src"));
    let _ = std::fs::remove_dir_all(plugin.join("src"));
    copy_dir(&workspace_root().join("plugin-api/src"), &api.join("src"));
    let read = |p: &str| std::fs::read_to_string(workspace_root().join(p)).expect("read manifest");
    std::fs::write(
        api.join("Cargo.toml"),
        api_manifest(
            api_version,
            &read("plugin-api/Cargo.toml"),
            &read("Cargo.toml"),
        ),
    )
    .expect("write api manifest");
    copy_dir(
        &workspace_root().join("examples/plugin-template/src"),
        &plugin.join("src"),
    );
    std::fs::write(
        plugin.join("Cargo.toml"),
        "[package]\nname = \"out-counts\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"out_counts\"\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\nloadrun-plugin-api = { path = \"../plugin-api\" }\n\n[workspace]\n",
    )
    .expect("write plugin manifest");
    // Pin dependency versions to the workspace's, so no new download is needed.
    let _ = std::fs::copy(
        workspace_root().join("Cargo.lock"),
        plugin.join("Cargo.lock"),
    );
    let shared_target = target_dir().join("compat").join("target");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(plugin.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &shared_target)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building the template against API {api_version} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = shared_target.join("debug").join("libout_counts.so");
    let kept = root.join("libout_counts.so");
    std::fs::copy(&built, &kept).expect("copy built plugin");
    kept
}

/// The manifest of the relabelled `plugin-api` copy, which builds outside the workspace: its
/// features and dependencies are plugin-api's own, with each `x.workspace = true` replaced by
/// the workspace's requirement. So the copy gets abi_stable's exact pin (`export_plugin!`
/// writes abi_stable's loader symbol, see its docs) instead of a looser one written here twice.
fn api_manifest(api_version: &str, api: &str, workspace: &str) -> String {
    let mut out = format!(
        "[package]\nname = \"loadrun-plugin-api\"\nversion = \"{api_version}\"\nedition = \"2021\"\n"
    );
    let shared = section(workspace, "workspace.dependencies");
    for name in ["features", "dependencies"] {
        out.push_str(&format!("\n[{name}]\n"));
        for line in section(api, name) {
            let inherited = line
                .split_once(".workspace")
                .filter(|(_, rest)| rest.replace(' ', "") == "=true")
                .and_then(|(dep, _)| shared.iter().find(|l| key(l) == Some(dep.trim())));
            out.push_str(inherited.unwrap_or(&line));
            out.push('\n');
        }
    }
    out
}

/// The `key = value` lines of a TOML table (comments and blank lines left out).
fn section(manifest: &str, table: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|l| l.trim() != format!("[{table}]"))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn key(line: &str) -> Option<&str> {
    line.split_once('=').map(|(k, _)| k.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relabelled_api_pins_abi_stable_as_the_workspace_does() {
        let read = |p: &str| std::fs::read_to_string(workspace_root().join(p)).unwrap_or_default();
        let workspace = read("Cargo.toml");
        let pinned = section(&workspace, "workspace.dependencies")
            .into_iter()
            .find(|l| key(l) == Some("abi_stable"))
            .unwrap_or_default();
        assert!(pinned.contains("\"=0.11."), "{pinned}");
        let manifest = api_manifest("2.0.0", &read("plugin-api/Cargo.toml"), &workspace);
        let deps = section(&manifest, "dependencies");
        assert!(deps.contains(&pinned), "{manifest}");
        assert!(section(&manifest, "features").contains(&"testkit = []".to_string()));
        assert!(manifest.contains("version = \"2.0.0\""), "{manifest}");
    }
}
