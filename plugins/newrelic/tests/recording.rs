//! The output against a recording Metric API that validates every request against New
//! Relic's published format and limits and answers with New Relic's status codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{assert_no_key, started, MetricApi, Points, Reply, KEY};
use loadrun_plugin_api::testkit::{completed_outcome, now_ns, BatchBuilder};
use loadrun_plugin_api::{LogLevel, MetricType, ValueKind, WriteStatus};

const S: i64 = 1_000_000_000;

fn window_ms(t_ns: i64, interval_ms: i64) -> i64 {
    let ms = t_ns / 1_000_000;
    ms - ms % interval_ms
}

fn ok(s: WriteStatus) {
    assert!(matches!(s, WriteStatus::Ok), "{s:?}");
}

#[test]
fn sends_gzip_json_with_the_headers_and_exact_body() {
    let api = MetricApi::start();
    let (mut out, rec) = started(&api, "percentiles=95");
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let s1 = b.series(
        reqs,
        &[("method", "GET"), ("status", "200")],
        &[("vu", "1")],
    );
    let s2 = b.series(dur, &[("method", "GET"), ("status", "200")], &[]);
    let s3 = b.series(checks, &[("check", "is 200")], &[]);
    let t = now_ns();
    b.sample(s1, t, 1.0).sample(s1, t, 1.0).sample(s1, t, 1.0);
    b.sample(s2, t, 100.0).sample(s2, t, 300.0);
    b.sample(s3, t, 1.0).sample(s3, t, 0.0);
    ok(out.write(b.batch()));
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();

    let got = api.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.line, "POST /metric/v1 HTTP/1.1");
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r
        .header("user-agent")
        .unwrap()
        .starts_with("loadrun-newrelic/"));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.status, 202);
    assert!(r.wire_len < r.body.len(), "the body is compressed");

    let ts = window_ms(t, 10_000);
    let a = r#"{"method":"GET","status":"200"}"#;
    let expected = [
        r#"[{"common":{"attributes":{"instrumentation.provider":"loadrun","test.id":"test-run-1","test.plan":"testkit"}},"metrics":["#.to_string(),
        format!(r#"{{"name":"k6.http_reqs","type":"count","value":3,"timestamp":{ts},"interval.ms":10000,"attributes":{a}}},"#),
        format!(r#"{{"name":"k6.http_req_duration","type":"summary","value":{{"count":2,"sum":400,"min":100,"max":300}},"timestamp":{ts},"interval.ms":10000,"attributes":{a}}},"#),
        format!(r#"{{"name":"k6.http_req_duration.p95","type":"gauge","value":290,"timestamp":{ts},"attributes":{a}}},"#),
        format!(r#"{{"name":"k6.checks","type":"gauge","value":0.5,"timestamp":{ts},"attributes":{{"check":"is 200"}}}}"#),
        "]}]".to_string(),
    ]
    .concat();
    assert_eq!(r.text(), expected);
    assert_no_key(&rec, &[]);
}

#[test]
fn closed_windows_are_pushed_during_the_run() {
    let api = MetricApi::start();
    let (mut out, _rec) = started(&api, "pushInterval=1s");
    let mut b = BatchBuilder::new();
    let m = b.metric("iterations", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[("scenario", "default")], &[]);
    let t = now_ns();
    b.sample(s, t - 5 * S, 1.0).sample(s, t - 4 * S, 1.0);
    ok(out.write(b.batch()));
    let mut b2 = b.clone();
    b2.clear_samples();
    b2.sample(s, t, 1.0);
    ok(out.write(b2.samples_only()));
    // The two old windows went; the current one waits for its end.
    let got = api.received();
    assert_eq!(got.len(), 1);
    let points = got[0].points();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["interval.ms"], 1000);
    assert_eq!(points[0]["timestamp"], window_ms(t - 5 * S, 1000));
    assert_eq!(points[1]["timestamp"], window_ms(t - 4 * S, 1000));
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(api.count_sum("k6.iterations"), 3.0);
    assert!(api.problems().is_empty(), "{:?}", api.problems());
}

#[test]
fn large_pushes_are_split_within_the_byte_limit() {
    let api = MetricApi::start();
    let (mut out, _rec) = started(&api, "maxPayloadBytes=4096,percentiles=50,90,95,99,99.9");
    let mut b = BatchBuilder::new();
    let c = b.metric("data_sent", MetricType::Counter, ValueKind::Data);
    let tr = b.metric("http_req_waiting", MetricType::Trend, ValueKind::Time);
    let t = now_ns();
    let mut sent = 0.0;
    for i in 0..150 {
        let url = format!("http://test.example/{i}/{}", "x".repeat(40));
        let sc = b.series(c, &[("url", &url)], &[]);
        let st = b.series(tr, &[("url", &url)], &[]);
        for j in 0..10 {
            b.sample(sc, t + j, 100.0 + i as f64);
            b.sample(st, t + j, j as f64);
            sent += 100.0 + i as f64;
        }
    }
    ok(out.write(b.batch()));
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let got = api.received();
    assert!(got.len() > 10, "{} requests", got.len());
    for r in &got {
        assert!(r.body.len() <= 4096, "{} bytes", r.body.len());
        assert_eq!(r.status, 202);
    }
    assert!(api.problems().is_empty(), "{:?}", api.problems());
    assert_eq!(api.count_sum("k6.data_sent"), sent);
    let points: Vec<_> = got.iter().flat_map(|r| r.points()).collect();
    let summaries = points.iter().filter(|p| p["type"] == "summary").count();
    let p999 = points
        .iter()
        .filter(|p| p["name"] == "k6.http_req_waiting.p99_9")
        .count();
    assert_eq!((summaries, p999), (150, 150));
}

#[test]
fn rate_limit_429_is_retried_after_retry_after_without_duplicates() {
    let api = MetricApi::start();
    let (mut out, rec) = started(&api, "pushInterval=1s");
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    let t = now_ns();
    for k in 0..5 {
        b.sample(s, t - 3 * S + k, 1.0);
    }
    ok(out.write(b.batch()));

    api.push(Reply::new(429).header("Retry-After", "3"));
    let mut later = b.clone();
    later.clear_samples();
    for k in 0..7 {
        later.sample(s, t + k, 1.0);
    }
    let status = out.write(later.samples_only());
    let Some(reason) = status.retry_reason() else {
        panic!("expected Retry, got {status:?}")
    };
    assert_eq!(status.retry_delay(), Some(Duration::from_millis(3000)));
    assert!(reason.contains("429"), "{reason}");
    assert!(!reason.contains(KEY));
    // The host re-delivers the same batch.
    ok(out.write(later.samples_only()));
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(api.count_sum("k6.http_reqs"), 12.0);
    let statuses: Vec<u16> = api.received().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 202, 202]);
    assert_no_key(&rec, &[]);
}

