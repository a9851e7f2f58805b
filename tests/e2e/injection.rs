//! Request injection, URL credentials and the redirect-limit warning, through the built binary.
//! The target is a raw socket server that keeps every byte it receives, so what reached the
//! wire is checked as bytes, not as some parser's reading of them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loadrun_test_support::loadrun_bin;

/// What a response from a target holding an injection attempt looks like: a token that would
/// end the header line, add `X-Evil` and start a second request.
const HOSTILE: &str = "abc\r\nX-Evil: 1\r\n\r\nGET /smuggled";

/// A loopback HTTP/1.1 server that records the raw bytes of every connection and answers
/// each request head with `answer(request line)`. It stops accepting after a minute.
struct RawServer {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
}

impl RawServer {
    fn start(answer: fn(&str) -> Vec<u8>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let rec = rec.clone();
                        std::thread::spawn(move || serve(conn, &rec, answer));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        RawServer { port, received }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn bytes(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(mut conn: TcpStream, rec: &Mutex<Vec<u8>>, answer: fn(&str) -> Vec<u8>) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    for _ in 0..10_000 {
        let n = match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        rec.lock().unwrap().extend_from_slice(&chunk[..n]);
        pending.extend_from_slice(&chunk[..n]);
        // The test requests have no body: every blank line ends one request.
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            let line = head.lines().next().unwrap_or("");
            if conn.write_all(&answer(line)).is_err() {
                return;
            }
        }
    }
}

fn response(status: u16, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The request line of every request head in `bytes`.
fn request_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\r\n\r\n")
        .filter(|h| !h.is_empty())
        .map(|h| h.split("\r\n").next().unwrap_or("").to_string())
        .collect()
}

/// No CR or LF outside CRLF line ends, no NUL: nothing a value could have injected.
fn assert_clean_framing(bytes: &[u8]) {
    assert!(!bytes.contains(&0), "NUL on the wire");
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => assert_eq!(bytes[i.saturating_sub(1)], b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
}

fn loadrun(dir: &Path, args: &[&str]) -> Output {
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

fn summary(dir: &Path) -> serde_json::Value {
    let t = std::fs::read_to_string(dir.join("s.json")).unwrap_or_default();
    serde_json::from_str(&t).unwrap_or(serde_json::Value::Null)
}

fn count(summary: &serde_json::Value, metric: &str) -> f64 {
    summary["metrics"][metric]["count"]
        .as_f64()
        .unwrap_or_else(|| panic!("no metrics[{metric:?}].count in {summary}"))
}

#[test]
fn an_extracted_value_with_crlf_never_reaches_the_wire() {
    let server = RawServer::start(|line| {
        if line.starts_with("GET /login ") {
            let body = serde_json::json!({ "tok": HOSTILE }).to_string();
            response(200, "Content-Type: application/json\r\n", &body)
        } else {
            response(200, "", "ok")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let base = server.base();
    let plan = format!(
        r#"
iterations = 2
[thresholds]
"http_reqs{{error_code:1020}}" = ["count>=0"]
"http_reqs{{error_code:1000}}" = ["count>=0"]
[[steps]]
url = "{base}/login"
extract = [{{ var = "tok", json = "/tok" }}]
[[steps]]
url = "{base}/in-url?t=${{tok}}"
[[steps]]
url = "{base}/in-header"
headers = {{ X-Token = "${{tok}}" }}
[[steps]]
url = "{base}/in-cookie"
headers = {{ Cookie = "t=${{tok}}" }}
[[steps]]
url = "{base}/in-query"
query = {{ t = "${{tok}}" }}
[[steps]]
url = "{base}/from-feed"
headers = {{ X-User = "${{users.name}}" }}
[data.users]
file = "users.csv"
"#
    );
    std::fs::write(dir.path().join("p.toml"), plan).unwrap();
    // A data feed is another way in: a quoted CSV field keeps its line break.
    std::fs::write(
        dir.path().join("users.csv"),
        format!("name\n\"{HOSTILE}\"\n"),
    )
    .unwrap();
    let out = loadrun(
        dir.path(),
        // The refusals are logged as warnings (shown with --quiet too).
        &[
            "run",
            "p.toml",
            "--no-summary",
            "--summary-export",
            "s.json",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let bytes = server.bytes();
    assert_clean_framing(&bytes);
    let wire = text(&bytes);
    assert!(!wire.contains("X-Evil: 1"), "{wire}");
    assert!(!wire.contains("GET /smuggled"), "{wire}");
    // Only the login and the query step (where the value is percent-encoded) were sent.
    let lines = request_lines(&bytes);
    assert_eq!(lines.len(), 4, "{lines:?}");
    for pair in lines.chunks(2) {
        assert_eq!(pair[0], "GET /login HTTP/1.1");
        assert_eq!(
            pair[1],
            "GET /in-query?t=abc%0D%0AX-Evil%3A%201%0D%0A%0D%0AGET%20%2Fsmuggled HTTP/1.1"
        );
    }

    // The refused ones are failed requests with k6's codes: 1020 for the URL, 1000 (Go's
    // "invalid header field value") for the three headers.
    let s = summary(dir.path());
    assert_eq!(count(&s, "http_reqs"), 12.0, "{s}");
    assert_eq!(count(&s, "http_reqs{error_code:1020}"), 2.0, "{s}");
    assert_eq!(count(&s, "http_reqs{error_code:1000}"), 6.0, "{s}");
    assert_eq!(s["metrics"]["http_req_failed"]["passes"], 8, "{s}");
    // One line per refused step, not one per request.
    assert_eq!(stderr.matches("request not sent").count(), 4, "{stderr}");
    assert!(
        stderr.contains("net/http: invalid header field value for \"X-Token\""),
        "{stderr}"
    );
    assert!(stderr.contains("invalid control character"), "{stderr}");
}

#[test]
fn a_header_with_crlf_from_the_command_line_is_refused_before_the_run() {
    let server = RawServer::start(|_| response(200, "", "ok"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/", server.base());
    for args in [
        vec!["-H", "X-A: b\r\nX-Evil: 1"],
        vec!["-H", "X-Evil: 1\r\nX-A: b"],
        vec!["-e", "T=a\r\nX-Evil: 1", "-H", "X-A: ${T}"],
    ] {
        let mut all = vec!["run", "--url", url.as_str(), "-i", "1", "--quiet"];
        all.extend(args.iter().copied());
        let out = loadrun(dir.path(), &all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(255), "{args:?}: {stderr}");
        assert!(stderr.contains("control character"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    // A URL with a CR/LF in it, on the command line.
    let bad = format!("{}/a\r\nX-Evil: 1", server.base());
    let out = loadrun(dir.path(), &["run", "--url", &bad, "-i", "1", "--quiet"]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.bytes().is_empty(), "{}", text(&server.bytes()));
}

#[test]
fn url_credentials_are_sent_as_basic_auth_and_masked_in_the_banner() {
    let server = RawServer::start(|_| response(200, "", "ok"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://us%65r:S3cr%40tPw@127.0.0.1:{}/private", server.port);
    let out = loadrun(dir.path(), &["run", "--url", &url, "-i", "1"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let wire = text(&server.bytes());
    // base64("user:S3cr@tPw"): the userinfo percent-decoded, as Go sends it.
    assert!(
        wire.contains("\r\nAuthorization: Basic dXNlcjpTM2NyQHRQdw==\r\n"),
        "{wire}"
    );
    assert!(wire.starts_with("GET /private HTTP/1.1\r\n"), "{wire}");
    assert!(
        stdout.contains(&format!(
            "http://us%65r:***@127.0.0.1:{}/private",
            server.port
        )),
        "{stdout}"
    );
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains("S3cr"), "{shown}");
    }
}

#[test]
fn a_redirect_loop_is_warned_about_once_per_run() {
    let server = RawServer::start(|_| response(302, "Location: /loop\r\n", ""));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/loop", server.base());
    let out = loadrun(
        dir.path(),
        &[
            "run",
            "--url",
            &url,
            "-u",
            "2",
            "-i",
            "4",
            "--no-summary",
            "--summary-export",
            "s.json",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warning = "Stopped after 10 redirects and returned the redirection";
    assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    // k6's default limit: the first request and 10 redirects, per iteration.
    assert_eq!(count(&summary(dir.path()), "http_reqs"), 44.0);

    // Set explicitly (k6: `redirects`/`maxRedirects`), the limit is not warned about.
    std::fs::write(
        dir.path().join("p.toml"),
        format!("iterations = 1\nmaxRedirects = 3\n[[steps]]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let out = loadrun(dir.path(), &["run", "p.toml", "--no-summary"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Stopped after"), "{stderr}");
}

/// `--quiet` hides the banner and progress, as k6's `-q` does, not the warnings: a refused
/// request and the redirect limit are still said, and the summary counts the refused requests
/// (their warning is logged once per step).
#[test]
fn quiet_keeps_the_refusal_and_redirect_warnings_and_the_summary_counts_refusals() {
    let server = RawServer::start(|line| {
        if line.starts_with("GET /login ") {
            let body = serde_json::json!({ "tok": HOSTILE }).to_string();
            response(200, "Content-Type: application/json\r\n", &body)
        } else if line.starts_with("GET /loop ") {
            response(302, "Location: /loop\r\n", "")
        } else {
            response(200, "", "ok")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let base = server.base();
    let plan = format!(
        r#"
iterations = 3
[[steps]]
url = "{base}/login"
extract = [{{ var = "tok", json = "/tok" }}]
[[steps]]
url = "{base}/in-header"
headers = {{ X-Token = "${{tok}}" }}
[[steps]]
url = "{base}/loop"
"#
    );
    std::fs::write(dir.path().join("p.toml"), plan).unwrap();
    let out = loadrun(dir.path(), &["run", "p.toml", "--quiet"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("request not sent").count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("Stopped after 10 redirects").count(),
        1,
        "{stderr}"
    );
    assert!(
        stdout.contains("3 requests refused before sending"),
        "{stdout}"
    );
    // Quiet still: no banner.
    assert!(!stdout.contains("execution: local"), "{stdout}");
}
