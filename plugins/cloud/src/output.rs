//! The running output: creates (or joins) the test run at start, aggregates samples, pushes
//! closed buckets every push interval, flushes everything and finishes the run at stop.
//!
//! Retry contract: a push is attempted at the top of `write`, before the batch is aggregated, so
//! a `Retry` leaves nothing of the batch behind. What failed to go stays in `outbox` (already
//! encoded, with its idempotency key, so a re-send is byte-identical and the service can
//! de-duplicate it) and is tried again at the next call.
//!
//! Resending a body the service may already hold (its answer timed out, or the connection broke
//! after the body went out): the k6 Cloud protocol has an idempotency key for exactly this. k6
//! gives every non-GET call one `K6-Idempotency-Key` and keeps it across its own retries, which
//! include timeouts and broken connections (`cloudapi/client.go`: `prepareHeaders` once, then
//! `do` up to 3 times; metrics pushes go through it), so the service must count a key once.
//! Every call here does the same: a push keeps its key in the outbox, and the test-run calls
//! (create, finish) keep theirs across their attempts. So nothing is given up as unconfirmed,
//! unlike the CloudWatch and Datadog distribution outputs, whose APIs have no such key.
//!
//! Accounting: every bucket knows how many samples were folded into it, so a push the service
//! refuses, or one still unsent at the stop deadline (or dropped because the service asked to
//! stop), is reported in samples through the standard counters (`samples_rejected`,
//! `samples_lost`) and the host's `written` is what the service took.
//!
//! Memory: open aggregates are capped by `maxHeldAggregates` (beyond it the oldest buckets are
//! closed early and pushed); while the service fails, every new batch is answered `Retry`, so
//! nothing grows while the host backs off.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_http_support::{Endpoint, HttpClient, Outcome, RejectLog, Url};
use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{
    Batch, Catalog, Host, LogLevel, Output, PluginError, RunOutcome, WriteStatus,
};

use crate::aggregate::{Aggregator, Closed};
use crate::api::{create_body, finish_body, idempotency_key, parse_created, Created};
use crate::config::Config;
use crate::encoder::encode;

/// k6 tries each test-run call 3 times, 500 ms apart.
const CREATE_ATTEMPTS: u32 = 3;
const CREATE_PAUSE: Duration = Duration::from_millis(500);

/// One encoded, compressed request waiting to go.
struct Pending {
    body: Vec<u8>,
    key: String,
    series: usize,
    samples: u64,
}

enum Sent {
    Done,
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    Fatal(String),
    /// The service said to stop sending (HTTP 403 with error code 4).
    CloudStop(String),
}

