//! Calls whose answer was lost after the service took them (the connection closed unanswered,
//! or the answer came after the output's timeout). The k6 Cloud protocol de-duplicates on
//! `K6-Idempotency-Key`, so such a call is sent again with the key it first had, and the
//! service (here: [`CloudServer::stored`], one push per key) holds every sample once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use loadrun_plugin_api::testkit::{now_ns, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};

fn init_for(server: &CloudServer, arg: &str) -> loadrun_plugin_api::OutputInit {
    let mut init = init(
        Some(arg),
        &[
            ("K6_CLOUD_TOKEN", "secrettoken"),
            ("K6_CLOUD_HOST", server.url.as_str()),
        ],
    );
    init.test.planned_duration_ms = Some(10_000).into();
    init
}

/// `n` requests of one counter series, in a bucket long closed.
fn counter_batch(n: u32) -> (BatchBuilder, f64) {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(reqs, &[("method", "GET"), ("status", "200")], &[]);
    let t = now_ns() - 10_000_000_000;
    for i in 0..n {
        b.sample(s, t + i64::from(i), 1.0);
    }
    (b, f64::from(n))
}

/// Waits (bounded) until `n` requests to `prefix` were answered; the recorder logs a request
/// once its (late) answer went out.
fn wait_for(server: &CloudServer, prefix: &str, n: usize) -> Vec<Received> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let got = server.requests_to(prefix);
        if got.len() >= n || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn keys(rs: &[Received]) -> Vec<Option<String>> {
    rs.iter()
        .map(|r| r.header("k6-idempotency-key").map(str::to_string))
        .collect()
}

#[test]
fn a_push_whose_answer_was_lost_is_sent_again_with_its_key() {
    let server = CloudServer::start();
    let (mut out, rec) = started(init_for(
        &server,
        "aggregationWaitPeriod=0s,metricPushInterval=1ms,timeout=300ms",
    ));
    let (b, sum) = counter_batch(7);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    // The first push is taken and hung up on; the second is taken and answered after the
    // timeout; the third is answered in time.
    server.queue_hangup();
    server.queue_push_delay(Duration::from_millis(900));
    out.stop(&outcome(&[]), Duration::from_secs(8)).unwrap();
    let pushes = wait_for(&server, "/v2/metrics/", 3);
    assert_eq!(pushes.len(), 3, "{pushes:?}");
    // Each copy reached the service whole: sent again byte for byte, under one key.
    assert!(pushes.iter().all(|p| p.status == 204), "{pushes:?}");
    assert!(pushes.iter().all(|p| p.body == pushes[0].body));
    let k = keys(&pushes);
    assert!(k[0].is_some() && k.iter().all(|x| *x == k[0]), "{k:?}");
    assert_eq!(server.counter_sum("http_reqs"), sum);
    assert_eq!(rec.counter("samples_lost"), 0);
    assert_eq!(rec.counter("unconfirmed_requests"), 0);
}

#[test]
fn a_create_whose_answer_was_lost_is_the_same_test_run() {
    let server = CloudServer::start();
    server.queue_hangup();
    let (_out, _rec) = started(init_for(&server, "timeout=300ms"));
    let creates = server.requests_to("/v1/tests");
    assert_eq!(creates.len(), 2, "{creates:?}");
    let k = keys(&creates);
    assert!(
        k[0].is_some() && k[0] == k[1],
        "a second run was asked for: {k:?}"
    );
}

#[test]
fn a_finish_whose_answer_was_lost_keeps_its_key() {
    let server = CloudServer::start();
    let (mut out, _rec) = started(init_for(&server, "timeout=300ms"));
    server.queue_hangup();
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    let finishes = server.requests_to("/v1/tests/4242");
    assert_eq!(finishes.len(), 2, "{finishes:?}");
    let k = keys(&finishes);
    assert!(k[0].is_some() && k[0] == k[1], "{k:?}");
}
