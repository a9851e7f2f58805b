//! `transport=api` with the default series API v2 (and `trendsAs=distribution`), against a
//! recording server that checks every request against Datadog's published schema and limits
//! (no local server accepts `/api/v2/series`; the v1 API is tested against VictoriaMetrics).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Recorder, Series, KEY};
use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder, Conformance};
use loadrun_plugin_api::{MetricType, Output, ValueKind, WriteStatus};
use loadrun_test_support::json_schema;
use out_datadog::DatadogPlugin;
use serde_json::{json, Value};

fn output(arg: &str) -> Box<dyn Output> {
    started::<DatadogPlugin>(init("datadog", Some(arg), "{}", &[("DD_API_KEY", KEY)])).0
}

fn k6_batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let r = b.series(reqs, &[("method", "GET"), ("status", "200")], &[]);
    let v = b.series(vus, &[], &[]);
    let f = b.series(failed, &[("method", "GET")], &[]);
    let c = b.series(checks, &[("check", "is ok")], &[]);
    let d = b.series(dur, &[("method", "GET")], &[]);
    for i in 0..4 {
        b.sample(r, i, 1.0);
        b.sample(d, i, (i + 1) as f64);
        b.sample(c, i, if i == 0 { 0.0 } else { 1.0 });
    }
    b.sample(v, 0, 7.0);
    b.sample(f, 0, 1.0)
        .sample(f, 1, 0.0)
        .sample(f, 2, 0.0)
        .sample(f, 3, 0.0);
    b
}

fn find<'a>(series: &'a [Value], metric: &str) -> &'a Value {
    series
        .iter()
        .find(|s| s["metric"] == metric)
        .unwrap_or_else(|| panic!("{metric} not sent: {series:#?}"))
}

fn value(s: &Value) -> f64 {
    s["points"][0]["value"].as_f64().unwrap()
}

#[test]
fn v2_series_are_valid_and_carry_every_value() {
    let rec = Recorder::start();
    let mut out = output(&format!(
        "transport=api,endpoint={},host=gen-1,tags=env:ci,pushInterval=1s",
        rec.url
    ));
    assert_eq!(out.write(k6_batch().batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();

    let got = rec.received();
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!(r.status, 202, "{:?}", r.problems);
        assert_eq!(r.path, "/api/v2/series");
        assert_eq!(r.header("DD-API-KEY"), Some(KEY));
        assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    }
    let s = rec.accepted_series("/api/v2/series");
    let reqs = find(&s, "k6.http_reqs");
    assert_eq!(
        (reqs["type"].clone(), reqs["interval"].clone(), value(reqs)),
        (json!(1), json!(1), 4.0)
    );
    assert_eq!(
        reqs["resources"],
        json!([{"name": "gen-1", "type": "host"}])
    );
    assert_eq!(reqs["tags"], json!(["env:ci", "method:GET", "status:200"]));
    let vus = find(&s, "k6.vus");
    assert_eq!((vus["type"].clone(), value(vus)), (json!(3), 7.0));
    assert!(vus.get("interval").is_none());
    // A rate is the fraction of non-zero samples, as a gauge.
    let failed = find(&s, "k6.http_req_failed");
    assert_eq!((failed["type"].clone(), value(failed)), (json!(3), 0.25));
    // Checks keep k6's names, as counts, for the k6 dashboard.
    assert_eq!(value(find(&s, "k6.check.is_ok.pass")), 3.0);
    assert_eq!(value(find(&s, "k6.check.is_ok.fail")), 1.0);
    assert_eq!(find(&s, "k6.check.is_ok.pass")["type"], 1);
    for (m, v) in [
        ("avg", 2.5),
        ("min", 1.0),
        ("max", 4.0),
        ("median", 2.0),
        ("95percentile", 4.0),
        ("count", 4.0),
    ] {
        let x = find(&s, &format!("k6.http_req_duration.{m}"));
        assert_eq!(value(x), v, "{m}");
    }
    assert_eq!(find(&s, "k6.http_req_duration.count")["type"], 1);
}

#[test]
fn trends_as_distribution_go_to_distribution_points_deflated() {
    let rec = Recorder::start();
    let mut out = output(&format!(
        "transport=api,endpoint={}/api/v2/series,host=h,trendsAs=distribution",
        rec.url
    ));
    assert_eq!(out.write(k6_batch().batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let got = rec.received();
    for r in &got {
        assert_eq!(r.status, 202, "{} {:?}", r.path, r.problems);
    }
    let d: Vec<&common::Received> = got
        .iter()
        .filter(|r| r.path == "/api/v1/distribution_points")
        .collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].header("Content-Encoding"), Some("deflate"));
    let ds = d[0].series();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0]["metric"], "k6.http_req_duration");
    assert_eq!(ds[0]["points"][0][1], json!([1.0, 2.0, 3.0, 4.0]));
    assert_eq!(ds[0]["host"], "h");
    let s = rec.accepted_series("/api/v2/series");
    assert!(s.iter().all(|x| !x["metric"]
        .as_str()
        .unwrap()
        .starts_with("k6.http_req_duration")));
    assert_eq!(value(find(&s, "k6.http_reqs")), 4.0);
}

