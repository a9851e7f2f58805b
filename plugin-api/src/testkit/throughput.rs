//! Samples per second through an output into its server: many series and frequent exports, so
//! encoding and sending (not only aggregation) are on the path. For benchmarks, not tests.

use std::time::{Duration, Instant};

use super::{completed_outcome, init, started, BatchBuilder};
use crate::{MetricType, Plugin, ValueKind, WriteStatus};

/// The series and duration the export benchmarks share, so their figures compare.
pub const BENCH_SERIES: usize = 2000;
pub const BENCH_RUN: Duration = Duration::from_secs(4);

/// What [`samples_per_second`] measured.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub series: usize,
    pub samples: u64,
    pub seconds: f64,
    /// Writes the output answered with anything but `Ok` (their samples are not counted).
    pub refused: u64,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.samples as f64 / self.seconds.max(1e-9)
    }
}

impl std::fmt::Display for Throughput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} samples/s ({} samples in {:.2} s, {} series, {} writes refused)",
            self.per_second(),
            self.samples,
            self.seconds,
            self.series,
            self.refused
        )
    }
}

/// [`samples_per_second`] with [`BENCH_SERIES`] and [`BENCH_RUN`], printed as `label: figure`.
pub fn print_bench<P: Plugin>(label: &str, output: &str, arg: &str) {
    let t = samples_per_second::<P>(output, arg, BENCH_SERIES, BENCH_RUN);
    println!("{label}: {t}");
}

/// Starts output `output` of plugin `P` with `-o output=arg`, declares `series` series (half
/// trends, half counters, k6's request tags), writes one sample per series per batch for
/// `run`, then stops it: everything it accepted must have left within the stop.
///
/// # Panics
/// When the output does not start or its stop fails: a benchmark of a broken output measures
/// nothing.
pub fn samples_per_second<P: Plugin>(
    output: &str,
    arg: &str,
    series: usize,
    run: Duration,
) -> Throughput {
    let (mut out, _rec) = started::<P>(init(output, Some(arg), "{}", &[]));
    let mut defs = BatchBuilder::new();
    let trend = defs.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let counter = defs.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let ids: Vec<_> = (0..series)
        .map(|i| {
            let url = format!("http://test.k6.io/item/{i}");
            let tags = [("method", "GET"), ("name", url.as_str()), ("status", "200")];
            defs.series(if i % 2 == 0 { trend } else { counter }, &tags, &[])
        })
        .collect();
    assert_eq!(
        out.write(defs.batch()),
        WriteStatus::Ok,
        "definitions refused"
    );
    let begun = Instant::now();
    let (mut samples, mut refused, mut n) = (0u64, 0u64, 0u64);
    while begun.elapsed() < run {
        let mut b = BatchBuilder::new();
        let t = unix_ns();
        for &id in &ids {
            n += 1;
            b.sample(id, t, (n % 997) as f64 + 0.5);
        }
        match out.write(b.samples_only()) {
            WriteStatus::Ok => samples += ids.len() as u64,
            _ => refused += 1,
        }
    }
    if let Err(e) = out.stop(&completed_outcome(), Duration::from_secs(30)) {
        panic!("{output}: stop failed: {e}");
    }
    Throughput {
        series,
        samples,
        seconds: begun.elapsed().as_secs_f64(),
        refused,
    }
}

fn unix_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
