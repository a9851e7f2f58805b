//! # out_opentelemetry
//!
//! loadrun's OpenTelemetry output: k6's `-o opentelemetry` (alias `experimental-opentelemetry`),
//! sending OTLP metrics over HTTP (protobuf, the default) or gRPC, with what k6 lacks:
//! exponential or configurable explicit histograms for trends, delta temporality, the final
//! data of the run always exported, and retries through the host. See README.md.

pub mod aggregate;
pub mod config;
pub mod encoder;
pub mod grpc;
mod grpc_tls;
mod grpc_watch;
pub mod histogram;
/// OTLP's messages: prost types generated from `proto/` (see `xtask/README.md`).
#[allow(clippy::all)]
pub mod otlp;
pub mod output;
pub mod transport;

use loadrun_plugin_api::{OutputInit, Plugin, PluginError};

pub use config::Config;
pub use output::OtelOutput;

/// The plugin: one output, `opentelemetry` (alias `experimental-opentelemetry`).
pub struct OtelPlugin;

impl Plugin for OtelPlugin {
    const NAME: &'static str = "out_opentelemetry";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn loadrun_plugin_api::Output>, PluginError> {
        let cfg = Config::from_init(&init)?;
        Ok(Box::new(OtelOutput::new(cfg)?))
    }
}

loadrun_plugin_api::export_plugin!(OtelPlugin);
