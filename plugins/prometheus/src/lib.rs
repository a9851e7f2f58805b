//! `-o prometheus` (also k6's name `experimental-prometheus-rw`): Prometheus remote write 1.0
//! with k6's `K6_PROMETHEUS_RW_*` options and series names, without k6's defects. The options
//! are declared in `loadrun_remote_write::config::PROMETHEUS`; the protocol, naming and
//! aggregation live in `loadrun-remote-write` too; this crate is the plugin entry point.

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};
use loadrun_remote_write::{parse_config, Flavor, RemoteWriteOutput, PROMETHEUS};

pub struct PrometheusPlugin;

impl Plugin for PrometheusPlugin {
    const NAME: &'static str = "out_prometheus";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[PROMETHEUS];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init, Flavor::Prometheus)?;
        Ok(Box::new(RemoteWriteOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(PrometheusPlugin);
