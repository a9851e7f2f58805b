//! `-o csv=… -o json=…` through the built `loadrun` binary against a loopback HTTP server.
//!
//! Until the load engine is wired in (`loadrun run --url` answers "not wired in", or does not
//! know `--url` yet) these tests print a SKIP line and pass.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use loadrun_test_support::loadrun_bin;

/// A tiny HTTP/1.1 server answering every request with `200 ok`, keep-alive included.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
                        if conn.write_all(reply).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}/")
}

fn run(args: &[&str]) -> Output {
    Command::new(loadrun_bin())
        .arg("run")
        .args(args)
        .output()
        .expect("run loadrun")
}

/// True (after a SKIP line) when the binary cannot run a quick test yet.
fn engine_missing(out: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let missing = stderr.contains("not wired in") || stderr.contains("unexpected argument '--url'");
    if missing {
        eprintln!(
            "SKIP: `loadrun run --url` is not available yet (the load engine is not wired in): {}",
            stderr
                .lines()
                .find(|l| l.contains("error"))
                .unwrap_or_default()
        );
    }
    missing
}

#[test]
fn csv_and_json_files_from_a_quick_run() {
    let url = serve();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let json = dir.path().join("out.json.gz");
    let csv_arg = format!("csv=fileName={},timeFormat=unix_nano", csv.display());
    let json_arg = format!("json={}", json.display());
    let out = run(&[
        "--url",
        &url,
        "--vus",
        "2",
        "--duration",
        "2s",
        "-q",
        "-o",
        &csv_arg,
        "-o",
        &json_arg,
    ]);
    if engine_missing(&out) {
        return;
    }
    assert!(
        out.status.success(),
        "loadrun failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.ends_with('\n'), "csv ends mid-line");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["metric_name", "timestamp", "metric_value"]);
    assert_eq!(&header[header.len() - 2..], ["extra_tags", "metadata"]);
    let mut csv_reqs = 0;
    for line in lines {
        // Quick-run tags hold no commas or quotes, so a plain split is a fair check here.
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "{line}");
        assert!(
            fields[1].len() >= 19 && fields[1].bytes().all(|b| b.is_ascii_digit()),
            "{line}"
        );
        if fields[0] == "http_reqs" {
            csv_reqs += 1;
        }
    }
    assert!(csv_reqs > 0, "no http_reqs rows in the csv");

    let unzipped = gunzip(&json);
    let mut declared = std::collections::BTreeSet::new();
    let mut json_reqs = 0;
    for line in unzipped.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let metric = v["metric"].as_str().unwrap().to_string();
        match v["type"].as_str() {
            Some("Metric") => assert!(declared.insert(metric.clone()), "{metric} declared twice"),
            Some("Point") => {
                assert!(
                    declared.contains(&metric),
                    "Point before Metric for {metric}"
                );
                if metric == "http_reqs" {
                    json_reqs += 1;
                }
            }
            other => panic!("record type {other:?}"),
        }
    }
    assert_eq!(
        csv_reqs, json_reqs,
        "both outputs got every http_reqs sample"
    );
}

#[test]
fn a_file_that_cannot_be_created_stops_the_run_before_it_starts() {
    let url = serve();
    let out = run(&[
        "--url",
        &url,
        "--vus",
        "1",
        "--duration",
        "5s",
        "-q",
        "-o",
        "csv=/no/such/dir/x.csv",
    ]);
    if engine_missing(&out) {
        return;
    }
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/no/such/dir/x.csv"), "{stderr}");
    assert!(stderr.contains("No such file or directory"), "{stderr}");
}

fn gunzip(path: &Path) -> String {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("run gzip");
    assert!(
        out.status.success(),
        "gzip -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
