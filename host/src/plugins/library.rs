//! Loading one shared object as a plugin.

use std::path::Path;

use abi_stable::library::{lib_header_from_path, LibraryError};
use loadrun_plugin_api::abi::init_root_module;
use loadrun_plugin_api::cabi::{CLoadError, CPlugin};
use loadrun_plugin_api::face::PluginFace;
use loadrun_plugin_api::API_VERSION;

use super::{elf, LoadedPlugin, PluginError, PluginSource, TrustPolicy};

/// Loads `path` and checks that it is a compatible loadrun plugin. Never panics: every failure
/// becomes a one-line [`PluginError`]. Nothing of the file runs unless it is a complete shared
/// object for this machine (see [`elf::inspect`]) that `policy` lets load.
pub fn load_library(path: &Path, policy: TrustPolicy) -> Result<LoadedPlugin, PluginError> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(PluginError::from_stat(path, &e));
    }
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if super::process::is_program(&path) {
        return super::process::load_program(&path, policy);
    }
    elf::inspect(&path)?;
    policy.admit(&path)?;
    load_checked(&path)
}

/// `dlopen` and the ABI checks, for a file that passed [`elf::inspect`] and the trust policy:
/// the Rust ABI first, then, for a library without its root module, the C face.
fn load_checked(path: &Path) -> Result<LoadedPlugin, PluginError> {
    let path = path.to_path_buf();
    // Loaded once, whichever face it turns out to have.
    loadrun_plugin_api::face::keep_loaded(&path).map_err(|reason| {
        let reason = reason
            .rsplit(": ")
            .next()
            .map(str::to_string)
            .unwrap_or(reason);
        PluginError::NotSharedObject {
            path: path.clone(),
            reason,
        }
    })?;
    // Checked against the interface of the API release the plugin was built against (see
    // `init_root_module`): plugins of every earlier 1.x minor load.
    let module = match lib_header_from_path(&path).and_then(init_root_module) {
        Ok(module) => PluginFace::Rust(module),
        Err(LibraryError::GetSymbolError { .. }) => PluginFace::C(load_c(&path)?),
        Err(e) => return Err(map_error(&path, e)),
    };
    Ok(LoadedPlugin::from_face(PluginSource::File(path), module))
}

/// A library that is not a Rust plugin, as a C-face plugin.
fn load_c(path: &Path) -> Result<std::sync::Arc<CPlugin>, PluginError> {
    let path_buf = path.to_path_buf();
    CPlugin::load(path).map_err(|e| match e {
        CLoadError::NoEntry => PluginError::NotAPlugin { path: path_buf },
        CLoadError::Open(reason) => PluginError::NotSharedObject {
            path: path_buf,
            reason,
        },
        CLoadError::Refused(reason) => PluginError::CPluginRefused {
            path: path_buf,
            reason,
        },
    })
}

fn map_error(path: &Path, err: LibraryError) -> PluginError {
    let path = path.to_path_buf();
    match err {
        LibraryError::OpenError { err, .. } => {
            let reason = one_line(&err.to_string());
            let reason = reason
                .rsplit(": ")
                .next()
                .map(str::to_string)
                .unwrap_or(reason);
            PluginError::NotSharedObject { path, reason }
        }
        LibraryError::GetSymbolError { .. } => PluginError::NotAPlugin { path },
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
            PluginError::IncompatibleApi {
                path,
                plugin_api: actual_version.to_string(),
                host_api: API_VERSION.to_string(),
                host_major: host_major(),
            }
        }
        LibraryError::ParseVersionError(e) => PluginError::IncompatibleApi {
            path,
            plugin_api: one_line(&e.to_string()),
            host_api: API_VERSION.to_string(),
            host_major: host_major(),
        },
        LibraryError::AbiInstability(e) => PluginError::AbiMismatch {
            path,
            reason: first_meaningful_line(&e.to_string()),
            host_api: API_VERSION.to_string(),
        },
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => {
            PluginError::AbiMismatch {
                path,
                reason: "built with an incompatible abi_stable or Rust C ABI".into(),
                host_api: API_VERSION.to_string(),
            }
        }
        LibraryError::Many(errors) => match errors.into_iter().next() {
            Some(first) => map_error(&path, first),
            None => PluginError::Other {
                path,
                reason: "unknown error".into(),
            },
        },
        other => PluginError::Other {
            path,
            reason: first_meaningful_line(&other.to_string()),
        },
    }
}

/// The error loading would give for a plugin declaring API version `api`, known without
/// loading it: a different major version.
pub(super) fn declared_api_error(path: &Path, api: &str) -> Option<PluginError> {
    (api.split('.').next() != Some(host_major().as_str())).then(|| PluginError::IncompatibleApi {
        path: path.to_path_buf(),
        plugin_api: api.to_string(),
        host_api: API_VERSION.to_string(),
        host_major: host_major(),
    })
}

fn host_major() -> String {
    API_VERSION.split('.').next().unwrap_or("1").to_string()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first_meaningful_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(one_line)
        .unwrap_or_else(|| "unknown".into())
}
