//! CloudWatch answering after the output's timeout, having taken the request (a recording
//! server that sleeps before its answer): PutMetricData has no idempotency key and CloudWatch
//! adds every datum it gets into the period, so the body must not be sent again. Its samples
//! are reported lost once, and the next body goes out as usual.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{completed_outcome, init, now_ns, started, BatchBuilder};
use loadrun_plugin_api::{LogLevel, MetricType, ValueKind, WriteStatus};
use loadrun_test_support::recorder::{Recorder, Response};
use out_cloudwatch::CloudWatchPlugin;

const OK: &str =
    "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
<ResponseMetadata><RequestId>late</RequestId></ResponseMetadata></PutMetricDataResponse>";
const NS: i64 = 1_000_000_000;

/// Five samples of one counter at `at` (seconds), one datum.
fn batch(at: i64) -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(reqs, &[("method", "GET")], &[]);
    for i in 0..5 {
        b.sample(s, at * NS + i * 1_000_000, 1.0);
    }
    b
}

/// Waits (bounded) until the recorder has logged `n` exchanges: it logs one once answered.
fn wait_for(rec: &Recorder, n: usize) {
    let until = Instant::now() + Duration::from_secs(10);
    while rec.received().len() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_body_answered_after_the_timeout_is_not_sent_again() {
    let calls = AtomicUsize::new(0);
    let rec = Recorder::start(move |_| {
        if calls.fetch_add(1, SeqCst) == 0 {
            // Longer than the output's 400 ms timeout: the request is in, the answer late.
            std::thread::sleep(Duration::from_millis(1200));
        }
        Response::new(200)
            .header("Content-Type", "text/xml")
            .body(OK)
    });
    let arg = format!(
        "endpoint={},region=us-east-1,namespace=late,timeout=400ms,storageResolution=1,period=1s",
        rec.url()
    );
    let (mut out, host) = started::<CloudWatchPlugin>(init(
        "cloudwatch",
        Some(&arg),
        "",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIATEST"),
            ("AWS_SECRET_ACCESS_KEY", "verysecretkey"),
            ("HOME", "/nonexistent"),
        ],
    ));
    // Closed periods (two minutes ago) go out at the next flush.
    let t0 = now_ns() / NS - 120;
    assert_eq!(out.write(batch(t0).batch()), WriteStatus::Ok);
    out.flush(Duration::from_secs(5)).unwrap();
    wait_for(&rec, 1);
    assert_eq!(rec.received().len(), 1, "the late body was sent again");
    assert_eq!(host.counter("unconfirmed_requests"), 1);
    assert_eq!(host.counter("samples_lost"), 5);

    // The next period's body is answered at once and delivered.
    assert_eq!(out.write(batch(t0 + 10).batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let got = rec.received();
    assert_eq!(got.len(), 2, "{got:?}");
    let bodies: HashSet<&[u8]> = got.iter().map(|e| e.body.as_slice()).collect();
    assert_eq!(bodies.len(), 2, "a body went twice");
    assert_eq!(host.counter("unconfirmed_requests"), 1);
    assert_eq!(host.counter("samples_lost"), 5);
    let warned: Vec<String> = host
        .logs()
        .into_iter()
        .filter(|(level, text)| *level == LogLevel::Warn && text.contains("not sent again"))
        .map(|(_, text)| text)
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("CloudWatch would count it twice") && warned[0].contains("400 ms"),
        "{}",
        warned[0]
    );
    assert!(!warned[0].contains("verysecretkey"), "{}", warned[0]);
}
