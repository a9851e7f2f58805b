//! The timing loop shared by loadrun's micro-benchmarks (`scripts/bench-micro.sh`), included by
//! each crate's bench with `#[path]` so no crate needs a benchmark dependency.
//!
//! Each case is timed in rounds of about [`ROUND`]; the figure is the median round, the spread
//! is (slowest - fastest) / median, so a noisy, shared machine shows as a wide spread rather
//! than as a silently wrong number. Rows are Markdown, `| crate | case | ns/op | items/s |
//! spread |`, which the script gathers into one table.

#![allow(dead_code)]

use std::time::{Duration, Instant};

const ROUND: Duration = Duration::from_millis(200);
const ROUNDS: usize = 7;

/// Times `op`, which handles `items` items per call, and prints one row.
pub fn bench<R>(krate: &str, case: &str, items: u64, mut op: impl FnMut() -> R) {
    let quick = std::env::var_os("MICRO_QUICK").is_some();
    let round = if quick { ROUND / 4 } else { ROUND };
    let rounds = if quick { 3 } else { ROUNDS };
    // Warm-up doubles as calibration: how many calls fill one round.
    let mut iters: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(op());
        }
        let took = t.elapsed();
        if took >= round / 4 {
            let per = took.as_secs_f64() / iters as f64;
            iters = ((round.as_secs_f64() / per) as u64).max(1);
            break;
        }
        iters *= 2;
    }
    let mut per_op: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(op());
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    let median = per_op[per_op.len() / 2];
    let spread = (per_op[per_op.len() - 1] - per_op[0]) / median * 100.0;
    let items_per_s = items as f64 * 1e9 / median;
    println!(
        "| {krate} | {case} | {} | {} | ±{spread:.0}% |",
        human_ns(median),
        human_rate(items_per_s)
    );
}

fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn human_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k/s", r / 1e3)
    } else {
        format!("{r:.1} /s")
    }
}

/// Deterministic latencies in milliseconds, log-uniform over 0.1 ms .. 10 s (what a trend sees
/// across endpoints), so histogram benches touch many buckets as real runs do.
pub fn latencies(n: usize) -> Vec<f64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            0.1 * 10f64.powf(5.0 * u)
        })
        .collect()
}

/// k6's tags of an HTTP request, `i` varying the URL (so `i` distinct values give `i` series).
pub fn http_tags(i: usize) -> Vec<(String, String)> {
    vec![
        ("expected_response".into(), "true".into()),
        ("method".into(), "GET".into()),
        ("name".into(), format!("http://test.k6.io/items/{i}")),
        ("proto".into(), "HTTP/1.1".into()),
        ("scenario".into(), "default".into()),
        ("status".into(), "200".into()),
        ("url".into(), format!("http://test.k6.io/items/{i}")),
    ]
}

/// Borrowed view of owned pairs, for APIs taking `&[(&str, &str)]`.
pub fn borrow(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
