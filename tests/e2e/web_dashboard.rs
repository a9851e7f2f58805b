//! `-o web-dashboard` through the `loadrun` binary: the SSE stream read by a plain HTTP client
//! during a run (order, replay to a late client, the end after `stop`), the record, the report
//! (self-contained, rebuilt identically by `loadrun report`), the `.gz` variants, a taken port,
//! `port=-1`, `K6_WEB_DASHBOARD=true` with k6's variable names, and a process that exits while
//! a browser's stream is still open. The page itself is tested in Chromium (dashboard_browser).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use loadrun_test_support::loadrun_bin;
use serde_json::Value;

use crate::support::{quick_run, read_summary};

/// How long a run may take before the test calls it hung (a guard, not a measurement).
const HUNG: Duration = Duration::from_secs(120);

/// A `loadrun run` in the background, with its stderr read line by line.
struct Background {
    child: Child,
    dir: tempfile::TempDir,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn start(duration: &str, dashboard: &str, env: &[(&str, &str)]) -> Background {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(loadrun_bin());
        cmd.current_dir(dir.path())
            .args(["run", "--test-server", "--url", "${TEST_SERVER}/"])
            .args(["-u", "2", "-d", duration, "--rate", "50", "--quiet"])
            .arg("--summary-export")
            .arg(dir.path().join("summary.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if !dashboard.is_empty() {
            cmd.args(["-o", dashboard]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("run loadrun");
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            dir,
            stderr: rx,
            seen: Vec::new(),
        }
    }

    /// The URL the dashboard printed (`web dashboard: URL`), or `None` if stderr ended first.
    fn url(&mut self) -> Option<String> {
        loop {
            let line = self.stderr.recv_timeout(HUNG).ok()?;
            self.seen.push(line.clone());
            if let Some(u) = line.strip_prefix("web dashboard: ") {
                return Some(u.trim().to_string());
            }
        }
    }

    /// Waits for the exit (failing if the process hangs); the exit code and all of stderr.
    fn finish(mut self) -> (i32, String, tempfile::TempDir) {
        let give_up = std::time::Instant::now() + HUNG;
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if std::time::Instant::now() > give_up {
                let _ = self.child.kill();
                panic!("loadrun did not exit; stderr so far: {:?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        (code, self.seen.join("\n"), self.dir)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Event {
    name: String,
    data: Value,
}

/// `host:port` of a dashboard URL.
fn authority(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    rest[..rest.find('/').unwrap()].to_string()
}

/// Opens `/events` and sends each event as it arrives; the channel closes at the end of the
/// stream. The response head is checked first.
fn subscribe(authority: &str) -> mpsc::Receiver<Event> {
    let mut s = TcpStream::connect(authority).unwrap();
    write!(
        s,
        "GET /events HTTP/1.1\r\nHost: {authority}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut head = String::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            if l == "\r\n" {
                break;
            }
            head.push_str(&l);
        }
        assert!(head.contains("Content-Type: text/event-stream"), "{head}");
        let (mut name, mut data, mut retry) = (String::new(), String::new(), false);
        for line in r.lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                data = d.to_string();
            } else if line == "retry: 2147483647" {
                retry = true;
            } else if line.is_empty() && !name.is_empty() {
                // The browser must not reconnect after `stop`: it says so in that event.
                assert_eq!(retry, name == "stop", "retry field on {name}");
                let data = serde_json::from_str(&data).unwrap();
                if tx
                    .send(Event {
                        name: std::mem::take(&mut name),
                        data,
                    })
                    .is_err()
                {
                    break;
                }
                retry = false;
            }
        }
    });
    rx
}

/// Every event until the stream ends.
fn drain(rx: &mpsc::Receiver<Event>, mut into: Vec<Event>) -> Vec<Event> {
    while let Ok(e) = rx.recv_timeout(HUNG) {
        into.push(e);
    }
    into
}

fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

