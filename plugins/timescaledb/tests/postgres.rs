//! Against a real PostgreSQL 15 (`tests/services/start-postgres.sh`): the plugin writes through
//! its own code path, and `psql` reads back what the server holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use loadrun_plugin_api::abi::{EndReason, RunOutcome, ThresholdDef, ThresholdVerdict};
use loadrun_plugin_api::testkit::{self, BatchBuilder, Recorded};
use loadrun_plugin_api::{MetricType, Output, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::{workspace_root, Service};
use out_timescaledb::{TimescaleOutput, TimescalePlugin};

const SECRET: &str = "Pw-n0t-2-b3-sh0wn";
const T0: i64 = 1_700_000_000_123_456_000; // µs-exact, as timestamptz keeps it

fn start_pg() -> Option<Service> {
    Service::start("postgres", &[])
}

/// The server's URL with a password added (trust auth ignores it; it must never be shown).
fn url(svc: &Service, user: &str, query: &str) -> String {
    format!(
        "postgresql://{user}:{SECRET}@127.0.0.1:{}/postgres?sslmode=disable&{query}",
        svc.var("PGPORT")
    )
}

/// Runs SQL with psql as the superuser; rows as `|`-separated lines.
fn psql(svc: &Service, sql: &str) -> Vec<String> {
    // PGlite wants a password; trust auth ignores it.
    let env = [("PGPASSWORD", "x"), ("PGSSLMODE", "disable")];
    common::psql_rows(svc, &env, "postgres", sql)
}

fn one(svc: &Service, sql: &str) -> String {
    let rows = psql(svc, sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0].clone()
}

fn output(arg: &str, thresholds: Vec<ThresholdDef>) -> Box<dyn Output> {
    let mut init = testkit::init("timescaledb", Some(arg), "", &[]);
    init.test.thresholds = thresholds.into();
    init.test.tags = vec![loadrun_plugin_api::KeyValue::new("testid", "demo")].into();
    TimescalePlugin::new_output(init)
        .map_err(|e| e.message)
        .unwrap()
}

fn outcome(passed: bool, verdicts: &[(&str, &str, bool)]) -> RunOutcome {
    RunOutcome {
        passed,
        reason: EndReason::Completed,
        thresholds: verdicts
            .iter()
            .map(|(m, s, p)| ThresholdVerdict {
                metric: (*m).into(),
                source: (*s).into(),
                passed: *p,
            })
            .collect(),
        duration_ms: 2_500,
        extra: "{}".into(),
    }
}

fn no_secret(rec: &Recorded, more: &[&str]) {
    for (_, line) in rec.logs() {
        assert!(!line.contains(SECRET), "password in a log line: {line}");
    }
    for m in more {
        assert!(!m.contains(SECRET), "password in a message: {m}");
    }
}

/// Four metric types, tags with quoting, vu/iter metadata, and values that `real` would round.
fn demo_batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let tags = [
        ("method", "GET"),
        ("name", "http://x/?q=\"1\""),
        ("status", "200"),
    ];
    let s_reqs = b.series(reqs, &tags, &[("iter", "7"), ("vu", "3")]);
    let s_dur = b.series(dur, &tags, &[("iter", "7"), ("vu", "3")]);
    let s_vus = b.series(vus, &[("testid", "demo")], &[]);
    let s_checks = b.series(checks, &[("check", "status is 200")], &[]);
    for i in 0..5i64 {
        let t = T0 + i * 1_000_000_000;
        b.sample(s_reqs, t, 1.0);
        b.sample(s_dur, t, 123.456_789_012_345 + i as f64);
        b.sample(s_vus, t, 10.0);
    }
    for i in 0..3i64 {
        b.sample(s_checks, T0 + i * 1000, (i % 2) as f64);
    }
    b
}

