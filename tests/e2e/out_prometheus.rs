//! `-o prometheus` as a user runs it: a short load test into a real Prometheus through remote
//! write, then Prometheus' answers against the summary export.

use loadrun_test_support::Service;
use serde_json::Value;

use crate::support::{get_json, quick_run, Run};

/// `(labels, value)` per series of an instant PromQL query.
pub fn prom_query(base: &str, q: &str) -> Vec<(Value, f64)> {
    let v = get_json(&format!("{base}/api/v1/query"), &[("query", q)]);
    assert_eq!(v["status"], "success", "{q}: {v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].clone(),
                r["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The value of a query that must yield exactly one series.
pub fn prom_single(base: &str, q: &str) -> f64 {
    let r = prom_query(base, q);
    assert_eq!(r.len(), 1, "{q}: {r:?}");
    r[0].1
}

pub fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-9),
        "{what}: Prometheus {got}, summary {want}"
    );
}

/// What every run into Prometheus must show, whichever output sent it; `sel` is a label
/// selector (`{testid="x"}`) the series must carry.
pub fn assert_matches_summary(run: &Run, base: &str, sel: &str) {
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0, "no requests made");
    assert_eq!(
        prom_single(base, &format!("sum(k6_http_reqs_total{sel})")),
        reqs,
        "http_reqs"
    );
    assert_eq!(
        prom_single(base, &format!("sum(k6_iterations_total{sel})")),
        run.metric("iterations", "count")
    );
    assert_eq!(
        prom_single(base, &format!("sum(k6_data_received_total{sel})")),
        run.metric("data_received", "count")
    );
    assert_eq!(
        prom_single(base, &format!("k6_vus{sel}")),
        run.metric("vus", "max"),
        "vus"
    );
    assert_eq!(
        prom_single(base, &format!("k6_http_req_failed_rate{sel}")),
        run.metric("http_req_failed", "value")
    );
    // One series per tag set: /get always answers 200, so there is one. Times are seconds.
    assert_close(
        prom_single(base, &format!("k6_http_req_duration_avg{sel}")),
        run.metric("http_req_duration", "avg") / 1000.0,
        1e-9,
        "http_req_duration avg",
    );
    assert_close(
        prom_single(base, &format!("k6_http_req_duration_max{sel}")),
        run.metric("http_req_duration", "max") / 1000.0,
        1e-6,
        "http_req_duration max",
    );
    // Both sides are histogram estimates of the same values (the host's and the output's).
    assert_close(
        prom_single(base, &format!("k6_http_req_duration_p95{sel}")),
        run.metric("http_req_duration", "p(95)") / 1000.0,
        0.03,
        "http_req_duration p(95)",
    );

    // The labels k6's dashboard (19665) filters and groups by.
    let r = prom_query(base, &format!("k6_http_reqs_total{sel}"));
    let labels = r[0].0.as_object().unwrap();
    for (k, want) in [
        ("method", "GET"),
        ("status", "200"),
        ("scenario", "default"),
        ("expected_response", "true"),
    ] {
        assert_eq!(
            labels.get(k).and_then(Value::as_str),
            Some(want),
            "label {k}: {labels:?}"
        );
    }
    for k in ["name", "url", "proto"] {
        assert!(labels.contains_key(k), "label {k} missing: {labels:?}");
    }
    assert!(
        !labels.contains_key("group"),
        "an empty group is not a label: {labels:?}"
    );
    assert!(
        !labels.contains_key("vu") && !labels.contains_key("iter"),
        "{labels:?}"
    );
}

#[test]
fn prometheus_remote_write_holds_what_the_summary_counted() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    // As in the README: key=value pairs, a list that continues past commas; the push interval
    // through k6's environment name; a testid tag as k6 users add for the dashboard.
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["prometheus"],
        &[
            "--tag",
            "testid=e2e-prom",
            "-o",
            &format!(
                "prometheus=url={},trendStats=p(95),avg,max,count",
                svc.var("PROMETHEUS_RW_URL")
            ),
        ],
        &[("K6_PROMETHEUS_RW_PUSH_INTERVAL", "500ms")],
    );
    run.assert_clean();
    assert_matches_summary(&run, &base, "{testid=\"e2e-prom\"}");
    assert_eq!(
        prom_single(&base, "sum(k6_http_req_duration_count)"),
        run.metric("http_reqs", "count"),
        "a count, not count/1000 (k6#4582)"
    );
    // trendStats was read from the -o argument: no default p99.
    assert!(prom_query(&base, "k6_http_req_duration_p99").is_empty());
}
