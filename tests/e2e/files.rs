//! The bundled file outputs together and when their file fails, through the `loadrun` binary
//! with its built-in test server.

use std::time::{Duration, Instant};

use crate::support::{in_dir, quick_run};

fn gunzip(path: &std::path::Path) -> String {
    let out = std::process::Command::new("gzip")
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

#[test]
fn csv_and_json_files_from_one_run() {
    let run = quick_run(
        "/",
        2,
        "2s",
        &[],
        &[
            "--rate",
            "200",
            "-o",
            "csv=fileName=out.csv,timeFormat=unix_nano",
            "-o",
            "json=out.json.gz",
        ],
        &[],
    );
    run.assert_clean();
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0);

    let text = std::fs::read_to_string(in_dir(&run, "out.csv")).unwrap();
    assert!(text.ends_with('\n'), "csv ends mid-line");
    let csv_reqs = text
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("http_reqs,"))
        .count() as f64;

    let unzipped = gunzip(&in_dir(&run, "out.json.gz"));
    let json_reqs = unzipped
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "Point" && v["metric"] == "http_reqs")
        .count() as f64;
    assert_eq!(csv_reqs, reqs, "the csv has every http_reqs sample");
    assert_eq!(json_reqs, reqs, "the json has every http_reqs sample");
}

#[test]
fn a_file_that_cannot_be_created_stops_the_run_before_it_starts() {
    let t = Instant::now();
    let run = quick_run(
        "/",
        1,
        "5s",
        &[],
        &["-o", "json=ok.json", "-o", "csv=/no/such/dir/x.csv"],
        &[],
    );
    assert!(!run.output.status.success(), "{}", run.stderr());
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "the test ran ({:?}) before failing",
        t.elapsed()
    );
    let stderr = run.stderr();
    assert!(stderr.contains("/no/such/dir/x.csv"), "{stderr}");
    assert!(stderr.contains("No such file or directory"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "one error line: {stderr}"
    );
    // Nothing ran: the other output holds no sample and there is no summary.
    let other = std::fs::read_to_string(in_dir(&run, "ok.json")).unwrap_or_default();
    assert!(!other.contains("\"Point\""), "{other}");
    assert!(run.summary.is_null(), "{}", run.summary);
}

#[test]
fn a_full_disk_is_reported_once_and_counted() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("SKIP: no /dev/full");
        return;
    }
    let run = quick_run(
        "/",
        2,
        "2s",
        &[],
        &[
            "--rate",
            "50",
            "-o",
            "csv=/dev/full",
            "-o",
            "json=/dev/full",
        ],
        &[],
    );
    // The outputs' failure does not fail the test.
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(run.metric("http_reqs", "count") > 0.0);
    let stderr = run.stderr();
    for name in ["csv", "json"] {
        let report = run.output_report(name);
        let received = report["received"].as_u64().unwrap();
        assert!(received > 0, "{report}");
        assert_eq!(
            report["counters"]["samples_lost"].as_u64(),
            Some(received),
            "{report}"
        );
        let reported = stderr
            .lines()
            .filter(|l| {
                l.contains(&format!(
                    "{name}: writing to /dev/full failed: No space left on device"
                ))
            })
            .count();
        assert_eq!(
            reported, 1,
            "{name}'s failure reported once during the run:\n{stderr}"
        );
    }
}
