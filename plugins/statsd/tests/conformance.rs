//! loadrun's conformance kit against the built `libout_statsd.so`, with the real Etsy StatsD
//! daemon as the backend: every sample sent must be counted exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;

/// The cdylib `cargo test` built next to this test binary, else the profile folder's.
#[test]
fn the_statsd_plugin_conforms() {
    let Some(svc) = Service::start("statsd", &[("STATSD_FLUSH_MS", "200")]) else {
        return;
    };
    let flush_file = svc.var("STATSD_FLUSH_FILE").to_string();
    let report = Conformance::new(loadrun_test_support::plugin_path("statsd"), "statsd")
        .arg(&format!(
            "addr={},pushInterval=100ms",
            svc.var("STATSD_ADDR")
        ))
        .invalid_arg("pushInterval=soon", "pushInterval")
        .invalid_arg("bufferSize=10", "bufferSize")
        .invalid_arg("colour=blue", "colour")
        .stored_samples(move || {
            let text = std::fs::read_to_string(&flush_file).map_err(|e| e.to_string())?;
            let mut total = 0.0;
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
                for (k, n) in v["counters"].as_object().into_iter().flatten() {
                    if k == "k6.loadrun_conformance" {
                        total += n.as_f64().unwrap_or(0.0);
                    }
                }
            }
            Ok(total as u64)
        })
        .deadlines(Duration::from_secs(5), Duration::from_secs(5))
        .run();
    println!("{report}");
    report.assert_passed();
}
