//! Executables as plugins (`loadrun_plugin_api::process`): telling one from a shared object,
//! and loading it under the same trust policy.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use loadrun_plugin_api::face::PluginFace;
use loadrun_plugin_api::process::ProcessPlugin;

use super::{LoadedPlugin, PluginError, PluginSource, TrustPolicy};

/// What an executable plugin on the search path is called: `loadrun-output-NAME`.
pub const PROGRAM_PREFIX: &str = "loadrun-output-";

/// `grafana-cloud` → `loadrun-output-grafana-cloud`.
pub fn program_file_name(output: &str) -> String {
    format!("{PROGRAM_PREFIX}{output}")
}

/// Whether `path` is to be run rather than loaded: named `loadrun-output-*`, or a script
/// (`#!`) with an execute bit whose name does not say it is a library.
pub fn is_program(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with(PROGRAM_PREFIX) {
        return true;
    }
    if name.ends_with(".so") || name.contains(".so.") {
        return false;
    }
    let executable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    executable && starts_with_shebang(path)
}

fn starts_with_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"#!"
}

/// Runs `path` once to ask what it provides, if `policy` lets it run at all.
pub fn load_program(path: &Path, policy: TrustPolicy) -> Result<LoadedPlugin, PluginError> {
    policy.admit(path)?;
    let plugin = ProcessPlugin::load(path).map_err(|reason| PluginError::Program {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(LoadedPlugin::from_face(
        PluginSource::File(path.to_path_buf()),
        PluginFace::Process(Arc::new(plugin)),
    ))
}
