//! Hot paths of sample recording: `cargo bench -p loadrun-metrics --bench micro`.
//!
//! - a VU's `LocalBuffer::push` through the channel to the collector thread, measured until
//!   the collector has handed every sample to its consumer (so a slow collector shows);
//! - `Registry::series`, on a hit (every request after the first of its series) and on a miss
//!   (a new URL: a new series).

#[path = "../../scripts/micro/timer.rs"]
mod timer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loadrun_metrics::{Collector, MetricType, Registry, Sample, SampleConsumer, ValueKind};
use timer::{bench, borrow, http_tags};

const CRATE: &str = "metrics";

/// Counts samples, as cheaply as a consumer can, so the figure is the pipeline's own cost.
struct Count(Arc<AtomicU64>);

impl SampleConsumer for Count {
    fn consume(&mut self, _: &Registry, samples: &[Sample]) {
        self.0.fetch_add(samples.len() as u64, Ordering::Relaxed);
    }
}

fn recording() {
    const N: usize = 100_000;
    let registry = Arc::new(Registry::new());
    let m = registry.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let series = registry.series(m, &borrow(&http_tags(0)), &[]).0;
    let seen = Arc::new(AtomicU64::new(0));
    let Ok(collector) = Collector::spawn(
        registry,
        vec![Box::new(Count(seen.clone()))],
        Duration::from_millis(100),
    ) else {
        eprintln!("metrics bench: cannot spawn the collector thread");
        return;
    };
    let sender = collector.sender();
    for capacity in [256usize, 1024, 8192] {
        let mut buf = sender.buffer(capacity);
        let case = format!("LocalBuffer::push → collector (buffer {capacity})");
        bench(CRATE, &case, N as u64, || {
            for i in 0..N {
                buf.push(Sample::new(series, i as i64, 1.5));
            }
            buf.flush();
            sender.barrier();
        });
    }
    // The VU's side only: the collector drains concurrently on the other core, and pushes
    // back only when it falls 4096 chunks behind.
    let mut buf = sender.buffer(1024);
    bench(
        CRATE,
        "LocalBuffer::push, VU side (buffer 1024)",
        1000,
        || {
            for i in 0..1000 {
                buf.push(Sample::new(series, i, 1.5));
            }
        },
    );
    drop(buf);
    sender.barrier();
    drop(sender);
    let _ = collector.finish();
}

fn interning() {
    let registry = Registry::new();
    let m = registry.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let tags = http_tags(7);
    let tags = borrow(&tags);
    let meta = [("vu", "12"), ("iter", "345")];
    let _ = registry.series(m, &tags, &meta);
    bench(
        CRATE,
        "Registry::series hit (7 tags + 2 metadata)",
        1,
        || registry.series(m, &tags, &meta),
    );
    bench(CRATE, "Registry::series hit (7 tags)", 1, || {
        registry.series(m, &tags, &[])
    });

    const NEW: usize = 10_000;
    let all: Vec<Vec<(String, String)>> = (0..NEW).map(http_tags).collect();
    let all: Vec<Vec<(&str, &str)>> = all.iter().map(|t| borrow(t)).collect();
    bench(
        CRATE,
        "Registry::series miss (7 tags, 10k new series)",
        NEW as u64,
        || {
            let registry = Registry::new();
            let m = registry.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
            for tags in &all {
                std::hint::black_box(registry.series(m, tags, &[]));
            }
            registry
        },
    );
}

fn main() {
    recording();
    interning();
}
