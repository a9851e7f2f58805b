//! One thread per output instance: takes batches off its queue and calls the plugin, with
//! retries, quarantine and the stop deadline.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::std_types::{RResult, RSlice};
use loadrun_metrics::Registry;
use loadrun_plugin_api::abi::{Batch, OutputBox, RunOutcome, WriteStatus};
use parking_lot::{Condvar, Mutex};
use rand::Rng;

use super::fanout::BatchData;
use super::host_api::{AbortKind, AbortSignal};
use super::queue::{OutputQueue, Popped};
use super::spec::HostOptions;
use super::state::OutputState;
use super::stats::OutputStats;

/// What the worker and the rest of the host share.
pub struct WorkerShared {
    pub name: String,
    pub queue: OutputQueue,
    pub stats: OutputStats,
    pub options: HostOptions,
    pub abort: Arc<AbortSignal>,
    /// Set by `stop`: the outcome for the plugin, and when draining must end.
    pub stopping: Mutex<Option<(RunOutcome, Instant)>>,
    /// Never `StopTimeout`: that is decided by the waiter.
    pub state: Mutex<OutputState>,
    done: Mutex<bool>,
    done_cv: Condvar,
    warned_full: Mutex<Option<Instant>>,
    /// When batches given up on were last reported, and how many samples since.
    exhausted: Mutex<(Option<Instant>, u64)>,
}

impl WorkerShared {
    pub fn new(name: String, options: HostOptions, abort: Arc<AbortSignal>) -> Self {
        Self {
            name,
            queue: OutputQueue::new(options.queue_size, options.when_full),
            stats: OutputStats::default(),
            options,
            abort,
            stopping: Mutex::new(None),
            state: Mutex::new(OutputState::Ok),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
            warned_full: Mutex::new(None),
            exhausted: Mutex::new((None, 0)),
        }
    }

    /// Warns about dropped batches at most every 10 s, not once per batch.
    pub fn warn_queue_full(&self) {
        let mut last = self.warned_full.lock();
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(
                "output {} is falling behind: its queue is full ({} samples), dropping the oldest batches (counted in the summary)",
                self.name,
                self.options.queue_size
            );
        }
    }

    /// Says that batches are being given up on, at most every 10 s, with how many samples
    /// since the last time: once per problem, not once per batch.
    fn report_exhausted(&self, n: u64, after: Duration, reason: &str) {
        let mut st = self.exhausted.lock();
        st.1 += n;
        if st.0.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            tracing::error!(
                "output {}: dropped {} samples after retrying each batch for {:.1}s: {reason} (counted in the summary)",
                self.name,
                st.1,
                after.as_secs_f64()
            );
            *st = (Some(Instant::now()), 0);
        }
    }

    /// The last error this output reported, for messages about it.
    pub fn last_error(&self) -> Option<String> {
        self.stats.errors.lock().last().cloned()
    }

    fn drain_deadline(&self) -> Option<Instant> {
        self.stopping.lock().as_ref().map(|(_, d)| *d)
    }

    /// What the plugin is told (`HostApi::stop_time_left_ms`): nothing while the run goes on,
    /// then the time left before the deadline after which this output is no longer waited for
    /// (draining ends, `flush` and `stop` get what is left, and a busy output is abandoned
    /// shortly after).
    pub fn stop_time_left(&self) -> Option<Duration> {
        self.drain_deadline()
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn mark_done(&self) {
        *self.done.lock() = true;
        self.done_cv.notify_all();
    }

    /// Waits until the worker has called `stop` on the plugin, or `until`. True if it finished.
    pub fn wait_done(&self, until: Instant) -> bool {
        let mut done = self.done.lock();
        while !*done {
            if self.done_cv.wait_until(&mut done, until).timed_out() {
                return *done;
            }
        }
        true
    }
}

/// The worker thread's body.
pub fn run(mut output: OutputBox, shared: Arc<WorkerShared>, registry: Arc<Registry>) {
    let mut w = Worker {
        shared: &shared,
        registry: &registry,
        sent_metrics: 0,
        sent_series: 0,
        quarantined: false,
        retry_reason: None,
    };
    loop {
        match shared.queue.pop(shared.drain_deadline()) {
            Popped::Batch(b) => {
                // Past the drain deadline, writing more would only delay `stop` (each write may
                // block for a request timeout): what is left is lost at shutdown.
                if shared.drain_deadline().is_some_and(|d| Instant::now() >= d) {
                    let left = b.samples.len() as u64 + shared.queue.discard_all();
                    shared.stats.dropped_shutdown.fetch_add(left, Relaxed);
                    break;
                }
                w.deliver(&mut output, &b)
            }
            Popped::Closed => break,
            Popped::TimedOut => {
                if shared.drain_deadline().is_some_and(|d| Instant::now() >= d) {
                    let left = shared.queue.discard_all();
                    shared.stats.dropped_shutdown.fetch_add(left, Relaxed);
                    break;
                }
            }
        }
    }
    if !w.quarantined {
        let (outcome, deadline) = match shared.stopping.lock().clone() {
            Some(s) => s,
            None => (default_outcome(), Instant::now() + Duration::from_secs(5)),
        };
        // A plugin whose flush at stop failed usually fails its `stop` for the same samples
        // (it tries them again there): then only the final word is reported, so one loss is
        // one line. A plugin that gave up on them in `flush` and stops cleanly has only the
        // flush error to say it.
        let flush_error = output.flush(remaining_ms(deadline)).into_result().err();
        match output.stop(&outcome, remaining_ms(deadline)) {
            RResult::RErr(e) => {
                tracing::error!("output {}: stop failed: {e}", shared.name);
                shared.stats.note_error(&format!("stop: {e}"));
                *shared.state.lock() = OutputState::StopFailed;
            }
            RResult::ROk(()) => {
                if let Some(e) = flush_error {
                    tracing::error!("output {}: flush at stop failed: {e}", shared.name);
                    shared.stats.note_error(&format!("flush at stop: {e}"));
                }
            }
        }
    }
    drop(output);
    shared.mark_done();
}

