//! `-o json` (bundled) through the `loadrun` binary: one Point per sample, so the Points must
//! add up to the run's summary export.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::{in_dir, quick_run};

/// The records of an NDJSON file, checking k6's framing: every metric declared once, before its
/// first Point.
fn records(text: &str) -> Vec<Value> {
    assert!(text.ends_with('\n'), "the file ends mid-record");
    let mut declared = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let metric = v["metric"].as_str().unwrap().to_string();
        match v["type"].as_str() {
            Some("Metric") => assert!(declared.insert(metric.clone()), "{metric} declared twice"),
            Some("Point") => assert!(
                declared.contains(&metric),
                "Point before Metric for {metric}"
            ),
            other => panic!("record type {other:?}"),
        }
        out.push(v);
    }
    out
}

fn points<'a>(records: &'a [Value], metric: &'a str) -> impl Iterator<Item = &'a Value> {
    records
        .iter()
        .filter(move |r| r["type"] == "Point" && r["metric"] == metric)
}

fn gunzip(path: &Path) -> String {
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("run gzip");
    assert!(
        out.status.success(),
        "gzip -d {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn json_points_match_the_summary() {
    // The file on `-o`, the flush interval from the environment.
    let run = quick_run(
        "/",
        2,
        "2s",
        &[],
        &["--rate", "200", "-o", "json=out.json"],
        &[("LOADRUN_JSON_FLUSH_INTERVAL", "100ms")],
    );
    run.assert_clean();
    let records = records(&std::fs::read_to_string(in_dir(&run, "out.json")).unwrap());
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0);
    assert_eq!(points(&records, "http_reqs").count() as f64, reqs);
    assert_eq!(points(&records, "http_req_duration").count() as f64, reqs);
    assert_eq!(
        points(&records, "iterations").count() as f64,
        run.metric("iterations", "count")
    );
    let received: f64 = points(&records, "data_received")
        .map(|p| p["data"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(received, run.metric("data_received", "count"));
    let durations: Vec<f64> = points(&records, "http_req_duration")
        .map(|p| p["data"]["value"].as_f64().unwrap())
        .collect();
    let max = durations.iter().cloned().fold(f64::MIN, f64::max);
    assert!(
        (max - run.metric("http_req_duration", "max")).abs() < 1e-6,
        "{max}"
    );

    let p = points(&records, "http_reqs").next().unwrap();
    for (tag, want) in [
        ("method", "GET"),
        ("status", "200"),
        ("scenario", "default"),
        ("expected_response", "true"),
    ] {
        assert_eq!(p["data"]["tags"][tag], want, "{tag} in {p}");
    }
    let decl = records
        .iter()
        .find(|r| r["type"] == "Metric" && r["metric"] == "http_req_duration")
        .unwrap();
    assert_eq!(decl["data"]["type"], "trend");
    assert_eq!(decl["data"]["contains"], "time");
}

#[test]
fn a_gz_json_is_readable_by_gzip_and_filters_apply() {
    // The README's example: a .gz file and include/exclude lists on `-o`.
    let run = quick_run(
        "/",
        2,
        "1s",
        &[],
        &[
            "--rate",
            "100",
            "-o",
            "json=file=out.json.gz,include=http_req*,exclude=http_req_failed",
        ],
        &[],
    );
    run.assert_clean();
    let records = records(&gunzip(&in_dir(&run, "out.json.gz")));
    assert_eq!(
        points(&records, "http_reqs").count() as f64,
        run.metric("http_reqs", "count")
    );
    let metrics: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r["metric"].as_str())
        .collect();
    assert!(
        metrics
            .iter()
            .all(|m| m.starts_with("http_req") && *m != "http_req_failed"),
        "{metrics:?}"
    );
    assert!(metrics.contains("http_req_duration"), "{metrics:?}");
}