/// EVENTS.md's order: config, start, then per period [metric] snapshot cumulative threshold
/// health, and stop last.
fn assert_order(events: &[Event]) {
    let n = names(events);
    assert_eq!(n[..2], ["config", "start"], "{n:?}");
    assert_eq!(n.last(), Some(&"stop"), "{n:?}");
    let mut i = 2;
    let mut periods = 0;
    while i < n.len() - 1 {
        if n[i] == "metric" {
            i += 1;
        }
        assert_eq!(
            n[i..i + 4],
            ["snapshot", "cumulative", "threshold", "health"],
            "at {i}: {n:?}"
        );
        i += 4;
        periods += 1;
    }
    assert!(periods >= 1, "{n:?}");
    let first_metric = n.iter().position(|x| *x == "metric").unwrap();
    let first_snapshot = n.iter().position(|x| *x == "snapshot").unwrap();
    assert!(first_metric < first_snapshot, "{n:?}");
}

fn recorded(path: &Path) -> Vec<Event> {
    let text = if path.extension().is_some_and(|e| e == "gz") {
        gunzip(path)
    } else {
        std::fs::read_to_string(path).unwrap()
    };
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Event {
                name: v["event"].as_str().unwrap().to_string(),
                data: v["data"].clone(),
            }
        })
        .collect()
}

fn gunzip(path: &Path) -> String {
    let out = Command::new("gzip").arg("-dc").arg(path).output().unwrap();
    assert!(out.status.success(), "gzip -d {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}

/// Every `src=`/`href=` in a tag (what a browser would fetch or follow), lower-cased.
fn fetched_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut refs = Vec::new();
    let mut rest = lower.as_str();
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let end = after.find('>').unwrap_or(after.len());
        let tag = &after[..end];
        // Inline script bodies are text, not tags; `<script>` itself has no attribute then.
        for attr in ["src", "href", "action", "poster", "data"] {
            let mut t = tag;
            while let Some(i) = t.find(attr) {
                let before = t[..i].chars().last();
                let v = t[i + attr.len()..].trim_start();
                if before.is_some_and(char::is_whitespace) && v.starts_with('=') {
                    let v = v[1..].trim_start().trim_start_matches(['"', '\'']);
                    refs.push(v.chars().take_while(|c| !"\"' >".contains(*c)).collect());
                }
                t = &t[i + attr.len()..];
            }
        }
        rest = &after[end.min(after.len())..];
    }
    refs
}

fn assert_self_contained(html: &str) {
    assert!(
        html.contains("window.LOADRUN_EVENTS="),
        "no events embedded"
    );
    for r in fetched_references(html) {
        assert!(
            !(r.starts_with("http:") || r.starts_with("https:") || r.starts_with("//")),
            "the report fetches {r}"
        );
        // Relative references would be files beside the report: none may be needed.
        assert!(
            r.starts_with('#') || r.starts_with("data:") || r.is_empty(),
            "the report refers to {r}"
        );
    }
}

