//! The json output's file handling: gzip, errors, filters, array framing, line-complete flushes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use file_sink::fixtures::{fixture, outcome, replay_k6_json};
use loadrun_plugin_api::testkit::{init, recording_host, BatchBuilder};
use loadrun_plugin_api::{LogLevel, MetricType, Output, Plugin, ValueKind, WriteStatus};
use out_json::JsonPlugin;

fn open(arg: &str) -> Box<dyn Output> {
    JsonPlugin::new_output(init("json", Some(arg), "", &[])).unwrap()
}

fn small_run() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let s1 = b.series(
        reqs,
        &[("status", "200"), ("method", "GET")],
        &[("vu", "1")],
    );
    let s2 = b.series(dur, &[("status", "200"), ("method", "GET")], &[]);
    let s3 = b.series(vus, &[], &[]);
    for i in 0..10 {
        let t = 1_795_608_192_000_000_000 + i * 1_000_000;
        b.sample(s1, t, 1.0)
            .sample(s2, t, 1.5 + i as f64)
            .sample(s3, t, 3.0);
    }
    b
}

fn metric_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}:{}",
                v["type"].as_str().unwrap(),
                v["metric"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn gzip_is_readable_by_gzip_d() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json.gz");
    let k6 = fixture("k6-output.json");
    let b = replay_k6_json(&k6);
    let mut out = open(path.to_str().unwrap());
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    out.write(b.batch());
    out.stop(&outcome(), Duration::from_secs(5)).unwrap();
    let unzipped = Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .output()
        .expect("run gzip");
    assert!(
        unzipped.status.success(),
        "{}",
        String::from_utf8_lossy(&unzipped.stderr)
    );
    let text = String::from_utf8(unzipped.stdout).unwrap();
    assert!(
        text == k6,
        "gunzipped file differs from k6's ({} vs {} bytes)",
        text.len(),
        k6.len()
    );
    // `gzip -t` checks the trailer (CRC and length): the stream was finished properly.
    assert!(Command::new("gzip")
        .arg("-t")
        .arg(&path)
        .status()
        .unwrap()
        .success());
}

#[test]
fn bad_path_fails_in_the_constructor() {
    let err = JsonPlugin::new_output(init("json", Some("/no/such/dir/out.json"), "", &[]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "json: cannot create \"/no/such/dir/out.json\": No such file or directory"
    );
}

#[test]
fn disk_full_is_reported_once_counted_and_the_run_goes_on() {
    let mut out = open("file=/dev/full,flushInterval=1ms");
    let (host, rec) = recording_host();
    out.start(host).unwrap();
    let b = small_run();
    for _ in 0..3 {
        assert_eq!(out.write(b.batch()), WriteStatus::Ok);
        std::thread::sleep(Duration::from_millis(2));
        out.flush(Duration::from_secs(1)).unwrap();
    }
    let stop = out.stop(&outcome(), Duration::from_secs(1));
    assert!(stop.unwrap_err().to_string().contains("/dev/full"));
    let errors: Vec<_> = rec
        .logs()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].1.contains("/dev/full") && errors[0].1.contains("No space left"),
        "{errors:?}"
    );
    assert!(rec.counter("write_errors") >= 3);
    assert_eq!(rec.counter("samples_lost"), 90);
}

#[test]
fn include_and_exclude() {
    let dir = tempfile::tempdir().unwrap();
    let run = |arg: String| -> (String, u64) {
        let mut out = open(&arg);
        let (host, rec) = recording_host();
        out.start(host).unwrap();
        out.write(small_run().batch());
        out.stop(&outcome(), Duration::from_secs(1)).unwrap();
        let path = arg
            .split(',')
            .next()
            .unwrap()
            .trim_start_matches("file=")
            .to_string();
        (
            std::fs::read_to_string(path).unwrap(),
            rec.counter("samples_filtered"),
        )
    };
    let p = dir.path().join("inc.json");
    let (text, filtered) = run(format!("file={},include=http_req*", p.display()));
    let names = metric_names(&text);
    assert!(names.iter().all(|n| n.contains("http_req")), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("Point")).count(), 20);
    assert_eq!(filtered, 10);
    let p = dir.path().join("exc.json");
    let (text, filtered) = run(format!("file={},exclude=vus;http_reqs", p.display()));
    assert_eq!(
        metric_names(&text)
            .iter()
            .filter(|n| n.starts_with("Point"))
            .count(),
        10
    );
    assert!(!text.contains("\"vus\""));
    assert_eq!(filtered, 20);
}

#[test]
fn array_framing_is_one_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.json");
    let k6 = fixture("k6-output.json");
    let b = replay_k6_json(&k6);
    let mut out = open(&format!("{},jsonArray=true", path.display()));
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    let (first, rest) = b.samples.split_at(40);
    let mut one = b.clone();
    one.samples = first.to_vec();
    out.write(one.batch());
    let mut two = b.clone();
    two.samples = rest.to_vec();
    out.write(two.samples_only());
    out.stop(&outcome(), Duration::from_secs(1)).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let records = doc.as_array().unwrap();
    let k6_records: Vec<serde_json::Value> = k6
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records, &k6_records);
}

#[test]
fn an_empty_run_in_array_framing_is_an_empty_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.json");
    let mut out = open(&format!("file={},jsonArray=true", path.display()));
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    out.write(BatchBuilder::new().batch());
    out.stop(&outcome(), Duration::from_secs(1)).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc, serde_json::json!([]));
}

#[test]
fn every_flush_leaves_complete_lines() {
    // What an interrupted run leaves: the file as of the last flush, every line whole JSON.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.json");
    let mut out = open(path.to_str().unwrap());
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    let b = small_run();
    out.write(b.batch());
    out.flush(Duration::from_secs(1)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), 33); // 3 Metric + 30 Point
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
    // Later batches carry no definitions and no repeated Metric records.
    out.write(b.samples_only());
    out.stop(&outcome(), Duration::from_secs(1)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 63);
    assert_eq!(text.matches("\"Metric\"").count(), 3);
}

#[test]
fn writes_are_paced_by_flush_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paced.json");
    let mut out = open(&format!("file={},flushInterval=1h", path.display()));
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    out.write(small_run().batch());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    out.stop(&outcome(), Duration::from_secs(1)).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 33);
}
