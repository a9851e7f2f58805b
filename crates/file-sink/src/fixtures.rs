//! Test helpers (feature `fixtures`): k6's fixture files, and a replay of k6's NDJSON output as
//! the batches our host would send for the same run, so an output's file can be compared with
//! the file k6 wrote.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::{MetricType, ValueKind};

use crate::time::parse_rfc3339;

/// `tests/fixtures/k6/` (copies of the files real k6 v1.1 wrote; or `$LOADRUN_K6_FIXTURES`).
pub fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOADRUN_K6_FIXTURES") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.join("../../tests/fixtures/k6")
}

/// A fixture's text; panics naming the file if it is missing.
pub fn fixture(name: &str) -> String {
    let p = fixtures_dir().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "k6 fixture {} is missing ({e}): set LOADRUN_K6_FIXTURES to the folder holding k6-output.json",
            p.display()
        )
    })
}

/// A series as k6's file shows it: metric, tags, metadata.
type SeriesKey = (u32, Vec<(String, String)>, Vec<(String, String)>);

/// Rebuilds the definitions and samples behind a k6 NDJSON file: one metric per `Metric`
/// record (thresholds and submetrics included), one series per distinct tag set and metadata,
/// one sample per `Point`, in file order.
pub fn replay_k6_json(text: &str) -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let mut metrics: Vec<String> = Vec::new();
    let mut series: Vec<SeriesKey> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("k6 line is JSON");
        let data = &v["data"];
        match v["type"].as_str() {
            Some("Metric") => {
                let metric_type = match data["type"].as_str() {
                    Some("counter") => MetricType::Counter,
                    Some("gauge") => MetricType::Gauge,
                    Some("rate") => MetricType::Rate,
                    _ => MetricType::Trend,
                };
                let contains = match data["contains"].as_str() {
                    Some("time") => ValueKind::Time,
                    Some("data") => ValueKind::Data,
                    _ => ValueKind::Default,
                };
                let name = data["name"].as_str().unwrap().to_string();
                let id = b.metric(&name, metric_type, contains);
                for t in data["thresholds"].as_array().into_iter().flatten() {
                    b.threshold(id, t.as_str().unwrap());
                }
                for s in data["submetrics"].as_array().into_iter().flatten() {
                    let tags = pairs(&s["tags"]);
                    let tags: Vec<(&str, &str)> =
                        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    b.submetric(id, &tags);
                }
                metrics.push(name);
            }
            Some("Point") => {
                let name = v["metric"].as_str().unwrap();
                let metric = metrics
                    .iter()
                    .position(|m| m == name)
                    .expect("Metric before Point") as u32;
                let tags = pairs(&data["tags"]);
                let metadata = pairs(&data["metadata"]);
                let key = (metric, tags, metadata);
                let id = match series.iter().position(|s| *s == key) {
                    Some(i) => i as u32,
                    None => {
                        let t: Vec<(&str, &str)> = key
                            .1
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        let m: Vec<(&str, &str)> = key
                            .2
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        let id = b.series(metric, &t, &m);
                        series.push(key);
                        id
                    }
                };
                let time = parse_rfc3339(data["time"].as_str().unwrap()).expect("RFC 3339 time");
                b.sample(id, time, data["value"].as_f64().unwrap());
            }
            other => panic!("unexpected record type {other:?}"),
        }
    }
    b
}

fn pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The run outcome handed to `stop` in tests.
pub fn outcome() -> loadrun_plugin_api::RunOutcome {
    loadrun_plugin_api::RunOutcome {
        passed: true,
        reason: loadrun_plugin_api::EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 0,
        extra: "{}".into(),
    }
}
