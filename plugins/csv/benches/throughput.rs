//! Writer throughput, samples/s on one core: `cargo bench -p out-csv`.
//! Realistic series (k6's HTTP tags), batches of 10 000 as the host sends them, to a real file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{init, recording_host, BatchBuilder};
use loadrun_plugin_api::{MetricType, Plugin, RunOutcome, ValueKind};
use out_csv::CsvPlugin;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    for (label, file, extra) in [
        ("csv (unix)", "bench.csv", ""),
        (
            "csv (rfc3339_nano)",
            "bench-nano.csv",
            ",timeFormat=rfc3339_nano",
        ),
        ("csv.gz", "bench.csv.gz", ""),
        ("csv -> /dev/null (encoding only)", "/dev/null", ""),
    ] {
        let path = if file == "/dev/null" {
            std::path::PathBuf::from(file)
        } else {
            dir.path().join(file)
        };
        let arg = format!("fileName={}{extra}", path.display());
        let total = if file.ends_with(".gz") {
            1_000_000
        } else {
            2_000_000
        };
        let rate = run(&arg, total);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{label:<20} {:>12.0} samples/s  ({total} samples, {:.1} MB file)",
            rate,
            size as f64 / 1e6
        );
    }
}

fn run(arg: &str, total: usize) -> f64 {
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
    let defs = b.clone();
    let mut batch = BatchBuilder::new();
    let t0 = 1_795_608_192_767_829_582i64;
    for i in 0..10_000usize {
        batch.sample(
            series[i % series.len()],
            t0 + i as i64 * 12_345,
            0.5 + (i % 997) as f64 * 1.234567,
        );
    }
    let mut out = CsvPlugin::new_output(init("csv", Some(arg), "", &[])).unwrap();
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
        reason: loadrun_plugin_api::EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 0,
        extra: "{}".into(),
    };
    out.stop(&outcome, Duration::from_secs(10)).unwrap();
    done as f64 / started.elapsed().as_secs_f64()
}