pub struct CloudOutput {
    cfg: Config,
    client: HttpClient,
    catalog: Catalog,
    agg: Aggregator,
    outbox: VecDeque<Pending>,
    ref_id: Option<String>,
    /// We created the run, so we finish it.
    owns_run: bool,
    host: Option<Host>,
    last_push: Instant,
    stopped_by_cloud: bool,
    finished: bool,
    warned_labels: bool,
    skipped: u64,
    unresolved: u64,
    rejects: RejectLog,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `now + t`, for any `t` the host may pass.
fn deadline_after(t: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(t)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl CloudOutput {
    pub fn new(cfg: Config) -> Result<Self, PluginError> {
        let client =
            HttpClient::new(cfg.http()).map_err(|e| PluginError::new(format!("cloud: {e}")))?;
        let agg = Aggregator::new(ns(cfg.aggregation_period), ns(cfg.aggregation_wait_period));
        Ok(Self {
            cfg,
            client,
            catalog: Catalog::new(),
            agg,
            outbox: VecDeque::new(),
            ref_id: None,
            owns_run: false,
            host: None,
            last_push: Instant::now(),
            stopped_by_cloud: false,
            finished: false,
            warned_labels: false,
            skipped: 0,
            unresolved: 0,
            rejects: RejectLog::items("series", Some("rejected_series")),
        })
    }

    /// The reference id of the run being pushed to (after `start`).
    pub fn reference_id(&self) -> Option<&str> {
        self.ref_id.as_deref()
    }

    fn log(&self, level: LogLevel, msg: String) {
        if let Some(h) = &self.host {
            h.log(level, msg);
        }
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    fn auth(&self) -> Option<String> {
        self.cfg
            .token
            .as_ref()
            .map(|t| format!("Token {}", t.expose()))
    }

    /// One attempt of a test-run call; every attempt of one call passes the same `key`.
    fn json_call(&self, url: &Url, body: &str, key: &str, deadline: Option<Instant>) -> Outcome {
        let auth = self.auth();
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("K6-Idempotency-Key", key),
        ];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        self.client.post(url, &headers, body.as_bytes(), deadline)
    }

    /// `POST /v1/tests`, tried up to 3 times on network errors, 429 and 5xx.
    fn create(&self) -> Result<Created, PluginError> {
        let url = self.cfg.url("/v1/tests")?;
        let fail = |why: String| {
            PluginError::new(format!(
                "cloud: creating the test run failed, so the test does not start: {why}"
            ))
        };
        if self.cfg.duration_s.is_none() {
            return Err(fail("the plan has no finite duration, which the cloud requires (set a duration, or push into an existing run with K6_CLOUD_PUSH_REF_ID)".into()));
        }
        let body = create_body(&self.cfg);
        // One key for every attempt: a create whose answer was lost is not a second test run.
        let key = idempotency_key();
        let mut last = String::new();
        for attempt in 0..CREATE_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(CREATE_PAUSE);
            }
            match self.json_call(&url, &body, &key, None) {
                Outcome::Delivered { body, .. } => {
                    return parse_created(&body)
                        .map_err(|e| fail(format!("POST {}: {e}", Endpoint::new(&url))));
                }
                Outcome::Retry { reason, .. } => last = reason,
                Outcome::Rejected { reason, .. } | Outcome::Fatal { reason } => {
                    let hint = if self.cfg.token.is_none() && reason.contains("HTTP 401") {
                        " (no token is set: K6_CLOUD_TOKEN)"
                    } else {
                        ""
                    };
                    return Err(fail(format!("{reason}{hint}")));
                }
            }
        }
        Err(fail(format!("{last} (tried {CREATE_ATTEMPTS} times)")))
    }

    fn apply(&mut self, created: &Created) {
        let o = &created.overrides;
        if let Some(d) = o.aggregation_period {
            self.cfg.aggregation_period = d;
        }
        if let Some(d) = o.aggregation_wait_period {
            self.cfg.aggregation_wait_period = d;
        }
        if let Some(d) = o.push_interval {
            self.cfg.push_interval = d;
        }
        if let Some(n) = o.push_concurrency {
            self.cfg.push_concurrency = n;
        }
        if let Some(n) = o.max_series_in_batch {
            self.cfg.max_series_in_batch = n;
        }
        if let Some(b) = o.stop_on_error {
            self.cfg.stop_on_error = b;
        }
        if let Some(u) = &o.web_app_url {
            self.cfg.web_app_url = u.clone();
        }
        if let Some(t) = o.timeout {
            if t != self.cfg.timeout {
                self.cfg.timeout = t;
                if let Ok(c) = HttpClient::new(self.cfg.http()) {
                    if let Some(h) = &self.host {
                        c.set_host(h);
                    }
                    self.client = c;
                }
            }
        }
        self.agg.reconfigure(
            ns(self.cfg.aggregation_period),
            ns(self.cfg.aggregation_wait_period),
        );
        if !o.ignored.is_empty() {
            self.log(
                LogLevel::Warn,
                format!(
                    "the cloud's config override has unusable values for {}; local values kept",
                    o.ignored.join(", ")
                ),
            );
        }
    }

