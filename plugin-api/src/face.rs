//! A loaded plugin of any face, as a host uses it: its info, its declaration, and a
//! constructor of output instances that all share one interface ([`OutputBox`]).
//!
//! A host holds a [`PluginFace`] and never looks inside: the Rust ABI's root module, a C table
//! and an executable behind pipes give the same [`OutputBox`], so queues, retries, quarantine,
//! accounting, the stop deadline and `plugins list/info` do not depend on the face. Each face's
//! outputs are one more [`OutputFfi`] implementation.
//!
//! [`OutputFfi`]: crate::abi::OutputFfi

use std::path::Path;
use std::sync::Arc;

use abi_stable::std_types::RResult;

use crate::abi::{OutputBox, OutputInit, PluginError, PluginInfo, PluginModuleRef};
use crate::cabi::CPlugin;
#[cfg(unix)]
use crate::process::ProcessPlugin;

#[derive(Clone)]
pub enum PluginFace {
    /// Built against this crate (`export_plugin!`), or compiled into the host.
    Rust(PluginModuleRef),
    /// Written against `loadrun_plugin.h`, in C or any language that exports a C ABI.
    C(Arc<CPlugin>),
    /// An executable speaking [`crate::process::protocol`], in any language.
    #[cfg(unix)]
    Process(Arc<ProcessPlugin>),
}

impl PluginFace {
    pub fn info(&self) -> PluginInfo {
        match self {
            PluginFace::Rust(m) => (m.info())(),
            PluginFace::C(c) => c.info(),
            #[cfg(unix)]
            PluginFace::Process(p) => p.info(),
        }
    }

    /// The outputs with their declared options as JSON
    /// ([`crate::declaration::options_json`]'s format), when the plugin has one (Rust
    /// plugins since 1.3, every C plugin and every executable).
    pub fn declaration(&self) -> Option<String> {
        match self {
            PluginFace::Rust(m) => m.declaration().map(|f| f().into_string()),
            PluginFace::C(c) => Some(c.declaration().to_string()),
            #[cfg(unix)]
            PluginFace::Process(p) => Some(p.declaration().to_string()),
        }
    }

    pub fn new_output(&self, init: OutputInit) -> Result<OutputBox, PluginError> {
        match self {
            PluginFace::Rust(m) => match (m.new_output())(init) {
                RResult::ROk(o) => Ok(o),
                RResult::RErr(e) => Err(e),
            },
            PluginFace::C(c) => c.new_output(init),
            #[cfg(unix)]
            PluginFace::Process(p) => p.new_output(init),
        }
    }

    /// `"rust"`, `"c"` or `"process"`, for `plugins list/info`.
    pub fn name(&self) -> &'static str {
        match self {
            PluginFace::Rust(_) => "rust",
            PluginFace::C(_) => "c",
            #[cfg(unix)]
            PluginFace::Process(_) => "process",
        }
    }
}

/// Opens the library at `path` for the life of the process. Call it before trying the faces
/// in turn: abi_stable closes a library that is not a Rust plugin, which would run a C
/// plugin's destructors and then its constructors again when the C face opens it (a Go
/// runtime is never unloaded, but a C or C++ library is). With the library held open, it is
/// loaded, and its initialisers run, once.
///
/// Loading runs the library's initialisers: call this only for a file the caller has decided
/// to trust.
pub fn keep_loaded(path: &Path) -> Result<(), String> {
    // SAFETY: see above; the handle is never closed, so nothing it loaded is unmapped.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
        e.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })?;
    std::mem::forget(lib);
    Ok(())
}
