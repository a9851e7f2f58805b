//! The bundled web dashboard output (`-o web-dashboard`, `K6_WEB_DASHBOARD=true`), k6's
//! dashboard in loadrun: live charts served over SSE, a record of the event stream, and a
//! self-contained HTML report. The event format is EVENTS.md; the page is `assets/`.
//!
//! - [`config`]: the options, declared once.
//! - [`aggregate`]: per-period and cumulative values, groups with top-N + other, thresholds.
//! - [`encoder`]: the events and their SSE and NDJSON framings.
//! - [`transport`]: the live server.
//! - [`trend`]: the trends' accumulator (exact, then a log-linear histogram).
//! - [`report`]: the HTML report, also rebuilt from a record by `loadrun report`.
//! - [`host_link`]: what a host hands a bundled dashboard beyond the ABI.

pub mod aggregate;
mod assets;
pub mod config;
pub mod encoder;
pub mod host_link;
pub mod output;
pub mod report;
pub mod transport;
pub mod trend;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::DashboardConfig;
pub use output::DashboardOutput;

/// The plugin, registered in the host with `sdk::in_process_module::<DashboardPlugin>()`.
pub struct DashboardPlugin;

impl Plugin for DashboardPlugin {
    const NAME: &'static str = "bundled-web-dashboard";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let config = DashboardConfig::from_init(&init)?;
        Ok(Box::new(DashboardOutput::new(config, &init)?))
    }
}
