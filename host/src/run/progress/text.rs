//! What the progress says, as pure functions of the counters: each scenario's bar (how full,
//! its status mark and the text on its right, as k6 words them per executor) and the total line.

use std::time::Duration;

use loadrun_engine::compile::{ExecSpec, ScenarioRt};
use loadrun_engine::progress::{Phase, ProgressSnapshot};
use loadrun_engine::util::format_duration;

/// What a scenario was planned to do, as far as its bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    ConstantVus {
        vus: u64,
        duration: Duration,
    },
    RampingVus {
        max_vus: u64,
        duration: Duration,
    },
    SharedIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
    PerVuIterations {
        vus: u64,
        per_vu: u64,
        max_duration: Duration,
    },
    ArrivalRate {
        max_vus: u64,
        /// (duration, rate/s at start, rate/s at end), already this instance's share.
        stages: Vec<(Duration, f64, f64)>,
    },
}

impl Planned {
    pub fn of(scn: &ScenarioRt) -> Self {
        match &scn.exec {
            ExecSpec::ConstantVus { vus, duration } => Self::ConstantVus {
                vus: *vus,
                duration: *duration,
            },
            ExecSpec::RampingVus { .. } => Self::RampingVus {
                max_vus: scn.max_vus(),
                duration: scn.exec.duration(),
            },
            ExecSpec::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => Self::SharedIterations {
                vus: *vus,
                iterations: *iterations,
                max_duration: *max_duration,
            },
            ExecSpec::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => Self::PerVuIterations {
                vus: *vus,
                per_vu: *iterations,
                max_duration: *max_duration,
            },
            ExecSpec::ArrivalRate {
                stages, max_vus, ..
            } => {
                // The schedule is the whole test's; this instance starts its share of it.
                let share = scn.share.iters.segment().length().to_f64();
                Self::ArrivalRate {
                    max_vus: *max_vus,
                    stages: stages
                        .iter()
                        .map(|(d, r0, r1)| (*d, r0 * share, r1 * share))
                        .collect(),
                }
            }
        }
    }

    /// The scenario's own planned duration (no `startTime`, no `gracefulStop`).
    pub fn duration(&self) -> Duration {
        match self {
            Self::ConstantVus { duration, .. } | Self::RampingVus { duration, .. } => *duration,
            Self::SharedIterations { max_duration, .. }
            | Self::PerVuIterations { max_duration, .. } => *max_duration,
            Self::ArrivalRate { stages, .. } => stages.iter().map(|s| s.0).sum(),
        }
    }

    /// Whether the scenario's work is a duration (rather than a number of iterations).
    fn by_time(&self) -> bool {
        matches!(
            self,
            Self::ConstantVus { .. } | Self::RampingVus { .. } | Self::ArrivalRate { .. }
        )
    }

    fn max_vus(&self) -> u64 {
        match self {
            Self::ConstantVus { vus, .. }
            | Self::SharedIterations { vus, .. }
            | Self::PerVuIterations { vus, .. } => *vus,
            Self::RampingVus { max_vus, .. } | Self::ArrivalRate { max_vus, .. } => *max_vus,
        }
    }
}

/// The mark between a scenario's name and its bar, as k6 draws them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Waiting for its start time, or running.
    None,
    /// Past its duration, running iterations finishing within `gracefulStop`.
    Stopping,
    /// Ended with all its work done.
    Done,
    /// Ended short of its work (stopped early, or iterations left at `maxDuration`).
    Short,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::None => " ",
            Self::Stopping => "↓",
            Self::Done => "✓",
            Self::Short => "✗",
        }
    }
}

/// One scenario's bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// How full, 0 to 1.
    pub fraction: f64,
    pub mark: Mark,
    /// The text right of the bar, e.g. `05/10 VUs  04.2s/10s`.
    pub right: String,
}

