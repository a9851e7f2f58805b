//! Exact wire lines for every k6 metric type, through aggregation, mapping and encoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::time::Duration;

use loadrun_plugin_api::testkit::{completed_outcome, recording_host, BatchBuilder};
use loadrun_plugin_api::{Catalog, MetricType, Output, ValueKind};
use loadrun_statsd::line::encode_all;
use loadrun_statsd::mapping::entries;
use loadrun_statsd::{Aggregator, ChecksAs, MappingConfig, StatsdConfig, StatsdOutput, TrendType};

const T: i64 = 1_795_608_192_000_000_000;

fn k6_batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let custom = b.metric("my_gauge", MetricType::Gauge, ValueKind::Default);
    let tags = [
        ("method", "GET"),
        ("status", "200"),
        ("group", "::g1"),
        ("url", "http://x/?a=1,b=2"),
        ("name", "a|b#c,d"),
        ("expected_response", "true"),
        ("scenario", ""),
    ];
    let s_reqs = b.series(reqs, &tags, &[("vu", "1"), ("iter", "0")]);
    let s_dur = b.series(dur, &tags, &[]);
    let s_failed = b.series(failed, &tags, &[]);
    let s_vus = b.series(vus, &[], &[]);
    let s_check = b.series(checks, &[("check", "status is 200"), ("group", "")], &[]);
    let s_custom = b.series(custom, &[], &[]);
    b.sample(s_reqs, T, 1.0)
        .sample(s_reqs, T + 1, 1.0)
        .sample(s_reqs, T + 2, 0.5);
    b.sample(s_dur, T, 2.431201).sample(s_dur, T + 1, 10.0);
    b.sample(s_failed, T, 0.0)
        .sample(s_failed, T + 1, 1.0)
        .sample(s_failed, T + 2, 0.0);
    b.sample(s_vus, T, 3.0).sample(s_vus, T + 1, 5.0);
    b.sample(s_check, T, 1.0)
        .sample(s_check, T + 1, 1.0)
        .sample(s_check, T + 2, 0.0);
    b.sample(s_custom, T, -2.5);
    b
}

fn lines(cfg: &MappingConfig, b: &BatchBuilder) -> Vec<String> {
    let mut cat = Catalog::new();
    cat.absorb(&b.batch());
    let mut agg = Aggregator::new(cfg.max_trend_samples);
    for s in &b.samples {
        agg.add(&cat, s);
    }
    encode_all(cfg, &entries(cfg, &cat, agg.drain()))
}

#[test]
fn plain_statsd_lines_like_k6_without_its_defects() {
    let cfg = MappingConfig::default();
    assert_eq!(
        lines(&cfg, &k6_batch()),
        vec![
            "k6.http_reqs:2.5|c",
            "k6.http_req_duration:2.431201|ms",
            "k6.http_req_duration:10|ms",
            "k6.http_req_failed:1|c",
            "k6.vus:5|g",
            "k6.check.status_is_200.pass:2|c",
            "k6.check.status_is_200.fail:1|c",
            "k6.my_gauge:0|g\nk6.my_gauge:-2.5|g",
        ]
    );
}

#[test]
fn dogstatsd_tags_sorted_escaped_blocklisted() {
    let cfg = MappingConfig {
        enable_tags: true,
        signed_gauge_is_delta: false,
        ..MappingConfig::default()
    };
    let tags = "|#expected_response:true,group:::g1,method:GET,name:a_b_c_d,status:200";
    assert_eq!(
        lines(&cfg, &k6_batch()),
        vec![
            format!("k6.http_reqs:2.5|c{tags}"),
            format!("k6.http_req_duration:2.431201|ms{tags}"),
            format!("k6.http_req_duration:10|ms{tags}"),
            format!("k6.http_req_failed:1|c{tags}"),
            "k6.vus:5|g".to_string(),
            "k6.check.status_is_200.pass:2|c|#check:status is 200".to_string(),
            "k6.check.status_is_200.fail:1|c|#check:status is 200".to_string(),
            "k6.my_gauge:-2.5|g".to_string(),
        ]
    );
}

