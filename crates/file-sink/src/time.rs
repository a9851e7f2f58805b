//! RFC 3339 timestamps from unix nanoseconds, in UTC, and whole unix seconds.
//!
//! k6 writes its times in the machine's local zone; we always write UTC (`Z`) so a file reads
//! the same wherever it was produced. Samples arrive in bursts within one second, so the
//! `YYYY-MM-DDTHH:MM:SS` part is cached and only the fraction is formatted per sample.

const NS_PER_SEC: i64 = 1_000_000_000;

/// One second's text, kept while samples stay in that second: samples arrive in time order
/// within a batch, so the text is formatted about once per second of the run.
#[derive(Debug, Clone)]
struct SecondCache {
    /// Where that second starts, in unix ns: a sample of the same second is `time_ns - start`
    /// in `0..1e9` away, found without a division. Meaningless unless `cached`.
    start: i64,
    /// False before the first write, and for the second at i64's lower end, whose start is not
    /// an i64.
    cached: bool,
    text: [u8; 32],
    len: usize,
}

impl SecondCache {
    const fn new() -> Self {
        Self {
            start: 0,
            cached: false,
            text: [0; 32],
            len: 0,
        }
    }

    /// The nanoseconds into `time_ns`'s second, after formatting that second with `format`
    /// (given the unix second) unless it is the one cached.
    #[inline]
    fn frac(&mut self, time_ns: i64, format: fn(&mut Vec<u8>, i64)) -> i64 {
        match time_ns.checked_sub(self.start) {
            Some(frac) if self.cached && (0..NS_PER_SEC).contains(&frac) => frac,
            _ => self.set_second(time_ns, format),
        }
    }

    /// Appends the cached text; a `usual` length is copied as a constant-size block.
    #[inline]
    fn append<const USUAL: usize>(&self, out: &mut Vec<u8>) {
        if self.len == USUAL {
            out.extend_from_slice(&self.text[..USUAL]);
        } else {
            out.extend_from_slice(&self.text[..self.len]);
        }
    }

    #[cold]
    fn set_second(&mut self, time_ns: i64, format: fn(&mut Vec<u8>, i64)) -> i64 {
        let frac = time_ns.rem_euclid(NS_PER_SEC);
        let start = time_ns.checked_sub(frac);
        self.cached = start.is_some();
        self.start = start.unwrap_or(0);
        let mut text = Vec::with_capacity(32);
        format(&mut text, time_ns.div_euclid(NS_PER_SEC));
        self.len = text.len().min(self.text.len());
        self.text[..self.len].copy_from_slice(&text[..self.len]);
        frac
    }
}

/// The date and time of day, to the second, of the last second formatted.
#[derive(Debug, Clone)]
pub struct Rfc3339 {
    /// `YYYY-MM-DDTHH:MM:SS`: 19 bytes but for years outside 0..=9999.
    second: SecondCache,
}

impl Default for Rfc3339 {
    fn default() -> Self {
        Self::new()
    }
}

impl Rfc3339 {
    pub const fn new() -> Self {
        Self {
            second: SecondCache::new(),
        }
    }

    /// Appends `2026-11-25T12:03:27Z` (`nanos == false`, whole seconds as Go's `time.RFC3339`)
    /// or `2026-11-25T12:03:27.55398078Z` (Go's `time.RFC3339Nano`: trailing zeros trimmed, no
    /// fraction at all on a whole second).
    #[inline]
    pub fn write(&mut self, out: &mut Vec<u8>, time_ns: i64, nanos: bool) {
        let frac = self.second.frac(time_ns, format_second);
        self.second.append::<19>(out);
        if nanos && frac != 0 {
            write_fraction(out, frac as u32);
        }
        out.push(b'Z');
    }
}

/// Whole unix seconds as decimal text (the csv output's `unix` time format), formatted once
/// per second.
#[derive(Debug, Clone)]
pub struct UnixSeconds {
    second: SecondCache,
}

impl Default for UnixSeconds {
    fn default() -> Self {
        Self::new()
    }
}

impl UnixSeconds {
    pub const fn new() -> Self {
        Self {
            second: SecondCache::new(),
        }
    }

    /// Appends `time_ns`'s second, floored (`-1` for the last second before 1970).
    #[inline]
    pub fn write(&mut self, out: &mut Vec<u8>, time_ns: i64) {
        self.second.frac(time_ns, |out, second| {
            out.extend_from_slice(itoa::Buffer::new().format(second).as_bytes());
        });
        // Ten digits from 2001 to 2286.
        self.second.append::<10>(out);
    }
}

/// Appends `.` and the nine-digit fraction with trailing zeros removed (`frac` is not 0), two
/// digits at a time into one stack buffer, copied whole and then cut: this runs once per sample.
#[inline]
fn write_fraction(out: &mut Vec<u8>, frac: u32) {
    use crate::digits::pair;
    let mut text = [b'.'; 10];
    let (high, low) = (frac / 100_000_000, frac % 100_000_000);
    text[1] = b'0' + high as u8;
    let (a, b) = (low / 10_000, low % 10_000);
    text[2..4].copy_from_slice(pair(a / 100));
    text[4..6].copy_from_slice(pair(a % 100));
    text[6..8].copy_from_slice(pair(b / 100));
    text[8..10].copy_from_slice(pair(b % 100));
    let mut len = text.len();
    if frac.is_multiple_of(10) {
        while text[len - 1] == b'0' {
            len -= 1;
        }
    }
    out.extend_from_slice(&text);
    out.truncate(out.len() - (text.len() - len));
}

