//! loadrun's conformance kit against the built `libout_influxdb.so` and a real InfluxDB 1.6:
//! every sample counted exactly once, also when the server is stopped mid-run and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;

/// The cdylib `cargo test` built next to this test binary, else the profile folder's.
fn built_plugin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let in_deps = deps.join("libout_influxdb.so");
    if in_deps.exists() {
        return in_deps;
    }
    loadrun_test_support::plugin_path("influxdb")
}

fn stored(base: &str) -> Result<u64, String> {
    let body = ureq::get(&format!("{base}/query"))
        .query("db", "conformance")
        .query("q", "SELECT count(value) FROM loadrun_conformance")
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    // No series yet: nothing stored.
    Ok(v["results"][0]["series"][0]["values"][0][1]
        .as_u64()
        .unwrap_or(0))
}

#[test]
fn the_influxdb_plugin_conforms() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    let svc = Rc::new(svc);
    let broken = Rc::new(Cell::new(false));
    let fault_svc = Rc::clone(&svc);
    let report = Conformance::new(built_plugin(), "influxdb")
        .arg(&format!("{base}/conformance?pushInterval=100ms&timeout=2s"))
        .invalid_arg("http://localhost:8086/k6?precision=fortnight", "precision")
        .invalid_arg("http://localhost:8086/k6?colour=blue", "colour")
        .invalid_arg("udp://localhost:8089", "udp")
        .stored_samples(move || stored(&base))
        .fault(move |b| {
            // The kit heals more than once; restart only a stopped server.
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
