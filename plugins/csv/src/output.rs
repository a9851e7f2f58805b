//! The csv output instance: catalog, encoder and sink, paced by `saveInterval`.

use std::time::{Duration, Instant};

use file_sink::Sink;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::config::CsvConfig;
use crate::encoder::Encoder;
use crate::system_tags::Layout;

pub struct CsvOutput {
    sink: Sink,
    encoder: Encoder,
    catalog: Catalog,
    save_interval: Duration,
    last_save: Instant,
    host: Option<Host>,
}

impl CsvOutput {
    /// Creates the file now, so a bad path fails before the test starts; the header is written
    /// with the first save.
    pub fn new(config: CsvConfig) -> Result<Self, PluginError> {
        let mut sink = Sink::open("csv", &config.target)?;
        let encoder = Encoder::new(Layout::new(&config.system_tags), config.time_format);
        sink.lines().extend_from_slice(encoder.header().as_bytes());
        Ok(Self {
            sink,
            encoder,
            catalog: Catalog::new(),
            save_interval: config.save_interval,
            last_save: Instant::now(),
            host: None,
        })
    }

    fn save(&mut self) {
        self.sink.flush();
        self.last_save = Instant::now();
    }
}

impl Output for CsvOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        host.debug(format!("csv: writing to {}", self.sink.target()));
        self.sink.set_host(host.clone());
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        let mut unknown = 0u64;
        for sample in batch.samples.iter() {
            if self
                .encoder
                .encode(&self.catalog, sample, self.sink.lines())
            {
                self.sink.sample_done();
                if self.sink.over_chunk() {
                    self.sink.flush();
                }
            } else {
                unknown += 1;
            }
        }
        if unknown > 0 {
            if let Some(h) = &self.host {
                h.add_counter("samples_unknown_series", unknown);
            }
        }
        if self.last_save.elapsed() >= self.save_interval {
            self.save();
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, _timeout: Duration) -> Result<(), PluginError> {
        self.save();
        Ok(())
    }

    fn stop(&mut self, _outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        self.sink.finish()
    }
}
