//! Closed aggregates → Metric API data points → request bodies within the published limits.
//!
//! A body is `[{"common":{"attributes":{…}},"metrics":[…]}]`. Each data point carries its own
//! `timestamp` (window start, unix ms) and, for `count` and `summary`, `interval.ms`:
//!
//! | k6 | New Relic |
//! |---|---|
//! | counter | `count`, value = sum over the window |
//! | gauge | `gauge`, value = last sample of the window |
//! | rate | `gauge`, value = non-zero samples / samples of the window |
//! | trend | `summary` {count, sum, min, max}, plus one `gauge` per percentile: `NAME.p95` |
//!
//! Keys are written in a fixed order and numbers in their shortest round-trip form (integral
//! values without a fraction), so a given input always gives the same bytes.

use loadrun_plugin_api::{Catalog, TestMeta};

use crate::aggregate::{Agg, Closed};
use crate::config::Config;
use crate::limits;

/// What encoding left out, for the output's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Data points not sent because a value was not finite (a sum that overflowed).
    pub non_finite: u64,
    /// Aggregates whose series the catalog does not know (a host bug).
    pub unresolved: u64,
    /// Tags left out to stay within the attributes-per-metric limit.
    pub attributes: u64,
    /// Samples of the aggregates that produced no data point (non-finite or unresolved).
    pub samples: u64,
}

/// Encodes data points for one output: naming, attribute rules, the common block.
#[derive(Debug, Clone)]
pub struct Encoder {
    prefix: String,
    percentiles: Vec<(f64, String)>,
    tag_blocklist: Vec<String>,
    include_metadata: bool,
    max_attributes: usize,
    max_payload_bytes: usize,
    interval_ms: i64,
    common: String,
    common_count: usize,
}

impl Encoder {
    pub fn new(cfg: &Config, test: &TestMeta) -> Self {
        let mut common: Vec<(String, String)> = vec![
            ("instrumentation.provider".into(), "loadrun".into()),
            ("test.id".into(), test.test_id.to_string()),
            ("test.plan".into(), test.plan_name.to_string()),
        ];
        for kv in test.tags.iter() {
            common.push((kv.key.to_string(), kv.value.to_string()));
        }
        let mut attrs = Attributes::default();
        for (k, v) in &common {
            attrs.push(k, v);
        }
        attrs.keep_first(cfg.max_attributes);
        let mut text = String::from("{\"attributes\":");
        attrs.write(&mut text);
        text.push('}');
        Self {
            prefix: cfg.prefix.clone(),
            percentiles: cfg
                .percentiles
                .iter()
                .map(|&p| (p, percentile_suffix(p)))
                .collect(),
            tag_blocklist: cfg.tag_blocklist.clone(),
            include_metadata: cfg.include_metadata,
            max_attributes: cfg.max_attributes,
            max_payload_bytes: cfg.max_payload_bytes,
            interval_ms: i64::try_from(cfg.push_interval.as_millis()).unwrap_or(i64::MAX),
            common: text,
            common_count: attrs.len(),
        }
    }

    /// The `common` block every body carries.
    pub fn common(&self) -> &str {
        &self.common
    }

