//! `transport=api`: folded series posted to Datadog's `/api/v2/series` (default, see
//! [`crate::api_v2`]) or `/api/v1/series` (`apiVersion=1`, see [`crate::series`]).
//!
//! Each push interval becomes one or more JSON bodies (split below the API's limits, gzipped
//! unless `gzip=false`), queued and posted in order. Answers:
//! - 2xx: done.
//! - 408, 429, 5xx, network errors: kept and retried; while anything is kept, `write` answers
//!   `Retry` without taking the new batch, so the host's queue and drop accounting apply.
//!   The host owns the backoff (`retryInitial`..`retryMaxDelay`, given up after
//!   `retryMaxElapsed`): this output adds no delay of its own, except the one Datadog asks for
//!   (`Retry-After` / `X-RateLimit-Reset`), which it honours without posting early. The reason
//!   it gives is the same text for every answer to one failure, so the host says it once.
//! - 401/403: the key is wrong; `Fatal` (retrying cannot help).
//! - other 4xx (400, 413): that body can never succeed; dropped, counted as
//!   `rejected_payloads` and (in samples) `samples_rejected`, logged once.
//!
//! Each body knows how many samples were folded into it, so a body refused, dropped for room,
//! or still unsent at the stop deadline is reported in samples (`samples_rejected`,
//! `samples_lost`) and the host's `written` is what Datadog took.
//!
//! The API key travels in the `DD-API-KEY` header only, never in a URL, log line or error.

use std::collections::VecDeque;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_http_support::{request_budget, watch_stop, Budget};
use loadrun_plugin_api::sdk::{COUNTER_SAMPLES_LOST, COUNTER_SAMPLES_REJECTED};
use loadrun_plugin_api::types::{RNone, RSome};
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};
use loadrun_statsd::mapping::entries;
use loadrun_statsd::Aggregator;

use crate::api_v2::{self, Compression};
use crate::config::{ApiConfig, ApiVersion, TrendsAs};
use crate::series::{bodies_counted, series_counted};

/// How long `write` waits after a post failed quickly with no answer (refused, DNS).
const QUICK_FAILURE_HOLD: Duration = Duration::from_millis(250);

/// The waits of `flush`/`stop` between attempts (the host is no longer pacing then).
const DRAIN_BACKOFF_START: Duration = Duration::from_millis(100);
const DRAIN_BACKOFF_MAX: Duration = Duration::from_secs(1);

enum Posted {
    Done,
    Retry(Option<Duration>, String),
    /// No answer at all (timeout, refused, DNS); `true` when it took the whole timeout.
    Unanswered(String, bool),
    Rejected(String),
    Fatal(String),
}

/// A request body, where it goes, and the number of samples folded into it.
struct Body {
    url: String,
    encoding: Option<&'static str>,
    bytes: Vec<u8>,
    samples: u64,
}

pub struct ApiOutput {
    cfg: ApiConfig,
    agent: ureq::Agent,
    catalog: Catalog,
    agg: Aggregator,
    host: Option<Host>,
    pending: VecDeque<Body>,
    pending_bytes: usize,
    next_push: Instant,
    /// Set only when Datadog said how long to wait.
    not_before: Option<Instant>,
    /// After no answer at all: `write` does not post before then (see `send_pending`).
    held_until: Option<Instant>,
    /// Why the last post failed: the reason given while waiting for `not_before`.
    last_failure: Option<String>,
    warned_reject: bool,
    reported_lost: u64,
}

