//! The encoder against k6's captured remote-write requests
//! (`/work/shared/reference/fixtures/wire/prw/`, copied into `tests/fixtures/`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::{Catalog, MetricType, ValueKind};
use loadrun_remote_write::aggregate::{AggConfig, Aggregator, STALE_NAN_BITS};
use loadrun_remote_write::naming::parse_trend_stats;
use loadrun_remote_write::proto::{
    encode_write_request, snappy_compress, Label, Sample, TimeSeries, WriteRequest,
};
use loadrun_remote_write::split::encode_requests;
use prost::Message;

const FIXTURES: [&[u8]; 2] = [
    include_bytes!("fixtures/0000.body"),
    include_bytes!("fixtures/0001.body"),
];

fn decode(body: &[u8]) -> Vec<TimeSeries> {
    let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
    decode_raw(&raw)
}

fn decode_raw(raw: &[u8]) -> Vec<TimeSeries> {
    let req = WriteRequest::decode(raw).unwrap();
    assert!(
        req.metadata.is_empty(),
        "WriteRequest holds only timeseries"
    );
    req.timeseries
}

fn key(ts: &TimeSeries) -> String {
    ts.labels
        .iter()
        .map(|l| format!("{}={}", l.name, l.value))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn re_encoding_k6s_requests_gives_the_same_bytes() {
    for body in FIXTURES {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        let series = decode_raw(&raw);
        assert!(series.len() > 70);
        assert_eq!(encode_write_request(&series), raw);
        // and our snappy is readable by a standard decoder
        let z = snappy_compress(&raw).unwrap();
        assert_eq!(snap::raw::Decoder::new().decompress_vec(&z).unwrap(), raw);
    }
}

/// Rebuilds the fixture's run from its series names and labels, feeds it through the
/// aggregator, and checks that the same series (names and labels) come out.
#[test]
fn aggregator_names_series_as_k6() {
    let fixture = decode(FIXTURES[0]);
    let stats = parse_trend_stats(
        &[
            "p(95)", "p(99.9)", "avg", "min", "max", "med", "count", "sum",
        ]
        .map(String::from),
    )
    .unwrap();
    let suffixes: Vec<String> = stats.iter().map(|(_, s)| format!("_{s}")).collect();
    let mut b = BatchBuilder::new();
    let mut metrics = std::collections::BTreeMap::new();
    let mut seen = BTreeSet::new();
    for ts in &fixture {
        let name = ts.name().strip_prefix("k6_").unwrap().to_string();
        let (base, ty, kind) = if let Some(b) = name.strip_suffix("_total") {
            let kind = if b.starts_with("data_") {
                ValueKind::Data
            } else {
                ValueKind::Default
            };
            (b.to_string(), MetricType::Counter, kind)
        } else if let Some(b) = name.strip_suffix("_rate") {
            (b.to_string(), MetricType::Rate, ValueKind::Default)
        } else {
            let s = suffixes
                .iter()
                .find(|s| name.ends_with(s.as_str()))
                .unwrap();
            (
                name.strip_suffix(s.as_str()).unwrap().to_string(),
                MetricType::Trend,
                ValueKind::Time,
            )
        };
        let tags: Vec<(String, String)> = ts
            .labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        if !seen.insert((base.clone(), tags.clone())) {
            continue;
        }
        let m = *metrics
            .entry(base.clone())
            .or_insert_with(|| b.metric(&base, ty, kind));
        let t: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let s = b.series(m, &t, &[("vu", "1"), ("iter", "0")]);
        b.sample(s, 1_795_608_272_615_000_000, 12.5);
        b.sample(s, 1_795_608_272_600_000_000, 10.0);
    }
    let mut catalog = Catalog::new();
    catalog.absorb(&b.batch());
    let mut agg = Aggregator::new(AggConfig {
        trend_stats: stats,
        native_histogram_schema: None,
        metadata_as_labels: false,
        extra_labels: vec![],
    });
    agg.add(&catalog, &b.samples);
    let ours = agg.snapshot();
    let requests = encode_requests(&ours, 10_000, usize::MAX).unwrap();
    assert_eq!(requests.len(), 1);
    let decoded = decode(&requests[0].body);
    assert_eq!(
        decoded, ours,
        "decoding our bytes gives back what was encoded"
    );

    let want: BTreeSet<String> = fixture.iter().map(key).collect();
    let got: BTreeSet<String> = decoded.iter().map(key).collect();
    assert_eq!(got, want);

    for ts in &decoded {
        // stamped with the newest sample (ms), like k6
        assert_eq!(ts.samples, vec![ts.samples[0]]);
        assert_eq!(ts.samples[0].timestamp, 1_795_608_272_615);
        let v = ts.samples[0].value;
        let name = ts.name();
        if name.ends_with("_count") {
            assert_eq!(v, 2.0, "{name}: a count, not count/1000 as k6");
        } else if name.ends_with("_sum") {
            assert!((v - 0.0225).abs() < 1e-12, "{name}: seconds");
        } else if name.ends_with("_min") {
            assert_eq!(v, 0.010, "{name}");
        } else if name.ends_with("_max") {
            assert_eq!(v, 0.0125, "{name}");
        } else if name.ends_with("_total") {
            assert_eq!(v, 22.5, "{name}: raw running total");
        } else if name.ends_with("_rate") {
            assert_eq!(v, 1.0, "{name}");
        }
    }

    // Nothing changed: nothing to send. A late sample: stamped after the last push anyway.
    assert!(agg.snapshot().is_empty());
    let mut late = BatchBuilder::new();
    late.sample(0, 1_795_608_272_000_000_000, 1.0);
    agg.add(&catalog, &late.samples);
    let again = agg.snapshot();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].samples[0].timestamp, 1_795_608_272_616);

    let stale = agg.stale_markers(1_795_608_272_000);
    assert_eq!(stale.len(), want.len());
    assert!(stale
        .iter()
        .all(|s| s.samples[0].value.to_bits() == STALE_NAN_BITS));
}

#[test]
fn requests_split_by_series_and_bytes() {
    let series: Vec<TimeSeries> = (0..25)
        .map(|i| TimeSeries {
            labels: vec![
                Label::new("__name__", "k6_x_total"),
                Label::new("n", format!("{i:04}")),
            ],
            samples: vec![Sample {
                value: i as f64,
                timestamp: 1000 + i,
            }],
            ..Default::default()
        })
        .collect();
    let by_count = encode_requests(&series, 10, usize::MAX).unwrap();
    assert_eq!(
        by_count.iter().map(|r| r.series).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    let one = encode_write_request(&series[1..2]).len(); // [0] is shorter: value 0 is left out
    let by_bytes = encode_requests(&series, 1000, one * 4 + 1).unwrap();
    assert!(by_bytes.iter().all(|r| r.raw_len <= one * 4 + 1));
    assert_eq!(by_bytes.len(), 7);
    let back: Vec<TimeSeries> = by_bytes.iter().flat_map(|r| decode(&r.body)).collect();
    assert_eq!(back, series, "nothing lost or reordered");
}
