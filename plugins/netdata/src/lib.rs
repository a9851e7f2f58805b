//! `-o netdata`: StatsD to Netdata's built-in StatsD server, named so that Netdata's stock k6
//! app (`/usr/lib/netdata/conf.d/statsd.d/k6.conf`, `metrics = k6*`) draws its charts without
//! any configuration.
//!
//! Netdata-specific choices:
//! - `http_req_failed` is sent as `k6.http_reqs_failed`, the name the stock app's "Failed HTTP
//!   Requests rate" chart listens to (k6 itself sent `k6.http_req_failed`, which that chart
//!   never showed). `stockNames=false` keeps k6's name.
//! - A negative gauge goes out as `name:0|g` + `name:-v|g`: Netdata, like every StatsD server,
//!   reads a leading sign as a delta.
//! - Tags are off by default: the stock charts do not use them.

mod config;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};
use loadrun_statsd::StatsdOutput;

pub use config::{parse_config, OUTPUT};

pub struct NetdataPlugin;

impl Plugin for NetdataPlugin {
    const NAME: &'static str = "out_netdata";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = parse_config(&init)?;
        Ok(Box::new(StatsdOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(NetdataPlugin);
