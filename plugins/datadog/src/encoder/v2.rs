//! Datadog's series API v2 (`POST /api/v2/series`, the default) and the distribution points
//! API (`POST /api/v1/distribution_points`, for `trendsAs=distribution`): encoding and splitting.
//!
//! | k6 | v2 series |
//! |---|---|
//! | counter, check pass/fail | `type: 1` (count), `interval` = push interval |
//! | rate (not a check) | `type: 3` (gauge): the interval's fraction of non-zero samples |
//! | gauge | `type: 3`, last value |
//! | trend, `trendsAs=gauges` | gauges `.avg .min .max .median .95percentile`, a `.count` count |
//! | trend, `trendsAs=distribution` | one distribution of every value of the interval |
//!
//! Limits (Datadog's "Submit metrics" reference): at most 512 000 bytes on the wire, and a
//! compressed body must inflate to less than 5 242 880 bytes. Bodies are split on series
//! boundaries until both hold.

use std::collections::BTreeMap;
use std::io::Write as _;

use loadrun_plugin_api::{Catalog, MetricType};
use loadrun_statsd::aggregate::{Agg, Cell, Variant};
use loadrun_statsd::{Entry, EntryValue};
use serde_json::{json, Value};

use crate::limits::metric_name;

use super::v1::trend_points;

/// Datadog's v2 metric type codes.
const TYPE_COUNT: u8 = 1;
const TYPE_GAUGE: u8 = 3;

/// One request ready to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub url: String,
    /// The `Content-Encoding` header, when the body is compressed.
    pub encoding: Option<&'static str>,
    pub body: Vec<u8>,
    /// Samples folded into what the body carries, for the host's accounting.
    pub samples: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// zlib, what HTTP calls `deflate`: the only encoding the distribution points API takes.
    Deflate,
}

/// Size limits of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes on the wire.
    pub max_wire: usize,
    /// Bytes once decompressed.
    pub max_raw: usize,
}

/// Datadog's published v2 limits, kept a little below the edge.
pub const V2_LIMITS: Limits = Limits {
    max_wire: 512_000,
    max_raw: 5_242_879,
};

/// Turns each non-check rate's count of non-zero samples (k6's way, which the aggregator keeps)
/// into the interval's fraction of non-zero samples, as a gauge.
pub fn rates_as_gauges(catalog: &Catalog, cells: &mut BTreeMap<(u32, Variant), Cell>) {
    for ((series_id, variant), cell) in cells.iter_mut() {
        if *variant != Variant::Plain || cell.samples == 0 {
            continue;
        }
        let Agg::Count(nonzero) = cell.agg else {
            continue;
        };
        let is_rate = catalog.series(*series_id).is_some_and(|s| {
            s.tag("check").is_none()
                && catalog
                    .metric(s.metric)
                    .is_some_and(|m| m.metric_type == MetricType::Rate)
        });
        if is_rate {
            cell.agg = Agg::Gauge(nonzero / cell.samples as f64);
        }
    }
}

/// A series and the samples folded into it (an entry's samples go with its first series).
pub type Counted = (Value, u64);

/// The v2 series of one interval, stamped `ts` (unix seconds), plus, with `distributions`, the
/// trends as distribution points series (for `/api/v1/distribution_points`).
pub fn series_v2(
    entries: &[Entry],
    host: &str,
    ts: i64,
    interval_s: u64,
    distributions: bool,
) -> (Vec<Counted>, Vec<Counted>) {
    let mut series: Vec<Counted> = Vec::new();
    let mut dists: Vec<Counted> = Vec::new();
    for e in entries {
        let tags = crate::limits::tag_strings(e);
        let one = |metric: String, kind: u8, v: f64| {
            let mut s = json!({
                "metric": metric,
                "type": kind,
                "points": [{"timestamp": ts, "value": v}],
                "resources": [{"name": host, "type": "host"}],
                "tags": tags,
            });
            if kind == TYPE_COUNT {
                s["interval"] = json!(interval_s);
            }
            s
        };
        let mut made = Vec::new();
        match &e.value {
            EntryValue::Count(v) => made.push(one(metric_name(&e.name, ""), TYPE_COUNT, *v)),
            EntryValue::Gauge(v) => made.push(one(metric_name(&e.name, ""), TYPE_GAUGE, *v)),
            EntryValue::Trend(t) if distributions => {
                if !t.values.is_empty() {
                    let d = json!({
                        "metric": metric_name(&e.name, ""),
                        "type": "distribution",
                        "points": [[ts, t.values]],
                        "host": host,
                        "tags": tags,
                    });
                    dists.push((d, e.samples));
                }
            }
            EntryValue::Trend(t) => {
                for (suffix, is_count, v) in trend_points(t) {
                    let kind = if is_count { TYPE_COUNT } else { TYPE_GAUGE };
                    made.push(one(metric_name(&e.name, suffix), kind, v));
                }
            }
        }
        for (i, v) in made.into_iter().enumerate() {
            series.push((v, if i == 0 { e.samples } else { 0 }));
        }
    }
    (series, dists)
}

