//! The StatsD output: fold samples for `pushInterval`, then encode, pack and send.
//!
//! Pacing needs no thread of its own: the host calls `write` at least every ~200 ms (with an
//! empty batch if need be), and a push happens in the first `write` after the interval is over.
//!
//! Failure handling never blocks the test:
//! - UDP send errors (for instance `ECONNREFUSED` after an ICMP port-unreachable) drop the
//!   datagram, add to the `send_errors` counter and are logged once.
//! - TCP payloads that cannot be sent are kept, up to `max_pending_bytes` (oldest dropped and
//!   counted as `dropped_payloads` beyond that). While any are kept, `write` returns `Retry`
//!   without taking the new batch, so the host's queue, backoff and drop accounting apply.
//!
//! Every payload knows how many samples were folded into it. Whatever this output answered
//! `Ok` for and then could not send (a datagram refused, a payload dropped for room, a line too
//! long, payloads still unsent at the stop deadline, NaN values) is reported in samples through
//! the standard `samples_lost` counter, so the host's `written` is what was sent. (A datagram
//! that leaves but is lost on the way cannot be known.)

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::aggregate::Aggregator;
use crate::config::StatsdConfig;
use crate::encoder::{Encoded, Encoder};
use crate::transport::{SendError, Transport};

pub struct StatsdOutput {
    cfg: StatsdConfig,
    catalog: Catalog,
    agg: Aggregator,
    transport: Transport,
    host: Option<Host>,
    /// Payloads not sent yet, with the samples each stands for.
    pending: VecDeque<(String, u64)>,
    pending_bytes: usize,
    next_push: Instant,
    warned_send: bool,
    warned_oversize: bool,
    send_errors: u64,
    reported_non_finite: u64,
    reported_unresolved: u64,
    encoder: Encoder,
}

impl StatsdOutput {
    pub fn new(cfg: StatsdConfig) -> Result<Self, PluginError> {
        cfg.mapping.validate(&cfg.output)?;
        let transport = Transport::new(&cfg.addr, cfg.protocol);
        Ok(Self {
            agg: Aggregator::new(cfg.mapping.max_trend_samples),
            next_push: Instant::now() + cfg.push_interval,
            cfg,
            catalog: Catalog::new(),
            transport,
            host: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            warned_send: false,
            warned_oversize: false,
            send_errors: 0,
            reported_non_finite: 0,
            reported_unresolved: 0,
            encoder: Encoder::default(),
        })
    }

    pub fn config(&self) -> &StatsdConfig {
        &self.cfg
    }

    fn warn(&self, message: String) {
        if let Some(h) = &self.host {
            h.warn(message);
        }
    }

    fn count(&self, name: &str, n: u64) {
        if let (Some(h), true) = (&self.host, n > 0) {
            h.count(name, n);
        }
    }

    /// Encodes what the interval folded and queues the payloads.
    fn encode_interval(&mut self) {
        if self.agg.skipped_non_finite > self.reported_non_finite {
            let n = self.agg.skipped_non_finite - self.reported_non_finite;
            self.reported_non_finite = self.agg.skipped_non_finite;
            self.count("skipped_non_finite", n);
            self.count(COUNTER_SAMPLES_LOST, n);
        }
        if self.agg.unresolved > self.reported_unresolved {
            let n = self.agg.unresolved - self.reported_unresolved;
            self.reported_unresolved = self.agg.unresolved;
            self.count(COUNTER_SAMPLES_LOST, n);
        }
        if self.agg.is_empty() {
            return;
        }
        let cells = self.agg.drain();
        let Encoded { packed, unmapped } = self.encoder.encode(&self.cfg, &self.catalog, cells);
        self.count(COUNTER_SAMPLES_LOST, unmapped);
        if packed.oversize > 0 {
            self.count("oversize_lines", packed.oversize);
            self.count(COUNTER_SAMPLES_LOST, packed.oversize_samples);
            if !self.warned_oversize {
                self.warned_oversize = true;
                self.warn(format!(
                    "{}: dropped {} line(s) longer than bufferSize={} bytes; raise bufferSize or \
                     block long tags with tagBlocklist (counted in oversize_lines)",
                    self.cfg.output, packed.oversize, self.cfg.buffer_size
                ));
            }
        }
        let (mut dropped, mut dropped_samples) = (0, 0);
        for (p, n) in packed.payloads.into_iter().zip(packed.samples) {
            self.pending_bytes += p.len();
            self.pending.push_back((p, n));
        }
        while self.pending_bytes > self.cfg.max_pending_bytes {
            match self.pending.pop_front() {
                Some((old, n)) => {
                    self.pending_bytes -= old.len();
                    dropped += 1;
                    dropped_samples += n;
                }
                None => break,
            }
        }
        if dropped > 0 {
            self.count("dropped_payloads", dropped);
            self.count(COUNTER_SAMPLES_LOST, dropped_samples);
        }
    }

