//! The running output: aggregates samples per window, turns closed windows into request
//! bodies, posts them and maps the answers onto `WriteStatus`.
//!
//! Exactly-once: a push happens at the top of `write`, BEFORE the batch's samples are
//! aggregated. If New Relic cannot take it (`Retry`), nothing of the batch has been kept, so
//! the host's re-delivery of the same batch counts it once. Bodies that went are removed from
//! `pending` as they go, so a retried push never re-sends them.
//!
//! Accounting: every data point knows how many samples were folded into it, so a request New
//! Relic refuses, or one still unsent at the stop deadline, is reported in samples through the
//! standard counters (`samples_rejected`, `samples_lost`) and the host's `written` is what New
//! Relic took.
//!
//! Memory: the open windows (one aggregate per series, at most [`crate::quantiles`]' bound per
//! trend) plus `pending`, which only holds the closed windows of one push: while New Relic
//! fails, no new samples are taken, so it cannot grow.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use loadrun_http_support::{HttpClient, Outcome, RejectLog};
use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{
    Batch, Catalog, Host, Output, PluginError, RunOutcome, TestMeta, WriteStatus,
};

use crate::aggregate::Aggregator;
use crate::config::Config;
use crate::encoder::{Dropped, Encoder, Payload};
use crate::limits;

/// How long after a window's end its samples may still arrive before it is sent (the host
/// hands batches over every 100-200 ms); shorter windows get a grace as long as themselves.
const MAX_GRACE_MS: i64 = 1000;

enum Push {
    Done,
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    Fatal(String),
}

pub struct NewRelicOutput {
    cfg: Config,
    client: HttpClient,
    encoder: Encoder,
    catalog: Catalog,
    aggregator: Aggregator,
    grace_ms: i64,
    pending: VecDeque<Payload>,
    host: Option<Host>,
    rejects: RejectLog,
    warned: Warned,
}

#[derive(Default)]
struct Warned {
    skipped_value: bool,
    skipped_time: bool,
    unresolved: bool,
    attributes: bool,
    non_finite: bool,
    split: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl NewRelicOutput {
    pub fn new(cfg: Config, test: &TestMeta) -> Result<Self, PluginError> {
        let client = HttpClient::new(cfg.http.clone())
            .map_err(|e| PluginError::new(format!("newrelic: {e}")))?;
        let encoder = Encoder::new(&cfg, test);
        let interval_ms = i64::try_from(cfg.push_interval.as_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            cfg,
            client,
            encoder,
            catalog: Catalog::new(),
            aggregator: Aggregator::new(interval_ms),
            grace_ms: interval_ms.min(MAX_GRACE_MS),
            pending: VecDeque::new(),
            host: None,
            rejects: RejectLog::items("data points", Some("rejected_datapoints")),
            warned: Warned::default(),
        })
    }

    fn warn_once(host: Option<&Host>, flag: &mut bool, msg: &str) {
        if let (Some(h), false) = (host, *flag) {
            *flag = true;
            h.warn(msg.to_string());
        }
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    /// Encodes closed windows (all of them when `all`) into `pending`.
    fn close_windows(&mut self, all: bool) {
        let closed = if all {
            self.aggregator.take_all()
        } else {
            self.aggregator.take_closed(now_ms(), self.grace_ms)
        };
        if closed.is_empty() {
            return;
        }
        let mut points = Vec::new();
        let mut dropped = Dropped::default();
        self.encoder
            .encode_counted(closed, &self.catalog, &mut points, &mut dropped);
        self.pending.extend(self.encoder.payloads_counted(points));
        self.count(COUNTER_SAMPLES_LOST, dropped.samples);
        let host = self.host.clone();
        if dropped.unresolved > 0 {
            self.count("unresolved_samples", dropped.unresolved);
            Self::warn_once(
                host.as_ref(),
                &mut self.warned.unresolved,
                "aggregates of undefined series were skipped (a host bug; counted in `unresolved_samples`)",
            );
        }
        if dropped.non_finite > 0 {
            self.count("skipped_datapoints", dropped.non_finite);
            Self::warn_once(
                host.as_ref(),
                &mut self.warned.non_finite,
                "data points whose aggregate is not a finite number (an overflowing sum) are not sent (counted in `skipped_datapoints`)",
            );
        }
        if dropped.attributes > 0 {
            self.count("dropped_attributes", dropped.attributes);
            let msg = format!(
                "series with more tags than New Relic takes: only the first {} attributes per data point (common ones included) are sent; the rest are counted in `dropped_attributes` (see tagBlocklist)",
                self.cfg.max_attributes
            );
            Self::warn_once(host.as_ref(), &mut self.warned.attributes, &msg);
        }
    }

    /// Posts `pending` in order until it is empty or a post must be retried.
    fn push(&mut self, deadline: Option<Instant>) -> Push {
        let key = self.cfg.api_key.expose().to_string();
        let headers = [
            ("Content-Type", "application/json"),
            ("Api-Key", key.as_str()),
        ];
        while let Some(payload) = self.pending.pop_front() {
            let body = self.encoder.body(&payload);
            match self.client.post(&self.cfg.url, &headers, &body, deadline) {
                Outcome::Delivered { .. } => {}
                Outcome::Rejected {
                    status: 413,
                    reason,
                } if payload.points.len() > 1 => {
                    // Too large for this server after all (a proxy with a lower limit): halve
                    // it and go on.
                    let msg = format!(
                        "a request was too large, sending it in halves (lower maxPayloadBytes to avoid this): {}",
                        scrub(&reason, &key)
                    );
                    Self::warn_once(self.host.as_ref(), &mut self.warned.split, &msg);
                    if let Some((a, b)) = payload.split() {
                        self.pending.push_front(b);
                        self.pending.push_front(a);
                    }
                }
                Outcome::Rejected { status, reason } => {
                    self.rejects.note(
                        self.host.as_ref(),
                        status,
                        &scrub(&reason, &key),
                        payload.points.len() as u64,
                        payload.sample_count(),
                    );
                }
                Outcome::Retry { after_ms, reason } => {
                    self.pending.push_front(payload);
                    return Push::Retry {
                        after_ms,
                        reason: scrub(&reason, &key),
                    };
                }
                Outcome::Fatal { reason } => {
                    self.pending.push_front(payload);
                    let mut reason = scrub(&reason, &key);
                    if reason.contains("HTTP 403") || reason.contains("HTTP 401") {
                        reason.push_str(
                            ": New Relic refused the API key; use a license key or an Insert key \
                             of the account (NEW_RELIC_LICENSE_KEY or apiKey), and region=eu for \
                             an EU account (its keys start with eu)",
                        );
                    }
                    return Push::Fatal(reason);
                }
            }
        }
        Push::Done
    }

    /// Sends every window, open ones included, until done or `timeout` is spent.
    fn drain(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        self.close_windows(true);
        let mut backoff = Duration::from_millis(100);
        loop {
            let reason = match self.push(Some(deadline)) {
                Push::Done => return Ok(()),
                Push::Fatal(reason) => reason,
                Push::Retry { after_ms, reason } => {
                    let wait = after_ms.map_or(backoff, Duration::from_millis);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    if wait < deadline.saturating_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                        continue;
                    }
                    reason
                }
            };
            let lost: u64 = self.pending.iter().map(|p| p.points.len() as u64).sum();
            let samples: u64 = self.pending.iter().map(Payload::sample_count).sum();
            self.pending.clear();
            self.count("lost_datapoints", lost);
            self.count(COUNTER_SAMPLES_LOST, samples);
            return Err(PluginError::new(format!(
                "{lost} data points ({samples} samples) could not be sent to {}: {reason}",
                self.cfg.endpoint()
            )));
        }
    }
}

