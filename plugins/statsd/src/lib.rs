//! `-o statsd`: StatsD text over UDP (or TCP), k6's `K6_STATSD_*` settings, without k6's
//! defects (truncated counters, raw check names in metric names, unsorted unescaped tags).
//! The protocol work lives in `loadrun-statsd`; this crate is options and the plugin entry point.

mod config;

use loadrun_plugin_api::{Output, OutputDescriptor, OutputInit, Plugin, PluginError};
use loadrun_statsd::StatsdOutput;

pub use config::{option_docs, parse_config};

pub struct StatsdPlugin;

impl Plugin for StatsdPlugin {
    const NAME: &'static str = "out_statsd";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] =
        &[loadrun_plugin_api::DeclaredOutput::new(
            "statsd",
            &["output-statsd"],
        )];

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "statsd".into(),
            aliases: vec!["output-statsd".into()].into(),
            description: "StatsD over UDP or TCP (DogStatsD tags optional), k6-compatible".into(),
            options: option_docs().into(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init)?;
        Ok(Box::new(StatsdOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(StatsdPlugin);
