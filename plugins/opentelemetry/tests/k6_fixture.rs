//! The encoder against k6's real OTLP/HTTP request (k6 v1.1.0, `tests/fixtures/k6-otlp-http-0001.*`,
//! captured from `-o experimental-opentelemetry`): with k6's layout selected (explicit SDK
//! buckets, `.occurred`/`.total` rates, prefix `k6_`), every metric we both send must have the
//! same message kind, unit, temporality, data point fields, attributes and bucket bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use loadrun_plugin_api::testkit::{init, BatchBuilder};
use loadrun_plugin_api::{Catalog, MetricType, ValueKind};
use out_opentelemetry::aggregate::Aggregator;
use out_opentelemetry::config::Config;
use out_opentelemetry::encoder::{encode_request, Envelope};
use out_opentelemetry::otlp::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use out_opentelemetry::otlp::opentelemetry::proto::common::v1::{any_value, KeyValue};
use out_opentelemetry::otlp::opentelemetry::proto::metrics::v1::{
    metric::Data, number_data_point, HistogramDataPoint, NumberDataPoint,
};
use prost::Message;

const K6_BODY: &[u8] = include_bytes!("fixtures/k6-otlp-http-0001.body");

/// One data point as decoded.
#[derive(Debug, Clone)]
enum Point {
    Number(NumberDataPoint),
    Histogram(HistogramDataPoint),
    Exponential,
}

/// A metric as decoded: its data kind, unit, temporality, monotonicity and points.
struct Decoded {
    kind: &'static str,
    unit: String,
    temporality: Option<i32>,
    monotonic: Option<bool>,
    points: Vec<Point>,
}

fn kv_list(attrs: &[KeyValue]) -> BTreeMap<String, String> {
    attrs
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => panic!("{}: not a string: {other:?}", kv.key),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

/// (resource attributes, scope name, metrics by name)
fn decode(body: &[u8]) -> (BTreeMap<String, String>, String, BTreeMap<String, Decoded>) {
    let req = ExportMetricsServiceRequest::decode(body).unwrap();
    let rm = &req.resource_metrics[0];
    let resource = kv_list(&rm.resource.as_ref().unwrap().attributes);
    let sm = &rm.scope_metrics[0];
    let scope_name = sm.scope.as_ref().unwrap().name.clone();
    let mut metrics = BTreeMap::new();
    for m in &sm.metrics {
        let numbers = |dps: &[NumberDataPoint]| dps.iter().cloned().map(Point::Number).collect();
        let decoded = match m.data.as_ref().unwrap() {
            Data::Gauge(g) => Decoded {
                kind: "gauge",
                unit: m.unit.clone(),
                temporality: None,
                monotonic: None,
                points: numbers(&g.data_points),
            },
            Data::Sum(s) => Decoded {
                kind: "sum",
                unit: m.unit.clone(),
                temporality: Some(s.aggregation_temporality),
                monotonic: Some(s.is_monotonic),
                points: numbers(&s.data_points),
            },
            Data::Histogram(h) => Decoded {
                kind: "histogram",
                unit: m.unit.clone(),
                temporality: Some(h.aggregation_temporality),
                monotonic: None,
                points: h
                    .data_points
                    .iter()
                    .cloned()
                    .map(Point::Histogram)
                    .collect(),
            },
            Data::ExponentialHistogram(h) => Decoded {
                kind: "exponential_histogram",
                unit: m.unit.clone(),
                temporality: Some(h.aggregation_temporality),
                monotonic: None,
                points: h.data_points.iter().map(|_| Point::Exponential).collect(),
            },
        };
        metrics.insert(m.name.clone(), decoded);
    }
    (resource, scope_name, metrics)
}

/// The fields a data point carries (proto3: a field is on the wire when not zero or set).
fn shape(point: &Point) -> Vec<&'static str> {
    let mut s = Vec::new();
    let mut on = |present: bool, name: &'static str| {
        if present {
            s.push(name)
        }
    };
    match point {
        Point::Number(p) => {
            on(!p.attributes.is_empty(), "attributes");
            on(p.start_time_unix_nano != 0, "start_time_unix_nano");
            on(p.time_unix_nano != 0, "time_unix_nano");
            match p.value {
                Some(number_data_point::Value::AsDouble(_)) => on(true, "as_double"),
                Some(number_data_point::Value::AsInt(_)) => on(true, "as_int"),
                None => {}
            }
            on(p.flags != 0, "flags");
        }
        Point::Histogram(p) => {
            on(!p.attributes.is_empty(), "attributes");
            on(p.start_time_unix_nano != 0, "start_time_unix_nano");
            on(p.time_unix_nano != 0, "time_unix_nano");
            on(p.count != 0, "count");
            on(p.sum.is_some(), "sum");
            on(!p.bucket_counts.is_empty(), "bucket_counts");
            on(!p.explicit_bounds.is_empty(), "explicit_bounds");
            on(p.flags != 0, "flags");
            on(p.min.is_some(), "min");
            on(p.max.is_some(), "max");
        }
        Point::Exponential => on(true, "exponential"),
    }
    s
}