#[test]
fn writes_samples_thresholds_and_run() {
    let Some(svc) = start_pg() else { return };
    let (host, rec) = testkit::recording_host();
    let thresholds = vec![
        ThresholdDef {
            metric: "http_req_duration".into(),
            source: "p(95)<500".into(),
            abort_on_fail: false,
        },
        ThresholdDef {
            metric: "checks{check:status is 200}".into(),
            source: "rate>0.9".into(),
            abort_on_fail: true,
        },
    ];
    // Small chunks over two connections: several COPY statements per push.
    let mut out = output(
        &url(
            &svc,
            "postgres",
            "pushInterval=50ms&batchSize=4&connections=2",
        ),
        thresholds,
    );
    out.start(host).unwrap();
    assert_eq!(
        one(
            &svc,
            "SELECT outcome FROM test_runs WHERE id = 'test-run-1'"
        ),
        "running"
    );
    assert_eq!(one(&svc, "SELECT count(*) FROM thresholds"), "2");

    let b = demo_batch();
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(80));
    // The next call pushes what the interval gathered.
    assert_eq!(out.write(BatchBuilder::new().batch()), WriteStatus::Ok);
    assert_eq!(one(&svc, "SELECT count(*) FROM samples"), "18");
    out.stop(
        &outcome(
            false,
            &[
                ("http_req_duration", "p(95)<500", true),
                ("checks{check:status is 200}", "rate>0.9", false),
            ],
        ),
        Duration::from_secs(10),
    )
    .unwrap();

    // Rows per metric equal what was sent, with types and units.
    assert_eq!(
        psql(
            &svc,
            "SELECT metric, metric_type, metric_contains, count(*), round(sum(value)::numeric, 9) FROM samples \
             WHERE test_run_id = 'test-run-1' GROUP BY 1, 2, 3 ORDER BY 1"
        ),
        [
            "checks|rate|default|3|1.000000000",
            "http_req_duration|trend|time|5|627.283945062",
            "http_reqs|counter|default|5|5.000000000",
            "vus|gauge|default|5|50.000000000",
        ]
    );
    // double precision keeps every digit (real would give 123.45679).
    assert_eq!(
        one(
            &svc,
            "SELECT value::text FROM samples WHERE metric = 'http_req_duration' ORDER BY ts LIMIT 1"
        ),
        "123.456789012345"
    );
    // Timestamps to the microsecond.
    assert_eq!(
        one(
            &svc,
            "SELECT (extract(epoch FROM min(ts)) * 1000000)::bigint FROM samples"
        ),
        (T0 / 1000).to_string()
    );
    assert_eq!(
        one(
            &svc,
            "SELECT tags::text, metadata::text FROM samples WHERE metric = 'http_reqs' LIMIT 1"
        ),
        r#"{"name": "http://x/?q=\"1\"", "method": "GET", "status": "200"}|{"vu": "3", "iter": "7"}"#
    );
    // jsonb queries as k6 dashboards write them; no metadata means NULL.
    assert_eq!(
        one(
            &svc,
            "SELECT count(*) FROM samples WHERE tags->>'status' = '200' AND metadata->>'vu' = '3'"
        ),
        "10"
    );
    assert_eq!(
        one(&svc, "SELECT count(*) FROM samples WHERE metadata IS NULL"),
        "8"
    );
    // Thresholds: definitions at start, verdicts at stop, submetric tags filled.
    assert_eq!(
        psql(
            &svc,
            "SELECT metric, threshold, abort_on_fail, last_failed, coalesce(tags::text, '-'), test_run_id \
             FROM thresholds ORDER BY id"
        ),
        [
            "http_req_duration|p(95)<500|f|f|-|test-run-1",
            r#"checks{check:status is 200}|rate>0.9|t|t|{"check": "status is 200"}|test-run-1"#,
        ]
    );
    assert_eq!(
        one(
            &svc,
            "SELECT plan_name, outcome, end_reason, duration_ms, samples_written, tags::text, \
             (extract(epoch FROM end_time - start_time) * 1000)::bigint FROM test_runs"
        ),
        r#"testkit|failed|completed|2500|18|{"testid": "demo"}|2500"#
    );
    // The GIN index on tags, and k6's index on ts.
    assert_eq!(
        psql(
            &svc,
            "SELECT indexname FROM pg_indexes WHERE tablename = 'samples' ORDER BY 1"
        ),
        ["idx_samples_run", "idx_samples_tags", "idx_samples_ts"]
    );
    assert!(one(
        &svc,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_samples_tags'"
    )
    .contains("USING gin (tags)"));
    assert!(
        rec.counter("copy_statements") >= 5,
        "18 rows in chunks of 4"
    );
    assert_eq!(rec.counter("rows_written"), 18);
    no_secret(&rec, &[]);
}

