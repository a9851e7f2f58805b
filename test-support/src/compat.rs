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
    std::fs::write(
        api.join("Cargo.toml"),
        format!(
            "[package]\nname = \"loadrun-plugin-api\"\nversion = \"{api_version}\"\nedition = \"2021\"\n\n\
             [features]\ntestkit = []\n\n[dependencies]\nabi_stable = \"0.11.3\"\nserde_json = \"1\"\nlibc = \"0.2\"\n"
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
