//! Throughput benchmark shared by the csv and json outputs (feature `bench-support`): the same
//! realistic load through either writer, so their figures compare.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{init, recording_host, BatchBuilder};
use loadrun_plugin_api::{EndReason, MetricType, Plugin, RunOutcome, ValueKind};

/// One line of the report: `(label, file, extra)`: the file is named in a temp folder
/// (`/dev/null` as is), `extra` is appended to the `-o` argument (so starts with `,`).
pub type Case<'a> = (&'a str, &'a str, &'a str);

/// Runs every case through output `output` of `P`, naming the file with option `file_key`, and
/// prints samples/s and the file size. Gzip cases write half as many samples (they are slower).
pub fn run_cases<P: Plugin>(output: &str, file_key: &str, cases: &[Case]) {
    let dir = tempfile::tempdir().unwrap();
    for &(label, file, extra) in cases {
        let path = if file == "/dev/null" {
            PathBuf::from(file)
        } else {
            dir.path().join(file)
        };
        let arg = format!("{file_key}={}{extra}", path.display());
        let total = if file.ends_with(".gz") {
            1_000_000
        } else {
            2_000_000
        };
        let rate = throughput::<P>(output, &arg, total);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{label:<20} {:>12.0} samples/s  ({total} samples, {:.1} MB file)",
            rate,
            size as f64 / 1e6
        );
    }
}

/// Samples per second for `total` samples written in the host's batches of 10 000.
pub fn throughput<P: Plugin>(output: &str, arg: &str, total: usize) -> f64 {
    let (defs, batch) = http_load();
    let mut out = P::new_output(init(output, Some(arg), "", &[])).unwrap();
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    // Definitions first, as the host sends them.
    let _ = out.write(defs.batch());
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        let _ = out.write(batch.samples_only());
        done += batch.samples.len();
    }
    let outcome = RunOutcome {
        passed: true,
        reason: EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 0,
        extra: "{}".into(),
    };
    out.stop(&outcome, Duration::from_secs(10)).unwrap();
    done as f64 / started.elapsed().as_secs_f64()
}

/// The definitions (4 HTTP metrics x 25 URLs, with k6's HTTP system tags) and one batch of
/// 10 000 samples spread over those series.
pub fn http_load() -> (BatchBuilder, BatchBuilder) {
    let mut b = BatchBuilder::new();
    let names = [
        ("http_reqs", MetricType::Counter, ValueKind::Default),
        ("http_req_duration", MetricType::Trend, ValueKind::Time),
        ("http_req_waiting", MetricType::Trend, ValueKind::Time),
        ("http_req_failed", MetricType::Rate, ValueKind::Default),
    ];
    let mut series = Vec::new();
    for (name, t, k) in names {
        let m = b.metric(name, t, k);
        for i in 0..25 {
            let url = format!("http://127.0.0.1:18080/item/{i}");
            series.push(b.series(
                m,
                &[
                    ("expected_response", "true"),
                    ("group", "::g1"),
                    ("method", "GET"),
                    ("name", &url),
                    ("proto", "HTTP/1.1"),
                    ("scenario", "default"),
                    ("status", "200"),
                    ("url", &url),
                    ("testid", "bench"),
                ],
                &[],
            ));
        }
    }
    let mut batch = BatchBuilder::new();
    let t0 = 1_795_608_192_767_829_582i64;
    for i in 0..10_000usize {
        batch.sample(
            series[i % series.len()],
            t0 + i as i64 * 12_345,
            0.5 + (i % 997) as f64 * 1.234567,
        );
    }
    (b, batch)
}