impl ApiOutput {
    pub fn new(cfg: ApiConfig) -> Result<Self, PluginError> {
        let agent = ureq::AgentBuilder::new()
            .timeout(cfg.timeout)
            .user_agent(concat!("loadrun-out-datadog/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            agg: Aggregator::new(0),
            next_push: Instant::now() + cfg.push_interval,
            cfg,
            agent,
            catalog: Catalog::new(),
            host: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            not_before: None,
            held_until: None,
            last_failure: None,
            warned_reject: false,
            reported_lost: 0,
        })
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.add_counter(name, n);
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
            api_v2::rates_as_gauges(&self.catalog, &mut cells);
        }
        let folded: u64 = cells.values().map(|c| c.samples).sum();
        let entries = entries(&self.cfg.mapping, &self.catalog, cells);
        let mapped: u64 = entries.iter().map(|e| e.samples).sum();
        self.count(COUNTER_SAMPLES_LOST, folded.saturating_sub(mapped));
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let interval_s = self.cfg.push_interval.as_secs().max(1);
        let new_bodies = match self.cfg.api_version {
            ApiVersion::V1 => {
                let all = series_counted(&entries, &self.cfg.host, ts, interval_s);
                bodies_counted(all, self.cfg.max_body_bytes)
                    .into_iter()
                    .map(|(body, samples)| {
                        let (bytes, encoding) = if self.cfg.gzip {
                            gzip(&body).map_or((body, None), |z| (z, Some("gzip")))
                        } else {
                            (body, None)
                        };
                        Body {
                            url: self.cfg.url.clone(),
                            encoding,
                            bytes,
                            samples,
                        }
                    })
                    .collect()
            }
            ApiVersion::V2 => self.v2_bodies(&entries, ts, interval_s),
        };
        for body in new_bodies {
            self.pending_bytes += body.bytes.len();
            self.pending.push_back(body);
        }
        let (mut dropped, mut dropped_samples) = (0, 0);
        while self.pending_bytes > self.cfg.max_pending_bytes {
            let Some(old) = self.pending.pop_front() else {
                break;
            };
            self.pending_bytes -= old.bytes.len();
            dropped += 1;
            dropped_samples += old.samples;
        }
        if dropped > 0 {
            self.count("dropped_payloads", dropped);
            self.count(COUNTER_SAMPLES_LOST, dropped_samples);
        }
    }

    /// The v2 series (and distribution points) of one interval, split within Datadog's limits.
    fn v2_bodies(
        &mut self,
        entries: &[loadrun_statsd::Entry],
        ts: i64,
        interval_s: u64,
    ) -> Vec<Body> {
        let dist = self.cfg.trends_as == TrendsAs::Distribution;
        let (series, dists) = api_v2::series_v2(entries, &self.cfg.host, ts, interval_s, dist);
        let (gzip, deflate) = if self.cfg.gzip {
            (Compression::Gzip, Compression::Deflate)
        } else {
            (Compression::None, Compression::None)
        };
        let (mut out, mut oversized) =
            api_v2::payloads(series, &self.cfg.url, gzip, api_v2::V2_LIMITS);
        if !dists.is_empty() {
            let url = format!("{}/api/v1/distribution_points", self.cfg.base_url);
            // The distribution points API documents deflate only.
            let (more, over) = api_v2::payloads(dists, &url, deflate, api_v2::V2_LIMITS);
            out.extend(more);
            oversized += over;
        }
        if oversized > 0 {
            self.count(COUNTER_SAMPLES_REJECTED, oversized);
            if let Some(h) = &self.host {
                h.warn(format!(
                    "{}: a series larger than Datadog's request limit on its own was dropped \
                     ({oversized} samples)",
                    self.cfg.output
                ));
            }
        }
        out.into_iter()
            .map(|p| Body {
                url: p.url,
                encoding: p.encoding,
                bytes: p.body,
                samples: p.samples,
            })
            .collect()
    }

    fn post(&self, body: &Body, deadline: Option<Instant>) -> Posted {
        let url = &body.url;
        let mut req = self
            .agent
            .post(url)
            .set("DD-API-KEY", &self.cfg.api_key)
            .set("Content-Type", "application/json");
        // Once the host is stopping this output, no post may outlive its stop deadline (API 1.2;
        // the shared HTTP client's rule, see `loadrun_http_support::HttpClient`).
        let host = self.host.as_ref();
        let stopping = host.and_then(Host::stop_time_left).is_some();
        let timeout = match request_budget(self.cfg.timeout, deadline, host) {
            Budget::Send { timeout, .. } => timeout,
            Budget::NotSent(why) => {
                return Posted::Unanswered(format!("{url}: not sent, {why}"), false);
            }
        };
        req = req.timeout(timeout);
        if let Some(encoding) = body.encoding {
            req = req.set("Content-Encoding", encoding);
        }
        if stopping || host.is_none() {
            return send(req, &body.bytes, url, timeout);
        }
        // Stopping may begin while the post is under way: it is then abandoned at the deadline.
        let (bytes, owned_url) = (body.bytes.clone(), url.clone());
        watch_stop(host, move || send(req, &bytes, &owned_url, timeout)).unwrap_or_else(|| {
            Posted::Unanswered(
                format!("{url}: no answer before the output's stop deadline (request abandoned)"),
                true,
            )
        })
    }

    /// Posts the queue in order; `Err` with a retry (and the server's delay), or a fatal error.
    fn send_pending(&mut self, deadline: Option<Instant>) -> Result<(), WriteStatus> {
        if let Some(at) = self.not_before {
            let now = Instant::now();
            if now < at && !self.pending.is_empty() {
                // Datadog asked for this wait: posting earlier would only be refused again.
                return Err(WriteStatus::Retry {
                    after_ms: RSome((at - now).as_millis().max(1) as u64),
                    reason: self
                        .last_failure
                        .clone()
                        .unwrap_or_else(|| format!("{}: rate limited", self.cfg.url))
                        .into(),
                });
            }
            self.not_before = None;
        }
        // The hold (as the shared HTTP client's): after no answer at all, `write` does not try
        // again for a while, so a dead or hung server costs one attempt per hold, and an output
        // being stopped answers its last batches at once and reaches `stop` in time.
        if let (None, Some(until), false) = (deadline, self.held_until, self.pending.is_empty()) {
            if Instant::now() < until {
                return Err(WriteStatus::Retry {
                    after_ms: RNone,
                    reason: self.last_failure.clone().unwrap_or_default().into(),
                });
            }
        }
        while let Some(body) = self.pending.front() {
            match self.post(body, deadline) {
                Posted::Done => {
                    self.last_failure = None;
                    self.held_until = None;
                }
                Posted::Rejected(reason) => {
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
                Posted::Retry(wait, reason) => {
                    self.not_before = wait.map(|w| Instant::now() + w);
                    self.last_failure = Some(reason.clone());
                    return Err(WriteStatus::Retry {
                        after_ms: match wait {
                            Some(w) => RSome(w.as_millis() as u64),
                            None => RNone,
                        },
                        reason: reason.into(),
                    });
                }
                Posted::Unanswered(reason, timed_out) => {
                    let mut hold = if timed_out {
                        (self.cfg.timeout * 4).max(Duration::from_secs(1))
                    } else {
                        QUICK_FAILURE_HOLD
                    };
                    // A hold set while stopping ends with the stop deadline, not after it.
                    if let Some(left) = self.host.as_ref().and_then(Host::stop_time_left) {
                        hold = hold.min(left);
                    }
                    self.held_until = Some(Instant::now() + hold);
                    self.last_failure = Some(reason.clone());
                    return Err(WriteStatus::Retry {
                        after_ms: RNone,
                        reason: reason.into(),
                    });
                }
                Posted::Fatal(reason) => {
                    return Err(WriteStatus::Fatal(PluginError::new(format!(
                        "{}: {reason}",
                        self.cfg.output
                    ))));
                }
            }
            if let Some(sent) = self.pending.pop_front() {
                self.pending_bytes -= sent.bytes.len();
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

/// Posts `bytes` and classifies the answer.
fn send(req: ureq::Request, bytes: &[u8], url: &str, timeout: Duration) -> Posted {
    let started = Instant::now();
    match req.send_bytes(bytes) {
        Ok(_) => Posted::Done,
        Err(ureq::Error::Status(code, resp)) => {
            let wait = retry_after(&resp);
            let text = resp.into_string().unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            match code {
                401 | 403 => Posted::Fatal(format!(
                    "Datadog refused the API key (HTTP {code}) at {}",
                    url
                )),
                408 | 429 | 500..=599 => {
                    Posted::Retry(wait, format!("HTTP {code} from {}: {text}", url))
                }
                _ => Posted::Rejected(format!("HTTP {code} from {}: {text}", url)),
            }
        }
        // ureq's own message repeats the URL; say it once.
        Err(ureq::Error::Transport(t)) => {
            let mut why = format!("{}: {}", url, t.kind());
            if let Some(m) = t.message() {
                why.push_str(&format!(": {m}"));
            }
            if let Some(cause) = std::error::Error::source(&t) {
                why.push_str(&format!(": {cause}"));
            }
            let took = started.elapsed();
            Posted::Unanswered(why, took + took / 10 >= timeout)
        }
    }
}

/// `Retry-After` (seconds), else Datadog's `X-RateLimit-Reset` (seconds until the window resets).
fn retry_after(resp: &ureq::Response) -> Option<Duration> {
    ["retry-after", "x-ratelimit-reset"].iter().find_map(|h| {
        resp.header(h)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 3600.0)
            .map(Duration::from_secs_f64)
    })
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body)?;
    enc.finish()
}