#[test]
fn server_errors_are_retried_and_stop_reports_what_is_lost() {
    let api = MetricApi::start();
    let (mut out, rec) = started(&api, "pushInterval=1s");
    let mut b = BatchBuilder::new();
    let m = b.metric("iterations", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    let t = now_ns();
    b.sample(s, t - 3 * S, 1.0);
    ok(out.write(b.batch()));
    api.push(Reply::new(500).body("{\"error\":\"internal\"}"));
    let empty = BatchBuilder::new();
    assert!(matches!(
        out.write(empty.batch()),
        WriteStatus::Retry { .. }
    ));
    ok(out.write(empty.batch()));
    assert_eq!(api.count_sum("k6.iterations"), 1.0);

    // Broken for good: stop gives up at its deadline and says how much is lost.
    api.set_broken(true);
    let mut b2 = b.clone();
    b2.clear_samples();
    b2.sample(s, t, 1.0);
    ok(out.write(b2.samples_only()));
    let started_at = std::time::Instant::now();
    let err = out
        .stop(&completed_outcome(), Duration::from_millis(800))
        .unwrap_err();
    assert!(started_at.elapsed() < Duration::from_secs(2));
    assert!(
        err.message
            .contains("1 data points (1 samples) could not be sent"),
        "{err}"
    );
    assert!(err.message.contains("503"), "{err}");
    assert_eq!(rec.counter("lost_datapoints"), 1);
    // In samples, so the host takes them out of `written`.
    assert_eq!(rec.counter("samples_lost"), 1);
    assert_no_key(&rec, &[err.to_string()]);
}

#[test]
fn bad_request_400_and_413_are_reported_with_the_body() {
    let api = MetricApi::start();
    let (mut out, rec) = started(&api, "pushInterval=1s");
    let mut b = BatchBuilder::new();
    let m = b.metric("iterations", MetricType::Counter, ValueKind::Default);
    let s1 = b.series(m, &[("k", "1")], &[]);
    let s2 = b.series(m, &[("k", "2")], &[]);
    let t = now_ns();
    b.sample(s1, t - 5 * S, 1.0).sample(s2, t - 5 * S, 1.0);
    ok(out.write(b.batch()));
    api.push(Reply::new(400).body("{\"error\":\"metric name is invalid\"}"));
    let empty = BatchBuilder::new();
    ok(out.write(empty.batch())); // refused for good: counted, not retried
    assert_eq!(rec.counter("rejected_datapoints"), 2);
    assert_eq!(rec.counter("samples_rejected"), 2);

    // 413 on two points: sent again in halves, nothing lost.
    let mut b2 = b.clone();
    b2.clear_samples();
    b2.sample(s1, t - 3 * S, 1.0).sample(s2, t - 3 * S, 1.0);
    ok(out.write(b2.samples_only()));
    api.push(Reply::new(413).body("{\"error\":\"Payload too large\"}"));
    ok(out.write(empty.batch()));
    assert_eq!(api.count_sum("k6.iterations"), 2.0);

    // 413 on a single point cannot be halved: reported with the body.
    let mut b3 = b.clone();
    b3.clear_samples();
    b3.sample(s1, t - 2 * S, 1.0);
    ok(out.write(b3.samples_only()));
    api.push(Reply::new(413).body("{\"error\":\"Payload too large\"}"));
    ok(out.write(empty.batch()));
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(rec.counter("rejected_datapoints"), 3);
    // The halved 413 lost nothing; the single point held one sample.
    assert_eq!(rec.counter("samples_rejected"), 3);

    let warns: Vec<String> = rec
        .logs()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Warn)
        .map(|(_, m)| m)
        .collect();
    let said = |needle: &str| warns.iter().filter(|w| w.contains(needle)).count();
    assert_eq!(
        said("HTTP 400 Bad Request: metric name is invalid"),
        1,
        "{warns:?}"
    );
    assert_eq!(said("in halves"), 1, "{warns:?}");
    assert_eq!(
        said("HTTP 413 Payload Too Large: Payload too large"),
        2,
        "{warns:?}"
    );
    assert_no_key(&rec, &[]);
}

