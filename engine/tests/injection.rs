//! Request injection over HTTP/2 and to TLS targets: a value extracted from a response that
//! carries CR/LF is refused before any protocol sees it, with the same per-request error as on
//! HTTP/1.1 (no h2 protocol error, no connection error, no panic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::servers;
use loadrun_engine::EngineOptions;

mod common;

const HOSTILE: &str = "abc\r\nX-Evil: 1\r\n\r\nGET /smuggled";

/// A cleartext HTTP/2 (prior knowledge) server: `/login` answers a JSON token holding an
/// injection attempt, anything else `ok`. Every request's path and headers are kept.
fn h2c_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let port = servers::h2c_server(Arc::new(move |req: &http::request::Parts| {
        let mut line = req.uri.path_and_query().unwrap().to_string();
        for (k, v) in &req.headers {
            line.push_str(&format!(
                " | {k}: {}",
                String::from_utf8_lossy(v.as_bytes())
            ));
        }
        log.lock().unwrap().push(line);
        let body = if req.uri.path() == "/login" {
            serde_json::json!({ "tok": HOSTILE }).to_string()
        } else {
            "ok".to_string()
        };
        let resp = http::Response::builder().status(200).body(()).unwrap();
        (resp, bytes::Bytes::from(body))
    }));
    (port, seen)
}

fn run(plan: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let (rows, _) = common::run_plan(
        plan,
        &EngineOptions::default(),
        Duration::from_millis(50),
        Duration::from_secs(120),
    );
    rows.into_iter()
        .filter(|r| r.metric == "http_reqs")
        .map(|r| (r.metric, r.tags))
        .collect()
}

#[test]
fn over_http2_and_to_tls_targets_an_injected_value_is_the_same_clean_refusal() {
    let (port, seen) = h2c_server();
    // Nothing listens here: a request that got as far as connecting would fail with 1212.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plan = format!(
        r#"
httpVersion = "2"
[[steps]]
url = "http://127.0.0.1:{port}/login"
extract = [{{ var = "tok", json = "/tok" }}]
[[steps]]
url = "http://127.0.0.1:{port}/h"
headers = {{ X-Token = "${{tok}}" }}
[[steps]]
url = "http://127.0.0.1:{port}/u?t=${{tok}}"
[[steps]]
url = "http://127.0.0.1:{port}/q"
query = {{ t = "${{tok}}" }}
[[steps]]
url = "https://127.0.0.1:{closed}/tls"
headers = {{ X-Token = "${{tok}}" }}
[[steps]]
url = "https://127.0.0.1:{closed}/tls?t=${{tok}}"
"#
    );
    let reqs = run(&plan);
    let codes: Vec<&str> = reqs
        .iter()
        .map(|(_, t)| t.get("error_code").map(String::as_str).unwrap_or("-"))
        .collect();
    assert_eq!(
        codes,
        ["-", "1000", "1020", "-", "1000", "1020"],
        "{reqs:?}"
    );
    assert_eq!(reqs[1].1["status"], "0");
    assert_eq!(
        reqs[1].1["error"],
        "net/http: invalid header field value for \"X-Token\""
    );
    assert_eq!(reqs[3].1["proto"], "HTTP/2.0", "{:?}", reqs[3].1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].starts_with("/login"), "{seen:?}");
    assert!(
        seen[1].starts_with("/q?t=abc%0D%0AX-Evil%3A%201%0D%0A%0D%0AGET%20%2Fsmuggled"),
        "{seen:?}"
    );
    assert!(seen.iter().all(|l| !l.contains("x-evil")), "{seen:?}");
}
