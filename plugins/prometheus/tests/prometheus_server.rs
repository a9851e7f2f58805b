//! The `prometheus` output against a real Prometheus 2.42 (remote-write receiver on): push
//! through the plugin, read back with the query API, compare with what was sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use loadrun_plugin_api::abi::LogLevel;
use loadrun_plugin_api::testkit::{
    completed_outcome, init, now_ns, recording_host, started, BatchBuilder,
};
use loadrun_plugin_api::{MetricType, Output, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::http_get::get_json;
use loadrun_test_support::services::Service;
use out_prometheus::PrometheusPlugin;

/// `(labels, value)` of each series an instant query returns.
fn query(base: &str, q: &str) -> Vec<(serde_json::Value, f64)> {
    let resp = get_json(&format!("{base}/api/v1/query"), &[("query", q)]).unwrap();
    assert_eq!(resp["status"], "success", "{resp}");
    resp["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
            (r["metric"].clone(), v)
        })
        .collect()
}

fn single(base: &str, q: &str) -> f64 {
    let r = query(base, q);
    assert_eq!(r.len(), 1, "{q}: {r:?}");
    r[0].1
}

/// k6's trend-sink percentile.
fn k6_percentile(values: &[f64], pct: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let r = pct / 100.0 * (v.len() - 1) as f64;
    let (j, k) = (v[r.floor() as usize], v[r.ceil() as usize]);
    j + (k - j) * (r - r.floor())
}

/// Latency-like values in ms, skewed, deterministic.
fn latencies(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = ((i * 7919) % n) as f64 / n as f64;
            1.0 + 2.0 * (x * 5.5).exp()
        })
        .collect()
}

struct Run {
    b: BatchBuilder,
    reqs: u32,
    dur: u32,
    failed: u32,
    vus: u32,
    custom: u32,
}

/// http_reqs, http_req_duration, http_req_failed, vus and a counter with a `test-id` tag.
fn define() -> Run {
    let mut b = BatchBuilder::new();
    let tags = [
        ("method", "GET"),
        ("name", "http://127.0.0.1:8080/"),
        ("scenario", "default"),
        ("status", "200"),
        ("group", ""),
    ];
    let m_reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let m_dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let m_failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let m_vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let m_custom = b.metric("my_counter", MetricType::Counter, ValueKind::Default);
    let meta = [("vu", "1"), ("iter", "0")];
    Run {
        reqs: b.series(m_reqs, &tags, &meta),
        dur: b.series(m_dur, &tags, &meta),
        failed: b.series(m_failed, &tags, &meta),
        vus: b.series(m_vus, &[], &[]),
        custom: b.series(m_custom, &[("test-id", "42"), ("1st", "x")], &meta),
        b,
    }
}

