//! The running output: buffers at most one push worth of encoded points, pushes them every
//! pushInterval (or sooner when a request's worth is buffered), and maps HTTP outcomes onto
//! `WriteStatus`.
//!
//! Memory: `pending` holds points of batches already answered `Ok`, bounded by one request
//! (maxBatchBytes / maxBatchLines) plus the batch being written, because reaching either
//! bound triggers a push. While the server fails, each new batch is taken out of `pending`
//! again before `Retry` is returned, so nothing grows while the host backs off.
//!
//! Retries and duplicates: when a push is cut into several requests and a later one fails,
//! the earlier ones are not sent again, but the host re-sends the whole current batch; its
//! points that already went are written twice. InfluxDB keys points by measurement, tag set
//! and timestamp, so the second write of the same point overwrites it: no double counting.

use std::time::{Duration, Instant};

use loadrun_http_support::{split_lines, HttpClient, Outcome, RejectLog};
use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::config::{Api, Config};
use crate::encoder::{Encoded, LineEncoder};

/// Whether v1's `CREATE DATABASE` still has to be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Database {
    /// Created, not ours to create (v2, createDatabase=false), or refused for good.
    Settled,
    /// The server could not be reached: try again before the next push.
    Pending,
}

/// A failed push that may succeed later.
struct PushRetry {
    after_ms: Option<u64>,
    reason: String,
}

enum Push {
    Done,
    Retry(PushRetry),
    Fatal(String),
}

/// Samples of one batch that the output accepted but the server will not hold.
#[derive(Debug, Default, Clone, Copy)]
struct Losses {
    /// NaN or infinite values.
    skipped: u64,
    /// Of series the host never defined.
    unresolved: u64,
    /// Keyed like an earlier point at a coarse precision: the server keeps one of them.
    overwritten: u64,
}

