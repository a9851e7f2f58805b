//! Out-of-process plugins: an executable in any language that speaks the [`protocol`] over
//! its stdin and stdout. [`ProcessPlugin`] asks it what it provides and starts one child per
//! output instance, each driven by a [`ProcessOutput`] through the same [`OutputFfi`] as an
//! in-process plugin: a crash, a hang or garbage on stdout becomes an error naming the
//! executable, never a crash of the host.
//!
//! [`OutputFfi`]: crate::abi::OutputFfi

mod child;
mod json;
mod output;
mod plugin;
pub mod protocol;

pub use output::ProcessOutput;
pub use plugin::{call_timeout_from_env, ProcessPlugin, DEFAULT_CALL_TIMEOUT};
