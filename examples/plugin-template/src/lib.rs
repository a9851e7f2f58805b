//! `-o counts[=FILE]`: counts the samples of each metric and writes `metric<TAB>count` lines to
//! FILE (default `counts.tsv`) when the test ends.
//!
//! A template for output plugins: options, a catalog of definitions, counters through the host,
//! errors that name the file, and a flush at stop.
//!
//! The modules follow the shape every loadrun output has: [`config`] (options), [`encoder`]
//! (what is written, pure), [`transport`] (the file), [`output`] (`impl Output`), and this file
//! (the `Plugin` and its export).

pub mod config;
pub mod encoder;
pub mod output;
pub mod transport;

use loadrun_plugin_api::{DeclaredOutput, Output, OutputInit, Plugin, PluginError};

pub use config::Config;
pub use output::Counts;

pub struct CountsPlugin;

impl Plugin for CountsPlugin {
    const NAME: &'static str = "out_counts";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    // The one declaration: `outputs()` (and `loadrun plugins info`) derive from it, and the
    // host finds this file for `-o counts` without loading every plugin on its path.
    const DECLARED_OUTPUTS: &'static [DeclaredOutput] = &[config::OUTPUT];

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(Counts::new(Config::parse(&init)?)?))
    }
}

loadrun_plugin_api::export_plugin!(CountsPlugin);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use loadrun_plugin_api::testkit::{init, recording_host, BatchBuilder};
    use loadrun_plugin_api::{EndReason, MetricType, RunOutcome, ValueKind, WriteStatus};

    #[test]
    fn counts_per_metric() {
        let dir = std::env::temp_dir().join(format!("out-counts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.tsv");
        let mut out =
            CountsPlugin::new_output(init("counts", Some(file.to_str().unwrap()), "{}", &[]))
                .unwrap();
        let (host, recorded) = recording_host();
        out.start(host).unwrap();
        let mut b = BatchBuilder::new();
        let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let s = b.series(m, &[("status", "200")], &[]);
        b.sample(s, 1, 1.0).sample(s, 2, 1.0);
        assert_eq!(out.write(b.batch()), WriteStatus::Ok);
        let outcome = RunOutcome {
            passed: true,
            reason: EndReason::Completed,
            thresholds: Default::default(),
            duration_ms: 1,
            extra: "{}".into(),
        };
        out.stop(&outcome, Duration::from_secs(1)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("http_reqs\t2\n"), "{text}");
        assert_eq!(recorded.counter("samples_counted"), 2);
    }

    #[test]
    fn an_unwritable_file_fails_before_the_test() {
        let err =
            CountsPlugin::new_output(init("counts", Some("/nonexistent/dir/c.tsv"), "{}", &[]))
                .err()
                .unwrap();
        assert!(err.to_string().contains("/nonexistent/dir/c.tsv"));
    }
}
