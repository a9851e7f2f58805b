//! Executables as plugins (`loadrun_plugin_api::process`): telling one from a shared object,
//! and loading it under the same trust policy.

use std::path::Path;
use std::sync::Arc;

use loadrun_plugin_api::face::PluginFace;
use loadrun_plugin_api::process::ProcessPlugin;

use super::{LoadedPlugin, PluginError, PluginSource, TrustPolicy};

pub use loadrun_plugin_api::process::{is_program, PROGRAM_PREFIX};

/// `grafana-cloud` → `loadrun-output-grafana-cloud`.
pub fn program_file_name(output: &str) -> String {
    format!("{PROGRAM_PREFIX}{output}")
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
