//! The web dashboard's page in a real browser: Debian's headless Chromium, driven through
//! playwright-core by `tests/browser/inspect.mjs`, loads the live page while a test runs and the
//! report file from disk afterwards, and reports what the page shows. Screenshots of every tab
//! go to `$CARGO_TARGET_DIR/dashboard-screenshots/`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use loadrun_test_support::artifacts::target_dir;
use loadrun_test_support::services::services_required;
use loadrun_test_support::{loadrun_bin, workspace_root};
use serde_json::Value;

use crate::support::read_summary;

/// A child process killed when the test lets go of it (a failed assertion included).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn browser_dir() -> PathBuf {
    workspace_root().join("tests").join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Whether Chromium, node and playwright-core are installed; `false` after a loud SKIP line
/// where one is missing and CI does not require it.
fn browser_available(test: &str) -> bool {
    let mut missing = Vec::new();
    if !chromium().is_file() {
        missing.push(format!(
            "{} (apt-get install chromium)",
            chromium().display()
        ));
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing.push("node".into());
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("playwright-core (npm ci in tests/browser)".into());
    }
    if missing.is_empty() {
        return true;
    }
    if services_required() {
        panic!(
            "{test}: missing {}; run .ci/install-deps",
            missing.join(", ")
        );
    }
    eprintln!(
        "\n=== SKIP {test}: missing {}. Run .ci/install-deps, or set LOADRUN_REQUIRE_SERVICES=1 \
         to make this a failure. ===\n",
        missing.join(", ")
    );
    false
}

fn screenshots_dir() -> PathBuf {
    target_dir().join("dashboard-screenshots")
}

fn inspect_cmd(prefix: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("inspect.mjs"))
        .args(["--shots".as_ref(), screenshots_dir().as_os_str()])
        .args(["--prefix", prefix])
        .env("CHROMIUM", chromium());
    cmd
}

fn parse_inspection(stdout: &[u8], stderr: &str) -> Value {
    let text = String::from_utf8_lossy(stdout);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("inspect.mjs wrote no JSON ({e}):\n{text}\nstderr:\n{stderr}"))
}

/// The report file opened from disk with every non-file request blocked.
fn inspect_file(path: &Path, prefix: &str) -> Value {
    inspect_file_at(path, prefix, 1280)
}

