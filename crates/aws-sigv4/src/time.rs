//! UTC calendar formatting for SigV4 dates and AWS timestamps, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant with one-second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcTime {
    secs: i64,
}

impl UtcTime {
    pub fn from_unix_secs(secs: i64) -> Self {
        Self { secs }
    }

    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Self { secs }
    }

    pub fn unix_secs(self) -> i64 {
        self.secs
    }

    fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let rem = u32::try_from(rem).unwrap_or(0);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// `20150830T123600Z`, SigV4's `X-Amz-Date`.
    pub fn amz_date(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }

    /// `2015-08-30T12:36:00Z`, ISO 8601 as the Query API takes timestamps.
    pub fn iso8601(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(UtcTime::from_unix_secs(0).iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(
            UtcTime::from_unix_secs(1_700_000_000).iso8601(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            UtcTime::from_unix_secs(951_782_400).iso8601(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            UtcTime::from_unix_secs(1_440_938_160).amz_date(),
            "20150830T123600Z"
        );
        assert_eq!(
            UtcTime::from_unix_secs(-1).iso8601(),
            "1969-12-31T23:59:59Z"
        );
    }
}