/// Belt and braces: no message leaves this output with the key in it.
fn scrub(text: &str, key: &str) -> String {
    if key.is_empty() {
        text.to_string()
    } else {
        text.replace(key, "***")
    }
}

impl Output for NewRelicOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        if self.cfg.url.scheme() == "http" {
            host.warn(format!(
                "{} is plain http: New Relic only accepts HTTPS (fine for a local proxy or a test server)",
                self.cfg.endpoint()
            ));
        }
        // Requests are cut short by the host's stop deadline once stopping has begun.
        self.client.set_host(&host);
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        let now = now_ms();
        if self.aggregator.has_closable(now, self.grace_ms) {
            self.close_windows(false);
        }
        if !self.pending.is_empty() {
            match self.push(None) {
                Push::Done => {}
                Push::Retry { after_ms, reason } => {
                    return match after_ms {
                        Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                        None => WriteStatus::retry(reason),
                    }
                }
                Push::Fatal(reason) => {
                    // Neither flush nor stop follows a fatal answer: what is held (all of it
                    // accepted with earlier batches) is lost.
                    let held: u64 = self.pending.iter().map(Payload::sample_count).sum::<u64>()
                        + self.aggregator.samples();
                    self.pending.clear();
                    self.count(COUNTER_SAMPLES_LOST, held);
                    return WriteStatus::fatal(reason);
                }
            }
        }

        let (mut bad_value, mut bad_time, mut unresolved) = (0u64, 0u64, 0u64);
        let oldest = now.saturating_sub(limits::MAX_AGE_MS);
        let newest = now.saturating_add(limits::MAX_AHEAD_MS);
        for s in batch.samples.iter() {
            let Some((metric, _)) = self.catalog.resolve(s) else {
                unresolved += 1;
                continue;
            };
            if !s.value.is_finite() {
                bad_value += 1;
                continue;
            }
            let ms = s.time_ns.div_euclid(1_000_000);
            if ms < oldest || ms > newest {
                bad_time += 1;
                continue;
            }
            self.aggregator
                .add(s.series, metric.metric_type, s.time_ns, s.value);
        }
        let host = self.host.clone();
        // Answered `Ok` with the batch, yet never sent: not written.
        self.count(COUNTER_SAMPLES_LOST, bad_value + bad_time + unresolved);
        if bad_value > 0 {
            self.count("skipped_samples", bad_value);
            Self::warn_once(
                host.as_ref(),
                &mut self.warned.skipped_value,
                "samples with NaN or infinite values are skipped (JSON cannot carry them; counted in `skipped_samples`)",
            );
        }
        if bad_time > 0 {
            self.count("skipped_samples", bad_time);
            Self::warn_once(
                host.as_ref(),
                &mut self.warned.skipped_time,
                "samples timestamped more than 47 h in the past or 23 h in the future are skipped: New Relic drops data points outside 48 h/24 h (counted in `skipped_samples`)",
            );
        }
        if unresolved > 0 {
            self.count("unresolved_samples", unresolved);
            Self::warn_once(
                host.as_ref(),
                &mut self.warned.unresolved,
                "samples of undefined series were skipped (a host bug; counted in `unresolved_samples`)",
            );
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.drain(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        self.drain(timeout)
    }
}