/// The bar of a scenario with `planned` work and `now` counters; `until_start` is how long a
/// waiting scenario has left before its start time.
pub fn bar(planned: &Planned, now: &ProgressSnapshot, until_start: Duration) -> Bar {
    let duration = planned.duration();
    let mut now = *now;
    // A scenario by time that ended without being stopped ran its whole schedule, even when
    // its last iterations ended a moment before the schedule's end (arrival-rate).
    if planned.by_time() && now.phase == Phase::Done && !now.stopped_early {
        now.elapsed = now.elapsed.max(duration);
    }
    let by_time = if duration.is_zero() {
        1.0
    } else {
        (now.elapsed.as_secs_f64() / duration.as_secs_f64()).min(1.0)
    };
    let vus_width = digits(planned.max_vus());
    let vus = |n: u64| format!("{n:0vus_width$}");
    let clock = clock(now.elapsed, duration);
    let (fraction, right) = match planned {
        Planned::ConstantVus { vus: total, .. } => (
            by_time,
            format!("{}/{} VUs  {clock}", vus(now.vus), vus(*total)),
        ),
        Planned::RampingVus { max_vus, .. } => (
            by_time,
            format!("{}/{} VUs  {clock}", vus(now.vus), vus(*max_vus)),
        ),
        Planned::SharedIterations {
            vus: total,
            iterations,
            ..
        } => {
            let w = digits(*iterations);
            (
                share_of(now.iterations, *iterations),
                format!(
                    "{}/{} VUs  {clock}  {:0w$}/{iterations} shared iters",
                    vus(now.vus),
                    vus(*total),
                    now.iterations
                ),
            )
        }
        Planned::PerVuIterations {
            vus: total, per_vu, ..
        } => {
            let all = total.saturating_mul(*per_vu);
            let w = digits(all);
            (
                share_of(now.iterations, all),
                format!(
                    "{}/{} VUs  {clock}  {:0w$}/{all} iters, {per_vu} per VU",
                    vus(now.vus),
                    vus(*total),
                    now.iterations
                ),
            )
        }
        Planned::ArrivalRate { stages, .. } => {
            let peak = stages.iter().map(|s| s.1.max(s.2)).fold(0.0, f64::max);
            // Wide enough for the peak rate, so the text does not shift as the rate ramps.
            let w = digits(peak as u64) + 3;
            (
                by_time,
                format!(
                    "{}/{} VUs  {clock}  {:0w$.2} iters/s",
                    vus(now.busy),
                    vus(now.allocated),
                    rate_at(stages, now.elapsed)
                ),
            )
        }
    };
    match now.phase {
        Phase::Waiting => Bar {
            fraction: 0.0,
            mark: Mark::None,
            right: format!("waiting, starts in {}", short_duration(until_start)),
        },
        Phase::Running => Bar {
            fraction,
            mark: Mark::None,
            right,
        },
        Phase::Stopping => Bar {
            fraction,
            mark: Mark::Stopping,
            right,
        },
        Phase::Done => Bar {
            fraction,
            mark: if fraction >= 1.0 {
                Mark::Done
            } else {
                Mark::Short
            },
            right,
        },
    }
}

fn share_of(done: u64, of: u64) -> f64 {
    if of == 0 {
        1.0
    } else {
        (done as f64 / of as f64).min(1.0)
    }
}

/// The arrival rate at `t` into the schedule (linear within a stage), 0 after it.
fn rate_at(stages: &[(Duration, f64, f64)], t: Duration) -> f64 {
    let mut at = Duration::ZERO;
    for (d, r0, r1) in stages {
        if t < at + *d {
            let frac = (t - at).as_secs_f64() / d.as_secs_f64();
            return r0 + (r1 - r0) * frac;
        }
        at += *d;
    }
    stages.last().map(|s| s.2).unwrap_or(0.0)
}

fn digits(n: u64) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// `04.2s/10s` while running; the planned duration alone once it has passed, as k6 shows it.
fn clock(elapsed: Duration, planned: Duration) -> String {
    if elapsed >= planned {
        format_duration(planned)
    } else {
        format!(
            "{}/{}",
            fixed_duration(elapsed, planned),
            format_duration(planned)
        )
    }
}

