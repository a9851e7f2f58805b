//! # out_influxdb
//!
//! loadrun's InfluxDB output: k6's `-o influxdb` (v1, `/write`) and the v2 API of k6's
//! `xk6-influxdb` extension (`/api/v2/write`) in one plugin, writing line protocol exactly as
//! k6 does, with what k6 lacks: request timeouts, retries through the host, bounded memory,
//! split requests, and vu/iter metadata as fields. See README.md.
//!
//! v2 is chosen when an organization, a bucket or a token is set (by any means); otherwise v1.

pub mod config;
pub mod encoder;
pub mod output;
pub mod point_keys;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::Config;
pub use output::InfluxOutput;

/// The plugin: one output, `influxdb` (alias `xk6-influxdb`).
pub struct InfluxPlugin;

impl Plugin for InfluxPlugin {
    const NAME: &'static str = "out_influxdb";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let cfg = Config::from_init(&init)?;
        Ok(Box::new(InfluxOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(InfluxPlugin);
