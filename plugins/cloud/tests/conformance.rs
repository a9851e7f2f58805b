//! loadrun's conformance kit against the built `libout_cloud.so` (`cargo build -p out-cloud`
//! first) and the recording server, which counts the samples it holds as the sum of the
//! `loadrun_conformance` counter across every accepted push.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::CloudServer;
use loadrun_plugin_api::testkit::Conformance;

#[test]
fn the_plugin_conforms() {
    let server = CloudServer::start();
    let stored = server.clone();
    let broken = server.clone();
    let report = Conformance::new(loadrun_test_support::plugin_path("cloud"), "cloud")
        .env("K6_CLOUD_HOST", &server.url)
        .env("K6_CLOUD_TOKEN", "secrettoken")
        // Push every closed bucket at once, so the kit's fault window meets a push.
        .arg("aggregationPeriod=1s,aggregationWaitPeriod=0s,metricPushInterval=1ms")
        .invalid_arg("aggregationPeriod=1500ms", "aggregationPeriod")
        .invalid_arg("colour=blue", "colour")
        .invalid_arg("apiVersion=1", "apiVersion")
        .invalid_arg("metricPushConcurrency=0", "metricPushConcurrency")
        .stored_samples(move || Ok(stored.counter_sum("loadrun_conformance") as u64))
        .fault(move |on| broken.set_fault(if on { 503 } else { 0 }))
        .run();
    println!("{report}");
    report.assert_passed();
    // Every create was finished, and the token never showed in the kit's view.
    let creates = server
        .requests_to("/v1/tests")
        .iter()
        .filter(|r| r.path == "/v1/tests")
        .count();
    assert!(creates >= 4, "{creates}");
}
