//! `-o statsd`: StatsD text over UDP (or TCP), k6's `K6_STATSD_*` settings, without k6's
//! defects (truncated counters, raw check names in metric names, unsorted unescaped tags).
//! The protocol work lives in `loadrun-statsd`; this crate is options and the plugin entry point.

mod config;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};
use loadrun_statsd::StatsdOutput;

pub use config::{parse_config, OUTPUT};

pub struct StatsdPlugin;

impl Plugin for StatsdPlugin {
    const NAME: &'static str = "out_statsd";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init)?;
        Ok(Box::new(StatsdOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(StatsdPlugin);
