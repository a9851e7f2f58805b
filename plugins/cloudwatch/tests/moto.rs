#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Against a real moto server with SigV4 verification on: the plugin's signed PutMetricData
//! requests are read back with boto3 (an independent signer) and compared with what was sent.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use loadrun_plugin_api::testkit::{completed_outcome, init, now_ns, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::services::Service;
use out_cloudwatch::CloudWatchPlugin;
use serde_json::{json, Value};

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("moto_client.py")
}

fn python() -> String {
    std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn run_helper(args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(helper())
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "moto_client.py {:?}: {}",
        &args[1..2],
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json from moto_client.py")
}

/// moto with signature checking: 3 free calls create the IAM user and key, then every request
/// must be signed with that key.
fn start_moto() -> Option<(Service, String, String)> {
    let svc = Service::start("moto", &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")])?;
    let keys = run_helper(&[svc.var("MOTO_URL"), "setup"]);
    let key = keys["key"].as_str().unwrap().to_string();
    let secret = keys["secret"].as_str().unwrap().to_string();
    Some((svc, key, secret))
}

fn env<'a>(url: &'a str, key: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AWS_ENDPOINT_URL", url),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1"),
        ("HOME", "/nonexistent"),
    ]
}

fn now_secs() -> i64 {
    now_ns() / NS
}

const NS: i64 = 1_000_000_000;

#[test]
fn put_metrics_read_back_with_signatures_checked() {
    let Some((svc, key, secret)) = start_moto() else {
        return;
    };
    let url = svc.var("MOTO_URL").to_string();
    let (mut output, rec) = started::<CloudWatchPlugin>(init(
        "cloudwatch",
        Some("namespace=loadrun/test,storageResolution=1,period=1s,dimensions=method|status|name"),
        "",
        &env(&url, &key, &secret),
    ));

    // Five seconds of a small test, two minutes ago so every period is closed at once.
    let t0 = (now_secs() - 120) / 60 * 60;
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let ok = [("method", "GET"), ("status", "200"), ("url", "http://t/a")];
    let r_ok = b.series(reqs, &ok, &[]);
    // Differs only by `url`, which is not a dimension: folds into the same datum.
    let r_ok2 = b.series(
        reqs,
        &[("method", "GET"), ("status", "200"), ("url", "http://t/b")],
        &[],
    );
    let r_err = b.series(reqs, &[("method", "POST"), ("status", "500")], &[]);
    let d_ok = b.series(dur, &ok, &[]);
    let f_ok = b.series(failed, &[("method", "GET")], &[]);
    let v = b.series(vus, &[], &[]);
    let mut total_ok = 0.0;
    let mut dur_sum = 0.0;
    let mut dur_n = 0u64;
    let mut fails = 0.0;
    let mut rate_n = 0u64;
    for sec in 0..5i64 {
        for i in 0..40i64 {
            let t = (t0 + sec) * NS + i * 20_000_000;
            let series = if i % 2 == 0 { r_ok } else { r_ok2 };
            b.sample(series, t, 1.0);
            total_ok += 1.0;
            let d = 5.0 + (sec * 40 + i) as f64 * 0.25;
            // All in one period: 200 distinct values, more than the 150 a datum may carry.
            b.sample(d_ok, t0 * NS + (sec * 40 + i) * 1_000_000, d);
            dur_sum += d;
            dur_n += 1;
            let f = if i % 10 == 0 { 1.0 } else { 0.0 };
            b.sample(f_ok, t, f);
            fails += f;
            rate_n += 1;
        }
        b.sample(r_err, (t0 + sec) * NS, 2.0);
        b.sample(v, (t0 + sec) * NS + 500_000_000, (sec + 1) as f64);
    }
    // Many `name` values: one metric each.
    let names = b.metric("iterations", MetricType::Counter, ValueKind::Default);
    for i in 0..300 {
        let name = format!("http://t/page/{i:04}");
        let s = b.series(names, &[("name", name.as_str())], &[]);
        b.sample(s, t0 * NS, 1.0);
    }
    assert_eq!(output.write(b.batch()), WriteStatus::Ok);
    output
        .stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert!(
        rec.counter("datums_sent") > 300,
        "{}",
        rec.counter("datums_sent")
    );

    let query = json!({
        "namespace": "loadrun/test",
        "start": t0 - 60,
        "end": t0 + 60,
        "stats": [
            {"name": "http_reqs", "dims": {"method": "GET", "status": "200"}},
            {"name": "http_reqs", "dims": {"method": "POST", "status": "500"}},
            {"name": "http_req_duration", "dims": {"method": "GET", "status": "200"}},
            {"name": "http_req_failed", "dims": {"method": "GET"}},
            {"name": "vus", "dims": {}},
            {"name": "iterations", "dims": {"name": "http://t/page/0299"}},
        ],
        "list": true,
    });
    let got = run_helper(&[&url, "read", &key, &secret, &query.to_string()]);
    let stat = |i: usize, k: &str| -> f64 {
        let points = got["stats"][i].as_array().unwrap();
        assert_eq!(points.len(), 1, "stats[{i}]: {points:?}");
        points[0][k].as_f64().unwrap()
    };
    assert_eq!(stat(0, "Sum"), total_ok);
    assert_eq!(stat(1, "Sum"), 10.0);
    assert_eq!(stat(2, "SampleCount"), dur_n as f64);
    assert!(
        (stat(2, "Sum") - dur_sum).abs() < 1e-6,
        "{} vs {dur_sum}",
        stat(2, "Sum")
    );
    assert_eq!(stat(2, "Minimum"), 5.0);
    assert_eq!(stat(2, "Maximum"), 5.0 + 199.0 * 0.25);
    assert_eq!(stat(3, "SampleCount"), rate_n as f64);
    assert_eq!(stat(3, "Sum"), fails);
    assert!((stat(3, "Average") - fails / rate_n as f64).abs() < 1e-9);
    assert_eq!(stat(4, "Maximum"), 5.0);
    assert_eq!(stat(5, "Sum"), 1.0);

    let metrics = got["metrics"].as_array().unwrap();
    let has = |name: &str, dims: Value| metrics.iter().any(|m| m[0] == name && m[1] == dims);
    assert!(
        has("http_reqs", json!({"method": "GET", "status": "200"})),
        "{metrics:?}"
    );
    assert!(has("vus", json!({})), "{metrics:?}");
    assert!(
        !metrics.iter().any(|m| m[1].get("url").is_some()),
        "url is not in the dimension allowlist: {metrics:?}"
    );
    assert_eq!(
        metrics.iter().filter(|m| m[0] == "iterations").count(),
        300,
        "one metric per name"
    );
    assert!(rec.logs().iter().all(|(_, l)| !l.contains(&secret)));
}