fn attributes(point: &Point) -> BTreeMap<String, String> {
    match point {
        Point::Number(p) => kv_list(&p.attributes),
        Point::Histogram(p) => kv_list(&p.attributes),
        Point::Exponential => BTreeMap::new(),
    }
}

fn ours() -> Vec<u8> {
    let bounds = "0,5,10,25,50,75,100,250,500,750,1000,2500,5000,7500,10000";
    let cfg = Config::from_init(&init(
        "opentelemetry",
        Some(&format!(
            "metricPrefix=k6_,histogram=explicit,timeBuckets={bounds},singleCounterForRate=false"
        )),
        "{}",
        &[],
    ))
    .unwrap();
    let mut b = BatchBuilder::new();
    let tags = [
        ("method", "GET"),
        ("mytag", "hello"),
        ("scenario", "default"),
        ("status", "200"),
        ("testid", "demo"),
        ("group", ""),
    ];
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let gauge = b.metric("my_gauge", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let s_reqs = b.series(reqs, &tags, &[("vu", "1")]);
    let s_dur = b.series(dur, &tags, &[("vu", "1")]);
    let s_gauge = b.series(gauge, &[("scenario", "default"), ("testid", "demo")], &[]);
    let s_checks = b.series(
        checks,
        &[
            ("mytag", "hello"),
            ("scenario", "default"),
            ("testid", "demo"),
        ],
        &[],
    );
    let t = 1_795_608_297_377_063_383;
    b.sample(s_reqs, t, 1.0).sample(s_reqs, t, 1.0);
    b.sample(s_dur, t, 0.610326).sample(s_dur, t, 0.749123);
    b.sample(s_gauge, t, 42.0);
    b.sample(s_checks, t, 1.0).sample(s_checks, t, 1.0);
    let mut cat = Catalog::new();
    cat.absorb(&b.batch());
    let mut agg = Aggregator::new(
        cfg.metric_prefix.clone(),
        cfg.histogram.clone(),
        cfg.metadata.clone(),
    );
    for s in &b.samples {
        agg.record(&cat, s);
    }
    let env = Envelope {
        resource: cfg.resource.clone(),
        temporality: cfg.temporality,
        single_counter_for_rate: cfg.single_counter_for_rate,
    };
    let due = agg.due(cfg.temporality);
    encode_request(&env, &agg, &due, t + 1_000_000_000).encode_to_vec()
}

#[test]
fn our_request_has_k6s_layout() {
    let (k6_res, k6_scope, k6) = decode(K6_BODY);
    let body = ours();
    let (res, scope, us) = decode(&body);

    assert_eq!(scope, k6_scope);
    for key in k6_res.keys() {
        assert!(
            res.contains_key(key),
            "resource attribute {key} missing: {res:?}"
        );
    }
    assert_eq!(res["service.name"], k6_res["service.name"]);

    let compared = [
        "k6_http_reqs",
        "k6_http_req_duration",
        "k6_my_gauge",
        "k6_checks.occurred",
        "k6_checks.total",
    ];
    for name in compared {
        let (a, b) = (&k6[name], &us[name]);
        assert_eq!(b.kind, a.kind, "{name}: message kind");
        assert_eq!(b.unit, a.unit, "{name}: unit");
        assert_eq!(b.temporality, a.temporality, "{name}: temporality");
        assert_eq!(b.monotonic, a.monotonic, "{name}: monotonic");
        let (pa, pb) = (&a.points[0], &b.points[0]);
        assert_eq!(shape(pb), shape(pa), "{name}: data point fields");
        assert_eq!(attributes(pb), attributes(pa), "{name}: attributes");
    }
    // the counter and the rates carry the same values
    for name in ["k6_http_reqs", "k6_checks.occurred", "k6_checks.total"] {
        let v = |d: &Decoded| match &d.points[0] {
            Point::Number(p) => p.value,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(v(&us[name]), v(&k6[name]), "{name}");
    }
    // the histogram point matches where the values are the same
    let histogram = |d: &Decoded| match &d.points[0] {
        Point::Histogram(p) => p.clone(),
        other => panic!("not an explicit histogram: {other:?}"),
    };
    let (a, b) = (
        histogram(&k6["k6_http_req_duration"]),
        histogram(&us["k6_http_req_duration"]),
    );
    assert_eq!(b.count, a.count, "count");
    assert_eq!(b.bucket_counts, a.bucket_counts, "bucket_counts");
    assert_eq!(b.explicit_bounds, a.explicit_bounds, "explicit_bounds");
    assert_eq!(b.min, a.min, "min");
    assert_eq!(b.max, a.max, "max");
    assert!((b.sum.unwrap() - a.sum.unwrap()).abs() < 1e-9);
}

#[test]
fn k6_request_metadata() {
    let meta = include_str!("fixtures/k6-otlp-http-0001.meta");
    assert!(meta.starts_with("POST /v1/metrics"));
    assert!(meta.contains("Content-Type: application/x-protobuf"));
}
