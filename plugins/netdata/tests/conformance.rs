//! loadrun's conformance kit against the built `libout_netdata.so`, with the real Netdata 1.37
//! as the backend: the private chart of `loadrun_conformance` must add up to what was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;
use serde_json::Value;

/// The sum of the counter chart over the last ten minutes. Netdata stores per-second values
/// interpolated between flushes; the interpolation spreads a count over neighbouring seconds
/// but keeps its total, so the rounded sum is the exact count.
fn stored(base: &str) -> Result<u64, String> {
    let url = format!(
        "{base}/api/v1/data?chart=statsd_k6.loadrun_conformance_counter&after=-600&format=json"
    );
    let out = std::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", &url])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
    if code == "404" {
        // No chart yet: nothing stored.
        return Ok(0);
    }
    let v: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    let sum: f64 = v["data"]
        .as_array()
        .ok_or_else(|| format!("no data in {body}"))?
        .iter()
        .filter_map(|row| row.get(1).and_then(Value::as_f64))
        .sum();
    Ok(sum.round() as u64)
}

#[test]
fn the_netdata_plugin_conforms() {
    let Some(nd) = Service::start(
        "netdata",
        &[
            ("NETDATA_STOCK_APPS", "no"),
            ("NETDATA_STATSD_PORT", "auto"),
        ],
    ) else {
        return;
    };
    let url = nd.var("NETDATA_URL").to_string();
    let report = Conformance::new(loadrun_test_support::plugin_path("netdata"), "netdata")
        .arg(&format!(
            "addr={},pushInterval=100ms",
            nd.var("NETDATA_STATSD_ADDR")
        ))
        .invalid_arg("pushInterval=soon", "pushInterval")
        .invalid_arg("protocol=sctp", "protocol")
        .invalid_arg("colour=blue", "colour")
        .stored_samples(move || stored(&url))
        .deadlines(Duration::from_secs(5), Duration::from_secs(10))
        .run();
    println!("{report}");
    report.assert_passed();
}
