//! The csv output's file handling: escaping round trip, gzip, errors, options.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{csv_init, run_csv};
use file_sink::fixtures::outcome;
use loadrun_plugin_api::testkit::{init, started, BatchBuilder};
use loadrun_plugin_api::{LogLevel, MetricType, Plugin, ValueKind, WriteStatus};
use out_csv::decode::{decode_pairs, read_records};
use out_csv::CsvPlugin;

fn small_run() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(
        reqs,
        &[("status", "200"), ("method", "GET"), ("zone", "eu")],
        &[("vu", "1")],
    );
    for i in 0..10 {
        b.sample(s, 1_795_608_192_000_000_000 + i * 1_000_000, 1.0);
    }
    b
}

#[test]
fn escaped_tags_round_trip() {
    let tricky: Vec<(&str, &str)> = vec![
        ("a&b", "x=y"),
        ("amp", "one&two"),
        ("comma", "a,b"),
        ("eq=key", "v"),
        ("nl", "two\nlines"),
        ("pct", "100%25"),
        ("quote", "say \"hi\""),
        ("space", " lead"),
    ];
    let meta: Vec<(&str, &str)> = vec![("trace_id", "abc&d=e"), ("vu", "1")];
    let mut b = BatchBuilder::new();
    let m = b.metric("my_counter", MetricType::Counter, ValueKind::Default);
    let mut tags = tricky.clone();
    tags.push(("status", "200,\"ok\""));
    let s = b.series(m, &tags, &meta);
    b.sample(s, 1_795_608_192_000_000_000, 2.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("esc.csv");
    run_csv(csv_init(&format!("fileName={}", path.display()), None), &b);
    let records = read_records(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let header = &records[0];
    let row = &records[1];
    let col = |name: &str| &row[header.iter().position(|c| c == name).unwrap()];
    assert_eq!(col("status"), "200,\"ok\"");
    let extra = decode_pairs(col("extra_tags")).unwrap();
    let mut want: Vec<(String, String)> = tricky
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    assert_eq!(extra, want);
    let metadata = decode_pairs(col("metadata")).unwrap();
    assert_eq!(
        metadata,
        vec![
            ("trace_id".into(), "abc&d=e".into()),
            ("vu".into(), "1".into())
        ]
    );
}

#[test]
fn gzip_is_readable_by_gzip_d() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("a.csv");
    let gz = dir.path().join("a.csv.gz");
    run_csv(csv_init(plain.to_str().unwrap(), None), &small_run());
    run_csv(csv_init(gz.to_str().unwrap(), None), &small_run());
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .output()
        .expect("run gzip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, std::fs::read(&plain).unwrap());
    assert!(Command::new("gzip")
        .arg("-t")
        .arg(&gz)
        .status()
        .unwrap()
        .success());
}

#[test]
fn bad_path_fails_in_the_constructor() {
    let err = CsvPlugin::new_output(init("csv", Some("/no/such/dir/x.csv"), "", &[]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "csv: cannot create \"/no/such/dir/x.csv\": No such file or directory"
    );
}

#[test]
fn unknown_key_as_k6() {
    let err = CsvPlugin::new_output(init("csv", Some("fileName=x.csv,bogus=1"), "", &[]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "unknown key \"bogus\" as argument for csv output"
    );
}

#[test]
fn disk_full_is_reported_once_counted_and_the_run_goes_on() {
    let (mut out, rec) = started::<CsvPlugin>(init(
        "csv",
        Some("fileName=/dev/full,saveInterval=1ms"),
        "",
        &[],
    ));
    let b = small_run();
    for _ in 0..3 {
        assert_eq!(out.write(b.batch()), WriteStatus::Ok);
        out.flush(Duration::from_secs(1)).unwrap();
    }
    let err = out.stop(&outcome(), Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("/dev/full"), "{err}");
    let errors: Vec<_> = rec
        .logs()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(rec.counter("write_errors") >= 3);
    assert_eq!(rec.counter("samples_lost"), 30);
}

#[test]
fn each_save_leaves_complete_lines_and_the_header_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.csv");
    let (mut out, _rec) = started::<CsvPlugin>(csv_init(
        &format!("fileName={},saveInterval=1h", path.display()),
        None,
    ));
    let b = small_run();
    out.write(b.batch());
    // Not yet due: nothing written.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    out.flush(Duration::from_secs(1)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(read_records(&text).unwrap().len(), 11);
    out.write(b.samples_only());
    out.stop(&outcome(), Duration::from_secs(1)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let records = read_records(&text).unwrap();
    assert_eq!(records.len(), 21);
    assert_eq!(text.matches("metric_name").count(), 1);
    // `zone` is no system tag: extra_tags. `vu` is metadata.
    assert_eq!(records[1][records[0].len() - 2], "zone=eu");
    assert_eq!(records[1][records[0].len() - 1], "vu=1");
}

#[test]
fn env_and_plan_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env.csv");
    let p = path.to_str().unwrap();
    let table =
        serde_json::json!({"time_format": "unix_milli", "file_name": "/nonexistent/ignored.csv"})
            .to_string();
    let env = [("K6_CSV_FILENAME", p), ("K6_CSV_SAVE_INTERVAL", "1ms")];
    let (mut out, _rec) = started::<CsvPlugin>(init("csv", None, &table, &env));
    out.write(small_run().batch());
    out.stop(&outcome(), Duration::from_secs(1)).unwrap();
    let records = read_records(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(records[1][1], "1795608192000");
}
