//! `transport=api`: folded series posted to Datadog's `/api/v2/series` (default) or
//! `/api/v1/series` (`apiVersion=1`); bodies from [`crate::encoder`], posted by
//! [`crate::transport`].
//!
//! Each push interval becomes one or more JSON bodies (split below the API's limits, gzipped
//! unless `gzip=false`), queued and posted in order. Answers:
//! - 2xx: done.
//! - 408, 429, 5xx, network errors (the shared HTTP client's classification): kept and
//!   retried; while anything is kept, `write` answers `Retry` without taking the new batch, so
//!   the host's queue and drop accounting apply.
//!   The host owns the backoff (`retryInitial`..`retryMaxDelay`, given up after
//!   `retryMaxElapsed`): this output adds no delay of its own, except the one Datadog asks for
//!   (`Retry-After` / `X-RateLimit-Reset`), which it honours without posting early. The reason
//!   it gives is the same text for every answer to one failure, so the host says it once.
//! - 401/403 (the key is wrong), 404/405, redirects: `Fatal` (retrying cannot help).
//! - other 4xx (400, 413): that body can never succeed; dropped, counted as
//!   `rejected_payloads` and (in samples) `samples_rejected`, logged once.
//!
//! Each body knows how many samples were folded into it, so a body refused, dropped for room,
//! or still unsent at the stop deadline is reported in samples (`samples_rejected`,
//! `samples_lost`) and the host's `written` is what Datadog took.
//!
//! The API key travels in the `DD-API-KEY` header only, never in a URL, log line or error.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_http_support::{Outcome, UnconfirmedLog};
use loadrun_plugin_api::sdk::{COUNTER_SAMPLES_LOST, COUNTER_SAMPLES_REJECTED};
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};
use loadrun_statsd::mapping::entries;
use loadrun_statsd::Aggregator;

use crate::config::{ApiConfig, ApiVersion};
use crate::encoder::{self, Payload};
use crate::transport::SeriesApi;

/// The waits of `flush`/`stop` between attempts (the host is no longer pacing then).
const DRAIN_BACKOFF_START: Duration = Duration::from_millis(100);
const DRAIN_BACKOFF_MAX: Duration = Duration::from_secs(1);

pub struct ApiOutput {
    cfg: ApiConfig,
    api: SeriesApi,
    catalog: Catalog,
    agg: Aggregator,
    host: Option<Host>,
    pending: VecDeque<Payload>,
    pending_bytes: usize,
    next_push: Instant,
    /// Set only when Datadog said how long to wait.
    not_before: Option<Instant>,
    /// Why the last post failed: the reason given while waiting for `not_before`.
    last_failure: Option<String>,
    warned_reject: bool,
    unconfirmed: UnconfirmedLog,
    reported_lost: u64,
}

