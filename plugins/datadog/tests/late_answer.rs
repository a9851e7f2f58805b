//! Datadog answering after the output's timeout, having taken the request (a recording server
//! that sleeps before its answer). Series points are last-write-wins per series and timestamp,
//! so a series body is sent again; distribution points are merged into the distribution, so a
//! distribution body is not: its samples are reported lost once instead of counted twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{completed_outcome, init, now_ns, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::recorder::{Recorder, Response};
use out_datadog::DatadogPlugin;

const KEY: &str = "0123456789abcdef0123456789abcdef";
const DIST: &str = "/api/v1/distribution_points";
const SERIES: &str = "/api/v2/series";

fn batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let r = b.series(reqs, &[("method", "GET")], &[]);
    let d = b.series(dur, &[("method", "GET")], &[]);
    let t = now_ns();
    for i in 0..4 {
        b.sample(r, t + i, 1.0);
        b.sample(d, t + i, 10.0 + i as f64);
    }
    b
}

/// Waits (bounded) until the recorder has logged `n` requests to `path` (it logs one once
/// answered).
fn wait_for(rec: &Recorder, path: &str, n: usize) -> usize {
    let count = || rec.received().iter().filter(|e| e.path == path).count();
    let until = Instant::now() + Duration::from_secs(10);
    while count() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    count()
}

/// Answers 202, the first request to `late` only after `delay`.
fn intake(late: &'static str, delay: Duration) -> Recorder {
    let first = AtomicBool::new(true);
    Recorder::start(move |req| {
        if req.path == late && first.swap(false, SeqCst) {
            std::thread::sleep(delay);
        }
        Response::json(202, "{\"errors\":[]}")
    })
}

fn output(
    rec: &Recorder,
) -> (
    Box<dyn loadrun_plugin_api::Output>,
    std::sync::Arc<loadrun_plugin_api::testkit::Recorded>,
) {
    let arg = format!(
        "transport=api,endpoint={}{SERIES},host=h,trendsAs=distribution,timeout=400ms,gzip=false",
        rec.url()
    );
    started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]))
}

#[test]
fn a_late_distribution_body_is_not_sent_again() {
    let rec = intake(DIST, Duration::from_millis(1200));
    let (mut out, host) = output(&rec);
    assert_eq!(out.write(batch().batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(wait_for(&rec, DIST, 1), 1);
    // Give a second copy every chance to arrive before saying there is none.
    std::thread::sleep(Duration::from_millis(300));
    let dist = rec.received().iter().filter(|e| e.path == DIST).count();
    assert_eq!(dist, 1, "the late distribution body was sent again");
    assert_eq!(wait_for(&rec, SERIES, 1), 1);
    assert_eq!(host.counter("unconfirmed_requests"), 1);
    assert_eq!(host.counter("samples_lost"), 4);
    let warned: Vec<String> = host
        .logs()
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| text.contains("not sent again"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("Datadog would count it twice"),
        "{}",
        warned[0]
    );
    assert!(!warned[0].contains(KEY), "{}", warned[0]);
}

#[test]
fn a_late_series_body_is_sent_again_as_it_overwrites_itself() {
    let rec = intake(SERIES, Duration::from_millis(1200));
    let (mut out, host) = output(&rec);
    assert_eq!(out.write(batch().batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(wait_for(&rec, SERIES, 2), 2);
    let got = rec.received();
    let series: Vec<_> = got.iter().filter(|e| e.path == SERIES).collect();
    assert_eq!(series[0].body, series[1].body, "the same body, sent again");
    assert_eq!(host.counter("unconfirmed_requests"), 0);
    assert_eq!(host.counter("samples_lost"), 0);
}
