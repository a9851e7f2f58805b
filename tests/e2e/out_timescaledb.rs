//! `-o timescaledb` as a user runs it: a short load test into a real PostgreSQL 15, then the
//! rows it holds against the summary export.

use std::process::Command;

use loadrun_test_support::Service;

use crate::support::quick_run;

const SECRET: &str = "e2e-Pw-n0t-2-b3-sh0wn";

/// One row of a query, its columns split on `|`.
fn psql(port: &str, sql: &str) -> Vec<String> {
    let out = Command::new("psql")
        .env("PGSSLMODE", "disable")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            port,
        ])
        .args(["-U", "postgres", "-d", "postgres", "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{sql}: {text}");
    lines[0].split('|').map(str::to_string).collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

#[test]
fn timescaledb_holds_every_sample_the_summary_counted() {
    let Some(svc) = Service::start("postgres", &[]) else {
        return;
    };
    let port = svc.var("PGPORT").to_string();
    // As in the README: the password kept off the command line in PGPASSWORD (trust auth
    // ignores it, it must never be shown), the push interval in k6's environment name.
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["timescaledb"],
        &[
            "--tag",
            "testid=e2e-tsdb",
            "-o",
            &format!("timescaledb=postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable"),
        ],
        &[
            ("PGPASSWORD", SECRET),
            ("K6_TIMESCALEDB_PUSH_INTERVAL", "500ms"),
        ],
    );
    run.assert_clean();
    let shown = format!("{}{}{}", run.stdout(), run.stderr(), run.summary);
    assert!(!shown.contains(SECRET), "the password was shown");

    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0, "no requests made");
    let r = psql(&port, "SELECT count(*), sum(value), min(metric_type), min(metric_contains) FROM samples WHERE metric = 'http_reqs'");
    assert_eq!(
        (num(&r[0]), num(&r[1])),
        (reqs, reqs),
        "http_reqs rows and sum"
    );
    assert_eq!((r[2].as_str(), r[3].as_str()), ("counter", "default"));
    let r = psql(
        &port,
        "SELECT sum(value) FROM samples WHERE metric = 'iterations'",
    );
    assert_eq!(num(&r[0]), run.metric("iterations", "count"), "iterations");
    let r = psql(
        &port,
        "SELECT sum(value) FROM samples WHERE metric = 'data_sent'",
    );
    assert_eq!(num(&r[0]), run.metric("data_sent", "count"), "data_sent");
    let r = psql(&port, "SELECT count(*), avg(value), max(value), min(metric_contains) FROM samples WHERE metric = 'http_req_duration'");
    assert_eq!(num(&r[0]), reqs, "http_req_duration rows");
    let avg = run.metric("http_req_duration", "avg");
    assert!(
        (num(&r[1]) - avg).abs() < 1e-6 * avg,
        "avg: {} vs {avg}",
        r[1]
    );
    assert_eq!(num(&r[2]), run.metric("http_req_duration", "max"));
    assert_eq!(r[3], "time");
    let r = psql(
        &port,
        "SELECT avg(value) FROM samples WHERE metric = 'http_req_failed'",
    );
    assert_eq!(num(&r[0]), run.metric("http_req_failed", "value"));

    // The tags the k6 TimescaleDB dashboards filter on, on every request row.
    let r = psql(
        &port,
        "SELECT count(*) FROM samples WHERE metric = 'http_reqs' AND tags->>'status' = '200' \
         AND tags->>'method' = 'GET' AND tags->>'scenario' = 'default' AND tags->>'expected_response' = 'true' \
         AND tags->>'name' LIKE '%/get' AND tags->>'testid' = 'e2e-tsdb'",
    );
    assert_eq!(num(&r[0]), reqs, "tags on http_reqs rows");

    // One run recorded, its end written at stop, every row tied to it.
    let report = run.output_report("timescaledb");
    let r = psql(&port, "SELECT count(*), min(outcome), min(end_reason), min(samples_written), min(tags->>'testid') FROM test_runs");
    assert_eq!(
        r,
        [
            "1",
            "passed",
            "completed",
            &report["written"].to_string(),
            "e2e-tsdb"
        ]
    );
    let r = psql(&port, "SELECT count(*), count(DISTINCT test_run_id) FROM samples WHERE test_run_id = (SELECT id FROM test_runs)");
    assert_eq!(r[0], report["written"].to_string(), "rows of this run");
    assert_eq!(r[1], "1");
}
