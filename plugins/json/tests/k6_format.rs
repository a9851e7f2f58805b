//! Our json output against the files real k6 v1.1 wrote: the same run replayed through our
//! plugin must give k6's file, and both files must have the same structure under one reader.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use file_sink::fixtures::{fixture, outcome, replay_k6_json};
use loadrun_plugin_api::testkit::{init, started};
use out_json::gofmt::write_float;
use out_json::JsonPlugin;

/// Replays a k6 NDJSON fixture through our json output; returns what we wrote.
fn ours_for(fixture_text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let b = replay_k6_json(fixture_text);
    let (mut out, rec) = started::<JsonPlugin>(init("json", Some(path.to_str().unwrap()), "", &[]));
    // The host hands definitions with the first batch, then samples in several batches.
    let (first, rest) = b.samples.split_at(b.samples.len() / 3);
    let mut head = b.clone();
    head.samples = first.to_vec();
    assert_eq!(out.write(head.batch()), loadrun_plugin_api::WriteStatus::Ok);
    let mut tail = b.clone();
    tail.samples = rest.to_vec();
    assert_eq!(
        out.write(tail.samples_only()),
        loadrun_plugin_api::WriteStatus::Ok
    );
    out.stop(&outcome(), Duration::from_secs(5)).unwrap();
    assert!(rec
        .logs()
        .iter()
        .all(|(l, _)| *l > loadrun_plugin_api::LogLevel::Warn));
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn replayed_run_is_byte_identical_to_k6() {
    // The fixture's k6 ran in UTC, so even the zone matches.
    for name in ["k6-output.json", "k6-output-metadata.json"] {
        let k6 = fixture(name);
        let ours = ours_for(&k6);
        for (i, (a, b)) in k6.lines().zip(ours.lines()).enumerate() {
            assert_eq!(a, b, "{name} line {}", i + 1);
        }
        assert_eq!(k6.lines().count(), ours.lines().count(), "{name}");
        assert!(ours.ends_with('\n'));
    }
}

/// A record's shape: its keys in order, nested objects' shapes, `map` for tag maps, `[..]`
/// for arrays (the shape of their elements), scalars by kind.
fn shape(text: &str) -> String {
    fn walk(v: &RawValue, key: &str, out: &mut String) {
        match v {
            RawValue::Object(fields) if matches!(key, "tags" | "metadata") => {
                out.push_str("map");
                assert!(
                    fields.windows(2).all(|w| w[0].0 < w[1].0),
                    "{key} keys not sorted"
                );
            }
            RawValue::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push(':');
                    walk(v, k, out);
                }
                out.push('}');
            }
            RawValue::Array(items) => {
                out.push('[');
                let shapes: BTreeSet<String> = items
                    .iter()
                    .map(|i| {
                        let mut s = String::new();
                        walk(i, "", &mut s);
                        s
                    })
                    .collect();
                out.push_str(&shapes.into_iter().collect::<Vec<_>>().join("|"));
                out.push(']');
            }
            RawValue::Scalar(s) => out.push_str(match s.as_bytes().first() {
                Some(b'"') => "str",
                Some(b'n') => "null",
                Some(b't' | b'f') => "bool",
                _ => "num",
            }),
        }
    }
    let v = RawValue::parse(text);
    let mut out = String::new();
    walk(&v, "", &mut out);
    out
}

#[test]
fn same_structure_as_k6_under_one_reader() {
    for name in ["k6-output.json", "k6-output-metadata.json"] {
        let k6 = fixture(name);
        let ours = ours_for(&k6);
        let shapes = |text: &str| -> BTreeSet<String> { text.lines().map(shape).collect() };
        let (a, b) = (shapes(&k6), shapes(&ours));
        assert_eq!(a, b, "{name}: record shapes differ");
        // The exact key orders k6 uses (easyjson): checked here so a regression names the key.
        assert!(a.contains(
            "{type:str,data:{name:str,type:str,contains:str,thresholds:[],submetrics:null},metric:str}"
        ));
        assert!(b
            .iter()
            .any(|s| s.starts_with("{metric:str,type:str,data:{time:str,value:num,tags:map")));
        // Record kinds in the same sequence: Metric right before its first Point.
        let kinds = |text: &str| -> Vec<String> {
            text.lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    format!("{}:{}", v["type"], v["metric"])
                })
                .collect()
        };
        assert_eq!(kinds(&k6), kinds(&ours), "{name}");
    }
}

