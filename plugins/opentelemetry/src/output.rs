//! The running output: aggregates samples as they arrive and exports every exportInterval,
//! at `flush`, and at `stop` (the final state always goes out, unlike k6 ≤ v1.3).
//!
//! Retry contract: an export happens at the top of `write`, BEFORE the batch's samples are
//! aggregated. If it fails passingly, `write` returns `Retry` having kept nothing of the batch;
//! the aggregates only hold samples of batches already answered `Ok`, so the host's re-send
//! cannot count anything twice. Memory stays bounded meanwhile: one aggregate per series.
//!
//! Delta temporality: an aggregate is reset only once the request carrying it was delivered
//! (or refused for good), so an export cut into several requests that fails half way re-sends
//! only what did not go.
//!
//! Accounting: each aggregate knows how many samples were recorded into it and how many of
//! those reached the receiver. Samples of a refused delta request are reported at once through
//! `samples_rejected`; a cumulative point is made good by any later export the receiver takes,
//! so it is settled at `stop` (or a fatal error): what its last export did not deliver goes to
//! `samples_rejected` (last request refused) or `samples_lost`. A delta request that went out
//! whole and got no answer is not sent again (see transport.rs): its samples go to
//! `samples_lost` at once, the request to `unconfirmed_requests`. The host's `written` is then
//! what the receiver is known to hold.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_http_support::{Outcome, RejectLog, UnconfirmedLog};
use loadrun_plugin_api::sdk::{COUNTER_SAMPLES_LOST, COUNTER_SAMPLES_REJECTED};
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::aggregate::{Aggregator, Recorded};
use crate::config::{Config, Temporality};
use crate::encoder::{encode_request, Envelope};
use crate::transport::Transport;

enum Export {
    Done,
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    Fatal(String),
}

