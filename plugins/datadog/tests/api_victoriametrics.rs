//! `transport=api` against the real VictoriaMetrics, which accepts Datadog's v1 series API at
//! `/datadog/api/v1/series`: what it stored (read back with `/api/v1/export`) must equal what
//! was folded and sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::http_get::get_text;
use loadrun_test_support::Service;
use out_datadog::DatadogPlugin;
use serde_json::Value;

const KEY: &str = "0123456789abcdef-secret";

/// Every exported series, keyed by name plus sorted labels, with its last value.
fn export(vm: &str) -> BTreeMap<String, f64> {
    get_text(&format!("{vm}/internal/force_flush"), &[]).unwrap();
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let text = get_text(
        &format!("{vm}/api/v1/export"),
        &[
            ("match[]", "{__name__=~\"k6.*\"}"),
            ("end", &end.to_string()),
        ],
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let labels = v["metric"].as_object().unwrap();
        let mut key = labels["__name__"].as_str().unwrap().to_string();
        let mut rest: Vec<String> = labels
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        rest.sort();
        key.push('{');
        key.push_str(&rest.join(","));
        key.push('}');
        let values = v["values"].as_array().unwrap();
        out.insert(key, values.last().unwrap().as_f64().unwrap());
    }
    out
}

fn run(gzip: bool) {
    let Some(vm) = Service::start("victoriametrics", &[]) else {
        return;
    };
    let url = vm.var("VM_URL").to_string();
    let arg = format!(
        "transport=api,apiVersion=1,endpoint={url}/datadog,host=lg-1,tags=env:test,pushInterval=1h,gzip={gzip}"
    );
    let (mut out, rec) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));

    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let tags = [
        ("method", "GET"),
        ("status", "200"),
        ("url", "http://x/"),
        ("group", "::g1"),
    ];
    let s_reqs = b.series(reqs, &tags, &[("vu", "1")]);
    let s_dur = b.series(dur, &tags, &[]);
    let s_vus = b.series(vus, &[], &[]);
    let s_check = b.series(checks, &[("check", "status is 200")], &[]);
    let t = 1_795_608_192_000_000_000;
    for i in 1..=100 {
        b.sample(s_reqs, t, 1.0);
        b.sample(s_dur, t, i as f64);
        b.sample(s_check, t, if i % 10 == 0 { 0.0 } else { 1.0 });
    }
    b.sample(s_vus, t, 4.0).sample(s_vus, t, 7.0);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();

    let got = export(&url);
    let l = "env=test,group=::g1,host=lg-1,method=GET,status=200";
    let expect = [
        (format!("k6.http_reqs{{{l}}}"), 100.0),
        (format!("k6.http_req_duration.avg{{{l}}}"), 50.5),
        (format!("k6.http_req_duration.min{{{l}}}"), 1.0),
        (format!("k6.http_req_duration.max{{{l}}}"), 100.0),
        (format!("k6.http_req_duration.median{{{l}}}"), 50.0),
        (format!("k6.http_req_duration.95percentile{{{l}}}"), 95.0),
        (format!("k6.http_req_duration.count{{{l}}}"), 100.0),
        ("k6.vus{env=test,host=lg-1}".to_string(), 7.0),
        (
            "k6.check.status_is_200.pass{check=status is 200,env=test,host=lg-1}".to_string(),
            90.0,
        ),
        (
            "k6.check.status_is_200.fail{check=status is 200,env=test,host=lg-1}".to_string(),
            10.0,
        ),
    ];
    let expect: BTreeMap<String, f64> = expect.into_iter().collect();
    assert_eq!(got, expect, "\nVM log:\n{}", vm.log());
    // The key went in a header and nowhere else.
    for (_, line) in rec.logs() {
        assert!(!line.contains(KEY));
    }
}

#[test]
fn datadog_api_v1_into_victoriametrics_gzip() {
    run(true);
}

#[test]
fn datadog_api_v1_into_victoriametrics_plain() {
    run(false);
}
