//! The bundled csv output (`-o csv`), compatible with k6's.
//!
//! Same header, columns, value and time formats as k6 v1.1 (see README.md). Where k6 is
//! ambiguous we are deterministic: `extra_tags` are in sorted key order and `%`, `&`, `=` in
//! tag keys and values are percent-encoded, so [`decode::decode_pairs`] splits them back
//! exactly. Times in the `rfc3339*` formats are UTC (`Z`); k6 uses the local zone.

pub mod config;
pub mod decode;
pub mod encoder;
pub mod output;
pub mod system_tags;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::{CsvConfig, TimeFormat};
pub use output::CsvOutput;

/// The plugin, registered in the host with `sdk::in_process_module::<CsvPlugin>()`.
pub struct CsvPlugin;

impl Plugin for CsvPlugin {
    const NAME: &'static str = "bundled-csv";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let config = CsvConfig::from_init(&init)?;
        Ok(Box::new(CsvOutput::new(config)?))
    }
}
