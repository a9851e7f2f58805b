//! Datadog's k6 integration (its metric list and "k6" dashboard) must light up from what this
//! output sends, in both transports, for every metric of a real k6 run:
//! - `transport=dogstatsd`: the Agent names what it receives; a `|c` line keeps its name (a
//!   count), `|g` its name (a gauge), and a timer `|ms` becomes `.avg .max .median
//!   .95percentile` gauges and a `.count` rate with the Agent's default histogram settings
//!   (`histogram_aggregates: max, median, avg, count`, `histogram_percentiles: 0.95`).
//! - `transport=api`: the series are named as the Agent would name them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use common::{Recorder, Series, KEY};
use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use out_datadog::DatadogPlugin;

const TREND_SERIES: [(&str, &str); 5] = [
    (".avg", "gauge"),
    (".max", "gauge"),
    (".median", "gauge"),
    (".95percentile", "gauge"),
    (".count", "rate"),
];

/// The integration's metrics: name → declared type.
fn integration() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in include_str!("fixtures/k6-integration-metrics.txt").lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, kind) = line.split_once(' ').unwrap();
        if kind == "TREND" {
            for (suffix, kind) in TREND_SERIES {
                out.insert(format!("{name}{suffix}"), kind.to_string());
            }
        } else {
            out.insert(name.to_string(), kind.to_string());
        }
    }
    out
}

/// One of every metric a k6 HTTP test emits, with k6's types and tags.
fn k6_run() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let tags = [
        ("method", "GET"),
        ("status", "200"),
        ("scenario", "default"),
        ("url", "http://127.0.0.1:8080/"),
    ];
    let counters = [
        ("data_sent", ValueKind::Data),
        ("data_received", ValueKind::Data),
        ("http_reqs", ValueKind::Default),
        ("iterations", ValueKind::Default),
    ];
    for (name, kind) in counters {
        let m = b.metric(name, MetricType::Counter, kind);
        let s = b.series(m, &tags, &[]);
        b.sample(s, 1, 3.0);
    }
    for name in ["vus", "vus_max"] {
        let m = b.metric(name, MetricType::Gauge, ValueKind::Default);
        let s = b.series(m, &[], &[]);
        b.sample(s, 1, 10.0);
    }
    let trends = [
        "http_req_blocked",
        "http_req_connecting",
        "http_req_duration",
        "http_req_receiving",
        "http_req_sending",
        "http_req_tls_handshaking",
        "http_req_waiting",
        "iteration_duration",
    ];
    for name in trends {
        let m = b.metric(name, MetricType::Trend, ValueKind::Time);
        let s = b.series(m, &tags, &[]);
        b.sample(s, 1, 1.5).sample(s, 2, 2.5);
    }
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let s = b.series(failed, &tags, &[]);
    b.sample(s, 1, 0.0);
    b
}

/// The metrics the Agent makes of DogStatsD lines, name → type.
fn agent_view(lines: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lines {
        let (name, rest) = line.split_once(':').unwrap();
        let kind = rest.split('|').nth(1).unwrap();
        match kind {
            "c" => {
                out.insert(name.to_string(), "count".to_string());
            }
            "g" => {
                out.insert(name.to_string(), "gauge".to_string());
            }
            "ms" | "h" => {
                for (suffix, kind) in TREND_SERIES {
                    out.insert(format!("{name}{suffix}"), kind.to_string());
                }
            }
            other => panic!("unexpected DogStatsD type {other} in {line}"),
        }
    }
    out
}

#[test]
fn the_agent_makes_every_integration_metric_of_what_dogstatsd_sends() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let arg = format!("addr={}", server.local_addr().unwrap());
    let (mut out, _logs) = started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[]));
    assert_eq!(out.write(k6_run().batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(1))
        .unwrap();
    let mut lines = Vec::new();
    let mut buf = [0u8; 65_536];
    while let Ok(n) = server.recv(&mut buf) {
        let text = String::from_utf8(buf[..n].to_vec()).unwrap();
        lines.extend(text.split('\n').filter(|l| !l.is_empty()).map(String::from));
    }
    let seen = agent_view(&lines);
    for (name, kind) in integration() {
        assert_eq!(
            seen.get(&name),
            Some(&kind),
            "{name} ({kind}) is not what the Agent makes of these lines:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn the_series_api_sends_every_integration_metric_under_its_name() {
    for version in [1, 2] {
        let rec = Recorder::start();
        let arg = format!(
            "transport=api,apiVersion={version},endpoint={},pushInterval=1s",
            rec.url
        );
        let (mut out, _logs) =
            started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", &[("DD_API_KEY", KEY)]));
        assert_eq!(out.write(k6_run().batch()), WriteStatus::Ok);
        out.stop(&completed_outcome(), Duration::from_secs(5))
            .unwrap();
        let path = if version == 1 {
            "/api/v1/series"
        } else {
            "/api/v2/series"
        };
        let sent: Vec<String> = rec
            .received()
            .iter()
            .filter(|r| r.path == path)
            .flat_map(|r| r.series())
            .map(|s| s["metric"].as_str().unwrap().to_string())
            .collect();
        for name in integration().keys() {
            assert!(
                sent.contains(name),
                "v{version}: {name} not sent; sent: {sent:?}"
            );
        }
    }
}
