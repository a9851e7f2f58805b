//! `-o prometheus` (also k6's name `experimental-prometheus-rw`): Prometheus remote write 1.0
//! with k6's `K6_PROMETHEUS_RW_*` options and series names, without k6's defects. The protocol,
//! naming and aggregation live in `loadrun-remote-write`; this crate is the plugin entry point.

use loadrun_plugin_api::{Output, OutputDescriptor, OutputInit, Plugin, PluginError};
use loadrun_remote_write::{option_docs, parse_config, Flavor, RemoteWriteOutput};

pub struct PrometheusPlugin;

impl Plugin for PrometheusPlugin {
    const NAME: &'static str = "out_prometheus";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] =
        &[loadrun_plugin_api::DeclaredOutput::new(
            "prometheus",
            &["experimental-prometheus-rw"],
        )];

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "prometheus".into(),
            aliases: vec!["experimental-prometheus-rw".into()].into(),
            description: "Prometheus remote write 1.0 (protobuf + snappy), k6-compatible series"
                .into(),
            options: option_docs(Flavor::Prometheus).into(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init, Flavor::Prometheus)?;
        Ok(Box::new(RemoteWriteOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(PrometheusPlugin);
