//! How `transport=api` answers Datadog's error statuses. No local server produces 429/403/400
//! on demand, so a minimal HTTP responder stands in for those answers only (success paths are
//! tested against VictoriaMetrics).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, Plugin, ValueKind, WriteStatus};
use out_datadog::DatadogPlugin;

const KEY: &str = "abcdef0123456789-secret";

/// Answers each request with the next canned response; sends (headers, body) of each request.
fn responder(responses: Vec<&'static str>) -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for resp in responses {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let _ = tx.send((head, body));
            let mut s = stream;
            s.write_all(resp.as_bytes()).unwrap();
        }
    });
    (url, rx)
}

fn batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    b.sample(s, 1, 1.0);
    b
}

#[test]
fn rate_limit_is_retried_after_the_server_says_then_delivered() {
    let (url, rx) = responder(vec![
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ]);
    let arg =
        format!("transport=api,apiVersion=1,endpoint={url},pushInterval=1ms,gzip=false,host=h");
    let (mut out, _rec) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));
    std::thread::sleep(Duration::from_millis(5));
    let b = batch();
    // Folded and pushed; the 429 keeps the body.
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    let (head, body) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("POST /api/v1/series HTTP/1.1"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("dd-api-key: {KEY}").to_ascii_lowercase()));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["series"][0]["metric"], "k6.http_reqs");
    assert_eq!(v["series"][0]["type"], "count");
    // The next batch is refused with the server's delay.
    let status = out.write(BatchBuilder::new().batch());
    match (status.is_retry(), status.retry_delay()) {
        (true, Some(after)) => {
            let ms = after.as_millis();
            assert!((1500..=2000).contains(&ms), "{ms}")
        }
        _ => panic!("{status:?}"),
    }
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let (_, again) = rx.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(again, body);
}

#[test]
fn a_refused_key_is_fatal_and_never_printed() {
    let (url, _rx) = responder(vec![
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 25\r\nConnection: close\r\n\r\n{\"errors\":[\"Forbidden\"]}",
    ]);
    let arg = format!("transport=api,apiVersion=1,endpoint={url},pushInterval=1ms");
    let (mut out, _rec) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));
    std::thread::sleep(Duration::from_millis(5));
    match out.write(batch().batch()) {
        WriteStatus::Fatal(e) => {
            assert!(e.message.contains("403"), "{e}");
            assert!(!e.message.contains(KEY));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_request_is_dropped_counted_and_logged_once() {
    let (url, _rx) = responder(vec![
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 29\r\nConnection: close\r\n\r\n{\"errors\":[\"Malformed JSON\"]}",
    ]);
    let arg = format!("transport=api,apiVersion=1,endpoint={url},pushInterval=1ms");
    let (mut out, rec) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(out.write(batch().batch()), WriteStatus::Ok);
    assert_eq!(rec.counter("rejected_payloads"), 1);
    // In samples, so the host takes them out of `written`.
    assert_eq!(rec.counter("samples_rejected"), 1);
    let logs = rec.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].1.contains("Malformed JSON") && !logs[0].1.contains(KEY));
}

#[test]
fn api_needs_a_key_and_debug_hides_it() {
    let err = DatadogPlugin::new_output(init("datadog", Some("transport=api"), "{}", &[]))
        .err()
        .unwrap();
    assert!(err.message.contains("DD_API_KEY"));
    let cfg = out_datadog::parse_config(&init(
        "datadog",
        Some("transport=api,apiVersion=1,site=eu"),
        "{}",
        &[("DD_API_KEY", KEY)],
    ))
    .unwrap();
    let text = format!("{cfg:?}");
    assert!(
        !text.contains(KEY) && text.contains("https://api.datadoghq.eu/api/v1/series"),
        "{text}"
    );
}

/// Three 500s, as the reliability suite's fault: the host's own backoff paces the retries (no
/// delay of this output's making, which used to outgrow `retryMaxElapsed`), every answer to the
/// failure carries the same reason, and the body is delivered once the server recovers.
#[test]
fn server_errors_leave_the_backoff_to_the_host_with_one_reason() {
    let err = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"error\":\"boom\"}";
    let (url, rx) = responder(vec![
        err,
        err,
        err,
        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ]);
    let arg =
        format!("transport=api,apiVersion=1,endpoint={url},pushInterval=1ms,gzip=false,host=h");
    let (mut out, rec) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));
    std::thread::sleep(Duration::from_millis(5));
    // Folded and pushed; the 500 keeps the body.
    assert_eq!(out.write(batch().batch()), WriteStatus::Ok);
    let (_, first) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let next = batch();
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let status = out.write(next.batch());
        let Some(reason) = status.retry_reason() else {
            panic!("{status:?}")
        };
        assert_eq!(status.retry_delay(), None);
        reasons.push(reason.to_string());
        let (_, again) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(again, first);
    }
    assert_eq!(reasons[0], reasons[1]);
    assert!(
        reasons[0].contains("HTTP 500") && reasons[0].contains(&url),
        "{}",
        reasons[0]
    );
    // The host's next try: the kept body goes, then the batch is taken.
    assert_eq!(out.write(next.batch()), WriteStatus::Ok);
    let (_, delivered) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(delivered, first);
    assert_eq!(rec.counter("samples_lost"), 0);
    assert_eq!(rec.counter("samples_rejected"), 0);
}

/// The shared HTTP client's options, which every HTTP output has.
#[test]
fn the_series_api_goes_through_the_configured_proxy() {
    // Whether the client tunnels (CONNECT) or forwards, the proxy is asked for Datadog's host.
    let (proxy, rx) = responder(vec![
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ]);
    let arg = format!(
        "transport=api,apiVersion=1,endpoint=http://datadog.invalid:8080,proxy={proxy},pushInterval=1ms"
    );
    let (mut out, _rec) =
        started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));
    std::thread::sleep(Duration::from_millis(5));
    let _ = out.write(batch().batch());
    let (head, _) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let first = head.lines().next().unwrap_or_default();
    assert!(first.contains("datadog.invalid:8080"), "{head}");
}

#[test]
fn tls_options_are_checked_before_the_run() {
    let err = |arg: &str| {
        DatadogPlugin::new_output(init("datadog", Some(arg), "{}", &[("DD_API_KEY", KEY)]))
            .err()
            .unwrap()
            .message
            .to_string()
    };
    let bad_version = err("transport=api,tlsMinimumVersion=1.0");
    assert!(bad_version.contains("tlsMinimumVersion"), "{bad_version}");
    let missing_ca = err("transport=api,caFile=/nonexistent/datadog-ca.pem");
    assert!(
        missing_ca.contains("/nonexistent/datadog-ca.pem"),
        "{missing_ca}"
    );
    let docs = out_datadog::OUTPUT.options;
    for name in [
        "proxy",
        "caFile",
        "clientCert",
        "clientKey",
        "tlsMinimumVersion",
    ] {
        assert!(docs.iter().any(|d| d.name == name), "{name}");
    }
}
