//! The output instance: aggregate in `write`, send closed periods, keep what failed to send.
//!
//! Retry contract: a batch is either taken whole (aggregated, `Ok`) or not at all (`Retry`).
//! Requests that could not be delivered stay queued here (bounded: nothing new is taken while
//! any are queued) and are re-sent at the top of the next `write`; until they go through,
//! `write` answers `Retry` without touching the new batch, so the host keeps it. The host owns
//! the backoff: this output only waits where CloudWatch said how long (`Retry-After`), and gives
//! the same reason for every answer to one failure so the host says it once.
//!
//! Accounting: each datum knows how many samples were folded into it, so a request CloudWatch
//! refuses, or one still queued at the stop deadline, is reported in samples through the
//! standard counters (`samples_rejected`, `samples_lost`) and the host's `written` is what
//! CloudWatch took.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use loadrun_http_support::{RejectLog, UnconfirmedLog};
use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::aggregate::{Aggregator, SkipReport};
use crate::config::Config;
use crate::encoder::{encode, Body};
use crate::time::UtcTime;
use crate::transport::{Sender, Sent};

/// The waits of `flush`/`stop` between attempts (the host is no longer pacing then).
const DRAIN_BACKOFF_START: Duration = Duration::from_millis(100);
const DRAIN_BACKOFF_MAX: Duration = Duration::from_secs(1);

pub struct CloudWatchOutput {
    cfg: Config,
    catalog: Catalog,
    agg: Aggregator,
    sender: Sender,
    pending: VecDeque<Body>,
    /// Set only when CloudWatch said how long to wait.
    not_before: Option<Instant>,
    last_failure: String,
    host: Option<Host>,
    rejects: RejectLog,
    unconfirmed: UnconfirmedLog,
    sent_datums: u64,
    sent_requests: u64,
    skips: SkipReport,
}

/// Why the queue could not be emptied.
enum Blocked {
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    Fatal(String),
}

impl CloudWatchOutput {
    pub fn new(cfg: Config) -> Result<Self, PluginError> {
        let sender = Sender::new(&cfg)?;
        Ok(Self {
            agg: Aggregator::new(cfg.aggregate.clone()),
            cfg,
            catalog: Catalog::new(),
            sender,
            pending: VecDeque::new(),
            not_before: None,
            last_failure: String::new(),
            host: None,
            rejects: RejectLog::items("datums", Some("rejected_datums")),
            unconfirmed: UnconfirmedLog::new("CloudWatch"),
            sent_datums: 0,
            sent_requests: 0,
            skips: SkipReport::default(),
        })
    }

