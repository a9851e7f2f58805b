//! Unix timestamps for samples from the monotonic reads the request path takes anyway.
//!
//! A request's end is read as an `Instant` (for its timing phases); its samples are stamped with
//! the Unix time of that same moment. Reading the wall clock again for every sample would cost
//! a clock read per request; instead each VU keeps one pair of readings (monotonic, wall) and
//! stamps by offset from it, reading the wall clock again once the pair is [`RESYNC`] old, so a
//! step of the system clock shows in the stamps within that time, as it would in k6's.

use std::time::{Duration, Instant};

/// How long one (monotonic, wall) pair is used before both are read again.
pub const RESYNC: Duration = Duration::from_secs(1);

/// One VU's converter from `Instant` to Unix nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    mono: Instant,
    unix_ns: i64,
}

impl Default for WallClock {
    fn default() -> Self {
        Self::now()
    }
}

impl WallClock {
    fn now() -> Self {
        Self {
            mono: Instant::now(),
            unix_ns: loadrun_metrics::now_ns(),
        }
    }

    /// The Unix time, in nanoseconds, of `at`.
    pub fn unix_ns(&mut self, at: Instant) -> i64 {
        // One subtraction in the common case (an instant a little after the pair was read).
        match at.checked_duration_since(self.mono) {
            Some(after) if after < RESYNC => self.unix_ns.saturating_add(nanos(after)),
            Some(_) => {
                *self = Self::now();
                self.offset(at)
            }
            None => self.offset(at),
        }
    }

    fn offset(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.mono) {
            Some(after) => self.unix_ns.saturating_add(nanos(after)),
            None => self
                .unix_ns
                .saturating_sub(nanos(self.mono.saturating_duration_since(at))),
        }
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_follow_the_instants_they_are_taken_from() {
        let mut clock = WallClock::default();
        let a = Instant::now();
        let b = a + Duration::from_micros(1500);
        let (sa, sb) = (clock.unix_ns(a), clock.unix_ns(b));
        assert_eq!(sb - sa, 1_500_000);
        // An instant from before the pair was read is stamped before it too.
        let before = clock.mono - Duration::from_millis(3);
        assert_eq!(clock.unix_ns(before), clock.unix_ns - 3_000_000);
    }

    #[test]
    fn stamps_are_within_a_clock_read_of_the_wall_clock() {
        let mut clock = WallClock::default();
        let lo = loadrun_metrics::now_ns();
        let stamp = clock.unix_ns(Instant::now());
        let hi = loadrun_metrics::now_ns();
        // Not a timing assertion: the stamp of a moment between two wall-clock reads lies
        // between them, give or take the 1 ms steps a wall clock may be adjusted by meanwhile.
        assert!(
            stamp >= lo - 1_000_000 && stamp <= hi + 1_000_000,
            "{lo} {stamp} {hi}"
        );
    }

    #[test]
    fn an_old_pair_is_read_again() {
        let mut clock = WallClock::default();
        let old = clock.mono;
        let later = old + RESYNC + Duration::from_millis(1);
        clock.unix_ns(later);
        assert!(clock.mono > old);
    }
}
