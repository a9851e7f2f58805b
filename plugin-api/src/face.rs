//! A loaded plugin of any face, as a host uses it: its info, its declaration, and a
//! constructor of output instances that all share one interface ([`OutputBox`]).
//!
//! A host holds a [`PluginFace`] and never looks inside: a Rust root module and an
//! executable behind pipes give the same [`OutputBox`], so queues, retries, quarantine,
//! accounting, the stop deadline and `plugins list/info` do not depend on the face.

#[cfg(unix)]
use std::sync::Arc;

use abi_stable::std_types::RResult;

use crate::abi::{OutputBox, OutputInit, PluginError, PluginInfo, PluginModuleRef};
#[cfg(unix)]
use crate::process::ProcessPlugin;

#[derive(Clone)]
pub enum PluginFace {
    /// Built against this crate (`export_plugin!`), or compiled into the host.
    Rust(PluginModuleRef),
    /// An executable speaking [`crate::process::protocol`], in any language.
    #[cfg(unix)]
    Process(Arc<ProcessPlugin>),
}

impl PluginFace {
    pub fn info(&self) -> PluginInfo {
        match self {
            PluginFace::Rust(m) => (m.info())(),
            #[cfg(unix)]
            PluginFace::Process(p) => p.info(),
        }
    }

    /// The outputs with their declared options as JSON
    /// ([`crate::declaration::options_json`]'s format), when the plugin has one (Rust
    /// plugins since 1.3, every executable).
    pub fn declaration(&self) -> Option<String> {
        match self {
            PluginFace::Rust(m) => m.declaration().map(|f| f().into_string()),
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
            #[cfg(unix)]
            PluginFace::Process(p) => p.new_output(init),
        }
    }

    /// `"rust"` or `"process"`, for `plugins list/info`.
    pub fn name(&self) -> &'static str {
        match self {
            PluginFace::Rust(_) => "rust",
            #[cfg(unix)]
            PluginFace::Process(_) => "process",
        }
    }
}