/// `d` to a tenth of a second, as wide as `max` needs (k6's fixed-length durations), so the
/// text does not jump as the seconds pass: `04.2s` of 10s, `0m04.2s` of 1m, `0h00m04.2s` of 1h.
pub fn fixed_duration(d: Duration, max: Duration) -> String {
    let tenths = d.as_millis() / 100;
    let secs = (tenths % 600) as f64 / 10.0;
    let mins = (tenths / 600) % 60;
    let hours = tenths / 36_000;
    if max >= Duration::from_secs(3600) {
        format!("{hours}h{mins:02}m{secs:04.1}s")
    } else if max >= Duration::from_secs(60) {
        format!("{}m{secs:04.1}s", tenths / 600)
    } else {
        format!("{:04.1}s", tenths as f64 / 10.0)
    }
}

fn short_duration(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// What the total line counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub elapsed: Duration,
    /// The longest the run can take (for the width of the clock).
    pub planned: Duration,
    pub vus: u64,
    pub max_vus: u64,
    pub iterations: u64,
    pub interrupted: u64,
    pub requests: u64,
    pub requests_per_second: f64,
}

/// `running (0m04.2s), 10/10 VUs, 37 complete and 0 interrupted iterations, 370 requests, 88 req/s`.
pub fn total_line(t: &Totals) -> String {
    let w = digits(t.max_vus);
    format!(
        "running ({}), {:0w$}/{} VUs, {} complete and {} interrupted iterations, {} requests, {:.0} req/s",
        fixed_duration(t.elapsed, t.planned),
        t.vus,
        t.max_vus,
        t.iterations,
        t.interrupted,
        t.requests,
        t.requests_per_second
    )
}

/// The last line, once the run is over.
pub fn done_line(total: Duration, iterations: u64, interrupted: u64, requests: u64) -> String {
    format!(
        "done ({:.1}s), {iterations} complete and {interrupted} interrupted iterations, {requests} requests, {:.0} req/s on average",
        total.as_secs_f64(),
        requests as f64 / total.as_secs_f64().max(1e-3)
    )
}