fn remaining_ms(deadline: Instant) -> u64 {
    deadline
        .saturating_duration_since(Instant::now())
        .as_millis() as u64
}

fn default_outcome() -> RunOutcome {
    RunOutcome {
        passed: true,
        reason: loadrun_plugin_api::EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 0,
        extra: "{}".into(),
    }
}

struct Worker<'a> {
    shared: &'a WorkerShared,
    registry: &'a Registry,
    sent_metrics: u32,
    sent_series: u32,
    quarantined: bool,
    /// The reason of the retry streak under way, logged once.
    retry_reason: Option<String>,
}

impl Worker<'_> {
    fn deliver(&mut self, output: &mut OutputBox, batch: &BatchData) {
        let n = batch.samples.len() as u64;
        let stats = &self.shared.stats;
        if self.quarantined {
            stats.dropped_fatal.fetch_add(n, Relaxed);
            return;
        }
        let defs = self.registry.snapshot_range(
            self.sent_metrics..batch.metrics_end,
            self.sent_series..batch.series_end,
        );
        let opts = &self.shared.options;
        let first_try = Instant::now();
        let mut delay = opts.retry_initial;
        loop {
            let started = Instant::now();
            let status = output.write(Batch {
                metrics: RSlice::from_slice(&defs.metrics),
                series: RSlice::from_slice(&defs.series),
                samples: RSlice::from_slice(&batch.samples),
            });
            if n > 0 {
                stats.record_latency(started.elapsed());
            }
            match status {
                WriteStatus::Ok => {
                    stats.written.fetch_add(n, Relaxed);
                    if n > 0 {
                        stats.batches.fetch_add(1, Relaxed);
                    }
                    self.sent_metrics = self.sent_metrics.max(batch.metrics_end);
                    self.sent_series = self.sent_series.max(batch.series_end);
                    if let Some(reason) = self.retry_reason.take() {
                        tracing::info!("output {}: recovered (after: {reason})", self.shared.name);
                    }
                    return;
                }
                WriteStatus::Retry { after_ms, reason } => {
                    if n == 0 {
                        // Nothing to lose: an empty tick batch is not worth retrying.
                        return;
                    }
                    let reason = reason.to_string();
                    let wait = match after_ms.into_option() {
                        Some(ms) => Duration::from_millis(ms),
                        None => jitter(delay),
                    };
                    delay = (delay * 2).min(opts.retry_max_delay);
                    if first_try.elapsed() + wait > opts.retry_max_elapsed {
                        stats.note_error(&reason);
                        stats.dropped_retries_exhausted.fetch_add(n, Relaxed);
                        self.shared
                            .report_exhausted(n, first_try.elapsed(), &reason);
                        return;
                    }
                    if self.past_drain_deadline_after(wait) {
                        // No retry will happen: the batch joins what is lost at shutdown,
                        // which the stop line reports. "retrying" here would be untrue.
                        stats.note_error(&reason);
                        stats.dropped_shutdown.fetch_add(n, Relaxed);
                        return;
                    }
                    stats.retries.fetch_add(1, Relaxed);
                    if self.retry_reason.as_deref() != Some(reason.as_str()) {
                        tracing::warn!("output {}: {reason}; retrying", self.shared.name);
                        stats.note_error(&reason);
                        self.retry_reason = Some(reason.clone());
                    }
                    if !self.sleep_unless_stopping(wait) {
                        stats.dropped_shutdown.fetch_add(n, Relaxed);
                        return;
                    }
                }
                WriteStatus::Fatal(e) => {
                    stats.dropped_fatal.fetch_add(n, Relaxed);
                    self.quarantine(&e.to_string());
                    return;
                }
            }
        }
    }

    fn quarantine(&mut self, why: &str) {
        self.quarantined = true;
        *self.shared.state.lock() = OutputState::Quarantined;
        self.shared.stats.note_error(why);
        let name = &self.shared.name;
        if self.shared.options.required {
            tracing::error!("output {name} failed: {why}; it is required, so the test stops");
            self.shared.abort.set(
                AbortKind::RequiredOutputFailed,
                format!("required output {name} failed: {why}"),
            );
        } else {
            tracing::error!(
                "output {name} failed and is disabled for the rest of the run: {why} (its samples are counted as dropped)"
            );
        }
    }

    /// Whether waiting `wait` from now would cross the drain deadline.
    fn past_drain_deadline_after(&self, wait: Duration) -> bool {
        self.shared
            .drain_deadline()
            .is_some_and(|d| Instant::now() + wait > d)
    }

    /// Sleeps `wait`, in slices, unless draining must end first; false if it must.
    fn sleep_unless_stopping(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        loop {
            let now = Instant::now();
            if let Some(d) = self.shared.drain_deadline() {
                if until > d {
                    return false;
                }
            }
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }
}

/// Full jitter between half and all of `d`, so many outputs do not retry in lockstep.
fn jitter(d: Duration) -> Duration {
    let ms = d.as_millis() as u64;
    if ms < 2 {
        return d;
    }
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
}
