//! `transport=api`: folded series posted to Datadog's `/api/v1/series`.
//!
//! Each push interval becomes one or more JSON bodies (split below `max_body_bytes`, gzipped
//! unless `gzip=false`), queued and posted in order. Answers:
//! - 2xx: done.
//! - 408, 429, 5xx, network errors: kept and retried; while anything is kept, `write` answers
//!   `Retry` (after `Retry-After` / `X-RateLimit-Reset` when Datadog sends one) without taking
//!   the new batch, so the host's queue and drop accounting apply.
//! - 401/403: the key is wrong; `Fatal` (retrying cannot help).
//! - other 4xx (400, 413): that body can never succeed; dropped, counted as
//!   `rejected_payloads`, logged once.
//!
//! The API key travels in the `DD-API-KEY` header only, never in a URL, log line or error.

use std::collections::VecDeque;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_plugin_api::types::{RNone, RSome};
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};
use statsd_proto::mapping::entries;
use statsd_proto::Aggregator;

use crate::config::ApiConfig;
use crate::series::{bodies, series};

const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

enum Posted {
    Done,
    Retry(Option<Duration>, String),
    Rejected(String),
    Fatal(String),
}

pub struct ApiOutput {
    cfg: ApiConfig,
    agent: ureq::Agent,
    catalog: Catalog,
    agg: Aggregator,
    host: Option<Host>,
    pending: VecDeque<Vec<u8>>,
    pending_bytes: usize,
    next_push: Instant,
    not_before: Option<Instant>,
    backoff: Duration,
    /// Why the last post failed, so "still waiting to retry" errors can say why.
    last_failure: Option<String>,
    warned_reject: bool,
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
            backoff: BACKOFF_START,
            last_failure: None,
            warned_reject: false,
        })
    }

    fn count(&self, name: &str, n: u64) {
        if let Some(h) = &self.host {
            h.add_counter(name, n);
        }
    }

    fn encode_interval(&mut self) {
        if self.agg.is_empty() {
            return;
        }
        let cells = self.agg.drain();
        let entries = entries(&self.cfg.mapping, &self.catalog, cells);
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let interval_s = self.cfg.push_interval.as_secs().max(1);
        let all = series(&entries, &self.cfg.host, ts, interval_s);
        for body in bodies(all, self.cfg.max_body_bytes) {
            let body = if self.cfg.gzip {
                gzip(&body).unwrap_or(body)
            } else {
                body
            };
            self.pending_bytes += body.len();
            self.pending.push_back(body);
        }
        let mut dropped = 0;
        while self.pending_bytes > self.cfg.max_pending_bytes {
            let Some(old) = self.pending.pop_front() else {
                break;
            };
            self.pending_bytes -= old.len();
            dropped += 1;
        }
        if dropped > 0 {
            self.count("dropped_payloads", dropped);
        }
    }

    fn post(&self, body: &[u8]) -> Posted {
        let mut req = self
            .agent
            .post(&self.cfg.url)
            .set("DD-API-KEY", &self.cfg.api_key)
            .set("Content-Type", "application/json");
        // A gzip body starts with the magic bytes; an uncompressible fallback may not.
        if body.starts_with(&[0x1f, 0x8b]) {
            req = req.set("Content-Encoding", "gzip");
        }
        match req.send_bytes(body) {
            Ok(_) => Posted::Done,
            Err(ureq::Error::Status(code, resp)) => {
                let wait = retry_after(&resp);
                let text = resp.into_string().unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                match code {
                    401 | 403 => Posted::Fatal(format!(
                        "Datadog refused the API key (HTTP {code}) at {}",
                        self.cfg.url
                    )),
                    408 | 429 | 500..=599 => {
                        Posted::Retry(wait, format!("HTTP {code} from {}: {text}", self.cfg.url))
                    }
                    _ => Posted::Rejected(format!("HTTP {code} from {}: {text}", self.cfg.url)),
                }
            }
            // ureq's own message repeats the URL; say it once.
            Err(ureq::Error::Transport(t)) => Posted::Retry(None, {
                let mut why = format!("{}: {}", self.cfg.url, t.kind());
                if let Some(m) = t.message() {
                    why.push_str(&format!(": {m}"));
                }
                if let Some(cause) = std::error::Error::source(&t) {
                    why.push_str(&format!(": {cause}"));
                }
                why
            }),
        }
    }

    /// Posts the queue in order; `Err` with a retry delay, or a fatal error.
    fn send_pending(&mut self) -> Result<(), WriteStatus> {
        if let Some(at) = self.not_before {
            let now = Instant::now();
            if now < at && !self.pending.is_empty() {
                let reason = match &self.last_failure {
                    Some(why) => format!("waiting to retry the Datadog API after {why}"),
                    None => "waiting to retry the Datadog API".to_string(),
                };
                return Err(WriteStatus::Retry {
                    after_ms: RSome((at - now).as_millis().max(1) as u64),
                    reason: reason.into(),
                });
            }
        }
        while let Some(body) = self.pending.front() {
            match self.post(body) {
                Posted::Done => {
                    self.backoff = BACKOFF_START;
                    self.not_before = None;
                    self.last_failure = None;
                }
                Posted::Rejected(reason) => {
                    self.count("rejected_payloads", 1);
                    if !self.warned_reject {
                        self.warned_reject = true;
                        if let Some(h) = &self.host {
                            h.warn(format!(
                                "{}: Datadog rejected a payload, dropped: {reason} (further ones \
                                 are counted in rejected_payloads)",
                                self.cfg.output
                            ));
                        }
                    }
                }
                Posted::Retry(wait, reason) => {
                    let wait = wait.unwrap_or(self.backoff);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                    self.not_before = Some(Instant::now() + wait);
                    self.last_failure = Some(reason.clone());
                    return Err(WriteStatus::Retry {
                        after_ms: match wait.as_millis() {
                            0 => RNone,
                            ms => RSome(ms as u64),
                        },
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
                self.pending_bytes -= sent.len();
            }
        }
        Ok(())
    }

    fn push_all(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.encode_interval();
        let deadline = Instant::now() + timeout;
        loop {
            match self.send_pending() {
                Ok(()) => return Ok(()),
                Err(WriteStatus::Fatal(e)) => return Err(e),
                Err(WriteStatus::Retry { reason, .. }) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(PluginError::new(format!(
                            "{}: {} request(s) not delivered: {reason}",
                            self.cfg.output,
                            self.pending.len()
                        )));
                    }
                    let wait = self.not_before.map_or(Duration::from_millis(50), |at| {
                        at.saturating_duration_since(now)
                    });
                    std::thread::sleep(wait.min(deadline - now).max(Duration::from_millis(1)));
                }
                Err(WriteStatus::Ok) => return Ok(()),
            }
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
            if let Err(status) = self.send_pending() {
                return status;
            }
        }
        for s in batch.samples.iter() {
            self.agg.add(&self.catalog, s);
        }
        let now = Instant::now();
        if now >= self.next_push {
            self.next_push = now + self.cfg.push_interval;
            self.encode_interval();
            if let Err(WriteStatus::Fatal(e)) = self.send_pending() {
                return WriteStatus::Fatal(e);
            }
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.push_all(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        self.push_all(timeout)
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
