//! Histogram insert for the end-of-test summary: `cargo bench -p loadrun-summary --bench micro`.
//!
//! - `TrendAccumulator::add` while it keeps raw values (the first 1024 of a series) and once it has
//!   switched to the sketch (every value after that, for the rest of the run);
//! - the summary's collector-side consumer (`Aggregator::consume`) over a chunk of k6-like
//!   samples: series lookup, accumulator per series, then the insert.

#[path = "../../scripts/micro/timer.rs"]
mod timer;

use std::sync::Arc;

use loadrun_metrics::{MetricType, Registry, Sample, SampleConsumer, ValueKind};
use loadrun_summary::accumulator::{TrendAccumulator, EXACT_CAP};
use loadrun_summary::{Aggregator, ThresholdSet};
use timer::{bench, borrow, http_tags, latencies};

const CRATE: &str = "summary";

fn trend_accumulator() {
    let values = latencies(100_000);
    let exact = &values[..EXACT_CAP];
    bench(
        CRATE,
        "TrendAccumulator::add, exact (first 1024)",
        exact.len() as u64,
        || {
            let mut acc = TrendAccumulator::default();
            for v in exact {
                acc.add(*v);
            }
            acc
        },
    );
    let mut acc = TrendAccumulator::default();
    for v in &values {
        acc.add(*v);
    }
    bench(
        CRATE,
        "TrendAccumulator::add, sketch",
        values.len() as u64,
        || {
            for v in &values {
                acc.add(*v);
            }
        },
    );
}

fn aggregator() {
    const SERIES: usize = 100;
    const CHUNK: usize = 10_000;
    let registry = Arc::new(Registry::new());
    let duration = registry.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let reqs = registry.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let failed = registry.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let mut ids = Vec::new();
    for i in 0..SERIES {
        let tags = http_tags(i);
        let tags = borrow(&tags);
        ids.push([
            registry.series(duration, &tags, &[]).0,
            registry.series(reqs, &tags, &[]).0,
            registry.series(failed, &tags, &[]).0,
        ]);
    }
    let values = latencies(CHUNK);
    // One request = its duration, a count and a failed=false, as k6 emits them.
    let samples: Vec<Sample> = (0..CHUNK / 3)
        .flat_map(|i| {
            let [d, r, f] = ids[i % SERIES];
            let t = i as i64 * 1_000;
            [
                Sample::new(d, t, values[i]),
                Sample::new(r, t, 1.0),
                Sample::new(f, t, 0.0),
            ]
        })
        .collect();
    let (mut agg, _handle) = Aggregator::new(registry.clone(), ThresholdSet::default());
    bench(
        CRATE,
        "Aggregator::consume (trend+counter+rate, 100 series)",
        samples.len() as u64,
        || agg.consume(&registry, &samples),
    );
}

fn main() {
    trend_accumulator();
    aggregator();
}
