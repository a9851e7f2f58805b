//! The output driven in-process against the real OTLP receiver (official protobuf definitions),
//! over OTLP/HTTP and OTLP/gRPC; what the receiver decoded is compared with what was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use loadrun_plugin_api::testkit::completed_outcome;
use loadrun_plugin_api::WriteStatus;
use serde_json::Value;

#[test]
fn k6_metrics_over_http() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    run_k6(&format!("endpoint={base},exportInterval=1h"));
    check_k6_run(&points(&base), "http-protobuf", &base);
}

#[test]
fn k6_metrics_over_grpc() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    run_k6(&format!(
        "protocol=grpc,endpoint={},exportInterval=1h",
        grpc_url(&svc)
    ));
    check_k6_run(&points(&base), "grpc", &base);
}

#[test]
fn k6_variables_drive_grpc_without_compression() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let addr = svc.var("OTLP_GRPC_ADDR").to_string();
    let (mut out, _rec) = output(
        "",
        &[
            ("K6_OTEL_EXPORTER_TYPE", "grpc"),
            ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", &addr),
            ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
            ("K6_OTEL_SERVICE_NAME", "checkout"),
            ("K6_OTEL_HEADERS", "x-api-key=abc"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci"),
        ],
    );
    let mut run = K6Run::new();
    run.iteration(0, 3.0);
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let pts = points(&base);
    let reqs = of(&pts, "http_reqs");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["resource"]["service.name"], "checkout");
    assert_eq!(reqs[0]["resource"]["deployment.environment"], "ci");
    assert!(received(&base).iter().all(|r| r["transport"] == "grpc"));
}

/// Writes 4 iterations, lets an export happen, 4 more, stops; returns the points.
fn two_exports(base: &str, endpoint: &str, extra: &str) -> Vec<Value> {
    let (mut out, _rec) = output(
        &format!("endpoint={endpoint},exportInterval=50ms{extra}"),
        &[],
    );
    let mut run = K6Run::new();
    for i in 0..4 {
        run.iteration(i, (i + 1) as f64);
    }
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(80));
    // this write exports the first four iterations before taking its (empty) batch
    let empty = loadrun_plugin_api::testkit::BatchBuilder::new();
    assert_eq!(out.write(empty.batch()), WriteStatus::Ok);
    assert_eq!(received(base).len(), 1);
    run.b.clear_samples();
    for i in 4..8 {
        run.iteration(i, (i + 1) as f64);
    }
    assert_eq!(out.write(run.b.samples_only()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(received(base).len(), 2);
    points(base)
}

#[test]
fn delta_temporality_sends_each_interval_once() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let pts = two_exports(&base, &base, ",temporality=delta");
    let reqs: Vec<&Value> = of(&pts, "http_reqs")
        .into_iter()
        .filter(|p| attr(p, "status") == Some("200"))
        .collect();
    assert_eq!(reqs.len(), 2);
    assert!(reqs
        .iter()
        .all(|p| p["temporality"] == "AGGREGATION_TEMPORALITY_DELTA"));
    assert_eq!(
        reqs.iter().map(|p| value(p)).collect::<Vec<_>>(),
        vec![4.0, 4.0]
    );
    let dur: Vec<&Value> = of(&pts, "http_req_duration")
        .into_iter()
        .filter(|p| attr(p, "status") == Some("200"))
        .collect();
    assert_eq!(num(&dur[0]["count"]), 4.0);
    assert_eq!(num(&dur[0]["sum"]), 10.0);
    assert_eq!(num(&dur[1]["count"]), 4.0);
    assert_eq!(num(&dur[1]["sum"]), 26.0);
    assert_eq!((num(&dur[1]["min"]), num(&dur[1]["max"])), (5.0, 8.0));
    // contiguous intervals: the second starts where the first ended
    let rec = received(&base);
    let start = |r: &Value| {
        r["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "http_reqs")
            .map(|m| m["sum"]["dataPoints"][0].clone())
            .unwrap()
    };
    assert_eq!(
        start(&rec[1])["startTimeUnixNano"],
        start(&rec[0])["timeUnixNano"]
    );
    // the gauge goes out only when it changed
    assert_eq!(
        of(&pts, "vus").iter().map(|p| value(p)).collect::<Vec<_>>(),
        vec![4.0, 8.0]
    );
}

#[test]
fn cumulative_temporality_repeats_the_running_total() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let pts = two_exports(&base, &base, ",compression=none");
    let reqs: Vec<&Value> = of(&pts, "http_reqs")
        .into_iter()
        .filter(|p| attr(p, "status") == Some("200"))
        .collect();
    assert_eq!(
        reqs.iter().map(|p| value(p)).collect::<Vec<_>>(),
        vec![4.0, 8.0]
    );
    let dur: Vec<&Value> = of(&pts, "http_req_duration")
        .into_iter()
        .filter(|p| attr(p, "status") == Some("200"))
        .collect();
    assert_eq!(num(&dur[1]["count"]), 8.0);
    assert_eq!(num(&dur[1]["sum"]), 36.0);
}

