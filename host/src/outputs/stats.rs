//! Per-output self-metrics: what came in, what went out, what was dropped and why.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

use super::state::OutputState;

/// Live counters, shared by the fan-out (received, queue_full) and the worker (the rest).
pub struct OutputStats {
    pub received: AtomicU64,
    pub written: AtomicU64,
    pub dropped_queue_full: AtomicU64,
    pub dropped_retries_exhausted: AtomicU64,
    pub dropped_fatal: AtomicU64,
    pub dropped_shutdown: AtomicU64,
    pub retries: AtomicU64,
    pub batches: AtomicU64,
    latency_us: Mutex<Histogram<u64>>,
    pub plugin_counters: Mutex<BTreeMap<String, u64>>,
    pub errors: Mutex<Vec<String>>,
}

impl Default for OutputStats {
    fn default() -> Self {
        Self {
            received: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped_queue_full: AtomicU64::new(0),
            dropped_retries_exhausted: AtomicU64::new(0),
            dropped_fatal: AtomicU64::new(0),
            dropped_shutdown: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            // 1 µs to 1 hour, 3 significant digits; the bounds are constants, so this cannot fail.
            latency_us: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3)
                    .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!())),
            ),
            plugin_counters: Mutex::new(BTreeMap::new()),
            errors: Mutex::new(Vec::new()),
        }
    }
}

impl OutputStats {
    pub fn record_latency(&self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, 3_600_000_000);
        let _ = self.latency_us.lock().record(us);
    }

    /// Keeps an error message for the summary (the first few distinct ones).
    pub fn note_error(&self, message: &str) {
        let mut errors = self.errors.lock();
        if errors.len() < 5 && !errors.iter().any(|e| e == message) {
            errors.push(message.to_string());
        }
    }

    /// A consistent report: samples neither written nor dropped for another reason by now were
    /// lost at shutdown, so received = written + dropped always holds.
    pub fn report(&self, name: &str, state: OutputState) -> OutputReport {
        let received = self.received.load(Relaxed);
        let counters = self.plugin_counters.lock().clone();
        // Samples the plugin accepted (`Ok`) but then lost or had refused by the server, as it
        // reports them: they were not written after all.
        let delivered = self.written.load(Relaxed);
        let lost = counters
            .get(COUNTER_LOST)
            .copied()
            .unwrap_or(0)
            .min(delivered);
        let rejected = counters
            .get(COUNTER_REJECTED)
            .copied()
            .unwrap_or(0)
            .min(delivered - lost);
        let written = delivered - lost - rejected;
        let queue_full = self.dropped_queue_full.load(Relaxed);
        let retries_exhausted = self.dropped_retries_exhausted.load(Relaxed);
        let fatal = self.dropped_fatal.load(Relaxed);
        let accounted = written + queue_full + retries_exhausted + fatal + lost + rejected;
        let shutdown = received.saturating_sub(accounted);
        let h = self.latency_us.lock();
        let (p50, p99) = if h.is_empty() {
            (0.0, 0.0)
        } else {
            (
                h.value_at_quantile(0.5) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
            )
        };
        OutputReport {
            name: name.to_string(),
            state,
            received,
            written,
            dropped: Dropped {
                queue_full,
                retries_exhausted,
                fatal,
                shutdown,
                rejected,
                lost,
            },
            retries: self.retries.load(Relaxed),
            batches: self.batches.load(Relaxed),
            write_latency_ms_p50: p50,
            write_latency_ms_p99: p99,
            counters,
            errors: self.errors.lock().clone(),
        }
    }
}

use loadrun_plugin_api::sdk::{
    COUNTER_SAMPLES_LOST as COUNTER_LOST, COUNTER_SAMPLES_REJECTED as COUNTER_REJECTED,
};

/// Samples dropped, by reason.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Dropped {
    /// The output's queue was full (the output fell behind).
    pub queue_full: u64,
    /// Retried for `retryMaxElapsed`, then given up.
    pub retries_exhausted: u64,
    /// The output failed fatally (or panicked) and was quarantined.
    pub fatal: u64,
    /// Still queued, or in the plugin's hands, when the stop deadline passed.
    pub shutdown: u64,
    /// Refused for good by the server (the plugin's `samples_rejected` counter).
    pub rejected: u64,
    /// Lost by the plugin after it accepted them (its `samples_lost` counter).
    pub lost: u64,
}

impl Dropped {
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.retries_exhausted
            + self.fatal
            + self.shutdown
            + self.rejected
            + self.lost
    }
}

/// One output's self-metrics at the end of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputReport {
    pub name: String,
    pub state: OutputState,
    pub received: u64,
    pub written: u64,
    pub dropped: Dropped,
    pub retries: u64,
    pub batches: u64,
    pub write_latency_ms_p50: f64,
    pub write_latency_ms_p99: f64,
    pub counters: BTreeMap<String, u64>,
    pub errors: Vec<String>,
}

/// Every output's report, for the end-of-test summary and `--summary-export`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OutputsReport {
    pub outputs: Vec<OutputReport>,
}

impl OutputsReport {
    /// The summary block, k6-style. Empty when there are no outputs.
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        if self.outputs.is_empty() {
            return String::new();
        }
        let mut s = String::from("  █ OUTPUTS\n");
        for o in &self.outputs {
            let mark = if o.state == OutputState::Ok && o.dropped.total() == 0 {
                "✓"
            } else {
                "✗"
            };
            let _ = writeln!(
                s,
                "    {mark} {}: received={} written={} dropped={} (queue_full={} retries_exhausted={} fatal={} shutdown={} rejected={} lost={}) retries={} write p50={:.2}ms p99={:.2}ms{}",
                o.name,
                o.received,
                o.written,
                o.dropped.total(),
                o.dropped.queue_full,
                o.dropped.retries_exhausted,
                o.dropped.fatal,
                o.dropped.shutdown,
                o.dropped.rejected,
                o.dropped.lost,
                o.retries,
                o.write_latency_ms_p50,
                o.write_latency_ms_p99,
                if o.state == OutputState::Ok { String::new() } else { format!(" [{}]", o.state) },
            );
            for (k, v) in &o.counters {
                let _ = writeln!(s, "        {k}={v}");
            }
            for e in &o.errors {
                let _ = writeln!(s, "        error: {e}");
            }
        }
        s
    }

    /// The `outputs` object of `--summary-export`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
