//! Remote-write encoding: `cargo bench -p loadrun-remote-write --bench micro`.
//!
//! - the trend histogram's insert (`sketch::Sketch::add`, also the native-histogram source);
//! - folding samples into the cumulative per-series state (`aggregate::Aggregator::add`);
//! - one push: protobuf `WriteRequest`, snappy, and the request splitter that does both,
//!   for k6's default trend stats and for native histograms.

#[path = "../../../scripts/micro/timer.rs"]
mod timer;

use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::{Catalog, MetricType, Sample, ValueKind};
use loadrun_remote_write::aggregate::{AggConfig, Aggregator};
use loadrun_remote_write::naming::parse_trend_stats;
use loadrun_remote_write::proto::{encode_write_request, snappy_compress};
use loadrun_remote_write::sketch::{new_sketch, DEFAULT_SCHEMA};
use loadrun_remote_write::split::encode_requests;
use timer::{bench, borrow, http_tags, latencies};

const CRATE: &str = "loadrun-remote-write";
const SERIES: usize = 100;
const SAMPLES: usize = 9_999;

fn workload() -> (Catalog, Vec<Sample>) {
    let mut b = BatchBuilder::new();
    let duration = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let mut ids = Vec::new();
    for i in 0..SERIES {
        let tags = http_tags(i);
        let tags = borrow(&tags);
        ids.push([
            b.series(duration, &tags, &[]),
            b.series(reqs, &tags, &[]),
            b.series(failed, &tags, &[]),
        ]);
    }
    let values = latencies(SAMPLES);
    for i in 0..SAMPLES / 3 {
        let [d, r, f] = ids[i % SERIES];
        let t = 1_700_000_000_000_000_000 + i as i64 * 1_000_000;
        b.sample(d, t, values[i])
            .sample(r, t, 1.0)
            .sample(f, t, 0.0);
    }
    let mut catalog = Catalog::new();
    catalog.absorb(&b.batch());
    let samples = b.batch().samples.to_vec();
    (catalog, samples)
}

fn main() {
    let values = latencies(100_000);
    let mut sketch = new_sketch(DEFAULT_SCHEMA);
    bench(CRATE, "sketch::Sketch::add", values.len() as u64, || {
        for v in &values {
            sketch.add(*v);
        }
    });

    let (catalog, samples) = workload();
    let stats: Vec<String> = ["p(99)"].iter().map(|s| s.to_string()).collect();
    let Ok(trend_stats) = parse_trend_stats(&stats) else {
        eprintln!("loadrun-remote-write bench: trend stats do not parse");
        return;
    };
    let configs = [
        (
            "k6 stats p(99)",
            AggConfig {
                trend_stats,
                native_histogram_schema: None,
                metadata_as_labels: false,
                extra_labels: Vec::new(),
            },
        ),
        (
            "native histograms",
            AggConfig {
                trend_stats: Vec::new(),
                native_histogram_schema: Some(DEFAULT_SCHEMA),
                metadata_as_labels: false,
                extra_labels: Vec::new(),
            },
        ),
    ];
    for (label, cfg) in configs {
        let mut agg = Aggregator::new(cfg.clone());
        agg.add(&catalog, &samples);
        bench(
            CRATE,
            &format!("Aggregator::add ({label}, 10k samples)"),
            samples.len() as u64,
            || agg.add(&catalog, &samples),
        );
        agg.add(&catalog, &samples);
        let series = agg.snapshot();
        let n = series.len() as u64;
        let raw = encode_write_request(&series);
        bench(
            CRATE,
            &format!(
                "protobuf WriteRequest ({label}, {n} series, {} B)",
                raw.len()
            ),
            n,
            || encode_write_request(&series),
        );
        bench(
            CRATE,
            &format!("snappy ({label}, {} B)", raw.len()),
            n,
            || snappy_compress(&raw),
        );
        bench(
            CRATE,
            &format!("encode_requests = protobuf+snappy ({label}, {n} series)"),
            n,
            || encode_requests(&series, 2000, 2 * 1024 * 1024),
        );
    }
}
