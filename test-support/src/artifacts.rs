//! Where the built binary and plugins are.

use std::path::PathBuf;

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// The cargo target folder (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The profile folder the tests were built in (`debug` unless `LOADRUN_TEST_PROFILE` says).
pub fn profile_dir() -> PathBuf {
    let profile = std::env::var("LOADRUN_TEST_PROFILE").unwrap_or_else(|_| "debug".into());
    target_dir().join(profile)
}

/// The built `loadrun` binary. Panics with the command to run if it is missing.
pub fn loadrun_bin() -> PathBuf {
    let p = profile_dir().join("loadrun");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The built plugin `libout_NAME.so`. Panics with the command to run if it is missing.
///
/// A plugin crate's own integration tests find the `.so` that `cargo test` just built beside
/// the test binary (`deps/`); other tests find the one `cargo build` put in the profile folder.
pub fn plugin_path(name: &str) -> PathBuf {
    let file = format!("libout_{name}.so");
    if let Some(deps) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
    {
        if deps.ends_with("deps") && deps.join(&file).exists() {
            return deps.join(file);
        }
    }
    let p = profile_dir().join(&file);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test.sh does)",
        p.display()
    );
    p
}