#[test]
fn existing_k6_tables_are_completed_and_reused() {
    let Some(svc) = start_pg() else { return };
    // k6's own DDL, statement by statement (create_hypertable omitted: no TimescaleDB here).
    psql(
        &svc,
        "CREATE TABLE IF NOT EXISTS samples (ts timestamptz NOT NULL DEFAULT current_timestamp, \
         metric varchar(128) NOT NULL, tags jsonb, value real)",
    );
    psql(
        &svc,
        "CREATE TABLE IF NOT EXISTS thresholds (id serial, ts timestamptz NOT NULL DEFAULT \
         current_timestamp, metric varchar(128) NOT NULL, tags jsonb, threshold varchar(128) NOT \
         NULL, abort_on_fail boolean DEFAULT FALSE, delay_abort_eval varchar(128), last_failed \
         boolean DEFAULT FALSE)",
    );
    psql(
        &svc,
        "CREATE INDEX IF NOT EXISTS idx_samples_ts ON samples (ts DESC)",
    );
    psql(
        &svc,
        "INSERT INTO samples (ts, metric, tags, value) VALUES (now(), 'old_k6_row', '{}', 1)",
    );

    for run in 0..2 {
        let (host, rec) = testkit::recording_host();
        let mut init = testkit::init(
            "timescaledb",
            Some(&url(&svc, "postgres", "pushInterval=1h")),
            "",
            &[],
        );
        init.test.test_id = format!("run-{run}").into();
        let mut out = TimescalePlugin::new_output(init)
            .map_err(|e| e.message)
            .unwrap();
        out.start(host).unwrap();
        let b = demo_batch();
        assert_eq!(out.write(b.batch()), WriteStatus::Ok);
        // Nothing is due within the hour: stop writes it all.
        out.stop(&outcome(true, &[]), Duration::from_secs(10))
            .unwrap();
        assert!(
            rec.logs()
                .iter()
                .any(|(_, l)| l.contains("samples.value is real")),
            "no warning about the real column: {:?}",
            rec.logs()
        );
    }
    assert_eq!(
        psql(
            &svc,
            "SELECT coalesce(test_run_id, 'k6'), count(*) FROM samples GROUP BY 1 ORDER BY 1"
        ),
        ["k6|1", "run-0|18", "run-1|18"]
    );
    // Written as float4 into k6's column.
    assert_eq!(
        one(
            &svc,
            "SELECT value::text FROM samples WHERE metric = 'http_req_duration' ORDER BY ts LIMIT 1"
        ),
        "123.45679"
    );
    assert_eq!(
        psql(&svc, "SELECT id, outcome FROM test_runs ORDER BY id"),
        ["run-0|passed", "run-1|passed"]
    );
}

