//! loadrun's conformance kit against the built `libout_influxdb.so`: the v1 API into a real
//! InfluxDB 1.6 and the v2 API into VictoriaMetrics. Every sample counted exactly once, also
//! when the server is stopped mid-run and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::http_get::get_text;
use loadrun_test_support::Service;

/// The cdylib `cargo test` built next to this test binary, else the profile folder's.
fn stored(base: &str) -> Result<u64, String> {
    let body = get_text(
        &format!("{base}/query"),
        &[
            ("db", "conformance"),
            ("q", "SELECT count(value) FROM loadrun_conformance"),
        ],
    )?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    // No series yet: nothing stored.
    Ok(v["results"][0]["series"][0]["values"][0][1]
        .as_u64()
        .unwrap_or(0))
}

/// A fault that stops the server and, once healed, starts it again on the same port.
fn stop_and_restart(svc: Rc<Service>) -> impl Fn(bool) + 'static {
    let broken = Cell::new(false);
    move |b| {
        // The kit heals more than once; restart only a stopped server.
        if b && !broken.get() {
            svc.stop();
        } else if !b && broken.get() {
            svc.restart();
        }
        broken.set(b);
    }
}

/// The summed values of `loadrun_conformance_value` (VictoriaMetrics names series
/// `<measurement>_<field>`), from its raw-sample export.
fn stored_vm(vm: &str) -> Result<u64, String> {
    get_text(&format!("{vm}/internal/force_flush"), &[])?;
    let text = get_text(
        &format!("{vm}/api/v1/export"),
        &[
            ("match[]", "{__name__=\"loadrun_conformance_value\"}"),
            ("start", "0"),
        ],
    )?;
    let mut total = 0.0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        total += v["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_f64())
            .sum::<f64>();
    }
    Ok(total as u64)
}

#[test]
fn the_influxdb_v2_output_conforms_with_victoriametrics() {
    let Some(svc) = Service::start("victoriametrics", &[]) else {
        return;
    };
    let base = svc.var("VM_URL").to_string();
    let svc = Rc::new(svc);
    let report = Conformance::new(
        loadrun_test_support::plugin_path("influxdb"),
        "xk6-influxdb",
    )
    .arg(&format!(
        "{base}?org=acme&bucket=k6&pushInterval=100ms&timeout=2s"
    ))
    .env("K6_INFLUXDB_TOKEN", "conformance-token")
    .invalid_arg(
        "http://localhost:8086?bucket=k6&precision=fortnight",
        "precision",
    )
    .stored_samples(move || stored_vm(&base))
    .fault(stop_and_restart(Rc::clone(&svc)))
    .deadlines(Duration::from_secs(10), Duration::from_secs(5))
    .run();
    println!("{report}");
    report.assert_passed();
}

/// A server that accepts connections and never answers; returns `host:port`.
fn blackhole() -> String {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hole.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hole.incoming().flatten() {
            held.push(c);
        }
    });
    addr.to_string()
}

#[test]
fn the_influxdb_plugin_conforms() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    let svc = Rc::new(svc);
    let report = Conformance::new(loadrun_test_support::plugin_path("influxdb"), "influxdb")
        .arg(&format!("{base}/conformance?pushInterval=100ms&timeout=2s"))
        .invalid_arg("http://localhost:8086/k6?precision=fortnight", "precision")
        .invalid_arg("http://localhost:8086/k6?colour=blue", "colour")
        .invalid_arg("udp://localhost:8089", "udp")
        .stored_samples(move || stored(&base))
        .fault(stop_and_restart(Rc::clone(&svc)))
        .deadlines(Duration::from_secs(10), Duration::from_secs(5))
        // The default 10 s request timeout against a server that never answers: the stop
        // deadline must cut the request a write is blocked in.
        .blackhole(&format!(
            "http://{}/conformance?createDatabase=false&pushInterval=100ms",
            blackhole()
        ))
        .run();
    println!("{report}");
    report.assert_passed();
}