    /// Appends the JSON of each data point of `closed` to `out`.
    pub fn encode(
        &self,
        closed: Vec<Closed>,
        catalog: &Catalog,
        out: &mut Vec<String>,
        dropped: &mut Dropped,
    ) {
        for c in closed {
            let Some(series) = catalog.series(c.series) else {
                dropped.unresolved += 1;
                continue;
            };
            let Some(metric) = catalog.metric(series.metric) else {
                dropped.unresolved += 1;
                continue;
            };
            let mut attrs = Attributes::default();
            for (k, v) in &series.tags {
                if !self.tag_blocklist.iter().any(|b| b == k) {
                    attrs.push(k, v);
                }
            }
            if self.include_metadata {
                for (k, v) in &series.metadata {
                    if !self.tag_blocklist.iter().any(|b| b == k) {
                        attrs.push(k, v);
                    }
                }
            }
            let room = self.max_attributes.saturating_sub(self.common_count);
            dropped.attributes += attrs.keep_first(room) as u64;
            let mut attr_text = String::new();
            attrs.write(&mut attr_text);

            let name = format!("{}{}", self.prefix, metric.name);
            let ts = c.start_ms;
            match c.agg {
                Agg::Count(sum) => {
                    self.point(out, dropped, &name, "count", &[sum], ts, true, &attr_text)
                }
                Agg::Gauge { value, .. } => self.point(
                    out,
                    dropped,
                    &name,
                    "gauge",
                    &[value],
                    ts,
                    false,
                    &attr_text,
                ),
                Agg::Rate { hits, total } => {
                    let ratio = if total == 0 {
                        0.0
                    } else {
                        hits as f64 / total as f64
                    };
                    self.point(
                        out,
                        dropped,
                        &name,
                        "gauge",
                        &[ratio],
                        ts,
                        false,
                        &attr_text,
                    )
                }
                Agg::Trend(mut t) => {
                    let v = [t.count as f64, t.sum, t.min, t.max];
                    self.point(out, dropped, &name, "summary", &v, ts, true, &attr_text);
                    for (p, suffix) in &self.percentiles {
                        if let Some(value) = t.quantiles.percentile(*p, t.min, t.max) {
                            let pname = format!("{name}.{suffix}");
                            self.point(
                                out,
                                dropped,
                                &pname,
                                "gauge",
                                &[value],
                                ts,
                                false,
                                &attr_text,
                            );
                        }
                    }
                }
            }
        }
    }

    /// [`Encoder::encode`], each data point with the samples behind it: an aggregate's samples
    /// go with its first data point (a trend's summary), so a body's count is what it carries.
    pub fn encode_counted(
        &self,
        closed: Vec<Closed>,
        catalog: &Catalog,
        out: &mut Vec<(String, u64)>,
        dropped: &mut Dropped,
    ) {
        let mut points = Vec::new();
        for c in closed {
            let samples = c.samples;
            points.clear();
            self.encode(vec![c], catalog, &mut points, dropped);
            if points.is_empty() {
                dropped.samples += samples;
            }
            for (i, p) in points.drain(..).enumerate() {
                out.push((p, if i == 0 { samples } else { 0 }));
            }
        }
    }

    /// One data point; `values` is `[v]`, or `[count, sum, min, max]` for a summary.
    #[allow(clippy::too_many_arguments)]
    fn point(
        &self,
        out: &mut Vec<String>,
        dropped: &mut Dropped,
        name: &str,
        kind: &str,
        values: &[f64],
        timestamp_ms: i64,
        with_interval: bool,
        attributes: &str,
    ) {
        if values.iter().any(|v| !v.is_finite()) {
            dropped.non_finite += 1;
            return;
        }
        let mut s = String::with_capacity(96 + name.len() + attributes.len());
        s.push_str("{\"name\":");
        push_str_json(&mut s, name);
        s.push_str(",\"type\":\"");
        s.push_str(kind);
        s.push_str("\",\"value\":");
        if let [count, sum, min, max] = values {
            s.push_str("{\"count\":");
            push_num(&mut s, *count);
            s.push_str(",\"sum\":");
            push_num(&mut s, *sum);
            s.push_str(",\"min\":");
            push_num(&mut s, *min);
            s.push_str(",\"max\":");
            push_num(&mut s, *max);
            s.push('}');
        } else {
            push_num(&mut s, values.first().copied().unwrap_or(0.0));
        }
        s.push_str(",\"timestamp\":");
        s.push_str(&timestamp_ms.to_string());
        if with_interval {
            s.push_str(",\"interval.ms\":");
            s.push_str(&self.interval_ms.to_string());
        }
        s.push_str(",\"attributes\":");
        s.push_str(attributes);
        s.push('}');
        out.push(s);
    }

