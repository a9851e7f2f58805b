//! Each executor's share of the test for one execution segment, as k6 computes it
//! (`lib/executor/*.go`, `GetVUs`/`GetIterations`/`GetMaxVUs` with the instance's tuple).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::compile::ExecSpec;
use crate::segment::{ExecutionTuple, SegmentedIndex};

/// How a scenario's work is split for this instance.
#[derive(Debug, Clone, Default)]
pub struct Share {
    /// Stripes the scenario's iterations: which test-wide iteration numbers this instance's
    /// iterations are, and (arrival-rate) which scheduled iterations it starts.
    pub iters: ExecutionTuple,
    /// ramping-vus: the test-wide VU numbers this instance owns.
    pub vus: ExecutionTuple,
}

/// The instance's part of `exec`, and how it is striped; `None` when the instance has no work
/// in the scenario (k6's `HasWork`), e.g. one VU split three ways.
pub fn partition(exec: &ExecSpec, tuple: &ExecutionTuple) -> Option<(ExecSpec, Share)> {
    let scale = |v: u64| tuple.scale(i64::try_from(v).unwrap_or(i64::MAX)).max(0) as u64;
    let plain = Share {
        iters: tuple.clone(),
        vus: tuple.clone(),
    };
    match exec {
        ExecSpec::SharedIterations {
            vus,
            iterations,
            max_duration,
        } => {
            // The iterations follow the VUs: an instance with 2 of 5 VUs takes 2/5 of them,
            // whatever its segment's length.
            let by_vus = tuple
                .resegment(i64::try_from(*vus).unwrap_or(i64::MAX))
                .ok()?;
            let iterations = by_vus
                .scale(i64::try_from(*iterations).unwrap_or(i64::MAX))
                .max(0) as u64;
            let vus = scale(*vus);
            (vus > 0 && iterations > 0).then(|| {
                (
                    ExecSpec::SharedIterations {
                        vus,
                        iterations,
                        max_duration: *max_duration,
                    },
                    Share {
                        iters: by_vus,
                        vus: tuple.clone(),
                    },
                )
            })
        }
        ExecSpec::PerVuIterations {
            vus,
            iterations,
            max_duration,
        } => {
            let vus = scale(*vus);
            (vus > 0).then_some((
                ExecSpec::PerVuIterations {
                    vus,
                    iterations: *iterations,
                    max_duration: *max_duration,
                },
                plain,
            ))
        }
        ExecSpec::ConstantVus { vus, duration } => {
            let vus = scale(*vus);
            (vus > 0).then_some((
                ExecSpec::ConstantVus {
                    vus,
                    duration: *duration,
                },
                plain,
            ))
        }
        // The stages stay the test's: the executor scales the target as it goes, so that the
        // instance runs exactly the VU numbers it owns while the whole test's target covers them.
        ExecSpec::RampingVus { .. } => (scale(exec.max_vus()) > 0).then(|| (exec.clone(), plain)),
        ExecSpec::ArrivalRate {
            stages,
            pre_allocated,
            max_vus,
        } => {
            let by_vus = tuple
                .resegment(i64::try_from(*max_vus).unwrap_or(i64::MAX))
                .ok()?;
            let max = scale(*max_vus);
            (max > 0).then(|| {
                (
                    ExecSpec::ArrivalRate {
                        stages: stages.clone(),
                        pre_allocated: scale(*pre_allocated),
                        max_vus: max,
                    },
                    Share {
                        iters: by_vus,
                        vus: tuple.clone(),
                    },
                )
            })
        }
    }
}

/// Hands out the test-wide numbers of a scenario's iterations (k6's `iterationInTest`), in
/// the order this instance starts them.
#[derive(Debug)]
pub enum IterNumbers {
    /// The whole test: the numbers are this process's own; no lock on the hot path.
    Whole(AtomicU64),
    Striped(parking_lot::Mutex<SegmentedIndex>),
}

impl IterNumbers {
    pub fn new(share: &Share) -> Self {
        if share.iters.is_whole() {
            IterNumbers::Whole(AtomicU64::new(0))
        } else {
            IterNumbers::Striped(parking_lot::Mutex::new(share.iters.segmented_index()))
        }
    }

