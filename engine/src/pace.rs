//! Backoff for VUs whose iterations finish at once without reaching a server: every request
//! refused or out of file descriptors, or steps that do nothing. Such a VU would otherwise loop
//! as fast as the CPU allows, flooding the outputs with samples that say nothing new (one run
//! wrote 65 GB of `-o json`). After a streak of such iterations the VU waits between them,
//! doubling up to [`MAX_BACKOFF`]; one that reaches a server or sleeps runs at full speed again.
//! The run says so once, not once per request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::http::HttpError;

/// Iterations a VU runs at full speed before backing off: a short burst of refused
/// connections (a server restarting) is measured as it happens.
pub const FREE_STREAK: u32 = 3;
/// The longest wait between two iterations of a backing-off VU: a VU that cannot reach its
/// server still tries every second, so the run sees the server come back.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Doubled up to [`MAX_BACKOFF`]: four waits (1.5 s) get there, so a dead target costs each VU
/// `FREE_STREAK + 4` iterations, then one a second (1,000 VUs write about 4 MB/s of `-o json`).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// An iteration slower than this is not spinning, whatever it did (a dial timeout).
const AT_ONCE: Duration = Duration::from_secs(1);

/// Run-wide: how many requests failed at once, and whether the user was told.
#[derive(Debug, Default)]
pub struct FailingAtOnce {
    requests: AtomicU64,
    warned_requests: AtomicBool,
    warned_empty: AtomicBool,
}

impl FailingAtOnce {
    /// Requests that failed without exchanging a byte so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// One VU's view of its recent iterations.
#[derive(Debug, Default)]
pub struct Pace {
    requests: u32,
    /// A request exchanged bytes or a think time ran: the iteration did not spin.
    waited: bool,
    /// The last request failure that exchanged no byte: k6 error code and text.
    error: Option<(u32, String)>,
    started: Option<Instant>,
    streak: u32,
}

impl Pace {
    pub fn start_iteration(&mut self) {
        self.requests = 0;
        self.waited = false;
        self.started = Some(Instant::now());
    }

    /// A request ended; `failed_at_once` is its error when no byte was exchanged.
    pub fn request(&mut self, failed_at_once: Option<&HttpError>, run: &FailingAtOnce) {
        self.requests += 1;
        match failed_at_once {
            Some(e) => {
                run.requests.fetch_add(1, Ordering::Relaxed);
                // Kept once per distinct code: the message is for the one warning.
                if self.error.as_ref().map(|(c, _)| *c) != Some(e.code) {
                    self.error = Some((e.code, e.message.clone()));
                }
            }
            None => self.waited = true,
        }
    }

    /// A think time of `d` ran.
    pub fn slept(&mut self, d: Duration) {
        if !d.is_zero() {
            self.waited = true;
        }
    }

    /// The wait before the next iteration, warning the run once when a VU starts backing off.
    pub fn after_iteration(&mut self, run: &FailingAtOnce) -> Duration {
        // `waited` first: it settles nearly every iteration without reading the clock.
        if self.waited || !matches!(self.started, Some(s) if s.elapsed() < AT_ONCE) {
            self.streak = 0;
            return Duration::ZERO;
        }
        self.streak = self.streak.saturating_add(1);
        if self.streak <= FREE_STREAK {
            return Duration::ZERO;
        }
        self.warn_once(run);
        let doublings = (self.streak - FREE_STREAK - 1).min(16);
        (FIRST_BACKOFF * (1u32 << doublings)).min(MAX_BACKOFF)
    }

    fn warn_once(&self, run: &FailingAtOnce) {
        match (&self.error, self.requests) {
            (Some((code, message)), n) if n > 0 => {
                if !run.warned_requests.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "every request is failing at once: {} × error_code {code} so far ({message}); backing off (up to {}s between iterations)",
                        run.requests(),
                        MAX_BACKOFF.as_secs()
                    );
                }
            }
            _ => {
                if !run.warned_empty.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "iterations finish at once without sending a request or sleeping; backing off (up to {}s between iterations)",
                        MAX_BACKOFF.as_secs()
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> HttpError {
        HttpError {
            code: 1212,
            message: "dial tcp 127.0.0.1:1: connect: connection refused".into(),
        }
    }

    fn iteration(p: &mut Pace, run: &FailingAtOnce, ok: bool) -> Duration {
        p.start_iteration();
        let e = refused();
        p.request((!ok).then_some(&e), run);
        p.after_iteration(run)
    }

    #[test]
    fn a_streak_of_instant_failures_backs_off_doubling_to_the_cap() {
        let run = FailingAtOnce::default();
        let mut p = Pace::default();
        for _ in 0..FREE_STREAK {
            assert_eq!(iteration(&mut p, &run, false), Duration::ZERO);
        }
        assert_eq!(iteration(&mut p, &run, false), Duration::from_millis(100));
        assert_eq!(iteration(&mut p, &run, false), Duration::from_millis(200));
        let mut last = Duration::ZERO;
        for _ in 0..40 {
            last = iteration(&mut p, &run, false);
        }
        assert_eq!(last, MAX_BACKOFF);
        assert_eq!(run.requests(), u64::from(FREE_STREAK) + 42);
        assert!(run.warned_requests.load(Ordering::Relaxed));
        // One answered request and the VU runs at full speed again.
        assert_eq!(iteration(&mut p, &run, true), Duration::ZERO);
        assert_eq!(iteration(&mut p, &run, false), Duration::ZERO);
    }

    #[test]
    fn iterations_that_sleep_never_back_off_but_empty_ones_do() {
        let run = FailingAtOnce::default();
        let mut p = Pace::default();
        for _ in 0..100 {
            p.start_iteration();
            p.slept(Duration::from_millis(1));
            assert_eq!(p.after_iteration(&run), Duration::ZERO);
        }
        let mut last = Duration::ZERO;
        for _ in 0..100 {
            p.start_iteration();
            p.slept(Duration::ZERO);
            last = p.after_iteration(&run);
        }
        assert_eq!(last, MAX_BACKOFF);
        assert!(run.warned_empty.load(Ordering::Relaxed));
        assert!(!run.warned_requests.load(Ordering::Relaxed));
    }
}
