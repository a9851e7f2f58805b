//! `-o cloudwatch`: k6 metrics straight into Amazon CloudWatch with `PutMetricData`, no agent.
//!
//! Samples are aggregated per period and per metric + dimension set (see [`aggregate`]), encoded
//! as Query-protocol form bodies within CloudWatch's request limits ([`encoder`]), SigV4-signed
//! ([`sigv4`], the shared `loadrun-aws-sigv4` crate) with credentials from the standard AWS
//! sources ([`credentials`]), and sent with the shared HTTP client ([`transport`]; [`output`] keeps what failed to send).
//!
//! With `mode=emf` the same aggregation is written as CloudWatch Embedded Metric Format lines to
//! a file or stdout instead ([`emf`]), for the CloudWatch agent or Lambda to ship: no network,
//! no credentials.

pub mod aggregate;
pub mod config;
pub mod credentials;
pub mod datum;
pub mod distribution;
pub mod emf;
pub mod encoder;
pub mod output;
pub mod time;
pub mod transport;

/// The SigV4 signer, shared with the `prometheus` output's remote write (crate
/// `loadrun-aws-sigv4`).
pub use loadrun_aws_sigv4 as sigv4;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::{parse_config, parse_settings, Settings, OUTPUT};
pub use emf::EmfOutput;
pub use output::CloudWatchOutput;

pub struct CloudWatchPlugin;

impl Plugin for CloudWatchPlugin {
    const NAME: &'static str = "out_cloudwatch";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        match parse_settings(&init)? {
            Settings::Api(cfg) => Ok(Box::new(CloudWatchOutput::new(cfg)?)),
            Settings::Emf(cfg) => Ok(Box::new(EmfOutput::new(cfg)?)),
        }
    }
}

loadrun_plugin_api::export_plugin!(CloudWatchPlugin);
