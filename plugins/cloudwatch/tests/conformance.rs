//! loadrun's conformance kit against the built `libout_cloudwatch.so` and a real moto server,
//! read back with boto3's `GetMetricStatistics` (Sum of `loadrun_conformance`): every sample
//! counted exactly once.
//!
//! No `.fault(...)`: moto keeps its state in memory, so stopping and restarting it (the only
//! way to break it from here) would also forget what it held. `tests/moto.rs`
//! (`server_down_is_retry_and_nothing_is_lost_on_recovery`) covers the retry path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::Service;

/// Sum of `loadrun_conformance{scenario=default}` over the last and next hour, via boto3.
fn stored(moto: &str) -> Result<u64, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let start = now / 60 * 60 - 3600;
    let query = serde_json::json!({
        "namespace": "k6",
        "start": start,
        "end": start + 7200,
        "stats": [{"name": "loadrun_conformance", "dims": {"scenario": "default"}}],
    });
    let helper = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("moto_client.py");
    let out = Command::new(std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(helper)
        .args([moto, "read", "testing", "testing", &query.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let sum: f64 = v["stats"][0]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["Sum"].as_f64())
        .sum();
    Ok(sum as u64)
}

#[test]
fn the_cloudwatch_plugin_conforms() {
    let Some(svc) = Service::start("moto", &[]) else {
        return;
    };
    let moto = svc.var("MOTO_URL").to_string();
    let report = Conformance::new(
        loadrun_test_support::plugin_path("cloudwatch"),
        "cloudwatch",
    )
    .arg(&format!("endpoint={moto},timeout=2s"))
    .env("AWS_ACCESS_KEY_ID", "testing")
    .env("AWS_SECRET_ACCESS_KEY", "testing")
    .env("AWS_REGION", "us-east-1")
    .env("HOME", "/nonexistent")
    .invalid_arg("namespace=AWS/EC2", "namespace")
    .invalid_arg("period=1500ms", "period")
    .invalid_arg("colour=blue", "colour")
    .stored_samples({
        let moto = moto.clone();
        move || stored(&moto)
    })
    .deadlines(Duration::from_secs(10), Duration::from_secs(10))
    .run();
    println!("{report}");
    report.assert_passed();
}