fn loadrun_report(events: &Path, out: &Path) -> (i32, String) {
    let o = Command::new(loadrun_bin())
        .arg("report")
        .arg(events)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn http_status(authority: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(authority).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}

#[test]
fn live_stream_replay_record_and_report() {
    let mut run = Background::start(
        "4s",
        "web-dashboard=port=0,period=500ms,export=report.html,record=events.ndjson",
        &[],
    );
    let url = run.url().expect("the dashboard prints its URL");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/ui/"),
        "{url}"
    );
    let auth = authority(&url);
    // The page and its assets are served while the test runs.
    let page = http_status(&auth, "/ui/").unwrap();
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("text/html"),
        "{page}"
    );
    assert!(http_status(&auth, "/").unwrap().contains("Location: /ui/"));
    assert!(http_status(&auth, "/nope")
        .unwrap()
        .starts_with("HTTP/1.1 404"));
    let live_report = http_status(&auth, "/report").unwrap();
    assert!(live_report.starts_with("HTTP/1.1 200"), "{live_report}");

    let early = subscribe(&auth);
    // A client that connects after several periods gets the whole run replayed.
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|e: &&Event| e.name == "cumulative")
        .count()
        < 3
    {
        seen.push(early.recv_timeout(HUNG).expect("periods keep coming"));
    }
    let late = subscribe(&auth);
    let early_all = drain(&early, seen);
    let late_all = drain(&late, Vec::new());
    let (code, stderr, dir) = run.finish();
    assert_eq!(code, 0, "{stderr}");

    assert_order(&early_all);
    assert_eq!(
        names(&late_all),
        names(&early_all),
        "the late client's replay"
    );
    assert_eq!(late_all, early_all);
    // After stop the server is gone: a reconnecting browser gets nothing new.
    match TcpStream::connect(&auth) {
        Err(_) => {}
        Ok(_) => {
            let again = drain(&subscribe(&auth), Vec::new());
            assert!(again.is_empty(), "events after stop: {:?}", names(&again));
        }
    }

    let summary = read_summary(&dir.path().join("summary.json"));
    let reqs = summary["metrics"]["http_reqs"]["count"].as_f64().unwrap();
    assert!(reqs > 0.0);
    let last_cumulative = early_all
        .iter()
        .rev()
        .find(|e| e.name == "cumulative")
        .unwrap();
    assert_eq!(
        last_cumulative.data["metrics"]["http_reqs"]["count"].as_f64(),
        Some(reqs)
    );
    // The per-endpoint groups add up to the total.
    let by_name: f64 = last_cumulative.data["groups"]["name"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["metrics"]["http_reqs"]["count"].as_f64().unwrap())
        .sum();
    assert_eq!(by_name, reqs);
    let stop = early_all.last().unwrap();
    assert_eq!(stop.data["reason"], "completed");
    assert_eq!(
        stop.data["summary"]["metrics"]["http_reqs"]["count"].as_f64(),
        Some(reqs)
    );
    assert!(stop.data["summary"]["text"]
        .as_str()
        .unwrap()
        .contains("http_reqs"));
    let health = early_all.iter().rev().find(|e| e.name == "health").unwrap();
    assert_eq!(health.data[0]["output"], "web-dashboard", "{}", health.data);

    // The record holds exactly what was streamed.
    assert_eq!(recorded(&dir.path().join("events.ndjson")), early_all);

    let report = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_self_contained(&report);
    let rebuilt = dir.path().join("rebuilt.html");
    let (code, err) = loadrun_report(&dir.path().join("events.ndjson"), &rebuilt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&rebuilt).unwrap(), report);
}

#[test]
fn gz_variants_and_no_server() {
    let run = quick_run(
        "/",
        1,
        "1s",
        &[],
        &[
            "--rate",
            "20",
            "-o",
            "web-dashboard=port=-1,export=report.html.gz,record=events.ndjson.gz",
        ],
        &[],
    );
    run.assert_clean();
    assert!(
        !run.stderr().contains("web dashboard:"),
        "port=-1 serves nothing: {}",
        run.stderr()
    );
    let dir = run.dir.path();
    let events = recorded(&dir.join("events.ndjson.gz"));
    assert_order(&events);
    // A run shorter than the period still has its snapshot, taken at stop.
    assert!(names(&events).contains(&"snapshot"));
    let report = gunzip(&dir.join("report.html.gz"));
    assert_self_contained(&report);
    let rebuilt = dir.join("rebuilt.html");
    let (code, err) = loadrun_report(&dir.join("events.ndjson.gz"), &rebuilt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&rebuilt).unwrap(), report);
}

#[test]
fn a_bad_record_is_one_line_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("e.ndjson");
    std::fs::write(&events, "{\"event\":\"start\",\"data\":{}}\n{\"event\":\n").unwrap();
    let (code, err) = loadrun_report(&events, &dir.path().join("r.html"));
    assert_eq!(code, 255);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}:2:", events.display())), "{err}");
    assert!(!dir.path().join("r.html").exists());
}

#[test]
fn a_taken_port_is_a_warning_and_the_run_goes_on() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let run = quick_run(
        "/",
        1,
        "1s",
        &[],
        &[
            "--rate",
            "20",
            "-o",
            &format!("web-dashboard=port={port},export=report.html"),
        ],
        &[],
    );
    run.assert_clean();
    assert!(
        run.stderr().contains("cannot listen on 127.0.0.1:"),
        "{}",
        run.stderr()
    );
    assert!(run.dir.path().join("report.html").exists());
}

