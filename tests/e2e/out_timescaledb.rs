//! `-o timescaledb` as a user runs it: a short load test into a real PostgreSQL 15, then the
//! rows it holds against the summary export.

use std::process::Command;

use loadrun_test_support::{Service, TestPki};

use crate::support::quick_run;

const SECRET: &str = "e2e-Pw-n0t-2-b3-sh0wn";

/// One row of a query, its columns split on `|`.
fn psql(port: &str, sql: &str) -> Vec<String> {
    psql_ssl(port, &[("PGSSLMODE", "disable")], "postgres", sql)
}

/// [`psql`] into database `db`, with libpq's TLS variables (`PGSSLMODE`, `PGSSLROOTCERT`).
fn psql_ssl(port: &str, ssl: &[(&str, &str)], db: &str, sql: &str) -> Vec<String> {
    let text = psql_text(port, ssl, db, sql);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{sql}: {text}");
    lines[0].split('|').map(str::to_string).collect()
}

/// What psql printed for `sql` (which must succeed).
fn psql_text(port: &str, ssl: &[(&str, &str)], db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .envs(ssl.iter().copied())
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
        .args(["-U", "postgres", "-d", db, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
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

/// The same over TLS: a TLS-only PostgreSQL (`PG_TLS=1`: `ssl=on`, `hostssl` lines alone, a CA
/// made at test time), `sslmode=verify-full` with that CA and a password role
/// (scram-sha-256 over TLS). Then a wrong CA: the run does not start, and says why.
#[test]
fn timescaledb_over_tls_holds_every_sample_the_summary_counted() {
    let Some(svc) = Service::start("postgres", &[("PG_TLS", "1")]) else {
        return;
    };
    let port = svc.var("PGPORT").to_string();
    let ca = svc.var("PG_TLS_CA_FILE").to_string();
    let ssl = [("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca.as_str())];
    let su = |sql: &str| psql_text(&port, &ssl, "postgres", sql);
    su(&format!("CREATE ROLE k6 LOGIN PASSWORD '{SECRET}'"));
    su("CREATE DATABASE k6 OWNER k6");
    let target = format!(
        "timescaledb=postgresql://k6@localhost:{port}/k6?sslmode=verify-full&sslrootcert={ca}\
         &application_name=e2e-tls"
    );
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["timescaledb"],
        &["--tag", "testid=e2e-tsdb-tls", "-o", &target],
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
    let db = |sql: &str| psql_ssl(&port, &ssl, "k6", sql);
    let r = db("SELECT count(*), sum(value) FROM samples WHERE metric = 'http_reqs'");
    assert_eq!(
        (num(&r[0]), num(&r[1])),
        (reqs, reqs),
        "http_reqs rows and sum"
    );
    let r = db("SELECT count(*), max(value) FROM samples WHERE metric = 'http_req_duration'");
    assert_eq!(num(&r[0]), reqs, "http_req_duration rows");
    // Within a few ulps: the plain test above sometimes sees the two differ in the last bit.
    let max = run.metric("http_req_duration", "max");
    assert!(
        (num(&r[1]) - max).abs() <= 1e-12 * max,
        "max: {} vs {max}",
        r[1]
    );
    let r = db("SELECT sum(value) FROM samples WHERE metric = 'iterations'");
    assert_eq!(num(&r[0]), run.metric("iterations", "count"), "iterations");
    let report = run.output_report("timescaledb");
    let r = db("SELECT count(*), min(outcome), min(samples_written) FROM test_runs");
    assert_eq!(r, ["1", "passed", &report["written"].to_string()]);
    let r = db("SELECT count(*) FROM samples");
    assert_eq!(
        r[0],
        report["written"].to_string(),
        "every sample written is there"
    );

    // A CA that did not sign the server's certificate: no run, and the reason.
    let Some(other) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let wrong = other.ca().display().to_string();
    let run = quick_run(
        "/get",
        1,
        "1s",
        &["timescaledb"],
        &[
            "-o",
            &format!(
                "timescaledb=postgresql://k6@localhost:{port}/k6?sslmode=verify-full&sslrootcert={wrong}"
            ),
        ],
        &[("PGPASSWORD", SECRET)],
    );
    assert!(!run.output.status.success(), "ran with a wrong CA");
    let err = run.stderr();
    eprintln!(
        "loadrun with a wrong CA ({:?}):\n{err}",
        run.output.status.code()
    );
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer")
            && err.contains(&format!("not signed by a CA in sslrootcert {wrong}")),
        "{err}"
    );
    assert!(!err.contains(SECRET), "the password was shown: {err}");
}