fn inspect_file_at(path: &Path, prefix: &str, width: u32) -> Value {
    let out = inspect_cmd(prefix)
        .arg("--file")
        .arg(path)
        .args(["--width", &width.to_string()])
        .output()
        .expect("run node inspect.mjs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "inspect.mjs failed:\n{stderr}");
    parse_inspection(&out.stdout, &stderr)
}

/// What one run with the dashboard left: the page as the browser saw it live, the summary
/// export, the folder (report, record), the exit code and stderr.
struct Watched {
    live: Value,
    summary: Value,
    dir: tempfile::TempDir,
    code: Option<i32>,
    stderr: String,
}

/// Runs `plan` with `-o web-dashboard=port=0,...` while the browser watches the live page.
fn run_watched(plan: &str, prefix: &str) -> Watched {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    // The browser starts first and waits for the URL, so a short run is not over before
    // Chromium is up.
    let mut node = Reaped(
        inspect_cmd(prefix)
            .args(["--url", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node inspect.mjs"),
    );
    let node_err = BufReader::new(node.0.stderr.take().unwrap());
    let (ready_tx, ready_rx) = mpsc::channel();
    let node_log = std::thread::spawn(move || {
        let mut log = String::new();
        for line in node_err.lines().map_while(Result::ok) {
            if line.contains("browser ready") {
                let _ = ready_tx.send(());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    if ready_rx.recv().is_err() {
        drop(node);
        panic!("the browser did not start:\n{}", node_log.join().unwrap());
    }

    let export = dir.path().join("summary.json");
    let mut run = Reaped(
        Command::new(loadrun_bin())
            .current_dir(dir.path())
            .args(["run", "plan.toml", "--test-server", "--quiet"])
            .args([
                "-o",
                "web-dashboard=port=0,period=1s,export=report.html,record=events.ndjson",
            ])
            .arg("--summary-export")
            .arg(&export)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start loadrun"),
    );
    let run_err = BufReader::new(run.0.stderr.take().unwrap());
    let (url_tx, url_rx) = mpsc::channel();
    let run_log = std::thread::spawn(move || {
        let mut log = String::new();
        for line in run_err.lines().map_while(Result::ok) {
            if let Some(at) = line.find("web dashboard: http://") {
                let url = line[at + "web dashboard: ".len()..].trim().to_string();
                let _ = url_tx.send(url);
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let url = url_rx.recv();
    let mut stdin = node.0.stdin.take().unwrap();
    if let Ok(url) = &url {
        writeln!(stdin, "{url}").unwrap();
    }
    drop(stdin);
    let status = run.0.wait().expect("wait for loadrun");
    let stderr = run_log.join().unwrap();
    assert!(url.is_ok(), "loadrun printed no dashboard URL:\n{stderr}");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut node.0.stdout.take().unwrap(), &mut out).unwrap();
    let node_status = node.0.wait().expect("wait for node");
    let node_stderr = node_log.join().unwrap();
    assert!(
        node_status.success(),
        "inspect.mjs failed:\n{node_stderr}\nloadrun stderr:\n{stderr}"
    );
    Watched {
        live: parse_inspection(&out, &node_stderr),
        summary: read_summary(&export),
        dir,
        code: status.code(),
        stderr,
    }
}

fn charts(page: &Value) -> Vec<Value> {
    page["final"]["charts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn chart(page: &Value, id: &str) -> Value {
    charts(page)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no chart {id} on the page: {}", page["final"]))
}

fn points(chart: &Value) -> u64 {
    chart["series"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["points"].as_u64()).sum())
        .unwrap_or(0)
}

/// The number the header shows as the request count ("1,234" → 1234).
fn requests_shown(page: &Value) -> u64 {
    let text = page["headerRequests"].as_str().unwrap_or_default();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no request count in the header: {text:?}"))
}

/// The rows of a table on a tab (`tabs.NAME.tables[id=ID].rows`).
fn table_rows(page: &Value, tab: &str, id: &str) -> Vec<Value> {
    page["tabs"][tab]["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == id))
        .and_then(|t| t["rows"].as_array().cloned())
        .unwrap_or_else(|| panic!("no table {id} on tab {tab}: {}", page["tabs"][tab]))
}

/// What must hold for any view of a finished run: no page error, nothing blocked, charts with
/// points, the header's request count equal to the summary's.
fn assert_shows_the_run(page: &Value, summary: &Value, what: &str) {
    assert_eq!(
        page["pageErrors"],
        serde_json::json!([]),
        "{what}: page errors"
    );
    assert_eq!(
        page["final"]["problems"],
        serde_json::json!([]),
        "{what}: page problems"
    );
    assert_eq!(
        page["blocked"],
        serde_json::json!([]),
        "{what}: requests leaving the page"
    );
    for id in [
        "reqs",
        "vus",
        "duration",
        "data",
        "phase-waiting",
        "iteration-duration",
    ] {
        assert!(
            points(&chart(page, id)) > 0,
            "{what}: chart {id} has no points"
        );
    }
    let expected = summary["metrics"]["http_reqs"]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no http_reqs in the summary export: {summary}"));
    assert!(expected > 0);
    assert_eq!(requests_shown(page), expected, "{what}: requests shown");
    for shot in page["screenshots"].as_array().cloned().unwrap_or_default() {
        let bytes = std::fs::read(shot.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{what}: {shot} is not a PNG");
    }
}

/// The failing threshold is failed in the threshold table and its line on the duration chart.
fn assert_threshold_failed(page: &Value, what: &str) {
    let rows = table_rows(page, "thresholds", "thresholds");
    let row = rows
        .iter()
        .find(|r| r["data"]["expression"] == "p(95)<0.001")
        .unwrap_or_else(|| panic!("{what}: no p(95)<0.001 row: {rows:?}"));
    assert_eq!(row["data"]["ok"], "false", "{what}: {row}");
    assert!(
        row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "failed"),
        "{what}: {row}"
    );
    let passing = rows
        .iter()
        .find(|r| r["data"]["expression"] == "rate<0.9")
        .unwrap_or_else(|| panic!("{what}: no rate<0.9 row: {rows:?}"));
    assert_eq!(passing["data"]["ok"], "true", "{what}: {passing}");
    let lines = chart(page, "duration")["lines"].clone();
    assert!(
        lines
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["label"] == "p(95)<0.001" && l["ok"] == false && l["value"] == 0.001),
        "{what}: duration chart lines {lines}"
    );
    assert_eq!(page["final"]["status"], "failed", "{what}");
}

const FAILING_PLAN: &str = r#"
vus = 3
duration = "6s"

[thresholds]
http_req_duration = ["p(95)<0.001"]
http_req_failed = ["rate<0.9"]

[[steps]]
url = "${TEST_SERVER}/get"
name = "home"
checks = [{ status = 200 }]

[[steps]]
group = "api"
steps = [{ url = "${TEST_SERVER}/status/404", name = "missing" }]

[[steps]]
sleep = "20ms"
"#;

#[test]
fn live_page_and_report_show_the_run_and_its_failed_threshold() {
    let test = "live_page_and_report_show_the_run_and_its_failed_threshold";
    if !browser_available(test) {
        return;
    }
    let run = run_watched(FAILING_PLAN, "live");
    assert_eq!(
        run.code,
        Some(99),
        "a failed threshold exits 99:\n{}",
        run.stderr
    );
    let live = &run.live;

    // Seen while the test was running, not only after it.
    let during = &live["duringRun"];
    assert_eq!(
        during["status"], "running",
        "live page during the run: {live}"
    );
    assert!(
        during["charts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| points(c) > 0),
        "no points while running: {during}"
    );
    assert_shows_the_run(live, &run.summary, "live page");
    assert_threshold_failed(live, "live page");
    assert_eq!(
        live["download"]["hidden"], false,
        "live page has the report link"
    );
    assert_eq!(live["download"]["href"], "../report");
    let rows = table_rows(live, "breakdown-name", "by-name");
    assert!(
        ["home", "missing"].iter().all(|name| rows
            .iter()
            .any(|r| r["data"]["key"].as_str().is_some_and(|k| k.contains(name)))),
        "per-endpoint table: {rows:?}"
    );
    let status = table_rows(live, "errors", "status");
    assert!(
        status.iter().any(|r| r["data"]["key"] == "404"),
        "status table: {status:?}"
    );
    let outputs = table_rows(live, "outputs", "outputs");
    assert!(
        outputs
            .iter()
            .any(|r| r["data"]["output"] == "web-dashboard"),
        "health table: {outputs:?}"
    );

    // The report, from disk, with the network blocked.
    let report = inspect_file(&run.dir.path().join("report.html"), "report");
    let requests: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        requests.iter().all(|u| u.starts_with("file:")),
        "the report made a request: {requests:?}"
    );
    assert_shows_the_run(&report, &run.summary, "report");
    assert_threshold_failed(&report, "report");
    assert_eq!(
        report["download"]["hidden"], true,
        "no report link in the report"
    );
    assert_eq!(
        report["download"]["href"],
        Value::Null,
        "the report links nothing"
    );
    // The same events drawn the same way: every chart with the same series and points.
    let shape = |page: &Value| -> Vec<(String, String)> {
        let mut v: Vec<_> = charts(page)
            .iter()
            .map(|c| (c["id"].to_string(), c["series"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(shape(live), shape(&report), "live page and report differ");
    // The end-of-test summary, with the failed threshold marked on its metric.
    let summary = table_rows(&report, "summary", "summary");
    let duration = summary
        .iter()
        .find(|r| r["data"]["metric"] == "http_req_duration")
        .unwrap_or_else(|| panic!("no http_req_duration in the summary tab: {summary:?}"));
    assert_eq!(duration["cells"][2], "✗ p(95)<0.001", "{duration}");
    assert!(
        summary.iter().any(|r| r["data"]["metric"] == "http_reqs"),
        "{summary:?}"
    );
    // On a phone's width: every chart fits, no tab scrolls sideways.
    let narrow = inspect_file_at(&run.dir.path().join("report.html"), "report-narrow", 390);
    let tabs = narrow["tabs"].as_object().cloned().unwrap_or_default();
    assert!(tabs.len() >= 7, "tabs seen: {:?}", tabs.keys());
    for (tab, seen) in &tabs {
        assert!(
            seen["pageWidth"].as_u64().is_some_and(|w| w <= 390),
            "tab {tab} is {} px wide at 390 px",
            seen["pageWidth"]
        );
    }
    for c in charts(&narrow) {
        assert!(
            c["width"].as_u64().is_some_and(|w| w > 0 && w <= 390),
            "chart {} is {} px wide at 390 px",
            c["id"],
            c["width"]
        );
    }
    let checks = table_rows(&report, "summary", "checks");
    assert!(
        checks.iter().any(|r| r["data"]["check"]
            .as_str()
            .is_some_and(|c| c.ends_with("status is 200"))),
        "{checks:?}"
    );
}

/// A stream whose server kept every one of 1,000 endpoints (a huge `topN`): the report built
/// from it by `loadrun report` still draws 10 keys plus "other" per chart and lists 100 rows.
#[test]
fn report_of_a_thousand_endpoints_stays_readable() {
    let test = "report_of_a_thousand_endpoints_stays_readable";
    if !browser_available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let fixture = Command::new("node")
        .arg(browser_dir().join("fixture.mjs"))
        .args(["--periods", "4", "--endpoints", "1000", "--top", "1000"])
        .output()
        .expect("run node fixture.mjs");
    assert!(
        fixture.status.success(),
        "{}",
        String::from_utf8_lossy(&fixture.stderr)
    );
    std::fs::write(&record, &fixture.stdout).unwrap();
    let report = dir.path().join("report.html");
    let out = Command::new(loadrun_bin())
        .arg("report")
        .arg(&record)
        .arg("-o")
        .arg(&report)
        .output()
        .expect("run loadrun report");
    assert!(
        out.status.success(),
        "loadrun report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = inspect_file(&report, "many-endpoints");
    assert_eq!(page["pageErrors"], serde_json::json!([]));
    assert_eq!(page["blocked"], serde_json::json!([]));
    assert_eq!(page["final"]["problems"], serde_json::json!([]));
    let rows = table_rows(&page, "breakdown-name", "by-name");
    assert_eq!(rows.len(), 100, "the per-endpoint table is capped");
    let notes = page["tabs"]["breakdown-name"]["notes"].to_string();
    assert!(
        notes.contains("showing 100 of 1,000 rows") || notes.contains("showing 100 of 1000 rows"),
        "{notes}"
    );
    let per_key = chart(&page, "by-name-reqs");
    let series = per_key["series"].as_array().unwrap();
    assert_eq!(series.len(), 10, "busiest keys drawn: {per_key}");
    assert!(series.iter().all(|s| s["points"] == 4), "{per_key}");
    // Sorted busiest first: the 100 shown are the top of the 1,000.
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| {
            let cell = r["cells"][1].as_str().unwrap_or_default();
            cell.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts[0] > counts[99], "{counts:?}");
}

const PASSING_PLAN: &str = r#"
vus = 2
duration = "2s"

[thresholds]
http_req_failed = ["rate<0.5"]

[[steps]]
url = "${TEST_SERVER}/get"
checks = [{ status = 200 }]

[[steps]]
sleep = "20ms"
"#;

/// A browser opened after the run (the server lingers) gets the whole run replayed: the same
/// count as the summary, every chart drawn, the passed verdict.
#[test]
fn a_page_opened_after_the_run_sees_all_of_it() {
    let test = "a_page_opened_after_the_run_sees_all_of_it";
    if !browser_available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PASSING_PLAN).unwrap();
    let export = dir.path().join("summary.json");
    let mut run = Reaped(
        Command::new(loadrun_bin())
            .current_dir(dir.path())
            .args(["run", "plan.toml", "--test-server", "--quiet"])
            .args(["-o", "web-dashboard=port=0,period=500ms,linger=true"])
            .arg("--summary-export")
            .arg(&export)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start loadrun"),
    );
    let run_err = BufReader::new(run.0.stderr.take().unwrap());
    let (url_tx, url_rx) = mpsc::channel();
    let run_log = std::thread::spawn(move || {
        let mut log = String::new();
        for line in run_err.lines().map_while(Result::ok) {
            // Printed once the run is over and only the dashboard is left serving.
            if let Some(rest) = line.split("still serving ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let _ = url_tx.send(url);
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let Ok(url) = url_rx.recv() else {
        drop(run);
        panic!("no lingering dashboard:\n{}", run_log.join().unwrap());
    };
    let out = inspect_cmd("after")
        .args(["--url", &url])
        .output()
        .expect("run node inspect.mjs");
    // Ctrl-C ends the lingering.
    let pid = run.0.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());
    let status = run.0.wait().expect("wait for loadrun");
    let stderr = run_log.join().unwrap();
    let node_stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "inspect.mjs failed:\n{node_stderr}");
    let page = parse_inspection(&out.stdout, &node_stderr);
    assert_eq!(status.code(), Some(0), "loadrun after Ctrl-C:\n{stderr}");
    assert_eq!(
        page["duringRun"],
        Value::Null,
        "the run was over: {}",
        page["duringRun"]
    );
    let summary = read_summary(&export);
    assert_shows_the_run(&page, &summary, "page opened after the run");
    assert_eq!(page["final"]["status"], "passed");
    // "Download report" leads to the report of the run.
    let fetched = &page["download"]["fetched"];
    assert_eq!(fetched["status"], 200, "{}", page["download"]);
    assert_eq!(fetched["embedsEvents"], true, "{}", page["download"]);
    let rows = table_rows(&page, "thresholds", "thresholds");
    assert!(
        rows.iter()
            .any(|r| r["data"]["expression"] == "rate<0.5" && r["data"]["ok"] == "true"),
        "{rows:?}"
    );
}
