//! `-o datadog`: k6's metrics in Datadog, two ways.
//!
//! - `transport=dogstatsd` (default): DogStatsD lines to a Datadog Agent, named exactly as k6's
//!   statsd output names them (`k6.http_reqs`, `k6.check.<name>.pass`, ...) so Datadog's k6
//!   integration dashboard lights up; tags on by default.
//! - `transport=api`: no agent; the series are posted to Datadog's `/api/v2/series` (or
//!   `/api/v1/series`) with the API key, aggregated per push interval (see [`output`]).
//!
//! The API transport follows the plugin shape: `config` (options), [`encoder`] (entries to
//! request bodies, pure), [`transport`] (the shared HTTP client), [`output`] (`impl Output`);
//! the DogStatsD transport is `loadrun-statsd`'s output.

mod config;
pub mod encoder;
pub mod limits;
pub mod output;
pub mod transport;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};
use loadrun_statsd::StatsdOutput;

pub use config::{parse_config, ApiVersion, DatadogConfig, Transport, TrendsAs, OUTPUT};

pub struct DatadogPlugin;

impl Plugin for DatadogPlugin {
    const NAME: &'static str = "out_datadog";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        match parse_config(&init)? {
            DatadogConfig::DogStatsd(cfg) => Ok(Box::new(StatsdOutput::new(cfg)?)),
            DatadogConfig::Api(cfg) => Ok(Box::new(output::ApiOutput::new(*cfg)?)),
        }
    }
}

loadrun_plugin_api::export_plugin!(DatadogPlugin);
