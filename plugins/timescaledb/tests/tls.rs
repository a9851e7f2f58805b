//! TLS against a real PostgreSQL 15 started with `ssl=on` and TLS-only `pg_hba.conf` (hostssl
//! lines alone; `tests/services/start-postgres.sh` with `PG_TLS=1`), its certificate signed by a
//! CA made at test time with the openssl CLI. What the server holds is read back with `psql`
//! (over TLS too), and `pg_stat_ssl` shows the plugin's own connections were encrypted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use loadrun_plugin_api::testkit::{self, completed_outcome, BatchBuilder};
use loadrun_plugin_api::{MetricType, Output, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::{Service, TestPki};
use out_timescaledb::TimescalePlugin;

const SECRET: &str = "Tls-Pw-n0t-2-b3-sh0wn";

/// A TLS-only server (certificate for `DNS:localhost,IP:127.0.0.1` unless `names` says),
/// with a role `k6` that logs in with a password (scram-sha-256, over TLS only) and owns the
/// database `k6`.
fn start_tls_pg(names: Option<&str>) -> Option<Service> {
    let mut env = vec![("PG_TLS", "1")];
    if let Some(n) = names {
        env.push(("PG_TLS_NAMES", n));
    }
    let svc = Service::start("postgres", &env)?;
    psql_db(
        &svc,
        "postgres",
        &format!("CREATE ROLE k6 LOGIN PASSWORD '{SECRET}'"),
    );
    psql_db(&svc, "postgres", "CREATE DATABASE k6 OWNER k6");
    Some(svc)
}

/// Runs SQL with psql as the superuser over TLS (verifying the server with its CA); rows as
/// `|`-separated lines.
fn psql_db(svc: &Service, db: &str, sql: &str) -> Vec<String> {
    let tls = [
        ("PGSSLMODE", svc.var("PGSSLMODE")),
        ("PGSSLROOTCERT", svc.var("PG_TLS_CA_FILE")),
    ];
    common::psql_rows(svc, &tls, db, sql)
}

fn psql(svc: &Service, sql: &str) -> Vec<String> {
    psql_db(svc, "k6", sql)
}

/// `postgresql://k6:SECRET@HOST:PORT/k6?QUERY`.
fn url(svc: &Service, host: &str, query: &str) -> String {
    format!(
        "postgresql://k6:{SECRET}@{host}:{}/k6?connectTimeout=5s&{query}",
        svc.var("PGPORT")
    )
}

fn output(arg: &str, test_id: &str) -> Box<dyn Output> {
    let mut init = testkit::init("timescaledb", Some(arg), "", &[]);
    init.test.test_id = test_id.into();
    TimescalePlugin::new_output(init)
        .map_err(|e| e.message)
        .unwrap()
}

const T0: i64 = 1_700_000_000_123_456_000;

/// Three metrics, 11 samples, values `real` would round.
fn batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let tags = [("method", "GET"), ("status", "200")];
    let s_reqs = b.series(reqs, &tags, &[("vu", "1")]);
    let s_dur = b.series(dur, &tags, &[("vu", "1")]);
    let s_checks = b.series(checks, &[("check", "ok")], &[]);
    for i in 0..4i64 {
        let t = T0 + i * 1_000_000_000;
        b.sample(s_reqs, t, 1.0);
        b.sample(s_dur, t, 123.456_789_012_345 + i as f64);
    }
    for i in 0..3i64 {
        b.sample(s_checks, T0 + i * 1000, (i % 2) as f64);
    }
    b
}

/// What `batch()` leaves in `samples` for one run: metric|rows|sum.
const STORED: [&str; 3] = [
    "checks|3|1.000000000",
    "http_req_duration|4|499.827156049",
    "http_reqs|4|4.000000000",
];

fn stored(svc: &Service, run: &str) -> Vec<String> {
    psql(
        svc,
        &format!(
            "SELECT metric, count(*), round(sum(value)::numeric, 9) FROM samples \
             WHERE test_run_id = '{run}' GROUP BY 1 ORDER BY 1"
        ),
    )
}

