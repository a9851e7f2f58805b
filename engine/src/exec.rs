//! k6's executors. Each runs one scenario until its stop level (see [`crate::engine`]) says so.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use loadrun_metrics::{LocalBuffer, Sample, SampleSender};
use tokio::sync::watch;

use crate::compile::{ExecSpec, ScenarioRt};
use crate::engine::GRACEFUL;
use crate::hard_stop::HardStop;
use crate::vu::{Shared, Vu, FLUSH_AGE};

/// What an executor needs.
pub struct Ctx {
    pub scn: Arc<ScenarioRt>,
    pub shared: Arc<Shared>,
    pub sender: SampleSender,
    /// Global VU numbering (k6's `__VU` is unique across scenarios).
    pub vu_ids: Arc<AtomicU64>,
    /// Sample buffer size per VU.
    pub buffer: usize,
}

impl Ctx {
    fn new_vu(&self) -> Vu {
        let id = self.vu_ids.fetch_add(1, Ordering::Relaxed) + 1;
        self.shared.stats.vus_max.fetch_add(1, Ordering::Relaxed);
        self.scn.progress.allocated.fetch_add(1, Ordering::Relaxed);
        Vu::new(
            id,
            self.scn.clone(),
            self.shared.clone(),
            &self.sender,
            self.buffer,
        )
    }
}

/// Runs one iteration unless the scenario is stopped hard meanwhile. Returns false when the
/// iteration was interrupted.
async fn guarded_iteration(vu: &mut Vu, hard: &mut HardStop, due: Instant) -> bool {
    let done = {
        // Pinned where it is made: moved into another future, the whole iteration's future
        // would be copied for every iteration.
        let mut iteration = std::pin::pin!(vu.iteration(due));
        // The stop first, as a biased select: an iteration that never waits still ends.
        std::future::poll_fn(|cx| {
            if hard.poll_stopped(cx).is_ready() {
                return Poll::Ready(false);
            }
            iteration.as_mut().poll(cx).map(|()| true)
        })
        .await
    };
    if !done {
        vu.interrupted();
        vu.shared_stats()
            .interrupted
            .fetch_add(1, Ordering::Relaxed);
        vu.scn.progress.interrupted.fetch_add(1, Ordering::Relaxed);
    }
    done
}

/// Between two iterations of a looping VU. An iteration that never waited (every request
/// refused, steps that do nothing) would keep its worker thread forever, starving the timers
/// that end the scenario and the stop itself: the VU yields to the scheduler, or waits out its
/// backoff (see [`crate::pace`]). False when the scenario is stopping.
async fn between_iterations(vu: &mut Vu, stop: &mut watch::Receiver<u8>) -> bool {
    let wait = vu.backoff();
    if wait.is_zero() {
        // Yields once the task's cooperative budget is spent: every 128 iterations or so of a
        // VU that never waits, never for one whose requests do.
        tokio::task::consume_budget().await;
    } else {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s >= GRACEFUL) => return false,
        }
    }
    *stop.borrow() < GRACEFUL
}

