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

use file_sink::describe;
use loadrun_plugin_api::{Output, OutputDescriptor, OutputInit, Plugin, PluginError};

pub use config::JsonConfig;
pub use output::JsonOutput;

/// The plugin, registered in the host with `sdk::in_process_module::<JsonPlugin>()`.
pub struct JsonPlugin;

impl Plugin for JsonPlugin {
    const NAME: &'static str = "bundled-json";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn outputs() -> Vec<OutputDescriptor> {
        describe::output(
            "json",
            "k6-compatible NDJSON (stdout by default; gzip when the name ends in .gz)",
            vec![
                describe::option(
                    "file",
                    "LOADRUN_JSON_FILE",
                    "-",
                    "the file to write (`-` is stdout, a .gz name is gzip); also the bare `-o json=FILE` argument; alias fileName",
                ),
                describe::option(
                    "flushInterval",
                    "LOADRUN_JSON_FLUSH_INTERVAL",
                    "200ms",
                    "how often buffered records are written (k6: fixed 200ms)",
                ),
                describe::option(
                    "include",
                    "LOADRUN_JSON_INCLUDE",
                    "",
                    "only these metrics (names; `prefix*` matches by prefix; separate with , ; or |)",
                ),
                describe::option(
                    "exclude",
                    "LOADRUN_JSON_EXCLUDE",
                    "",
                    "leave these metrics out (as include)",
                ),
                describe::option(
                    "jsonArray",
                    "LOADRUN_JSON_ARRAY",
                    "false",
                    "frame the file as one JSON array instead of NDJSON (valid only once the run has stopped)",
                ),
            ],
        )
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let config = JsonConfig::from_init(&init)?;
        Ok(Box::new(JsonOutput::new(config)?))
    }
}
