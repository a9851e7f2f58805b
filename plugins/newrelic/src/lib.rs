//! # out_newrelic
//!
//! loadrun's New Relic output: sends aggregated k6 metrics straight to New Relic's Metric API
//! (no agent, no StatsD daemon), with percentile gauges New Relic cannot compute from k6's
//! StatsD recipe. See README.md for what is sent and the limits kept.
//!
//! Modules: [`config`] (options), [`quantiles`] and [`aggregate`] (per-window aggregation in
//! bounded memory), [`encoder`] (Metric API JSON and request splitting), [`output`] (pushes,
//! retries, shutdown).

pub mod aggregate;
pub mod config;
pub mod encoder;
pub mod limits;
pub mod output;
pub mod quantiles;

use loadrun_plugin_api::{OutputInit, Plugin, PluginError};

pub use config::Config;
pub use output::NewRelicOutput;

/// The plugin: one output, `newrelic`.
pub struct NewRelicPlugin;

impl Plugin for NewRelicPlugin {
    const NAME: &'static str = "out_newrelic";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn loadrun_plugin_api::Output>, PluginError> {
        let cfg = Config::from_init(&init)?;
        Ok(Box::new(NewRelicOutput::new(cfg, &init.test)?))
    }
}

loadrun_plugin_api::export_plugin!(NewRelicPlugin);
