//! loadrun's conformance kit against the built `libout_timescaledb.so` and a real PostgreSQL 15:
//! every sample stored exactly once (one row each), also when the server is stopped mid-run and
//! restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;

fn stored(port: &str) -> Result<u64, String> {
    let out = Command::new("psql")
        .env("PGSSLMODE", "disable")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args([
            "-c",
            "SELECT count(*) FROM samples WHERE metric = 'loadrun_conformance'",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    text.trim().parse().map_err(|e| format!("{e}: {text:?}"))
}

#[test]
fn the_timescaledb_plugin_conforms() {
    let Some(svc) = Service::start("postgres", &[]) else {
        return;
    };
    let port = svc.var("PGPORT").to_string();
    let svc = Rc::new(svc);
    let broken = Rc::new(Cell::new(false));
    let fault_svc = Rc::clone(&svc);
    let report = Conformance::new(loadrun_test_support::plugin_path("timescaledb"), "timescaledb")
        .arg(&format!(
            "postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable&pushInterval=100ms&connectTimeout=2s"
        ))
        .invalid_arg("postgresql://localhost/k6?pushInterval=soon", "pushInterval")
        .invalid_arg("postgresql://localhost/k6?colour=blue", "colour")
        .invalid_arg("mysql://localhost/k6", "mysql")
        .stored_samples(move || stored(&port))
        .fault(move |b| {
            if b && !broken.get() {
                fault_svc.stop();
            } else if !b && broken.get() {
                fault_svc.restart();
            }
            broken.set(b);
        })
        .deadlines(Duration::from_secs(10), Duration::from_secs(5))
        .run();
    println!("{report}");
    report.assert_passed();
    drop(svc);
}