#[test]
fn role_without_create_privilege_fails_at_start() {
    let Some(svc) = start_pg() else { return };
    psql(&svc, "CREATE ROLE limited LOGIN PASSWORD 'x'");
    let (host, rec) = testkit::recording_host();
    let mut out = output(&url(&svc, "limited", ""), vec![]);
    let err = out.start(host).unwrap_err().message.to_string();
    assert!(err.contains("create table samples"), "{err}");
    assert!(err.contains("permission denied for schema public"), "{err}");
    assert!(err.contains("42501") && err.contains("grant"), "{err}");
    assert!(err.contains("postgresql://limited:***@127.0.0.1"), "{err}");
    no_secret(&rec, &[&err]);

    // Once an owner created the tables and granted writes, the same role works.
    let (host, _) = testkit::recording_host();
    let mut owner = output(&url(&svc, "postgres", ""), vec![]);
    owner.start(host).unwrap();
    owner
        .stop(&outcome(true, &[]), Duration::from_secs(5))
        .unwrap();
    psql(
        &svc,
        "GRANT INSERT ON samples TO limited; GRANT INSERT, UPDATE ON thresholds, test_runs TO limited; \
         GRANT USAGE ON SEQUENCE thresholds_id_seq TO limited; GRANT SELECT ON thresholds, test_runs TO limited; \
         GRANT INSERT, SELECT ON loadrun_chunks TO limited",
    );
    let (host, _) = testkit::recording_host();
    let mut init = testkit::init("timescaledb", Some(&url(&svc, "limited", "")), "", &[]);
    init.test.test_id = "limited-run".into();
    let mut out = TimescalePlugin::new_output(init)
        .map_err(|e| e.message)
        .unwrap();
    out.start(host).unwrap();
    assert_eq!(out.write(demo_batch().batch()), WriteStatus::Ok);
    out.stop(&outcome(true, &[]), Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        one(
            &svc,
            "SELECT count(*) FROM samples WHERE test_run_id = 'limited-run'"
        ),
        "18"
    );

    // Without INSERT on a table: a clear error naming what is missing.
    psql(&svc, "REVOKE INSERT ON samples FROM limited");
    let (host, _) = testkit::recording_host();
    let mut out = output(&url(&svc, "limited", ""), vec![]);
    let err = out.start(host).unwrap_err().message.to_string();
    assert!(err.contains("lacks INSERT on samples"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

#[test]
fn unreachable_server_is_a_clear_error_without_password() {
    let Some(svc) = start_pg() else { return };
    let port = svc.var("PGPORT").to_string();
    svc.stop();
    let (host, rec) = testkit::recording_host();
    let mut out = output(
        &format!("postgresql://k6:{SECRET}@127.0.0.1:{port}/k6?sslmode=disable&connectTimeout=2s"),
        vec![],
    );
    let err = out.start(host).unwrap_err().message.to_string();
    assert!(
        err.contains("cannot connect to postgresql://k6:***@127.0.0.1"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("refused"), "{err}");
    no_secret(&rec, &[&err]);
}

#[test]
fn sslmode_require_against_a_plain_server_is_refused() {
    let Some(svc) = start_pg() else { return };
    let (host, _) = testkit::recording_host();
    let arg = format!(
        "postgresql://postgres:{SECRET}@127.0.0.1:{}/postgres?sslmode=require",
        svc.var("PGPORT")
    );
    let err = output(&arg, vec![])
        .start(host)
        .unwrap_err()
        .message
        .to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    // prefer falls back to plain text on the same server.
    let (host, _) = testkit::recording_host();
    let arg = arg.replace("require", "prefer");
    let mut out = output(&arg, vec![]);
    out.start(host).unwrap();
    out.stop(&outcome(true, &[]), Duration::from_secs(5))
        .unwrap();
}

/// Starts the server again with the same data directory and port (the harness has no restart).
fn restart(svc: &Service) {
    let out = Command::new("bash")
        .arg(workspace_root().join("tests/services/start-postgres.sh"))
        .arg(svc.state_dir())
        .arg(svc.var("PGPORT"))
        .output()
        .expect("run start-postgres.sh");
    assert!(
        out.status.success(),
        "restart failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn server_restart_mid_run_loses_and_duplicates_nothing() {
    let Some(svc) = start_pg() else { return };
    let (host, rec) = testkit::recording_host();
    let mut out = output(
        &url(
            &svc,
            "postgres",
            "pushInterval=100ms&connectTimeout=1s&batchSize=7",
        ),
        vec![],
    );
    out.start(host).unwrap();

    // Three batches with the same series: definitions come with the first only.
    let mut b = demo_batch();
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(150));
    b.samples
        .iter_mut()
        .for_each(|s| s.time_ns += 10_000_000_000);
    assert_eq!(out.write(b.samples_only()), WriteStatus::Ok); // pushes batch 1
    assert_eq!(one(&svc, "SELECT count(*) FROM samples"), "18");

    svc.stop();
    std::thread::sleep(Duration::from_millis(150));
    b.samples
        .iter_mut()
        .for_each(|s| s.time_ns += 10_000_000_000);
    // Batch 2 is buffered; pushing it fails, so batch 3 is handed back, as the host would
    // see it, and offered again after a backoff until the server is back.
    let mut retries = 0;
    let mut reasons = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match out.write(b.samples_only()) {
            WriteStatus::Ok => break,
            WriteStatus::Retry { reason, .. } => {
                retries += 1;
                reasons.push(reason.to_string());
                if retries == 3 {
                    restart(&svc);
                }
            }
            WriteStatus::Fatal(e) => panic!("fatal: {e}"),
        }
        assert!(Instant::now() < deadline, "never recovered: {reasons:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(retries >= 3, "{retries}");
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("postgresql://postgres:***@127.0.0.1")),
        "{reasons:?}"
    );
    out.stop(&outcome(true, &[]), Duration::from_secs(20))
        .unwrap();

    // Each of the three batches exactly once.
    assert_eq!(
        psql(
            &svc,
            "SELECT metric, count(*), count(DISTINCT ts) FROM samples GROUP BY 1 ORDER BY 1"
        ),
        [
            "checks|9|9",
            "http_req_duration|15|15",
            "http_reqs|15|15",
            "vus|15|15"
        ]
    );
    assert_eq!(one(&svc, "SELECT samples_written FROM test_runs"), "54");
    assert!(rec.counter("connections_opened") >= 1);
    let refs: Vec<&str> = reasons.iter().map(String::as_str).collect();
    no_secret(&rec, &refs);
}

/// The server commits a chunk but the answer never arrives (the connection drops first): the
/// retry must find the chunk already written, not COPY it again. `lose_next_acks` makes that
/// happen at a chosen point instead of by racing a server kill.
#[test]
fn lost_acknowledgement_after_commit_writes_nothing_twice() {
    let Some(svc) = start_pg() else { return };
    let (host, rec) = testkit::recording_host();
    let mut init = testkit::init(
        "timescaledb",
        Some(&url(&svc, "postgres", "batchSize=5&connections=2")),
        "",
        &[],
    );
    init.test.test_id = "lost-ack".into();
    let mut out = TimescaleOutput::new(&init).map_err(|e| e.message).unwrap();
    out.start(host).unwrap();
    // 18 samples in chunks of 5, 5, 5, 3; the first round's two chunks commit unacknowledged.
    assert_eq!(out.write(demo_batch().batch()), WriteStatus::Ok);
    out.lose_next_acks(2);
    out.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(out.buffered(), 0);
    assert_eq!(rec.counter("chunks_already_written"), 2);
    assert_eq!(rec.counter("copy_statements"), 4);
    assert_eq!(rec.counter("rows_written"), 18);

    // The retry path again after everything is in: nothing new, nothing doubled.
    let mut b = demo_batch();
    b.samples
        .iter_mut()
        .for_each(|s| s.time_ns += 10_000_000_000);
    assert_eq!(out.write(b.samples_only()), WriteStatus::Ok);
    out.lose_next_acks(1);
    out.stop(&outcome(true, &[]), Duration::from_secs(20))
        .unwrap();
    assert_eq!(rec.counter("chunks_already_written"), 3);

    assert_eq!(
        psql(
            &svc,
            "SELECT metric, count(*), count(DISTINCT ts) FROM samples \
             WHERE test_run_id = 'lost-ack' GROUP BY 1 ORDER BY 1"
        ),
        [
            "checks|6|6",
            "http_req_duration|10|10",
            "http_reqs|10|10",
            "vus|10|10"
        ]
    );
    assert_eq!(
        one(
            &svc,
            "SELECT count(*), sum(rows) FROM loadrun_chunks WHERE test_run_id = 'lost-ack'"
        ),
        "8|36"
    );
    assert_eq!(
        one(
            &svc,
            "SELECT samples_written FROM test_runs WHERE id = 'lost-ack'"
        ),
        "36"
    );
}

/// EXPERIMENTAL: TimescaleDB in PGlite (`tests/services/start-timescaledb-pglite.sh`), only when
/// `PGLITE_TS_DIR` points at its npm install. It takes one connection at a time, and its socket
/// server crashes on `COPY FROM STDIN` (a WASM trap, with the binary and the text format
/// alike), so this checks the DDL and the run bookkeeping only; COPY is covered on PostgreSQL.
#[test]
fn hypertable_and_policies_on_timescaledb() {
    let Some(dir) = std::env::var_os("PGLITE_TS_DIR") else {
        eprintln!("SKIP: set PGLITE_TS_DIR to run the TimescaleDB (PGlite) test");
        return;
    };
    let dir = dir.to_string_lossy().to_string();
    let svc = Service::start("timescaledb-pglite", &[("PGLITE_TS_DIR", &dir)]).unwrap();
    let (host, rec) = testkit::recording_host();
    let mut out = output(
        &url(
            &svc,
            "postgres",
            "connections=1&hypertable=true&chunkInterval=1h&compressAfter=7d&retention=30d",
        ),
        vec![],
    );
    out.start(host).unwrap();
    if let Err(e) = out.stop(&outcome(true, &[]), Duration::from_secs(20)) {
        panic!("{e}\nserver log:\n{}", svc.log());
    }
    drop(out); // frees the single connection for psql
    assert!(
        rec.logs().iter().any(|(_, l)| l.contains("(hypertable)")),
        "{:?}",
        rec.logs()
    );
    assert_eq!(
        one(
            &svc,
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
        ),
        "samples"
    );
    assert_eq!(
        psql(
            &svc,
            "SELECT proc_name FROM timescaledb_information.jobs \
             WHERE hypertable_name = 'samples' ORDER BY 1"
        ),
        ["policy_compression", "policy_retention"]
    );
    assert_eq!(
        one(&svc, "SELECT outcome, samples_written FROM test_runs"),
        "passed|0"
    );
}

#[test]
fn stop_retries_until_the_deadline() {
    let Some(svc) = start_pg() else { return };
    let arg = url(&svc, "postgres", "pushInterval=1h&connectTimeout=1s");

    // The server is down when stop begins and back 1.5 s later: stop waits for it.
    let (host, _) = testkit::recording_host();
    let mut out = output(&arg, vec![]);
    out.start(host).unwrap();
    assert_eq!(out.write(demo_batch().batch()), WriteStatus::Ok);
    svc.stop();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            restart(&svc);
        });
        out.stop(&outcome(true, &[]), Duration::from_secs(20))
            .unwrap();
    });
    assert_eq!(one(&svc, "SELECT count(*) FROM samples"), "18");

    // Down for good: stop gives up at its deadline and says what was lost.
    let (host, rec) = testkit::recording_host();
    let mut out = output(&arg, vec![]);
    out.start(host).unwrap();
    assert_eq!(out.write(demo_batch().batch()), WriteStatus::Ok);
    svc.stop();
    let began = Instant::now();
    let err = out
        .stop(&outcome(true, &[]), Duration::from_millis(1500))
        .unwrap_err()
        .message
        .to_string();
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    assert!(err.contains("18 samples not written"), "{err}");
    assert_eq!(rec.counter("samples_lost"), 18);
    no_secret(&rec, &[&err]);
}

