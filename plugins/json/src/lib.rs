//! The bundled json output (`-o json`), compatible with k6's.
//!
//! NDJSON byte for byte as k6 v1.1 writes it (record kinds, key order, value and string
//! formatting; see README.md), except: times are UTC (`Z`) where k6 uses the local zone, and a
//! NaN or infinite value is written as `null` where k6 writes invalid JSON. Beyond k6: a
//! configurable flush interval, metric include/exclude lists, and opt-in array framing that makes
//! the whole file one JSON document.

pub mod config;
pub mod encoder;
pub mod filter;
pub mod gofmt;
pub mod output;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::JsonConfig;
pub use output::JsonOutput;

/// The plugin, registered in the host with `sdk::in_process_module::<JsonPlugin>()`.
pub struct JsonPlugin;

impl Plugin for JsonPlugin {
    const NAME: &'static str = "bundled-json";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let config = JsonConfig::from_init(&init)?;
        Ok(Box::new(JsonOutput::new(config)?))
    }
}
