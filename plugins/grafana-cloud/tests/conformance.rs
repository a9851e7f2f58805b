//! loadrun's conformance kit against the built `libout_grafana_cloud.so` and a real Prometheus
//! (remote-write receiver on): every sample counted exactly once, also when Prometheus is
//! stopped mid-run and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;

/// How many counts `k6_loadrun_conformance_total` holds over every output instance.
///
/// Each instance's counter starts again from 0 on the same series, so the latest value is only
/// the last instance's total. Summing the increases between raw samples, with a drop read as
/// a restart (as PromQL's `increase` does), counts every instance's samples exactly once. It
/// needs each instance's first push to be below the previous instance's total, which a short
/// `pushInterval` gives (a push per 1000-sample batch).
fn stored(base: &str) -> Result<u64, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let body = ureq::get(&format!("{base}/api/v1/query"))
        .query("query", "k6_loadrun_conformance_total{testid!=\"\"}[1h]")
        .query("time", &(now + 60).to_string())
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let mut total = 0.0;
    for series in v["data"]["result"].as_array().ok_or(body.clone())? {
        let mut prev = 0.0;
        for point in series["values"].as_array().ok_or(body.clone())? {
            let x: f64 = point[1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or(body.clone())?;
            total += if x < prev { x } else { x - prev };
            prev = x;
        }
    }
    Ok(total as u64)
}

#[test]
fn the_grafana_cloud_plugin_conforms() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let rw = svc.var("PROMETHEUS_RW_URL").to_string();
    let svc = Rc::new(svc);
    let broken = Rc::new(Cell::new(false));
    let fault_svc = Rc::clone(&svc);
    let report = Conformance::new(
        loadrun_test_support::plugin_path("grafana_cloud"),
        "grafana-cloud",
    )
    .env("GRAFANA_CLOUD_PROMETHEUS_URL", &rw)
    .env("GRAFANA_CLOUD_INSTANCE_ID", "123456")
    .env("GRAFANA_CLOUD_TOKEN", "glc_conformance")
    .arg("pushInterval=1ms,timeout=2s")
    .invalid_arg("pushInterval=soon", "pushInterval")
    .invalid_arg("url=ftp://example/", "ftp")
    .invalid_arg("bearerToken=x", "bearerToken")
    .stored_samples(move || stored(&base))
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