pub struct InfluxOutput {
    cfg: Config,
    client: HttpClient,
    headers: Vec<(&'static str, String)>,
    catalog: Catalog,
    encoder: LineEncoder,
    /// Encoded lines not yet written, each ending in `\n`.
    pending: Vec<u8>,
    pending_lines: usize,
    last_push: Instant,
    database: Database,
    create_warned: bool,
    host: Option<Host>,
    rejects: RejectLog,
    skipped: u64,
    unresolved: u64,
    overwritten: u64,
}

impl InfluxOutput {
    pub fn new(cfg: Config) -> Result<Self, PluginError> {
        let client = HttpClient::new(cfg.http.clone())
            .map_err(|e| PluginError::new(format!("influxdb: {e}")))?;
        let mut headers = vec![("Content-Type", "text/plain; charset=utf-8".to_string())];
        if let Some(a) = &cfg.authorization {
            headers.push(("Authorization", a.expose().to_string()));
        }
        let encoder = LineEncoder::new(
            cfg.tags_as_fields.clone(),
            cfg.metadata_as_fields.clone(),
            cfg.precision,
        );
        let database = if cfg.create_url.is_some() {
            Database::Pending
        } else {
            Database::Settled
        };
        Ok(Self {
            cfg,
            client,
            headers,
            catalog: Catalog::new(),
            encoder,
            pending: Vec::new(),
            pending_lines: 0,
            last_push: Instant::now(),
            database,
            create_warned: false,
            host: None,
            rejects: RejectLog::samples(),
            skipped: 0,
            unresolved: 0,
            overwritten: 0,
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

    /// Counts the losses of a batch once it is accepted (`Ok`); a batch handed back is
    /// encoded and counted again, and one refused for good is dropped whole by the host.
    fn note(&mut self, losses: Losses) {
        // Each was answered `Ok` with its batch, yet is never on the server: not written.
        if losses.skipped > 0 {
            if self.skipped == 0 {
                self.warn("samples with NaN or infinite values are skipped (InfluxDB cannot store them; counted in `skipped_samples`)".into());
            }
            self.skipped += losses.skipped;
            self.count("skipped_samples", losses.skipped);
            self.count(COUNTER_SAMPLES_LOST, losses.skipped);
        }
        if losses.unresolved > 0 {
            if self.unresolved == 0 {
                self.warn("samples of undefined series were skipped (a host bug; counted in `unresolved_samples`)".into());
            }
            self.unresolved += losses.unresolved;
            self.count("unresolved_samples", losses.unresolved);
            self.count(COUNTER_SAMPLES_LOST, losses.unresolved);
        }
        if losses.overwritten > 0 {
            if self.overwritten == 0 {
                self.warn(format!(
                    "precision={}: points of one series within one unit of time overwrite each other in InfluxDB, which keeps the last (counted in `overwritten_points`); use precision=ns or us to keep every point",
                    self.cfg.precision.word()
                ));
            }
            self.overwritten += losses.overwritten;
            self.count("overwritten_points", losses.overwritten);
            self.count(COUNTER_SAMPLES_LOST, losses.overwritten);
        }
    }

    /// v1: `CREATE DATABASE`, as k6 does at start. Only an unreachable server is retried
    /// (before later pushes); any answer settles it, and a refusal is logged once (the writes
    /// then say what is wrong, e.g. 404 database not found).
    ///
    /// Returns the reason when the server could not be reached, so the push that follows
    /// does not wait out a second timeout against the same dead server.
    fn ensure_database(&mut self, deadline: Option<Instant>) -> Option<String> {
        let (Database::Pending, Some(url)) = (self.database, &self.cfg.create_url) else {
            return None;
        };
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .filter(|(k, _)| *k == "Authorization")
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let outcome = self.client.request("POST", url, &headers, None, deadline);
        let db = match &self.cfg.api {
            Api::V1 { db, .. } => db.as_str(),
            Api::V2 { .. } => "",
        };
        match outcome {
            Outcome::Delivered { body, .. } => {
                self.database = Database::Settled;
                // InfluxQL errors come back as 200 with {"results":[{"error":…}]}.
                if body.contains("\"error\"") {
                    self.warn(format!(
                        "CREATE DATABASE {db:?} failed: {}; writing anyway",
                        body.trim()
                    ));
                }
            }
            Outcome::Retry { reason, .. } => {
                if self.host.is_some() && !self.create_warned {
                    self.create_warned = true;
                    self.warn(format!(
                        "CREATE DATABASE {db:?} not done yet, will try again before the next write: {reason}"
                    ));
                }
                return Some(reason);
            }
            Outcome::Rejected { reason, .. } | Outcome::Fatal { reason } => {
                self.database = Database::Settled;
                self.warn(format!(
                    "CREATE DATABASE {db:?} failed, writing anyway: {reason}"
                ));
            }
        }
        None
    }

    /// Writes all of `pending`, in requests bounded by maxBatchBytes/maxBatchLines. On
    /// success `pending` is empty; on `Retry`, the requests that went are removed from it.
    fn push(&mut self, deadline: Option<Instant>) -> Push {
        if let Some(reason) = self.ensure_database(deadline) {
            return Push::Retry(PushRetry {
                after_ms: None,
                reason,
            });
        }
        let headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut sent = 0usize;
        let mut sent_lines = 0usize;
        let mut result = Push::Done;
        for chunk in split_lines(
            &self.pending,
            self.cfg.max_batch_bytes,
            self.cfg.max_batch_lines,
        ) {
            let lines = chunk.iter().filter(|&&b| b == b'\n').count();
            match self
                .client
                .post(&self.cfg.write_url, &headers, chunk, deadline)
            {
                Outcome::Delivered { .. } => {}
                Outcome::Rejected { status, reason } => {
                    self.rejects.note(
                        self.host.as_ref(),
                        status,
                        &reason,
                        lines as u64,
                        lines as u64,
                    );
                }
                Outcome::Retry { after_ms, reason } => {
                    result = Push::Retry(PushRetry { after_ms, reason });
                    break;
                }
                Outcome::Fatal { reason } => {
                    result = Push::Fatal(reason);
                    break;
                }
            }
            sent += chunk.len();
            sent_lines += lines;
        }
        self.pending.drain(..sent);
        self.pending_lines = self.pending_lines.saturating_sub(sent_lines);
        if let Push::Done = result {
            self.last_push = Instant::now();
        }
        result
    }

    /// Pushes until `pending` is empty or `timeout` is spent; what is left is counted as lost.
    fn drain(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        let mut backoff = Duration::from_millis(100);
        loop {
            if self.pending.is_empty() {
                return Ok(());
            }
            let reason = match self.push(Some(deadline)) {
                Push::Done => return Ok(()),
                Push::Fatal(reason) => reason,
                Push::Retry(r) => {
                    let wait = r.after_ms.map_or(backoff, Duration::from_millis);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    let left = deadline.saturating_duration_since(Instant::now());
                    if wait < left {
                        std::thread::sleep(wait);
                        continue;
                    }
                    r.reason
                }
            };
            let lost = self.pending_lines as u64;
            self.pending.clear();
            self.pending_lines = 0;
            self.count(COUNTER_SAMPLES_LOST, lost);
            return Err(PluginError::new(format!(
                "{lost} samples could not be written to {}: {reason}",
                self.cfg.endpoint()
            )));
        }
    }
}

impl Output for InfluxOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        for w in &self.cfg.warnings {
            host.warn(w.clone());
        }
        if self.cfg.concurrent_writes > 1 {
            host.debug(format!(
                "concurrentWrites={} accepted; requests are sent one at a time so they stay ordered and memory stays bounded",
                self.cfg.concurrent_writes
            ));
        }
        // Requests are cut short by the host's stop deadline once stopping has begun.
        self.client.set_host(&host);
        self.host = Some(host);
        let deadline = Instant::now() + self.cfg.http.timeout;
        let _ = self.ensure_database(Some(deadline));
        self.last_push = Instant::now();
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        self.encoder.begin_batch();
        let mark = (self.pending.len(), self.pending_lines);
        let mut losses = Losses::default();
        for s in batch.samples.iter() {
            let Some((metric, series)) = self.catalog.resolve(s) else {
                losses.unresolved += 1;
                continue;
            };
            match self
                .encoder
                .encode(&mut self.pending, metric, series, s.time_ns, s.value)
            {
                Encoded::Line => self.pending_lines += 1,
                Encoded::Overwrites => {
                    self.pending_lines += 1;
                    losses.overwritten += 1;
                }
                Encoded::Skipped => losses.skipped += 1,
            }
        }

        let due = self.last_push.elapsed() >= self.cfg.push_interval
            || self.pending.len() >= self.cfg.max_batch_bytes
            || self.pending_lines >= self.cfg.max_batch_lines;
        if !due || self.pending.is_empty() {
            self.note(losses);
            return WriteStatus::Ok;
        }
        let before = (self.pending.len(), self.pending_lines);
        match self.push(None) {
            Push::Done => {
                self.note(losses);
                WriteStatus::Ok
            }
            Push::Fatal(reason) => {
                // The host counts this batch as dropped and calls neither flush nor stop: the
                // older points it was told were written go nowhere now.
                let sent_lines = before.1 - self.pending_lines;
                self.count(
                    COUNTER_SAMPLES_LOST,
                    (mark.1.saturating_sub(sent_lines)) as u64,
                );
                self.pending.clear();
                self.pending_lines = 0;
                WriteStatus::fatal(reason)
            }
            Push::Retry(PushRetry { after_ms, reason }) => {
                // Give the batch back: keep only the older points that did not go. The host
                // hands it over again; its losses are counted then.
                self.encoder.give_back();
                let sent = before.0 - self.pending.len();
                if sent >= mark.0 {
                    self.pending.clear();
                    self.pending_lines = 0;
                } else {
                    let keep = mark.0 - sent;
                    let dropped_lines =
                        self.pending[keep..].iter().filter(|&&b| b == b'\n').count();
                    self.pending.truncate(keep);
                    self.pending_lines = self.pending_lines.saturating_sub(dropped_lines);
                }
                match after_ms {
                    Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                    None => WriteStatus::retry(reason),
                }
            }
        }
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.drain(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        self.drain(timeout)
    }
}
