//! k6's number formatting for the text summary (its `humanizeValue` and friends).
//!
//! k6 renders the summary in JavaScript, so these helpers follow JavaScript's `toFixed` (ties
//! away from zero) and `Number#toString` (shortest round-trip form) rather than Rust's defaults.

use loadrun_metrics::{MetricType, ValueKind};

/// JavaScript's `x.toFixed(prec)`: rounds half away from zero on the exact decimal value.
pub fn to_fixed(x: f64, prec: usize) -> String {
    if !x.is_finite() {
        return js_number(x);
    }
    // Rust rounds exact ties to even; ask for more digits and round the decimal string ourselves.
    let wide = format!("{:.*}", prec + 20, x.abs());
    let (int_part, frac_part) = wide.split_once('.').unwrap_or((wide.as_str(), ""));
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes().take(prec))
        .collect();
    let round_up = frac_part.as_bytes().get(prec).is_some_and(|d| *d >= b'5');
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let int_len = digits.len() - prec;
    let mut out = String::with_capacity(digits.len() + 2);
    let negative = x < 0.0 && digits.iter().any(|d| *d != b'0');
    if negative {
        out.push('-');
    }
    out.push_str(&String::from_utf8_lossy(&digits[..int_len]));
    if prec > 0 {
        out.push('.');
        out.push_str(&String::from_utf8_lossy(&digits[int_len..]));
    }
    out
}

/// JavaScript's `String(x)` for the numbers a summary shows.
pub fn js_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if x == 0.0 {
        "0".into()
    } else {
        format!("{x}")
    }
}

/// k6's `toFixedNoTrailingZeros(val, prec)`: `parseFloat(val.toFixed(prec)).toString()`.
pub fn fixed_no_trailing_zeros(x: f64, prec: usize) -> String {
    let fixed = to_fixed(x, prec);
    match fixed.parse::<f64>() {
        Ok(v) => js_number(v),
        Err(_) => fixed,
    }
}

/// k6's `toFixedNoTrailingZerosTrunc`: truncates (never rounds up) to `prec` decimals.
fn fixed_trunc(x: f64, prec: i32) -> String {
    let mult = 10f64.powi(prec);
    fixed_no_trailing_zeros((mult * x).trunc() / mult, prec as usize)
}

/// A duration given in milliseconds, as k6 shows it: `0s`, `950ns`, `442.73µs`, `3.85ms`,
/// `1.5s`, `2m3s`, `1h2m3s`. With a time unit (`s`, `ms`, `us`), always two decimals in it.
pub fn duration(ms: f64, time_unit: Option<&str>) -> String {
    match time_unit {
        Some("s") => return format!("{}s", to_fixed(ms * 0.001, 2)),
        Some("ms") => return format!("{}ms", to_fixed(ms, 2)),
        Some("us") => return format!("{}µs", to_fixed(ms * 1000.0, 2)),
        _ => {}
    }
    if ms == 0.0 {
        return "0s".into();
    }
    if ms < 0.001 {
        return format!("{}ns", js_number((ms * 1_000_000.0).trunc()));
    }
    if ms < 1.0 {
        return format!("{}µs", fixed_trunc(ms * 1000.0, 2));
    }
    if ms < 1000.0 {
        return format!("{}ms", fixed_trunc(ms, 2));
    }
    let seconds = format!(
        "{}s",
        fixed_trunc((ms % 60_000.0) / 1000.0, if ms > 60_000.0 { 0 } else { 2 })
    );
    let minutes = (ms / 60_000.0).trunc();
    if minutes < 1.0 {
        return seconds;
    }
    let with_minutes = format!("{}m{seconds}", js_number(minutes % 60.0));
    let hours = (minutes / 60.0).trunc();
    if hours < 1.0 {
        return with_minutes;
    }
    format!("{}h{with_minutes}", js_number(hours))
}

/// A byte count as k6 shows it: `596 B`, `2.9 kB`, `14 MB` (powers of 1000).
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    if b < 10.0 || !b.is_finite() {
        return format!("{} B", js_number(b));
    }
    let e = ((b.ln() / 1000f64.ln()).floor() as usize).min(UNITS.len() - 1);
    let val = ((b / 1000f64.powi(e as i32)) * 10.0 + 0.5).floor() / 10.0;
    format!(
        "{} {}",
        to_fixed(val, if val < 10.0 { 1 } else { 0 }),
        UNITS[e]
    )
}

