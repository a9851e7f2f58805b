//! The bundled file outputs together and when their file fails, through the `loadrun` binary
//! with its built-in test server.

use std::time::{Duration, Instant};

use crate::support::{in_dir, quick_run};
use loadrun_test_support::loadrun_bin;

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

/// End-of-run files are replaced whole, never rewritten in place: a reader that opened the
/// previous export still reads it complete (in place, it would see it truncated), a symlink
/// stays a symlink to the file it named, and the file keeps its permissions.
#[test]
fn the_summary_export_and_result_file_are_replaced_whole() {
    use std::io::Read;
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let result = dir.path().join("data").join("result.json");
    std::fs::create_dir_all(result.parent().unwrap()).unwrap();
    let link = dir.path().join("result-link.json");
    symlink(&result, &link).unwrap();
    let old = "{\"previous\":\"export\"}";
    std::fs::write(&export, old).unwrap();
    std::fs::write(&result, "old result").unwrap();
    std::fs::set_permissions(&export, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut reader = std::fs::File::open(&export).unwrap();

    let out = std::process::Command::new(loadrun_bin())
        .current_dir(dir.path())
        .args([
            "run",
            "--test-server",
            "--url",
            "${TEST_SERVER}/get",
            "-i",
            "3",
            "--quiet",
        ])
        .arg("--summary-export")
        .arg(&export)
        .arg("--result")
        .arg(&link)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut seen = String::new();
    reader.read_to_string(&mut seen).unwrap();
    assert_eq!(seen, old, "the old export, as its reader opened it");
    let new: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(new["metrics"]["http_reqs"]["count"], 3, "{new}");
    let mode = std::fs::metadata(&export).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    assert!(written["format"].is_string(), "{written}");
    // Nothing left beside them.
    let strays: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .chain(std::fs::read_dir(result.parent().unwrap()).unwrap())
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".loadrun-"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}
