//! `--start-at TIME`: every instance of a distributed test loads its plan, plugins and outputs,
//! then waits for one shared instant, so their schedules line up. One that is already late by
//! more than the tolerance refuses to run (exit [`crate::exit::START_MISSED`]): its share run
//! shifted would not add up with the others'.

use std::time::Duration;

use loadrun_metrics::now_ns;

/// How late an instance may start and still run (`--start-at-tolerance`).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(1);

/// Longest sleep between looks at Ctrl-C.
const SLICE: Duration = Duration::from_millis(50);

/// The instant as unix nanoseconds, from RFC 3339 (`2026-12-07T16:30:00Z`,
/// `2026-12-07T17:30:00.5+01:00`) or unix milliseconds (`1796747400000`).
pub fn parse(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "--start-at {text:?}: expected an RFC 3339 time (2026-12-07T16:30:00Z) or unix milliseconds"
        )
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .ok_or_else(bad);
    }
    let ns = file_sink::time::parse_rfc3339(t).ok_or_else(bad)?;
    // parse_rfc3339 reads the digits where they stand; out-of-range fields are refused here.
    let field = |r: std::ops::Range<usize>, max: u32| {
        t.get(r)
            .and_then(|s| s.parse::<u32>().ok())
            .is_some_and(|v| v <= max)
    };
    let in_range = field(5..7, 12)
        && field(8..10, 31)
        && field(11..13, 23)
        && field(14..16, 59)
        && field(17..19, 60);
    if !in_range || t.get(5..7) == Some("00") || t.get(8..10) == Some("00") {
        return Err(bad());
    }
    Ok(ns)
}

/// How the wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    /// The instant came (or had just passed, within the tolerance).
    Started,
    /// Already later than the tolerance when the wait began, by this much.
    Late(Duration),
    /// Ctrl-C while waiting.
    Interrupted,
}

/// Waits until `at_ns` (unix ns), unless already late by more than `tolerance`.
pub fn wait(at_ns: i64, tolerance: Duration, interrupted: impl Fn() -> bool) -> Waited {
    let late_by = now_ns().saturating_sub(at_ns);
    if late_by > 0 && Duration::from_nanos(late_by.unsigned_abs()) > tolerance {
        return Waited::Late(Duration::from_nanos(late_by.unsigned_abs()));
    }
    loop {
        if interrupted() {
            return Waited::Interrupted;
        }
        let left = at_ns.saturating_sub(now_ns());
        if left <= 0 {
            return Waited::Started;
        }
        std::thread::sleep(Duration::from_nanos(left.unsigned_abs()).min(SLICE));
    }
}

/// `2026-12-07T16:30:00.25Z`, for messages.
pub fn show(ns: i64) -> String {
    let mut out = Vec::new();
    file_sink::time::Rfc3339::new().write(&mut out, ns, true);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_unix_ms() {
        assert_eq!(parse("1796747400000"), Ok(1_796_747_400_000_000_000));
        assert_eq!(parse("1970-01-01T00:00:01.5Z"), Ok(1_500_000_000));
        assert_eq!(parse("1970-01-01T01:00:01+01:00"), Ok(1_000_000_000));
        for bad in [
            "",
            "soon",
            "1970-13-01T00:00:00Z",
            "1970-01-01T25:00:00Z",
            "1970-01-00T00:00:00Z",
            "99999999999999999999",
            "1970-01-01T00:00:00",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with("--start-at"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_late_start_is_refused_and_a_near_one_waits() {
        let past = now_ns() - 5_000_000_000;
        let got = wait(past, Duration::from_secs(1), || false);
        assert!(
            matches!(got, Waited::Late(d) if d >= Duration::from_secs(5)),
            "{got:?}"
        );
        assert_eq!(
            wait(now_ns() - 1_000, Duration::from_secs(1), || false),
            Waited::Started
        );
        let at = now_ns() + 100_000_000;
        assert_eq!(wait(at, Duration::ZERO, || false), Waited::Started);
        assert!(now_ns() >= at);
        assert_eq!(
            wait(now_ns() + 60_000_000_000, Duration::ZERO, || true),
            Waited::Interrupted
        );
    }
}
