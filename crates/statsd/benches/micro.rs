//! StatsD encoding: `cargo bench -p loadrun-statsd --bench micro`.
//!
//! One push interval of k6-like HTTP samples (100 series of duration, count, failed and a
//! check), in the steps the output runs: fold into the interval's cells, map to entries, encode
//! lines, pack into 1432-byte datagrams. No socket: the transport is a `send` per datagram.

#[path = "../../../scripts/micro/timer.rs"]
mod timer;

use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::{Catalog, MetricType, Sample, ValueKind};
use loadrun_statsd::config::DEFAULT_BUFFER_SIZE;
use loadrun_statsd::{line, mapping, packer, Aggregator, MappingConfig};
use timer::{bench, borrow, http_tags, latencies};

const CRATE: &str = "loadrun-statsd";
const SERIES: usize = 100;
const SAMPLES: usize = 10_000;

fn workload() -> (Catalog, Vec<Sample>) {
    let mut b = BatchBuilder::new();
    let duration = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let mut ids = Vec::new();
    for i in 0..SERIES {
        let tags = http_tags(i);
        let tags = borrow(&tags);
        let check = [("check", "status is 200"), ("scenario", "default")];
        ids.push([
            b.series(duration, &tags, &[]),
            b.series(reqs, &tags, &[]),
            b.series(failed, &tags, &[]),
            b.series(checks, &check, &[]),
        ]);
    }
    let values = latencies(SAMPLES);
    for i in 0..SAMPLES / 4 {
        let [d, r, f, c] = ids[i % SERIES];
        let t = i as i64 * 1_000;
        b.sample(d, t, values[i])
            .sample(r, t, 1.0)
            .sample(f, t, 0.0)
            .sample(c, t, 1.0);
    }
    let mut catalog = Catalog::new();
    catalog.absorb(&b.batch());
    let samples = b.batch().samples.to_vec();
    (catalog, samples)
}

fn main() {
    let (catalog, samples) = workload();
    let plain = MappingConfig::default();
    let dogstatsd = MappingConfig {
        enable_tags: true,
        ..MappingConfig::default()
    };

    bench(
        CRATE,
        "Aggregator::add (10k samples)",
        SAMPLES as u64,
        || {
            let mut agg = Aggregator::new(plain.max_trend_samples);
            for s in &samples {
                agg.add(&catalog, s);
            }
            agg.drain()
        },
    );

    for (label, cfg) in [("statsd", &plain), ("dogstatsd tags", &dogstatsd)] {
        let mut agg = Aggregator::new(cfg.max_trend_samples);
        for s in &samples {
            agg.add(&catalog, s);
        }
        let entries = mapping::entries(cfg, &catalog, agg.drain());
        let units = line::encode_all(cfg, &entries);
        let n = units.len() as u64;
        bench(
            CRATE,
            &format!("line::encode_all ({label}, {n} lines)"),
            n,
            || line::encode_all(cfg, &entries),
        );
        bench(
            CRATE,
            &format!("interval → datagrams ({label}, 10k samples)"),
            SAMPLES as u64,
            || {
                let mut agg = Aggregator::new(cfg.max_trend_samples);
                for s in &samples {
                    agg.add(&catalog, s);
                }
                let entries = mapping::entries(cfg, &catalog, agg.drain());
                packer::pack_datagrams(line::encode_all(cfg, &entries), DEFAULT_BUFFER_SIZE)
            },
        );
    }
}
