//! Each executor's share of the test for one execution segment, as k6 computes it
//! (`lib/executor/*.go`, `GetVUs`/`GetIterations`/`GetMaxVUs` with the instance's tuple).

use crate::compile::ExecSpec;
use crate::segment::ExecutionTuple;

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
