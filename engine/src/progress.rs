//! Live counters of one scenario, for the progress display: bumped where the executors already
//! count (plain relaxed atomics, no lock), read by the host a few times a second.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Where a scenario is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before its `startTime`.
    Waiting,
    Running,
    /// Past its duration (or stopped): running iterations get `gracefulStop`.
    Stopping,
    /// Its executor returned.
    Done,
}

impl Phase {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Running,
            2 => Self::Stopping,
            3 => Self::Done,
            _ => Self::Waiting,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Waiting => 0,
            Self::Running => 1,
            Self::Stopping => 2,
            Self::Done => 3,
        }
    }
}

/// One scenario's counters. On cache lines of their own: every VU of the scenario bumps them,
/// and the scenario's read-mostly fields beside them must not bounce with them.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct ScenarioProgress {
    phase: AtomicU8,
    /// When the scenario started, in ns after the run started; valid once it left `Waiting`.
    started_ns: AtomicU64,
    /// How long it ran, in ns; valid once `Done`.
    ran_ns: AtomicU64,
    /// Stopped before the end of its duration (Ctrl-C, a threshold, an output), or never started.
    stopped_early: AtomicBool,
    /// VUs running iterations (looping executors) or held (arrival-rate), as `vus` counts them.
    pub(crate) vus: AtomicI64,
    /// arrival-rate: VUs allocated so far.
    pub(crate) allocated: AtomicU64,
    /// arrival-rate: VUs running an iteration now.
    pub(crate) busy: AtomicI64,
    pub(crate) iterations: AtomicU64,
    pub(crate) interrupted: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

/// A consistent-enough copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressSnapshot {
    pub phase: Phase,
    /// Time since the scenario started (zero while waiting; its whole run once done).
    pub elapsed: Duration,
    pub vus: u64,
    pub allocated: u64,
    pub busy: u64,
    pub iterations: u64,
    pub interrupted: u64,
    pub dropped: u64,
    pub stopped_early: bool,
}

impl ScenarioProgress {
    pub(crate) fn start(&self, run_start: Instant) {
        let ns = u64::try_from(run_start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.started_ns.store(ns, Ordering::Relaxed);
        self.phase.store(Phase::Running.to_u8(), Ordering::Release);
    }

    pub(crate) fn stopping(&self) {
        let _ = self.phase.compare_exchange(
            Phase::Running.to_u8(),
            Phase::Stopping.to_u8(),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }

    pub(crate) fn stopped_early(&self) {
        self.stopped_early.store(true, Ordering::Relaxed);
    }

    pub(crate) fn done(&self, run_start: Instant) {
        let now = u64::try_from(run_start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let ran = now.saturating_sub(self.started_ns.load(Ordering::Relaxed));
        self.ran_ns.store(ran, Ordering::Relaxed);
        self.phase.store(Phase::Done.to_u8(), Ordering::Release);
    }

    /// The counters now; `since_run_start` is the run's elapsed time (from `Control::elapsed`).
    pub fn snapshot(&self, since_run_start: Duration) -> ProgressSnapshot {
        let phase = Phase::from_u8(self.phase.load(Ordering::Acquire));
        let elapsed = match phase {
            Phase::Waiting => Duration::ZERO,
            Phase::Done => Duration::from_nanos(self.ran_ns.load(Ordering::Relaxed)),
            Phase::Running | Phase::Stopping => since_run_start.saturating_sub(
                Duration::from_nanos(self.started_ns.load(Ordering::Relaxed)),
            ),
        };
        ProgressSnapshot {
            phase,
            elapsed,
            vus: self.vus.load(Ordering::Relaxed).max(0) as u64,
            allocated: self.allocated.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed).max(0) as u64,
            iterations: self.iterations.load(Ordering::Relaxed),
            interrupted: self.interrupted.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            stopped_early: self.stopped_early.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_in_order_and_elapsed_frozen_when_done() {
        let p = ScenarioProgress::default();
        let run_start = Instant::now();
        assert_eq!(p.snapshot(Duration::from_secs(5)).phase, Phase::Waiting);
        assert_eq!(p.snapshot(Duration::from_secs(5)).elapsed, Duration::ZERO);
        p.start(run_start);
        assert_eq!(p.snapshot(Duration::ZERO).phase, Phase::Running);
        p.stopping();
        assert_eq!(p.snapshot(Duration::ZERO).phase, Phase::Stopping);
        p.done(run_start);
        // Stopping is not taken back from done.
        p.stopping();
        let s = p.snapshot(Duration::from_secs(3600));
        assert_eq!(s.phase, Phase::Done);
        assert!(s.elapsed < Duration::from_secs(3600), "{s:?}");
    }
}
