//! The output: buffers samples for up to one push interval (capped by `maxBufferedSamples`) and
//! writes them in COPY chunks of `batchSize` rows.
//!
//! Retry contract with the host: a batch is either appended to the buffer (`Ok`) or not at all
//! (`Retry`). The buffer is pushed *before* a new batch is appended, so when a push fails the
//! new batch can be handed back untouched; what the buffer already holds was accepted earlier and
//! stays until it is written or the run stops. Samples are cut into chunks once, each with an id
//! kept across retries: written chunks are removed one by one, and a chunk whose answer was lost
//! after the server committed it is recognised by its id (see `service`), so no row is written
//! twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun_plugin_api::abi::{
    Batch, OutputInit, PluginError, RunOutcome, Sample, TestMeta, WriteStatus,
};
use loadrun_plugin_api::catalog::Catalog;
use loadrun_plugin_api::sdk::{Host, Output, COUNTER_SAMPLES_LOST};

use crate::config::Config;
use crate::encoder::SeriesRows;
use crate::transport::{Sink, SinkError};

/// Samples cut into a COPY chunk, with the id that makes its delivery idempotent.
struct Chunk {
    id: String,
    samples: Vec<Sample>,
}

/// Distinguishes this output's chunk ids from another output's writing the same run.
fn instance_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

pub struct TimescaleOutput {
    cfg: Arc<Config>,
    meta: TestMeta,
    sink: Sink,
    host: Option<Host>,
    catalog: Catalog,
    rows: SeriesRows,
    /// Samples not yet cut into chunks.
    buffer: Vec<Sample>,
    /// Chunks cut and not yet known written, oldest first.
    pending: Vec<Chunk>,
    nonce: u64,
    next_chunk: u64,
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
            pending: Vec::new(),
            nonce: instance_nonce(),
            next_chunk: 0,
            last_push: Instant::now(),
            written: 0,
        })
    }

    /// Samples accepted but not written yet.
    pub fn buffered(&self) -> usize {
        self.pending
            .iter()
            .map(|c| c.samples.len())
            .sum::<usize>()
            .saturating_add(self.buffer.len())
    }

    /// Makes the next `n` chunk deliveries fail after the server committed them, as when the
    /// connection drops before the answer arrives (for tests of the retry path).
    #[doc(hidden)]
    pub fn lose_next_acks(&mut self, n: u32) {
        self.sink.lose_acks(n);
    }

    fn discard_all(&mut self) {
        self.count(COUNTER_SAMPLES_LOST, self.buffered() as u64);
        self.buffer.clear();
        self.pending.clear();
    }

    fn warn(&self, message: &str) {
        if let Some(h) = &self.host {
            h.warn(self.cfg.redact(message));
        }
    }

    fn count(&self, name: &str, delta: u64) {
        if let (Some(h), true) = (&self.host, delta > 0) {
            h.count(name, delta);
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
        let batch_size = self.cfg.batch_size.max(1);
        for samples in self.buffer.chunks(batch_size) {
            self.pending.push(Chunk {
                id: format!("{:016x}-{}", self.nonce, self.next_chunk),
                samples: samples.to_vec(),
            });
            self.next_chunk += 1;
        }
        self.buffer.clear();
        let per_round = self.cfg.connections.max(1);
        let mut start = 0;
        let mut delivered = vec![false; self.pending.len()];
        let mut first_error = None;
        let opened_before = self.sink.connections_opened;
        while start < self.pending.len() && first_error.is_none() {
            let end = (start.saturating_add(per_round)).min(self.pending.len());
            let chunks: Vec<(&str, &[Sample])> = self.pending[start..end]
                .iter()
                .map(|c| (c.id.as_str(), c.samples.as_slice()))
                .collect();
            let host = self.host.clone();
            let stop_cap = move || loadrun_http_support::stop_cap(host.as_ref());
            let results = self.sink.copy(&chunks, &self.rows, limit, &stop_cap);
            for (i, result) in results.into_iter().enumerate() {
                match result {
                    Ok(d) => {
                        delivered[start + i] = true;
                        self.written += d.rows;
                        // A chunk found already written was COPYed by the attempt whose
                        // answer was lost: count it once, now.
                        self.count("rows_written", d.rows);
                        self.count("copy_statements", 1);
                        if d.earlier {
                            self.count("chunks_already_written", 1);
                        }
                    }
                    Err(e) => {
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
        let mut done = delivered.into_iter();
        self.pending.retain(|_| !done.next().unwrap_or(false));
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
                    self.buffered()
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
        let held = self.buffered();
        let full = held.saturating_add(incoming) > self.cfg.max_buffered;
        if held > 0 && (due || full) {
            if let Err(e) = self.push(self.cfg.write_timeout) {
                let reason = self.cfg.redact(&e.to_string());
                return if e.retryable() {
                    WriteStatus::retry(reason)
                } else {
                    // The host calls neither flush nor stop after a fatal answer: what the
                    // buffer held (accepted earlier) is lost.
                    self.discard_all();
                    WriteStatus::fatal(reason)
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
        if self.buffered() == 0 {
            return Ok(());
        }
        self.drain(timeout)
    }

    fn stop(&mut self, outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        let started = Instant::now();
        // Keep a slice of the time for the run's bookkeeping.
        let for_samples = timeout.mul_f64(0.8);
        let drained = if self.buffered() == 0 {
            Ok(())
        } else {
            self.drain(for_samples)
        };
        if drained.is_err() {
            self.discard_all();
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