pub struct OtelOutput {
    cfg: Config,
    transport: Transport,
    envelope: Envelope,
    catalog: Catalog,
    agg: Aggregator,
    host: Option<Host>,
    last_export: Instant,
    rejects: RejectLog,
    unconfirmed: UnconfirmedLog,
    non_finite: u64,
    unresolved: u64,
    partial_warned: bool,
    stopped: bool,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl OtelOutput {
    pub fn new(cfg: Config) -> Result<Self, PluginError> {
        let transport = Transport::new(&cfg)?;
        let envelope = Envelope {
            resource: cfg.resource.clone(),
            temporality: cfg.temporality,
            single_counter_for_rate: cfg.single_counter_for_rate,
        };
        let agg = Aggregator::new(
            cfg.metric_prefix.clone(),
            cfg.histogram.clone(),
            cfg.metadata.clone(),
        );
        Ok(Self {
            cfg,
            transport,
            envelope,
            catalog: Catalog::new(),
            agg,
            host: None,
            last_export: Instant::now(),
            rejects: RejectLog::items("data points", Some("rejected_data_points")),
            unconfirmed: UnconfirmedLog::new("the OTLP receiver"),
            non_finite: 0,
            unresolved: 0,
            partial_warned: false,
            stopped: false,
        })
    }

    fn warn(&self, msg: String) {
        if let Some(h) = &self.host {
            h.warn(msg);
        }
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    /// Sends every due aggregate, in requests of at most maxPointsPerRequest data points.
    fn export(&mut self, deadline: Option<Instant>) -> Export {
        let due = self.agg.due(self.cfg.temporality);
        if due.is_empty() {
            self.last_export = Instant::now();
            return Export::Done;
        }
        let time_ns = now_ns();
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        let mut weight = 0;
        for i in due {
            let w = self.agg.point(i).map_or(1, |p| p.weight());
            if chunks.is_empty() || weight + w > self.cfg.max_points_per_request {
                chunks.push(Vec::new());
                weight = 0;
            }
            if let Some(c) = chunks.last_mut() {
                c.push(i);
            }
            weight += w;
        }
        for chunk in chunks {
            let request = encode_request(&self.envelope, &self.agg, &chunk, time_ns);
            let outcome = match self.transport.send(&request, deadline) {
                Ok(outcome) => outcome,
                Err(unconfirmed) => {
                    // Delta only (see transport.rs): the chunk is not sent again, its samples
                    // are given up as `refused` gives up a refused delta chunk's.
                    let samples = self.agg.refused(&chunk, self.cfg.temporality);
                    let reason = format!("opentelemetry: {}", unconfirmed.reason);
                    self.unconfirmed.note(self.host.as_ref(), &reason, samples);
                    self.agg.reset(&chunk, time_ns);
                    continue;
                }
            };
            match outcome {
                Outcome::Delivered { body, .. } => {
                    self.agg.delivered(&chunk);
                    if !body.is_empty() && !self.partial_warned {
                        self.partial_warned = true;
                        self.warn(body);
                    }
                }
                Outcome::Rejected { status, reason } => {
                    let points = chunk.len() as u64;
                    let samples = self.agg.refused(&chunk, self.cfg.temporality);
                    self.rejects
                        .note(self.host.as_ref(), status, &reason, points, samples);
                }
                Outcome::Retry { after_ms, reason } => {
                    return Export::Retry { after_ms, reason };
                }
                Outcome::Fatal { reason } => return Export::Fatal(reason),
            }
            if self.cfg.temporality == Temporality::Delta {
                self.agg.reset(&chunk, time_ns);
            }
        }
        self.last_export = Instant::now();
        self.count("exports", 1);
        Export::Done
    }

    /// Reports what was recorded but never reached the receiver (nothing more will be sent).
    fn settle(&mut self) {
        let (refused, lost) = self.agg.take_unsettled();
        self.count(COUNTER_SAMPLES_REJECTED, refused);
        self.count(COUNTER_SAMPLES_LOST, lost);
    }

    /// Exports until done or `timeout` is spent, backing off between attempts.
    fn drain(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        let mut backoff = Duration::from_millis(100);
        loop {
            let reason = match self.export(Some(deadline)) {
                Export::Done => return Ok(()),
                Export::Fatal(reason) => reason,
                Export::Retry { after_ms, reason } => {
                    let wait = after_ms.map_or(backoff, Duration::from_millis);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    if wait < deadline.saturating_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                        continue;
                    }
                    reason
                }
            };
            let lost = self.agg.due(self.cfg.temporality).len() as u64;
            self.count("lost_data_points", lost);
            // The samples are reported by `stop`, which always follows (and may still deliver).
            return Err(PluginError::new(format!(
                "the last data points could not be exported to {}: {reason}",
                self.cfg.endpoint()
            )));
        }
    }
}

impl Output for OtelOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        for w in &self.cfg.warnings {
            host.warn(w.clone());
        }
        self.transport.set_host(&host);
        self.host = Some(host);
        self.last_export = Instant::now();
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        if self.stopped {
            return WriteStatus::fatal("opentelemetry: write after stop");
        }
        if self.last_export.elapsed() >= self.cfg.export_interval && !self.agg.is_empty() {
            match self.export(None) {
                Export::Done => {}
                Export::Fatal(reason) => {
                    // Neither flush nor stop follows; this batch was not recorded.
                    self.settle();
                    return WriteStatus::fatal(reason);
                }
                Export::Retry { after_ms, reason } => {
                    return match after_ms {
                        Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                        None => WriteStatus::retry(reason),
                    }
                }
            }
        }
        let (mut non_finite, mut unresolved) = (0u64, 0u64);
        for s in batch.samples.iter() {
            match self.agg.record(&self.catalog, s) {
                Recorded::Yes => {}
                Recorded::NonFinite => non_finite += 1,
                Recorded::Unresolved => unresolved += 1,
            }
        }
        if non_finite > 0 {
            if self.non_finite == 0 {
                self.warn("samples with NaN or infinite values are skipped (counted in `skipped_samples`)".into());
            }
            self.non_finite += non_finite;
            self.count("skipped_samples", non_finite);
            // Answered `Ok` with the batch, yet never exported: not written.
            self.count(COUNTER_SAMPLES_LOST, non_finite);
        }
        if unresolved > 0 {
            if self.unresolved == 0 {
                self.warn("samples of undefined series were skipped (a host bug; counted in `unresolved_samples`)".into());
            }
            self.unresolved += unresolved;
            self.count("unresolved_samples", unresolved);
            self.count(COUNTER_SAMPLES_LOST, unresolved);
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        if self.stopped {
            return Ok(());
        }
        self.drain(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let drained = self.drain(timeout);
        // Cumulative points whose last export was refused, delta ones never exported.
        self.settle();
        drained
    }
}
