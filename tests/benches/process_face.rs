//! Samples per second through each plugin face into an output that keeps nothing, batches of
//! 4096 samples written one after another as the output worker writes them: the in-process
//! Rust ABI (the bundled `null`), the process face with a compiled child
//! (`loadrun-output-null`) and with the python template (`pylines`, `discard=true`). Prints a
//! table; asserts nothing (figures, not tests).
//!
//! Run: `cargo build --release -p process-null && LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench process_face`.

use std::time::{Duration, Instant};

use abi_stable::std_types::RResult;
use loadrun_plugin_api::abi::OutputBox;
use loadrun_plugin_api::face::PluginFace;
use loadrun_plugin_api::process::ProcessPlugin;
use loadrun_plugin_api::testkit::{completed_outcome, init, recording_host, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::artifacts::profile_dir;
use loadrun_test_support::workspace_root;

const BATCH: usize = 4096;

fn host_box(host: loadrun_plugin_api::Host) -> loadrun_plugin_api::abi::HostBox {
    struct Forward(loadrun_plugin_api::Host);
    impl loadrun_plugin_api::abi::HostApi for Forward {
        fn log(
            &self,
            level: loadrun_plugin_api::LogLevel,
            message: abi_stable::std_types::RString,
        ) {
            self.0.log(level, message.into_string());
        }
        fn add_counter(&self, name: abi_stable::std_types::RString, delta: u64) {
            self.0.add_counter(name.as_str(), delta);
        }
        fn request_abort(&self, reason: abi_stable::std_types::RString) -> bool {
            self.0.request_abort(reason.into_string())
        }
    }
    loadrun_plugin_api::abi::HostApi_TO::from_value(
        Forward(host),
        abi_stable::sabi_trait::TD_Opaque,
    )
}

/// Samples per second over `for` of back-to-back writes.
fn measure(
    face: &PluginFace,
    output: &str,
    arg: Option<&str>,
    run_for: Duration,
) -> Result<f64, String> {
    let mut out: OutputBox = face
        .new_output(init(output, arg, "{}", &[]))
        .map_err(|e| e.to_string())?;
    let (host, _recorded) = recording_host();
    if let RResult::RErr(e) = out.start(host_box(host)) {
        return Err(format!("start: {e}"));
    }
    let mut b = BatchBuilder::new();
    let m = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let series: Vec<u32> = (0..16)
        .map(|i| b.series(m, &[("status", &format!("{}", 200 + i))], &[]))
        .collect();
    for i in 0..BATCH {
        b.sample(
            series[i % series.len()],
            1_700_000_000_000_000_000 + i as i64,
            i as f64,
        );
    }
    if !matches!(out.write(b.batch()), WriteStatus::Ok) {
        return Err("the first write failed".into());
    }
    let started = Instant::now();
    let mut written = 0u64;
    while started.elapsed() < run_for {
        for _ in 0..64 {
            match out.write(b.samples_only()) {
                WriteStatus::Ok => written += BATCH as u64,
                other => return Err(format!("write: {other:?}")),
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = out.flush(5_000);
    let _ = out.stop(&completed_outcome(), 5_000);
    Ok(written as f64 / secs)
}

fn main() {
    let run_for = Duration::from_secs(3);
    let null = loadrun::outputs::bundled::modules()
        .into_iter()
        .map(PluginFace::Rust)
        .find(|f| f.info().outputs.iter().any(|o| o.name.as_str() == "null"));
    let mut rows: Vec<(&str, Result<f64, String>)> = Vec::new();
    match null {
        Some(face) => rows.push((
            "rust ABI (bundled null)",
            measure(&face, "null", None, run_for),
        )),
        None => rows.push((
            "rust ABI (bundled null)",
            Err("no bundled null output".into()),
        )),
    }
    let child = profile_dir().join("loadrun-output-null");
    rows.push((
        "process, compiled child (loadrun-output-null)",
        ProcessPlugin::load(&child).and_then(|p| {
            measure(
                &PluginFace::Process(p.into()),
                "process-null",
                None,
                run_for,
            )
        }),
    ));
    let python = workspace_root().join("examples/plugin-template-python/loadrun-output-pylines");
    rows.push((
        "process, python template (pylines discard=true)",
        ProcessPlugin::load(&python).and_then(|p| {
            measure(
                &PluginFace::Process(p.into()),
                "pylines",
                Some("discard=true"),
                run_for,
            )
        }),
    ));
    println!(
        "Samples/s through each face into a null output ({BATCH}-sample batches, {} cores):",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| face | samples/s |");
    println!("|---|---|");
    for (name, r) in rows {
        match r {
            Ok(rate) => println!("| {name} | {:.1} M/s |", rate / 1e6),
            Err(e) => println!("| {name} | failed: {e} |"),
        }
    }
}