    /// Cuts data points into bodies of at most `max_payload_bytes` each (a single larger point
    /// goes alone). Each entry is (the data points, the body).
    pub fn payloads(&self, points: Vec<String>) -> Vec<Payload> {
        self.payloads_counted(points.into_iter().map(|p| (p, 0)).collect())
    }

    /// [`Encoder::payloads`] of data points with their sample counts.
    pub fn payloads_counted(&self, points: Vec<(String, u64)>) -> Vec<Payload> {
        let overhead = self.body_overhead();
        let mut out = Vec::new();
        let mut cur = Payload::default();
        let mut size = overhead;
        for (p, n) in points {
            let add = p.len() + usize::from(!cur.points.is_empty());
            if !cur.points.is_empty() && size + add > self.max_payload_bytes {
                out.push(std::mem::take(&mut cur));
                size = overhead;
            }
            size += p.len() + usize::from(!cur.points.is_empty());
            cur.points.push(p);
            cur.samples.push(n);
        }
        if !cur.points.is_empty() {
            out.push(cur);
        }
        out
    }

    fn body_overhead(&self) -> usize {
        "[{\"common\":,\"metrics\":[]}]".len() + self.common.len()
    }

    /// The request body of `payload`.
    pub fn body(&self, payload: &Payload) -> Vec<u8> {
        let len = self.body_overhead() + payload.points.iter().map(|p| p.len() + 1).sum::<usize>();
        let mut b = String::with_capacity(len);
        b.push_str("[{\"common\":");
        b.push_str(&self.common);
        b.push_str(",\"metrics\":[");
        for (i, p) in payload.points.iter().enumerate() {
            if i > 0 {
                b.push(',');
            }
            b.push_str(p);
        }
        b.push_str("]}]");
        b.into_bytes()
    }
}

/// Data points that go in one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    pub points: Vec<String>,
    /// The samples behind each data point (same order as `points`).
    pub samples: Vec<u64>,
}

impl Payload {
    /// Halves a payload New Relic found too large; `None` for a single data point.
    pub fn split(mut self) -> Option<(Payload, Payload)> {
        if self.points.len() < 2 {
            return None;
        }
        let half = self.points.len() / 2;
        let back = self.points.split_off(half);
        let back_samples = self.samples.split_off(half.min(self.samples.len()));
        Some((
            self,
            Payload {
                points: back,
                samples: back_samples,
            },
        ))
    }

    /// The samples folded into this payload's data points.
    pub fn sample_count(&self) -> u64 {
        self.samples.iter().sum()
    }
}

/// `95` → `p95`, `99.9` → `p99_9` (a dot would read as a level of the metric name).
pub fn percentile_suffix(p: f64) -> String {
    let text = if p.fract() == 0.0 {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    };
    format!("p{}", text.replace('.', "_"))
}

/// Attributes after New Relic's naming rules: keys of letters, digits, `:`, `.`, `_` (others
/// become `_`) of at most 255 characters, values of at most 4096; the first of two equal keys
/// wins.
#[derive(Debug, Default)]
struct Attributes(Vec<(String, String)>);

impl Attributes {
    fn push(&mut self, key: &str, value: &str) {
        let key: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .take(limits::MAX_NAME_CHARS)
            .collect();
        if key.is_empty() || self.0.iter().any(|(k, _)| *k == key) {
            return;
        }
        let value = match value.char_indices().nth(limits::MAX_VALUE_CHARS) {
            Some((cut, _)) => value[..cut].to_string(),
            None => value.to_string(),
        };
        self.0.push((key, value));
    }

    /// Keeps the first `n`; returns how many were dropped.
    fn keep_first(&mut self, n: usize) -> usize {
        let dropped = self.0.len().saturating_sub(n);
        self.0.truncate(n);
        dropped
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str_json(out, k);
            out.push(':');
            push_str_json(out, v);
        }
        out.push('}');
    }
}

fn push_str_json(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        // Serializing a &str cannot fail; an empty string keeps the JSON valid regardless.
        Err(_) => out.push_str("\"\""),
    }
}

