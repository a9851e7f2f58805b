//! Throughput benchmark shared by the csv and json outputs (feature `bench-support`): the same
//! realistic load through either writer, so their figures compare.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use loadrun_plugin_api::testkit::{completed_outcome, init, recording_host, BatchBuilder};
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

/// URLs in [`k6_mix`]: with two statuses and nine HTTP metrics, about 3 600 series.
pub const MIX_URLS: usize = 200;

/// Samples per batch, as the host sends them.
pub const MIX_BATCH: usize = 10_000;

/// What k6 records for a load test that requests [`MIX_URLS`] URLs, one request per iteration:
/// the nine `http_req*` metrics with k6's default HTTP system tags (one request in 20 a 404),
/// then `data_sent`, `data_received`, `iterations` and `iteration_duration` with the scenario's
/// tags: 13 samples per iteration, times a few microseconds apart (200 000 requests/s), values
/// made from nanosecond durations as the engine makes them (so most have 15 to 17 digits).
/// Returns the definitions and `batches` batches of [`MIX_BATCH`] samples.
pub fn k6_mix(batches: usize) -> (BatchBuilder, Vec<BatchBuilder>) {
    use MetricType::{Counter, Rate, Trend};
    use ValueKind::{Data, Default as Plain, Time};
    let mut defs = BatchBuilder::new();
    let http: Vec<u32> = [
        ("http_reqs", Counter, Plain),
        ("http_req_duration", Trend, Time),
        ("http_req_blocked", Trend, Time),
        ("http_req_connecting", Trend, Time),
        ("http_req_tls_handshaking", Trend, Time),
        ("http_req_sending", Trend, Time),
        ("http_req_waiting", Trend, Time),
        ("http_req_receiving", Trend, Time),
        ("http_req_failed", Rate, Plain),
    ]
    .into_iter()
    .map(|(name, t, k)| defs.metric(name, t, k))
    .collect();
    let scenario: Vec<u32> = [
        ("data_sent", Counter, Data),
        ("data_received", Counter, Data),
        ("iterations", Counter, Plain),
        ("iteration_duration", Trend, Time),
    ]
    .into_iter()
    .map(|(name, t, k)| {
        let m = defs.metric(name, t, k);
        defs.series(m, &[("group", ""), ("scenario", "default")], &[])
    })
    .collect();
    // series[url][404?][metric]
    let mut http_series = vec![[[0u32; 9]; 2]; MIX_URLS];
    for (u, per_status) in http_series.iter_mut().enumerate() {
        let url = format!("http://127.0.0.1:18080/api/items/{u}?page=1");
        for (s, ids) in per_status.iter_mut().enumerate() {
            let (status, expected) = if s == 0 {
                ("200", "true")
            } else {
                ("404", "false")
            };
            for (id, &m) in ids.iter_mut().zip(&http) {
                *id = defs.series(
                    m,
                    &[
                        ("expected_response", expected),
                        ("group", ""),
                        ("method", "GET"),
                        ("name", &url),
                        ("proto", "HTTP/1.1"),
                        ("scenario", "default"),
                        ("status", status),
                        ("url", &url),
                    ],
                    &[],
                );
            }
        }
    }
    let ms = |ns: u64| Duration::from_nanos(ns).as_secs_f64() * 1000.0;
    // A small deterministic generator: the same samples on every run and machine.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let mut all = Vec::with_capacity(batches * MIX_BATCH + 13);
    let mut t = 1_795_608_192_767_829_582i64;
    let mut iteration = 0usize;
    while all.len() < batches * MIX_BATCH {
        let url = next(MIX_URLS as u64) as usize;
        let failed = iteration % 20 == 19;
        let ids = &http_series[url][usize::from(failed)];
        let (blocked, sending) = (1_000 + next(3_000), 5_000 + next(20_000));
        let (waiting, receiving) = (40_000 + next(400_000), 8_000 + next(30_000));
        let duration = sending + waiting + receiving;
        let values = [
            1.0,
            ms(duration),
            ms(blocked),
            0.0,
            0.0,
            ms(sending),
            ms(waiting),
            ms(receiving),
            f64::from(u8::from(failed)),
        ];
        for (&id, v) in ids.iter().zip(values) {
            all.push((id, t, v));
        }
        let it = ms(duration + blocked + 2_000 + next(5_000));
        let sent = 90.0 + next(4) as f64;
        let received = if failed {
            180.0
        } else {
            240.0 + next(64) as f64
        };
        for (&id, v) in scenario.iter().zip([sent, received, 1.0, it]) {
            all.push((id, t + 1_200, v));
        }
        t += 4_000 + next(2_000) as i64;
        iteration += 1;
    }
    all.truncate(batches * MIX_BATCH);
    let batches = all
        .chunks(MIX_BATCH)
        .map(|chunk| {
            let mut b = BatchBuilder::new();
            for &(id, t, v) in chunk {
                b.sample(id, t, v);
            }
            b
        })
        .collect();
    (defs, batches)
}

