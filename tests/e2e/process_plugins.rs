//! Out-of-process outputs: an executable speaking the protocol over its stdin/stdout
//! (`loadrun_plugin_api::process`), found by `--plugin FILE` or as `loadrun-output-NAME` on the
//! plugin path. The python template writes what the summary counted; a child that crashes,
//! hangs or speaks garbage is quarantined with one line naming it while the run completes and
//! another output gets everything; a bad handshake refuses the file before anything runs.

use std::path::PathBuf;
use std::process::Command;

use loadrun_test_support::{loadrun_bin, workspace_root};
use serde_json::Value;

use crate::support::{in_dir, quick_run, Run};

fn template() -> PathBuf {
    workspace_root().join("examples/plugin-template-python/loadrun-output-pylines")
}

fn pybehave() -> PathBuf {
    workspace_root().join("tests/process-plugins/loadrun-output-pybehave")
}

fn path_arg(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// The JSON lines of the template's file.
/// One VU for one second with `--plugin PLUGIN -o OUT`.
fn one_vu_second(plugin: &str, out: &str, env: &[(&str, &str)]) -> Run {
    quick_run("/", 1, "1s", &[], &["--plugin", plugin, "-o", out], env)
}

fn lines(run: &Run, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(in_dir(run, name)).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the file ends mid-line"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn the_python_template_writes_exactly_what_the_summary_counted() {
    let plugin = path_arg(&template());
    let run = quick_run(
        "/",
        2,
        "2s",
        &[],
        &["--plugin", &plugin, "-o", "pylines=out.jsonl"],
        &[],
    );
    run.assert_clean();
    let records = lines(&run, "out.jsonl");
    let count = |metric: &str| records.iter().filter(|r| r["metric"] == metric).count() as f64;
    let reqs = run.metric("http_reqs", "count");
    assert!(reqs > 0.0);
    assert_eq!(count("http_reqs"), reqs);
    assert_eq!(count("http_req_duration"), reqs);
    assert_eq!(count("iterations"), run.metric("iterations", "count"));
    let received: f64 = records
        .iter()
        .filter(|r| r["metric"] == "data_received")
        .map(|r| r["value"].as_f64().unwrap())
        .sum();
    assert_eq!(received, run.metric("data_received", "count"));
    let report = run.output_report("pylines");
    assert_eq!(report["written"].as_u64(), Some(records.len() as u64));
    assert_eq!(report["state"], "ok");
    let first = &records[0];
    assert!(first["tags"]["scenario"] == "default", "{first}");
}

#[test]
fn options_are_checked_by_the_host_from_the_childs_declaration() {
    // The file from the declared environment variable, then a value of the wrong kind refused
    // before anything runs, naming the option and its source.
    let plugin = path_arg(&template());
    let run = one_vu_second(
        &plugin,
        "pylines",
        &[("LOADRUN_PYLINES_FILE", "from-env.jsonl")],
    );
    run.assert_clean();
    assert!(!lines(&run, "from-env.jsonl").is_empty());
    let run = one_vu_second(&plugin, "pylines=discard=perhaps", &[]);
    assert!(!run.output.status.success());
    let err = run.stderr();
    assert!(err.contains("discard") && err.contains("perhaps"), "{err}");
}

/// One run with a misbehaving pybehave and `-o json` beside it: the run completes, json gets
/// everything, pybehave is quarantined with a line holding `expect`.
fn quarantined(arg: &str, expect: &[&str]) {
    let plugin = path_arg(&pybehave());
    let spec = format!("pybehave=file=counts.txt,{arg}");
    let run = quick_run(
        "/",
        1,
        "2s",
        &[],
        &["--plugin", &plugin, "-o", &spec, "-o", "json=all.json"],
        &[("LOADRUN_PLUGIN_CALL_TIMEOUT_MS", "1500")],
    );
    assert!(
        run.output.status.success(),
        "{arg}: the run failed:\n{}",
        run.stderr()
    );
    let json = run.output_report("json");
    assert_eq!(json["state"], "ok", "{json}");
    assert!(json["received"].as_u64().unwrap() > 0);
    assert_eq!(json["written"], json["received"], "{json}");
    let written = std::fs::read_to_string(in_dir(&run, "all.json")).unwrap();
    let points = written.lines().filter(|l| l.contains("\"Point\"")).count() as u64;
    assert_eq!(Some(points), json["written"].as_u64());
    let report = run.output_report("pybehave");
    assert_eq!(report["state"], "quarantined", "{arg}: {report}");
    let err = run.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("output pybehave failed and is disabled"))
        .unwrap_or_else(|| panic!("{arg}: no quarantine line in:\n{err}"));
    assert!(line.contains("loadrun-output-pybehave"), "{line}");
    for e in expect {
        assert!(line.contains(e), "{arg}: {e:?} not in {line}");
    }
    // Nothing was both written and dropped, and what was written is in its file.
    let received = report["received"].as_u64().unwrap();
    let written = report["written"].as_u64().unwrap();
    assert_eq!(
        received,
        written + report["dropped"]["fatal"].as_u64().unwrap()
    );
    let counted: u64 = std::fs::read_to_string(in_dir(&run, "counts.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, written, "{arg}");
}

#[test]
fn a_child_that_crashes_mid_run_is_quarantined_with_its_exit_and_last_words() {
    quarantined(
        "crashAt=3",
        &["exited with status 3 during write", "crashing on purpose"],
    );
}

#[test]
fn a_child_that_hangs_is_killed_and_quarantined() {
    quarantined("hangAt=2", &["no answer to write within 1.5s"]);
}

#[test]
fn a_child_that_prints_garbage_on_stdout_is_quarantined() {
    quarantined("garbageAt=2", &["garbage on stdout during write"]);
}

#[test]
fn a_child_retried_by_the_host_loses_nothing() {
    let plugin = path_arg(&pybehave());
    let run = quick_run(
        "/",
        1,
        "1s",
        &[],
        &[
            "--plugin",
            &plugin,
            "-o",
            "pybehave=file=counts.txt,retryTimes=3",
        ],
        &[],
    );
    run.assert_clean();
    let report = run.output_report("pybehave");
    assert_eq!(report["retries"], 3, "{report}");
}

#[test]
fn a_child_hung_in_stop_is_killed_at_the_stop_deadline() {
    let plugin = path_arg(&pybehave());
    let run = quick_run(
        "/",
        1,
        "1s",
        &[],
        &[
            "--plugin",
            &plugin,
            "-o",
            "pybehave=hangIn=stop",
            "--output-stop-timeout",
            "1s",
        ],
        &[],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let report = run.output_report("pybehave");
    assert_eq!(report["state"], "stop_failed", "{report}");
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("killed at the stop deadline, in stop"),
        "{errors}"
    );
}

/// `loadrun run --plugin pybehave` with PYBEHAVE_HANDSHAKE set: refused in one line before
/// anything runs.
fn refused(handshake: &str, expect: &str) {
    let plugin = path_arg(&pybehave());
    let run = one_vu_second(&plugin, "pybehave", &[("PYBEHAVE_HANDSHAKE", handshake)]);
    assert!(!run.output.status.success(), "{handshake}: accepted");
    let err = run.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("loadrun-output-pybehave"))
        .unwrap_or_else(|| panic!("{handshake}: no line naming the file:\n{err}"));
    assert!(
        line.contains(expect),
        "{handshake}: {expect:?} not in {line}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_bad_handshake_refuses_the_file_in_one_line() {
    refused(
        "hello there",
        "bad handshake: expected `loadrun-output <version>`, got \"hello there\"",
    );
    refused("loadrun-output 2.0", "its handshake says API 2.0");
    refused("none", "exited with status 2 before its handshake");
}

#[test]
fn executables_named_loadrun_output_name_are_found_on_the_plugin_path() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(template(), dir.path().join("loadrun-output-pylines")).unwrap();
    let env = [("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())];
    let run = quick_run("/", 1, "1s", &[], &["-o", "pylines=found.jsonl"], &env);
    run.assert_clean();
    assert!(!lines(&run, "found.jsonl").is_empty());

    let plugins = |args: &[&str]| {
        let out = Command::new(loadrun_bin())
            .arg("plugins")
            .args(args)
            .env("LOADRUN_PLUGIN_PATH", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let list = plugins(&["list"]);
    let row = list
        .lines()
        .find(|l| l.contains("loadrun-output-pylines"))
        .unwrap_or_else(|| panic!("not listed:\n{list}"));
    assert!(row.contains("pylines") && row.contains("1.3.0"), "{row}");
    let info = plugins(&["info", "pylines"]);
    assert!(info.contains("output pylines:"), "{info}");
    assert!(info.contains("LOADRUN_PYLINES_FILE"), "{info}");
}

#[test]
fn a_world_writable_executable_is_refused_like_a_library() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let src = template();
    let exe = dir.path().join("loadrun-output-pylines");
    std::fs::copy(&src, &exe).unwrap();
    std::fs::copy(
        src.with_file_name("loadrun_output.py"),
        dir.path().join("loadrun_output.py"),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o777)).unwrap();
    let exe_arg = path_arg(&exe);
    let run = one_vu_second(&exe_arg, "pylines", &[]);
    assert!(!run.output.status.success());
    let err = run.stderr();
    assert!(
        err.contains("refused") && err.contains("loadrun-output-pylines"),
        "{err}"
    );
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = one_vu_second(&exe_arg, "pylines=x.jsonl", &[]);
    run.assert_clean();
}

#[test]
fn the_childs_stderr_and_log_frames_reach_the_log_under_the_output_name() {
    let plugin = path_arg(&template());
    let run = one_vu_second(&plugin, "pylines=out.jsonl", &[("LOADRUN_LOG", "info")]);
    run.assert_clean();
    let written = run.output_report("pylines")["written"].as_u64().unwrap();
    let err = run.stderr();
    // The template's last words at stop, on its stderr.
    let expect = format!("output pylines: pylines: wrote {written} samples to out.jsonl");
    assert!(err.contains(&expect), "{expect:?} not in:\n{err}");
}

#[test]
fn a_child_may_ask_to_stop_the_test_when_allowed() {
    let plugin = path_arg(&pybehave());
    let run = quick_run(
        "/",
        1,
        "30s",
        &[],
        &[
            "--plugin",
            &plugin,
            "-o",
            "pybehave=abortAt=2,abortOnError=true",
        ],
        &[("LOADRUN_LOG", "warn")],
    );
    let err = run.stderr();
    assert!(
        err.contains("output pybehave: pybehave: asking to stop the test"),
        "{err}"
    );
    assert!(
        err.contains("output pybehave stops the test: pybehave wants the test stopped"),
        "{err}"
    );
    assert!(
        err.contains("loadrun: stopping: output pybehave: pybehave wants the test stopped"),
        "{err}"
    );
    let report = run.output_report("pybehave");
    assert_eq!(report["state"], "ok", "{report}");
    assert_eq!(report["written"], report["received"], "{report}");
}

#[test]
fn a_child_that_answers_a_call_twice_is_quarantined() {
    quarantined("replyTwiceAt=2", &["a reply (0x80) to no call"]);
}
