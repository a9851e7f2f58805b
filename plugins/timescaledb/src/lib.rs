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

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::{parse_url, Config, Hypertable, SslMode, DEFAULT_URL};
pub use output::TimescaleOutput;

pub struct TimescalePlugin;

impl Plugin for TimescalePlugin {
    const NAME: &'static str = "out_timescaledb";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(TimescaleOutput::new(&init)?))
    }
}

loadrun_plugin_api::export_plugin!(TimescalePlugin);