/// What [`per_sample`] measured.
#[derive(Debug, Clone, Copy)]
pub struct PerSample {
    pub samples: usize,
    /// Wall time.
    pub nanos: f64,
    /// CPU time of the writing thread, in user space and in the kernel: the figure a busy
    /// machine does not distort (wall time includes waiting for the CPU).
    pub user_ns: f64,
    pub sys_ns: f64,
    pub bytes: u64,
}

impl PerSample {
    pub fn ns_per_sample(&self) -> f64 {
        self.nanos / self.samples.max(1) as f64
    }

    pub fn cpu_ns_per_sample(&self) -> f64 {
        (self.user_ns + self.sys_ns) / self.samples.max(1) as f64
    }
}

/// This thread's (user, system) CPU time in ns.
fn thread_cpu_ns() -> (f64, f64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_THREAD is Linux's own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    if rc != 0 {
        return (f64::NAN, f64::NAN);
    }
    // SAFETY: zeroed is a valid rusage, and getrusage succeeded.
    let u = unsafe { usage.assume_init() };
    let ns = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    (ns(u.ru_utime), ns(u.ru_stime))
}

/// Writes `samples` samples of [`k6_mix`] (cycling through `mix`) through a fresh output `output`
/// of `P` started with `-o output=arg`, stop included, and times it. Series are compiled by
/// the first batch, as in a run; the time covers everything from the first sample to the end
/// of `stop` (the last write and close).
pub fn per_sample<P: Plugin>(
    output: &str,
    arg: &str,
    defs: &BatchBuilder,
    mix: &[BatchBuilder],
    samples: usize,
    path: &std::path::Path,
) -> PerSample {
    let mut out = P::new_output(init(output, Some(arg), "", &[])).unwrap();
    let (host, _rec) = recording_host();
    out.start(host).unwrap();
    let _ = out.write(defs.batch());
    let started = Instant::now();
    let (user0, sys0) = thread_cpu_ns();
    let mut done = 0;
    for b in mix.iter().cycle() {
        if done >= samples {
            break;
        }
        let _ = out.write(b.samples_only());
        done += b.samples.len();
    }
    out.stop(&completed_outcome(), Duration::from_secs(30))
        .unwrap();
    let nanos = started.elapsed().as_nanos() as f64;
    let (user1, sys1) = thread_cpu_ns();
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    PerSample {
        samples: done,
        nanos,
        user_ns: user1 - user0,
        sys_ns: sys1 - sys0,
        bytes,
    }
}

/// The `per_sample` bench binary of the csv and json crates. Without arguments: every case,
/// [`PER_SAMPLE_DEFAULT`] samples, median of five runs, one Markdown row each with the load
/// average. `PER_SAMPLE_CASE=label PER_SAMPLE_N=n`: that case once with `n` samples, silent
/// (what `scripts/bench-file-outputs.sh` runs under callgrind to count instructions).
pub fn per_sample_main<P: Plugin>(output: &str, file_key: &str, cases: &[Case]) {
    let dir = tempfile::tempdir().unwrap();
    let only = std::env::var("PER_SAMPLE_CASE").ok();
    let n: usize = std::env::var("PER_SAMPLE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PER_SAMPLE_DEFAULT);
    let (defs, mix) = k6_mix(DISTINCT_BATCHES);
    for &(label, file, extra) in cases {
        if only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let path = if file == "/dev/null" {
            PathBuf::from(file)
        } else {
            dir.path().join(file)
        };
        let arg = format!("{file_key}={}{extra}", path.display());
        if only.is_some() {
            per_sample::<P>(output, &arg, &defs, &mix, n, &path);
            continue;
        }
        let mut runs: Vec<PerSample> = (0..5)
            .map(|_| per_sample::<P>(output, &arg, &defs, &mix, n, &path))
            .collect();
        runs.sort_by(|a, b| a.cpu_ns_per_sample().total_cmp(&b.cpu_ns_per_sample()));
        let median = runs[runs.len() / 2];
        let cpu = |r: &PerSample| r.cpu_ns_per_sample();
        let spread = (cpu(&runs[runs.len() - 1]) - cpu(&runs[0])) / cpu(&median) * 100.0;
        let per = |ns: f64| ns / median.samples.max(1) as f64;
        println!(
            "| {label} | {:.0} ns | ±{spread:.0}% | {:.0} + {:.0} ns | {:.0} ns | {:.0} B | {} |",
            median.cpu_ns_per_sample(),
            per(median.user_ns),
            per(median.sys_ns),
            median.ns_per_sample(),
            median.bytes as f64 / median.samples as f64,
            load_average()
        );
    }
}

/// Samples per timed run of [`per_sample_main`].
pub const PER_SAMPLE_DEFAULT: usize = 2_000_000;

/// Distinct batches in the mix (cycled): enough that the data is not one cache-warm batch.
const DISTINCT_BATCHES: usize = 20;

/// The 1-minute load average, so a figure from a busy machine says so.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}
