//! The file the counts go to. Errors name the file.

use loadrun_plugin_api::PluginError;

/// Creates (or empties) `file` now, so an unwritable path fails before the test starts.
pub fn create(file: &str) -> Result<(), PluginError> {
    std::fs::write(file, "")
        .map_err(|e| PluginError::new(format!("counts: cannot create {file}: {e}")))
}

pub fn write(file: &str, text: &str) -> Result<(), PluginError> {
    std::fs::write(file, text)
        .map_err(|e| PluginError::new(format!("counts: cannot write {file}: {e}")))
}