    /// Closes what is due and encodes it into the outbox.
    fn close_into_outbox(&mut self, all: bool) {
        // Without a run there is nowhere to send: keep the buckets open.
        let Some(ref_id) = self.ref_id.clone() else {
            return;
        };
        let mut closed = self.agg.close(now_ns(), all);
        if self.agg.held() > self.cfg.max_held_aggregates {
            let more = self.agg.close_oldest(self.cfg.max_held_aggregates / 2);
            for (sid, mut v) in more {
                closed.entry(sid).or_default().append(&mut v);
            }
            for v in closed.values_mut() {
                v.sort_by_key(|c: &Closed| c.time_ns);
            }
        }
        if closed.is_empty() {
            return;
        }
        let period_s = u32::try_from(self.cfg.aggregation_period.as_secs()).unwrap_or(u32::MAX);
        let enc = encode(
            &closed,
            &self.catalog,
            &ref_id,
            period_s,
            self.cfg.max_series_in_batch,
        );
        self.count(COUNTER_SAMPLES_LOST, enc.unsent_samples);
        if enc.dropped_reserved_labels && !self.warned_labels {
            self.warned_labels = true;
            self.log(
                LogLevel::Warn,
                "tags named test_run_id or starting with __ are not sent: the cloud sets those itself".into(),
            );
        }
        for p in enc.payloads {
            match snap::raw::Encoder::new().compress_vec(&p.protobuf) {
                Ok(body) => self.outbox.push_back(Pending {
                    body,
                    key: idempotency_key(),
                    series: p.series,
                    samples: p.samples,
                }),
                Err(e) => {
                    self.count("lost_series", p.series as u64);
                    self.count(COUNTER_SAMPLES_LOST, p.samples);
                    self.log(
                        LogLevel::Error,
                        format!(
                            "cloud: a metrics payload could not be compressed and is dropped: {e}"
                        ),
                    );
                }
            }
        }
    }