    /// The next iteration's number in the whole test (0-based).
    pub fn next(&self) -> u64 {
        match self {
            IterNumbers::Whole(n) => n.fetch_add(1, Ordering::Relaxed),
            IterNumbers::Striped(idx) => idx.lock().advance().1.saturating_sub(1).max(0) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exec::total_arrivals;
    use crate::segment::{ExecutionSegmentSequence, ExecutionTuple};

    /// Every instance of `sequence`, in order.
    fn instances(sequence: &str) -> Vec<ExecutionTuple> {
        let seq: ExecutionSegmentSequence = sequence.parse().unwrap();
        seq.segments()
            .iter()
            .map(|s| ExecutionTuple::new(*s, &seq).unwrap())
            .collect()
    }

    fn sequences() -> Vec<String> {
        let mut out: Vec<String> = (1..=4)
            .map(|n| ExecutionSegmentSequence::even(n).unwrap().to_string())
            .collect();
        out.extend(
            [
                "0,0.3,0.5,0.6,0.7,0.8,0.9,1",
                "0,7/20,7/10,1",
                "0,1/13,2/13,1/3,1/2,3/4,1",
            ]
            .map(str::to_string),
        );
        out
    }

    /// What one scenario does in total, added over instances: (VUs, iterations or arrivals).
    fn totals(exec: &ExecSpec, seq: &str) -> (u64, u64) {
        let (mut vus, mut iters) = (0, 0);
        for t in instances(seq) {
            let Some((e, share)) = partition(exec, &t) else {
                continue;
            };
            match e {
                ExecSpec::SharedIterations {
                    vus: v,
                    iterations: i,
                    ..
                } => {
                    vus += v;
                    iters += i;
                }
                ExecSpec::PerVuIterations {
                    vus: v,
                    iterations: i,
                    ..
                } => {
                    vus += v;
                    iters += v * i;
                }
                ExecSpec::ConstantVus { vus: v, .. } => vus += v,
                ExecSpec::RampingVus { .. } => {
                    vus += share.vus.scale(e.max_vus() as i64) as u64;
                }
                ExecSpec::ArrivalRate {
                    ref stages,
                    max_vus,
                    ..
                } => {
                    vus += max_vus;
                    iters += share.iters.scale(total_arrivals(stages) as i64) as u64;
                }
            }
        }
        (vus, iters)
    }

    #[test]
    fn shares_add_up_to_the_whole_for_every_executor() {
        let sec = Duration::from_secs(1);
        for seq in sequences() {
            for vus in [1u64, 2, 3, 5, 7, 10, 64] {
                for iterations in [1u64, 7, 100, 1001] {
                    let shared = ExecSpec::SharedIterations {
                        vus,
                        iterations: iterations.max(vus),
                        max_duration: sec,
                    };
                    assert_eq!(
                        totals(&shared, &seq),
                        (vus, iterations.max(vus)),
                        "{seq} {shared:?}"
                    );
                    let per_vu = ExecSpec::PerVuIterations {
                        vus,
                        iterations,
                        max_duration: sec,
                    };
                    assert_eq!(totals(&per_vu, &seq), (vus, vus * iterations), "{seq}");
                }
                let constant = ExecSpec::ConstantVus { vus, duration: sec };
                assert_eq!(totals(&constant, &seq).0, vus, "{seq}");
                let ramp = ExecSpec::RampingVus {
                    start_vus: 0,
                    stages: vec![(sec, vus), (sec, 0)],
                    graceful_ramp_down: sec,
                };
                assert_eq!(totals(&ramp, &seq).0, vus, "{seq}");
                for rate in [1.0, 3.0, 10.0, 333.0] {
                    let arrival = ExecSpec::ArrivalRate {
                        stages: vec![(2 * sec, rate, rate), (sec, rate, 0.0)],
                        pre_allocated: vus / 2,
                        max_vus: vus,
                    };
                    let want = total_arrivals(&[(2 * sec, rate, rate), (sec, rate, 0.0)]);
                    assert_eq!(totals(&arrival, &seq), (vus, want), "{seq} rate {rate}");
                }
            }
        }
    }

    /// Thirds of 5 VUs and 100 shared iterations (k6): VUs 2/2/1, iterations 40/40/20.
    #[test]
    fn shared_iterations_follow_the_vus() {
        let exec = ExecSpec::SharedIterations {
            vus: 5,
            iterations: 100,
            max_duration: Duration::from_secs(1),
        };
        let got: Vec<(u64, u64)> = instances("0,1/3,2/3,1")
            .iter()
            .filter_map(|t| match partition(&exec, t)?.0 {
                ExecSpec::SharedIterations {
                    vus, iterations, ..
                } => Some((vus, iterations)),
                _ => None,
            })
            .collect();
        assert_eq!(got, [(2, 40), (2, 40), (1, 20)]);
    }

    /// Ramping VUs: at every target of the whole test, the instances run exactly that many.
    #[test]
    fn ramping_targets_split_exactly() {
        for seq in sequences() {
            let all = instances(&seq);
            for target in 0..200i64 {
                let sum: i64 = all.iter().map(|t| t.scale(target)).sum();
                assert_eq!(sum, target, "{seq}");
            }
        }
    }

    /// Arrival rate: the scheduled iterations the instances start are disjoint and cover the
    /// schedule; an instance with no VU of the whole gets no iteration either.
    #[test]
    fn arrival_iterations_are_owned_once() {
        let stages = vec![(Duration::from_secs(3), 7.0, 7.0)];
        let total = total_arrivals(&stages);
        for seq in sequences() {
            let mut seen = vec![0u32; total as usize];
            for t in instances(&seq) {
                let exec = ExecSpec::ArrivalRate {
                    stages: stages.clone(),
                    pre_allocated: 1,
                    max_vus: 3,
                };
                let Some((_, share)) = partition(&exec, &t) else {
                    continue;
                };
                let stripes = share.iters.stripes();
                for k in 0..share.iters.scale(total as i64) as u64 {
                    seen[stripes.global(k) as usize] += 1;
                }
            }
            assert!(seen.iter().all(|c| *c == 1), "{seq}: {seen:?}");
        }
    }

    #[test]
    fn one_vu_split_three_ways_runs_on_one_instance() {
        let exec = ExecSpec::ConstantVus {
            vus: 1,
            duration: Duration::from_secs(1),
        };
        let working = instances("0,1/3,2/3,1")
            .iter()
            .filter(|t| partition(&exec, t).is_some())
            .count();
        assert_eq!(working, 1);
    }
}
