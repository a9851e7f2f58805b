//! Samples to csv lines, k6's format (see the crate docs for where we differ on purpose).
//!
//! Everything that depends on the series alone (metric name, tag columns, `extra_tags`,
//! `metadata`) is encoded once per series; a sample costs its timestamp and value.
//!
//! Written by hand, not with the `csv` crate (which reads it back in the tests): the bytes must
//! be k6's, i.e. Go's `encoding/csv` quoting rules and Go's float formatting, and a series'
//! prefix is encoded once and reused for every sample.

use std::io::Write as _;

use file_sink::time::{Rfc3339, UnixSeconds};
use loadrun_plugin_api::{Catalog, Sample};

use crate::config::TimeFormat;
use crate::system_tags::Layout;

/// One series' line, minus the timestamp and value: `line[..split]` is `name,`, the rest is
/// `,<columns>,extra_tags,metadata\n`.
struct SeriesLine {
    line: Box<[u8]>,
    split: usize,
}

pub struct Encoder {
    layout: Layout,
    time: TimeColumn,
    series: Vec<Option<SeriesLine>>,
}

impl Encoder {
    pub fn new(layout: Layout, time_format: TimeFormat) -> Self {
        Self {
            layout,
            time: TimeColumn {
                format: time_format,
                rfc3339: Rfc3339::new(),
                unix: UnixSeconds::new(),
            },
            series: Vec::new(),
        }
    }

    pub fn header(&self) -> String {
        self.layout.header()
    }

    /// Appends the sample's line; false if the catalog does not know its series (nothing written).
    #[inline]
    pub fn encode(&mut self, catalog: &Catalog, sample: &Sample, out: &mut Vec<u8>) -> bool {
        let idx = sample.series as usize;
        if !matches!(self.series.get(idx), Some(Some(_))) && !self.compile(catalog, sample.series) {
            return false;
        }
        let Some(Some(s)) = self.series.get(idx) else {
            return false;
        };
        out.extend_from_slice(&s.line[..s.split]);
        self.time.write(sample.time_ns, out);
        out.push(b',');
        write_value(sample.value, out);
        out.extend_from_slice(&s.line[s.split..]);
        true
    }

    fn compile(&mut self, catalog: &Catalog, id: u32) -> bool {
        let Some(series) = catalog.series(id) else {
            return false;
        };
        let Some(metric) = catalog.metric(series.metric) else {
            return false;
        };
        let mut line = Vec::with_capacity(128);
        push_field(&mut line, &metric.name);
        line.push(b',');
        let split = line.len();
        for column in &self.layout.columns {
            line.push(b',');
            if let Some(v) = series.tag(column) {
                push_field(&mut line, v);
            }
        }
        let extra = series.tags.iter().filter(|(k, _)| {
            !self.layout.columns.iter().any(|c| c == k)
                && !self.layout.ignored.iter().any(|c| c == k)
        });
        line.push(b',');
        push_field(&mut line, &encode_pairs(extra));
        line.push(b',');
        push_field(&mut line, &encode_pairs(series.metadata.iter()));
        line.push(b'\n');
        let idx = id as usize;
        if self.series.len() <= idx {
            self.series.resize_with(idx + 1, || None);
        }
        self.series[idx] = Some(SeriesLine {
            line: line.into_boxed_slice(),
            split,
        });
        true
    }
}

/// The timestamp column in the configured format, with the per-second caches it uses.
struct TimeColumn {
    format: TimeFormat,
    rfc3339: Rfc3339,
    unix: UnixSeconds,
}

