//! Samples per second through the output into its real server (see
//! `loadrun_plugin_api::testkit::throughput`). A figure, not a test.
//!
//! `cargo bench -p PACKAGE --bench export` (the server must be installed: `.ci/install-deps`).

use std::time::Duration;

use loadrun_plugin_api::testkit::throughput::samples_per_second;
use loadrun_plugin_api::Plugin;
use loadrun_test_support::Service;

const SERIES: usize = 2000;
const RUN: Duration = Duration::from_secs(4);

fn measure<P: Plugin>(label: &str, output: &str, arg: &str) {
    let t = samples_per_second::<P>(output, arg, SERIES, RUN);
    println!(
        "{label}: {:.0} samples/s ({} samples in {:.2} s, {SERIES} series, {} writes refused)",
        t.per_second(),
        t.samples,
        t.seconds,
        t.refused
    );
}

fn main() {
    run();
}

fn run() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        println!("SKIP: no Prometheus");
        return;
    };
    let arg = format!("url={},pushInterval=100ms", svc.var("PROMETHEUS_RW_URL"));
    measure::<out_prometheus::PrometheusPlugin>("remote write", "prometheus", &arg);
}
