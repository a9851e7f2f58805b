//! Numbers and strings exactly as k6 writes them. k6 marshals records with easyjson, whose
//! `Float64` is Go's `strconv.AppendFloat(v, 'g', -1, 64)`, and with HTML escaping off (its files
//! hold `"p(95)<500"`, not `\u003c`); these functions reproduce both byte for byte.

use std::fmt::Write as _;

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits that round-trip, in plain
/// notation when the decimal exponent is in -4..6, else `d.ddde±XX` (`1e+06`, `1.5e-05`).
/// JSON has no NaN or infinities (k6 writes them raw, breaking the line); we write `null`.
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
    // Rust's `{:e}` is the shortest round-trip representation too: `1.234567e6`, `5e-5`.
    let mut sci = Stack::default();
    let _ = write!(sci, "{v:e}");
    let text = sci.as_bytes();
    let Some(e_at) = text.iter().position(|&b| b == b'e') else {
        return;
    };
    let exp: i32 = std::str::from_utf8(&text[e_at + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &b in &text[..e_at] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
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
        let _ = write!(VecWriter(out), "{e}");
        return;
    }
    // Plain notation: the decimal point sits after `dp` digits.
    let dp = exp + 1;
    if dp <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-dp) as usize, b'0');
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

/// A fixed buffer for one formatted float (at most 24 bytes for `{:e}` of an f64).
#[derive(Default)]
struct Stack {
    buf: [u8; 32],
    len: usize,
}

impl Stack {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for Stack {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
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
