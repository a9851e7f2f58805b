//! The output against a recording k6-Cloud server: create → pushes → finish, config overrides,
//! retries, fatal errors, the cloud's stop, batching, push into an existing run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use loadrun_plugin_api::testkit::{now_ns, BatchBuilder};
use loadrun_plugin_api::{LogLevel, MetricType, ThresholdDef, ValueKind, WriteStatus};

fn env(server: &CloudServer) -> Vec<(&'static str, String)> {
    vec![
        ("K6_CLOUD_TOKEN", "secrettoken".to_string()),
        ("K6_CLOUD_HOST", server.url.clone()),
        ("K6_CLOUD_PROJECT_ID", "77".to_string()),
    ]
}

fn init_for(server: &CloudServer, arg: Option<&str>) -> loadrun_plugin_api::OutputInit {
    let e = env(server);
    let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut init = init(arg, &pairs);
    init.test.max_vus = 3;
    init.test.planned_duration_ms = Some(31_500).into();
    init.test.thresholds = vec![ThresholdDef {
        metric: "http_req_duration".into(),
        source: "p(95)<500".into(),
        abort_on_fail: false,
    }]
    .into();
    init
}

#[test]
fn full_lifecycle_create_push_finish() {
    let server = CloudServer::start();
    let (mut out, rec) = started(init_for(&server, Some("name=my test")));

    // Create: headers and body.
    let creates = server.requests_to("/v1/tests");
    assert_eq!(creates.len(), 1);
    let c = &creates[0];
    assert_eq!(c.path, "/v1/tests");
    assert_eq!(c.header("authorization"), Some("Token secrettoken"));
    assert_eq!(c.header("content-type"), Some("application/json"));
    let key = c.header("k6-idempotency-key").unwrap();
    assert!(
        key.len() == 16 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    assert_eq!(
        c.text(),
        r#"{"name":"my test","project_id":77,"vus":3,"thresholds":{"http_req_duration":["p(95)\u003c500"]},"duration":32}"#
    );
    // The server's log message and the run URL went through the host.
    let logs = rec.logs();
    assert!(
        logs.contains(&(LogLevel::Warn, "cloud: this is a test server".into())),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|(_, m)| m == "cloud test run: https://app.k6.io/runs/4242"),
        "{logs:?}"
    );

    // Samples of all four types in two 2 s buckets (the server's override of the period).
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let tags = [
        ("group", ""),
        ("method", "GET"),
        ("status", "200"),
        ("__secret", "x"),
    ];
    let s_reqs = b.series(reqs, &tags, &[("vu", "1")]);
    let s_vus = b.series(vus, &[], &[]);
    let s_failed = b.series(failed, &tags, &[]);
    let s_dur = b.series(dur, &tags, &[]);
    let t0 = 1_795_608_340_000_000_000i64; // a bucket start for a 2 s period
    for (i, (d, g)) in [(12.5, 3.0), (1.0, 1.0), (250.0, 2.0)].iter().enumerate() {
        let t = t0 + i as i64 * 100_000_000;
        b.sample(s_reqs, t, 1.0)
            .sample(s_vus, t, *g)
            .sample(s_failed, t, (i % 2) as f64)
            .sample(s_dur, t, *d);
    }
    b.sample(s_reqs, t0 + 2_500_000_000, 5.0);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(
        &outcome(&[("http_req_duration", "p(95)<500", false)]),
        Duration::from_secs(5),
    )
    .unwrap();

    // Pushes: protocol headers, test run id, the overridden period, every value.
    let pushes = server.requests_to("/v2/metrics/");
    assert_eq!(pushes.len(), 1, "everything held goes in one push at stop");
    let p = &pushes[0];
    assert_eq!(p.path, "/v2/metrics/4242");
    assert_eq!(p.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(p.header("content-encoding"), Some("snappy"));
    assert_eq!(p.header("k6-metrics-protocol-version"), Some("2.0"));
    assert_eq!(p.header("authorization"), Some("Token secrettoken"));
    assert_eq!(p.header("k6-idempotency-key").map(str::len), Some(16));
    let set = metric_set(p);
    assert_eq!(set.test_run_id, "4242");
    assert_eq!(set.aggregation_period, 2);
    let names: Vec<(&str, u64)> = set
        .metrics
        .iter()
        .map(|m| (m.name.as_str(), m.type_code))
        .collect();
    assert_eq!(
        names,
        vec![
            ("http_reqs", 1),
            ("vus", 2),
            ("http_req_failed", 3),
            ("http_req_duration", 4)
        ]
    );
    let labels: Vec<(String, String)> = [("group", ""), ("method", "GET"), ("status", "200")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let counter = &set.metrics[0].series[0];
    assert_eq!(
        counter.labels, labels,
        "tags incl. empty ones; __ names dropped; no metadata"
    );
    assert_eq!(counter.values.len(), 2);
    assert_eq!(
        (counter.values[0].seconds, counter.values[0].value),
        (1_795_608_340, 3.0)
    );
    assert_eq!(
        (counter.values[1].seconds, counter.values[1].value),
        (1_795_608_342, 5.0)
    );
    let g = &set.metrics[1].series[0].values[0];
    assert!(set.metrics[1].series[0].labels.is_empty());
    assert_eq!(
        (g.value, g.count, g.min, g.max, g.avg),
        (2.0, 3, 1.0, 3.0, 2.0),
        "min is the min"
    );
    let r = &set.metrics[2].series[0].values[0];
    assert_eq!((r.nonzero, r.total), (1, 3));
    let h = &set.metrics[3].series[0].values[0];
    assert_eq!(h.counters, vec![1, 1, 1]);
    assert_eq!(h.spans, vec![(506, 1), (963 - 507, 1), (1524 - 964, 1)]);
    assert_eq!((h.sum, h.count, h.min, h.max), (263.5, 3, 1.0, 250.0));
    assert_eq!(h.min_resolution, Some(0.001));
    assert_eq!((h.extra_low, h.extra_high), (None, None));
    assert!(rec
        .logs()
        .iter()
        .any(|(_, m)| m.contains("test_run_id or starting with __")));

    // Finish: verdicts, statuses.
    let finish = server.requests_to("/v1/tests/4242");
    assert_eq!(finish.len(), 1);
    assert_eq!(
        finish[0].text(),
        r#"{"result_status":1,"run_status":3,"thresholds":{"http_req_duration":{"p(95)\u003c500":true}}}"#
    );
    assert_eq!(finish[0].header("authorization"), Some("Token secrettoken"));
    // Order: create, push, finish.
    let order: Vec<String> = server.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        order,
        vec!["/v1/tests", "/v2/metrics/4242", "/v1/tests/4242"]
    );
    // The token never reached a log line.
    assert!(rec.logs().iter().all(|(_, m)| !m.contains("secrettoken")));
}

fn counter_batch(series: usize, samples: usize, t: i64) -> (BatchBuilder, f64) {
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let ids: Vec<u32> = (0..series)
        .map(|i| b.series(m, &[("shard", &i.to_string())], &[]))
        .collect();
    let mut sum = 0.0;
    for k in 0..samples {
        let v = (k % 7) as f64;
        b.sample(ids[k % series], t + k as i64, v);
        sum += v;
    }
    (b, sum)
}

#[test]
fn pushes_are_paced_and_retried_on_429_and_5xx_without_loss_or_duplicates() {
    let server = CloudServer::start();
    let (mut out, rec) = started(init_for(
        &server,
        Some("aggregationWaitPeriod=0s,metricPushInterval=1ms"),
    ));
    let (b, sum1) = counter_batch(3, 300, now_ns() - 10_000_000_000);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(5));

    // The push due at the next write fails: the batch is refused, then taken on a retry.
    server.queue_push(Reply::new(
        429,
        r#"{"error":{"code":0,"message":"slow down"}}"#,
    ));
    server.queue_push(Reply::new(503, "busy"));
    let (b2, sum2) = counter_batch(3, 50, now_ns() - 9_000_000_000);
    let b2 = BatchBuilder {
        metrics: vec![],
        series: vec![],
        samples: b2.samples,
    };
    match out.write(b2.batch()) {
        WriteStatus::Retry { reason, .. } => assert!(reason.contains("429"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match out.write(b2.batch()) {
        WriteStatus::Retry { reason, .. } => assert!(reason.contains("503"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(out.write(b2.batch()), WriteStatus::Ok);
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    assert_eq!(server.counter_sum("http_reqs"), sum1 + sum2);
    // Re-sends of the failed push are byte-identical, with the same idempotency key.
    let pushes = server.requests_to("/v2/metrics/");
    assert!(pushes.len() >= 4, "{}", pushes.len());
    assert_eq!(pushes[0].body, pushes[1].body);
    assert_eq!(
        pushes[0].header("k6-idempotency-key"),
        pushes[2].header("k6-idempotency-key")
    );
    assert!(rec.counter("pushed_series") >= 6);
}

#[test]
fn stop_retries_within_its_deadline() {
    let server = CloudServer::start();
    let (mut out, _rec) = started(init_for(&server, None));
    let (b, sum) = counter_batch(2, 100, now_ns());
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    server.queue_push(Reply::new(502, "bad gateway"));
    server.queue_push(Reply::new(500, "oops"));
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    assert_eq!(server.counter_sum("http_reqs"), sum);
    assert_eq!(server.requests_to("/v1/tests/4242").len(), 1);
}

#[test]
fn series_are_cut_into_batches_of_max_series() {
    let server = CloudServer::start();
    let (mut out, _rec) = started(init_for(&server, Some("maxTimeSeriesInBatch=2")));
    let (b, sum) = counter_batch(5, 50, now_ns());
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    let sizes: Vec<usize> = server
        .stored()
        .iter()
        .map(|s| s.metrics.iter().map(|m| m.series.len()).sum())
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(server.counter_sum("http_reqs"), sum);
}

#[test]
fn concurrent_pushes_deliver_everything() {
    let server = CloudServer::start();
    let (mut out, _rec) = started(init_for(
        &server,
        Some("maxTimeSeriesInBatch=1,metricPushConcurrency=4"),
    ));
    let (b, sum) = counter_batch(9, 90, now_ns());
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    assert_eq!(server.stored().len(), 9);
    assert_eq!(server.counter_sum("http_reqs"), sum);
}

#[test]
fn creation_401_fails_start_with_a_clear_error() {
    let server = CloudServer::start();
    server.set_create_reply(Reply::new(
        401,
        r#"{"error":{"code":2,"message":"Invalid token"}}"#,
    ));
    let mut out = output_from(init_for(&server, None));
    let (host, _rec) = loadrun_plugin_api::testkit::recording_host();
    let e = out.start(host).unwrap_err().to_string();
    assert!(e.contains("creating the test run failed"), "{e}");
    assert!(e.contains("the test does not start"), "{e}");
    assert!(e.contains("401") && e.contains("Invalid token"), "{e}");
    assert!(!e.contains("secrettoken"), "{e}");
    assert_eq!(
        server.requests_to("/v1/tests").len(),
        1,
        "401 is not retried"
    );
}

#[test]
fn creation_is_tried_three_times_on_5xx_and_needs_a_reference_id() {
    let server = CloudServer::start();
    server.queue_create(Reply::new(503, "down"));
    server.queue_create(Reply::new(500, "down"));
    let (_out, _rec) = started(init_for(&server, None));
    assert_eq!(server.requests_to("/v1/tests").len(), 3);

    let server = CloudServer::start();
    server.set_create_reply(Reply::new(200, r#"{"reference_id":""}"#));
    let mut out = output_from(init_for(&server, None));
    let e = out
        .start(loadrun_plugin_api::testkit::recording_host().0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no reference_id"), "{e}");
}

#[test]
fn push_401_is_fatal_and_names_the_endpoint() {
    let server = CloudServer::start();
    let (mut out, _rec) = started(init_for(
        &server,
        Some("metricPushInterval=1ms,aggregationWaitPeriod=0s"),
    ));
    let (b, _) = counter_batch(1, 10, now_ns() - 5_000_000_000);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(5));
    server.queue_push(Reply::new(
        401,
        r#"{"error":{"code":2,"message":"token expired"}}"#,
    ));
    let empty = BatchBuilder::new();
    match out.write(empty.batch()) {
        WriteStatus::Fatal(e) => {
            let e = e.to_string();
            assert!(e.contains("/v2/metrics/4242") && e.contains("401"), "{e}");
            assert!(!e.contains("secrettoken"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_clouds_stop_is_honoured_with_stop_on_error() {
    let server = CloudServer::start();
    let (mut out, rec) = started(init_for(
        &server,
        Some("metricPushInterval=1ms,aggregationWaitPeriod=0s,stopOnError=true"),
    ));
    let (b, _) = counter_batch(1, 10, now_ns() - 5_000_000_000);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(5));
    server.queue_push(Reply::new(
        403,
        r#"{"error":{"code":4,"message":"test run aborted by the user"}}"#,
    ));
    let empty = BatchBuilder::new();
    assert_eq!(out.write(empty.batch()), WriteStatus::Ok);
    let aborts = rec.aborts.lock().unwrap().clone();
    assert_eq!(aborts.len(), 1, "{aborts:?}");
    // Nothing more is pushed.
    let (b, _) = counter_batch(1, 10, now_ns() - 5_000_000_000);
    assert_eq!(out.write(b.samples_only()), WriteStatus::Ok);
    out.stop(&outcome(&[]), Duration::from_secs(2)).unwrap();
    assert_eq!(server.requests_to("/v2/metrics/").len(), 1);
}

#[test]
fn push_ref_id_joins_an_existing_run_without_create_or_finish() {
    let server = CloudServer::start();
    let e = env(&server);
    let mut pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("K6_CLOUD_PUSH_REF_ID", "777"));
    let mut i = init(None, &pairs);
    i.test.planned_duration_ms = None.into();
    let (mut out, _rec) = started(i);
    let (b, sum) = counter_batch(2, 20, now_ns());
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    let paths: Vec<String> = server.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/v2/metrics/777"]);
    let set = &server.stored()[0];
    assert_eq!(
        (set.test_run_id.as_str(), set.aggregation_period),
        ("777", 3)
    );
    assert_eq!(server.counter_sum("http_reqs"), sum);
}

#[test]
fn memory_is_bounded_by_max_held_aggregates() {
    let server = CloudServer::start();
    let (mut out, _rec) = started(init_for(
        &server,
        Some("maxHeldAggregates=10,aggregationWaitPeriod=1000s"),
    ));
    // 30 series in the current bucket: over the bound, so the next write sends them early.
    let (b, sum) = counter_batch(30, 30, now_ns());
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    assert_eq!(out.write(BatchBuilder::new().batch()), WriteStatus::Ok);
    assert!(
        !server.stored().is_empty(),
        "the bound forced a push before stop"
    );
    out.stop(&outcome(&[]), Duration::from_secs(5)).unwrap();
    assert_eq!(server.counter_sum("http_reqs"), sum);
}
