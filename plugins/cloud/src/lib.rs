//! # out_cloud
//!
//! loadrun's k6 Cloud output (`-o cloud`): speaks the results protocol of Grafana Cloud k6 (and
//! of any service implementing it) as k6 v1 does — create the test run (`POST /v1/tests`),
//! push aggregated metrics (`POST /v2/metrics/{id}`, snappy-compressed `MetricSet` protobuf with
//! k6's HDR histograms for trends), finish the run with the threshold verdicts
//! (`POST /v1/tests/{id}`). See README.md.
//!
//! Differences from k6, on purpose: gauge min/max are not swapped, NaN/infinite samples are
//! skipped instead of poisoning aggregates, the held aggregates are bounded, pushes are retried
//! by the host (with backoff, while nothing new is accepted) instead of three times then dropped.

pub mod aggregate;
pub mod api;
pub mod config;
pub mod encoder;
pub mod hdr;
pub mod output;
pub mod pbcloud;
pub mod proto;

use loadrun_plugin_api::{DeclaredOutput, OutputInit, Plugin, PluginError};

pub use config::Config;
pub use output::CloudOutput;

/// The plugin: one output, `cloud`.
pub struct CloudPlugin;

impl Plugin for CloudPlugin {
    const NAME: &'static str = "out_cloud";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn loadrun_plugin_api::Output>, PluginError> {
        let cfg = Config::from_init(&init)?;
        Ok(Box::new(CloudOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(CloudPlugin);
