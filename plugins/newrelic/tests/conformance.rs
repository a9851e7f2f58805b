//! loadrun's conformance kit against the built `libout_newrelic.so`, with the recording Metric
//! API as the backend: what it holds is the sum of the accepted `k6.loadrun_conformance`
//! counts, and the fault toggle makes it answer 503.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MetricApi, KEY};
use loadrun_plugin_api::testkit::Conformance;

#[test]
fn the_plugin_conforms() {
    let api = MetricApi::start();
    let stored = api.handle();
    let fault = api.handle();
    let report = Conformance::new(loadrun_test_support::plugin_path("newrelic"), "newrelic")
        .arg(&format!("endpoint={},pushInterval=100ms", api.url))
        .env("NEW_RELIC_LICENSE_KEY", KEY)
        .invalid_arg("region=mars", "region")
        .invalid_arg("pushInterval=soon", "pushInterval")
        .invalid_arg("percentiles=50,150", "percentiles")
        .invalid_arg("colour=blue", "colour")
        .stored_samples(move || Ok(stored.count_sum("k6.loadrun_conformance") as u64))
        .fault(move |broken| {
            // The output aggregates: it only talks to New Relic once a window has closed. The
            // kit writes all its batches within milliseconds, so let the outage begin a moment
            // after the first batch (as a real one would), once that batch's window is due:
            // the next write then meets the 503s and must ask for retries.
            if broken {
                std::thread::sleep(std::time::Duration::from_millis(1500));
            }
            fault.set_broken(broken)
        })
        .run();
    println!("{report}");
    report.assert_passed();
    let problems = api.handle().problems();
    assert!(problems.is_empty(), "invalid requests: {problems:?}");
    for r in api.received() {
        assert_eq!(r.header("api-key"), Some(KEY));
    }
}
