//! `-o timescaledb=postgresql://user:pass@host:port/db`: samples into PostgreSQL, as a
//! TimescaleDB hypertable when the extension is there, in a schema compatible with k6's archived
//! xk6-output-timescaledb (see `schema` for what is fixed), written with binary COPY.
//!
//! Modules: `config` (options and URL), `encoder` (row formats), `schema` (DDL), `transport`
//! (connections, COPY, run bookkeeping), `tls` (rustls for `sslmode`), `output` (buffering and
//! the host's retry contract).

mod config;
mod encoder;
mod output;
mod schema;
mod tls;
mod transport;

use loadrun_plugin_api::{OptionDoc, Output, OutputDescriptor, OutputInit, Plugin, PluginError};

pub use config::{parse_url, Config, Hypertable, SslMode, DEFAULT_URL};
pub use output::TimescaleOutput;

pub struct TimescalePlugin;

fn doc(name: &str, env: &str, default: &str, description: &str, secret: bool) -> OptionDoc {
    OptionDoc {
        name: name.into(),
        env: env.into(),
        default: default.into(),
        description: description.into(),
        secret,
    }
}

/// The options as `loadrun plugins info` shows them.
pub fn option_docs() -> Vec<OptionDoc> {
    vec![
        doc("url", "", DEFAULT_URL, "PostgreSQL URL (also the -o argument itself); its query may carry any option below and libpq's sslmode, connect_timeout, application_name, options", false),
        doc("password", "PGPASSWORD", "", "password, when not in the URL", true),
        doc("pushInterval", config::ENV_PUSH_INTERVAL, "1s", "how often buffered samples are written", false),
        doc("batchSize", "", "10000", "rows per COPY statement", false),
        doc("maxBufferedSamples", "", "200000", "samples held before a write is forced; beyond it the host queues (and drops, counted)", false),
        doc("connections", "", "2", "connections in the pool; chunks are copied concurrently", false),
        doc("connectTimeout", "", "5s", "per connection attempt (libpq connect_timeout in the URL also works)", false),
        doc("writeTimeout", "", "30s", "per COPY statement", false),
        doc("sslmode", "", "prefer", "disable, allow, prefer, require, verify-ca, verify-full (rustls)", false),
        doc("sslrootcert", "", "", "PEM file of CA certificates for verify-ca/verify-full (default: Mozilla roots)", false),
        doc("hypertable", "", "auto", "auto: make samples a hypertable when the timescaledb extension is installed; true: require it; false: never", false),
        doc("createExtension", "", "false", "run CREATE EXTENSION IF NOT EXISTS timescaledb first", false),
        doc("chunkInterval", "", "1d", "hypertable chunk_time_interval", false),
        doc("compressAfter", "", "", "TimescaleDB compression policy: compress chunks older than this (e.g. 7d)", false),
        doc("retention", "", "", "TimescaleDB retention policy: drop chunks older than this (e.g. 90d)", false),
    ]
}

impl Plugin for TimescalePlugin {
    const NAME: &'static str = "out_timescaledb";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] =
        &[loadrun_plugin_api::DeclaredOutput::new(
            "timescaledb",
            &["postgresql"],
        )];

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "timescaledb".into(),
            aliases: vec!["postgresql".into()].into(),
            description: "PostgreSQL / TimescaleDB via binary COPY, k6 xk6-output-timescaledb compatible tables".into(),
            options: option_docs().into(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(TimescaleOutput::new(&init)?))
    }
}

loadrun_plugin_api::export_plugin!(TimescalePlugin);
