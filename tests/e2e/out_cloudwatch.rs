//! `-o cloudwatch` as a user runs it, against a real moto server (CloudWatch emulation), read
//! back with boto3's `GetMetricStatistics` and compared with the summary export; and with
//! `mode=emf`, writing Embedded Metric Format to a file or stdout with no AWS configuration at
//! all, every line checked against AWS's published schema and the totals against the summary.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use loadrun_test_support::{emf, workspace_root, Service};
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

/// The published EMF JSON schema (vendored with the plugin's tests).
fn emf_schema() -> Value {
    serde_json::from_str(include_str!(
        "../../plugins/cloudwatch/tests/fixtures/emf.schema.json"
    ))
    .unwrap()
}

/// An environment in which the API path could not even start (half a key pair, unreadable
/// shared files): `mode=emf` must neither need nor read any of it.
fn no_usable_aws(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let d = dir.display().to_string();
    vec![
        ("AWS_ACCESS_KEY_ID", "AKIAHALFONLY".to_string()),
        ("AWS_SECRET_ACCESS_KEY", String::new()),
        ("AWS_CONFIG_FILE", d.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", d),
        ("HOME", "/nonexistent".to_string()),
    ]
}

/// What the EMF documents say, checked against the summary export.
fn assert_emf_matches_summary(run: &crate::support::Run, docs: &[Value]) {
    let sum_of = |name: &str| -> (usize, f64) {
        let v: Vec<f64> = docs.iter().flat_map(|d| emf::values(d, name)).collect();
        (v.len(), v.iter().sum())
    };
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0, "no requests made");
    assert_eq!(sum_of("http_reqs").1, reqs, "http_reqs");
    assert_eq!(
        sum_of("iterations").1,
        run.metric("iterations", "count"),
        "iterations"
    );
    assert_eq!(
        sum_of("data_received").1,
        run.metric("data_received", "count"),
        "data_received"
    );
    let (n, sum) = sum_of("http_req_duration");
    assert_eq!(n as f64, reqs, "one http_req_duration value per request");
    let avg = run.metric("http_req_duration", "avg");
    assert!(
        (sum / n as f64 - avg).abs() < 1e-6 * avg.max(1e-9),
        "avg {avg} vs {}",
        sum / n as f64
    );
    let max = docs
        .iter()
        .flat_map(|d| emf::values(d, "http_req_duration"))
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(max, run.metric("http_req_duration", "max"));
    assert_eq!(
        sum_of("http_req_failed"),
        (reqs as usize, run.metric("http_req_failed", "passes")),
        "http_req_failed: a 0/1 value per request"
    );
    assert!(sum_of("vus").0 > 0, "vus");
    let report = run.output_report("cloudwatch");
    assert_eq!(
        report["counters"]["documents_written"].as_u64(),
        Some(docs.len() as u64),
        "{report}"
    );
}

#[test]
fn emf_file_holds_what_the_summary_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loadrun.emf");
    let env = no_usable_aws(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // As in the README: mode and file on `-o`, the shared aggregation options beside them.
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["cloudwatch"],
        &[
            "-o",
            &format!(
                "cloudwatch=mode=emf,emfPath={},namespace=loadtest,dimensions=scenario|status,storageResolution=1",
                path.display()
            ),
        ],
        &env,
    );
    run.assert_clean();
    let text = std::fs::read_to_string(&path).unwrap();
    let (docs, problems) = emf::check_text(&emf_schema(), &text);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(!docs.is_empty());
    for d in &docs {
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "loadtest");
        assert!(
            d.get("method").is_none(),
            "method is not in dimensions: {d}"
        );
    }
    assert!(docs.iter().any(|d| d["scenario"] == "default"
        && d["status"] == "200"
        && emf::defines(d, "http_reqs")));
    assert_emf_matches_summary(&run, &docs);
}

#[test]
fn emf_on_stdout_with_no_summary_is_nothing_but_emf() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = no_usable_aws(dir.path());
    env.push(("LOADRUN_CLOUDWATCH_MODE", "emf".to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The README's Lambda/container recipe: mode from the environment, no emfPath (stdout),
    // --quiet and --no-summary so stdout carries EMF lines only.
    let run = quick_run(
        "/get",
        1,
        "1s",
        &["cloudwatch"],
        &["--no-summary", "-o", "cloudwatch"],
        &env,
    );
    run.assert_clean();
    let (docs, problems) = emf::check_text(&emf_schema(), &run.stdout());
    assert!(
        problems.is_empty(),
        "{problems:#?}\nstdout:\n{}",
        run.stdout()
    );
    assert_emf_matches_summary(&run, &docs);
}