#[test]
fn explicit_buckets_per_value_kind() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let (mut out, _rec) = output(
        &format!("endpoint={base},exportInterval=1h,histogram=explicit,timeBuckets=1,2.5,5"),
        &[],
    );
    let mut run = K6Run::new();
    for i in 0..8 {
        run.iteration(i, (i + 1) as f64);
    }
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let pts = points(&base);
    let d = of(&pts, "http_req_duration")
        .into_iter()
        .find(|p| attr(p, "status") == Some("200"))
        .unwrap();
    assert_eq!(d["type"], "histogram");
    let counts: Vec<f64> = d["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .collect();
    assert_eq!(counts, vec![1.0, 1.0, 3.0, 3.0]);
    assert_eq!(d["explicitBounds"], serde_json::json!([1.0, 2.5, 5.0]));
    assert_eq!(num(&d["count"]), 8.0);
    // a default-kind trend keeps the SDK's bounds, as k6 sends them
    let mine = of(&pts, "my_trend");
    assert_eq!(mine[0]["explicitBounds"].as_array().unwrap().len(), 15);
}

#[test]
fn metadata_and_legacy_rate_layout_on_request() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let (mut out, _rec) = output(
        &format!(
            "endpoint={base},exportInterval=1h,metadataAttributes=vu,singleCounterForRate=false"
        ),
        &[],
    );
    let mut run = K6Run::new();
    for i in 0..4 {
        run.iteration(i, 2.0);
    }
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let pts = points(&base);
    let reqs = of(&pts, "http_reqs");
    assert!(reqs
        .iter()
        .all(|p| attr(p, "vu") == Some("1") && attr(p, "iter").is_none()));
    assert_eq!(value(of(&pts, "checks.occurred")[0]), 3.0);
    assert_eq!(value(of(&pts, "checks.total")[0]), 4.0);
}

#[test]
fn many_series_are_split_into_bounded_requests() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let (mut out, _rec) = output(
        &format!("endpoint={base},exportInterval=1h,maxPointsPerRequest=10"),
        &[],
    );
    let mut b = loadrun_plugin_api::testkit::BatchBuilder::new();
    let m = b.metric(
        "http_reqs",
        loadrun_plugin_api::MetricType::Counter,
        loadrun_plugin_api::ValueKind::Default,
    );
    for i in 0..95 {
        let s = b.series(m, &[("url", &format!("/p/{i}"))], &[]);
        b.sample(s, T0, i as f64);
    }
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(received(&base).len(), 10);
    let pts = points(&base);
    assert_eq!(pts.len(), 95);
    assert_eq!(
        pts.iter().map(value).sum::<f64>(),
        (0..95).sum::<i32>() as f64
    );
}

fn down_is_retry(arg: String) {
    let (mut out, _rec) = output(&arg, &[]);
    let mut run = K6Run::new();
    run.iteration(0, 1.0);
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(20));
    match out.write(run.b.samples_only()) {
        WriteStatus::Retry { reason, .. } => assert!(reason.contains("127.0.0.1"), "{reason}"),
        other => panic!("expected Retry, got {other:?}"),
    }
    let t = std::time::Instant::now();
    let e = out
        .stop(&completed_outcome(), Duration::from_millis(700))
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(e.message.contains("could not be exported"), "{e}");
}

#[test]
fn receiver_down_is_retry_over_http() {
    down_is_retry(format!(
        "endpoint=http://127.0.0.1:{},exportInterval=10ms,timeout=2s",
        dead_port()
    ));
}

#[test]
fn receiver_down_is_retry_over_grpc() {
    down_is_retry(format!(
        "protocol=grpc,endpoint=http://127.0.0.1:{},exportInterval=10ms,timeout=2s",
        dead_port()
    ));
}

#[test]
fn http_statuses_map_onto_write_status() {
    let (mut out, _rec) = output(
        &format!(
            "endpoint={},exportInterval=10ms",
            canned(429, &[("Retry-After", "7")])
        ),
        &[],
    );
    let mut run = K6Run::new();
    run.iteration(0, 1.0);
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(20));
    let status = out.write(run.b.samples_only());
    assert!(status.is_retry(), "{status:?}");
    assert_eq!(status.retry_delay(), Some(Duration::from_millis(7000)));
    let (mut out, _rec) = output(
        &format!("endpoint={},exportInterval=10ms", canned(401, &[])),
        &[],
    );
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(20));
    assert!(matches!(
        out.write(run.b.samples_only()),
        WriteStatus::Fatal(_)
    ));
}

#[test]
fn recovers_after_the_receiver_comes_back_without_duplicates() {
    let Some(svc) = receiver() else { return };
    let base = http_url(&svc);
    let proxy = FaultProxy::new(svc.var("OTLP_GRPC_ADDR"));
    let (mut out, _rec) = output(
        &format!(
            "protocol=grpc,endpoint=http://{},exportInterval=10ms,temporality=delta,timeout=2s",
            proxy.addr
        ),
        &[],
    );
    let mut run = K6Run::new();
    run.iteration(0, 1.0);
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(20));
    // export the first iteration over a connection that the proxy then breaks
    run.b.clear_samples();
    run.iteration(1, 1.0);
    assert_eq!(out.write(run.b.samples_only()), WriteStatus::Ok);
    proxy.set_broken(true);
    std::thread::sleep(Duration::from_millis(150));
    let mut retries = 0;
    run.b.clear_samples();
    run.iteration(2, 1.0);
    loop {
        match out.write(run.b.samples_only()) {
            WriteStatus::Ok => break,
            WriteStatus::Retry { .. } => {
                retries += 1;
                proxy.set_broken(false);
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("{other:?}"),
        }
        assert!(retries < 10);
    }
    assert!(retries >= 1);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let pts = points(&base);
    let total: f64 = of(&pts, "iterations").iter().map(|p| value(p)).sum();
    assert_eq!(total, 3.0);
}