/// A table lock makes COPY wait far longer than the stop timeout (`writeTimeout` is 30 s).
/// Stopping begins while `write` is blocked: the round is cut at the stop deadline (the host
/// would otherwise abandon the output), `stop` returns in time, and what could not be written
/// is reported as lost, never as written.
#[test]
fn a_copy_blocked_when_stopping_begins_is_cut_at_the_stop_deadline() {
    let Some(svc) = start_pg() else { return };
    let (host, rec) = testkit::recording_host();
    let mut out = output(&url(&svc, "postgres", "pushInterval=50ms"), vec![]);
    out.start(host).unwrap();

    let mut locker = Command::new("psql")
        .env("PGSSLMODE", "disable")
        .args(["-X", "-q", "-h", "127.0.0.1", "-p", svc.var("PGPORT")])
        .args(["-U", "postgres", "-d", "postgres", "-c"])
        .arg("BEGIN; LOCK TABLE samples IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);")
        .spawn()
        .expect("run psql");
    let held = Instant::now() + Duration::from_secs(20);
    while one(
        &svc,
        "SELECT count(*) FROM pg_locks WHERE relation = 'samples'::regclass \
         AND mode = 'AccessExclusiveLock' AND granted",
    ) != "1"
    {
        assert!(Instant::now() < held, "the lock was never taken");
        std::thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(out.write(demo_batch().batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(80));
    let stop_timeout = Duration::from_secs(2);
    let stopper = {
        let rec = rec.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            rec.begin_stop(stop_timeout);
            Instant::now()
        })
    };
    // Pushes what the interval gathered, and blocks on the lock.
    let status = out.write(BatchBuilder::new().batch());
    let began = stopper.join().unwrap();
    let after_begin = began.elapsed();
    assert!(
        matches!(status, WriteStatus::Retry { .. }),
        "write: {status:?}"
    );
    // A hang bound, not a speed check: the 30 s write timeout would be far past it.
    assert!(
        after_begin < stop_timeout + Duration::from_secs(1),
        "write returned {after_begin:?} after stopping began"
    );
    let left = rec.stop_time_left().unwrap_or_default();
    let err = out.stop(&outcome(true, &[]), left).unwrap_err();
    assert!(
        began.elapsed() < stop_timeout + Duration::from_secs(2),
        "stop returned {:?} after stopping began",
        began.elapsed()
    );
    assert!(err.message.contains("stop deadline"), "{err}");
    assert_eq!(rec.counter("samples_lost"), 18, "{:?}", rec.logs());

    // The server backend would sleep on after its client is gone: end it there.
    one(
        &svc,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks \
         WHERE relation = 'samples'::regclass AND mode = 'AccessExclusiveLock'",
    );
    let _ = locker.kill();
    let _ = locker.wait();
    assert_eq!(
        one(
            &svc,
            "SELECT count(*) FROM samples WHERE test_run_id = 'test-run-1'"
        ),
        "0"
    );
}
