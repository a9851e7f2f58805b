//! Samples per second through the output into its real server (see
//! `loadrun_plugin_api::testkit::throughput`). A figure, not a test.
//!
//! `cargo bench -p PACKAGE --bench export` (the server must be installed: `.ci/install-deps`).

use loadrun_plugin_api::testkit::throughput::print_bench;
use loadrun_test_support::Service;

fn main() {
    run();
}

fn run() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        println!("SKIP: no Prometheus");
        return;
    };
    let arg = format!("url={},pushInterval=100ms", svc.var("PROMETHEUS_RW_URL"));
    print_bench::<out_prometheus::PrometheusPlugin>("remote write", "prometheus", &arg);
}
