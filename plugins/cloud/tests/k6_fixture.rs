//! Replays the values of k6 v1.1's captured metrics push (tests/fixtures/0001.body) through the
//! aggregator and encoder, and checks every series comes out byte for byte as k6 sent it
//! (bucket indexes, counts, spans, sums, min/max, timestamps, labels). Also: the create and
//! finish bodies against the capture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::{Catalog, MetricType, ThresholdDef, ValueKind};
use out_cloud::aggregate::Aggregator;
use out_cloud::hdr::{bucket_index, MIN_RESOLUTION};

/// (metric name, labels).
type SeriesKey = (String, Vec<(String, String)>);

fn bucket_of(v: f64) -> u64 {
    u64::from(bucket_index(v / MIN_RESOLUTION))
}

/// The value range of HDR bucket `b` (a little inside its bounds).
fn bucket_range(b: u64) -> (f64, f64) {
    // Invert k6's index: below 256 the bucket is u itself, above it 128 sub-buckets per power of 2.
    let (u_lo, u_hi) = if b < 256 {
        (b, b)
    } else {
        let n = (b >> 7) - 1;
        let sub = b - (n << 7);
        (sub << n, ((sub + 1) << n) - 1)
    };
    let eps = 1e-9;
    (
        (u_lo as f64 - 1.0) * MIN_RESOLUTION + eps,
        u_hi as f64 * MIN_RESOLUTION - eps,
    )
}

/// Values that give exactly the fixture's trend bucket: its buckets, min, max, and the sum
/// bit for bit when added in the returned order.
fn trend_values(d: &DecodedValue) -> Vec<f64> {
    let mut buckets = Vec::new();
    let mut index = 0u64;
    let mut ci = 0usize;
    for (i, (offset, len)) in d.spans.iter().enumerate() {
        index = if i == 0 { *offset } else { index + 1 + offset };
        for j in 0..*len {
            if j > 0 {
                index += 1;
            }
            for _ in 0..d.counters[ci] {
                buckets.push(index);
            }
            ci += 1;
        }
    }
    assert_eq!(buckets.len() as u64, d.count);
    let n = buckets.len();
    match n {
        1 => return vec![d.min],
        2 => {
            assert_eq!((d.min + d.max).to_bits(), d.sum.to_bits());
            return vec![d.min, d.max];
        }
        _ => {}
    }
    assert_eq!(bucket_of(d.min), buckets[0]);
    assert_eq!(bucket_of(d.max), buckets[n - 1]);
    // Spread what min and max leave of the sum over the middle buckets, at the same relative
    // place in each; the last middle value is then nudged by ulps to hit the sum exactly.
    let middle: Vec<(f64, f64)> = buckets[1..n - 1].iter().map(|&b| bucket_range(b)).collect();
    let rest = d.sum - d.min - d.max;
    let lo: f64 = middle.iter().map(|r| r.0).sum();
    let hi: f64 = middle.iter().map(|r| r.1).sum();
    let f = ((rest - lo) / (hi - lo)).clamp(0.0, 1.0);
    let mut vals = vec![d.min];
    for r in &middle[..middle.len() - 1] {
        let v = (r.0 + f * (r.1 - r.0)).clamp(d.min, d.max);
        assert_eq!(bucket_of(v), bucket_of(r.1));
        vals.push(v);
    }
    vals.push(d.max);
    let partial = vals.iter().fold(0.0f64, |a, v| a + v);
    let target = buckets[n - 2];
    let x0 = d.sum - partial;
    for k in 0..2000i64 {
        for sign in [1i64, -1] {
            let x = f64::from_bits((x0.to_bits() as i64 + sign * k) as u64);
            if (partial + x).to_bits() == d.sum.to_bits()
                && bucket_of(x) == target
                && x >= d.min
                && x <= d.max
            {
                vals.push(x);
                return vals;
            }
        }
    }
    panic!("no value set reproduces {d:?}");
}