impl TimeColumn {
    #[inline]
    fn write(&mut self, ns: i64, out: &mut Vec<u8>) {
        let n = match self.format {
            TimeFormat::Unix => return self.unix.write(out, ns),
            TimeFormat::UnixMilli => ns.div_euclid(1_000_000),
            TimeFormat::UnixMicro => ns.div_euclid(1_000),
            TimeFormat::UnixNano => ns,
            TimeFormat::Rfc3339 => return self.rfc3339.write(out, ns, false),
            TimeFormat::Rfc3339Nano => return self.rfc3339.write(out, ns, true),
        };
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// Go's `%f`: six decimals, correctly rounded (half to even on exact ties); `NaN`, `+Inf`,
/// `-Inf` as Go spells them.
#[inline]
pub fn write_value(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.extend_from_slice(if v.is_nan() {
            b"NaN"
        } else if v > 0.0 {
            b"+Inf"
        } else {
            b"-Inf"
        });
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    match micros(v.abs()) {
        Some(n) => write_micros(n, out),
        None => {
            let _ = write!(out, "{:.6}", v.abs());
        }
    }
}

/// `v` (not negative) in millionths, rounded to nearest, when one multiplication settles it:
/// below 1e7, `v * 1e6` is off the exact product by at most 2^-10, so unless its fraction is
/// that close to one half, rounding it rounds the exact product. Else None (std's exact
/// formatting then decides): about one value in 128, and everything from 1e7 on.
#[inline]
fn micros(v: f64) -> Option<u64> {
    if v >= 1e7 {
        return None;
    }
    let p = v * 1e6;
    // Truncation is the floor here (`p` is not negative), and needs no libm call.
    let whole = p as u64;
    let frac = p - whole as f64;
    if (frac - 0.5).abs() <= 1.0 / 256.0 {
        return None;
    }
    Some(whole + u64::from(frac > 0.5))
}

/// `n` millionths as `int.dddddd`.
#[inline]
fn write_micros(n: u64, out: &mut Vec<u8>) {
    let mut b = itoa::Buffer::new();
    if n >= 1_000_000 {
        let text = b.format(n).as_bytes();
        let (int, frac) = text.split_at(text.len() - 6);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        // 1dddddd: the six digits zero-padded.
        let text = b.format(n + 1_000_000).as_bytes();
        out.extend_from_slice(b"0.");
        out.extend_from_slice(&text[1..]);
    }
}

/// `k=v&k2=v2`, with `%`, `&` and `=` in keys and values percent-encoded so the pairs can be
/// split back unambiguously ([`crate::decode::decode_pairs`]). k6 writes them raw.
pub fn encode_pairs<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        escape_into(&mut out, k);
        out.push('=');
        escape_into(&mut out, v);
    }
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
}

/// One field as Go's `encoding/csv` writes it: quoted when it holds a comma, a quote, CR or LF,
/// starts with a space, or is `\.`; quotes doubled inside.
pub fn push_field(out: &mut Vec<u8>, s: &str) {
    let needs = !s.is_empty()
        && (s == "\\."
            || s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
            || s.chars().next().is_some_and(char::is_whitespace));
    if !needs {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: f64) -> String {
        let mut out = Vec::new();
        write_value(v, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn field(s: &str) -> String {
        let mut out = Vec::new();
        push_field(&mut out, s);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn values_as_go_percent_f() {
        assert_eq!(value(1.0), "1.000000");
        assert_eq!(value(2.431201), "2.431201");
        assert_eq!(value(0.0), "0.000000");
        assert_eq!(value(-0.0), "-0.000000");
        assert_eq!(value(1e21), "1000000000000000000000.000000");
        assert_eq!(value(1e-7), "0.000000");
        // A tie in binary: Go rounds half to even.
        assert_eq!(value(0.0078125), "0.007812");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
    }

    /// Against Go itself: `../json/tests/go-floats.txt` (`f` lines, Go's `'f', 6`), written by
    /// `../json/tests/go-floats/main.go`: engine-made milliseconds, random values on both sides
    /// of the fast path's 1e7 limit, exact binary ties at the seventh decimal.
    #[test]
    fn values_match_go() {
        let mut checked = 0;
        for line in include_str!("../../json/tests/go-floats.txt").lines() {
            let mut parts = line.split(' ');
            let (Some("f"), Some(bits), Some(want)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let v = f64::from_bits(u64::from_str_radix(bits, 16).unwrap_or(0));
            assert_eq!(value(v), want, "{bits}");
            checked += 1;
        }
        assert!(checked > 3_000, "{checked} values checked");
    }

    #[test]
    fn fields_as_go_encoding_csv() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(" lead"), "\" lead\"");
        assert_eq!(field("\\."), "\"\\.\"");
        assert_eq!(field("status is 200"), "status is 200");
    }

    #[test]
    fn pairs_escaped() {
        let pairs = [
            ("a&b".to_string(), "x=y".to_string()),
            ("p".to_string(), "100%".to_string()),
        ];
        assert_eq!(encode_pairs(pairs.iter()), "a%26b=x%3Dy&p=100%25");
    }
}