impl ApiOutput {
    pub fn new(cfg: ApiConfig) -> Result<Self, PluginError> {
        let api = SeriesApi::new(&cfg)?;
        Ok(Self {
            agg: Aggregator::new(0),
            next_push: Instant::now() + cfg.push_interval,
            cfg,
            api,
            catalog: Catalog::new(),
            host: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            not_before: None,
            last_failure: None,
            warned_reject: false,
            unconfirmed: UnconfirmedLog::new("Datadog"),
            reported_lost: 0,
        })
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    fn pending_samples(&self) -> u64 {
        self.pending.iter().map(|b| b.samples).sum()
    }

    /// Drops what is pending, reporting its samples as lost.
    fn lose_pending(&mut self) -> u64 {
        let lost = self.pending_samples();
        self.pending.clear();
        self.pending_bytes = 0;
        self.count(COUNTER_SAMPLES_LOST, lost);
        lost
    }

    fn encode_interval(&mut self) {
        // NaN values and samples of undefined series never leave: not written after all.
        let unsent = self.agg.skipped_non_finite + self.agg.unresolved;
        if unsent > self.reported_lost {
            self.count(COUNTER_SAMPLES_LOST, unsent - self.reported_lost);
            self.reported_lost = unsent;
        }
        if self.agg.is_empty() {
            return;
        }
        let mut cells = self.agg.drain();
        if self.cfg.api_version == ApiVersion::V2 {
            encoder::v2::rates_as_gauges(&self.catalog, &mut cells);
        }
        let folded: u64 = cells.values().map(|c| c.samples).sum();
        let entries = entries(&self.cfg.mapping, &self.catalog, cells);
        let mapped: u64 = entries.iter().map(|e| e.samples).sum();
        self.count(COUNTER_SAMPLES_LOST, folded.saturating_sub(mapped));
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let interval_s = self.cfg.push_interval.as_secs().max(1);
        let encoded = encoder::encode(&self.cfg, &entries, ts, interval_s);
        if encoded.oversized > 0 {
            self.count(COUNTER_SAMPLES_REJECTED, encoded.oversized);
            if let Some(h) = &self.host {
                h.warn(format!(
                    "{}: a series larger than Datadog's request limit on its own was dropped \
                     ({} samples)",
                    self.cfg.output, encoded.oversized
                ));
            }
        }
        for body in encoded.payloads {
            self.pending_bytes += body.body.len();
            self.pending.push_back(body);
        }
        let (mut dropped, mut dropped_samples) = (0, 0);
        while self.pending_bytes > self.cfg.max_pending_bytes {
            let Some(old) = self.pending.pop_front() else {
                break;
            };
            self.pending_bytes -= old.body.len();
            dropped += 1;
            dropped_samples += old.samples;
        }
        if dropped > 0 {
            self.count("dropped_payloads", dropped);
            self.count(COUNTER_SAMPLES_LOST, dropped_samples);
        }
    }

    /// Posts the queue in order; `Err` with a retry (and the server's delay), or a fatal error.
    fn send_pending(&mut self, deadline: Option<Instant>) -> Result<(), WriteStatus> {
        if let Some(at) = self.not_before {
            let now = Instant::now();
            if now < at && !self.pending.is_empty() {
                // Datadog asked for this wait: posting earlier would only be refused again.
                let reason = self
                    .last_failure
                    .clone()
                    .unwrap_or_else(|| format!("{}: rate limited", self.cfg.url));
                return Err(WriteStatus::retry_after(
                    (at - now).max(Duration::from_millis(1)),
                    reason,
                ));
            }
            self.not_before = None;
        }
        while let Some(body) = self.pending.front() {
            match self.api.post(body, deadline) {
                Err(unconfirmed) => {
                    let reason = format!("{}: {}", self.cfg.output, unconfirmed.reason);
                    self.unconfirmed
                        .note(self.host.as_ref(), &reason, body.samples);
                }
                Ok(Outcome::Delivered { .. }) => self.last_failure = None,
                Ok(Outcome::Rejected { reason, .. }) => {
                    self.count("rejected_payloads", 1);
                    self.count(COUNTER_SAMPLES_REJECTED, body.samples);
                    if !self.warned_reject {
                        self.warned_reject = true;
                        if let Some(h) = &self.host {
                            h.warn(format!(
                                "{}: Datadog rejected a payload, dropped: {reason} (further ones \
                                 are counted in rejected_payloads and samples_rejected)",
                                self.cfg.output
                            ));
                        }
                    }
                }
                // After no answer at all the client holds further posts from `write` for a
                // while (same reason, nothing sent), so a dead server costs one attempt per hold.
                Ok(Outcome::Retry { after_ms, reason }) => {
                    self.not_before = after_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
                    self.last_failure = Some(reason.clone());
                    return Err(match after_ms {
                        Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                        None => WriteStatus::retry(reason),
                    });
                }
                Ok(Outcome::Fatal { reason }) => {
                    return Err(WriteStatus::fatal(format!("{}: {reason}", self.cfg.output)));
                }
            }
            if let Some(sent) = self.pending.pop_front() {
                self.pending_bytes -= sent.body.len();
            }
        }
        Ok(())
    }

    /// Everything folded so far, posted within `timeout`. What is left then is kept for a
    /// later attempt when `last` is false (a `flush` while Datadog is unreachable must not lose
    /// data that `stop` may still deliver), and lost when it is the last chance.
    fn push_all(&mut self, timeout: Duration, last: bool) -> Result<(), PluginError> {
        self.encode_interval();
        let deadline = Instant::now() + timeout;
        let mut backoff = DRAIN_BACKOFF_START;
        loop {
            let reason = match self.send_pending(Some(deadline)) {
                Ok(()) | Err(WriteStatus::Ok) => return Ok(()),
                Err(WriteStatus::Fatal(e)) => e.message.to_string(),
                Err(WriteStatus::Retry { reason, .. }) => {
                    let now = Instant::now();
                    let wait = self
                        .not_before
                        .map_or(backoff, |at| at.saturating_duration_since(now));
                    backoff = (backoff * 2).min(DRAIN_BACKOFF_MAX);
                    if now + wait < deadline {
                        std::thread::sleep(wait.max(Duration::from_millis(1)));
                        self.not_before = None;
                        continue;
                    }
                    reason.to_string()
                }
            };
            let requests = self.pending.len();
            if !last {
                let held = self.pending_samples();
                return Err(PluginError::new(format!(
                    "{}: {requests} request(s) ({held} samples) not delivered yet, kept for \
                     another attempt: {reason}",
                    self.cfg.output
                )));
            }
            let lost = self.lose_pending();
            return Err(PluginError::new(format!(
                "{}: {requests} request(s) ({lost} samples) not delivered: {reason}",
                self.cfg.output
            )));
        }
    }
}

impl Output for ApiOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        self.api.set_host(&host);
        self.host = Some(host);
        self.next_push = Instant::now() + self.cfg.push_interval;
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        if !self.pending.is_empty() {
            match self.send_pending(None) {
                Ok(()) => {}
                Err(WriteStatus::Fatal(e)) => {
                    // Neither flush nor stop follows a fatal answer.
                    self.lose_pending();
                    return WriteStatus::Fatal(e);
                }
                Err(status) => return status,
            }
        }
        for s in batch.samples.iter() {
            self.agg.add(&self.catalog, s);
        }
        let now = Instant::now();
        if now >= self.next_push {
            self.next_push = now + self.cfg.push_interval;
            let before = self.pending_samples();
            self.encode_interval();
            let this_push = self.pending_samples().saturating_sub(before);
            // A passing failure keeps the bodies: the next write retries them first.
            if let Err(WriteStatus::Fatal(e)) = self.send_pending(None) {
                // The host counts this batch as dropped itself; the rest was accepted earlier.
                let held = self.pending_samples();
                let this_batch = (batch.samples.len() as u64).min(this_push);
                self.pending.clear();
                self.pending_bytes = 0;
                self.count(COUNTER_SAMPLES_LOST, held.saturating_sub(this_batch));
                return WriteStatus::Fatal(e);
            }
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.push_all(timeout, false)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        self.push_all(timeout, true)
    }
}