#[test]
fn wrong_secret_is_fatal_clear_and_secret_free() {
    let Some((svc, key, secret)) = start_moto() else {
        return;
    };
    let url = svc.var("MOTO_URL").to_string();
    let wrong = format!("{}WRONG", &secret[..secret.len() - 5]);
    let (mut output, rec) =
        started::<CloudWatchPlugin>(init("cloudwatch", None, "", &env(&url, &key, &wrong)));
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    b.sample(s, (now_secs() - 600) * NS, 1.0);
    match output.write(b.batch()) {
        WriteStatus::Fatal(e) => {
            let msg = e.to_string();
            assert!(msg.contains("403"), "{msg}");
            assert!(msg.contains("SignatureDoesNotMatch"), "{msg}");
            assert!(msg.contains(&key), "names the access key id: {msg}");
            assert!(!msg.contains(&wrong) && !msg.contains(&secret), "{msg}");
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
    assert!(rec.logs().iter().all(|(_, l)| !l.contains(&wrong)));
}

/// moto without signature checking (the down/up cycle loses its IAM state), with gzip on:
/// moto's server inflates bodies before it checks signatures, so gzip is only testable here.
#[test]
fn server_down_is_retry_and_nothing_is_lost_on_recovery() {
    let Some(svc) = Service::start("moto", &[]) else {
        return;
    };
    let url = svc.var("MOTO_URL").to_string();
    let (mut output, _rec) = started::<CloudWatchPlugin>(init(
        "cloudwatch",
        Some("namespace=down,gzip=true,dimensions=name"),
        "",
        &env(&url, "testing", "testing"),
    ));
    svc.stop();

    let t0 = (now_secs() - 600) / 60 * 60;
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    // Enough series for a body over 10 KiB, which is sent gzipped.
    let series: Vec<u32> = (0..200)
        .map(|i| b.series(m, &[("name", format!("http://t/{i:03}").as_str())], &[]))
        .collect();
    for s in &series {
        b.sample(*s, t0 * NS, 3.0);
    }
    // Taken and aggregated; the send fails and the request stays queued in the plugin.
    assert_eq!(output.write(b.batch()), WriteStatus::Ok);
    b.clear_samples();
    b.sample(series[0], t0 * NS, 4.0);
    // While the queue is blocked, new batches are refused whole, for the host to retry (with
    // its own backoff), each time with the same reason so the host says it once.
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let status = output.write(b.samples_only());
        let Some(reason) = status.retry_reason() else {
            panic!("expected Retry, got {status:?}")
        };
        assert!(reason.contains("PutMetricData"), "{reason}");
        assert_eq!(status.retry_delay(), None);
        reasons.push(reason.to_string());
    }
    assert_eq!(reasons[0], reasons[1]);

    svc.restart();
    // The host re-sends the refused batch after its backoff; it is taken once the queue drains.
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match output.write(b.samples_only()) {
            WriteStatus::Ok => break,
            WriteStatus::Retry { .. } if std::time::Instant::now() < give_up => {
                std::thread::sleep(Duration::from_millis(100))
            }
            other => panic!("expected recovery, got {other:?}"),
        }
    }
    output
        .stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();

    let query = json!({
        "namespace": "down",
        "start": t0 - 60,
        "end": t0 + 60,
        "stats": [
            {"name": "http_reqs", "dims": {"name": "http://t/000"}},
            {"name": "http_reqs", "dims": {"name": "http://t/199"}},
        ],
    });
    let got = run_helper(&[&url, "read", "testing", "testing", &query.to_string()]);
    let sum = |i: usize| -> f64 {
        got["stats"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Sum"].as_f64().unwrap())
            .sum()
    };
    assert_eq!(sum(0), 7.0, "{got}");
    assert_eq!(sum(1), 3.0, "{got}");
}

#[test]
fn stop_reports_what_could_not_be_delivered() {
    let Some((svc, key, secret)) = start_moto() else {
        return;
    };
    let url = svc.var("MOTO_URL").to_string();
    let (mut output, rec) =
        started::<CloudWatchPlugin>(init("cloudwatch", None, "", &env(&url, &key, &secret)));
    svc.stop();
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[], &[]);
    b.sample(s, now_secs() * NS, 1.0)
        .sample(s, now_secs() * NS, 2.0);
    // The period is still open: nothing is sent yet.
    assert_eq!(output.write(b.batch()), WriteStatus::Ok);
    let e = output
        .stop(&completed_outcome(), Duration::from_millis(600))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1 datum(s) (2 samples) in 1 request(s) not delivered"),
        "{e}"
    );
    assert!(!e.contains(&secret), "{e}");
    // In samples, so the host takes them out of `written`.
    assert_eq!(rec.counter("samples_lost"), 2);
}