fn format_second(out: &mut Vec<u8>, second: i64) {
    let days = second.div_euclid(86_400);
    let of_day = second.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    push_year(out, y);
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
    out.push(b'T');
    push2(out, (of_day / 3600) as u32);
    out.push(b':');
    push2(out, (of_day / 60 % 60) as u32);
    out.push(b':');
    push2(out, (of_day % 60) as u32);
}

fn push_year(out: &mut Vec<u8>, y: i64) {
    if (0..=9999).contains(&y) {
        let y = y as u32;
        push2(out, y / 100);
        push2(out, y % 100);
    } else {
        // Outside RFC 3339's range; Go prints the number as is, so do we.
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(y).as_bytes());
    }
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ns: i64, nanos: bool) -> String {
        let mut c = Rfc3339::new();
        let mut out = Vec::new();
        c.write(&mut out, ns, nanos);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn matches_k6_fixture_times() {
        // k6-output.json: 2026-11-25T12:03:12.767829582Z
        let ns = 1_795_608_192_767_829_582;
        assert_eq!(fmt(ns, true), "2026-11-25T12:03:12.767829582Z");
        assert_eq!(fmt(ns, false), "2026-11-25T12:03:12Z");
        // trailing zeros trimmed, as Go's RFC3339Nano: 2026-11-25T12:03:27.55398078Z
        assert_eq!(
            fmt(1_795_608_207_553_980_780, true),
            "2026-11-25T12:03:27.55398078Z"
        );
        assert_eq!(fmt(1_795_608_207_000_000_000, true), "2026-11-25T12:03:27Z");
        assert_eq!(
            fmt(1_795_608_207_100_000_000, true),
            "2026-11-25T12:03:27.1Z"
        );
    }

    #[test]
    fn fractions_trimmed_as_go() {
        let mut frac = 1u32;
        while frac < 1_000_000_000 {
            for f in [frac, frac - 1, frac * 7 % 1_000_000_000] {
                if f == 0 {
                    continue;
                }
                let mut out = Vec::new();
                write_fraction(&mut out, f);
                let want = format!(".{f:09}");
                assert_eq!(
                    String::from_utf8(out).unwrap_or_default(),
                    want.trim_end_matches('0')
                );
            }
            frac = frac * 3 + 1;
        }
    }

    #[test]
    fn unix_seconds_floored_and_cached() {
        let mut c = UnixSeconds::new();
        let mut out = Vec::new();
        for ns in [
            1_795_608_192_767_829_582,
            1_795_608_192_999_999_999,
            1_795_608_193_000_000_000,
            -1,
            0,
            i64::MIN,
            5,
        ] {
            c.write(&mut out, ns);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "1795608192 1795608192 1795608193 -1 0 -9223372037 0 "
        );
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(fmt(0, true), "1970-01-01T00:00:00Z");
        assert_eq!(fmt(-1, true), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(fmt(951_782_400 * NS_PER_SEC, false), "2000-02-29T00:00:00Z");
        assert_eq!(
            fmt(4_107_542_399 * NS_PER_SEC, false),
            "2100-02-28T23:59:59Z"
        );
    }

    #[test]
    fn cache_follows_the_second() {
        let mut c = Rfc3339::new();
        let mut out = Vec::new();
        c.write(&mut out, 1_000_000_000, true);
        out.push(b' ');
        c.write(&mut out, 1_500_000_000, true);
        out.push(b' ');
        c.write(&mut out, 2_000_000_000, true);
        for ns in [1_999_999_999, -1, -1_000_000_000, i64::MIN, i64::MAX, 0] {
            out.push(b' ');
            c.write(&mut out, ns, true);
        }
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "1970-01-01T00:00:01Z 1970-01-01T00:00:01.5Z 1970-01-01T00:00:02Z \
             1970-01-01T00:00:01.999999999Z 1969-12-31T23:59:59.999999999Z 1969-12-31T23:59:59Z \
             1677-09-21T00:12:43.145224192Z 2262-04-11T23:47:16.854775807Z 1970-01-01T00:00:00Z"
        );
    }
}

/// Parses an RFC 3339 time (`Z` or `±hh:mm`, up to nine fraction digits) to unix nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = s.get(start..i)?;
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        frac = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 => {
            let sign = match tz.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            sign * (tz.get(1..3)?.parse::<i64>().ok()? * 3600
                + tz.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some(secs * NS_PER_SEC + frac)
}

/// (year, month, day) to days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parse_round_trips_format() {
        for ns in [0i64, 1_795_608_192_767_829_582, 951_782_400_000_000_001, -1] {
            let mut c = Rfc3339::new();
            let mut out = Vec::new();
            c.write(&mut out, ns, true);
            let text = String::from_utf8(out).unwrap_or_default();
            assert_eq!(parse_rfc3339(&text), Some(ns), "{text}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-25T13:03:12.5+01:00"),
            parse_rfc3339("2026-11-25T12:03:12.5Z")
        );
        assert_eq!(parse_rfc3339("2026-11-25 nope"), None);
    }
}
