//! How many samples a second the aggregator takes on one core (run with `--release --ignored`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use loadrun_metrics::{Sample, SampleConsumer};
use loadrun_summary::{Aggregator, ThresholdSet};

#[test]
#[ignore = "a measurement, not a check; run with --release -- --ignored --nocapture"]
fn samples_per_second() {
    let registry = common::registry();
    let log = common::fixture_samples(registry.clone());
    let set = ThresholdSet::parse(&BTreeMap::new()).unwrap();
    let (mut agg, _handle) = Aggregator::new(registry.clone(), set);
    // The fixture's 100-odd samples, over and over, in 1024-sample chunks with varied values.
    let mut chunk: Vec<Sample> = Vec::with_capacity(1024);
    let total = 20_000_000usize;
    let start = Instant::now();
    for i in 0..total {
        let mut s = log.samples[i % log.samples.len()];
        s.value *= 1.0 + (i % 1000) as f64 / 1000.0;
        chunk.push(s);
        if chunk.len() == 1024 {
            agg.consume(&registry, &chunk);
            chunk.clear();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{:.1} M samples/s", total as f64 / secs / 1e6);
}
