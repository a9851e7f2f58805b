//! The json output instance: catalog, encoder and sink, paced by `flushInterval`.

use std::time::{Duration, Instant};

use file_sink::Sink;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::config::JsonConfig;
use crate::encoder::{Encoded, Encoder};

pub struct JsonOutput {
    sink: Sink,
    encoder: Encoder,
    catalog: Catalog,
    flush_interval: Duration,
    last_flush: Instant,
    host: Option<Host>,
}

impl JsonOutput {
    /// Creates the file now (k6 does it in `Start`; earlier is better: a bad path fails before
    /// anything else is set up).
    pub fn new(config: JsonConfig) -> Result<Self, PluginError> {
        let mut sink = Sink::open("json", &config.target)?;
        let encoder = Encoder::new(config.filter, config.json_array);
        sink.lines().extend_from_slice(encoder.prologue());
        Ok(Self {
            sink,
            encoder,
            catalog: Catalog::new(),
            flush_interval: config.flush_interval,
            last_flush: Instant::now(),
            host: None,
        })
    }

    fn flush_now(&mut self) {
        let ok = self.sink.flush();
        self.encoder.flushed(ok);
        self.last_flush = Instant::now();
    }
}

impl Output for JsonOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        host.debug(format!("json: writing to {}", self.sink.target()));
        self.sink.set_host(host.clone());
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        let (mut filtered, mut unknown) = (0u64, 0u64);
        for sample in batch.samples.iter() {
            match self
                .encoder
                .encode(&self.catalog, sample, self.sink.lines())
            {
                Encoded::Written => {
                    self.sink.sample_done();
                    if self.sink.over_chunk() {
                        let ok = self.sink.flush();
                        self.encoder.flushed(ok);
                    }
                }
                Encoded::Filtered => filtered += 1,
                Encoded::Unknown => unknown += 1,
            }
        }
        if let Some(h) = &self.host {
            if filtered > 0 {
                h.add_counter("samples_filtered", filtered);
            }
            if unknown > 0 {
                h.add_counter("samples_unknown_series", unknown);
            }
        }
        if self.last_flush.elapsed() >= self.flush_interval {
            self.flush_now();
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, _timeout: Duration) -> Result<(), PluginError> {
        self.flush_now();
        Ok(())
    }

    fn stop(&mut self, _outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        let epilogue = self.encoder.epilogue();
        self.sink.lines().extend_from_slice(epilogue);
        self.sink.finish()
    }
}
