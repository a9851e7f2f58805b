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
use out_opentelemetry::proto::{self, Value};

const K6_BODY: &[u8] = include_bytes!("fixtures/k6-otlp-http-0001.body");

/// A metric as decoded: its name → (oneof field number, unit, data kind fields, first point).
struct Decoded {
    kind: u32,
    unit: String,
    temporality: Option<u64>,
    monotonic: Option<u64>,
    points: Vec<Vec<(u32, Value<'static>)>>,
}

fn leak(b: &[u8]) -> &'static [u8] {
    Box::leak(b.to_vec().into_boxed_slice())
}

fn kv_list(fields: &[(u32, Value<'_>)], field: u32) -> BTreeMap<String, String> {
    proto::all(fields, field)
        .into_iter()
        .map(|kv| {
            let f = proto::fields(kv.as_bytes().unwrap()).unwrap();
            let k = proto::one(&f, 1).unwrap().as_str().unwrap().to_string();
            let av = proto::fields(proto::one(&f, 2).unwrap().as_bytes().unwrap()).unwrap();
            let v = proto::one(&av, 1).unwrap().as_str().unwrap().to_string();
            (k, v)
        })
        .collect()
}

/// (resource attributes, scope name, metrics by name)
fn decode(body: &[u8]) -> (BTreeMap<String, String>, String, BTreeMap<String, Decoded>) {
    let body = leak(body);
    let req = proto::fields(body).unwrap();
    let rm = proto::fields(proto::one(&req, 1).unwrap().as_bytes().unwrap()).unwrap();
    let res = proto::fields(proto::one(&rm, 1).unwrap().as_bytes().unwrap()).unwrap();
    let resource = kv_list(&res, 1);
    let sm = proto::fields(proto::one(&rm, 2).unwrap().as_bytes().unwrap()).unwrap();
    let scope = proto::fields(proto::one(&sm, 1).unwrap().as_bytes().unwrap()).unwrap();
    let scope_name = proto::one(&scope, 1).unwrap().as_str().unwrap().to_string();
    let mut metrics = BTreeMap::new();
    for m in proto::all(&sm, 2) {
        let mf = proto::fields(m.as_bytes().unwrap()).unwrap();
        let name = proto::one(&mf, 1).unwrap().as_str().unwrap().to_string();
        let unit = proto::one(&mf, 3)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let (kind, data) = mf
            .iter()
            .find(|(f, _)| matches!(f, 5 | 7 | 9 | 10))
            .map(|(f, v)| (*f, proto::fields(v.as_bytes().unwrap()).unwrap()))
            .unwrap();
        let points = proto::all(&data, 1)
            .into_iter()
            .map(|p| proto::fields(p.as_bytes().unwrap()).unwrap())
            .collect();
        metrics.insert(
            name,
            Decoded {
                kind,
                unit,
                temporality: proto::one(&data, 2).and_then(|v| v.as_u64()),
                monotonic: proto::one(&data, 3).and_then(|v| v.as_u64()),
                points,
            },
        );
    }
    (resource, scope_name, metrics)
}

/// The fields a data point carries and their wire kinds (exemplars aside).
fn shape(point: &[(u32, Value<'_>)]) -> Vec<(u32, &'static str)> {
    let mut s: Vec<(u32, &'static str)> = point
        .iter()
        .map(|(f, v)| {
            let w = match v {
                Value::Varint(_) => "varint",
                Value::Fixed64(_) => "fixed64",
                Value::Fixed32(_) => "fixed32",
                Value::Bytes(_) => "bytes",
            };
            (*f, w)
        })
        .collect();
    s.sort();
    s.dedup();
    s
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
    encode_request(&env, &agg, &due, t + 1_000_000_000)
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
        let attr_field = if a.kind == 9 { 9 } else { 7 };
        assert_eq!(
            kv_list(pb, attr_field),
            kv_list(pa, attr_field),
            "{name}: attributes"
        );
    }
    // the counter and the rates carry the same values
    for name in ["k6_http_reqs", "k6_checks.occurred", "k6_checks.total"] {
        let v = |d: &Decoded| {
            proto::one(
                &d.points[0],
                if d.kind == 7 && name.contains('.') {
                    6
                } else {
                    4
                },
            )
            .unwrap()
        };
        assert_eq!(v(&us[name]), v(&k6[name]), "{name}");
    }
    // the histogram point matches byte for byte where the values are the same
    let (a, b) = (
        &k6["k6_http_req_duration"].points[0],
        &us["k6_http_req_duration"].points[0],
    );
    for field in [4, 6, 7, 11, 12] {
        assert_eq!(
            proto::one(b, field),
            proto::one(a, field),
            "histogram field {field}"
        );
    }
    let sum = |p: &[(u32, Value<'_>)]| proto::one(p, 5).unwrap().as_f64().unwrap();
    assert!((sum(b) - sum(a)).abs() < 1e-9);
}

#[test]
fn k6_request_metadata() {
    let meta = include_str!("fixtures/k6-otlp-http-0001.meta");
    assert!(meta.starts_with("POST /v1/metrics"));
    assert!(meta.contains("Content-Type: application/x-protobuf"));
}