/// `{"series":[...]}` requests within `limits`, split on series boundaries. A single series too
/// large even alone is left out and its samples returned as `oversized` (Datadog would
/// answer 413).
pub fn payloads(
    series: Vec<Counted>,
    url: &str,
    compression: Compression,
    limits: Limits,
) -> (Vec<Payload>, u64) {
    let texts: Vec<(String, u64)> = series.iter().map(|(v, n)| (v.to_string(), *n)).collect();
    let mut out = Vec::new();
    let mut oversized = 0;
    // The raw limit bounds the first cut; the wire limit (after compression) may halve it.
    let mut start = 0;
    while start < texts.len() {
        let mut end = start;
        let mut raw = HEAD.len() + TAIL.len();
        let raw_cap = match compression {
            Compression::None => limits.max_raw.min(limits.max_wire),
            _ => limits.max_raw,
        };
        while end < texts.len() {
            let add = texts[end].0.len() + usize::from(end > start);
            if end > start && raw + add > raw_cap {
                break;
            }
            raw += add;
            end += 1;
        }
        encode_range(
            &texts[start..end],
            url,
            compression,
            limits,
            &mut out,
            &mut oversized,
        );
        start = end;
    }
    (out, oversized)
}

const HEAD: &str = "{\"series\":[";
const TAIL: &str = "]}";

fn encode_range(
    texts: &[(String, u64)],
    url: &str,
    compression: Compression,
    limits: Limits,
    out: &mut Vec<Payload>,
    oversized: &mut u64,
) {
    if texts.is_empty() {
        return;
    }
    let mut raw = String::with_capacity(texts.iter().map(|t| t.0.len() + 1).sum::<usize>() + 16);
    raw.push_str(HEAD);
    let samples = texts.iter().map(|t| t.1).sum();
    for (i, (t, _)) in texts.iter().enumerate() {
        if i > 0 {
            raw.push(',');
        }
        raw.push_str(t);
    }
    raw.push_str(TAIL);
    let (body, encoding) = match compress(raw.as_bytes(), compression) {
        Some(pair) => pair,
        None => (raw.clone().into_bytes(), None),
    };
    if body.len() <= limits.max_wire && raw.len() <= limits.max_raw {
        out.push(Payload {
            url: url.to_string(),
            encoding,
            body,
            samples,
        });
    } else if texts.len() == 1 {
        *oversized += samples;
    } else {
        let mid = texts.len() / 2;
        encode_range(&texts[..mid], url, compression, limits, out, oversized);
        encode_range(&texts[mid..], url, compression, limits, out, oversized);
    }
}

