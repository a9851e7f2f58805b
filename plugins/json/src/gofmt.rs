//! Numbers and strings exactly as k6 writes them. k6 marshals records with easyjson, whose
//! `Float64` is Go's `strconv.AppendFloat(v, 'g', -1, 64)`, and with HTML escaping off (its files
//! hold `"p(95)<500"`, not `\u003c`); these functions reproduce both byte for byte.

use file_sink::digits::pair;

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits that round-trip, in plain
/// notation when the decimal exponent is in -4..6, else `d.ddde±XX` (`1e+06`, `1.5e-05`).
/// JSON has no NaN or infinities (k6 writes them raw, breaking the line); we write `null`.
///
/// The digits come from `zmij` (shortest round-trip, closest, ties to even: as Go's); only the
/// notation differs. From 1e-4 to 1e6, the values a load test records (milliseconds, bytes),
/// both are plain (a decimal exponent in -4..=5 for Go, -5..=15 for zmij): a copy, less zmij's
/// `.0` on whole numbers. Elsewhere the digits are re-laid in Go's notation.
#[inline]
pub fn write_float(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let v = v.abs();
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    if let Some(micros) = whole_micros(v) {
        write_micros(micros, out);
        return;
    }
    let mut buf = zmij::Buffer::new();
    let text = buf.format_finite(v).as_bytes();
    // A double below the double nearest 1e-4 prints below `0.0001`; one below 1e6 (a double)
    // prints below `1e6`: so this range is exactly Go's plain one.
    if (1e-4..1e6).contains(&v) {
        out.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text));
    } else {
        write_float_slow(text, out);
    }
}

/// `v` in millionths when that is exact enough to be its shortest form: `v` in 1e-4..1e6 is
/// the double nearest `n / 1e6`. Below 1e6 a double's rounding interval is narrower than 1e-6,
/// so no other number of at most six decimals reads back as `v`, and `n`'s digits less its
/// trailing zeros are Go's (and zmij's) shortest. Most milliseconds made from nanoseconds pass.
#[inline]
fn whole_micros(v: f64) -> Option<u64> {
    if !(1e-4..1e6).contains(&v) {
        return None;
    }
    // Rounded half up without a libm call: adding 0.5 is exact below 2^40.
    let n = (v * 1e6 + 0.5) as u64;
    (n as f64 / 1e6 == v).then_some(n)
}

/// `n` millionths as Go writes them: `int.frac` without trailing zeros, `int` when whole.
#[inline]
fn write_micros(n: u64, out: &mut Vec<u8>) {
    let (int, frac) = (n / 1_000_000, (n % 1_000_000) as u32);
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(int).as_bytes());
    if frac == 0 {
        return;
    }
    let mut text = [b'.'; 7];
    let (high, low) = (frac / 10_000, frac % 10_000);
    text[1..3].copy_from_slice(pair(high));
    text[3..5].copy_from_slice(pair(low / 100));
    text[5..7].copy_from_slice(pair(low % 100));
    let mut len = text.len();
    while text[len - 1] == b'0' {
        len -= 1;
    }
    out.extend_from_slice(&text);
    out.truncate(out.len() - (text.len() - len));
}

/// Go's notation from any of zmij's (`123.45`, `0.00001`, `1e16`, `1.5e-7`, `1.5e+300`).
fn write_float_slow(text: &[u8], out: &mut Vec<u8>) {
    let (mantissa, exp10) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (&text[..at], parse_exp(&text[at + 1..])),
        None => (text, 0),
    };
    // The digits without the point and leading zeros; `dp` is where the point goes in them.
    let mut digits = [0u8; 32];
    let mut nd = 0usize;
    let mut dp = 0i32;
    let mut seen_point = false;
    for &b in mantissa {
        match b {
            b'.' => seen_point = true,
            // Leading zeros: after the point they move it left, before it they are nothing.
            b'0' if nd == 0 && seen_point => dp -= 1,
            b'0' if nd == 0 => {}
            b'0'..=b'9' if nd < digits.len() => {
                digits[nd] = b;
                nd += 1;
                if !seen_point {
                    dp += 1;
                }
            }
            _ => {}
        }
    }
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    if nd == 0 {
        out.push(b'0');
        return;
    }
    let digits = &digits[..nd];
    let dp = dp + exp10;
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(e).as_bytes());
        return;
    }
    if dp <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + dp.unsigned_abs() as usize, b'0');
        out.extend_from_slice(digits);
    } else {
        let dp = dp as usize;
        if nd <= dp {
            out.extend_from_slice(digits);
            out.resize(out.len() + dp - nd, b'0');
        } else {
            out.extend_from_slice(&digits[..dp]);
            out.push(b'.');
            out.extend_from_slice(&digits[dp..]);
        }
    }
}

/// zmij's exponent digits after the `e`: an optional sign, then decimal digits.
fn parse_exp(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0i32, |acc, &b| {
            acc.saturating_mul(10).saturating_add(i32::from(b - b'0'))
        });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Appends `s` as a JSON string, escaped as easyjson does without HTML escaping: `"` and `\`,
/// `\n` `\r` `\t`, other control characters as `\u00XX`, and U+2028/U+2029.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(if bytes[i + 2] == 0xa8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 3;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]),
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut out = Vec::new();
        write_float(v, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn s(v: &str) -> String {
        let mut out = Vec::new();
        write_string(v, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Expected values are Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
    #[test]
    fn floats_as_go_g_shortest() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.002234, "0.002234"),
            (2.431201, "2.431201"),
            (12.5, "12.5"),
            (724.0, "724"),
            (999999.0, "999999"),
            (999999.5, "999999.5"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (608863452348.1149, "6.088634523481149e+11"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-3.25, "-3.25"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.0, "100"),
            (123456.0, "123456"),
        ];
        for (v, want) in cases {
            assert_eq!(f(*v), *want, "{v:e}");
        }
        assert_eq!(f(f64::NAN), "null");
        assert_eq!(f(f64::INFINITY), "null");
    }

    /// Against Go itself: `tests/go-floats.txt`, written by `tests/go-floats/main.go` (every
    /// exponent, the notation switch around each power of ten, engine-made milliseconds).
    /// Rust's own shortest formatting is not an oracle: on exact ties it rounds up where Go
    /// and zmij round half to even (`1.1496366673247972e+15`).
    #[test]
    fn floats_match_go() {
        let mut checked = 0;
        for line in include_str!("../tests/go-floats.txt").lines() {
            let mut parts = line.split(' ');
            let (Some("g"), Some(bits), Some(want)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let v = f64::from_bits(u64::from_str_radix(bits, 16).unwrap_or(0));
            assert_eq!(f(v), want, "{bits}");
            checked += 1;
        }
        assert!(checked > 5_000, "{checked} values checked");
    }

    #[test]
    fn strings_as_easyjson() {
        assert_eq!(s("plain"), "\"plain\"");
        assert_eq!(s("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(s("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
        assert_eq!(s("\u{1}\u{1f}"), "\"\\u0001\\u001f\"");
        assert_eq!(s("p(95)<500 & >"), "\"p(95)<500 & >\"");
        assert_eq!(s("x\u{2028}y\u{2029}"), "\"x\\u2028y\\u2029\"");
        assert_eq!(s("héllo ✓"), "\"héllo ✓\"");
        // What we write, serde_json reads back as the same string.
        let tricky = "q\"<&>\u{2028}\u{7}é";
        let back: String = serde_json::from_str(&s(tricky)).unwrap_or_default();
        assert_eq!(back, tricky);
    }
}