/// Feeds `values` as requests in `chunks` batches through `out`, a push after each batch.
fn feed(out: &mut dyn Output, run: &mut Run, values: &[f64], chunks: usize) {
    let t0 = now_ns() - 20_000_000_000;
    let per = values.len().div_ceil(chunks);
    for (c, part) in values.chunks(per).enumerate() {
        run.b.clear_samples();
        for (i, v) in part.iter().enumerate() {
            let t = t0 + ((c * per + i) as i64) * 1_000_000;
            run.b.sample(run.reqs, t, 1.0);
            run.b.sample(run.dur, t, *v);
            run.b.sample(
                run.failed,
                t,
                match (c * per + i) % 10 {
                    0 => 1.0,
                    _ => 0.0,
                },
            );
            run.b.sample(run.custom, t, 2.0);
        }
        run.b
            .sample(run.vus, t0 + (c as i64) * 1_000_000, (c + 1) as f64);
        let batch = if c == 0 {
            run.b.batch()
        } else {
            run.b.samples_only()
        };
        assert_eq!(out.write(batch), WriteStatus::Ok);
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn counters_trend_stats_and_labels_read_back() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let arg = format!(
        "url={},pushInterval=1ms,trendStats=p(99),p(90),avg,med,min,max,count,sum",
        svc.var("PROMETHEUS_RW_URL")
    );
    let (mut out, rec) = started::<PrometheusPlugin>(init("prometheus", Some(&arg), "", &[]));
    let mut run = define();
    let values = latencies(5000);
    feed(out.as_mut(), &mut run, &values, 8);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    let warnings: Vec<_> = rec
        .logs()
        .into_iter()
        .filter(|(l, _)| *l <= LogLevel::Warn)
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}\n{}", svc.log());
    assert!(rec.counter("requests") >= 8, "several pushes happened");

    let n = values.len() as f64;
    assert_eq!(single(&base, "k6_http_reqs_total"), n);
    assert_eq!(single(&base, "k6_http_req_duration_count"), n, "a count");
    assert_eq!(single(&base, "k6_my_counter_total"), 2.0 * n);
    assert_eq!(single(&base, "k6_vus"), 8.0, "gauge: last value");
    assert_eq!(single(&base, "k6_http_req_failed_rate"), 0.1);
    let sum_s: f64 = values.iter().sum::<f64>() / 1000.0;
    assert!((single(&base, "k6_http_req_duration_sum") - sum_s).abs() < 1e-6);
    assert!((single(&base, "k6_http_req_duration_avg") - sum_s / n).abs() < 1e-9);
    let min = values.iter().cloned().fold(f64::MAX, f64::min) / 1000.0;
    let max = values.iter().cloned().fold(f64::MIN, f64::max) / 1000.0;
    assert_eq!(single(&base, "k6_http_req_duration_min"), min);
    assert_eq!(single(&base, "k6_http_req_duration_max"), max);
    for (series, pct) in [("p99", 99.0), ("p90", 90.0), ("med", 50.0)] {
        let want = k6_percentile(&values, pct) / 1000.0;
        let got = single(&base, &format!("k6_http_req_duration_{series}"));
        assert!(
            ((got - want) / want).abs() < 0.01,
            "{series}: got {got}, k6 would say {want}"
        );
    }

    // Labels: sorted tags, empty `group` dropped, names sanitised, no vu/iter.
    let r = query(&base, "k6_http_reqs_total");
    let labels = r[0].0.as_object().unwrap();
    let names: Vec<&str> = labels.keys().map(String::as_str).collect();
    assert_eq!(names, ["__name__", "method", "name", "scenario", "status"]);
    let r = query(&base, r#"k6_my_counter_total{test_id="42",_1st="x"}"#);
    assert_eq!(r.len(), 1, "test-id → test_id, 1st → _1st");

    // Every name k6's dashboards look for, and no others.
    let names = get_json(&format!("{base}/api/v1/label/__name__/values"), &[]).unwrap();
    let names: Vec<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "k6_http_req_duration_avg",
            "k6_http_req_duration_count",
            "k6_http_req_duration_max",
            "k6_http_req_duration_med",
            "k6_http_req_duration_min",
            "k6_http_req_duration_p90",
            "k6_http_req_duration_p99",
            "k6_http_req_duration_sum",
            "k6_http_req_failed_rate",
            "k6_http_reqs_total",
            "k6_my_counter_total",
            "k6_vus",
        ]
    );
}