fn compress(raw: &[u8], compression: Compression) -> Option<(Vec<u8>, Option<&'static str>)> {
    let level = flate2::Compression::default();
    match compression {
        Compression::None => None,
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
            enc.write_all(raw).ok()?;
            Some((enc.finish().ok()?, Some("gzip")))
        }
        Compression::Deflate => {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), level);
            enc.write_all(raw).ok()?;
            Some((enc.finish().ok()?, Some("deflate")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadrun_statsd::aggregate::Trend;

    fn entry(name: &str, value: EntryValue) -> Entry {
        Entry {
            name: name.into(),
            value,
            tags: vec![("method".into(), "GET".into()), ("flag".into(), "".into())],
            samples: 1,
        }
    }

    #[test]
    fn counts_carry_the_interval_and_gauges_do_not() {
        let (s, d) = series_v2(
            &[
                entry("k6.http_reqs", EntryValue::Count(3.0)),
                entry("k6.vus", EntryValue::Gauge(5.0)),
            ],
            "h1",
            100,
            10,
            false,
        );
        assert!(d.is_empty());
        let s: Vec<Value> = s.into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            s[0],
            json!({"metric": "k6.http_reqs", "type": 1, "interval": 10,
                   "points": [{"timestamp": 100, "value": 3.0}],
                   "resources": [{"name": "h1", "type": "host"}],
                   "tags": ["method:GET", "flag"]})
        );
        assert_eq!(s[1]["type"], 3);
        assert!(s[1].get("interval").is_none());
    }

    #[test]
    fn trends_become_gauges_or_one_distribution() {
        let t = Trend {
            count: 4,
            sum: 10.0,
            min: 1.0,
            max: 4.0,
            values: vec![4.0, 1.0, 3.0, 2.0],
        };
        let e = entry("k6.http_req_duration", EntryValue::Trend(t));
        let (s, _) = series_v2(std::slice::from_ref(&e), "h", 100, 10, false);
        assert_eq!(
            s.iter().map(|x| x.1).collect::<Vec<_>>(),
            [1, 0, 0, 0, 0, 0]
        );
        let s: Vec<Value> = s.into_iter().map(|(v, _)| v).collect();
        let names: Vec<&str> = s.iter().filter_map(|x| x["metric"].as_str()).collect();
        assert_eq!(
            names,
            [
                "k6.http_req_duration.avg",
                "k6.http_req_duration.min",
                "k6.http_req_duration.max",
                "k6.http_req_duration.median",
                "k6.http_req_duration.95percentile",
                "k6.http_req_duration.count"
            ]
        );
        assert_eq!(s[0]["points"][0]["value"], 2.5);
        assert_eq!(s[5]["type"], 1);
        let (s, d) = series_v2(&[e], "h", 100, 10, true);
        assert!(s.is_empty());
        assert_eq!(
            d,
            [(
                json!({"metric": "k6.http_req_duration", "type": "distribution",
                    "points": [[100, [4.0, 1.0, 3.0, 2.0]]], "host": "h",
                    "tags": ["method:GET", "flag"]}),
                1
            )]
        );
    }

    #[test]
    fn payloads_split_under_both_limits() {
        let series: Vec<Counted> = (0..2000)
            .map(|i| {
                let v =
                    json!({"metric": format!("m{i}"), "tags": [format!("t:{}", i * 7919 % 10007)]});
                (v, 2)
            })
            .collect();
        let limits = Limits {
            max_wire: 4_000,
            max_raw: 20_000,
        };
        for c in [Compression::None, Compression::Gzip, Compression::Deflate] {
            let (p, over) = payloads(series.clone(), "u", c, limits);
            assert_eq!(over, 0);
            assert_eq!(p.iter().map(|x| x.samples).sum::<u64>(), 4000);
            assert!(p.len() > 1);
            let mut n = 0;
            for pl in &p {
                assert!(pl.body.len() <= limits.max_wire, "{c:?} {}", pl.body.len());
                let raw = match c {
                    Compression::None => pl.body.clone(),
                    Compression::Gzip => {
                        let mut v = Vec::new();
                        std::io::Read::read_to_end(
                            &mut flate2::read::GzDecoder::new(&pl.body[..]),
                            &mut v,
                        )
                        .unwrap_or_default();
                        v
                    }
                    Compression::Deflate => {
                        let mut v = Vec::new();
                        std::io::Read::read_to_end(
                            &mut flate2::read::ZlibDecoder::new(&pl.body[..]),
                            &mut v,
                        )
                        .unwrap_or_default();
                        v
                    }
                };
                assert!(raw.len() <= limits.max_raw);
                let v: Value = serde_json::from_slice(&raw).unwrap_or_default();
                n += v["series"].as_array().map_or(0, Vec::len);
            }
            assert_eq!(n, 2000, "{c:?}");
        }
    }
}