    /// Sends the queued payloads in order; `Err` with a retry delay when TCP is down.
    fn send_pending(&mut self) -> Result<(), (Duration, String)> {
        while let Some((payload, samples)) = self.pending.front() {
            match self.transport.send(payload.as_bytes()) {
                Ok(()) => {}
                Err(SendError::Dropped(e)) => {
                    self.send_errors += 1;
                    self.count("send_errors", 1);
                    self.count(COUNTER_SAMPLES_LOST, *samples);
                    if !self.warned_send {
                        self.warned_send = true;
                        self.warn(format!(
                            "{}: sending to {} over UDP failed: {e}; further failures are only \
                             counted (send_errors)",
                            self.cfg.output, self.cfg.addr
                        ));
                    }
                }
                Err(SendError::NotConnected { retry_in, reason }) => {
                    return Err((retry_in, reason));
                }
            }
            if let Some((sent, _)) = self.pending.pop_front() {
                self.pending_bytes -= sent.len();
            }
        }
        Ok(())
    }

    /// Pushes everything folded so far and waits (up to `timeout`) until it is sent.
    fn push_all(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.encode_interval();
        let deadline = Instant::now() + timeout;
        loop {
            match self.send_pending() {
                Ok(()) => return Ok(()),
                Err((retry_in, reason)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        let n = self.pending.len();
                        let lost: u64 = self.pending.iter().map(|(_, s)| s).sum();
                        self.pending.clear();
                        self.pending_bytes = 0;
                        self.count(COUNTER_SAMPLES_LOST, lost);
                        return Err(PluginError::new(format!(
                            "{}: {n} payload(s) ({lost} samples) not sent to {}: {reason}",
                            self.cfg.output, self.cfg.addr
                        )));
                    }
                    std::thread::sleep(retry_in.min(deadline - now));
                }
            }
        }
    }
}

impl Output for StatsdOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        self.host = Some(host);
        self.transport.open().map_err(|e| {
            PluginError::new(format!(
                "{}: cannot open a {} socket to {}: {e}",
                self.cfg.output,
                self.cfg.protocol.as_str(),
                self.cfg.addr
            ))
        })?;
        self.next_push = Instant::now() + self.cfg.push_interval;
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        if !self.pending.is_empty() {
            if let Err((retry_in, reason)) = self.send_pending() {
                return WriteStatus::retry_after(retry_in.max(Duration::from_millis(1)), reason);
            }
        }
        for s in batch.samples.iter() {
            self.agg.add(&self.catalog, s);
        }
        let now = Instant::now();
        if now >= self.next_push {
            self.next_push = now + self.cfg.push_interval;
            self.encode_interval();
            // A TCP failure keeps the payloads; the next write answers Retry until they are out.
            let _ = self.send_pending();
        }
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.push_all(timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        let result = self.push_all(timeout);
        if self.send_errors > 0 {
            self.warn(format!(
                "{}: {} datagram(s) to {} could not be sent",
                self.cfg.output, self.send_errors, self.cfg.addr
            ));
        }
        self.transport.close();
        result
    }
}