    /// Sends the outbox, `metricPushConcurrency` requests at a time, until it is empty or a
    /// request fails.
    fn send_outbox(&mut self, deadline: Option<Instant>) -> Sent {
        let Some(ref_id) = self.ref_id.clone() else {
            return Sent::Done;
        };
        let url = match self.cfg.url(&format!("/v2/metrics/{ref_id}")) {
            Ok(u) => u,
            Err(e) => return Sent::Fatal(e.to_string()),
        };
        let auth = self.auth();
        while !self.outbox.is_empty() {
            let n = self.cfg.push_concurrency.clamp(1, self.outbox.len());
            let outcomes: Vec<Outcome> = {
                let client = &self.client;
                let url = &url;
                let auth = auth.as_deref();
                let send = move |p: &Pending| {
                    let mut headers = vec![
                        ("Content-Type", "application/x-protobuf"),
                        ("Content-Encoding", "snappy"),
                        ("K6-Metrics-Protocol-Version", "2.0"),
                        ("K6-Idempotency-Key", p.key.as_str()),
                    ];
                    if let Some(a) = auth {
                        headers.push(("Authorization", a));
                    }
                    client.post(url, &headers, &p.body, deadline)
                };
                if n == 1 {
                    self.outbox.front().map(send).into_iter().collect()
                } else {
                    std::thread::scope(|s| {
                        let handles: Vec<_> = self
                            .outbox
                            .iter()
                            .take(n)
                            .map(|p| s.spawn(move || send(p)))
                            .collect();
                        handles
                            .into_iter()
                            .map(|h| {
                                h.join().unwrap_or(Outcome::Retry {
                                    after_ms: None,
                                    reason: "a push thread failed".into(),
                                })
                            })
                            .collect()
                    })
                }
            };
            // Keep the failed ones (in order), drop what went or was refused for good.
            let mut failure: Option<Sent> = None;
            let mut kept = VecDeque::new();
            let batch: Vec<Pending> = self.outbox.drain(..n).collect();
            for (p, outcome) in batch.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered { .. } => self.count("pushed_series", p.series as u64),
                    Outcome::Rejected { status, reason } => {
                        self.rejects.note(
                            self.host.as_ref(),
                            status,
                            &reason,
                            p.series as u64,
                            p.samples,
                        );
                    }
                    Outcome::Retry { after_ms, reason } => {
                        kept.push_back(p);
                        if failure.is_none() {
                            failure = Some(Sent::Retry { after_ms, reason });
                        }
                    }
                    Outcome::Fatal { reason } => {
                        kept.push_back(p);
                        let stop = reason.contains("HTTP 403") && reason.contains("\"code\":4");
                        if !matches!(failure, Some(Sent::Fatal(_) | Sent::CloudStop(_))) {
                            failure = Some(if stop {
                                Sent::CloudStop(reason)
                            } else {
                                Sent::Fatal(reason)
                            });
                        }
                    }
                }
            }
            while let Some(p) = kept.pop_back() {
                self.outbox.push_front(p);
            }
            if let Some(f) = failure {
                return f;
            }
        }
        Sent::Done
    }

    /// The service asked us to stop: drop everything, stop sending, maybe abort the test.
    fn cloud_stop(&mut self, reason: &str) {
        self.stopped_by_cloud = true;
        let lost: usize = self.outbox.iter().map(|p| p.series).sum();
        let samples = self.outbox.iter().map(|p| p.samples).sum::<u64>() + self.agg.samples();
        self.outbox.clear();
        let _ = self.agg.close(0, true);
        self.count("lost_series", lost as u64);
        self.count(COUNTER_SAMPLES_LOST, samples);
        self.log(
            LogLevel::Error,
            format!("cloud: the service asked to stop sending metrics; no more are sent: {reason}"),
        );
        if self.cfg.stop_on_error {
            if let Some(h) = &self.host {
                if !h.request_abort(format!("the cloud asked to stop the test: {reason}")) {
                    h.warn("stopOnError is set but the host refused to abort (allow it with abortOnError=true for this output)");
                }
            }
        }
    }

    /// Pushes everything held until done or `deadline`; returns what could not be sent.
    fn drain(&mut self, deadline: Instant) -> Option<String> {
        let mut backoff = Duration::from_millis(100);
        loop {
            if self.outbox.is_empty() || self.stopped_by_cloud {
                return None;
            }
            let reason = match self.send_outbox(Some(deadline)) {
                Sent::Done => return None,
                Sent::CloudStop(r) => {
                    self.cloud_stop(&r);
                    return None;
                }
                Sent::Fatal(r) => r,
                Sent::Retry { after_ms, reason } => {
                    let wait = after_ms.map_or(backoff, Duration::from_millis);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    if Instant::now() + wait < deadline {
                        std::thread::sleep(wait);
                        continue;
                    }
                    reason
                }
            };
            let lost: usize = self.outbox.iter().map(|p| p.series).sum();
            let samples: u64 = self.outbox.iter().map(|p| p.samples).sum();
            self.outbox.clear();
            self.count("lost_series", lost as u64);
            self.count(COUNTER_SAMPLES_LOST, samples);
            return Some(format!(
                "{lost} series ({samples} samples) could not be pushed: {reason}"
            ));
        }
    }

    fn finish(&self, outcome: &RunOutcome, deadline: Instant) -> Option<String> {
        let ref_id = self.ref_id.as_deref()?;
        let url = match self.cfg.url(&format!("/v1/tests/{ref_id}")) {
            Ok(u) => u,
            Err(e) => return Some(e.to_string()),
        };
        let body = finish_body(outcome);
        let key = idempotency_key();
        let mut last = String::new();
        for attempt in 0..CREATE_ATTEMPTS {
            if attempt > 0 {
                if Instant::now() + CREATE_PAUSE >= deadline {
                    break;
                }
                std::thread::sleep(CREATE_PAUSE);
            }
            match self.json_call(&url, &body, &key, Some(deadline)) {
                Outcome::Delivered { .. } => return None,
                Outcome::Retry { reason, .. } => last = reason,
                Outcome::Rejected { reason, .. } | Outcome::Fatal { reason } => {
                    return Some(format!("finishing the test run failed: {reason}"))
                }
            }
        }
        Some(format!("finishing the test run failed: {last}"))
    }

    fn aggregate(&mut self, batch: &Batch<'_>) {
        let (mut skipped, mut unresolved) = (0u64, 0u64);
        for s in batch.samples.iter() {
            let Some(t) = self.catalog.resolve(s).map(|(m, _)| m.metric_type) else {
                unresolved += 1;
                continue;
            };
            if !s.value.is_finite() {
                skipped += 1;
                continue;
            }
            self.agg.add(s.series, t, s.time_ns, s.value);
        }
        if skipped > 0 {
            if self.skipped == 0 {
                self.log(LogLevel::Warn, "samples with NaN or infinite values are not sent (counted in `skipped_samples`)".into());
            }
            self.skipped += skipped;
            self.count("skipped_samples", skipped);
            self.count(COUNTER_SAMPLES_LOST, skipped);
        }
        if unresolved > 0 {
            if self.unresolved == 0 {
                self.log(LogLevel::Warn, "samples of undefined series were skipped (a host bug; counted in `unresolved_samples`)".into());
            }
            self.unresolved += unresolved;
            self.count("unresolved_samples", unresolved);
            self.count(COUNTER_SAMPLES_LOST, unresolved);
        }
    }
}

