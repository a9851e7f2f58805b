//! `-o cloudwatch`: k6 metrics straight into Amazon CloudWatch with `PutMetricData`, no agent.
//!
//! Samples are aggregated per period and per metric + dimension set (see [`aggregate`]), encoded
//! as Query-protocol form bodies within CloudWatch's request limits ([`encode`]), SigV4-signed
//! ([`sigv4`]) with credentials from the standard AWS sources ([`credentials`]), and sent with
//! the shared HTTP client ([`service`]).

pub mod aggregate;
pub mod config;
pub mod credentials;
pub mod datum;
pub mod distribution;
pub mod encode;
pub mod output;
pub mod service;
pub mod sigv4;
pub mod time;

use loadrun_plugin_api::{Output, OutputDescriptor, OutputInit, Plugin, PluginError};

pub use config::{option_docs, parse_config};
pub use output::CloudWatchOutput;

pub struct CloudWatchPlugin;

impl Plugin for CloudWatchPlugin {
    const NAME: &'static str = "out_cloudwatch";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "cloudwatch".into(),
            aliases: Default::default(),
            description: "Amazon CloudWatch PutMetricData (SigV4, per-period aggregation, percentiles for trends)".into(),
            options: option_docs().into(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(CloudWatchOutput::new(parse_config(&init)?)?))
    }
}

loadrun_plugin_api::export_plugin!(CloudWatchPlugin);
