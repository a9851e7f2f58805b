//! `-o grafana-cloud`: remote write to a Grafana Cloud stack's Prometheus (Mimir), configured
//! the way Grafana Cloud presents it: the stack's remote-write URL, the instance id and an
//! access-policy token (never printed), plus a `testid` label on every series so runs can be
//! told apart in dashboard 19665. The options are declared in
//! `loadrun_remote_write::config::GRAFANA_CLOUD`; everything else is the `prometheus` output
//! (`loadrun-remote-write`).

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};
use loadrun_remote_write::{parse_config, Flavor, RemoteWriteOutput, GRAFANA_CLOUD};

pub struct GrafanaCloudPlugin;

impl Plugin for GrafanaCloudPlugin {
    const NAME: &'static str = "out_grafana_cloud";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[GRAFANA_CLOUD];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init, Flavor::GrafanaCloud)?;
        Ok(Box::new(RemoteWriteOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(GrafanaCloudPlugin);
