//! `tlsMinimumVersion` (k6's `K6_PROMETHEUS_RW_TLS_MINIMUM_VERSION`) against a server that only
//! speaks TLS 1.2: the test proxy (`tests/services/prw-proxy.py`, Python's `ssl` with
//! `maximum_version = TLSv1_2`) terminating TLS in front of a real Prometheus 2.42. With the
//! default minimum, 1.3, the handshake fails and the output stops with an error naming the TLS
//! version and the option; with `tlsMinimumVersion=1.2` everything arrives. Skipped loudly
//! without Prometheus, python3 or openssl, unless `LOADRUN_REQUIRE_SERVICES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use loadrun_plugin_api::testkit::{init, now_ns, started, BatchBuilder, Conformance};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::services::Service;
use out_prometheus::PrometheusPlugin;

/// Prometheus, and a TLS 1.2-only proxy in front of it.
fn start() -> Option<(Service, Service)> {
    let prometheus = Service::start("prometheus", &[])?;
    let proxy = Service::start(
        "prw-proxy",
        &[
            ("PRW_PROXY_UPSTREAM", prometheus.var("PROMETHEUS_RW_URL")),
            ("PRW_PROXY_TLS", "1"),
            ("PRW_PROXY_TLS_MAX_VERSION", "1.2"),
        ],
    )?;
    Some((prometheus, proxy))
}

#[test]
fn the_default_minimum_refuses_a_tls12_only_server_and_says_why() {
    let Some((prometheus, proxy)) = start() else {
        return;
    };
    let url = proxy.var("PRW_PROXY_URL");
    assert!(url.starts_with("https://"), "{url}");
    let ca = proxy.var("PRW_PROXY_CA_FILE");
    for extra in ["", ",tlsMinimumVersion=1.3"] {
        let arg = format!("url={url},caCertificate={ca},pushInterval=1ms,timeout=2s{extra}");
        let (mut out, rec) = started::<PrometheusPlugin>(init("prometheus", Some(&arg), "", &[]));
        let mut b = BatchBuilder::new();
        let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let s = b.series(m, &[("status", "200")], &[]);
        b.sample(s, now_ns() - 1_000_000, 1.0);
        assert_eq!(out.write(b.batch()), WriteStatus::Ok, "nothing pushed yet");
        std::thread::sleep(Duration::from_millis(5));
        let reason = match out.write(b.samples_only()) {
            WriteStatus::Fatal(e) => e.message.to_string(),
            other => panic!("expected Fatal (retrying cannot help), got {other:?}"),
        };
        println!("{reason}");
        for needle in [
            "TLS version mismatch",
            "TLS 1.3 or later",
            "tlsMinimumVersion=1.2",
        ] {
            assert!(reason.contains(needle), "{needle:?} not in: {reason}");
        }
        assert_eq!(
            rec.counter("samples_lost"),
            1,
            "the folded sample is counted"
        );
    }
    // The server saw the handshakes fail on the version, and nothing was forwarded.
    let log = proxy.log();
    let refused = log
        .lines()
        .filter(|l| l.starts_with("TLS handshake failed") && l.contains("UNSUPPORTED_PROTOCOL"))
        .count();
    assert_eq!(refused, 2, "one attempt per output:\n{log}");
    assert!(!log.contains("POST /api/v1/write"), "{log}");
    assert_eq!(
        common::single(prometheus.var("PROMETHEUS_URL"), "k6_http_reqs_total"),
        None
    );
}

/// The built `libout_prometheus.so` through the conformance kit over TLS 1.2: every sample
/// arrives exactly once.
#[test]
fn with_minimum_1_2_the_built_plugin_conforms_over_tls12() {
    let Some((prometheus, proxy)) = start() else {
        return;
    };
    let base = prometheus.var("PROMETHEUS_URL").to_string();
    let arg = format!(
        "url={},caCertificate={},tlsMinimumVersion=1.2,pushInterval=1ms,timeout=2s",
        proxy.var("PRW_PROXY_URL"),
        proxy.var("PRW_PROXY_CA_FILE")
    );
    let report = Conformance::new(
        loadrun_test_support::plugin_path("prometheus"),
        "prometheus",
    )
    .arg(&arg)
    .invalid_arg("tlsMinimumVersion=1.1", "tlsMinimumVersion")
    .invalid_arg("tlsMinimumVersion=1.4", "expected 1.2 or 1.3")
    .stored_samples(move || common::stored(&base))
    .deadlines(Duration::from_secs(10), Duration::from_secs(5))
    .run();
    println!("{report}");
    report.assert_passed();
    let log = proxy.log();
    assert!(log.contains("POST /api/v1/write"), "{log}");
    assert!(!log.contains("UNSUPPORTED_PROTOCOL"), "{log}");
}
