//! `-o opentelemetry` as a user runs it, over OTLP/gRPC with mutual TLS: a short load test into
//! the real OTLP receiver (TLS-only gRPC listener, certificates made at test time), then what it
//! decoded against the summary export. Then plaintext against the same listener: the output
//! fails at its first export, saying why, and the run goes on.

use loadrun_test_support::Service;
use serde_json::Value;

use crate::support::{get_json, quick_run};

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// The sum of `field` over the receiver's data points of `metric` (delta temporality: each
/// sample is in exactly one point).
fn total(points: &[Value], metric: &str, field: &str) -> f64 {
    points
        .iter()
        .filter(|p| p["metric"] == metric)
        .map(|p| p.get(field).map_or(0.0, num))
        .sum()
}

#[test]
fn opentelemetry_over_mutual_tls_holds_what_the_summary_counted() {
    let Some(svc) = Service::start("otlp-receiver", &[("OTLP_GRPC_MTLS", "1")]) else {
        return;
    };
    let base = svc.var("OTLP_HTTP_URL").to_string();
    // k6's variables: host:port means TLS; by name, so the DNS name is checked.
    let endpoint = format!("localhost:{}", svc.var("OTLP_GRPC_PORT"));
    let env = [
        ("K6_OTEL_EXPORTER_TYPE", "grpc"),
        ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", endpoint.as_str()),
        ("K6_OTEL_TLS_CERTIFICATE", svc.var("OTLP_GRPC_TLS_CA_FILE")),
        (
            "K6_OTEL_TLS_CLIENT_CERTIFICATE",
            svc.var("OTLP_GRPC_TLS_CLIENT_CERT"),
        ),
        (
            "K6_OTEL_TLS_CLIENT_KEY",
            svc.var("OTLP_GRPC_TLS_CLIENT_KEY"),
        ),
        ("K6_OTEL_EXPORT_INTERVAL", "500ms"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
    ];
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["opentelemetry"],
        &["-o", "experimental-opentelemetry"],
        &env,
    );
    run.assert_clean();

    let received = get_json(&format!("{base}/received"), &[]);
    let received = received.as_array().unwrap();
    assert!(received.len() >= 2, "exports: {}", received.len());
    for r in received {
        assert_eq!(r["transport"], "grpc");
        assert_eq!(r["peer"]["security"], "ssl", "not over TLS: {}", r["peer"]);
        assert_eq!(r["peer"]["client_cn"], "loadrun-test-client");
    }
    let points = get_json(&format!("{base}/points"), &[]);
    let points = points.as_array().unwrap();
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0, "no requests made");
    assert_eq!(total(points, "http_reqs", "asDouble"), reqs, "http_reqs");
    assert_eq!(
        total(points, "iterations", "asDouble"),
        run.metric("iterations", "count"),
        "iterations"
    );
    assert_eq!(
        total(points, "http_req_duration", "count"),
        reqs,
        "http_req_duration count"
    );
    let max = points
        .iter()
        .filter(|p| p["metric"] == "http_req_duration")
        .map(|p| num(&p["max"]))
        .fold(f64::MIN, f64::max);
    // Within a few ulps (see out_timescaledb: the two sometimes differ in the last bit).
    let want = run.metric("http_req_duration", "max");
    assert!((max - want).abs() <= 1e-12 * want, "max: {max} vs {want}");
    // Reported under the name it was asked for.
    let report = run.output_report("experimental-opentelemetry");
    assert_eq!(report["written"], report["received"], "{report}");

    // Plaintext (k6's INSECURE) against the TLS listener: the output fails at its first export
    // with the reason, nothing arrives, and the test itself runs to the end.
    let before = received.len();
    let mut env = env.to_vec();
    env.push(("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"));
    let run = quick_run(
        "/get",
        1,
        "2s",
        &["opentelemetry"],
        &["-o", "opentelemetry"],
        &env,
    );
    let err = run.stderr();
    eprintln!(
        "loadrun with plaintext against TLS ({:?}):\n{err}",
        run.output.status.code()
    );
    assert!(
        err.contains("the receiver speaks TLS on this port: use an https:// endpoint"),
        "{err}"
    );
    assert!(run.metric("http_reqs", "count") > 0.0);
    let report = run.output_report("opentelemetry");
    assert_eq!(report["written"], 0, "{report}");
    assert!(report["dropped"]["fatal"].as_u64() > Some(0), "{report}");
    let after = get_json(&format!("{base}/received"), &[]);
    assert_eq!(
        after.as_array().unwrap().len(),
        before,
        "nothing more arrived"
    );
}