#[test]
fn native_histograms_and_stale_markers() {
    let Some(svc) = Service::start(
        "prometheus",
        &[("PROMETHEUS_FEATURES", "native-histograms")],
    ) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let env = [
        ("K6_PROMETHEUS_RW_SERVER_URL", svc.var("PROMETHEUS_RW_URL")),
        ("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true"),
        ("K6_PROMETHEUS_RW_STALE_MARKERS", "true"),
        ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "1ms"),
    ];
    let (mut out, rec) =
        started::<PrometheusPlugin>(init("experimental-prometheus-rw", None, "", &env));
    let mut run = define();
    let values = latencies(2000);
    feed(out.as_mut(), &mut run, &values, 4);
    out.flush(Duration::from_secs(10)).unwrap();
    assert!(rec.logs().is_empty(), "{:?}", rec.logs());

    let n = values.len() as f64;
    assert_eq!(
        single(&base, "histogram_count(k6_http_req_duration_seconds)"),
        n
    );
    let sum_s: f64 = values.iter().sum::<f64>() / 1000.0;
    let got_sum = single(&base, "histogram_sum(k6_http_req_duration_seconds)");
    assert!((got_sum - sum_s).abs() < 1e-6, "{got_sum} vs {sum_s}");
    // Schema 3 buckets are 9 % wide and Prometheus interpolates inside one.
    let want = k6_percentile(&values, 99.0) / 1000.0;
    let got = single(
        &base,
        "histogram_quantile(0.99, k6_http_req_duration_seconds)",
    );
    assert!(((got - want) / want).abs() < 0.09, "p99 {got} vs {want}");
    assert_eq!(single(&base, "k6_http_reqs_total"), n);

    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    for q in [
        "k6_http_reqs_total",
        "k6_http_req_duration_seconds",
        "k6_vus",
    ] {
        assert!(query(&base, q).is_empty(), "{q} should be stale");
    }
    assert!(rec.logs().is_empty(), "{:?}", rec.logs());
}

#[test]
fn dead_server_is_a_quick_retry_not_a_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens there now
    let arg = format!("url=http://127.0.0.1:{port}/api/v1/write,pushInterval=1ms,timeout=2s");
    let (mut out, _rec) = started::<PrometheusPlugin>(init("prometheus", Some(&arg), "", &[]));
    let mut run = define();
    run.b.sample(run.reqs, now_ns(), 1.0);
    assert_eq!(
        out.write(run.b.batch()),
        WriteStatus::Ok,
        "nothing to push yet"
    );
    std::thread::sleep(Duration::from_millis(2));
    let t = Instant::now();
    for _ in 0..3 {
        match out.write(run.b.samples_only()) {
            WriteStatus::Retry { reason, .. } => {
                assert!(reason.contains("127.0.0.1"), "{reason}")
            }
            other => panic!("expected Retry, got {other:?}"),
        }
    }
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let t = Instant::now();
    let e = out
        .stop(&completed_outcome(), Duration::from_millis(500))
        .unwrap_err();
    assert!(e.message.contains("not delivered"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn a_rejected_push_reports_prometheus_message_once() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let arg = format!("url={},pushInterval=1ms", svc.var("PROMETHEUS_RW_URL"));
    // A first writer puts the series at "now".
    let mut a = PrometheusPlugin::new_output(init("prometheus", Some(&arg), "", &[])).unwrap();
    a.start(recording_host().0).unwrap();
    let mut run = define();
    run.b.sample(run.reqs, now_ns(), 1.0);
    assert_eq!(a.write(run.b.batch()), WriteStatus::Ok);
    a.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();

    // A second writer sends the same series 30 minutes in the past: out of order.
    let (mut b, rec) = started::<PrometheusPlugin>(init("prometheus", Some(&arg), "", &[]));
    let old = now_ns() - 30 * 60 * 1_000_000_000;
    let mut first = true;
    for i in 0..3 {
        run.b.clear_samples();
        run.b.sample(run.reqs, old + i * 1_000_000, 1.0);
        let batch = if first {
            run.b.batch()
        } else {
            run.b.samples_only()
        };
        first = false;
        assert_eq!(
            b.write(batch),
            WriteStatus::Ok,
            "a 400 is dropped, not retried"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    b.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let warnings: Vec<String> = rec
        .logs()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Warn)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("400"), "{}", warnings[0]);
    assert!(warnings[0].contains("out of order"), "{}", warnings[0]);
    assert_eq!(rec.counter("rejected_series"), 3);
}