#[test]
fn checks_as_tag_global_tags_and_distribution() {
    let cfg = MappingConfig {
        enable_tags: true,
        checks_as: ChecksAs::Tag,
        trend_type: TrendType::Distribution,
        global_tags: vec![
            ("env".into(), "prod".into()),
            ("method".into(), "ignored".into()),
        ],
        tag_blocklist: [
            "vu",
            "iter",
            "url",
            "name",
            "group",
            "expected_response",
            "check",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        namespace: "app.".into(),
        ..MappingConfig::default()
    };
    let got = lines(&cfg, &k6_batch());
    assert_eq!(
        got[1],
        "app.http_req_duration:2.431201|d|#env:prod,method:GET,status:200"
    );
    // The check tag survives the blocklist: without it the counter would mean nothing.
    assert_eq!(
        got[5],
        "app.checks:2|c|#check:status is 200,env:prod,method:ignored,result:pass"
    );
    assert_eq!(
        got[6],
        "app.checks:1|c|#check:status is 200,env:prod,method:ignored,result:fail"
    );
}

#[test]
fn sampled_trends_carry_their_rate() {
    let mut b = BatchBuilder::new();
    let t = b.metric("t", MetricType::Trend, ValueKind::Time);
    let s = b.series(t, &[], &[]);
    for i in 0..8 {
        b.sample(s, T + i, 1.0);
    }
    let cfg = MappingConfig {
        max_trend_samples: 2,
        ..MappingConfig::default()
    };
    assert_eq!(lines(&cfg, &b), vec!["k6.t:1|ms|@0.25", "k6.t:1|ms|@0.25"]);
}

#[test]
fn checks_as_tag_requires_tags() {
    let cfg = MappingConfig {
        checks_as: ChecksAs::Tag,
        ..MappingConfig::default()
    };
    assert!(cfg.validate("statsd").is_err());
}

/// The whole output over a real UDP socket: datagrams within bufferSize, lines intact, sent on
/// the push interval and at stop.
#[test]
fn output_sends_packed_datagrams_over_udp() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut cfg = StatsdConfig::new("statsd");
    cfg.addr = server.local_addr().unwrap().to_string();
    cfg.buffer_size = 100;
    cfg.push_interval = Duration::from_secs(3600);
    let mut out = StatsdOutput::new(cfg).unwrap();
    let (host, rec) = recording_host();
    out.start(host).unwrap();
    let mut b = BatchBuilder::new();
    let c = b.metric(
        "requests_with_a_long_name",
        MetricType::Counter,
        ValueKind::Default,
    );
    let mut expected = Vec::new();
    for i in 0..40 {
        let s = b.series(c, &[("i", &i.to_string())], &[]);
        b.sample(s, T, i as f64);
        expected.push(format!("k6.requests_with_a_long_name:{i}|c"));
    }
    assert!(matches!(
        out.write(b.batch()),
        loadrun_plugin_api::WriteStatus::Ok
    ));
    // Nothing before the interval ends.
    server.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 65536];
    assert!(server.recv(&mut buf).is_err());
    server.set_nonblocking(false).unwrap();
    let outcome = completed_outcome();
    out.stop(&outcome, Duration::from_secs(1)).unwrap();
    let mut got = Vec::new();
    let mut datagrams = 0;
    while got.len() < expected.len() {
        let n = server.recv(&mut buf).unwrap();
        assert!(n <= 100, "datagram of {n} bytes");
        datagrams += 1;
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        got.extend(text.split('\n').map(String::from));
    }
    assert_eq!(got, expected);
    assert!(datagrams >= 14, "only {datagrams} datagrams");
    assert_eq!(rec.counter("send_errors"), 0);
}

/// A closed UDP port: errors are counted and logged once, the write never fails.
#[test]
fn udp_errors_are_counted_not_fatal() {
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap().to_string();
    drop(probe);
    let mut cfg = StatsdConfig::new("statsd");
    cfg.addr = addr;
    cfg.push_interval = Duration::from_millis(1);
    let mut out = StatsdOutput::new(cfg).unwrap();
    let (host, rec) = recording_host();
    out.start(host).unwrap();
    let mut b = BatchBuilder::new();
    let c = b.metric("c", MetricType::Counter, ValueKind::Default);
    let s = b.series(c, &[], &[]);
    b.sample(s, T, 1.0);
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(
            out.write(b.batch()),
            loadrun_plugin_api::WriteStatus::Ok
        ));
    }
    // Linux reports each ICMP error on the next send only, so about every other send fails.
    assert!(
        rec.counter("send_errors") >= 2,
        "{}",
        rec.counter("send_errors")
    );
    let warns = rec
        .logs()
        .iter()
        .filter(|(_, m)| m.contains("failed"))
        .count();
    assert_eq!(warns, 1, "{:?}", rec.logs());
}
