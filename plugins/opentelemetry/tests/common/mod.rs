//! Test helpers: the real OTLP receiver, k6-like batches, a TCP proxy that can break the link,
//! and a canned HTTP responder for status codes the receiver never sends.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loadrun_plugin_api::testkit::{self, completed_outcome, BatchBuilder, Recorded};
use loadrun_plugin_api::{MetricType, Output, ValueKind, WriteStatus};
use loadrun_test_support::http_get::get_text;
use loadrun_test_support::services::Service;
use out_opentelemetry::OtelPlugin;
use serde_json::Value;

pub fn receiver() -> Option<Service> {
    Service::start("otlp-receiver", &[])
}

pub fn http_url(svc: &Service) -> String {
    svc.var("OTLP_HTTP_URL").to_string()
}

pub fn grpc_url(svc: &Service) -> String {
    format!("http://{}", svc.var("OTLP_GRPC_ADDR"))
}

/// `GET /points` of the receiver.
pub fn points(base: &str) -> Vec<Value> {
    let body = get_text(&format!("{base}/points"), &[]).unwrap();
    serde_json::from_str::<Vec<Value>>(&body).unwrap()
}

pub fn received(base: &str) -> Vec<Value> {
    let body = get_text(&format!("{base}/received"), &[]).unwrap();
    serde_json::from_str::<Vec<Value>>(&body).unwrap()
}

/// OTLP/JSON writes 64-bit integers as strings.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

pub fn value(p: &Value) -> f64 {
    num(p
        .get("asDouble")
        .or_else(|| p.get("asInt"))
        .unwrap_or(&Value::from(0)))
}

pub fn of<'a>(pts: &'a [Value], metric: &str) -> Vec<&'a Value> {
    pts.iter().filter(|p| p["metric"] == metric).collect()
}

pub fn attr<'a>(p: &'a Value, k: &str) -> Option<&'a str> {
    p["attributes"].get(k).and_then(Value::as_str)
}

pub fn output(arg: &str, env: &[(&str, &str)]) -> (Box<dyn Output>, Arc<Recorded>) {
    testkit::started::<OtelPlugin>(testkit::init("opentelemetry", Some(arg), "{}", env))
}

pub const T0: i64 = 1_795_608_297_000_000_000;

/// A k6-like run: the built-in metrics with k6's types, kinds and tags.
pub struct K6Run {
    pub b: BatchBuilder,
    pub reqs_200: u32,
    pub reqs_404: u32,
    pub duration_200: u32,
    pub duration_404: u32,
    pub vus: u32,
    pub checks: u32,
    pub failed: u32,
    pub data_sent: u32,
    pub iterations: u32,
    pub iteration_duration: u32,
    pub my_trend: u32,
}

impl K6Run {
    pub fn new() -> Self {
        let mut b = BatchBuilder::new();
        let http_reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
        let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
        let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
        let sent = b.metric("data_sent", MetricType::Counter, ValueKind::Data);
        let iters = b.metric("iterations", MetricType::Counter, ValueKind::Default);
        let idur = b.metric("iteration_duration", MetricType::Trend, ValueKind::Time);
        let mine = b.metric("my_trend", MetricType::Trend, ValueKind::Default);
        let t200 = [
            ("method", "GET"),
            ("status", "200"),
            ("scenario", "default"),
            ("group", ""),
            ("testid", "demo"),
        ];
        let t404 = [
            ("method", "GET"),
            ("status", "404"),
            ("name", "missing"),
            ("scenario", "default"),
            ("group", ""),
        ];
        let meta = [("vu", "1"), ("iter", "0")];
        K6Run {
            reqs_200: b.series(http_reqs, &t200, &meta),
            reqs_404: b.series(http_reqs, &t404, &meta),
            duration_200: b.series(dur, &t200, &meta),
            duration_404: b.series(dur, &t404, &meta),
            vus: b.series(vus, &[], &[]),
            checks: b.series(
                checks,
                &[("check", "status is 200"), ("scenario", "default")],
                &meta,
            ),
            failed: b.series(failed, &t200, &meta),
            data_sent: b.series(sent, &[("scenario", "default")], &meta),
            iterations: b.series(iters, &[("scenario", "default")], &meta),
            iteration_duration: b.series(idur, &[("scenario", "default")], &meta),
            my_trend: b.series(mine, &[("k", "v")], &meta),
            b,
        }
    }

