//! SigV4 signing (k6's `sigV4Region` / `sigV4AccessKey` / `sigV4SecretKey`, plus
//! `sigV4SessionToken`) against a verifying proxy in front of a real Prometheus 2.42: the
//! proxy (`tests/services/prw-proxy.py`) recomputes every request's signature with botocore's
//! SigV4Auth for service `aps`, an implementation independent of the plugin's, checks the
//! payload hash against the body it received, answers 403 to anything wrong and forwards the
//! rest. Skipped loudly without Prometheus, python3 or botocore, unless
//! `LOADRUN_REQUIRE_SERVICES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use loadrun_plugin_api::testkit::{
    completed_outcome, init, now_ns, recording_host, started, BatchBuilder, Conformance,
};
use loadrun_plugin_api::{MetricType, Output, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::services::Service;
use out_prometheus::PrometheusPlugin;

const REGION: &str = "eu-west-1";
const KEY_ID: &str = "AKIDLOADRUNTEST";
const SECRET: &str = "loadrun/Test+SecretKey9";
const TOKEN: &str = "FwoGZXIvYXdzLoadrunTestToken//==";

/// Prometheus, and the verifying proxy in front of it (expecting `token` when given).
struct Stack {
    prometheus: Service,
    proxy: Service,
}

impl Stack {
    fn start(token: Option<&str>) -> Option<Stack> {
        let prometheus = Service::start("prometheus", &[])?;
        let mut env = vec![
            ("PRW_PROXY_UPSTREAM", prometheus.var("PROMETHEUS_RW_URL")),
            ("PRW_PROXY_SIGV4_REGION", REGION),
            ("PRW_PROXY_SIGV4_ACCESS_KEY", KEY_ID),
            ("PRW_PROXY_SIGV4_SECRET_KEY", SECRET),
        ];
        if let Some(t) = token {
            env.push(("PRW_PROXY_SIGV4_SESSION_TOKEN", t));
        }
        let proxy = Service::start("prw-proxy", &env)?;
        Some(Stack { prometheus, proxy })
    }

    fn prometheus_url(&self) -> String {
        self.prometheus.var("PROMETHEUS_URL").to_string()
    }

    fn stats(&self) -> serde_json::Value {
        common::proxy_stats(self.proxy.var("PRW_PROXY_STATS_URL"))
    }

    /// The `-o` argument: the proxy's URL, the signing options, and `extra`.
    fn arg(&self, secret: &str, extra: &str) -> String {
        format!(
            "url={},pushInterval=1ms,timeout=2s,sigV4Region={REGION},sigV4AccessKey={KEY_ID},\
             sigV4SecretKey={secret}{extra}",
            self.proxy.var("PRW_PROXY_URL")
        )
    }
}

/// `http_reqs` with one series.
fn define() -> (BatchBuilder, u32) {
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[("method", "GET"), ("status", "200")], &[]);
    (b, s)
}

/// Writes `batch` the way the host does: again while the plugin answers `Retry` (a bounded
/// number of times), and returns the final answer.
fn write_retrying(out: &mut dyn Output, b: &BatchBuilder, first: bool) -> WriteStatus {
    for _ in 0..200 {
        let batch = if first { b.batch() } else { b.samples_only() };
        match out.write(batch) {
            WriteStatus::Retry { .. } => std::thread::sleep(Duration::from_millis(50)),
            other => return other,
        }
    }
    panic!("still Retry after 200 attempts");
}

#[test]
fn signed_pushes_pass_botocore_and_read_back_also_after_retries() {
    let Some(stack) = Stack::start(None) else {
        return;
    };
    let arg = stack.arg(SECRET, "");
    let (mut out, rec) = started::<PrometheusPlugin>(init("prometheus", Some(&arg), "", &[]));
    let (mut b, series) = define();
    let t0 = now_ns() - 10_000_000_000;
    let mut sent = 0u64;
    for round in 0..6i64 {
        b.clear_samples();
        for i in 0..(10 + round) {
            b.sample(series, t0 + (round * 100 + i) * 1_000_000, 1.0);
            sent += 1;
        }
        if round == 3 {
            // The proxy goes away: the push is retried and, once it is back, signed again.
            stack.proxy.stop();
            std::thread::sleep(Duration::from_millis(5));
            match out.write(b.samples_only()) {
                WriteStatus::Retry { reason, .. } => {
                    assert!(reason.contains("127.0.0.1"), "{reason}");
                    assert!(!reason.contains(SECRET), "{reason}");
                }
                other => panic!("expected Retry while the proxy is down, got {other:?}"),
            }
            stack.proxy.restart();
        }
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            write_retrying(out.as_mut(), &b, round == 0),
            WriteStatus::Ok
        );
    }
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert!(rec.logs().is_empty(), "{:?}", rec.logs());
    assert_eq!(rec.counter("samples_lost"), 0);

    let base = stack.prometheus_url();
    assert_eq!(
        common::single(&base, "k6_http_reqs_total"),
        Some(sent as f64),
        "proxy log:\n{}",
        stack.proxy.log()
    );
    let stats = stack.stats();
    assert_eq!(stats["rejected"], 0, "{stats}");
    // Counted since the restart: at least the retried push and the ones after it.
    assert!(stats["accepted"].as_u64().unwrap() >= 2, "{stats}");
    let signed = stats["signed_headers"][0].as_str().unwrap();
    assert_eq!(
        signed,
        "content-encoding;content-type;host;x-amz-content-sha256;x-amz-date;\
         x-prometheus-remote-write-version"
    );
}

