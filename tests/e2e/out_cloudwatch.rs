//! `-o cloudwatch` as a user runs it, against a real moto server (CloudWatch emulation), read
//! back with boto3's `GetMetricStatistics` and compared with the summary export.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use loadrun_test_support::{workspace_root, Service};
use serde_json::{json, Value};

use crate::support::quick_run;

/// Statistics over the whole run of each `(metric, dimensions)`, one datapoint each (or none).
fn statistics(moto: &str, namespace: &str, queries: &[(&str, Value)]) -> Vec<Option<Value>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now / 60 * 60 - 600;
    let stats: Vec<Value> = queries
        .iter()
        .map(|(name, dims)| json!({"name": name, "dims": dims}))
        .collect();
    let q = json!({"namespace": namespace, "start": start, "end": start + 1200, "stats": stats});
    let out = Command::new(std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(workspace_root().join("plugins/cloudwatch/tests/moto_client.py"))
        .args([moto, "read", "testing", "testing", &q.to_string()])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "moto_client.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|points| {
            let points = points.as_array().unwrap();
            assert!(points.len() <= 1, "one period asked for: {points:?}");
            points.first().cloned()
        })
        .collect()
}

#[test]
fn cloudwatch_holds_what_the_summary_counted() {
    let Some(svc) = Service::start("moto", &[]) else {
        return;
    };
    let moto = svc.var("MOTO_URL").to_string();
    // As in the README: the emulator's endpoint and the credentials from the usual AWS
    // environment variables, options as key=value pairs with a `|`-separated list.
    let run = quick_run(
        "/get",
        2,
        // moto expands every trend datum into its values: keep the run short.
        "1s",
        &["cloudwatch"],
        &[
            "-o",
            "cloudwatch=namespace=loadtest,dimensions=scenario|status,storageResolution=1",
        ],
        &[
            ("AWS_ENDPOINT_URL", moto.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("HOME", "/nonexistent"),
        ],
    );
    run.assert_clean();
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0, "no requests made");
    let http = json!({"scenario": "default", "status": "200"});
    let scenario = json!({"scenario": "default"});
    let got = statistics(
        &moto,
        "loadtest",
        &[
            ("http_reqs", http.clone()),
            ("iterations", scenario.clone()),
            ("http_req_duration", http.clone()),
            ("http_req_failed", http.clone()),
            ("vus", json!({})),
            ("data_received", scenario.clone()),
            // Not a dimension: no datum carries it.
            (
                "http_reqs",
                json!({"scenario": "default", "status": "200", "method": "GET"}),
            ),
        ],
    );
    let stat = |i: usize, s: &str| -> f64 {
        got[i]
            .as_ref()
            .unwrap_or_else(|| panic!("no datapoint for query {i}: {got:?}"))[s]
            .as_f64()
            .unwrap()
    };
    assert_eq!(stat(0, "Sum"), reqs, "http_reqs");
    assert_eq!(
        stat(1, "Sum"),
        run.metric("iterations", "count"),
        "iterations"
    );
    assert_eq!(stat(2, "SampleCount"), reqs, "http_req_duration samples");
    let avg = run.metric("http_req_duration", "avg");
    assert!(
        (stat(2, "Sum") / stat(2, "SampleCount") - avg).abs() < 1e-6 * avg,
        "avg {avg}: {:?}",
        got[2]
    );
    assert_eq!(stat(2, "Maximum"), run.metric("http_req_duration", "max"));
    assert_eq!(stat(3, "SampleCount"), reqs, "http_req_failed samples");
    assert_eq!(
        stat(3, "Sum"),
        run.metric("http_req_failed", "passes"),
        "failed requests"
    );
    assert_eq!(stat(4, "Maximum"), run.metric("vus", "max"), "vus");
    assert_eq!(
        stat(5, "Sum"),
        run.metric("data_received", "count"),
        "data_received"
    );
    assert!(
        got[6].is_none(),
        "method is not in dimensions: {:?}",
        got[6]
    );
    assert_eq!(
        run.output_report("cloudwatch")["counters"]["rejected_datums"]
            .as_u64()
            .unwrap_or(0),
        0
    );
}
