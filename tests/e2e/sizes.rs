//! Issue 27, item 4 and parts of item 8: impossible sizes refused at plan time with one line,
//! plan memory proportional to the plan, files checked before the run starts, and quoted `-o`
//! values.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use loadrun_test_support::loadrun_bin;

fn loadrun(dir: &Path, args: &[&str]) -> Output {
    Command::new(loadrun_bin())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run loadrun")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs loadrun to its end; returns its exit code, stderr and the highest VmHWM (peak resident
/// memory, KiB) read from its /proc status while it ran. (wait4's ru_maxrss would not do: Linux
/// carries the spawning test process's peak across exec.)
fn loadrun_peak_rss(dir: &Path, args: &[&str]) -> (i32, String, u64) {
    let mut child = Command::new(loadrun_bin())
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn loadrun");
    let status_file = format!("/proc/{}/status", child.id());
    let mut err_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err_pipe, &mut s).ok();
        s
    });
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "loadrun did not end");
        let hwm = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0);
        peak = peak.max(hwm);
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        reader.join().unwrap_or_default(),
        peak,
    )
}

#[test]
fn vus_past_one_process_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = loadrun(
        dir.path(),
        &[
            "run",
            "--url",
            "http://127.0.0.1:1/",
            "-u",
            "1000000000000",
            "-d",
            "1s",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert_eq!(
        err.trim(),
        "loadrun: error: --vus 1000000000000 is more than loadrun can run in one process (limit 1000000); split the test across machines"
    );
    std::fs::write(
        dir.path().join("plan.toml"),
        "[scenarios.x]\nexecutor = \"constant-vus\"\nvus = 100000000\nduration = \"1s\"\n\n[[steps]]\nurl = \"http://127.0.0.1:1/\"\n",
    )
    .unwrap();
    let o = loadrun(dir.path(), &["run", "plan.toml"]);
    assert_eq!(
        stderr(&o).trim(),
        "loadrun: error: plan.toml: scenario \"x\": vus = 100000000 is more than loadrun can run in one process (limit 1000000); split the test across machines"
    );
    let o = loadrun(
        dir.path(),
        &["run", "--url", "http://127.0.0.1:1/", "-d", "100000000h"],
    );
    assert!(
        stderr(&o)
            .contains("--duration \"100000000h\" is longer than loadrun runs (limit 365 days)"),
        "{}",
        stderr(&o)
    );
    // Used to panic after the run: "overflow when adding duration to instant".
    let o = loadrun(
        dir.path(),
        &[
            "run",
            "--url",
            "http://127.0.0.1:1/",
            "--output-stop-timeout",
            "5000000000000000h",
        ],
    );
    assert_eq!(o.status.code(), Some(255), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        "loadrun: error: --output-stop-timeout \"5000000000000000h\" is longer than loadrun waits (limit 365 days)"
    );
}

#[test]
fn plans_over_ten_mib_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let line = "# generated padding, generated padding, generated padding\n";
    let text = line.repeat(11 * 1024 * 1024 / line.len());
    std::fs::write(dir.path().join("big.toml"), &text).unwrap();
    let o = loadrun(dir.path(), &["run", "big.toml"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "loadrun: error: big.toml: the plan is {} bytes, more than loadrun reads (limit 10485760 bytes, 10 MiB)",
            text.len()
        )
    );
}

