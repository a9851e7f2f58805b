//! `-o netdata` through the `loadrun` binary against the real Netdata 1.37 StatsD server: its
//! charts must add up to the run's summary export, and the stock k6 charts must fill in.

use std::time::{Duration, Instant};

use loadrun_test_support::Service;
use serde_json::Value;

use crate::support::{get_json, quick_run};

/// The sum of one dimension of a chart over the last ten minutes (None: no such chart yet).
/// Netdata stores per-second values interpolated between flushes, which spreads a count over
/// neighbouring seconds but keeps its total.
fn chart_sum(base: &str, chart: &str, dimension: &str) -> Option<f64> {
    let charts: Value = get_json(&format!("{base}/api/v1/charts"), &[]);
    charts["charts"].get(chart)?;
    let data = get_json(
        &format!("{base}/api/v1/data"),
        &[("chart", chart), ("after", "-600"), ("format", "json")],
    );
    let labels: Vec<&str> = data["labels"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let i = labels.iter().position(|l| *l == dimension)?;
    Some(
        data["data"]
            .as_array()?
            .iter()
            .filter_map(|row| row.get(i).and_then(Value::as_f64))
            .sum(),
    )
}

fn wait_for_sum(base: &str, chart: &str, dimension: &str, want: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let got = chart_sum(base, chart, dimension).unwrap_or(0.0);
        if got.round() >= want || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Without the stock app every metric gets a private chart holding exact totals.
#[test]
fn netdata_totals_match_the_summary() {
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
    // The address from the environment (the README's NETDATA_STATSD_ADDR), bare `-o netdata`.
    let run = quick_run(
        "/",
        2,
        "2s",
        &["netdata"],
        &["--rate", "50", "-o", "netdata"],
        &[("NETDATA_STATSD_ADDR", nd.var("NETDATA_STATSD_ADDR"))],
    );
    run.assert_clean();
    assert_eq!(
        run.output_report("netdata")["counters"]["send_errors"]
            .as_u64()
            .unwrap_or(0),
        0
    );
    let reqs = run.metric("http_reqs", "count");
    let iterations = run.metric("iterations", "count");
    assert!(reqs > 0.0);
    let got = wait_for_sum(&url, "statsd_k6.http_reqs_counter", "counter", reqs);
    assert_eq!(got.round(), reqs, "http_reqs\n{}", nd.log());
    let got = wait_for_sum(&url, "statsd_k6.iterations_counter", "counter", iterations);
    assert_eq!(got.round(), iterations, "iterations");
    // No request failed; http_req_failed goes out under the stock chart's name, as zeros.
    assert_eq!(
        chart_sum(&url, "statsd_k6.http_reqs_failed_counter", "counter").map(f64::round),
        Some(0.0)
    );
}

/// With Netdata's stock k6 app, what users have installed, its charts light up.
#[test]
fn netdata_stock_k6_charts_fill_in() {
    let Some(nd) = Service::start("netdata", &[("NETDATA_STATSD_PORT", "auto")]) else {
        return;
    };
    let url = nd.var("NETDATA_URL").to_string();
    let out = format!("netdata={}", nd.var("NETDATA_STATSD_ADDR"));
    let run = quick_run(
        "/",
        2,
        "2s",
        &["netdata"],
        &["--rate", "50", "-o", &out],
        &[],
    );
    run.assert_clean();
    let until = Instant::now() + Duration::from_secs(10);
    let want = [
        "k6.vus",
        "k6.http_req_duration",
        "k6.iteration_duration",
        "k6.http_reqs",
    ];
    let ids: Vec<String> = loop {
        let charts: Value = get_json(&format!("{url}/api/v1/charts"), &[]);
        let ids: Vec<String> = charts["charts"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        if want.iter().all(|w| ids.iter().any(|i| i == w)) || Instant::now() > until {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    for w in want {
        assert!(
            ids.iter().any(|i| i == w),
            "no chart {w} in {ids:?}\n{}",
            nd.log()
        );
    }
    // The VU chart shows the run's gauges (`vus` and `vus_max`, the stock chart's two lines).
    for (label, metric) in [
        ("Virtual active users", "vus"),
        ("max Virtual active users", "vus_max"),
    ] {
        let want = run.metric(metric, "max");
        let until = Instant::now() + Duration::from_secs(10);
        let seen = loop {
            let data = get_json(
                &format!("{url}/api/v1/data"),
                &[("chart", "k6.vus"), ("after", "-60"), ("format", "json")],
            );
            let labels: Vec<&str> = data["labels"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let i = labels
                .iter()
                .position(|l| *l == label)
                .unwrap_or_else(|| panic!("no {label} in {labels:?}"));
            let seen: Vec<f64> = data["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r.get(i).and_then(Value::as_f64))
                .collect();
            if seen.contains(&want) || Instant::now() > until {
                break seen;
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        assert!(
            seen.contains(&want),
            "{label}: {seen:?}, the run's {metric} was {want}"
        );
    }
}
