//! The load engine through the built `loadrun` binary: quick mode, plans, the built-in test
//! server, thresholds and exit codes, plan errors, Ctrl-C.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use loadrun_test_support::loadrun_bin;

fn loadrun_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(loadrun_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("TEST_SERVER")
        .output()
        .expect("run loadrun")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn write_plan(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn quick_mode_against_the_built_in_server_with_summary_export() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let out = loadrun_in(
        dir.path(),
        &[
            "run",
            "--url",
            "${TEST_SERVER}/post",
            "--method",
            "POST",
            "--body",
            "{\"a\":1}",
            "-H",
            "Content-Type: application/json",
            "-u",
            "3",
            "-i",
            "30",
            "--summary-export",
            export.to_str().unwrap(),
            "--tag",
            "team=perf",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("30 iterations shared among 3 VUs"),
        "{stdout}"
    );
    assert!(stdout.contains("http_reqs"), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(v["metrics"]["http_reqs"]["count"], 30);
    assert_eq!(v["metrics"]["iterations"]["count"], 30);
    assert_eq!(v["metrics"]["http_req_failed"]["passes"], 0);
    assert!(v["metrics"]["http_req_duration"]["p(95)"].as_f64().unwrap() > 0.0);
    assert!(
        v["outputs"].is_object() || v["outputs"].is_array(),
        "{}",
        v["outputs"]
    );
}

#[test]
fn a_one_iteration_run_reports_the_vu_it_ran_on() {
    // Shorter than the first gauge sample: `vus` is the VU that ran, not the 0 left after it.
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let out = loadrun_in(
        dir.path(),
        &[
            "run",
            "--quiet",
            "--url",
            "${TEST_SERVER}/get",
            "-i",
            "1",
            "--summary-export",
            export.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(v["metrics"]["http_reqs"]["count"], 1);
    assert_eq!(v["metrics"]["vus"]["value"], 1, "{}", v["metrics"]["vus"]);
    assert_eq!(
        v["metrics"]["vus_max"]["value"], 1,
        "{}",
        v["metrics"]["vus_max"]
    );
}

#[test]
fn failing_threshold_exits_99_and_json_output_has_k6_tags() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "p.toml",
        r#"
iterations = 4
tags = { testid = "e2e" }
[thresholds]
http_req_failed = ["rate<0.1"]
checks = ["rate>0.9"]
[[steps]]
url = "${TEST_SERVER}/status/503"
name = "broken"
checks = [{ status = 200 }]
"#,
    );
    let json = dir.path().join("out.ndjson");
    let out = loadrun_in(
        dir.path(),
        &[
            "run",
            plan.to_str().unwrap(),
            "-o",
            &format!("json={}", json.display()),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(99),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("✗ 'rate<0.1'"), "{stdout}");
    let ndjson = std::fs::read_to_string(&json).unwrap();
    let point = ndjson
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "Point" && v["metric"] == "http_reqs")
        .unwrap();
    let tags = &point["data"]["tags"];
    assert_eq!(tags["status"], "503");
    assert_eq!(tags["error_code"], "1503");
    assert_eq!(tags["expected_response"], "false");
    assert_eq!(tags["name"], "broken");
    assert_eq!(tags["url"], "broken");
    assert_eq!(tags["testid"], "e2e");
    assert_eq!(tags["scenario"], "default");
    assert_eq!(tags["group"], "");
}

#[test]
fn bad_plan_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "bad.toml",
        "[scenarios.a]\nexecutor = \"constant-vus\"\nvus = 2\nduration = \"10 seconds\"\n",
    );
    let out = loadrun_in(dir.path(), &["run", plan.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("bad.toml:4:12: invalid duration \"10 seconds\""),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let plan = write_plan(
        dir.path(),
        "unknown.toml",
        "[[steps]]\nurl = \"${NOPE}/x\"\n",
    );
    let out = loadrun_in(dir.path(), &["run", plan.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains("unknown variable ${NOPE}"), "{stderr}");
}

#[test]
fn without_a_plan_uses_loadrun_toml_or_explains() {
    let dir = tempfile::tempdir().unwrap();
    let out = loadrun_in(dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("nothing to run") && stderr.contains("--url"),
        "{stderr}"
    );

    write_plan(
        dir.path(),
        "loadrun.toml",
        "[[steps]]\nurl = \"${TEST_SERVER}/get\"\n",
    );
    let out = loadrun_in(dir.path(), &["--no-summary"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("using ./loadrun.toml"), "{stderr}");
}

#[test]
fn connection_refused_is_a_failed_request_not_a_crash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("s.json");
    let out = loadrun_in(
        dir.path(),
        &[
            "run",
            "--url",
            &format!("http://127.0.0.1:{port}/"),
            "-i",
            "3",
            "--summary-export",
            export.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(v["metrics"]["http_req_failed"]["passes"], 3);
}

#[test]
fn the_example_plans_run() {
    // loadrun.toml is the quick start; the others are shortened with -d so the test stays quick
    // (the override keeps their flows, data feeds and checks).
    let ex = examples();
    let out = loadrun_in(&ex, &["run", "flow.toml", "--no-summary", "-q"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "flow.toml: {}",
        text(&out.stderr)
    );
    let out = loadrun_in(
        &ex,
        &["run", "scenarios.toml", "-d", "1s", "--no-summary", "-q"],
    );
    assert!(
        out.status.code() == Some(0),
        "scenarios.toml: {}",
        text(&out.stderr)
    );
    let out = loadrun_in(&ex, &["-d", "2s", "-q"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "loadrun.toml: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn serve_answers_httpbin_style_requests() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(loadrun_bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--threads",
            "1",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("server did not start: {e}"),
        }
    };
    conn.write_all(b"GET /status/418 HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(resp.starts_with("HTTP/1.1 418 "), "{resp}");
    assert!(resp.contains("Sample Slide Show"), "{resp}");
}

#[test]
fn ctrl_c_stops_gracefully_with_a_summary_and_exit_105() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(loadrun_bin())
        .args([
            "run",
            "--url",
            "${TEST_SERVER}/delay/0.05",
            "-u",
            "2",
            "-d",
            "60s",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(105),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("stopping gracefully"));
    assert!(stdout.contains("iterations"), "{stdout}");
}
