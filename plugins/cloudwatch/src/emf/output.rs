//! The EMF output instance: aggregate in `write`, write each closed period as EMF documents.
//!
//! The same contract as the API path ([`crate::output`]): a batch is taken whole (`Ok`) or not at
//! all (`Retry`). Documents that could not be written stay in the sink (bounded: while any are
//! pending, `write` answers `Retry` without taking the new batch, so the host's queue holds the
//! backlog and its backoff paces the attempts); `flush`/`stop` retry until their deadline and
//! report what is left in `samples_lost` and in their error. A broken pipe is fatal.

use std::time::{Duration, Instant};

use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::aggregate::{Aggregator, SkipReport};
use crate::datum::Datum;
use crate::emf::encoder::encode;
use crate::emf::sink::{Sink, SinkError};
use crate::emf::EmfConfig;
use crate::time::UtcTime;

/// Write early once this much is pending while encoding a large period.
const CHUNK_BYTES: usize = 4 << 20;
/// The waits of `flush`/`stop` between attempts (the host is no longer pacing then).
const DRAIN_BACKOFF_START: Duration = Duration::from_millis(100);
const DRAIN_BACKOFF_MAX: Duration = Duration::from_secs(1);

pub struct EmfOutput {
    cfg: EmfConfig,
    catalog: Catalog,
    agg: Aggregator,
    sink: Sink,
    host: Option<Host>,
    reported_documents: u64,
    skips: SkipReport,
    warned_unencodable: bool,
}

impl EmfOutput {
    /// Opens the file now: a bad `emfPath` fails before the run starts.
    pub fn new(cfg: EmfConfig) -> Result<Self, PluginError> {
        let sink = Sink::open(cfg.target.clone())
            .map_err(|e| PluginError::new(format!("{}: emfPath: {e}", cfg.output)))?;
        Ok(Self {
            agg: Aggregator::new(cfg.aggregate.clone()),
            cfg,
            catalog: Catalog::new(),
            sink,
            host: None,
            reported_documents: 0,
            skips: SkipReport::default(),
            warned_unencodable: false,
        })
    }

    /// Documents written so far.
    pub fn documents_written(&self) -> u64 {
        self.sink.totals().documents
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    /// Encodes `datums` into the sink.
    fn emit(&mut self, datums: &[Datum]) {
        if datums.is_empty() {
            return;
        }
        let sink = &mut self.sink;
        let refused = encode(&self.cfg.namespace, datums, self.cfg.limits, |doc| {
            sink.push(&doc.text, doc.samples);
            if sink.pending_bytes() >= CHUNK_BYTES {
                // A failure here is met again (and handled) by the flush that follows.
                let _ = sink.flush();
            }
        });
        let lost: u64 = refused.iter().map(|r| r.samples()).sum();
        self.count(COUNTER_SAMPLES_LOST, lost);
        if let (Some(first), false) = (refused.first(), self.warned_unencodable) {
            self.warned_unencodable = true;
            if let Some(h) = &self.host {
                h.warn(format!(
                    "{}: not written as EMF: {first} (said once; counted in samples_lost)",
                    self.cfg.output
                ));
            }
        }
    }

    /// Writes what is pending, and counts what got through.
    fn write_out(&mut self) -> Result<(), SinkError> {
        let result = self.sink.flush();
        let documents = self.sink.totals().documents;
        self.count("documents_written", documents - self.reported_documents);
        self.reported_documents = documents;
        if result.is_err() {
            self.count("write_errors", 1);
        }
        result
    }

    fn note_skipped(&mut self) {
        self.skips.note(self.agg.skipped(), self.host.as_ref());
    }

    /// Writes everything, retrying within `timeout`; what is left then is lost.
    fn write_all(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        let datums = self.agg.take_all();
        self.emit(&datums);
        let mut backoff = DRAIN_BACKOFF_START;
        loop {
            match self.write_out() {
                Ok(()) => return Ok(()),
                Err(e) if e.is_fatal() => return Err(self.lost(&e)),
                Err(e) => {
                    if deadline.saturating_duration_since(Instant::now()) <= backoff {
                        return Err(self.lost(&e));
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(DRAIN_BACKOFF_MAX);
                }
            }
        }
    }

    /// Gives up on what is pending: its samples are reported lost.
    fn lost(&mut self, cause: &SinkError) -> PluginError {
        let (documents, samples) = self.sink.discard();
        self.count(COUNTER_SAMPLES_LOST, samples);
        PluginError::new(format!(
            "{}: {documents} EMF document(s) ({samples} samples) lost: {cause}",
            self.cfg.output
        ))
    }

    /// A fatal answer: neither flush nor stop follows, so what is held is lost, except the
    /// `not_mine` samples of the current batch, which the host counts as dropped itself.
    fn fatal(&mut self, cause: &SinkError, not_mine: u64) -> WriteStatus {
        let (_, pending) = self.sink.discard();
        let held = pending + self.agg.open_samples();
        let _ = self.agg.take_all();
        self.count(COUNTER_SAMPLES_LOST, held.saturating_sub(not_mine));
        WriteStatus::fatal(format!("{}: {cause}", self.cfg.output))
    }
}

impl Output for EmfOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        host.info(format!(
            "writing CloudWatch EMF to {} (namespace {:?}, period {}s, dimensions {}); no AWS API calls",
            self.sink.target().describe(),
            self.cfg.namespace,
            self.cfg.aggregate.period_secs,
            self.cfg.aggregate.dimensions.join(",")
        ));
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        if !self.sink.is_empty() {
            match self.write_out() {
                Ok(()) => {}
                Err(e) if e.is_fatal() => return self.fatal(&e, 0),
                Err(e) => return WriteStatus::retry(e.to_string()),
            }
        }
        self.agg.add(&self.catalog, &batch.samples);
        self.note_skipped();
        let datums = if self.agg.open_len() > self.cfg.max_open {
            self.agg.take_all()
        } else {
            self.agg.take_closed(UtcTime::now(), self.cfg.grace_secs)
        };
        if datums.is_empty() {
            return WriteStatus::Ok;
        }
        self.emit(&datums);
        match self.write_out() {
            // The batch is aggregated: a failed write is retried from the sink, not by the host.
            Ok(()) => WriteStatus::Ok,
            Err(e) if !e.is_fatal() => WriteStatus::Ok,
            Err(e) => self.fatal(&e, batch.samples.len() as u64),
        }
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.write_all(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        let written = self.write_all(timeout);
        let closed = self
            .sink
            .close()
            .map_err(|e| PluginError::new(format!("{}: {e}", self.cfg.output)));
        if let Some(h) = &self.host {
            let t = self.sink.totals();
            h.info(format!(
                "wrote {} EMF document(s) ({} samples) to {}",
                t.documents,
                t.samples,
                self.sink.target().describe()
            ));
        }
        written.and(closed)
    }
}
