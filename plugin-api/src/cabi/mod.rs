//! The C face of the plugin contract: `include/loadrun_plugin.h`, its Rust declarations
//! ([`ffi`]), and what a host needs to load a plugin written against it ([`CPlugin`]) and
//! drive its outputs through the same [`OutputFfi`](crate::abi::OutputFfi) as a Rust plugin's,
//! so the host's queues, retries, quarantine, accounting and stop deadline apply unchanged.
//!
//! The cold path (plugin info with the declared options, init, outcome) is JSON; the hot path
//! is flat structs, the samples being the host's own [`Sample`](crate::abi::Sample) slice.

pub mod ffi;
mod json;
mod output;
mod plugin;

pub use plugin::{CLoadError, CPlugin};