impl Output for CloudOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        // Requests are cut short by the host's stop deadline once stopping has begun.
        self.client.set_host(&host);
        self.host = Some(host.clone());
        if let Some(id) = self.cfg.push_ref_id.clone() {
            host.info(format!(
                "pushing metrics into the existing test run {id} (no create, no finish)"
            ));
            self.ref_id = Some(id);
        } else {
            let created = self.create()?;
            for (level, msg) in &created.logs {
                host.log(*level, format!("cloud: {msg}"));
            }
            self.apply(&created);
            let url = created
                .overrides
                .test_run_details
                .clone()
                .unwrap_or_else(|| {
                    format!("{}/runs/{}", self.cfg.web_app_url, created.reference_id)
                });
            host.info(format!("cloud test run: {url}"));
            self.ref_id = Some(created.reference_id);
            self.owns_run = true;
        }
        self.last_push = Instant::now();
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        if self.finished {
            return WriteStatus::fatal("cloud: write after stop");
        }
        if self.stopped_by_cloud {
            // Taken so the test goes on, but never sent: not written.
            self.count(COUNTER_SAMPLES_LOST, batch.samples.len() as u64);
            return WriteStatus::Ok;
        }
        let due = !self.outbox.is_empty()
            || self.last_push.elapsed() >= self.cfg.push_interval
            || self.agg.held() > self.cfg.max_held_aggregates;
        if due {
            self.close_into_outbox(false);
            match self.send_outbox(None) {
                Sent::Done => self.last_push = Instant::now(),
                Sent::Retry { after_ms, reason } => {
                    return match after_ms {
                        Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                        None => WriteStatus::retry(reason),
                    }
                }
                Sent::Fatal(reason) => {
                    // Neither flush nor stop follows; this batch was not aggregated.
                    let held =
                        self.outbox.iter().map(|p| p.samples).sum::<u64>() + self.agg.samples();
                    self.outbox.clear();
                    let _ = self.agg.close(0, true);
                    self.count(COUNTER_SAMPLES_LOST, held);
                    return WriteStatus::fatal(format!("cloud: pushing metrics failed: {reason}"));
                }
                Sent::CloudStop(reason) => {
                    self.cloud_stop(&reason);
                    return WriteStatus::Ok;
                }
            }
        }
        self.aggregate(&batch);
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        if self.finished || self.stopped_by_cloud {
            return Ok(());
        }
        self.close_into_outbox(false);
        match self.drain(deadline_after(timeout)) {
            None => Ok(()),
            Some(e) => Err(PluginError::new(format!("cloud: {e}"))),
        }
    }

    fn stop(&mut self, outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let deadline = deadline_after(timeout);
        // Keep a share of the time for the finish call.
        let reserve = if self.owns_run {
            (timeout / 4).min(Duration::from_secs(5))
        } else {
            Duration::ZERO
        };
        let mut problems = Vec::new();
        if !self.stopped_by_cloud {
            self.close_into_outbox(true);
            if let Some(e) = self.drain(deadline.checked_sub(reserve).unwrap_or(deadline)) {
                problems.push(e);
            }
        }
        if self.owns_run {
            if let Some(e) = self.finish(outcome, deadline) {
                problems.push(e);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PluginError::new(format!("cloud: {}", problems.join("; "))))
        }
    }
}
