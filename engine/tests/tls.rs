//! HTTPS through the engine against a local rustls server with a self-signed certificate
//! (made with the openssl CLI; the test SKIPs loudly without it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use common::servers::{h2_ok, h2c_server, https_server};
use loadrun_engine::EngineOptions;

mod common;

type Rows = Vec<(String, std::collections::BTreeMap<String, String>, f64)>;

fn run(url: &str, insecure: bool) -> Rows {
    run_with(url, insecure, "")
}

fn run_with(url: &str, insecure: bool, extra: &str) -> Rows {
    let plan = format!("iterations = 2\n{extra}\n[[steps]]\nurl = \"{url}\"\ntimeout = \"5s\"\nchecks = [{{ header = \"x-proto\", exists = true, name = \"h2 header\" }}]\n");
    let opts = EngineOptions {
        insecure_skip_tls_verify: insecure,
        ..Default::default()
    };
    let (rows, _) = common::run_plan(
        &plan,
        &opts,
        Duration::from_millis(50),
        Duration::from_secs(120),
    );
    rows.into_iter()
        .map(|r| (r.metric, r.tags, r.value))
        .collect()
}

#[test]
fn https_with_and_without_verification() {
    let dir = tempfile::tempdir().unwrap();
    let Some(port) = https_server(dir.path(), false) else {
        return;
    };
    let url = format!("https://localhost:{port}/");

    let rows = run(&url, true);
    let reqs: Vec<_> = rows.iter().filter(|r| r.0 == "http_reqs").collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].1["status"], "200");
    assert_eq!(reqs[0].1["tls_version"], "tls1.3");
    // One handshake: the second request reuses the connection.
    let hs: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "http_req_tls_handshaking")
        .map(|r| r.2)
        .collect();
    assert!(hs[0] > 0.0 && hs[1] == 0.0, "{hs:?}");

    let rows = run(&url, false);
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["error_code"], "1310", "{:?}", r.1);
    assert_eq!(r.1["status"], "0");
}

#[test]
fn http2_over_tls_by_alpn_and_h2c_by_prior_knowledge() {
    let dir = tempfile::tempdir().unwrap();
    let Some(port) = https_server(dir.path(), true) else {
        return;
    };
    // h2c: cleartext HTTP/2 with prior knowledge.
    let h2c_port = h2c_server(h2_ok("ok"));
    let rows = run_with(
        &format!("http://127.0.0.1:{h2c_port}/"),
        false,
        "httpVersion = \"2\"",
    );
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["proto"], "HTTP/2.0", "{:?}", r.1);
    assert_eq!(r.1["status"], "200");
    let rows = run(&format!("https://localhost:{port}/"), true);
    let reqs: Vec<_> = rows.iter().filter(|r| r.0 == "http_reqs").collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].1.get("proto").map(String::as_str),
        Some("HTTP/2.0"),
        "{:?}",
        reqs[0].1
    );
    assert_eq!(reqs[0].1["status"], "200");
    assert_eq!(reqs[0].1["tls_version"], "tls1.3");
    let checks: f64 = rows.iter().filter(|r| r.0 == "checks").map(|r| r.2).sum();
    assert_eq!(checks, 2.0);
    // One connection for both requests.
    let connecting: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "http_req_connecting")
        .map(|r| r.2)
        .collect();
    assert!(
        connecting[0] > 0.0 && connecting[1] == 0.0,
        "{connecting:?}"
    );
    // httpVersion = "1.1" keeps HTTP/1.1 even when the server offers h2.
    let rows = run_with(
        &format!("https://localhost:{port}/"),
        true,
        "httpVersion = \"1.1\"",
    );
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["proto"], "HTTP/1.1");
}
