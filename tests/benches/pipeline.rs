//! Samples per second from the collector through the ABI into plugins that do nothing, with
//! one output and with four, and through the C face (`tests/cplugins/null.c`). Prints a table; asserts nothing (figures, not tests).
//!
//! Run: `scripts/bench-pipeline.sh` (builds the release plugin first), or
//! `cargo build --release -p out-testbehave && LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench pipeline`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun::outputs::{OutputSet, OutputSpec};
use loadrun::plugins::PluginSet;
use loadrun_metrics::{Collector, Registry};
use loadrun_plugin_api::{EndReason, RunOutcome};
use loadrun_test_support::synthetic::SyntheticSeries;
use loadrun_test_support::{cplugin, plugin_path};

fn run(outputs: &[&str], samples: usize, chunk: usize) -> Result<f64, String> {
    let registry = Arc::new(Registry::new());
    let series = SyntheticSeries::define(&registry, 16);
    let mut files = vec![plugin_path("testbehave")];
    let wants = |name: &str| outputs.iter().any(|o| o.split('=').next() == Some(name));
    if wants("c-null") {
        let dir = loadrun_test_support::artifacts::target_dir().join("bench-cplugins");
        let _ = std::fs::create_dir_all(&dir);
        files.push(cplugin::null_plugin(&dir).ok_or("no C compiler")?);
    }
    if wants("gocount-null") {
        let dir = loadrun_test_support::artifacts::target_dir().join("bench-cplugins/gocount");
        let _ = std::fs::create_dir_all(&dir);
        files.push(
            cplugin::build_go_template("pipeline bench", &dir, "gocount")
                .ok_or("no Go toolchain")?,
        );
    }
    let mut plugins = PluginSet::load(&files).map_err(|e| e.to_string())?;
    let specs: Vec<OutputSpec> = outputs
        .iter()
        .map(|s| OutputSpec::parse(s))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut set = OutputSet::build(
        &specs,
        &mut plugins,
        &BTreeMap::new(),
        &loadrun_plugin_api::testkit::test_meta(),
        registry.clone(),
    )
    .map_err(|e| e.to_string())?;
    set.start().map_err(|e| e.to_string())?;
    let collector = Collector::spawn(
        registry.clone(),
        vec![set.consumer()],
        Duration::from_millis(100),
    )
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    series.emit(&collector.sender(), samples, chunk);
    collector.finish();
    let outcome = RunOutcome {
        passed: true,
        reason: EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 0,
        extra: "{}".into(),
    };
    let report = set.stop(&outcome, Duration::from_secs(60));
    let secs = started.elapsed().as_secs_f64();
    let written: u64 = report.outputs.iter().map(|o| o.written).sum();
    let dropped: u64 = report.outputs.iter().map(|o| o.dropped.total()).sum();
    if written != (samples * outputs.len()) as u64 {
        return Err(format!(
            "written {written} of {} (dropped {dropped})",
            samples * outputs.len()
        ));
    }
    Ok(samples as f64 / secs)
}

fn main() {
    let samples = 20_000_000;
    println!("pipeline: synthetic source -> collector -> per-output queue+worker -> plugin write() through the ABI");
    println!(
        "cores available: {:?}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<44} {:>14}",
        "case", "samples/s (median of 3, every sample written)"
    );
    let cases: &[(&str, &[&str])] = &[
        ("1 output (tb-null .so)", &["tb-null"]),
        (
            "4 outputs (tb-null .so x4)",
            &["tb-null", "tb-null", "tb-null", "tb-null"],
        ),
        ("1 output (bundled null)", &["null"]),
        ("1 output (c-null .so, C face)", &["c-null"]),
        (
            "1 output (gocount-null .so, Go on the C face)",
            &["gocount-null"],
        ),
        // The faces side by side with the source held back instead of dropping when a worker
        // is descheduled (a loaded machine): samples/s through each face, all written.
        (
            "face Rust ABI (tb-null, whenFull=block)",
            &["tb-null=whenFull=block"],
        ),
        (
            "face C (c-null, whenFull=block)",
            &["c-null=whenFull=block"],
        ),
        (
            "face Go (gocount-null, whenFull=block)",
            &["gocount-null=whenFull=block"],
        ),
    ];
    for (name, outputs) in cases {
        let mut rates = Vec::new();
        for _ in 0..3 {
            match run(outputs, samples, 4096) {
                Ok(rate) => rates.push(rate),
                Err(e) => {
                    println!("{name:<44} error: {e}");
                    break;
                }
            }
        }
        if rates.is_empty() {
            continue;
        }
        rates.sort_by(|a, b| a.total_cmp(b));
        let median = rates[rates.len() / 2];
        println!(
            "{:<44} {:>14.0}   (runs: {})",
            name,
            median,
            rates
                .iter()
                .map(|r| format!("{:.1}M", r / 1e6))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