#[test]
fn a_wrong_secret_is_a_clear_403_with_the_samples_counted_as_lost() {
    let Some(stack) = Stack::start(None) else {
        return;
    };
    let wrong = "loadrun/Wrong+SecretKey0";
    let arg = stack.arg(wrong, "");
    let (mut out, rec) = started::<PrometheusPlugin>(init("prometheus", Some(&arg), "", &[]));
    let (mut b, series) = define();
    for i in 0..25 {
        b.sample(series, now_ns() - 1_000_000_000 + i, 1.0);
    }
    assert_eq!(out.write(b.batch()), WriteStatus::Ok, "nothing pushed yet");
    std::thread::sleep(Duration::from_millis(5));
    b.clear_samples();
    b.sample(series, now_ns(), 1.0);
    let reason = match out.write(b.samples_only()) {
        WriteStatus::Fatal(e) => e.message.to_string(),
        other => panic!("expected Fatal, got {other:?}"),
    };
    for needle in [
        "HTTP 403",
        "SignatureDoesNotMatch",
        "region eu-west-1",
        KEY_ID,
        "check the credentials",
    ] {
        assert!(reason.contains(needle), "{needle:?} not in {reason}");
    }
    assert!(
        !reason.contains(wrong) && !reason.contains(SECRET),
        "{reason}"
    );
    // The folded batch never reached Prometheus; the refused one was not taken.
    assert_eq!(rec.counter("samples_lost"), 25);
    let stats = stack.stats();
    assert_eq!(
        (stats["accepted"].as_u64(), stats["rejected"].as_u64()),
        (Some(0), Some(1)),
        "{stats}"
    );
    assert_eq!(
        common::single(&stack.prometheus_url(), "k6_http_reqs_total"),
        None
    );
}

#[test]
fn the_session_token_is_sent_and_signed() {
    let Some(stack) = Stack::start(Some(TOKEN)) else {
        return;
    };
    let push = |extra: &str| {
        let arg = stack.arg(SECRET, extra);
        let mut out =
            PrometheusPlugin::new_output(init("prometheus", Some(&arg), "", &[])).unwrap();
        out.start(recording_host().0).unwrap();
        let (mut b, series) = define();
        b.sample(series, now_ns() - 1_000_000, 1.0);
        assert_eq!(out.write(b.batch()), WriteStatus::Ok);
        out.stop(&completed_outcome(), Duration::from_secs(10))
    };
    let e = push("").unwrap_err().message.to_string();
    assert!(e.contains("HTTP 403") && e.contains("session token"), "{e}");
    push(&format!(",sigV4SessionToken={TOKEN}")).unwrap();
    let stats = stack.stats();
    assert_eq!(
        (stats["accepted"].as_u64(), stats["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{stats}"
    );
    assert!(
        stats["signed_headers"][0]
            .as_str()
            .unwrap()
            .contains(";x-amz-security-token;"),
        "{stats}"
    );
    assert_eq!(
        common::single(&stack.prometheus_url(), "k6_http_reqs_total"),
        Some(1.0)
    );
}

/// The built `libout_prometheus.so` through the conformance kit, every request verified by
/// botocore: no sample lost or counted twice, also when the proxy is down for a while (each
/// retried request is signed again).
#[test]
fn the_built_plugin_conforms_through_the_verifying_proxy() {
    let Some(stack) = Stack::start(Some(TOKEN)) else {
        return;
    };
    let base = stack.prometheus_url();
    let arg = stack.arg(SECRET, &format!(",sigV4SessionToken={TOKEN}"));
    let stack = Rc::new(stack);
    let broken = Rc::new(Cell::new(false));
    let fault_stack = Rc::clone(&stack);
    let report = Conformance::new(
        loadrun_test_support::plugin_path("prometheus"),
        "prometheus",
    )
    .arg(&arg)
    .invalid_arg("sigV4Region=eu-west-1", "missing: sigV4AccessKey")
    .invalid_arg(
        &format!("{},bearerToken=tok", stack.arg(SECRET, "")),
        "cannot be combined",
    )
    .stored_samples(move || common::stored(&base))
    .fault(move |b| {
        if b && !broken.get() {
            fault_stack.proxy.stop();
        } else if !b && broken.get() {
            fault_stack.proxy.restart();
        }
        broken.set(b);
    })
    .deadlines(Duration::from_secs(10), Duration::from_secs(5))
    .run();
    println!("{report}");
    report.assert_passed();
    let stats = stack.stats();
    assert_eq!(stats["rejected"], 0, "{stats}\n{}", stack.proxy.log());
    assert!(stats["accepted"].as_u64().unwrap() > 0, "{stats}");
}
