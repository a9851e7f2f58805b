//! Shared by the test files: psql against a `postgres` service.

use std::process::Command;

use loadrun_test_support::Service;

/// Runs `sql` (which must succeed) with psql as `postgres` in database `db` of `svc`, with the
/// extra environment `env` (e.g. the TLS settings); rows as `|`-separated lines.
pub fn psql_rows(svc: &Service, env: &[(&str, &str)], db: &str, sql: &str) -> Vec<String> {
    let out = Command::new("psql")
        .envs(env.iter().copied())
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", "127.0.0.1", "-p", svc.var("PGPORT"), "-U", "postgres"])
        .args(["-d", db, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
