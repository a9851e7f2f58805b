//! A fixed amount of export work, for instruction counts (`valgrind --tool=callgrind`,
//! `perf stat -e instructions`), which unlike the wall-clock bench do not depend on how loaded
//! the machine is. No network: samples are aggregated into series and each export is encoded
//! into the bytes the transport would send, as `benches/export.rs` does against the server.
//!
//! `cargo run --release -p out-opentelemetry --example export_work -- MODE [SERIES]
//! [SAMPLES_PER_SERIES] [EXPORTS]`, MODE one of
//! - `record`: aggregation only;
//! - `http`: aggregation, then each export as OTLP/HTTP sends it (protobuf, gzip);
//! - `grpc`: aggregation, then each export as the gRPC transport hands it to tonic, which
//!   encodes it and gzips it at its fixed level 6.
//!
//! The defaults match the bench: 2,000 series (half trends, half counters, k6's request tags),
//! delta temporality, about as many samples per series between exports as the bench sees.

use std::io::Read;

use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::{Catalog, MetricType, ValueKind};
use out_opentelemetry::aggregate::{Aggregator, Recorded};
use out_opentelemetry::config::{HistogramMode, MetadataAttrs, Temporality};
use out_opentelemetry::encoder::{encode_request, Envelope};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Record,
    Http,
    Grpc,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some("record") => Mode::Record,
        Some("http") => Mode::Http,
        Some("grpc") => Mode::Grpc,
        other => {
            eprintln!("export_work: MODE is record, http or grpc, not {other:?}");
            std::process::exit(2);
        }
    };
    let number = |i: usize, default: usize| {
        args.get(i)
            .map_or(Ok(default), |s| s.parse::<usize>())
            .unwrap_or_else(|e| {
                eprintln!("export_work: argument {i}: {e}");
                std::process::exit(2)
            })
    };
    let (series, per_series, exports) = (number(1, 2000), number(2, 900), number(3, 3));

    let mut defs = BatchBuilder::new();
    let trend = defs.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let counter = defs.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let ids: Vec<u32> = (0..series)
        .map(|i| {
            let url = format!("http://test.k6.io/item/{i}");
            let tags = [("method", "GET"), ("name", url.as_str()), ("status", "200")];
            defs.series(if i % 2 == 0 { trend } else { counter }, &tags, &[])
        })
        .collect();
    let mut catalog = Catalog::new();
    catalog.absorb(&defs.batch());

    let temporality = Temporality::Delta;
    let envelope = Envelope {
        resource: vec![("service.name".into(), "k6".into())],
        temporality,
        single_counter_for_rate: false,
    };
    let mut agg = Aggregator::new(
        "k6_".into(),
        HistogramMode::Exponential {
            max_scale: 5,
            max_buckets: 320,
        },
        MetadataAttrs::None,
    );

    let (mut n, mut recorded, mut wire_bytes, mut check) = (0u64, 0u64, 0usize, 0u64);
    for export in 0..exports {
        // One batch per round, one sample per series in it, as the bench writes them.
        for _ in 0..per_series {
            let mut b = BatchBuilder::new();
            for &id in &ids {
                n += 1;
                b.sample(id, export as i64 * 1_000_000 + 1, (n % 997) as f64 + 0.5);
            }
            for s in &b.samples {
                if agg.record(&catalog, s) == Recorded::Yes {
                    recorded += 1;
                }
            }
        }
        let due = agg.due(temporality);
        let time_ns = (export as i64 + 1) * 1_000_000;
        if mode != Mode::Record {
            let request = encode_request(&envelope, &agg, &due, time_ns);
            let bytes = wire::bytes(&request, mode == Mode::Grpc);
            wire_bytes += bytes.len();
            check = check.wrapping_add(bytes.iter().map(|&b| u64::from(b)).sum::<u64>());
        }
        agg.delivered(&due);
        agg.reset(&due, time_ns);
    }
    println!(
        "{recorded} samples, {exports} exports, {wire_bytes} bytes on the wire (check {check})"
    );
}

/// Compressed with gzip at `level`, as flate2 does for the HTTP client (1) and tonic (6).
fn gzip(body: &[u8], level: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = flate2::read::GzEncoder::new(body, flate2::Compression::new(level));
    if let Err(e) = enc.read_to_end(&mut out) {
        eprintln!("export_work: gzip: {e}");
        std::process::exit(1);
    }
    out
}

/// What the transport puts on the wire for one request, on prost types.
mod wire {
    use out_opentelemetry::otlp::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
    use prost::Message;

    pub fn bytes(request: &ExportMetricsServiceRequest, grpc: bool) -> Vec<u8> {
        if grpc {
            // The transport hands tonic an owned message; tonic-prost encodes it into its
            // buffer (`Message::encode`), then gzips it.
            let owned = request.clone();
            let mut buf = Vec::with_capacity(8 * 1024);
            if let Err(e) = owned.encode(&mut buf) {
                eprintln!("export_work: encode: {e}");
                std::process::exit(1);
            }
            super::gzip(&buf, 6)
        } else {
            loadrun_http_support::gzip(&request.encode_to_vec()).unwrap_or_default()
        }
    }
}