/// shared-iterations, per-vu-iterations and constant-vus: a fixed set of looping VUs.
pub async fn looping(ctx: Ctx, stop: watch::Receiver<u8>, end: Instant) {
    let (vus, per_vu, shared_budget) = match &ctx.scn.exec {
        ExecSpec::SharedIterations {
            vus, iterations, ..
        } => (*vus, None, Some(*iterations)),
        ExecSpec::PerVuIterations {
            vus, iterations, ..
        } => (*vus, Some(*iterations), None),
        ExecSpec::ConstantVus { vus, .. } => (*vus, None, None),
        _ => return,
    };
    let taken = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(vus as usize);
    for _ in 0..vus {
        let mut vu = ctx.new_vu();
        let mut stop = stop.clone();
        let mut hard = HardStop::new(&stop);
        let taken = taken.clone();
        let stats = ctx.shared.stats.clone();
        tasks.push(tokio::spawn(async move {
            stats.vus_started(1);
            vu.scn.progress.vus.fetch_add(1, Ordering::Relaxed);
            let mut done = 0u64;
            loop {
                // The end is checked here too, not only by the scenario's supervisor: a stop
                // that depends on one timer task is one starved worker away from a runaway.
                let now = Instant::now();
                if *stop.borrow() >= GRACEFUL || now >= end {
                    break;
                }
                if let Some(n) = per_vu {
                    if done >= n {
                        break;
                    }
                }
                if let Some(budget) = shared_budget {
                    if taken.fetch_add(1, Ordering::Relaxed) >= budget {
                        break;
                    }
                }
                if !guarded_iteration(&mut vu, &mut hard, now).await {
                    break;
                }
                done += 1;
                if !between_iterations(&mut vu, &mut stop).await {
                    break;
                }
            }
            vu.flush();
            stats.vus_stopped(1);
            vu.scn.progress.vus.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// The VU target of ramping-vus at `t` into the scenario (linear within each stage).
pub fn ramp_target(start: u64, stages: &[(Duration, u64)], t: Duration) -> u64 {
    let mut from = start as f64;
    let mut at = Duration::ZERO;
    for (d, target) in stages {
        let to = *target as f64;
        if t < at + *d {
            let frac = if d.is_zero() {
                1.0
            } else {
                (t - at).as_secs_f64() / d.as_secs_f64()
            };
            return (from + (to - from) * frac).floor().max(0.0) as u64;
        }
        at += *d;
        from = to;
    }
    from as u64
}

/// ramping-vus: VU `i` runs while the target is above `i`; a VU ramped down finishes its
/// iteration within `gracefulRampDown` or is interrupted.
pub async fn ramping_vus(ctx: Ctx, stop: watch::Receiver<u8>) {
    let ExecSpec::RampingVus {
        start_vus,
        stages,
        graceful_ramp_down,
    } = ctx.scn.exec.clone()
    else {
        return;
    };
    // The stages are the whole test's; this instance runs the VU numbers it owns below the
    // test's target, which is its striped share of the target.
    let vus = ctx.scn.share.vus.clone();
    let local =
        move |global: u64| vus.scale(i64::try_from(global).unwrap_or(i64::MAX)).max(0) as u64;
    let max = ctx.scn.max_vus();
    let begin = Instant::now();
    let (target_tx, target_rx) =
        watch::channel(local(ramp_target(start_vus, &stages, Duration::ZERO)));
    let mut tasks = Vec::new();
    for i in 0..max {
        let mut vu = ctx.new_vu();
        let mut stop = stop.clone();
        let mut hard = HardStop::new(&stop);
        let mut target = target_rx.clone();
        let stats = ctx.shared.stats.clone();
        let grace = graceful_ramp_down;
        tasks.push(tokio::spawn(async move {
            loop {
                // Wait to be activated.
                tokio::select! {
                    r = target.wait_for(|t| *t > i) => if r.is_err() { break },
                    _ = stop.wait_for(|s| *s >= GRACEFUL) => break,
                }
                stats.vus_started(1);
                vu.scn.progress.vus.fetch_add(1, Ordering::Relaxed);
                loop {
                    if *stop.borrow() >= GRACEFUL || *target.borrow() <= i {
                        break;
                    }
                    let mut t2 = target.clone();
                    let ramped_down = async move {
                        loop {
                            if t2.wait_for(|t| *t <= i).await.is_err() {
                                std::future::pending::<()>().await;
                            }
                            tokio::time::sleep(grace).await;
                            if *t2.borrow() <= i {
                                return;
                            }
                        }
                    };
                    let ok = tokio::select! {
                        biased;
                        _ = ramped_down => false,
                        ok = guarded_iteration(&mut vu, &mut hard, Instant::now()) => ok,
                    };
                    if !ok {
                        vu.interrupted();
                        break;
                    }
                    if !between_iterations(&mut vu, &mut stop).await {
                        break;
                    }
                }
                stats.vus_stopped(1);
                vu.scn.progress.vus.fetch_sub(1, Ordering::Relaxed);
                vu.flush();
                if *stop.borrow() >= GRACEFUL {
                    break;
                }
            }
        }));
    }
    let mut s = stop.clone();
    loop {
        let t = begin.elapsed();
        let _ = target_tx.send_if_modified(|cur| {
            let v = local(ramp_target(start_vus, &stages, t));
            let changed = *cur != v;
            *cur = v;
            changed
        });
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = s.wait_for(|s| *s >= GRACEFUL) => break,
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    drop(target_tx);
}

/// When (since the scenario's start) iteration `n` (0-based) is due under rate stages of
/// (duration, rate/s at start, rate/s at end). `None` after the last stage.
pub fn arrival_time(stages: &[(Duration, f64, f64)], n: u64) -> Option<Duration> {
    let mut left = n as f64;
    let mut at = 0.0f64;
    for (d, r0, r1) in stages {
        let t = d.as_secs_f64();
        let count = (r0 + r1) / 2.0 * t;
        if left < count {
            let a = if t > 0.0 { (r1 - r0) / t } else { 0.0 };
            let x = if a.abs() < 1e-12 {
                left / r0
            } else {
                // r0*x + a*x²/2 = left
                (-r0 + (r0 * r0 + 2.0 * a * left).max(0.0).sqrt()) / a
            };
            return Some(Duration::from_secs_f64((at + x.max(0.0)).max(0.0)));
        }
        left -= count;
        at += t;
    }
    None
}

/// How many iterations are due by `t` into the schedule (the first at 0), at most all of them:
/// the inverse of [`arrival_time`], in O(stages) whatever the rate.
pub fn arrivals_due(stages: &[(Duration, f64, f64)], t: Duration) -> u64 {
    let t = t.as_secs_f64();
    let mut count = 0.0f64;
    let mut at = 0.0f64;
    for (d, r0, r1) in stages {
        let len = d.as_secs_f64();
        if t < at + len {
            let x = t - at;
            let a = if len > 0.0 { (r1 - r0) / len } else { 0.0 };
            count += r0 * x + a * x * x / 2.0;
            return (count.floor() as u64)
                .saturating_add(1)
                .min(total_arrivals(stages));
        }
        count += (r0 + r1) / 2.0 * len;
        at += len;
    }
    total_arrivals(stages)
}

/// How many iterations the whole schedule starts.
pub fn total_arrivals(stages: &[(Duration, f64, f64)]) -> u64 {
    let count: f64 = stages
        .iter()
        .map(|(d, r0, r1)| (r0 + r1) / 2.0 * d.as_secs_f64())
        .sum();
    count.ceil() as u64
}

/// dropped_iterations, summed: one sample per flush carries the count of every iteration
/// dropped since the last (k6 emits one per drop, which at millions per second is the problem).
struct DroppedCount {
    buf: LocalBuffer,
    series: u32,
    pending: u64,
    since: Instant,
}

impl DroppedCount {
    fn new(buf: LocalBuffer, series: u32) -> Self {
        Self {
            buf,
            series,
            pending: 0,
            since: Instant::now(),
        }
    }

    fn add(&mut self, n: u64) {
        if self.pending == 0 {
            self.since = Instant::now();
        }
        self.pending += n;
    }

    fn flush_if_due(&mut self) {
        if self.pending > 0 && self.since.elapsed() >= FLUSH_AGE {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.pending > 0 {
            self.buf.push(Sample::new(
                self.series,
                loadrun_metrics::now_ns(),
                self.pending as f64,
            ));
            self.pending = 0;
        }
        self.buf.flush();
    }
}

/// constant-arrival-rate and ramping-arrival-rate: iterations start on schedule whatever the
/// latency; each takes an idle VU (allocating up to maxVUs) or is dropped. Iteration durations
/// count from the scheduled start, so queueing cannot hide (no coordinated omission).
pub async fn arrival_rate(ctx: Ctx, stop: watch::Receiver<u8>) {
    let ExecSpec::ArrivalRate {
        stages,
        pre_allocated,
        max_vus,
    } = ctx.scn.exec.clone()
    else {
        return;
    };
    let pool: Arc<parking_lot::Mutex<Vec<Vu>>> = Arc::new(parking_lot::Mutex::new(
        (0..pre_allocated).map(|_| ctx.new_vu()).collect(),
    ));
    let mut allocated = pre_allocated;
    let stats = ctx.shared.stats.clone();
    // As in k6, an arrival-rate scenario's VUs are active from allocation to the scenario's
    // end, busy or idle: `vus` shows what the scenario holds, not a 1 s sample of busy ones.
    stats.vus_started(pre_allocated as i64);
    let progress = &ctx.scn.progress;
    progress
        .vus
        .fetch_add(pre_allocated as i64, Ordering::Relaxed);
    let dropped_series = {
        let tags: Vec<(&str, &str)> = ctx
            .scn
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        ctx.shared
            .registry
            .series(ctx.shared.builtin.dropped_iterations, &tags, &[])
    };
    let mut dropped = DroppedCount::new(ctx.sender.buffer(16), dropped_series.0);
    // The schedule is the whole test's; this instance starts only the iterations it owns
    // (`n` counts those), each at its place in that schedule.
    let owned = ctx.scn.share.iters.clone();
    let stripes = owned.stripes();
    let local = |global: u64| {
        owned
            .scale(i64::try_from(global).unwrap_or(i64::MAX))
            .max(0) as u64
    };
    let total = local(total_arrivals(&stages));
    let begin = Instant::now();
    // Iterations handled so far (started or dropped), in schedule order.
    let mut n = 0u64;
    let mut set = tokio::task::JoinSet::new();
    let mut s = stop.clone();
    while n < total && *s.borrow() < GRACEFUL {
        let Some(due) = arrival_time(&stages, stripes.global(n)) else {
            break;
        };
        let due_at = begin + due;
        if due_at > Instant::now() {
            if due_at > Instant::now() + FLUSH_AGE {
                // A slow schedule: the count waits no longer than a tick for the next wake-up.
                dropped.flush();
            }
            tokio::select! {
                _ = tokio::time::sleep_until(due_at.into()) => {}
                _ = s.wait_for(|s| *s >= GRACEFUL) => break,
            }
        }
        // Everything due by now starts, or is counted as dropped without a step per iteration:
        // at an absurd rate (1e12/s, timeUnit 1ns) millions fall due between two wake-ups.
        let due_now = local(arrivals_due(&stages, begin.elapsed())).clamp(n + 1, total);
        let mut exhausted = false;
        while n < due_now {
            let vu = pool.lock().pop();
            let vu = match vu {
                Some(v) => Some(v),
                None if allocated < max_vus => {
                    allocated += 1;
                    stats.vus_started(1);
                    progress.vus.fetch_add(1, Ordering::Relaxed);
                    Some(ctx.new_vu())
                }
                None => None,
            };
            let Some(mut vu) = vu else {
                let missed = due_now - n;
                stats.dropped.fetch_add(missed, Ordering::Relaxed);
                progress.dropped.fetch_add(missed, Ordering::Relaxed);
                dropped.add(missed);
                n = due_now;
                exhausted = true;
                break;
            };
            let due_at = begin + arrival_time(&stages, stripes.global(n)).unwrap_or(due);
            n += 1;
            let pool = pool.clone();
            let mut stop = stop.clone();
            progress.busy.fetch_add(1, Ordering::Relaxed);
            set.spawn(async move {
                // Per iteration: a VU of the pool runs in a new task each time.
                let mut hard = HardStop::new(&stop);
                if guarded_iteration(&mut vu, &mut hard, due_at).await {
                    // A VU whose iterations fail at once stays busy for its backoff, so an
                    // absurd rate against a dead target is bounded by maxVUs, not the CPU.
                    let wait = vu.backoff();
                    if !wait.is_zero() {
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = stop.wait_for(|s| *s >= GRACEFUL) => {}
                        }
                    }
                }
                // An idle VU may wait long for its next iteration: its samples go now.
                vu.flush();
                vu.scn.progress.busy.fetch_sub(1, Ordering::Relaxed);
                pool.lock().push(vu);
            });
        }
        while set.try_join_next().is_some() {}
        dropped.flush_if_due();
        if exhausted {
            // Every VU is busy: nothing can start before one comes back, so the scheduler
            // waits a timer tick instead of spinning on a schedule that is always late.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(1)) => {}
                _ = s.wait_for(|s| *s >= GRACEFUL) => break,
            }
        } else {
            tokio::task::yield_now().await;
        }
    }
    dropped.flush();
    while set.join_next().await.is_some() {}
    for mut vu in pool.lock().drain(..) {
        vu.flush();
    }
    stats.vus_stopped(allocated as i64);
    progress.vus.fetch_sub(allocated as i64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_targets() {
        let st = [(Duration::from_secs(10), 10), (Duration::from_secs(10), 0)];
        assert_eq!(ramp_target(0, &st, Duration::from_secs(0)), 0);
        assert_eq!(ramp_target(0, &st, Duration::from_secs(5)), 5);
        assert_eq!(ramp_target(0, &st, Duration::from_secs(10)), 10);
        assert_eq!(ramp_target(0, &st, Duration::from_secs(15)), 5);
        assert_eq!(ramp_target(0, &st, Duration::from_secs(25)), 0);
    }

    #[test]
    fn arrival_schedule() {
        let c = [(Duration::from_secs(2), 10.0, 10.0)];
        assert_eq!(arrival_time(&c, 0), Some(Duration::ZERO));
        assert_eq!(arrival_time(&c, 5), Some(Duration::from_millis(500)));
        assert_eq!(arrival_time(&c, 19).map(|d| d.as_millis()), Some(1900));
        assert_eq!(arrival_time(&c, 20), None);
        // 0 → 10/s over 2 s: 10 iterations; the 5th (n=5) at sqrt(2*5/5)=1.414 s.
        let r = [(Duration::from_secs(2), 0.0, 10.0)];
        let t = arrival_time(&r, 5).unwrap().as_secs_f64();
        assert!((t - 2f64.sqrt()).abs() < 1e-9, "{t}");
        assert_eq!(arrival_time(&r, 10), None);
    }

    #[test]
    fn arrivals_due_is_the_inverse_of_the_schedule() {
        let st = [
            (Duration::from_secs(2), 10.0, 10.0),
            (Duration::from_secs(2), 10.0, 0.0),
        ];
        assert_eq!(total_arrivals(&st), 30);
        assert_eq!(arrivals_due(&st, Duration::ZERO), 1);
        for n in 0..30 {
            let t = arrival_time(&st, n).unwrap();
            let due = arrivals_due(&st, t + Duration::from_micros(1));
            assert!(due == n + 1, "n={n} at {t:?}: {due} due");
        }
        assert_eq!(arrivals_due(&st, Duration::from_secs(100)), 30);
        // An absurd rate is counted, not walked: 1e12/s for 2 s.
        let absurd = [(Duration::from_secs(2), 1e12, 1e12)];
        assert_eq!(total_arrivals(&absurd), 2_000_000_000_000);
        assert_eq!(
            arrivals_due(&absurd, Duration::from_secs(1)),
            1_000_000_000_001
        );
    }
}