#[test]
fn value_and_time_formats_match_k6() {
    let k6 = fixture("k6-output.json");
    let ours = ours_for(&k6);
    for (label, text) in [("k6", &k6), ("ours", &ours)] {
        for line in text.lines().filter(|l| l.contains("\"Point\"")) {
            let raw = RawValue::parse(line);
            let data = raw.get("data").unwrap();
            let RawValue::Scalar(value) = data.get("value").unwrap() else {
                panic!()
            };
            // Go's 'g' shortest form: re-formatting the parsed number gives the same text.
            let mut again = Vec::new();
            write_float(value.parse::<f64>().unwrap(), &mut again);
            assert_eq!(value, &String::from_utf8(again).unwrap(), "{label}: {line}");
            let RawValue::Scalar(time) = data.get("time").unwrap() else {
                panic!()
            };
            assert!(is_rfc3339_nano(time.trim_matches('"')), "{label}: {time}");
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction without trailing zeros]Z`
fn is_rfc3339_nano(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let base = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b.last() == Some(&b'Z');
    let frac = &t[19..t.len() - 1];
    base && (frac.is_empty()
        || (frac.starts_with('.')
            && (2..=10).contains(&frac.len())
            && frac[1..].bytes().all(|c| c.is_ascii_digit())
            && !frac.ends_with('0')))
}

/// A JSON value that keeps object key order and scalars' raw text (serde_json's map sorts).
enum RawValue {
    Object(Vec<(String, RawValue)>),
    Array(Vec<RawValue>),
    Scalar(String),
}

impl RawValue {
    fn parse(text: &str) -> RawValue {
        let mut p = text.trim().char_indices().peekable();
        let v = Self::value(text.trim(), &mut p);
        assert!(p.next().is_none(), "trailing text in {text}");
        v
    }

    fn get(&self, key: &str) -> Option<&RawValue> {
        match self {
            RawValue::Object(f) => f.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn value(src: &str, p: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> RawValue {
        skip_ws(p);
        match p.peek().map(|&(_, c)| c) {
            Some('{') => {
                p.next();
                let mut fields = Vec::new();
                loop {
                    skip_ws(p);
                    if p.peek().map(|&(_, c)| c) == Some('}') {
                        p.next();
                        break;
                    }
                    let RawValue::Scalar(k) = Self::value(src, p) else {
                        panic!("key")
                    };
                    let key: String = serde_json::from_str(&k).unwrap();
                    skip_ws(p);
                    assert_eq!(p.next().map(|(_, c)| c), Some(':'));
                    let v = Self::value(src, p);
                    fields.push((key, v));
                    skip_ws(p);
                    match p.next().map(|(_, c)| c) {
                        Some(',') => continue,
                        Some('}') => break,
                        other => panic!("unexpected {other:?}"),
                    }
                }
                RawValue::Object(fields)
            }
            Some('[') => {
                p.next();
                let mut items = Vec::new();
                loop {
                    skip_ws(p);
                    if p.peek().map(|&(_, c)| c) == Some(']') {
                        p.next();
                        break;
                    }
                    items.push(Self::value(src, p));
                    skip_ws(p);
                    match p.next().map(|(_, c)| c) {
                        Some(',') => continue,
                        Some(']') => break,
                        other => panic!("unexpected {other:?}"),
                    }
                }
                RawValue::Array(items)
            }
            Some('"') => {
                let (start, _) = p.next().unwrap();
                let mut escaped = false;
                loop {
                    let (i, c) = p.next().expect("unterminated string");
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        return RawValue::Scalar(src[start..=i].to_string());
                    }
                }
            }
            Some(_) => {
                let (start, _) = *p.peek().unwrap();
                let mut end = start;
                while let Some(&(i, c)) = p.peek() {
                    if matches!(c, ',' | '}' | ']') || c.is_whitespace() {
                        break;
                    }
                    end = i + c.len_utf8();
                    p.next();
                }
                RawValue::Scalar(src[start..end].to_string())
            }
            None => panic!("unexpected end"),
        }
    }
}

fn skip_ws(p: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    while p.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
        p.next();
    }
}
