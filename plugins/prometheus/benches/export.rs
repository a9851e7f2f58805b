//! Samples per second through the output into its real server: many series, frequent exports,
//! so encoding and sending (not only aggregation) are on the path. A figure, not a test.
//!
//! `cargo bench -p PACKAGE --bench export` (the server must be installed: `.ci/install-deps`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{self, completed_outcome, BatchBuilder};
use loadrun_plugin_api::{MetricType, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::Service;

const SERIES: usize = 2000;
const RUN: Duration = Duration::from_secs(4);

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Writes batches of one sample per series for [`RUN`], then stops; samples/s over it all.
fn measure<P: Plugin>(label: &str, output: &str, arg: &str) {
    let (mut out, _rec) = testkit::started::<P>(testkit::init(output, Some(arg), "{}", &[]));
    let mut defs = BatchBuilder::new();
    let trend = defs.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let counter = defs.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let mut ids = Vec::new();
    for i in 0..SERIES {
        let url = format!("http://test.k6.io/item/{i}");
        let tags = [("method", "GET"), ("name", url.as_str()), ("status", "200")];
        ids.push(defs.series(if i % 2 == 0 { trend } else { counter }, &tags, &[]));
    }
    assert_eq!(out.write(defs.batch()), WriteStatus::Ok);
    let started = Instant::now();
    let mut samples = 0u64;
    let mut retries = 0u64;
    let mut n = 0u64;
    while started.elapsed() < RUN {
        let mut b = BatchBuilder::new();
        let t = now_ns();
        for &id in &ids {
            n += 1;
            b.sample(id, t, (n % 997) as f64 + 0.5);
        }
        match out.write(b.samples_only()) {
            WriteStatus::Ok => samples += ids.len() as u64,
            _ => retries += 1,
        }
    }
    out.stop(&completed_outcome(), Duration::from_secs(30))
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    println!(
        "{label}: {:.0} samples/s ({samples} samples in {took:.2} s, {SERIES} series, {retries} writes refused)",
        samples as f64 / took
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
