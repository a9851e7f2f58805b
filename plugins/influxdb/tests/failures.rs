//! Failure handling, against a local responder for answers a real InfluxDB does not give on
//! demand (429, 503, 401 with a body) and against closed and blackholed ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use loadrun_plugin_api::testkit::{completed_outcome, now_ns, BatchBuilder};
use loadrun_plugin_api::{LogLevel, MetricType, ValueKind, WriteStatus};

/// `n` samples of one series, 1 µs apart.
fn batch(n: usize) -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[("status", "200")], &[]);
    let t0 = now_ns();
    for i in 0..n {
        b.sample(s, t0 + i as i64 * 1000, 1.0);
    }
    b
}

fn lines(bodies: &[Received]) -> Vec<String> {
    bodies
        .iter()
        .flat_map(|r| r.text().lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

const NOW: &str = "pushInterval=0s";

#[test]
fn server_down_is_retry_and_nothing_is_kept_then_it_comes_back() {
    let port = dead_port();
    let (mut out, _rec) = started(&format!("http://127.0.0.1:{port}/db?{NOW}"), &[]);
    let b = batch(5);
    let st = out.write(b.batch());
    let WriteStatus::Retry { reason, .. } = st else {
        panic!("{st:?}")
    };
    assert!(
        reason.contains(&format!("127.0.0.1:{port}")) && reason.contains("Connection Failed"),
        "{reason}"
    );

    // The server comes up on that port; the host re-sends the same batch. Right away the
    // output does not try again (a refused connection holds writes for a moment, with the same
    // reason); after the host's backoff it does.
    let r = Responder::start_on(&format!("127.0.0.1:{port}"));
    match out.write(b.batch()) {
        WriteStatus::Retry { reason: again, .. } => assert_eq!(again, reason),
        other => panic!("{other:?}"),
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let got = r.received();
    // The database creation the output could not do at start is done first.
    assert!(
        got[0].line.starts_with("POST /query?q=CREATE+DATABASE"),
        "{got:#?}"
    );
    assert_eq!(lines(&r.writes()).len(), 5, "each point exactly once");
}

#[test]
fn a_400_drops_the_batch_counts_it_and_says_why_once() {
    let r = Responder::start();
    r.push(Reply::new(200).body(r#"{"results":[{"statement_id":0}]}"#)); // CREATE DATABASE
    let (mut out, rec) = started(&format!("{}/db?{NOW}", r.url), &[]);
    for _ in 0..2 {
        r.push(Reply::new(400).body(r#"{"error":"partial write: field type conflict: input field \"value\" on measurement \"http_reqs\" is type float, already exists as type string dropped=3"}"#));
    }
    assert_eq!(out.write(batch(3).batch()), WriteStatus::Ok);
    assert_eq!(out.write(batch(3).batch()), WriteStatus::Ok);
    assert_eq!(rec.counter("samples_rejected"), 6);
    let warns: Vec<_> = rec
        .logs()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Warn)
        .collect();
    assert_eq!(warns.len(), 1, "{warns:?}");
    assert!(
        warns[0].1.contains("HTTP 400") && warns[0].1.contains("field type conflict"),
        "{warns:?}"
    );
    // Later batches go through.
    assert_eq!(out.write(batch(2).batch()), WriteStatus::Ok);
    assert_eq!(r.writes().len(), 3);
}

#[test]
fn a_429_is_retry_after_the_servers_delay() {
    let r = Responder::start();
    let (mut out, _rec) = started(&format!("{}/db?{NOW}", r.url), &[]);
    r.push(Reply::new(429).header("Retry-After", "7").body("slow down"));
    let st = out.write(batch(1).batch());
    let after = st.retry_delay();
    let WriteStatus::Retry { reason, .. } = st else {
        panic!("{st:?}")
    };
    assert_eq!(after, Some(Duration::from_millis(7000)));
    assert!(
        reason.contains("HTTP 429") && reason.contains("slow down"),
        "{reason}"
    );

    // An HTTP-date Retry-After, on a 503.
    let when = std::time::SystemTime::now() + Duration::from_secs(30);
    r.push(Reply::new(503).header("Retry-After", &httpdate(when)));
    let st = out.write(batch(1).batch());
    let (WriteStatus::Retry { .. }, Some(after)) = (&st, st.retry_delay()) else {
        panic!("{st:?}")
    };
    let ms = after.as_millis();
    assert!((25_000..=30_000).contains(&ms), "{ms}");

    // A 500 without Retry-After leaves the delay to the host.
    r.push(Reply::new(500).body("boom"));
    let st = out.write(batch(1).batch());
    assert!(
        matches!(st, WriteStatus::Retry { .. }) && st.retry_delay().is_none(),
        "{st:?}"
    );
    assert_eq!(out.write(batch(1).batch()), WriteStatus::Ok);
}

fn httpdate(t: std::time::SystemTime) -> String {
    // RFC 7231 IMF-fixdate, by hand to keep dev-dependencies small.
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86400;
    let (h, m, s) = ((secs % 86400) / 3600, (secs % 3600) / 60, secs % 60);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // civil_from_days (Howard Hinnant)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{wd}, {d:02} {mon} {y} {h:02}:{m:02}:{s:02} GMT")
}

#[test]
fn a_401_is_fatal_with_the_servers_message_and_no_password() {
    let r = Responder::start();
    r.push(Reply::new(401).body(r#"{"error":"authorization failed"}"#)); // CREATE DATABASE
    let arg = format!(
        "{}/db?{NOW}",
        r.url.replace("http://", "http://admin:hunter2@")
    );
    let (mut out, rec) = started(&arg, &[]);
    let create_warn = rec
        .logs()
        .into_iter()
        .map(|(_, m)| m)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        create_warn.contains("authorization failed"),
        "{create_warn}"
    );
    r.push(Reply::new(401).body(r#"{"error":"authorization failed"}"#));
    let st = out.write(batch(1).batch());
    let WriteStatus::Fatal(e) = st else {
        panic!("{st:?}")
    };
    assert!(
        e.message.contains("HTTP 401") && e.message.contains("authorization failed"),
        "{e}"
    );
    assert!(
        !e.message.contains("hunter2") && !e.message.contains("admin"),
        "{e}"
    );
    assert!(!create_warn.contains("hunter2"));
}

#[test]
fn large_pushes_are_split_and_a_failed_part_is_not_resent() {
    let r = Responder::start();
    let (mut out, _rec) = started(
        &format!("{}/db?{NOW}&createDatabase=false", r.url),
        &[("LOADRUN_INFLUXDB_MAX_BATCH_LINES", "3")],
    );
    r.push(Reply::new(204));
    r.push(Reply::new(503));
    let b = batch(10);
    assert!(matches!(out.write(b.batch()), WriteStatus::Retry { .. }));
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    let w = r.writes();
    let sizes: Vec<usize> = w.iter().map(|r| r.text().lines().count()).collect();
    // 3 ok, 3 refused (503), then the whole batch again in 3+3+3+1.
    assert_eq!(sizes, vec![3, 3, 3, 3, 3, 1]);
    let all = lines(&w);
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "every point arrived");
}

#[test]
fn points_are_buffered_for_the_push_interval_and_bounded() {
    let r = Responder::start();
    let (mut out, _rec) = started(
        &format!("{}/db?pushInterval=1h&createDatabase=false", r.url),
        &[("LOADRUN_INFLUXDB_MAX_BATCH_LINES", "10")],
    );
    for _ in 0..3 {
        assert_eq!(out.write(batch(3).batch()), WriteStatus::Ok);
    }
    assert!(
        r.writes().is_empty(),
        "9 points < one request: still buffered"
    );
    assert_eq!(out.write(batch(3).batch()), WriteStatus::Ok);
    assert_eq!(
        r.writes().len(),
        2,
        "12 points reach the bound: pushed as 10 + 2"
    );
    assert_eq!(out.write(batch(1).batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(lines(&r.writes()).len(), 13);
}

#[test]
fn a_stalled_server_times_out_instead_of_hanging() {
    let url = blackhole();
    let (mut out, _rec) = started(
        &format!("{url}/db?{NOW}&timeout=300ms&createDatabase=false"),
        &[],
    );
    let t = Instant::now();
    let st = out.write(batch(1).batch());
    assert!(matches!(st, WriteStatus::Retry { .. }), "{st:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn stop_gives_up_at_its_deadline_and_counts_the_loss() {
    let port = dead_port();
    let (mut out, rec) = started(&format!("http://127.0.0.1:{port}/db?pushInterval=1h"), &[]);
    assert_eq!(out.write(batch(4).batch()), WriteStatus::Ok);
    let t = Instant::now();
    let e = out
        .stop(&completed_outcome(), Duration::from_millis(700))
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(e.message.contains("4 samples could not be written"), "{e}");
    assert_eq!(rec.counter("samples_lost"), 4);
}

#[test]
fn v2_request_shape() {
    let r = Responder::start();
    let (mut out, _rec) = started(
        &format!("{}?org=acme&bucket=k6&{NOW}", r.url),
        &[("K6_INFLUXDB_TOKEN", "tok-123")],
    );
    assert_eq!(out.write(batch(2).batch()), WriteStatus::Ok);
    let got = r.received();
    assert_eq!(got.len(), 1, "v2 creates no database: {got:#?}");
    assert_eq!(
        got[0].line,
        "POST /api/v2/write?org=acme&bucket=k6&precision=ns HTTP/1.1"
    );
    assert_eq!(got[0].header("authorization"), Some("Token tok-123"));
    assert_eq!(got[0].text().lines().count(), 2);
}