#[test]
fn forbidden_403_is_fatal_with_a_hint_and_never_shows_the_key() {
    let api = MetricApi::start();
    let wrong = "WRONGKEY-very-secret-value";
    let mut out = common::output(
        &format!("endpoint={},apiKey={wrong},pushInterval=1s", api.url),
        &[],
    );
    let (host, rec) = loadrun_plugin_api::testkit::recording_host();
    out.start(host).unwrap();
    let mut b = BatchBuilder::new();
    let m = b.metric("iterations", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    b.sample(s, now_ns() - 3 * S, 1.0);
    ok(out.write(b.batch()));
    let empty = BatchBuilder::new();
    let msg = match out.write(empty.batch()) {
        WriteStatus::Fatal(e) => e.to_string(),
        other => panic!("expected Fatal, got {other:?}"),
    };
    assert!(msg.contains("HTTP 403"), "{msg}");
    assert!(msg.contains("NEW_RELIC_LICENSE_KEY"), "{msg}");
    assert!(msg.contains("region=eu"), "{msg}");
    assert_eq!(api.received()[0].header("api-key"), Some(wrong));
    let stop = out.stop(&completed_outcome(), Duration::from_millis(500));
    let mut texts = vec![msg];
    if let Err(e) = stop {
        texts.push(e.to_string());
    }
    for (_, l) in rec.logs() {
        texts.push(l);
    }
    for t in texts {
        assert!(!t.contains(wrong), "key shown: {t}");
    }
}

#[test]
fn hostile_samples_are_skipped_and_counted() {
    let api = MetricApi::start();
    let (mut out, rec) = started(&api, "");
    let mut b = BatchBuilder::new();
    let m = b.metric("hostile", MetricType::Trend, ValueKind::Time);
    let long = "v".repeat(10_000);
    let s = b.series(
        m,
        &[
            ("quote\"key", "a\"b\nc"),
            ("long", &long),
            ("", "empty key"),
        ],
        &[],
    );
    let t = now_ns();
    b.sample(s, t, f64::NAN).sample(s, t, f64::INFINITY);
    b.sample(s, 0, 1.0).sample(s, t + 30 * 3600 * S, 1.0);
    b.sample(s, t, f64::MAX).sample(s, t, f64::MAX); // the sum overflows
    b.sample(s, t, 1.0);
    b.sample(999, t, 1.0);
    ok(out.write(b.batch()));
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(rec.counter("skipped_samples"), 4);
    assert_eq!(rec.counter("unresolved_samples"), 1);
    // The summary (sum = inf) is dropped; the percentile gauges are finite and go.
    assert_eq!(rec.counter("skipped_datapoints"), 1);
    assert!(api.problems().is_empty(), "{:?}", api.problems());
    let points: Vec<_> = api.accepted().iter().flat_map(|r| r.points()).collect();
    assert_eq!(points.len(), 4, "{points:?}");
    let attrs = points[0]["attributes"].as_object().unwrap();
    assert_eq!(attrs["long"].as_str().unwrap().len(), 4096);
    assert_eq!(attrs["quote_key"], "a\"b\nc");
}

#[test]
fn eu_region_and_env_endpoint() {
    use loadrun_plugin_api::Plugin;
    let api = MetricApi::start();
    let init = loadrun_plugin_api::testkit::init(
        "newrelic",
        Some("region=eu"),
        "{}",
        &[
            ("NEW_RELIC_API_KEY", KEY),
            ("NEW_RELIC_METRIC_URL", &api.url),
        ],
    );
    let mut out = out_newrelic::NewRelicPlugin::new_output(init).unwrap();
    let (host, rec) = loadrun_plugin_api::testkit::recording_host();
    out.start(host).unwrap();
    let mut b = BatchBuilder::new();
    let m = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    b.sample(s, now_ns(), 4.0);
    ok(out.write(b.batch()));
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(api.accepted().len(), 1);
    assert!(rec.logs().iter().any(|(_, l)| l.contains("plain http")));
}

#[test]
fn the_schema_check_refuses_what_new_relic_refuses() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/metric-api.schema.json")).unwrap();
    let check = |doc: &str| common::schema::validate(&schema, &serde_json::from_str(doc).unwrap());
    let good = r#"[{"common":{"attributes":{"a":"b"}},"metrics":[
        {"name":"c","type":"count","value":1,"timestamp":1,"interval.ms":10,"attributes":{}},
        {"name":"s","type":"summary","value":{"count":1,"sum":2,"min":2,"max":2},"timestamp":1,"interval.ms":10},
        {"name":"g","type":"gauge","value":0.5,"timestamp":1,"attributes":{"x.y:z_1":true,"n":3}}]}]"#;
    assert_eq!(check(good), Vec::<String>::new());
    let many: String = (0..101)
        .map(|i| format!("\"a{i}\":\"v\""))
        .collect::<Vec<_>>()
        .join(",");
    let long_value = "v".repeat(4097);
    let long_name = "n".repeat(256);
    for bad in [
        r#"{"metrics":[]}"#.to_string(),
        r#"[{"metrics":[]}]"#.to_string(),
        r#"[{"metrics":[{"name":"c","type":"count","value":1,"timestamp":1}]}]"#.to_string(),
        r#"[{"metrics":[{"name":"s","type":"summary","value":{"count":1,"sum":1,"min":1},"timestamp":1,"interval.ms":1}]}]"#.to_string(),
        r#"[{"metrics":[{"name":"s","type":"summary","value":3,"timestamp":1,"interval.ms":1}]}]"#.to_string(),
        r#"[{"metrics":[{"name":"g","type":"histogram","value":1,"timestamp":1}]}]"#.to_string(),
        r#"[{"metrics":[{"name":"g","type":"gauge","value":"1","timestamp":1}]}]"#.to_string(),
        r#"[{"metrics":[{"name":"g","type":"gauge","value":1,"timestamp":1.5}]}]"#.to_string(),
        r#"[{"metrics":[{"name":"g","type":"gauge","value":1,"timestamp":1,"attributes":{"a b":"x"}}]}]"#.to_string(),
        format!(r#"[{{"metrics":[{{"name":"g","type":"gauge","value":1,"timestamp":1,"attributes":{{{many}}}}}]}}]"#),
        format!(r#"[{{"metrics":[{{"name":"g","type":"gauge","value":1,"timestamp":1,"attributes":{{"a":"{long_value}"}}}}]}}]"#),
        format!(r#"[{{"metrics":[{{"name":"g","type":"gauge","value":1,"timestamp":1,"attributes":{{"{long_name}":"v"}}}}]}}]"#),
        r#"[{"metrics":[{"name":"g","type":"gauge","value":1,"timestamp":1,"extra":1}]}]"#.to_string(),
    ] {
        assert!(!check(&bad).is_empty(), "accepted: {bad:.200}");
    }
}