/// Thousands of series: split into requests under Datadog's limits, none lost.
#[test]
fn large_intervals_are_split_within_the_limits() {
    for gzip in [false, true] {
        let rec = Recorder::start();
        let mut out = output(&format!(
            "transport=api,endpoint={},host=h,gzip={gzip},tagBlocklist=",
            rec.url
        ));
        let mut b = BatchBuilder::new();
        let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let n = if gzip { 30_000 } else { 5_000 };
        for i in 0..n {
            let url = format!(
                "https://example.com/a/long/path/to/resource/{i}?q={}",
                i * 7919
            );
            let s = b.series(m, &[("url", url.as_str()), ("name", url.as_str())], &[]);
            b.sample(s, 0, 1.0);
        }
        assert_eq!(out.write(b.batch()), WriteStatus::Ok);
        out.stop(&completed_outcome(), Duration::from_secs(30))
            .unwrap();
        let got = rec.received();
        assert!(got.len() > 1, "gzip={gzip}: {} request(s)", got.len());
        for r in &got {
            assert_eq!(r.status, 202, "{:?}", r.problems);
            assert!(r.wire_len <= 512_000);
        }
        let s = rec.accepted_series("/api/v2/series");
        assert_eq!(s.len(), n as usize, "gzip={gzip}");
        assert_eq!(s.iter().map(value).sum::<f64>(), f64::from(n));
    }
}

#[test]
fn rate_limits_are_honoured_then_delivered() {
    let rec = Recorder::start();
    rec.queue_raw("HTTP/1.1 429 Too Many Requests\r\nX-RateLimit-Limit: 100\r\nX-RateLimit-Period: 10\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let mut out = output(&format!(
        "transport=api,endpoint={},pushInterval=1ms",
        rec.url
    ));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(out.write(k6_batch().batch()), WriteStatus::Ok);
    let status = out.write(BatchBuilder::new().batch());
    match (status.is_retry(), status.retry_delay()) {
        (true, Some(after)) => {
            let ms = after.as_millis();
            assert!((1500..=2000).contains(&ms), "{ms}")
        }
        _ => panic!("{status:?}"),
    }
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let got = rec.received();
    assert_eq!(got[0].status, 429);
    assert_eq!(got[1].status, 202, "{:?}", got[1].problems);
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(
        value(find(&rec.accepted_series("/api/v2/series"), "k6.http_reqs")),
        4.0
    );
}

#[test]
fn a_refused_key_is_fatal_and_never_printed() {
    let rec = Recorder::start();
    let wrong = "ffffffffffffffffffffffffffffffff";
    let arg = format!("transport=api,endpoint={},pushInterval=1ms", rec.url);
    let (mut out, logs) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", wrong)]));
    std::thread::sleep(Duration::from_millis(5));
    match out.write(k6_batch().batch()) {
        WriteStatus::Fatal(e) => {
            assert!(e.message.contains("403"), "{e}");
            assert!(!e.message.contains(wrong));
        }
        other => panic!("{other:?}"),
    }
    assert!(logs.logs().iter().all(|(_, m)| !m.contains(wrong)));
    assert_eq!(rec.received()[0].status, 403);
}

