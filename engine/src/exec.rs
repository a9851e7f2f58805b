//! k6's executors. Each runs one scenario until its stop level (see [`crate::engine`]) says so.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun_metrics::{Sample, SampleSink};
use tokio::sync::watch;

use crate::compile::{ExecSpec, ScenarioRt};
use crate::engine::{GRACEFUL, HARD};
use crate::vu::{Shared, Vu};

/// What an executor needs.
pub struct Ctx {
    pub scn: Arc<ScenarioRt>,
    pub shared: Arc<Shared>,
    pub sink: SampleSink,
    /// Global VU numbering (k6's `__VU` is unique across scenarios).
    pub vu_ids: Arc<AtomicU64>,
    /// Sample buffer size per VU.
    pub buffer: usize,
}

impl Ctx {
    fn new_vu(&self) -> Vu {
        let id = self.vu_ids.fetch_add(1, Ordering::Relaxed) + 1;
        self.shared.stats.vus_max.fetch_add(1, Ordering::Relaxed);
        Vu::new(
            id,
            self.scn.clone(),
            self.shared.clone(),
            &self.sink,
            self.buffer,
        )
    }
}

/// Runs one iteration unless the scenario is stopped hard meanwhile. Returns false when the
/// iteration was interrupted.
async fn guarded_iteration(vu: &mut Vu, stop: &mut watch::Receiver<u8>, due: Instant) -> bool {
    let done = tokio::select! {
        biased;
        _ = stop.wait_for(|s| *s >= HARD) => false,
        _ = vu.iteration(due) => true,
    };
    if !done {
        vu.interrupted();
        vu.shared_stats()
            .interrupted
            .fetch_add(1, Ordering::Relaxed);
    }
    done
}

/// shared-iterations, per-vu-iterations and constant-vus: a fixed set of looping VUs.
pub async fn looping(ctx: Ctx, stop: watch::Receiver<u8>, _end: Instant) {
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
        let taken = taken.clone();
        let stats = ctx.shared.stats.clone();
        tasks.push(tokio::spawn(async move {
            stats.vus.fetch_add(1, Ordering::Relaxed);
            let mut done = 0u64;
            loop {
                if *stop.borrow() >= GRACEFUL {
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
                if !guarded_iteration(&mut vu, &mut stop, Instant::now()).await {
                    break;
                }
                done += 1;
            }
            vu.flush();
            stats.vus.fetch_sub(1, Ordering::Relaxed);
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
    let max = ctx.scn.exec.max_vus();
    let begin = Instant::now();
    let (target_tx, target_rx) = watch::channel(ramp_target(start_vus, &stages, Duration::ZERO));
    let mut tasks = Vec::new();
    for i in 0..max {
        let mut vu = ctx.new_vu();
        let mut stop = stop.clone();
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
                stats.vus.fetch_add(1, Ordering::Relaxed);
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
                        ok = guarded_iteration(&mut vu, &mut stop, Instant::now()) => ok,
                    };
                    if !ok {
                        vu.interrupted();
                        break;
                    }
                }
                stats.vus.fetch_sub(1, Ordering::Relaxed);
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
            let v = ramp_target(start_vus, &stages, t);
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
    stats.vus.fetch_add(pre_allocated as i64, Ordering::Relaxed);
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
    let mut dropped_buf = ctx.sink.buffer(256);
    let begin = Instant::now();
    let mut n = 0u64;
    let mut set = tokio::task::JoinSet::new();
    let mut s = stop.clone();
    'outer: loop {
        if *s.borrow() >= GRACEFUL {
            break;
        }
        let Some(due) = arrival_time(&stages, n) else {
            break;
        };
        let due_at = begin + due;
        if due_at > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(due_at.into()) => {}
                _ = s.wait_for(|s| *s >= GRACEFUL) => break 'outer,
            }
        }
        // Start every iteration due by now (the timer is coarser than high rates).
        let now = Instant::now();
        while let Some(due) = arrival_time(&stages, n) {
            let due_at = begin + due;
            if due_at > now {
                break;
            }
            n += 1;
            let vu = pool.lock().pop();
            let vu = match vu {
                Some(v) => Some(v),
                None if allocated < max_vus => {
                    allocated += 1;
                    stats.vus.fetch_add(1, Ordering::Relaxed);
                    Some(ctx.new_vu())
                }
                None => None,
            };
            match vu {
                Some(mut vu) => {
                    let pool = pool.clone();
                    let mut stop = stop.clone();
                    set.spawn(async move {
                        guarded_iteration(&mut vu, &mut stop, due_at).await;
                        pool.lock().push(vu);
                    });
                }
                None => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                    dropped_buf.push(Sample::new(
                        dropped_series.0,
                        loadrun_metrics::now_ns(),
                        1.0,
                    ));
                }
            }
        }
        while set.try_join_next().is_some() {}
        dropped_buf.flush_if_older(Duration::from_millis(100));
    }
    dropped_buf.flush();
    while set.join_next().await.is_some() {}
    for mut vu in pool.lock().drain(..) {
        vu.flush();
    }
    stats.vus.fetch_sub(allocated as i64, Ordering::Relaxed);
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
}
