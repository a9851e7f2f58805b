//! `-o statsd` through the `loadrun` binary against the real Etsy StatsD daemon: what StatsD
//! flushed must add up to the run's summary export.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use loadrun_test_support::Service;
use serde_json::Value;

use crate::support::quick_run;

/// Counter totals and timer value counts over every flush, keyed as Etsy StatsD keys them
/// (DogStatsD tags folded in as `;k=v`).
#[derive(Default, Debug)]
struct Flushed {
    counters: BTreeMap<String, f64>,
    timers: BTreeMap<String, usize>,
}

impl Flushed {
    fn read(path: &str) -> Self {
        let mut f = Flushed::default();
        for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            for (k, n) in v["counters"].as_object().into_iter().flatten() {
                *f.counters.entry(k.clone()).or_default() += n.as_f64().unwrap_or(0.0);
            }
            for (k, n) in v["timers"].as_object().into_iter().flatten() {
                *f.timers.entry(k.clone()).or_default() += n.as_array().map_or(0, Vec::len);
            }
        }
        f
    }

    /// Keys of one metric: the bare name or the name followed by folded tags.
    fn keys<'a, T>(
        map: &'a BTreeMap<String, T>,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a T)> {
        map.iter()
            .filter(move |(k, _)| k.as_str() == name || k.starts_with(&format!("{name};")))
    }

    fn counter(&self, name: &str) -> f64 {
        Self::keys(&self.counters, name).map(|(_, v)| v).sum()
    }

    fn timer_values(&self, name: &str) -> usize {
        Self::keys(&self.timers, name).map(|(_, v)| v).sum()
    }
}

#[test]
fn statsd_counts_match_the_summary() {
    let Some(svc) = Service::start("statsd", &[("STATSD_FLUSH_MS", "200")]) else {
        return;
    };
    let flush_file = svc.var("STATSD_FLUSH_FILE").to_string();
    // As the README shows: `addr` and tags on the `-o` line, the push interval from k6's env name.
    let out = format!("statsd=addr={},enableTags=true", svc.var("STATSD_ADDR"));
    let run = quick_run(
        "/",
        2,
        "2s",
        &["statsd"],
        &["--rate", "50", "-o", &out],
        &[("K6_STATSD_PUSH_INTERVAL", "200ms")],
    );
    run.assert_clean();
    let reqs = run.metric("http_reqs", "count");
    let iterations = run.metric("iterations", "count");
    assert!(reqs > 0.0);
    assert_eq!(
        run.output_report("statsd")["counters"]["send_errors"]
            .as_u64()
            .unwrap_or(0),
        0
    );

    let until = Instant::now() + Duration::from_secs(10);
    let f = loop {
        let f = Flushed::read(&flush_file);
        let done = f.counter("k6.http_reqs") >= reqs && f.counter("k6.iterations") >= iterations;
        if done || Instant::now() > until {
            break f;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        f.counter("k6.http_reqs"),
        reqs,
        "{:?}",
        f.counters.keys().collect::<Vec<_>>()
    );
    assert_eq!(f.counter("k6.iterations"), iterations);
    // Every trend value is a timer value (at this rate nothing is sampled).
    assert_eq!(f.timer_values("k6.http_req_duration") as f64, reqs);
    // The tags a dashboard splits by, folded into the key by Etsy StatsD.
    let (key, _) = Flushed::keys(&f.counters, "k6.http_reqs").next().unwrap();
    for tag in [
        "method=GET",
        "status=200",
        "scenario=default",
        "expected_response=true",
    ] {
        assert!(key.split(';').any(|t| t == tag), "no {tag} in {key}");
    }
    // `url` is in the default blocklist.
    assert!(!key.contains(";url="), "{key}");
}
