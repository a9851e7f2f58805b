//! Samples per second through `write` alone, per plugin face, into outputs that do nothing:
//! the Rust ABI (`tb-null` in `libout_testbehave.so`), the C face (`c-null`,
//! `tests/cplugins/null.c`, built here with the system's C compiler) and a Go plugin on the C
//! face (`gocount-null` of `examples/plugin-template-go`, built here with Go), all loaded by
//! the host's own loader, with the batches the host cuts (4096 samples). Prints a table; asserts nothing
//! (figures, not tests).
//!
//! Run: `scripts/bench-pipeline.sh`, which also runs the whole pipeline per face.

use std::path::Path;
use std::time::{Duration, Instant};

use loadrun::outputs::BATCH_SIZE;
use loadrun::plugins::{load_library, LoadedPlugin, TrustPolicy};
use loadrun_plugin_api::abi::WriteStatus;
use loadrun_plugin_api::testkit::{host_box, init, now_ns, recording_host, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind};
use loadrun_test_support::{cplugin, plugin_path};

/// Samples per second over `window` of writes of one `BATCH_SIZE` batch.
fn rate(plugin: &LoadedPlugin, output: &str, window: Duration) -> Result<f64, String> {
    let mut out = plugin
        .module
        .new_output(init(output, None, "{}", &[]))
        .map_err(|e| e.to_string())?;
    let (host, _recorded) = recording_host();
    out.start(host_box(host))
        .into_result()
        .map_err(|e| e.to_string())?;
    let mut b = BatchBuilder::new();
    let m = b.metric("bench", MetricType::Trend, ValueKind::Time);
    let series: Vec<u32> = (0..16)
        .map(|i| b.series(m, &[("shard", &i.to_string())], &[]))
        .collect();
    let t = now_ns();
    for i in 0..BATCH_SIZE {
        b.sample(series[i % series.len()], t + i as i64, i as f64);
    }
    if out.write(b.batch()) != WriteStatus::Ok {
        return Err("the first write was refused".into());
    }
    let started = Instant::now();
    let mut writes = 0u64;
    while started.elapsed() < window {
        for _ in 0..1000 {
            if out.write(b.samples_only()) != WriteStatus::Ok {
                return Err("a write was refused".into());
            }
        }
        writes += 1000;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = out.stop(&loadrun_plugin_api::testkit::completed_outcome(), 1000);
    Ok((writes * BATCH_SIZE as u64) as f64 / secs)
}

fn load(path: &Path) -> Result<LoadedPlugin, String> {
    load_library(path, TrustPolicy::default()).map_err(|e| e.to_string())
}

fn main() {
    let dir = loadrun_test_support::artifacts::target_dir().join("bench-cplugins");
    let _ = std::fs::create_dir_all(&dir);
    let rust = load(&plugin_path("testbehave"));
    let c = cplugin::null_plugin(&dir).ok_or_else(|| "no C compiler".to_string());
    let c = c.and_then(|p| load(&p));
    let go_dir = dir.join("gocount");
    let _ = std::fs::create_dir_all(&go_dir);
    let go = cplugin::build_go_template("faces bench", &go_dir, "gocount")
        .ok_or_else(|| "no Go toolchain".to_string())
        .and_then(|p| load(&p));
    let faces: Vec<(&str, Result<LoadedPlugin, String>, &str)> = vec![
        ("Rust ABI (tb-null .so)", rust, "tb-null"),
        ("C face (c-null .so)", c, "c-null"),
        ("Go on the C face (gocount-null)", go, "gocount-null"),
    ];
    println!("faces: write() of {BATCH_SIZE}-sample batches into a null output, per face");
    println!("{:<34} {:>16}   runs", "face", "samples/s (median of 5)");
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); faces.len()];
    // Alternated, so a slower moment of the machine is shared by both.
    for _ in 0..5 {
        for (i, (name, plugin, output)) in faces.iter().enumerate() {
            match plugin {
                Ok(p) => match rate(p, output, Duration::from_millis(500)) {
                    Ok(r) => rates[i].push(r),
                    Err(e) => println!("{name}: {e}"),
                },
                Err(e) if rates[i].is_empty() => println!("{name}: {e}"),
                Err(_) => {}
            }
        }
    }
    let mut medians: Vec<Option<f64>> = Vec::new();
    for ((name, _, _), mut r) in faces.iter().zip(rates) {
        if r.is_empty() {
            medians.push(None);
            continue;
        }
        r.sort_by(|a, b| a.total_cmp(b));
        let median = r[r.len() / 2];
        medians.push(Some(median));
        println!(
            "{name:<34} {median:>16.0}   {}",
            r.iter()
                .map(|x| format!("{:.0}M", x / 1e6))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let [Some(rust), Some(c), ..] = medians[..] {
        println!("C face / Rust ABI: {:.2}", c / rust);
    }
}
