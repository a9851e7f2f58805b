//! Samples per second an HTTP output delivers to its real server (InfluxDB 1.x, Prometheus
//! remote write), through `write` of the host's batches (4096 samples, k6's HTTP tags, 100
//! series, distinct timestamps) until `stop` returns, loaded by the host's own loader. Each
//! case runs once per plugin folder given, alternating, so builds compare side by side on one
//! machine in one run. Prints a table; asserts nothing (figures, not tests), but says when a
//! run lost or had samples refused.
//!
//! Run: `scripts/bench-http-outputs.sh` (`HTTP_BENCH_DIRS=before=DIR,after=DIR` compares two
//! builds' plugin folders; default: this build's).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use loadrun::outputs::BATCH_SIZE;
use loadrun::plugins::{load_library, LoadedPlugin, TrustPolicy};
use loadrun_plugin_api::abi::WriteStatus;
use loadrun_plugin_api::testkit::BatchBuilder;
use loadrun_plugin_api::testkit::{completed_outcome, host_box, init, now_ns, recording_host};
use loadrun_plugin_api::{MetricType, ValueKind};
use loadrun_test_support::{plugin_path, Service};

/// Samples written per run.
const TOTAL: usize = 400 * BATCH_SIZE;
const RUNS: usize = 3;

/// The definitions (4 HTTP metrics × 25 URLs) and the series ids to spread samples over.
fn definitions() -> (BatchBuilder, Vec<u32>) {
    let mut b = BatchBuilder::new();
    let mut series = Vec::new();
    for (name, t, k) in [
        ("http_reqs", MetricType::Counter, ValueKind::Default),
        ("http_req_duration", MetricType::Trend, ValueKind::Time),
        ("http_req_waiting", MetricType::Trend, ValueKind::Time),
        ("http_req_failed", MetricType::Rate, ValueKind::Default),
    ] {
        let m = b.metric(name, t, k);
        for i in 0..25 {
            let url = format!("http://127.0.0.1:18080/item/{i}");
            series.push(b.series(
                m,
                &[
                    ("expected_response", "true"),
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
    (b, series)
}

/// Delivered samples per second, or why the run does not count.
fn rate(plugin: &LoadedPlugin, output: &str, arg: &str) -> Result<f64, String> {
    let mut out = plugin
        .module
        .new_output(init(output, Some(arg), "{}", &[]))
        .map_err(|e| e.to_string())?;
    let (host, recorded) = recording_host();
    out.start(host_box(host))
        .into_result()
        .map_err(|e| e.to_string())?;
    let (mut b, series) = definitions();
    let started = Instant::now();
    let t0 = now_ns() - 60_000_000_000;
    let mut written = 0usize;
    let mut first = true;
    while written < TOTAL {
        b.clear_samples();
        for i in 0..BATCH_SIZE {
            let n = written + i;
            // 1 µs apart: every sample its own point, none overwriting another.
            b.sample(
                series[n % series.len()],
                t0 + n as i64 * 1000,
                (n % 997) as f64,
            );
        }
        loop {
            let batch = if first { b.batch() } else { b.samples_only() };
            match out.write(batch) {
                WriteStatus::Ok => break,
                WriteStatus::Retry { .. } => std::thread::sleep(Duration::from_millis(5)),
                WriteStatus::Fatal(e) => return Err(e.message.to_string()),
            }
        }
        first = false;
        written += BATCH_SIZE;
    }
    out.stop(&completed_outcome(), 60_000)
        .into_result()
        .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    let lost = recorded.counter("samples_lost") + recorded.counter("samples_rejected");
    if lost > 0 {
        return Err(format!("{lost} samples lost or refused"));
    }
    Ok(written as f64 / secs)
}

fn dirs() -> Vec<(String, PathBuf)> {
    match std::env::var("HTTP_BENCH_DIRS") {
        Ok(list) => list
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(label, dir)| (label.to_string(), PathBuf::from(dir)))
            .collect(),
        Err(_) => {
            let here = plugin_path("influxdb");
            let dir = here.parent().map(Path::to_path_buf).unwrap_or_default();
            vec![("this build".into(), dir)]
        }
    }
}

fn main() {
    let influx = Service::start("influxdb", &[]);
    let prom = Service::start("prometheus", &[]);
    let mut cases: Vec<(&str, &str, String)> = Vec::new();
    if let Some(s) = &influx {
        // Buffered as users run it (k6's 1 s push interval), a new database per run below.
        cases.push((
            "influxdb",
            "influxdb",
            format!("{}/bench", s.var("INFLUXDB_URL")),
        ));
    }
    if let Some(s) = &prom {
        cases.push((
            "prometheus",
            "prometheus",
            format!("url={},pushInterval=200ms", s.var("PROMETHEUS_RW_URL")),
        ));
    }
    let dirs = dirs();
    println!(
        "{:<12} {:<12} {:>14} {:>14} {:>14}",
        "output", "build", "run 1", "run 2", "run 3"
    );
    for (plugin, output, arg) in &cases {
        let loaded: Vec<(String, Result<LoadedPlugin, String>)> = dirs
            .iter()
            .map(|(label, dir)| {
                let path = dir.join(format!("libout_{plugin}.so"));
                let p = load_library(&path, TrustPolicy::default()).map_err(|e| e.to_string());
                (label.clone(), p)
            })
            .collect();
        let mut rows: Vec<Vec<String>> = vec![Vec::new(); loaded.len()];
        for run in 0..RUNS {
            for (i, (_, p)) in loaded.iter().enumerate() {
                let arg = if *plugin == "influxdb" {
                    arg.replace("/bench", &format!("/bench{run}{i}"))
                } else {
                    arg.clone()
                };
                let cell = match p {
                    Ok(p) => match rate(p, output, &arg) {
                        Ok(r) => format!("{r:.0}"),
                        Err(e) => format!("({e})"),
                    },
                    Err(e) => format!("({e})"),
                };
                rows[i].push(cell);
            }
        }
        for ((label, _), cells) in loaded.iter().zip(rows) {
            println!(
                "{:<12} {:<12} {:>14} {:>14} {:>14}",
                plugin, label, cells[0], cells[1], cells[2]
            );
        }
    }
    println!("(samples/s delivered, {TOTAL} samples per run, until stop returned)");
}
