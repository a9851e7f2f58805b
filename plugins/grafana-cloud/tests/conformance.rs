//! loadrun's conformance kit against the built `libout_grafana_cloud.so` and a real Prometheus
//! (remote-write receiver on): every sample counted exactly once, also when Prometheus is
//! stopped mid-run and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::prometheus::counted_total;
use loadrun_test_support::Service;

#[test]
fn the_grafana_cloud_plugin_conforms() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let rw = svc.var("PROMETHEUS_RW_URL").to_string();
    let svc = Rc::new(svc);
    let broken = Rc::new(Cell::new(false));
    let fault_svc = Rc::clone(&svc);
    let report = Conformance::new(
        loadrun_test_support::plugin_path("grafana_cloud"),
        "grafana-cloud",
    )
    .env("GRAFANA_CLOUD_PROMETHEUS_URL", &rw)
    .env("GRAFANA_CLOUD_INSTANCE_ID", "123456")
    .env("GRAFANA_CLOUD_TOKEN", "glc_conformance")
    .arg("pushInterval=1ms,timeout=2s")
    .invalid_arg("pushInterval=soon", "pushInterval")
    .invalid_arg("url=ftp://example/", "ftp")
    .invalid_arg("bearerToken=x", "bearerToken")
    .stored_samples(move || counted_total(&base, "k6_loadrun_conformance_total{testid!=\"\"}"))
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
