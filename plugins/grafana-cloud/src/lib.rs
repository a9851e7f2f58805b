//! `-o grafana-cloud`: remote write to a Grafana Cloud stack's Prometheus (Mimir), configured
//! the way Grafana Cloud presents it: the stack's remote-write URL, the instance id and an
//! access-policy token (never printed), plus a `testid` label on every series so runs can be
//! told apart in dashboard 19665. Everything else is the `prometheus` output (`loadrun-remote-write`).

use loadrun_plugin_api::{Output, OutputDescriptor, OutputInit, Plugin, PluginError};
use loadrun_remote_write::{option_docs, parse_config, Flavor, RemoteWriteOutput};

pub struct GrafanaCloudPlugin;

impl Plugin for GrafanaCloudPlugin {
    const NAME: &'static str = "out_grafana_cloud";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] =
        &[loadrun_plugin_api::DeclaredOutput::new(
            "grafana-cloud",
            &[],
        )];

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "grafana-cloud".into(),
            aliases: Default::default(),
            description: "Grafana Cloud Prometheus: remote write with instance id + access-policy token, testid label".into(),
            options: option_docs(Flavor::GrafanaCloud).into(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init, Flavor::GrafanaCloud)?;
        Ok(Box::new(RemoteWriteOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(GrafanaCloudPlugin);
