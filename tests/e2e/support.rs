//! Running the built `loadrun` binary as a user would, for the topic modules.

use std::path::PathBuf;
use std::process::{Command, Output};

use loadrun_test_support::{loadrun_bin, plugin_path};

/// What one `loadrun run` left behind.
pub struct Run {
    pub output: Output,
    /// The `--summary-export` JSON (k6's legacy shape plus `outputs`).
    pub summary: serde_json::Value,
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).to_string()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).to_string()
    }

    /// `metrics.NAME.FIELD` of the summary export (e.g. `http_reqs`, `count`).
    pub fn metric(&self, name: &str, field: &str) -> f64 {
        self.summary["metrics"][name][field]
            .as_f64()
            .unwrap_or_else(|| panic!("no metrics.{name}.{field} in {}", self.summary))
    }

    /// The self-metrics of one output (`outputs.outputs[i]` with that name).
    pub fn output_report(&self, name: &str) -> serde_json::Value {
        self.summary["outputs"]["outputs"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no output report for {name} in {}", self.summary))
    }

    /// Asserts the run exited 0 and every output's counts add up with nothing dropped.
    pub fn assert_clean(&self) {
        assert!(
            self.output.status.success(),
            "loadrun failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        );
        for o in self.summary["outputs"]["outputs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let received = o["received"].as_u64().unwrap_or(0);
            let written = o["written"].as_u64().unwrap_or(0);
            let dropped: u64 = [
                "queue_full",
                "retries_exhausted",
                "fatal",
                "shutdown",
                "rejected",
                "lost",
            ]
            .iter()
            .map(|k| o["dropped"][k].as_u64().unwrap_or(0))
            .sum();
            assert_eq!(received, written + dropped, "counts do not add up: {o}");
            assert_eq!(
                dropped,
                0,
                "output dropped samples: {o}\nstderr:\n{}",
                self.stderr()
            );
        }
    }
}

/// `loadrun run --test-server --url ${TEST_SERVER}/PATH -u VUS -d DURATION --quiet` plus
/// `args`, loading the built plugins named in `plugins`, with a summary export.
pub fn quick_run(
    path: &str,
    vus: u32,
    duration: &str,
    plugins: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    run_with_screen(path, vus, duration, plugins, args, env, false)
}

/// [`quick_run`] without `--quiet`: the banner, progress and summary are printed too.
pub fn loud_run(
    path: &str,
    vus: u32,
    duration: &str,
    plugins: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    run_with_screen(path, vus, duration, plugins, args, env, true)
}

fn run_with_screen(
    path: &str,
    vus: u32,
    duration: &str,
    plugins: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
    loud: bool,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let mut cmd = Command::new(loadrun_bin());
    cmd.current_dir(dir.path())
        .arg("run")
        .arg("--test-server")
        .args(["--url", &format!("${{TEST_SERVER}}{path}")])
        .args(["-u", &vus.to_string(), "-d", duration])
        .args(if loud { None } else { Some("--quiet") })
        .arg("--summary-export")
        .arg(&export);
    for p in plugins {
        cmd.arg("--plugin").arg(plugin_path(p));
    }
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run loadrun");
    let summary = read_summary(&export);
    Run {
        output,
        summary,
        dir,
    }
}

/// A path inside the run's folder.
/// A `--summary-export` file as JSON; `Null` when the run wrote none (or not valid JSON).
pub fn read_summary(path: &std::path::Path) -> serde_json::Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null)
}

pub fn in_dir(run: &Run, name: &str) -> PathBuf {
    run.dir.path().join(name)
}

/// A minimal HTTP/1.0 client for reading back from test servers (the e2e crate has no HTTP
/// client dependency): `(status, body)`. HTTP/1.0 so the server answers without chunking and
/// closes the connection at the end of the body.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http:// URL: {url}"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut conn = std::net::TcpStream::connect(authority).unwrap_or_else(|e| panic!("{url}: {e}"));
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    conn.write_all(req.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status from {url}: {head}"));
    (status, body.to_string())
}

/// `GET url?k=v&…` returning the body as JSON; panics unless the status is 2xx.
pub fn get_json(url: &str, query: &[(&str, &str)]) -> serde_json::Value {
    let mut full = url.to_string();
    for (i, (k, v)) in query.iter().enumerate() {
        full.push(if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        });
        full.push_str(&format!("{}={}", url_encode(k), url_encode(v)));
    }
    let (status, body) = http("GET", &full, &[], b"");
    assert!(
        (200..300).contains(&status),
        "GET {full}: HTTP {status}: {body}"
    );
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {full}: {e}: {body}"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn url_encode(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(s, ESCAPED).to_string()
}
