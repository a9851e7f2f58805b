//! `-o netdata` against the real Netdata 1.37 StatsD server, read back through its API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, Output, ValueKind, WriteStatus};
use loadrun_test_support::Service;
use out_netdata::NetdataPlugin;
use serde_json::Value;

const ROUNDS: usize = 6;

fn get(url: &str) -> Value {
    let out = std::process::Command::new("curl")
        .args(["-sf", url])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// (labels, rows newest first) of a chart over the last `secs` seconds.
fn data(base: &str, chart: &str, secs: u32) -> (Vec<String>, Vec<Vec<Option<f64>>>) {
    let v = get(&format!(
        "{base}/api/v1/data?chart={chart}&after=-{secs}&format=json"
    ));
    let labels = v["labels"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let rows = v["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r.as_array().unwrap().iter().map(Value::as_f64).collect())
                .collect()
        })
        .unwrap_or_default();
    (labels, rows)
}

fn column(labels: &[String], rows: &[Vec<Option<f64>>], label: &str) -> Vec<Option<f64>> {
    let i = labels
        .iter()
        .position(|l| l == label)
        .unwrap_or_else(|| panic!("no {label} in {labels:?}"));
    rows.iter().map(|r| r[i]).collect()
}

/// Sends ROUNDS pushes, one a second, as a short k6 test would.
fn drive(out: &mut Box<dyn Output>) {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let frac = b.metric("my_counter", MetricType::Counter, ValueKind::Default);
    let tags = [("method", "GET"), ("status", "200")];
    let s_reqs = b.series(reqs, &tags, &[]);
    let s_failed = b.series(failed, &tags, &[]);
    let s_vus = b.series(vus, &[], &[]);
    let s_dur = b.series(dur, &tags, &[]);
    let s_check = b.series(checks, &[("check", "status is 200")], &[]);
    let s_frac = b.series(frac, &[], &[]);
    let defs = b.clone();
    for round in 0..ROUNDS {
        let mut batch = BatchBuilder::new();
        if round == 0 {
            batch.metrics = defs.metrics.clone();
            batch.series = defs.series.clone();
        }
        for i in 0..4 {
            batch.sample(s_reqs, 1, 1.0);
            batch.sample(s_failed, 1, if i == 0 { 1.0 } else { 0.0 });
            batch.sample(s_check, 1, if i == 0 { 0.0 } else { 1.0 });
            batch.sample(s_frac, 1, 0.3);
        }
        batch.sample(s_dur, 1, 100.0).sample(s_dur, 1, 200.0);
        batch.sample(s_vus, 1, 7.0);
        assert_eq!(out.write(batch.batch()), WriteStatus::Ok);
        let until = Instant::now() + Duration::from_millis(1000);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(150));
            assert_eq!(out.write(BatchBuilder::new().batch()), WriteStatus::Ok);
        }
    }
    out.stop(&completed_outcome(), Duration::from_secs(2))
        .unwrap();
    // Netdata charts the last second on its next flush.
    std::thread::sleep(Duration::from_millis(2500));
}

fn sum(col: &[Option<f64>]) -> f64 {
    col.iter().flatten().sum()
}

/// With Netdata's stock k6 app (what users have), the stock k6 charts fill in.
#[test]
fn stock_k6_charts_light_up() {
    let Some(nd) = Service::start("netdata", &[("NETDATA_STATSD_PORT", "auto")]) else {
        return;
    };
    let url = nd.var("NETDATA_URL").to_string();
    let arg = format!("addr={},pushInterval=1s", nd.var("NETDATA_STATSD_ADDR"));
    let (mut out, rec) = started::<NetdataPlugin>(init("netdata", Some(&arg), "{}", &[]));
    drive(&mut out);

    let charts = get(&format!("{url}/api/v1/charts"));
    let ids: Vec<&String> = charts["charts"].as_object().unwrap().keys().collect();
    for want in ["k6.http_reqs", "k6.vus", "k6.http_req_duration"] {
        assert!(
            ids.iter().any(|i| *i == want),
            "no chart {want} in {ids:?}\n{}",
            nd.log()
        );
    }
    let (l, rows) = data(&url, "k6.vus", 20);
    assert_eq!(
        column(&l, &rows, "Virtual active users")
            .iter()
            .flatten()
            .next(),
        Some(&7.0)
    );

    // Timer charts: skip the first collected point (Netdata interpolates a lone first flush).
    let (l, rows) = data(&url, "k6.http_req_duration", 20);
    let steady: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].iter().skip(1).all(Option::is_some))
        .collect();
    assert!(steady.len() >= 3, "{rows:?}");
    let i = steady[1];
    assert_eq!(column(&l, &rows, "min HTTP req duration")[i], Some(100.0));
    assert_eq!(column(&l, &rows, "max HTTP req duration")[i], Some(200.0));
    assert_eq!(column(&l, &rows, "Avg HTTP req duration")[i], Some(150.0));

    // http_req_failed goes out as k6.http_reqs_failed, the stock chart's name: one failure a
    // second, shown as events/s (interpolated, so the sum is checked, not each point).
    let (l, rows) = data(&url, "k6.http_reqs", 30);
    let failed = sum(&column(&l, &rows, "Failed HTTP Requests"));
    assert!(
        (failed - ROUNDS as f64).abs() < 0.6,
        "failed {failed}: {rows:?}"
    );
    assert_eq!(rec.counter("send_errors"), 0);
}

/// Without the stock app every metric gets a private chart: exact totals, checks, and the
/// fraction carry for Netdata's integer-only counters.
#[test]
fn private_charts_hold_exact_totals() {
    let Some(nd) = Service::start(
        "netdata",
        &[
            ("NETDATA_STOCK_APPS", "no"),
            ("NETDATA_STATSD_PORT", "auto"),
        ],
    ) else {
        return;
    };
    let url = nd.var("NETDATA_URL").to_string();
    let env = [("K6_STATSD_ADDR", nd.var("NETDATA_STATSD_ADDR"))];
    let (mut out, _rec) = started::<NetdataPlugin>(init("netdata", None, "{}", &env));
    drive(&mut out);

    let close = |got: f64, want: f64| (got - want).abs() < 0.05 * want.max(1.0);
    // Netdata charts a flush on its next collection and spreads a value over the seconds it
    // straddles: on a loaded machine the last part lands seconds later, so read until the
    // total is what was sent or 10 s have passed (a loss still fails).
    let deadline = Instant::now() + Duration::from_secs(10);
    let total = |chart: &str, want: f64| loop {
        let (l, rows) = data(&url, chart, 40);
        let got = sum(&column(&l, &rows, "counter"));
        if close(got, want) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let n = ROUNDS as f64;
    let reqs = total("statsd_k6.http_reqs_counter", 4.0 * n);
    assert!(close(reqs, 4.0 * n), "http_reqs {reqs}\n{}", nd.log());
    let pass = total("statsd_k6.check.status_is_200.pass_counter", 3.0 * n);
    assert!(close(pass, 3.0 * n), "pass {pass}");
    let fail = total("statsd_k6.check.status_is_200.fail_counter", n);
    assert!(close(fail, n), "fail {fail}");
    // 0.3 x 4 = 1.2 a second: Netdata would read each as 1 (6 in all); the carry makes it 7
    // (1.2 x 6 = 7.2, the last 0.2 still held).
    let frac = total("statsd_k6.my_counter_counter", 7.0);
    assert!(close(frac, 7.0), "my_counter {frac}");
}