#[test]
fn options_choose_the_api_and_site() {
    let cfg = |arg: &str, env: &[(&str, &str)]| {
        let mut e = vec![("DD_API_KEY", KEY)];
        e.extend_from_slice(env);
        format!(
            "{:?}",
            out_datadog::parse_config(&init("datadog", Some(arg), "{}", &e)).unwrap()
        )
    };
    assert!(cfg("transport=api", &[]).contains("\"https://api.datadoghq.com/api/v2/series\""));
    assert!(cfg("transport=api,apiVersion=1,site=us5", &[])
        .contains("\"https://api.us5.datadoghq.com/api/v1/series\""));
    assert!(cfg("transport=api", &[("DD_SITE", "ddog-gov.com")])
        .contains("\"https://api.ddog-gov.com/api/v2/series\""));
    assert!(cfg("transport=api", &[("DD_URL", "http://proxy:8080/")])
        .contains("\"http://proxy:8080/api/v2/series\""));
    let text = cfg("transport=api,site=ap1", &[]);
    assert!(
        text.contains("ap1.datadoghq.com") && !text.contains(KEY),
        "{text}"
    );
    for bad in ["apiVersion=3", "trendsAs=histogram"] {
        let arg = format!("transport=api,{bad}");
        let err =
            out_datadog::parse_config(&init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]))
                .err()
                .unwrap();
        assert!(
            err.message.contains(bad.split('=').next().unwrap()),
            "{err}"
        );
    }
}

/// The recording server's schema check refuses what Datadog documents as invalid, so a pass
/// above means something.
#[test]
fn the_schema_check_refuses_what_datadog_refuses() {
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/series-v2.schema.json")).unwrap();
    let check = |doc: Value| json_schema::validate(&schema, &doc);
    let good = json!({"series": [{"metric": "k6.x", "type": 1, "interval": 10,
        "points": [{"timestamp": 1, "value": 1.5}], "resources": [{"name": "h", "type": "host"}],
        "tags": ["a:b"]}]});
    assert_eq!(check(good), Vec::<String>::new());
    for bad in [
        json!({"series": []}),
        json!({"series": [{"metric": "k6.x", "type": 1, "points": [{"timestamp": 1, "value": 1}]}]}),
        json!({"series": [{"metric": "k6.x", "type": "count", "points": [{"timestamp": 1, "value": 1}]}]}),
        json!({"series": [{"metric": "k6.x", "points": [[1, 1.0]]}]}),
        json!({"series": [{"metric": "k6 x", "points": [{"timestamp": 1, "value": 1}]}]}),
        json!({"series": [{"metric": "k6.x", "host": "h", "points": [{"timestamp": 1, "value": 1}]}]}),
        json!({"series": [{"metric": "k6.x", "points": [{"timestamp": 1, "value": "1"}]}]}),
    ] {
        assert!(!check(bad.clone()).is_empty(), "{bad}");
    }
}

#[test]

fn the_v2_api_plugin_conforms() {
    let rec = std::sync::Arc::new(Recorder::start());
    let url = rec.url.clone();
    let (r1, r2) = (rec.clone(), rec.clone());
    let report = Conformance::new(loadrun_test_support::plugin_path("datadog"), "datadog")
        .arg(&format!(
            "transport=api,endpoint={url},host=conf,pushInterval=100ms"
        ))
        .env("DD_API_KEY", KEY)
        .invalid_arg("transport=api,apiVersion=7", "apiVersion")
        .invalid_arg("transport=api,trendsAs=x", "trendsAs")
        .stored_samples(move || {
            Ok(r1
                .accepted_series("/api/v2/series")
                .iter()
                .filter(|s| s["metric"] == "k6.loadrun_conformance")
                .map(value)
                .sum::<f64>() as u64)
        })
        .fault(move |broken| r2.set_down(broken))
        .deadlines(Duration::from_secs(10), Duration::from_secs(5))
        .run();
    println!("{report}");
    report.assert_passed();
    let bad: Vec<_> = rec
        .received()
        .into_iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| (r.request.path, r.problems))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}