    /// Datums delivered so far.
    pub fn sent_datums(&self) -> u64 {
        self.sent_datums
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    fn pending_samples(&self) -> u64 {
        self.pending.iter().map(|b| b.samples).sum()
    }

    fn enqueue(&mut self, datums: &[crate::datum::Datum]) {
        self.pending.extend(encode(
            &self.cfg.namespace,
            datums,
            self.cfg.max_datums_per_request,
            self.cfg.max_request_bytes,
        ));
    }

    /// Sends queued requests in order until the queue is empty or one fails.
    fn drain(&mut self, deadline: Option<Instant>) -> Result<(), Blocked> {
        if let Some(wait) = self
            .not_before
            .and_then(|t| t.checked_duration_since(Instant::now()))
        {
            if !self.pending.is_empty() {
                // CloudWatch asked for this wait: sending earlier would be refused again.
                return Err(Blocked::Retry {
                    after_ms: Some(wait.as_millis().try_into().unwrap_or(u64::MAX)),
                    reason: self.last_failure.clone(),
                });
            }
        }
        self.not_before = None;
        while let Some(body) = self.pending.front() {
            match self.sender.send(&body.text, deadline) {
                Sent::Delivered => {
                    let n = body.datums as u64;
                    self.count_sent(n);
                    self.pending.pop_front();
                }
                Sent::Rejected { status, reason } => {
                    let (n, samples) = (body.datums as u64, body.samples);
                    self.rejects
                        .note(self.host.as_ref(), status, &reason, n, samples);
                    self.pending.pop_front();
                }
                Sent::Retry { after_ms, reason } => {
                    self.not_before = after_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
                    self.last_failure = reason.clone();
                    return Err(Blocked::Retry { after_ms, reason });
                }
                Sent::Unconfirmed { reason } => {
                    self.unconfirmed
                        .note(self.host.as_ref(), &reason, body.samples);
                    self.pending.pop_front();
                }
                Sent::Fatal { reason } => return Err(Blocked::Fatal(reason)),
            }
        }
        Ok(())
    }

    fn count_sent(&mut self, datums: u64) {
        self.sent_datums += datums;
        self.sent_requests += 1;
        if let Some(h) = &self.host {
            h.count("datums_sent", datums);
            h.count("requests_sent", 1);
        }
    }

    fn note_skipped(&mut self) {
        self.skips.note(self.agg.skipped(), self.host.as_ref());
    }

    /// Sends everything, retrying within `timeout`; what is left then is lost.
    fn send_all(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        let datums = self.agg.take_all();
        self.enqueue(&datums);
        let mut backoff = DRAIN_BACKOFF_START;
        loop {
            match self.drain(Some(deadline)) {
                Ok(()) => return Ok(()),
                Err(Blocked::Fatal(reason)) => return Err(self.lost(&reason)),
                Err(Blocked::Retry { after_ms, reason }) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let wait = after_ms.map_or(backoff, Duration::from_millis);
                    backoff = (backoff * 2).min(DRAIN_BACKOFF_MAX);
                    if left <= wait {
                        return Err(self.lost(&reason));
                    }
                    std::thread::sleep(wait);
                    self.not_before = None;
                }
            }
        }
    }

    /// Gives up on the queue: its samples are reported lost.
    fn lost(&mut self, reason: &str) -> PluginError {
        let datums: usize = self.pending.iter().map(|b| b.datums).sum();
        let samples = self.pending_samples();
        let requests = self.pending.len();
        self.pending.clear();
        self.count(COUNTER_SAMPLES_LOST, samples);
        PluginError::new(format!(
            "{}: {datums} datum(s) ({samples} samples) in {requests} request(s) not delivered: {reason}",
            self.cfg.output
        ))
    }

    /// A fatal answer: neither flush nor stop follows, so what is held is lost, except the
    /// `not_mine` samples of the current batch, which the host counts as dropped itself.
    fn fatal(&mut self, reason: String, not_mine: u64) -> WriteStatus {
        let held = self.pending_samples() + self.agg.open_samples();
        self.pending.clear();
        let _ = self.agg.take_all();
        self.count(COUNTER_SAMPLES_LOST, held.saturating_sub(not_mine));
        WriteStatus::fatal(reason)
    }
}

impl Output for CloudWatchOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        host.info(format!(
            "sending to {} (region {}, namespace {:?}, period {}s, dimensions {})",
            self.sender.endpoint(),
            self.cfg.region,
            self.cfg.namespace,
            self.cfg.aggregate.period_secs,
            self.cfg.aggregate.dimensions.join(",")
        ));
        // Requests are cut short by the host's stop deadline once stopping has begun.
        self.sender.set_host(&host);
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        match self.drain(None) {
            Ok(()) => {}
            Err(Blocked::Retry { after_ms, reason }) => {
                return match after_ms {
                    Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                    None => WriteStatus::retry(reason),
                }
            }
            Err(Blocked::Fatal(reason)) => return self.fatal(reason, 0),
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
        self.enqueue(&datums);
        match self.drain(None) {
            // The batch is aggregated: a send failure is retried from the queue, not by the host.
            Ok(()) | Err(Blocked::Retry { .. }) => WriteStatus::Ok,
            Err(Blocked::Fatal(reason)) => self.fatal(reason, batch.samples.len() as u64),
        }
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.send_all(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        let result = self.send_all(timeout);
        if let Some(h) = &self.host {
            h.info(format!(
                "sent {} datum(s) in {} request(s){}",
                self.sent_datums,
                self.sent_requests,
                match self.rejects.total() {
                    0 => String::new(),
                    n => format!("; {n} datum(s) refused by CloudWatch"),
                }
            ));
        }
        self.pending.clear();
        result
    }
}
