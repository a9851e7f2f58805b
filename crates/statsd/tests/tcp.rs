//! TCP: Retry while the server is down (without keeping the refused batch), reconnect with
//! backoff, deliver what was held, newline-terminated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{completed_outcome, recording_host, BatchBuilder};
use loadrun_plugin_api::{MetricType, Output, ValueKind, WriteStatus};
use loadrun_statsd::{Protocol, StatsdConfig, StatsdOutput};

#[test]
fn tcp_retries_then_delivers() {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let mut cfg = StatsdConfig::new("statsd");
    cfg.addr = addr.to_string();
    cfg.protocol = Protocol::Tcp;
    cfg.push_interval = Duration::from_millis(1);
    let mut out = StatsdOutput::new(cfg).unwrap();
    let (host, _rec) = recording_host();
    out.start(host).unwrap();

    let mut b = BatchBuilder::new();
    let c = b.metric("c", MetricType::Counter, ValueKind::Default);
    let s = b.series(c, &[], &[]);
    b.sample(s, 1, 1.5);
    std::thread::sleep(Duration::from_millis(5));
    // Accepted (folded and encoded); the send fails and the payload is held.
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    // The next batch is refused while the held payload cannot go out.
    let mut b2 = BatchBuilder::new();
    b2.metrics = b.metrics.clone();
    b2.series = b.series.clone();
    b2.sample(s, 2, 2.0);
    let status = out.write(b2.batch());
    assert!(matches!(status, WriteStatus::Retry { .. }), "{status:?}");

    let listener = TcpListener::bind(addr).unwrap();
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if out.write(b2.batch()) == WriteStatus::Ok {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never reconnected"
        );
    }
    let outcome = completed_outcome();
    out.stop(&outcome, Duration::from_secs(2)).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    // The refused batch's sample (2.0) was not kept by the refused call, only by the accepted one.
    assert_eq!(text, "k6.c:1.5|c\nk6.c:2|c\n");
}