/// Starts an output with `arg`, writes `batch()`, stops it; returns what `pg_stat_ssl` showed
/// for its connection meanwhile (`ssl|version`).
fn write_run(svc: &Service, arg: &str, run: &str) -> String {
    let (host, rec) = testkit::recording_host();
    let app = format!("tls-{run}");
    // The -o pairs form separates options with `,`, the URL form with `&`.
    let sep = if arg.starts_with("url=") { ',' } else { '&' };
    let mut out = output(&format!("{arg}{sep}application_name={app}"), run);
    if let Err(e) = out.start(host) {
        panic!("start over TLS failed: {e}\nserver log:\n{}", svc.log());
    }
    let seen = psql(
        svc,
        &format!(
            "SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = '{app}'"
        ),
    );
    assert_eq!(out.write(batch().batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(20))
        .unwrap();
    assert_eq!(rec.counter("rows_written"), 11);
    for (_, line) in rec.logs() {
        assert!(!line.contains(SECRET), "password in a log line: {line}");
    }
    assert_eq!(stored(svc, run), STORED, "rows of run {run}");
    assert_eq!(seen.len(), 1, "one connection of {app} expected: {seen:?}");
    seen[0].clone()
}

/// The error `start` returns for `arg` (it must fail).
fn start_error(arg: &str) -> String {
    let (host, rec) = testkit::recording_host();
    let err = match output(arg, "must-fail").start(host) {
        Ok(()) => panic!("start succeeded with {}", arg.replace(SECRET, "***")),
        Err(e) => e.message.to_string(),
    };
    assert!(!err.contains(SECRET), "password in the error: {err}");
    eprintln!("refused as expected: {err}");
    for (_, line) in rec.logs() {
        assert!(!line.contains(SECRET), "password in a log line: {line}");
    }
    err
}

#[test]
fn sslmode_require_writes_everything_over_tls_with_a_password() {
    let Some(svc) = start_tls_pg(None) else {
        return;
    };
    // k6's extension passes the URL to pgx as is: sslmode=require, certificate not checked.
    // scram-sha-256 over TLS (with channel binding, which tokio-postgres offers under TLS).
    let tls = write_run(&svc, &url(&svc, "127.0.0.1", "sslmode=require"), "req");
    assert!(tls.starts_with("t|TLSv1."), "not encrypted: {tls}");
    // Every digit kept, timestamps to the microsecond, tags and metadata as jsonb.
    assert_eq!(
        psql(
            &svc,
            "SELECT value::text, (extract(epoch FROM ts) * 1000000)::bigint, tags::text, \
             metadata::text FROM samples WHERE metric = 'http_req_duration' ORDER BY ts LIMIT 1"
        ),
        [format!(
            r#"123.456789012345|{}|{{"method": "GET", "status": "200"}}|{{"vu": "1"}}"#,
            T0 / 1000
        )]
    );
    assert_eq!(
        psql(
            &svc,
            "SELECT outcome, samples_written FROM test_runs WHERE id = 'req'"
        ),
        ["passed|11"]
    );
    // The password travelled once, inside TLS: the server log never shows it.
    assert!(!svc.log().contains(SECRET));
}

#[test]
fn verify_full_with_the_right_ca_by_ip_and_by_name() {
    let Some(svc) = start_tls_pg(None) else {
        return;
    };
    let ca = svc.var("PG_TLS_CA_FILE").to_string();
    // The certificate names IP:127.0.0.1 and DNS:localhost; both are checked.
    let q = format!("sslmode=verify-full&sslrootcert={ca}");
    let tls = write_run(&svc, &url(&svc, "127.0.0.1", &q), "full-ip");
    assert!(tls.starts_with("t|TLSv1."), "{tls}");
    let tls = write_run(&svc, &url(&svc, "localhost", &q), "full-name");
    assert!(tls.starts_with("t|TLSv1."), "{tls}");
    let q = format!("sslmode=verify-ca&sslrootcert={ca}");
    write_run(&svc, &url(&svc, "127.0.0.1", &q), "ca");
    // As a separate option rather than in the URL's query.
    let arg = format!(
        "url={},sslmode=verify-full,sslrootcert={ca}",
        url(&svc, "127.0.0.1", "")
    );
    write_run(&svc, &arg, "pairs");
    assert_eq!(
        psql(
            &svc,
            "SELECT count(*), count(DISTINCT test_run_id) FROM samples"
        ),
        ["44|4"]
    );
}

#[test]
fn a_wrong_ca_is_refused_with_a_clear_error() {
    let Some(svc) = start_tls_pg(None) else {
        return;
    };
    let Some(other) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let wrong = other.ca().display().to_string();
    for mode in ["verify-full", "verify-ca", "require"] {
        let err = start_error(&url(
            &svc,
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={wrong}"),
        ));
        assert!(
            err.contains("cannot connect to postgresql://k6:***@127.0.0.1"),
            "{mode}: {err}"
        );
        assert!(
            err.contains("TLS") && err.contains("certificate"),
            "{mode}: {err}"
        );
        assert!(
            err.contains("not signed by a CA in sslrootcert"),
            "{mode}: {err}"
        );
        assert!(err.contains(&wrong), "{mode}: the CA file is named: {err}");
    }
    // Without sslrootcert, verify-full checks against the public roots: also refused.
    let err = start_error(&url(&svc, "127.0.0.1", "sslmode=verify-full"));
    assert!(err.contains("not signed by a CA in"), "{err}");
    assert!(err.contains("public"), "{err}");
    // Nothing was written by any of them.
    assert_eq!(
        psql(
            &svc,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'samples'"
        ),
        ["0"]
    );
}

#[test]
fn a_certificate_for_another_host_fails_verify_full_and_passes_verify_ca() {
    let Some(svc) = start_tls_pg(Some("DNS:db.example.invalid")) else {
        return;
    };
    let ca = svc.var("PG_TLS_CA_FILE").to_string();
    let err = start_error(&url(
        &svc,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        err.contains("certificate is not valid for host 127.0.0.1"),
        "{err}"
    );
    assert!(
        err.contains("db.example.invalid"),
        "names what it is for: {err}"
    );
    assert!(err.contains("verify-ca"), "suggests the alternative: {err}");
    // verify-ca checks the chain only, as libpq: accepted.
    let tls = write_run(
        &svc,
        &url(
            &svc,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        "ca-only",
    );
    assert!(tls.starts_with("t|TLSv1."), "{tls}");
}

#[test]
fn plaintext_against_a_tls_only_server_fails_clearly() {
    let Some(svc) = start_tls_pg(None) else {
        return;
    };
    let err = start_error(&url(&svc, "127.0.0.1", "sslmode=disable"));
    assert!(err.contains("cannot connect"), "{err}");
    // The server's own words, and what to do about them.
    assert!(
        err.contains("no pg_hba.conf entry") && err.contains("no encryption"),
        "{err}"
    );
    assert!(err.contains("28000"), "{err}");
    assert!(err.contains("sslmode=require"), "{err}");
    // prefer (libpq's default, and this output's) upgrades to TLS on the same server.
    let tls = write_run(&svc, &url(&svc, "127.0.0.1", "sslmode=prefer"), "prefer");
    assert!(tls.starts_with("t|TLSv1."), "{tls}");
}
