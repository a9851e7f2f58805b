//! The output instance: counts in `write`, writes the file once at `stop`.

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::config::Config;
use crate::{encoder, transport};

pub struct Counts {
    file: String,
    catalog: Catalog,
    counts: BTreeMap<String, u64>,
    host: Option<Host>,
}

impl Counts {
    pub fn new(cfg: Config) -> Result<Self, PluginError> {
        transport::create(&cfg.file)?;
        Ok(Self {
            file: cfg.file,
            catalog: Catalog::new(),
            counts: BTreeMap::new(),
            host: None,
        })
    }
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
            host.count("samples_counted", batch.samples.len() as u64);
        }
        WriteStatus::Ok
    }

    fn stop(&mut self, outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        let text = encoder::encode(&self.counts, outcome.reason.as_str());
        transport::write(&self.file, &text)
    }
}