#[test]
fn k6_fixture_values_encode_to_the_same_series_bytes() {
    let pb = unsnappy(&fixture("0001.body"));
    let want = decode_set(&pb);
    assert_eq!(want.test_run_id, "4242");
    assert_eq!(want.aggregation_period, 2);

    let mut b = BatchBuilder::new();
    let mut expected: BTreeMap<SeriesKey, Vec<u8>> = BTreeMap::new();
    let mut samples = 0usize;
    for m in &want.metrics {
        let t = match m.type_code {
            1 => MetricType::Counter,
            2 => MetricType::Gauge,
            3 => MetricType::Rate,
            4 => MetricType::Trend,
            other => panic!("type {other}"),
        };
        let mid = b.metric(&m.name, t, ValueKind::Default);
        for s in &m.series {
            let tags: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let sid = b.series(mid, &tags, &[]);
            expected.insert((m.name.clone(), s.labels.clone()), s.raw.clone());
            for v in &s.values {
                assert_eq!(v.nanos, 0);
                let at = v.seconds * 1_000_000_000 + 700_000_000;
                let values: Vec<f64> = match t {
                    MetricType::Counter => vec![v.value],
                    MetricType::Gauge => {
                        assert_eq!(v.min, v.max, "the fixture's gauges are constant");
                        assert_eq!(v.avg, v.value);
                        vec![v.value; v.count as usize]
                    }
                    MetricType::Rate => {
                        let mut r = vec![1.0; v.nonzero as usize];
                        r.extend(vec![0.0; (v.total - v.nonzero) as usize]);
                        r
                    }
                    MetricType::Trend => {
                        assert_eq!(v.min_resolution, Some(0.001));
                        assert_eq!(v.significant_digits, None);
                        trend_values(v)
                    }
                };
                for x in values {
                    b.sample(sid, at, x);
                    samples += 1;
                }
            }
        }
    }
    assert!(samples > 100, "{samples}");

    let mut catalog = Catalog::new();
    catalog.absorb(&b.batch());
    let mut agg = Aggregator::new(2_000_000_000, 8_000_000_000);
    for s in b.samples.iter() {
        let (m, _) = catalog.resolve(s).unwrap();
        agg.add(s.series, m.metric_type, s.time_ns, s.value);
    }
    let closed = agg.close(0, true);
    let enc = out_cloud::encoder::encode(&closed, &catalog, "4242", 2, 1000);
    assert_eq!(enc.payloads.len(), 1);
    let got = decode_set(&enc.payloads[0].protobuf);
    assert_eq!(got.test_run_id, "4242");
    assert_eq!(got.aggregation_period, 2);

    let mut got_series = BTreeMap::new();
    for m in &got.metrics {
        let want_m = want.metrics.iter().find(|w| w.name == m.name).unwrap();
        assert_eq!(m.type_code, want_m.type_code, "{}", m.name);
        for s in &m.series {
            got_series.insert((m.name.clone(), s.labels.clone()), s.raw.clone());
        }
    }
    assert_eq!(got_series.len(), expected.len());
    let mut compared = 0;
    for (key, raw) in &expected {
        let mine = got_series
            .get(key)
            .unwrap_or_else(|| panic!("missing {key:?}"));
        if mine != raw {
            panic!(
                "series {key:?} differs:\n k6:   {:?}\n ours: {:?}",
                decode_series(raw),
                decode_series(mine)
            );
        }
        compared += 1;
    }
    assert_eq!(compared, expected.len());
    // The whole set is the fixture's bytes up to the order of metrics (a Go map's order).
    assert_eq!(enc.payloads[0].protobuf.len(), pb.len());
}

#[test]
fn the_captured_trend_buckets_are_k6s() {
    // The reference's worked example: 4 http_req_connecting values from 0.159 to 0.178 ms.
    let pb = unsnappy(&fixture("0001.body"));
    let set = decode_set(&pb);
    let m = set
        .metrics
        .iter()
        .find(|m| m.name == "http_req_connecting")
        .unwrap();
    let v = &m.series[0].values[0];
    assert_eq!(v.counters, vec![1, 1, 1, 1]);
    assert_eq!(v.spans, vec![(160, 1), (3, 1), (1, 1), (12, 1)]);
    let mut h = out_cloud::hdr::Histogram::new();
    for x in trend_values(v) {
        h.add(x);
    }
    let (c, s) = h.counters_and_spans();
    assert_eq!(c, vec![1, 1, 1, 1]);
    let s: Vec<(u64, u64)> = s
        .iter()
        .map(|s| (u64::from(s.offset), u64::from(s.length)))
        .collect();
    assert_eq!(s, v.spans);
    assert_eq!(h.sum.to_bits(), v.sum.to_bits());
}

fn capture_init() -> loadrun_plugin_api::OutputInit {
    let mut init = init(
        Some("script.js"),
        &[
            ("K6_CLOUD_TOKEN", "secrettoken"),
            ("K6_CLOUD_PROJECT_ID", "77"),
            ("K6_CLOUD_HOST", "http://127.0.0.1:9"),
        ],
    );
    init.test.max_vus = 1;
    init.test.planned_duration_ms = Some(32_000).into();
    init.test.thresholds = vec![
        ThresholdDef {
            metric: "checks{mytag:hello}".into(),
            source: "rate>0.5".into(),
            abort_on_fail: false,
        },
        ThresholdDef {
            metric: "http_req_duration".into(),
            source: "p(95)<500".into(),
            abort_on_fail: false,
        },
    ]
    .into();
    init
}

#[test]
fn create_and_finish_bodies_match_the_capture() {
    let cfg = out_cloud::Config::from_init(&capture_init()).unwrap();
    assert_eq!(
        out_cloud::api::create_body(&cfg).as_bytes(),
        &fixture("0000.body")[..]
    );
    let done = outcome(&[
        ("http_req_duration", "p(95)<500", true),
        ("checks{mytag:hello}", "rate>0.5", true),
    ]);
    assert_eq!(
        out_cloud::api::finish_body(&done).as_bytes(),
        &fixture("0002.body")[..]
    );
}
