//! The output: buffers samples for up to one push interval (capped by `maxBufferedSamples`) and
//! writes them in COPY chunks of `batchSize` rows.
//!
//! Retry contract with the host: a batch is either appended to the buffer (`Ok`) or not at all
//! (`Retry`). The buffer is pushed *before* a new batch is appended, so when a push fails the
//! new batch can be handed back untouched; what the buffer already holds was accepted earlier and
//! stays until it is written or the run stops. Chunks that were written are removed from the
//! buffer one by one, so a partial failure never writes a row twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun_plugin_api::abi::{
    Batch, OutputInit, PluginError, RunOutcome, Sample, TestMeta, WriteStatus,
};
use loadrun_plugin_api::catalog::Catalog;
use loadrun_plugin_api::sdk::{Host, Output, COUNTER_SAMPLES_LOST};
use loadrun_plugin_api::types::RNone;

use crate::config::Config;
use crate::encode::SeriesRows;
use crate::service::{Sink, SinkError};

pub struct TimescaleOutput {
    cfg: Arc<Config>,
    meta: TestMeta,
    sink: Sink,
    host: Option<Host>,
    catalog: Catalog,
    rows: SeriesRows,
    buffer: Vec<Sample>,
    last_push: Instant,
    written: u64,
}

impl TimescaleOutput {
    pub fn new(init: &OutputInit) -> Result<Self, PluginError> {
        let cfg = Arc::new(Config::from_init(init)?);
        let sink = Sink::new(cfg.clone(), init.test.test_id.as_str())
            .map_err(|e| PluginError::new(e.to_string()))?;
        Ok(TimescaleOutput {
            cfg,
            meta: init.test.clone(),
            sink,
            host: None,
            catalog: Catalog::new(),
            rows: SeriesRows::default(),
            buffer: Vec::new(),
            last_push: Instant::now(),
            written: 0,
        })
    }

    /// Samples accepted but not written yet.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn warn(&self, message: &str) {
        if let Some(h) = &self.host {
            h.warn(self.cfg.redact(message));
        }
    }

    fn count(&self, name: &str, delta: u64) {
        if let (Some(h), true) = (&self.host, delta > 0) {
            h.add_counter(name, delta);
        }
    }

    /// Writes the whole buffer, `connections` chunks at a time; on failure the unwritten
    /// samples stay buffered and the first error is returned.
    fn push(&mut self, limit: Duration) -> Result<(), SinkError> {
        let before = self.buffer.len();
        let (catalog, rows) = (&self.catalog, &mut self.rows);
        self.buffer.retain(|s| rows.prepare(catalog, s.series));
        let unknown = before - self.buffer.len();
        if unknown > 0 {
            self.warn(&format!(
                "{unknown} samples refer to series the host never defined; skipped"
            ));
            self.count("samples_skipped", unknown as u64);
            // Accepted with `Ok`, never stored: not written after all.
            self.count(COUNTER_SAMPLES_LOST, unknown as u64);
        }
        let batch_size = self.cfg.batch_size;
        let per_round = batch_size.saturating_mul(self.cfg.connections);
        let mut start = 0;
        let mut failed: Vec<Sample> = Vec::new();
        let mut first_error = None;
        let opened_before = self.sink.connections_opened;
        while start < self.buffer.len() && first_error.is_none() {
            let end = (start.saturating_add(per_round)).min(self.buffer.len());
            let chunks: Vec<&[Sample]> = self.buffer[start..end].chunks(batch_size).collect();
            let results = self.sink.copy(&chunks, &self.rows, limit);
            for (chunk, result) in chunks.iter().zip(results) {
                match result {
                    Ok(n) => {
                        self.written += n;
                        self.count("rows_written", n);
                        self.count("copy_statements", 1);
                    }
                    Err(e) => {
                        failed.extend_from_slice(chunk);
                        first_error.get_or_insert(e);
                    }
                }
            }
            start = end;
        }
        self.count(
            "connections_opened",
            self.sink.connections_opened - opened_before,
        );
        failed.extend_from_slice(&self.buffer[start..]);
        self.buffer = failed;
        match first_error {
            None => {
                self.last_push = Instant::now();
                Ok(())
            }
            Some(e) => Err(e),
        }
    }

    /// Pushes until the buffer is empty or `timeout` runs out, backing off between attempts.
    fn drain(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or(now + Duration::from_secs(86_400));
        let mut backoff = Duration::from_millis(100);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let err = match self.push(left.max(Duration::from_millis(1))) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if !err.retryable() || left.is_zero() {
                return Err(PluginError::new(format!(
                    "{} samples not written: {err}",
                    self.buffer.len()
                )));
            }
            self.sink.sleep(backoff.min(left));
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

impl Output for TimescaleOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        let info = self
            .sink
            .start(&self.meta)
            .map_err(|e| PluginError::new(e.to_string()))?;
        self.host = Some(host);
        for w in &info.warnings {
            self.warn(w);
        }
        if let Some(h) = &self.host {
            h.info(format!(
                "writing to {} ({}), run id {}",
                self.cfg.safe_url(),
                if info.hypertable {
                    "hypertable"
                } else {
                    "plain table"
                },
                self.meta.test_id
            ));
        }
        self.last_push = Instant::now();
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        let incoming = batch.samples.len();
        let due = self.last_push.elapsed() >= self.cfg.push_interval;
        let full = self.buffer.len().saturating_add(incoming) > self.cfg.max_buffered;
        if !self.buffer.is_empty() && (due || full) {
            if let Err(e) = self.push(self.cfg.write_timeout) {
                let reason = self.cfg.redact(&e.to_string());
                return if e.retryable() {
                    WriteStatus::Retry {
                        after_ms: RNone,
                        reason: reason.into(),
                    }
                } else {
                    // The host calls neither flush nor stop after a fatal answer: what the
                    // buffer held (accepted earlier) is lost.
                    self.count(COUNTER_SAMPLES_LOST, self.buffer.len() as u64);
                    self.buffer.clear();
                    WriteStatus::Fatal(PluginError::new(reason))
                };
            }
        } else if due {
            // Nothing was waiting: the next interval starts with the next sample.
            self.last_push = Instant::now();
        }
        self.buffer.extend_from_slice(&batch.samples);
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.drain(timeout)
    }

    fn stop(&mut self, outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        let started = Instant::now();
        // Keep a slice of the time for the run's bookkeeping.
        let for_samples = timeout.mul_f64(0.8);
        let drained = if self.buffer.is_empty() {
            Ok(())
        } else {
            self.drain(for_samples)
        };
        if drained.is_err() {
            self.count(COUNTER_SAMPLES_LOST, self.buffer.len() as u64);
            self.buffer.clear();
        }
        let left = timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(200));
        let finished = self
            .sink
            .finish(&self.meta, outcome, self.written, left)
            .map_err(|e| PluginError::new(format!("recording the run's outcome: {e}")));
        drained.and(finished)
    }
}
