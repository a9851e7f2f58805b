//! `-o statsd` against the real Etsy StatsD daemon: what it aggregated (read back from its flush
//! file) must equal what was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::Service;
use out_statsd::StatsdPlugin;
use serde_json::Value;

const T: i64 = 1_795_608_192_000_000_000;

#[derive(Default, Debug)]
struct Flushed {
    counters: BTreeMap<String, f64>,
    gauges: BTreeMap<String, f64>,
    timers: BTreeMap<String, Vec<f64>>,
}

/// Sums counters, keeps the last gauges and concatenates timers over every flush line.
fn read_flushes(path: &str) -> Flushed {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut f = Flushed::default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        for (k, n) in v["counters"].as_object().into_iter().flatten() {
            if !k.starts_with("statsd.") {
                *f.counters.entry(k.clone()).or_default() += n.as_f64().unwrap();
            }
        }
        for (k, n) in v["gauges"].as_object().into_iter().flatten() {
            if !k.starts_with("statsd.") {
                f.gauges.insert(k.clone(), n.as_f64().unwrap());
            }
        }
        for (k, n) in v["timers"].as_object().into_iter().flatten() {
            let vals = n.as_array().unwrap().iter().map(|x| x.as_f64().unwrap());
            f.timers.entry(k.clone()).or_default().extend(vals);
        }
    }
    f
}

fn wait_for(path: &str, done: impl Fn(&Flushed) -> bool) -> Flushed {
    let start = Instant::now();
    loop {
        let f = read_flushes(path);
        if done(&f) || start.elapsed() > Duration::from_secs(10) {
            return f;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn etsy_statsd_receives_what_was_sent() {
    let Some(svc) = Service::start("statsd", &[("STATSD_FLUSH_MS", "200")]) else {
        return;
    };
    let addr = svc.var("STATSD_ADDR").to_string();
    let flush_file = svc.var("STATSD_FLUSH_FILE").to_string();
    let arg = format!("addr={addr},pushInterval=100ms,bufferSize=200");
    let (mut out, rec) = started::<StatsdPlugin>(init("statsd", Some(&arg), "{}", &[]));

    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let custom = b.metric("my_counter", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let neg = b.metric("temperature", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let s_reqs = b.series(reqs, &[("method", "GET")], &[]);
    let s_custom = b.series(custom, &[], &[]);
    let s_dur = b.series(dur, &[("method", "GET")], &[]);
    let s_vus = b.series(vus, &[], &[]);
    let s_neg = b.series(neg, &[], &[]);
    let s_check = b.series(checks, &[("check", "status is 200")], &[]);
    let s_failed = b.series(failed, &[], &[]);

    let mut durations = Vec::new();
    // Three write rounds spread over several push intervals and statsd flushes.
    for round in 0..3 {
        let mut batch = BatchBuilder {
            metrics: if round == 0 {
                b.metrics.clone()
            } else {
                Vec::new()
            },
            series: if round == 0 {
                b.series.clone()
            } else {
                Vec::new()
            },
            samples: Vec::new(),
        };
        for i in 0..20 {
            let t = T + i;
            batch.sample(s_reqs, t, 1.0);
            batch.sample(s_custom, t, 0.25);
            let d = 100.0 + round as f64 * 20.0 + i as f64 + 0.125;
            durations.push(d);
            batch.sample(s_dur, t, d);
            batch.sample(s_check, t, if i % 4 == 0 { 0.0 } else { 1.0 });
            batch.sample(s_failed, t, if i % 5 == 0 { 1.0 } else { 0.0 });
        }
        batch.sample(s_vus, T, 10.0 + round as f64);
        batch.sample(s_neg, T, -3.5);
        assert_eq!(out.write(batch.batch()), WriteStatus::Ok);
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(out.write(BatchBuilder::new().batch()), WriteStatus::Ok);
    }
    out.stop(&completed_outcome(), Duration::from_secs(2))
        .unwrap();

    let f = wait_for(&flush_file, |f| {
        f.timers.get("k6.http_req_duration").map_or(0, Vec::len) >= 60
            && f.counters.get("k6.http_reqs") == Some(&60.0)
    });
    assert_eq!(
        f.counters.get("k6.http_reqs"),
        Some(&60.0),
        "{f:?}\n{}",
        svc.log()
    );
    // k6 truncated each 0.25 to 0; the fractions add up here.
    assert_eq!(f.counters.get("k6.my_counter"), Some(&15.0));
    assert_eq!(f.counters.get("k6.check.status_is_200.pass"), Some(&45.0));
    assert_eq!(f.counters.get("k6.check.status_is_200.fail"), Some(&15.0));
    assert_eq!(f.counters.get("k6.http_req_failed"), Some(&12.0));
    assert_eq!(f.gauges.get("k6.vus"), Some(&12.0));
    // A negative gauge is an absolute value, not a delta applied to the previous one.
    assert_eq!(f.gauges.get("k6.temperature"), Some(&-3.5));
    let mut got = f
        .timers
        .get("k6.http_req_duration")
        .cloned()
        .unwrap_or_default();
    got.sort_by(f64::total_cmp);
    durations.sort_by(f64::total_cmp);
    assert_eq!(got, durations);
    assert_eq!(rec.counter("send_errors"), 0);
    assert_eq!(rec.counter("oversize_lines"), 0);
}

#[test]
fn etsy_statsd_parses_the_dogstatsd_tags() {
    let Some(svc) = Service::start("statsd", &[("STATSD_FLUSH_MS", "200")]) else {
        return;
    };
    let addr = svc.var("STATSD_ADDR").to_string();
    let flush_file = svc.var("STATSD_FLUSH_FILE").to_string();
    // k6's environment names, as a k6 user would have them set.
    let env = [
        ("K6_STATSD_ADDR", addr.as_str()),
        ("K6_STATSD_ENABLE_TAGS", "true"),
        ("K6_STATSD_NAMESPACE", "lr."),
        ("K6_STATSD_PUSH_INTERVAL", "100ms"),
    ];
    let (mut out, _rec) = started::<StatsdPlugin>(init("statsd", None, "{}", &env));
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(
        reqs,
        &[("status", "200"), ("method", "GET"), ("url", "http://x/a")],
        &[],
    );
    b.sample(s, T, 1.0).sample(s, T, 1.0);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(2))
        .unwrap();
    // Etsy statsd 0.9 folds DogStatsD tags into the key as `;k=v`, in the order sent: sorted,
    // and without the blocklisted url.
    let key = "lr.http_reqs;method=GET;status=200";
    let f = wait_for(&flush_file, |f| f.counters.contains_key(key));
    assert_eq!(f.counters.get(key), Some(&2.0), "{f:?}");
}
