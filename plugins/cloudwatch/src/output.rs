//! The output instance: aggregate in `write`, send closed periods, keep what failed to send.
//!
//! Retry contract: a batch is either taken whole (aggregated, `Ok`) or not at all (`Retry`).
//! Requests that could not be delivered stay queued here (bounded: nothing new is taken while
//! any are queued) and are re-sent, with backoff, at the top of the next `write`; until they go
//! through, `write` answers `Retry` without touching the new batch, so the host keeps it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use loadrun_http_support::RejectLog;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::aggregate::Aggregator;
use crate::config::Config;
use crate::encode::{encode, Body};
use crate::service::{Sender, Sent};
use crate::time::UtcTime;

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

pub struct CloudWatchOutput {
    cfg: Config,
    catalog: Catalog,
    agg: Aggregator,
    sender: Sender,
    pending: VecDeque<Body>,
    not_before: Option<Instant>,
    backoff: Duration,
    last_failure: String,
    host: Option<Host>,
    rejects: RejectLog,
    sent_datums: u64,
    sent_requests: u64,
    warned_skipped: bool,
}

/// Why the queue could not be emptied.
enum Blocked {
    Retry { after_ms: u64, reason: String },
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
            backoff: BACKOFF_MIN,
            last_failure: String::new(),
            host: None,
            rejects: RejectLog::new("rejected_datums"),
            sent_datums: 0,
            sent_requests: 0,
            warned_skipped: false,
        })
    }

    /// Datums delivered so far.
    pub fn sent_datums(&self) -> u64 {
        self.sent_datums
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
    fn drain(&mut self, deadline: Option<Instant>, honour_backoff: bool) -> Result<(), Blocked> {
        while let Some(body) = self.pending.front() {
            if honour_backoff {
                if let Some(wait) = self
                    .not_before
                    .and_then(|t| t.checked_duration_since(Instant::now()))
                {
                    return Err(Blocked::Retry {
                        after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
                        reason: self.last_failure.clone(),
                    });
                }
            }
            match self.sender.send(&body.text, deadline) {
                Sent::Delivered => {
                    self.count_sent(body.datums as u64);
                    self.pending.pop_front();
                    self.not_before = None;
                    self.backoff = BACKOFF_MIN;
                }
                Sent::Rejected { status, reason } => {
                    let n = body.datums as u64;
                    self.rejects.note(self.host.as_ref(), status, &reason, n);
                    self.pending.pop_front();
                }
                Sent::Retry { after_ms, reason } => {
                    let wait = after_ms
                        .map(Duration::from_millis)
                        .unwrap_or(self.backoff)
                        .max(self.backoff);
                    self.not_before = Some(Instant::now() + wait);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                    self.last_failure =
                        format!("{reason} ({} request(s) queued)", self.pending.len());
                    return Err(Blocked::Retry {
                        after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
                        reason: self.last_failure.clone(),
                    });
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
            h.add_counter("datums_sent", datums);
            h.add_counter("requests_sent", 1);
        }
    }

    fn warn_skipped(&mut self) {
        if !self.warned_skipped && self.agg.skipped() > 0 {
            self.warned_skipped = true;
            if let Some(h) = &self.host {
                h.warn(
                    "some samples were skipped: NaN/infinite values, or series the host never \
                     defined (said once)",
                );
            }
        }
    }

    /// Sends everything, retrying within `timeout`.
    fn send_all(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        let datums = self.agg.take_all();
        self.enqueue(&datums);
        loop {
            match self.drain(Some(deadline), false) {
                Ok(()) => return Ok(()),
                Err(Blocked::Fatal(reason)) => return Err(self.lost(&reason)),
                Err(Blocked::Retry { after_ms, reason }) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let wait = Duration::from_millis(after_ms);
                    if left <= wait {
                        return Err(self.lost(&reason));
                    }
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn lost(&self, reason: &str) -> PluginError {
        let datums: usize = self.pending.iter().map(|b| b.datums).sum();
        PluginError::new(format!(
            "{}: {datums} datum(s) in {} request(s) not delivered: {reason}",
            self.cfg.output,
            self.pending.len()
        ))
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
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        match self.drain(None, true) {
            Ok(()) => {}
            Err(Blocked::Retry { after_ms, reason }) => {
                return WriteStatus::Retry {
                    after_ms: Some(after_ms).into(),
                    reason: reason.into(),
                }
            }
            Err(Blocked::Fatal(reason)) => return WriteStatus::Fatal(PluginError::new(reason)),
        }
        self.agg.add(&self.catalog, &batch.samples);
        self.warn_skipped();
        let datums = if self.agg.open_len() > self.cfg.max_open {
            self.agg.take_all()
        } else {
            self.agg.take_closed(UtcTime::now(), self.cfg.grace_secs)
        };
        if datums.is_empty() {
            return WriteStatus::Ok;
        }
        self.enqueue(&datums);
        match self.drain(None, true) {
            // The batch is aggregated: a send failure is retried from the queue, not by the host.
            Ok(()) | Err(Blocked::Retry { .. }) => WriteStatus::Ok,
            Err(Blocked::Fatal(reason)) => WriteStatus::Fatal(PluginError::new(reason)),
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
