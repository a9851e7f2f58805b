//! loadrun's conformance kit against the built `libout_opentelemetry.so`
//! (`cargo build -p out-opentelemetry` first) and the real OTLP receiver, behind a proxy the
//! kit breaks for its retry check. Stored = the sum of the `loadrun_conformance` data points
//! the receiver decoded (delta temporality, so every count appears exactly once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::http_get::get_text;

fn stored(base: &str) -> Result<u64, String> {
    let body = get_text(&format!("{base}/points"), &[])?;
    let pts: Vec<serde_json::Value> = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    Ok(of(&pts, "loadrun_conformance")
        .iter()
        .map(|p| value(p))
        .sum::<f64>() as u64)
}

fn conform(protocol: &str, target: &str, base: String) {
    let proxy = FaultProxy::new(target);
    let breaker = proxy.breaker();
    let report = Conformance::new(
        loadrun_test_support::plugin_path("opentelemetry"),
        "opentelemetry",
    )
    .arg(&format!(
        "protocol={protocol},endpoint=http://{},exportInterval=1ms,temporality=delta,timeout=2s",
        proxy.addr
    ))
    .invalid_arg("colour=blue", "colour")
    .invalid_arg("exportInterval=soon", "exportInterval")
    .invalid_arg("protocol=carrier-pigeon", "protocol")
    .invalid_arg("histogram=explicit,timeBuckets=5,1", "timeBuckets")
    .stored_samples(move || stored(&base))
    .fault(breaker)
    .run();
    println!("{report}");
    report.assert_passed();
}

#[test]
fn conforms_over_http() {
    let Some(svc) = receiver() else { return };
    let target = format!("127.0.0.1:{}", svc.var("OTLP_HTTP_PORT"));
    conform("http/protobuf", &target, http_url(&svc));
}

#[test]
fn conforms_over_grpc() {
    let Some(svc) = receiver() else { return };
    conform("grpc", svc.var("OTLP_GRPC_ADDR"), http_url(&svc));
}

#[test]
fn the_experimental_name_is_an_alias() {
    use loadrun_plugin_api::Plugin;
    let outputs = out_opentelemetry::OtelPlugin::outputs();
    assert_eq!(outputs[0].name.as_str(), "opentelemetry");
    assert!(outputs[0]
        .aliases
        .iter()
        .any(|a| a.as_str() == "experimental-opentelemetry"));
}