/// Shortest round-trip form; integral values below 2^53 without a fraction (counts read as
/// counts), so `3` rather than `3.0`.
fn push_num(out: &mut String, v: f64) {
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        out.push_str(&(v as i64).to_string());
    } else {
        match serde_json::to_string(&v) {
            Ok(t) => out.push_str(&t),
            Err(_) => out.push('0'),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregator;
    use loadrun_plugin_api::testkit::{init, test_meta, BatchBuilder};
    use loadrun_plugin_api::{KeyValue, MetricType, ValueKind};

    fn config(arg: &str) -> Config {
        Config::from_init(&init(
            "newrelic",
            Some(arg),
            "{}",
            &[("NEW_RELIC_LICENSE_KEY", "k")],
        ))
        .unwrap()
    }

    #[test]
    fn a_small_batch_gives_exactly_this_json() {
        let cfg = config("pushInterval=10s,percentiles=50,95");
        let mut meta = test_meta();
        meta.tags = vec![KeyValue::new("env", "staging")].into();
        let enc = Encoder::new(&cfg, &meta);

        let mut b = BatchBuilder::new();
        let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
        let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
        let tags = [
            ("method", "GET"),
            ("name", "http://x/\"q\""),
            ("status", "200"),
        ];
        let s_reqs = b.series(reqs, &tags, &[("iter", "3"), ("vu", "1")]);
        let s_dur = b.series(dur, &tags, &[]);
        let s_vus = b.series(vus, &[], &[]);
        let s_failed = b.series(failed, &[("my tag", "x")], &[]);
        let t0 = 1_700_000_003_000_000_000i64; // window 1_700_000_000_000
        b.sample(s_reqs, t0, 1.0).sample(s_reqs, t0 + 5, 1.0);
        for (i, v) in [10.0, 20.0, 30.0, 40.5].iter().enumerate() {
            b.sample(s_dur, t0 + i as i64, *v);
        }
        b.sample(s_vus, t0, 3.0).sample(s_vus, t0 + 9, 5.0);
        b.sample(s_failed, t0, 1.0).sample(s_failed, t0, 0.0);
        b.sample(s_failed, t0, 0.0).sample(s_failed, t0, 0.0);

        let mut catalog = Catalog::new();
        catalog.absorb(&b.batch());
        let mut agg = Aggregator::new(10_000);
        for s in &b.samples {
            let (m, _) = catalog.resolve(s).unwrap();
            agg.add(s.series, m.metric_type, s.time_ns, s.value);
        }
        let mut points = Vec::new();
        let mut dropped = Dropped::default();
        enc.encode(agg.take_all(), &catalog, &mut points, &mut dropped);
        assert_eq!(dropped, Dropped::default());
        let payloads = enc.payloads(points);
        assert_eq!(payloads.len(), 1);
        let body = String::from_utf8(enc.body(&payloads[0])).unwrap();
        let attrs = r#"{"method":"GET","name":"http://x/\"q\"","status":"200"}"#;
        let expected = [
            r#"[{"common":{"attributes":{"instrumentation.provider":"loadrun","test.id":"test-run-1","test.plan":"testkit","env":"staging"}},"metrics":["#,
            &format!(r#"{{"name":"k6.http_reqs","type":"count","value":2,"timestamp":1700000000000,"interval.ms":10000,"attributes":{attrs}}},"#),
            &format!(r#"{{"name":"k6.http_req_duration","type":"summary","value":{{"count":4,"sum":100.5,"min":10,"max":40.5}},"timestamp":1700000000000,"interval.ms":10000,"attributes":{attrs}}},"#),
            &format!(r#"{{"name":"k6.http_req_duration.p50","type":"gauge","value":25,"timestamp":1700000000000,"attributes":{attrs}}},"#),
            &format!(r#"{{"name":"k6.http_req_duration.p95","type":"gauge","value":38.925,"timestamp":1700000000000,"attributes":{attrs}}},"#),
            r#"{"name":"k6.vus","type":"gauge","value":5,"timestamp":1700000000000,"attributes":{}},"#,
            r#"{"name":"k6.http_req_failed","type":"gauge","value":0.25,"timestamp":1700000000000,"attributes":{"my_tag":"x"}}"#,
            "]}]",
        ]
        .concat();
        assert_eq!(body, expected);
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(parsed.is_array());
    }

    #[test]
    fn attribute_limits_are_kept() {
        let cfg = config("maxAttributes=5,includeMetadata=true,tagBlocklist=drop");
        let enc = Encoder::new(&cfg, &test_meta());
        let mut b = BatchBuilder::new();
        let m = b.metric("c", MetricType::Counter, ValueKind::Default);
        let long_key = "k".repeat(300);
        let long_val = "é".repeat(5000);
        let s = b.series(
            m,
            &[
                ("a", "1"),
                ("drop", "x"),
                (&long_key, &long_val),
                ("z", "2"),
            ],
            &[("vu", "7")],
        );
        b.sample(s, 1_700_000_000_000_000_000, 1.0);
        let mut catalog = Catalog::new();
        catalog.absorb(&b.batch());
        let mut agg = Aggregator::new(1000);
        agg.add(s, MetricType::Counter, b.samples[0].time_ns, 1.0);
        let mut points = Vec::new();
        let mut dropped = Dropped::default();
        enc.encode(agg.take_all(), &catalog, &mut points, &mut dropped);
        let v: serde_json::Value = serde_json::from_str(&points[0]).unwrap();
        let attrs = v["attributes"].as_object().unwrap();
        // 3 common + 2 of a, kkk…, z, vu.
        assert_eq!(attrs.len(), 2, "{attrs:?}");
        assert_eq!(dropped.attributes, 2);
        let (k, val) = attrs.iter().nth(1).unwrap();
        assert_eq!(k.chars().count(), 255);
        assert_eq!(val.as_str().unwrap().chars().count(), 4096);
    }

    #[test]
    fn payloads_respect_the_byte_limit_and_split_in_halves() {
        let cfg = config("maxPayloadBytes=1024");
        let enc = Encoder::new(&cfg, &test_meta());
        let points: Vec<String> = (0..40)
            .map(|i| format!(r#"{{"name":"n{i:03}","type":"gauge","value":1}}"#))
            .collect();
        let payloads = enc.payloads(points.clone());
        assert!(payloads.len() > 1);
        let mut all = Vec::new();
        for p in &payloads {
            assert!(enc.body(p).len() <= 1024);
            serde_json::from_slice::<serde_json::Value>(&enc.body(p)).unwrap();
            all.extend(p.points.clone());
        }
        assert_eq!(all, points);
        let (a, b) = payloads[0].clone().split().unwrap();
        assert_eq!(a.points.len() + b.points.len(), payloads[0].points.len());
        assert!(Payload {
            points: vec!["x".into()],
            samples: vec![3],
        }
        .split()
        .is_none());
        let counted: Vec<(String, u64)> = points.iter().cloned().zip(1..).collect();
        let payloads = enc.payloads_counted(counted);
        let total: u64 = payloads.iter().map(Payload::sample_count).sum();
        assert_eq!(total, (1..=40).sum::<u64>());
        let (a, b) = payloads[0].clone().split().unwrap();
        assert_eq!(
            a.sample_count() + b.sample_count(),
            payloads[0].sample_count()
        );
    }

    #[test]
    fn numbers_and_suffixes() {
        let mut s = String::new();
        push_num(&mut s, 3.0);
        s.push(' ');
        push_num(&mut s, 0.1);
        s.push(' ');
        push_num(&mut s, -2.5e300);
        assert_eq!(s, "3 0.1 -2.5e+300");
        assert_eq!(percentile_suffix(95.0), "p95");
        assert_eq!(percentile_suffix(99.9), "p99_9");
    }
}