    /// One iteration: two requests, a check, data sent, the iteration itself.
    pub fn iteration(&mut self, i: i64, latency_ms: f64) {
        let t = T0 + i * 500_000_000;
        let s = &mut self.b;
        s.sample(self.reqs_200, t, 1.0)
            .sample(self.reqs_404, t, 1.0);
        s.sample(self.duration_200, t, latency_ms);
        s.sample(self.duration_404, t, latency_ms / 2.0);
        s.sample(self.checks, t, if i % 4 == 3 { 0.0 } else { 1.0 });
        s.sample(self.failed, t, 0.0);
        s.sample(self.data_sent, t, 100.0);
        s.sample(self.vus, t, (i + 1) as f64);
        s.sample(self.iterations, t, 1.0);
        s.sample(self.iteration_duration, t, latency_ms * 2.0 + 500.0);
        s.sample(self.my_trend, t, -(i as f64));
    }
}

/// A TCP proxy in front of a server that can be broken: broken, it resets every connection
/// (new and open ones), as a crashed or unreachable collector would.
pub struct FaultProxy {
    pub addr: String,
    broken: Arc<AtomicBool>,
    /// The client side of every connection, cut the moment the proxy is broken: a crash ends
    /// them all at once, and never takes a request only to drop it (a request taken and
    /// unanswered may be held, and an output under delta temporality gives it up).
    open: Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl FaultProxy {
    pub fn new(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let broken = Arc::new(AtomicBool::new(false));
        let open: Arc<std::sync::Mutex<Vec<TcpStream>>> = Arc::default();
        let b = broken.clone();
        let live = open.clone();
        let target = target.to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if b.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                live.lock().unwrap().push(client.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let b = b.clone();
                    std::thread::spawn(move || {
                        let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
                        let mut buf = [0u8; 16384];
                        loop {
                            if b.load(Ordering::SeqCst) {
                                break;
                            }
                            match from.read(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => {
                                    // Broken while this was in flight: it never arrives.
                                    if b.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err()
                                    {
                                        break;
                                    }
                                }
                                Err(e)
                                    if e.kind() == std::io::ErrorKind::WouldBlock
                                        || e.kind() == std::io::ErrorKind::TimedOut =>
                                {
                                    continue
                                }
                                Err(_) => break,
                            }
                        }
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        FaultProxy { addr, broken, open }
    }

    pub fn set_broken(&self, broken: bool) {
        self.broken.store(broken, Ordering::SeqCst);
        if broken {
            for c in self.open.lock().unwrap().drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }

    /// `set_broken`, for a closure that outlives the proxy value.
    pub fn breaker(&self) -> impl Fn(bool) + 'static {
        let (broken, open) = (self.broken.clone(), self.open.clone());
        move |on| {
            broken.store(on, Ordering::SeqCst);
            if on {
                for c in open.lock().unwrap().drain(..) {
                    let _ = c.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// Answers every HTTP request with `status` and extra headers; returns its base URL.
pub fn canned(status: u16, headers: &'static [(&'static str, &'static str)]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let mut resp =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n");
            for (k, v) in headers {
                resp.push_str(&format!("{k}: {v}\r\n"));
            }
            resp.push_str("\r\n");
            let _ = s.write_all(resp.as_bytes());
        }
    });
    url
}

/// A port nothing listens on.
pub fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// What `run_k6` sent, as the receiver decoded it: every value, bucket total, attribute and
/// resource attribute; every request arrived over `transport`.
pub fn check_k6_run(pts: &[Value], transport: &str, base: &str) {
    // every request arrived over the transport under test
    let recv = received(base);
    assert!(!recv.is_empty());
    assert!(recv.iter().all(|r| r["transport"] == transport), "{recv:?}");

    // counters: monotonic cumulative sums, one point per attribute set, empty tags dropped
    let reqs = of(pts, "k6_http_reqs");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for p in &reqs {
        assert_eq!(p["type"], "sum");
        assert_eq!(p["monotonic"], true);
        assert_eq!(p["temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
        assert_eq!(value(p), 8.0);
        assert_eq!(p["unit"], "");
        assert!(attr(p, "group").is_none(), "empty tags are dropped: {p}");
        assert!(
            attr(p, "vu").is_none(),
            "metadata is not sent by default: {p}"
        );
        assert_eq!(p["resource"]["service.name"], "k6");
        assert_eq!(p["resource"]["loadrun.test_id"], "test-run-1");
    }
    let ok = reqs
        .iter()
        .find(|p| attr(p, "status") == Some("200"))
        .unwrap();
    assert_eq!(attr(ok, "method"), Some("GET"));
    assert_eq!(attr(ok, "testid"), Some("demo"));
    assert_eq!(attr(ok, "scenario"), Some("default"));
    let missing = reqs
        .iter()
        .find(|p| attr(p, "status") == Some("404"))
        .unwrap();
    assert_eq!(attr(missing, "name"), Some("missing"));

    // time trend: exponential histogram in ms
    let dur = of(pts, "k6_http_req_duration");
    assert_eq!(dur.len(), 2);
    let d = dur
        .iter()
        .find(|p| attr(p, "status") == Some("200"))
        .unwrap();
    assert_eq!(d["type"], "exponentialHistogram");
    assert_eq!(d["unit"], "ms");
    assert_eq!(num(&d["count"]), 8.0);
    assert_eq!(num(&d["sum"]), 36.0);
    assert_eq!(num(&d["min"]), 1.0);
    assert_eq!(num(&d["max"]), 8.0);
    assert_eq!(d["scale"], 5);
    let buckets: f64 = d["positive"]["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .sum();
    assert_eq!(buckets, 8.0);

    // a default-kind trend with zero and negative values
    let mine = of(pts, "k6_my_trend");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["unit"], "");
    assert_eq!(num(&mine[0]["zeroCount"]), 1.0);
    assert_eq!(num(&mine[0]["sum"]), -28.0);
    let neg: f64 = mine[0]["negative"]["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .sum();
    assert_eq!(neg, 7.0);

    // gauge: the last value
    let vus = of(pts, "k6_vus");
    assert_eq!(vus.len(), 1);
    assert_eq!(vus[0]["type"], "gauge");
    assert_eq!(value(vus[0]), 8.0);
    assert_eq!(vus[0]["attributes"], serde_json::json!({}));

    // rate: one counter with condition=zero|nonzero (k6 v1.4)
    let checks = of(pts, "k6_checks");
    assert_eq!(checks.len(), 2);
    let cond = |c: &str| {
        let p = checks
            .iter()
            .find(|p| attr(p, "condition") == Some(c))
            .unwrap();
        assert_eq!(attr(p, "check"), Some("status is 200"));
        assert!(p.get("asInt").is_some(), "rates are integer counters: {p}");
        value(p)
    };
    assert_eq!((cond("nonzero"), cond("zero")), (6.0, 2.0));
    let failed = of(pts, "k6_http_req_failed");
    assert_eq!(failed.iter().map(|p| value(p)).sum::<f64>(), 8.0);

    // data counter in bytes
    let sent = of(pts, "k6_data_sent");
    assert_eq!(sent[0]["unit"], "By");
    assert_eq!(value(sent[0]), 800.0);
    assert_eq!(value(of(pts, "k6_iterations")[0]), 8.0);
    assert_eq!(num(&of(pts, "k6_iteration_duration")[0]["count"]), 8.0);
}

/// Eight k6-like iterations through an output made from `arg` (metric prefix `k6_`), exported
/// once, at stop; no warnings.
pub fn run_k6(arg: &str) {
    run_k6_env(arg, &[]);
}

/// [`run_k6`] with more environment variables.
pub fn run_k6_env(arg: &str, env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("K6_OTEL_METRIC_PREFIX", "k6_"));
    let (mut out, rec) = output(arg, &env);
    let mut run = K6Run::new();
    for i in 0..8 {
        run.iteration(i, (i + 1) as f64);
    }
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    // exportInterval is an hour: only the stop exports, so this is the final flush k6 ≤ 1.3
    // loses.
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let logs: Vec<_> = rec
        .logs()
        .into_iter()
        .filter(|(_, m)| !m.contains("exportInterval"))
        .collect();
    assert!(logs.is_empty(), "{logs:?}");
}