#[test]
fn k6_environment_enables_it_on_loopback() {
    let mut run = Background::start(
        "1s",
        "",
        &[
            ("K6_WEB_DASHBOARD", "true"),
            ("K6_WEB_DASHBOARD_PORT", "0"),
            ("K6_WEB_DASHBOARD_PERIOD", "200ms"),
            ("K6_WEB_DASHBOARD_EXPORT", "from-env.html"),
            ("K6_WEB_DASHBOARD_RECORD", "from-env.ndjson"),
        ],
    );
    let url = run
        .url()
        .expect("K6_WEB_DASHBOARD=true starts the dashboard");
    // Loopback unless K6_WEB_DASHBOARD_HOST says otherwise.
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (code, stderr, dir) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    let events = recorded(&dir.path().join("from-env.ndjson"));
    assert_order(&events);
    assert_eq!(events[0].data["periodMs"], 200);
    assert!(dir.path().join("from-env.html").exists());
}

#[test]
fn an_open_stream_does_not_keep_the_process_alive() {
    let mut run = Background::start("1s", "web-dashboard=port=0,period=200ms", &[]);
    let url = run.url().unwrap();
    // A browser tab: connected, reading nothing.
    let auth = authority(&url);
    let mut tab = TcpStream::connect(&auth).unwrap();
    write!(tab, "GET /events HTTP/1.1\r\nHost: {auth}\r\n\r\n").unwrap();
    let (code, stderr, _dir) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    // And the server ended the stream: the tab reads to the end.
    tab.set_read_timeout(Some(HUNG)).unwrap();
    let mut text = String::new();
    tab.read_to_string(&mut text).unwrap();
    assert!(text.contains("event: stop\n"), "{text}");
}

#[test]
fn linger_keeps_serving_until_ctrl_c() {
    let mut run = Background::start("1s", "web-dashboard=port=0,period=200ms,linger=true", &[]);
    let url = run.url().unwrap();
    // After the summary: still serving, and says so.
    loop {
        let line = run.stderr.recv_timeout(HUNG).expect("the linger notice");
        run.seen.push(line.clone());
        if line.contains("still serving") {
            break;
        }
    }
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "exited while lingering"
    );
    // A browser connecting now gets the whole run, stop included, and the stream ends.
    let events = drain(&subscribe(&authority(&url)), Vec::new());
    assert_order(&events);
    let kill = Command::new("kill")
        .args(["-INT", &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (code, stderr, _dir) = run.finish();
    assert_eq!(code, 0, "{stderr}");
}

/// `tags=` adds a grouping tag to the defaults, and `open=true` hands the page's URL to
/// `xdg-open` (a stand-in on PATH here, which writes down what it was given).
#[test]
fn extra_group_tags_and_opening_the_browser() {
    let bin = tempfile::tempdir().unwrap();
    let opened = bin.path().join("opened.txt");
    let opener = bin.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = quick_run(
        "/",
        1,
        "1s",
        &[],
        &[
            "--rate",
            "20",
            "-o",
            "web-dashboard=port=0,open=true,tags=method,record=events.ndjson",
        ],
        &[("PATH", path.as_str())],
    );
    run.assert_clean();
    let events = recorded(&run.dir.path().join("events.ndjson"));
    let config = &events[0].data;
    assert!(
        config["groupBy"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "method"),
        "{config}"
    );
    let last = events
        .iter()
        .rev()
        .find(|e| e.name == "cumulative")
        .unwrap();
    let by_method = last.data["groups"]["method"].as_array().unwrap();
    let get = by_method.iter().find(|g| g["key"] == "GET").unwrap();
    let summary = read_summary(&run.dir.path().join("summary.json"));
    assert_eq!(
        get["metrics"]["http_reqs"]["count"].as_f64(),
        summary["metrics"]["http_reqs"]["count"].as_f64(),
        "{get}"
    );
    // The opener is reaped aside; give it a moment to have written.
    let mut url = String::new();
    for _ in 0..50 {
        url = std::fs::read_to_string(&opened).unwrap_or_default();
        if !url.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/ui/"),
        "xdg-open got {url:?}"
    );
}
