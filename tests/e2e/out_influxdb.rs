//! `-o influxdb` as a user runs it: a short load test into InfluxDB 1.6 (v1 API) and into
//! VictoriaMetrics (InfluxDB v2 API), then what the server holds against the summary export.

use loadrun_test_support::Service;
use serde_json::Value;

use crate::support::{get_json, http, quick_run, Run};

fn influx(base: &str, db: &str, q: &str) -> Value {
    get_json(&format!("{base}/query"), &[("db", db), ("q", q)])["results"][0].clone()
}

/// The first value row of an InfluxQL query (`[time, agg1, agg2, …]`).
fn row(base: &str, db: &str, q: &str) -> Vec<Value> {
    let r = influx(base, db, q);
    r["series"][0]["values"][0]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{q}: {r}"))
}

fn column(r: &Value, i: usize) -> Vec<String> {
    r["series"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|v| v[i].as_str().unwrap().to_string())
        .collect()
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: server {got}, summary {want}"
    );
}

fn assert_counts_match(run: &Run, base: &str, db: &str) {
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0, "no requests made");
    let r = row(base, db, "SELECT count(value), sum(value) FROM http_reqs");
    assert_eq!(r[1].as_f64(), Some(reqs), "http_reqs points");
    assert_eq!(r[2].as_f64(), Some(reqs), "http_reqs sum");
    let r = row(base, db, "SELECT sum(value) FROM iterations");
    assert_eq!(
        r[1].as_f64(),
        Some(run.metric("iterations", "count")),
        "iterations"
    );
    // Every request's duration, not a sample of them: the mean is the summary's avg.
    let r = row(
        base,
        db,
        "SELECT count(value), mean(value), max(value) FROM http_req_duration",
    );
    assert_eq!(r[1].as_f64(), Some(reqs), "http_req_duration points");
    assert_close(
        r[2].as_f64().unwrap(),
        run.metric("http_req_duration", "avg"),
        "http_req_duration avg",
    );
    assert_close(
        r[3].as_f64().unwrap(),
        run.metric("http_req_duration", "max"),
        "http_req_duration max",
    );
    let r = row(base, db, "SELECT sum(value) FROM data_received");
    assert_eq!(
        r[1].as_f64(),
        Some(run.metric("data_received", "count")),
        "data_received"
    );
    let r = row(base, db, "SELECT max(value) FROM vus");
    assert_eq!(r[1].as_f64(), Some(run.metric("vus", "max")), "vus");
}

#[test]
fn influxdb_v1_holds_what_the_summary_counted() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    // As in the README: the database in the URL path (created at start), options in its query;
    // one option through k6's environment name.
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["influxdb"],
        &[
            "-o",
            &format!("influxdb={base}/k6e2e?tagsAsFields=url&tagsAsFields=vu:int"),
        ],
        &[("K6_INFLUXDB_PUSH_INTERVAL", "300ms")],
    );
    run.assert_clean();
    let report = run.output_report("influxdb");
    assert_eq!(report["received"], report["written"], "{report}");
    assert_counts_match(&run, &base, "k6e2e");

    // What k6's InfluxDB dashboards group and filter by.
    let keys = column(&influx(&base, "k6e2e", "SHOW TAG KEYS FROM http_reqs"), 0);
    for k in [
        "expected_response",
        "method",
        "name",
        "proto",
        "scenario",
        "status",
    ] {
        assert!(keys.contains(&k.to_string()), "tag {k} missing: {keys:?}");
    }
    assert!(
        !keys.contains(&"url".to_string()),
        "url was moved to a field: {keys:?}"
    );
    let statuses = column(
        &influx(
            &base,
            "k6e2e",
            "SHOW TAG VALUES FROM http_reqs WITH KEY = \"status\"",
        ),
        1,
    );
    assert_eq!(statuses, ["200"]);
    let fields = influx(&base, "k6e2e", "SHOW FIELD KEYS FROM http_reqs");
    assert!(
        fields.to_string().contains("[\"url\",\"string\"]"),
        "{fields}"
    );
    let r = row(base.as_str(), "k6e2e", "SELECT count(value) FROM http_req_duration WHERE expected_response = 'true' AND scenario = 'default' AND method = 'GET'");
    assert_eq!(r[1].as_f64(), Some(run.metric("http_reqs", "count")));
}

#[test]
fn influxdb_v2_api_into_victoriametrics_holds_what_the_summary_counted() {
    let Some(svc) = Service::start("victoriametrics", &[]) else {
        return;
    };
    let base = svc.var("VM_URL").to_string();
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["influxdb"],
        // VictoriaMetrics keeps millisecond timestamps: two points of one series in the same
        // millisecond become one. A paced run keeps every request in a millisecond of its own.
        &[
            "-o",
            &format!("influxdb={base}?org=acme&bucket=k6"),
            "--rate",
            "100",
        ],
        &[
            ("K6_INFLUXDB_TOKEN", "e2e-token"),
            ("K6_INFLUXDB_PUSH_INTERVAL", "500ms"),
        ],
    );
    run.assert_clean();
    let (status, body) = http("GET", &format!("{base}/internal/force_flush"), &[], b"");
    assert_eq!(status, 200, "{body}");
    // VictoriaMetrics names series <measurement>_<field>; raw samples, so counts are exact.
    let export = |name: &str| -> (Vec<Value>, f64, usize) {
        let (status, body) = http(
            "GET",
            &format!(
                "{base}/api/v1/export?match[]={}&start=0",
                crate::support::url_encode(&format!("{{__name__=\"{name}\"}}"))
            ),
            &[],
            b"",
        );
        assert_eq!(status, 200, "{body}");
        let mut labels = Vec::new();
        let (mut sum, mut n) = (0.0, 0);
        for line in body.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            for x in v["values"].as_array().unwrap() {
                sum += x.as_f64().unwrap();
                n += 1;
            }
            labels.push(v["metric"].clone());
        }
        (labels, sum, n)
    };
    let reqs = run.metric("http_reqs", "count");
    // Samples VictoriaMetrics has just ingested can take a moment to show in an export even
    // after force_flush: wait for them (bounded), then compare exactly.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let (labels, sum, n) = loop {
        let got = export("http_reqs_value");
        if got.2 as f64 >= reqs || std::time::Instant::now() >= until {
            break got;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = http("GET", &format!("{base}/internal/force_flush"), &[], b"");
    };
    assert_eq!((sum, n as f64), (reqs, reqs), "http_reqs: sum and points");
    assert!(
        labels.iter().any(|m| m["status"] == "200"
            && m["method"] == "GET"
            && m["scenario"] == "default"
            && m["expected_response"] == "true"
            && m["name"].as_str().is_some_and(|s| s.ends_with("/get"))),
        "{labels:?}"
    );
    let (_, sum, _) = export("iterations_value");
    assert_eq!(sum, run.metric("iterations", "count"), "iterations");
    let (_, sum, n) = export("http_req_duration_value");
    assert_eq!(n as f64, reqs, "http_req_duration points");
    assert_close(
        sum / n as f64,
        run.metric("http_req_duration", "avg"),
        "http_req_duration avg",
    );
}
