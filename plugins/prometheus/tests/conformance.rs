//! loadrun's conformance kit against the built `libout_prometheus.so` and a real Prometheus
//! (remote-write receiver on): every sample counted exactly once, also when Prometheus is
//! stopped mid-run and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;

#[test]
fn the_prometheus_plugin_conforms() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let rw = svc.var("PROMETHEUS_RW_URL").to_string();
    let svc = Rc::new(svc);
    let broken = Rc::new(Cell::new(false));
    let fault_svc = Rc::clone(&svc);
    let report = Conformance::new(
        loadrun_test_support::plugin_path("prometheus"),
        "prometheus",
    )
    .arg(&format!("url={rw},pushInterval=1ms,timeout=2s"))
    .invalid_arg("pushInterval=soon", "pushInterval")
    .invalid_arg("url=ftp://example/", "ftp")
    .invalid_arg("colour=blue", "colour")
    .invalid_arg("sigV4Region=eu-west-1", "sigV4")
    .stored_samples(move || common::stored(&base))
    .fault(move |b| {
        if b && !broken.get() {
            fault_svc.stop();
        } else if !b && broken.get() {
            fault_svc.restart();
        }
        broken.set(b);
    })
    .deadlines(Duration::from_secs(10), Duration::from_secs(5))
    .run();
    println!("{report}");
    report.assert_passed();
    drop(svc);
}