/// A bar as a plain line, for a pipe or a file: `default ✓ [ 100% ] 10/10 VUs  10s`.
pub fn plain_bar_line(name: &str, name_width: usize, bar: &Bar) -> String {
    format!(
        "{name:<name_width$} {} [{:>4.0}% ] {}",
        bar.mark.symbol(),
        (bar.fraction * 100.0).floor(),
        bar.right
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(phase: Phase, elapsed_ms: u64) -> ProgressSnapshot {
        ProgressSnapshot {
            phase,
            elapsed: Duration::from_millis(elapsed_ms),
            vus: 0,
            allocated: 0,
            busy: 0,
            iterations: 0,
            interrupted: 0,
            dropped: 0,
            stopped_early: false,
        }
    }

    const S10: Duration = Duration::from_secs(10);

    #[test]
    fn constant_vus_counts_time_against_its_own_duration() {
        let p = Planned::ConstantVus {
            vus: 10,
            duration: S10,
        };
        let mut now = snap(Phase::Running, 4_200);
        now.vus = 10;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!(b.right, "10/10 VUs  04.2s/10s");
        assert!((b.fraction - 0.42).abs() < 1e-9, "{b:?}");
        assert_eq!(b.mark, Mark::None);
        // In gracefulStop the bar is full (the old line showed 25% at the end of a 10 s test
        // with the default 30 s gracefulStop).
        now.phase = Phase::Stopping;
        now.elapsed = Duration::from_millis(10_300);
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!((b.fraction, b.mark), (1.0, Mark::Stopping));
        assert_eq!(b.right, "10/10 VUs  10s");
        now.phase = Phase::Done;
        now.vus = 0;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!((b.fraction, b.mark), (1.0, Mark::Done));
        assert_eq!(b.right, "00/10 VUs  10s");
    }

    #[test]
    fn a_scenario_stopped_early_ends_short() {
        let p = Planned::ConstantVus {
            vus: 2,
            duration: S10,
        };
        let mut now = snap(Phase::Done, 2_500);
        now.stopped_early = true;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!(b.mark, Mark::Short);
        assert!((b.fraction - 0.25).abs() < 1e-9, "{b:?}");
        assert_eq!(b.right, "0/2 VUs  02.5s/10s");
    }

    #[test]
    fn an_arrival_rate_scenario_that_ran_its_schedule_ends_full() {
        // Its last iteration ended before the schedule's end.
        let p = Planned::ArrivalRate {
            max_vus: 10,
            stages: vec![(S10, 100.0, 100.0)],
        };
        let b = bar(&p, &snap(Phase::Done, 9_990), Duration::ZERO);
        assert_eq!((b.fraction, b.mark), (1.0, Mark::Done));
        assert_eq!(b.right, "00/00 VUs  10s  100.00 iters/s");
    }

    #[test]
    fn ramping_vus_shows_vus_in_use_of_its_peak() {
        let p = Planned::RampingVus {
            max_vus: 100,
            duration: Duration::from_secs(90),
        };
        let mut now = snap(Phase::Running, 65_000);
        now.vus = 7;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!(b.right, "007/100 VUs  1m05.0s/1m30s");
    }

    #[test]
    fn shared_iterations_count_iterations_not_time() {
        let p = Planned::SharedIterations {
            vus: 4,
            iterations: 200,
            max_duration: Duration::from_secs(600),
        };
        let mut now = snap(Phase::Running, 1_000);
        now.vus = 4;
        now.iterations = 50;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!(b.right, "4/4 VUs  0m01.0s/10m  050/200 shared iters");
        assert!((b.fraction - 0.25).abs() < 1e-9);
        now.iterations = 200;
        now.phase = Phase::Done;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!((b.fraction, b.mark), (1.0, Mark::Done));
    }

    #[test]
    fn per_vu_iterations_count_all_vus_iterations() {
        let p = Planned::PerVuIterations {
            vus: 2,
            per_vu: 5,
            max_duration: S10,
        };
        let mut now = snap(Phase::Done, 10_000);
        now.iterations = 7;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!(b.right, "0/2 VUs  10s  07/10 iters, 5 per VU");
        // maxDuration cut it short.
        assert_eq!(b.mark, Mark::Short);
        assert!((b.fraction - 0.7).abs() < 1e-9);
    }

    #[test]
    fn arrival_rate_shows_busy_of_allocated_vus_and_the_rate_now() {
        let p = Planned::ArrivalRate {
            max_vus: 50,
            stages: vec![(S10, 0.0, 100.0), (S10, 100.0, 100.0)],
        };
        let mut now = snap(Phase::Running, 5_000);
        now.busy = 3;
        now.allocated = 12;
        let b = bar(&p, &now, Duration::ZERO);
        assert_eq!(b.right, "03/12 VUs  05.0s/20s  050.00 iters/s");
        assert!((b.fraction - 0.25).abs() < 1e-9);
        now.elapsed = Duration::from_secs(15);
        assert!(bar(&p, &now, Duration::ZERO)
            .right
            .ends_with("100.00 iters/s"));
    }

    #[test]
    fn a_waiting_scenario_says_when_it_starts() {
        let p = Planned::ConstantVus {
            vus: 1,
            duration: S10,
        };
        let b = bar(&p, &snap(Phase::Waiting, 0), Duration::from_millis(2_500));
        assert_eq!(b.right, "waiting, starts in 2.5s");
        assert_eq!((b.fraction, b.mark), (0.0, Mark::None));
    }

    #[test]
    fn clocks_keep_their_width() {
        assert_eq!(fixed_duration(Duration::from_millis(4_260), S10), "04.2s");
        assert_eq!(
            fixed_duration(Duration::from_millis(61_000), Duration::from_secs(120)),
            "1m01.0s"
        );
        assert_eq!(
            fixed_duration(Duration::from_secs(3_725), Duration::from_secs(7_200)),
            "1h02m05.0s"
        );
    }

    #[test]
    fn total_and_plain_lines() {
        let t = Totals {
            elapsed: Duration::from_millis(4_200),
            planned: Duration::from_secs(40),
            vus: 9,
            max_vus: 10,
            iterations: 37,
            interrupted: 1,
            requests: 370,
            requests_per_second: 88.4,
        };
        assert_eq!(
            total_line(&t),
            "running (04.2s), 09/10 VUs, 37 complete and 1 interrupted iterations, 370 requests, 88 req/s"
        );
        let b = Bar {
            fraction: 0.999,
            mark: Mark::Stopping,
            right: "x".into(),
        };
        assert_eq!(plain_bar_line("default", 9, &b), "default   ↓ [  99% ] x");
    }
}
