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

use file_sink::describe;
use loadrun_plugin_api::{Output, OutputDescriptor, OutputInit, Plugin, PluginError};

pub use config::{CsvConfig, TimeFormat};
pub use output::CsvOutput;

/// The plugin, registered in the host with `sdk::in_process_module::<CsvPlugin>()`.
pub struct CsvPlugin;

impl Plugin for CsvPlugin {
    const NAME: &'static str = "bundled-csv";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn outputs() -> Vec<OutputDescriptor> {
        describe::output(
            "csv",
            "k6-compatible CSV file (or stdout with `-`; gzip when the name ends in .gz)",
            vec![
                describe::option(
                    "fileName",
                    "K6_CSV_FILENAME",
                    config::DEFAULT_FILE,
                    "the file to write; `-` is stdout, a .gz name is gzip; also the bare `-o csv=FILE` argument (plan key file_name accepted)",
                ),
                describe::option(
                    "timeFormat",
                    "K6_CSV_TIME_FORMAT",
                    "unix",
                    "timestamp column: unix, unix_milli, unix_micro, unix_nano, rfc3339, rfc3339_nano (UTC) (plan key time_format accepted)",
                ),
                describe::option(
                    "saveInterval",
                    "K6_CSV_SAVE_INTERVAL",
                    "1s",
                    "how often buffered lines are written to the file (plan key save_interval accepted)",
                ),
            ],
        )
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let config = CsvConfig::from_init(&init)?;
        Ok(Box::new(CsvOutput::new(config)?))
    }
}
