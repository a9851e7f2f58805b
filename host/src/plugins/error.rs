//! Plugin loading errors: one line each, naming the file and the reason.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin file {path} does not exist")]
    Missing { path: PathBuf },
    /// It exists (or may), but cannot be looked at: a symlink loop, no permission, ...
    #[error("plugin file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: not a shared library ({reason})")]
    NotSharedObject { path: PathBuf, reason: String },
    #[error("plugin {path}: not a complete shared object ({what} ends at byte {end}, file has {len} bytes); rebuild or reinstall it")]
    Incomplete {
        path: PathBuf,
        what: String,
        end: u64,
        len: u64,
    },
    #[error("plugin {path}: built for {file}, but this loadrun runs on {host}; install the plugin built for {host}")]
    WrongMachine {
        path: PathBuf,
        file: String,
        host: String,
    },
    #[error("plugin {path}: refused: {reason}; {fix}, or pass --allow-insecure-plugins (LOADRUN_ALLOW_INSECURE_PLUGINS=1) to load it anyway")]
    Untrusted {
        path: PathBuf,
        reason: String,
        fix: String,
    },
    #[error("{path}: not a loadrun plugin (it has neither a loadrun root module nor loadrun_plugin_v1; is it an output plugin built with loadrun-plugin-api or loadrun_plugin.h?)")]
    NotAPlugin { path: PathBuf },
    /// A C-face plugin whose table cannot be used (a newer major, NULL, too small, a missing
    /// function, unreadable info).
    #[error("{path}: C plugin refused: {reason}")]
    CPluginRefused { path: PathBuf, reason: String },
    #[error("{path}: built against loadrun-plugin-api {plugin_api}, which this loadrun (plugin API {host_api}) cannot load; rebuild the plugin against loadrun-plugin-api {host_major}.x")]
    IncompatibleApi {
        path: PathBuf,
        plugin_api: String,
        host_api: String,
        host_major: String,
    },
    #[error("{path}: its ABI does not match this loadrun's ({reason}); rebuild it against loadrun-plugin-api {host_api}")]
    AbiMismatch {
        path: PathBuf,
        reason: String,
        host_api: String,
    },
    /// An executable plugin that could not be started or did not keep to the protocol.
    #[error("plugin program {reason}")]
    Program { path: PathBuf, reason: String },
    #[error("{path}: could not be loaded: {reason}")]
    Other { path: PathBuf, reason: String },
    #[error("output {output:?} is provided by two plugins: {first} and {second}", second = second.display())]
    DuplicateOutput {
        output: String,
        first: String,
        second: PathBuf,
    },
    #[error("{path} does not provide output {output:?} (it provides: {})", provides.join(", "))]
    NotProvided {
        path: PathBuf,
        output: String,
        provides: Vec<String>,
    },
    #[error("no plugin provides output {output:?}; available outputs: {}; searched: {} (add --plugin FILE, or put libout_NAME.so or loadrun-output-NAME on LOADRUN_PLUGIN_PATH)",
        available.join(", "),
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":"))]
    UnknownOutput {
        output: String,
        available: Vec<String>,
        searched: Vec<PathBuf>,
    },
}

impl PluginError {
    /// What `stat` says of a plugin path: missing, or the real reason it cannot be read (a
    /// symlink loop is not "does not exist").
    pub fn from_stat(path: &std::path::Path, err: &std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::NotFound {
            PluginError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            PluginError::Unreadable {
                path: path.to_path_buf(),
                reason: err.to_string(),
            }
        }
    }
}