/// A rate (0..1) as a percentage, truncated to two decimals: `99.99%`, never `100.00%` early.
pub fn percent(rate: f64) -> String {
    format!("{}%", to_fixed((rate * 100.0 * 100.0).trunc() / 100.0, 2))
}

/// k6's `humanizeValue`: a value of a metric of this type and kind.
pub fn value(
    v: f64,
    metric_type: MetricType,
    contains: ValueKind,
    time_unit: Option<&str>,
) -> String {
    if metric_type == MetricType::Rate {
        return percent(v);
    }
    match contains {
        ValueKind::Data => bytes(v),
        ValueKind::Time => duration(v, time_unit),
        ValueKind::Default => fixed_no_trailing_zeros(v, 6),
    }
}

/// Display width in a terminal (every char of ours is one column: `µ`, `✓`, `…`).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` with control characters written as escapes (`\n`, `\r`, `\t`, `\0`, `\u{1b}`), so a
/// name from a plan cannot start a forged summary line or send terminal escape sequences.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("status ✓ ok"), "status ✓ ok");
        assert_eq!(
            escape_controls("a\nb\r\t\0\u{1b}[31mred\u{7f}\u{9b}"),
            "a\\nb\\r\\t\\0\\u{1b}[31mred\\u{7f}\\u{9b}"
        );
    }

    #[test]
    fn to_fixed_rounds_ties_away_from_zero_like_javascript() {
        assert_eq!(to_fixed(294.5, 0), "295");
        assert_eq!(to_fixed(295.5, 0), "296");
        assert_eq!(to_fixed(2.9, 1), "2.9");
        assert_eq!(to_fixed(9.96, 1), "10.0");
        assert_eq!(to_fixed(0.0, 2), "0.00");
        assert_eq!(to_fixed(-1.005, 1), "-1.0");
        assert_eq!(to_fixed(3.9658822467365997, 6), "3.965882");
    }

    #[test]
    fn durations_match_the_k6_fixture() {
        // Values from k6-summary-export.json and their rendering in k6-run-stdout.txt.
        assert_eq!(duration(1.4128748749999998, None), "1.41ms");
        assert_eq!(duration(0.442738, None), "442.73µs");
        assert_eq!(duration(0.727491, None), "727.49µs");
        assert_eq!(duration(4.62569, None), "4.62ms");
        assert_eq!(duration(3.0895477, None), "3.08ms");
        assert_eq!(duration(3.857618849999999, None), "3.85ms");
        assert_eq!(duration(1.5531320000000002, None), "1.55ms");
        assert_eq!(duration(503.808348, None), "503.8ms");
        assert_eq!(duration(12.5, None), "12.5ms");
        assert_eq!(duration(0.0, None), "0s");
    }

    #[test]
    fn durations_beyond_a_second_and_with_units() {
        assert_eq!(duration(1500.0, None), "1.5s");
        assert_eq!(duration(123_456.0, None), "2m3s");
        assert_eq!(duration(3_723_000.0, None), "1h2m3s");
        assert_eq!(duration(0.0005, None), "500ns");
        assert_eq!(duration(1.41287, Some("ms")), "1.41ms");
        assert_eq!(duration(1412.87, Some("s")), "1.41s");
        assert_eq!(duration(0.44273, Some("us")), "442.73µs");
    }

    #[test]
    fn bytes_match_the_k6_fixture() {
        assert_eq!(bytes(2896.0), "2.9 kB");
        assert_eq!(bytes(1435.6493733186492), "1.4 kB");
        assert_eq!(bytes(596.0), "596 B");
        assert_eq!(bytes(295.45822738187667), "296 B");
        assert_eq!(bytes(7.0), "7 B");
        assert_eq!(bytes(14_300_000.0), "14 MB");
    }

    #[test]
    fn percents_truncate() {
        assert_eq!(percent(1.0), "100.00%");
        assert_eq!(percent(0.5), "50.00%");
        assert_eq!(percent(0.99999), "99.99%");
        assert_eq!(percent(0.0), "0.00%");
    }

    #[test]
    fn plain_values_drop_trailing_zeros() {
        assert_eq!(
            value(
                3.9658822467365997,
                MetricType::Counter,
                ValueKind::Default,
                None
            ),
            "3.965882"
        );
        assert_eq!(
            value(8.0, MetricType::Counter, ValueKind::Default, None),
            "8"
        );
        assert_eq!(
            value(42.0, MetricType::Gauge, ValueKind::Default, None),
            "42"
        );
        assert_eq!(
            value(1.0, MetricType::Rate, ValueKind::Default, None),
            "100.00%"
        );
    }
}
