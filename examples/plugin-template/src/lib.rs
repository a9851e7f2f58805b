//! `-o counts[=FILE]`: counts the samples of each metric and writes `metric<TAB>count` lines to
//! FILE (default `counts.tsv`) when the test ends.
//!
//! A template for output plugins: options, a catalog of definitions, counters through the host,
//! errors that name the file, and a flush at stop.

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_plugin_api::abi::OptionDoc;
use loadrun_plugin_api::{
    Batch, Catalog, Host, Options, Output, OutputDescriptor, OutputInit, Plugin, PluginError,
    RunOutcome, WriteStatus,
};

pub struct CountsPlugin;

impl Plugin for CountsPlugin {
    const NAME: &'static str = "out_counts";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    // Lets the host find this file for `-o counts` without loading every plugin on its path.
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] =
        &[loadrun_plugin_api::DeclaredOutput::new("counts", &[])];

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "counts".into(),
            aliases: Default::default(),
            description: "per-metric sample counts, written to a file at the end of the test"
                .into(),
            options: vec![OptionDoc {
                name: "file".into(),
                env: "COUNTS_FILE".into(),
                default: "counts.tsv".into(),
                description: "where to write the counts (also accepted as -o counts=FILE)".into(),
                secret: false,
            }]
            .into(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let options = Options::from_init(&init)?;
        options.reject_unknown(&["file"])?;
        let file = match options.positional() {
            Some(p) => p.to_string(),
            None => options.get_or("file", &["COUNTS_FILE"], "counts.tsv"),
        };
        // Fail now, before the test starts, if the file cannot be written.
        std::fs::write(&file, "")
            .map_err(|e| PluginError::new(format!("counts: cannot create {file}: {e}")))?;
        Ok(Box::new(Counts {
            file,
            catalog: Catalog::new(),
            counts: BTreeMap::new(),
            host: None,
        }))
    }
}

pub struct Counts {
    file: String,
    catalog: Catalog,
    counts: BTreeMap<String, u64>,
    host: Option<Host>,
}

impl Output for Counts {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        host.info(format!("counting samples into {}", self.file));
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        for sample in batch.samples.iter() {
            if let Some((metric, _series)) = self.catalog.resolve(sample) {
                *self.counts.entry(metric.name.clone()).or_insert(0) += 1;
            }
        }
        if let Some(host) = &self.host {
            host.add_counter("samples_counted", batch.samples.len() as u64);
        }
        WriteStatus::Ok
    }

    fn stop(&mut self, outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        let mut text = String::new();
        for (metric, n) in &self.counts {
            text.push_str(&format!("{metric}\t{n}\n"));
        }
        text.push_str(&format!("# outcome\t{}\n", outcome.reason.as_str()));
        std::fs::write(&self.file, text)
            .map_err(|e| PluginError::new(format!("counts: cannot write {}: {e}", self.file)))
    }
}

loadrun_plugin_api::export_plugin!(CountsPlugin);

#[cfg(test)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::{init, recording_host, BatchBuilder};
    use loadrun_plugin_api::{EndReason, MetricType, ValueKind};

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
        let err = CountsPlugin::new_output(init("counts", Some("/nonexistent/dir/c.tsv"), "{}", &[]))
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/dir/c.tsv"));
    }
}
