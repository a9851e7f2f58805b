//! `grafana-cloud` against a real Prometheus (which ignores Basic auth), and against a local
//! recording server to check the exact bytes of the headers Grafana Cloud authenticates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use loadrun_plugin_api::testkit::{completed_outcome, init, now_ns, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::services::Service;
use out_grafana_cloud::GrafanaCloudPlugin;

const TOKEN: &str = "glc_eyJrIjoiZmFrZSJ9";

fn batch(n: usize) -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[("method", "GET"), ("status", "200")], &[]);
    let t = now_ns() - 5_000_000_000;
    for i in 0..n {
        b.sample(s, t + i as i64 * 1_000_000, 1.0);
    }
    b
}

fn env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("GRAFANA_CLOUD_PROMETHEUS_URL", url),
        ("GRAFANA_CLOUD_INSTANCE_ID", "123456"),
        ("GRAFANA_CLOUD_TOKEN", TOKEN),
    ]
}

#[test]
fn pushes_to_prometheus_with_a_testid_label() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let rw = svc.var("PROMETHEUS_RW_URL").to_string();
    let (mut out, rec) = started::<GrafanaCloudPlugin>(init("grafana-cloud", None, "", &env(&rw)));
    let b = batch(37);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert!(rec.logs().is_empty(), "{:?}", rec.logs());

    let body = loadrun_test_support::http_get::get_text(
        &format!("{base}/api/v1/query"),
        &[("query", r#"k6_http_reqs_total{testid="test-run-1"}"#)],
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let r = v["data"]["result"].as_array().unwrap();
    assert_eq!(r.len(), 1, "{body}");
    assert_eq!(r[0]["value"][1], "37");
    assert_eq!(r[0]["metric"]["method"], "GET");
}

/// Accepts one request, answers 204, hands over the request head and body.
fn record_one() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/prom/push", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut r = BufReader::new(conn.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap();
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        (&conn)
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        tx.send((head, body)).unwrap();
    });
    (url, rx)
}

#[test]
fn exact_auth_and_protocol_headers_even_with_extra_headers() {
    let (url, rx) = record_one();
    let mut e = env(&url);
    e.push(("K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID", "tenant-1"));
    let (mut out, rec) =
        started::<GrafanaCloudPlugin>(init("grafana-cloud", Some("testId=run-7"), "", &e));
    assert_eq!(out.write(batch(3).batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let (head, body) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "POST /api/prom/push HTTP/1.1");
    for want in [
        // base64("123456:" + TOKEN), computed independently
        "Authorization: Basic MTIzNDU2OmdsY19leUpySWpvaVptRnJaU0o5",
        "Content-Encoding: snappy",
        "Content-Type: application/x-protobuf",
        "X-Prometheus-Remote-Write-Version: 0.1.0",
        "X-Scope-OrgID: tenant-1",
    ] {
        // Header names are case-insensitive (k6, in Go, sends `X-Scope-Orgid`); values are not.
        let (name, value) = want.split_once(": ").unwrap();
        assert!(
            lines.iter().any(|l| l
                .split_once(": ")
                .is_some_and(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)),
            "{want:?} missing in\n{head}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("User-Agent: loadrun-prometheus-rw-output/")),
        "{head}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("Authorization"))
            .count(),
        1
    );
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("k6_http_reqs_total"));
    assert!(
        text.contains("testid") && text.contains("run-7"),
        "{text:?}"
    );
    let logs = format!("{:?}", rec.logs());
    assert!(!logs.contains(TOKEN));
}

#[test]
fn the_token_is_never_shown() {
    // Wrong URL scheme and missing pieces: errors name the variable, never the token.
    let bad = init(
        "grafana-cloud",
        None,
        "",
        &[
            ("GRAFANA_CLOUD_PROMETHEUS_URL", "ftp://x/"),
            ("GRAFANA_CLOUD_INSTANCE_ID", "1"),
            ("GRAFANA_CLOUD_TOKEN", TOKEN),
        ],
    );
    let e = GrafanaCloudPlugin::new_output(bad).err().unwrap();
    assert!(!e.message.contains(TOKEN), "{e}");
    let missing = init(
        "grafana-cloud",
        None,
        "",
        &[(
            "GRAFANA_CLOUD_PROMETHEUS_URL",
            "https://p.grafana.net/api/prom/push",
        )],
    );
    let e = GrafanaCloudPlugin::new_output(missing).err().unwrap();
    assert!(e.message.contains("GRAFANA_CLOUD_INSTANCE_ID"), "{e}");
    let docs = GrafanaCloudPlugin::outputs();
    let token = docs[0].options.iter().find(|o| o.name == "token").unwrap();
    assert!(token.secret);
}