#[test]
fn plan_memory_stays_a_small_multiple_of_the_plan() {
    // 20,000 steps sharing two Unicode regexes. Each compiled regex used to be kept per step
    // (tens of KiB each: this plan took well over a GiB; a 50 MB plan took 19 GB).
    let dir = tempfile::tempdir().unwrap();
    let mut steps = Vec::new();
    for i in 0..20_000 {
        steps.push(serde_json::json!({
            "url": format!("http://127.0.0.1:1/item/{i}"),
            "checks": [{"matches": "id=(\\w+)"}],
            "extract": [{"var": "id", "regex": "id=(\\w+)"}],
        }));
    }
    // The first step sleeps past maxDuration: the run ends there, and loadrun stays alive
    // (holding its peak) long enough to be measured.
    steps.insert(0, serde_json::json!({"sleep": "30s"}));
    let plan = serde_json::json!({
        "scenarios": {
            "a": {
                "executor": "per-vu-iterations",
                "maxDuration": "2s",
                "gracefulStop": "0s",
            },
        },
        "steps": steps,
    });
    let text = plan.to_string();
    std::fs::write(dir.path().join("plan.json"), &text).unwrap();
    let (code, err, peak_kib) =
        loadrun_peak_rss(dir.path(), &["run", "plan.json", "-q", "--no-summary"]);
    assert_eq!(code, 0, "{err}");
    let plan_kib = text.len() as u64 / 1024;
    eprintln!("peak RSS {peak_kib} KiB for a {plan_kib} KiB plan");
    assert!(peak_kib > 0, "no VmHWM read");
    // Now ~35 times the plan (the JSON parse, then ~1.3 KiB per compiled request); was 15 GiB,
    // then 70 times with a regex clone (and its cache pool) per step.
    assert!(
        peak_kib < 60 * plan_kib,
        "peak RSS {peak_kib} KiB for a {plan_kib} KiB plan"
    );
}

#[test]
fn a_default_plan_in_a_symlink_loop_reports_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("loadrun.toml");
    std::os::unix::fs::symlink(&plan, &plan).unwrap();
    let o = loadrun(dir.path(), &["run"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert!(
        err.contains("cannot read the plan loadrun.toml: Too many levels of symbolic links"),
        "{err}"
    );
}

fn quick(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "--test-server",
        "--url",
        "${TEST_SERVER}/",
        "-i",
        "3",
        "-q",
        "--no-summary",
    ];
    args.extend_from_slice(extra);
    loadrun(dir, &args)
}

#[test]
fn one_file_for_two_writers_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = quick(dir.path(), &["-o", "json=x", "-o", "csv=./x"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert!(
        err.contains(
            "csv: cannot write \"./x\": json writes that file too; give each its own file"
        ),
        "{err}"
    );
    // Nothing was written: the run never started.
    assert_eq!(std::fs::read(dir.path().join("x")).unwrap().len(), 0);

    let o = quick(
        dir.path(),
        &["-o", "json=out.json", "--summary-export", "./out.json"],
    );
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("json: cannot write \"out.json\": --summary-export writes that file too"),
        "{err}"
    );
    // Two files: both written, as before.
    let o = quick(
        dir.path(),
        &[
            "-o",
            "json=a.json",
            "-o",
            "csv=b.csv",
            "--summary-export",
            "s.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["a.json", "b.csv", "s.json"] {
        assert!(
            std::fs::metadata(dir.path().join(f)).unwrap().len() > 0,
            "{f}"
        );
    }
}

#[test]
fn an_unwritable_summary_export_is_found_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = loadrun(
        dir.path(),
        &[
            "run",
            "--test-server",
            "--url",
            "${TEST_SERVER}/",
            "-d",
            "60s",
            "-q",
            "--summary-export",
            "no/such/dir/summary.json",
        ],
    );
    let err = stderr(&o);
    // loadrun's code for every configuration refused before the run (104 means a required
    // output failed).
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert_eq!(
        err.trim(),
        "loadrun: error: --summary-export no/such/dir/summary.json: cannot write: No such file or directory"
    );
    // Refused up front, not after the 60s run.
    assert!(started.elapsed() < Duration::from_secs(45));
}

#[test]
fn quoted_output_values_are_unquoted() {
    let dir = tempfile::tempdir().unwrap();
    let o = quick(
        dir.path(),
        &[
            "-o",
            "json=file='q.json',exclude=\"vus,vus_max,iterations\"",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("q.json")).unwrap();
    assert!(text.contains("\"http_reqs\""), "{text}");
    for excluded in ["\"vus\"", "\"vus_max\"", "\"iterations\""] {
        assert!(!text.contains(excluded), "{excluded} in {text}");
    }
    let o = quick(dir.path(), &["-o", "json=file=\"q2.json"]);
    assert_eq!(o.status.code(), Some(255));
    assert!(
        stderr(&o).contains("the value of option file opens a quote that is never closed"),
        "{}",
        stderr(&o)
    );
}
