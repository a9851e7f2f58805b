//! The output pipeline with real built plugins and a synthetic sample source (no load engine).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun::outputs::{AbortKind, OutputReport, OutputSet, OutputSpec, OutputsReport};
use loadrun::plugins::PluginSet;
use loadrun_metrics::{Collector, Registry};
use loadrun_plugin_api::{EndReason, RunOutcome};
use loadrun_test_support::plugin_path;
use loadrun_test_support::synthetic::SyntheticSeries;

pub struct PipelineRun {
    pub report: OutputsReport,
    pub abort: Option<(AbortKind, String)>,
    pub stop_took: Duration,
}

/// Sends `samples` synthetic samples through `-o` specs backed by the test plugin, then stops.
pub fn run_pipeline(specs: &[String], samples: usize, stop_timeout: Duration) -> PipelineRun {
    let registry = Arc::new(Registry::new());
    let series = SyntheticSeries::define(&registry, 8);
    let mut plugins = PluginSet::load(&[plugin_path("testbehave")]).expect("load plugin");
    let specs: Vec<OutputSpec> = specs
        .iter()
        .map(|s| OutputSpec::parse(s).unwrap())
        .collect();
    let mut outputs = OutputSet::build(
        &specs,
        &mut plugins,
        &BTreeMap::new(),
        &loadrun_plugin_api::testkit::test_meta(),
        registry.clone(),
    )
    .expect("build outputs");
    outputs.start().expect("start outputs");
    let collector = Collector::spawn(
        registry.clone(),
        vec![outputs.consumer()],
        Duration::from_millis(100),
    )
    .expect("collector");
    series.emit(&collector.sender(), samples, 1024);
    collector.finish();
    let abort_signal = outputs.abort_signal();
    let outcome = RunOutcome {
        passed: true,
        reason: EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 1,
        extra: "{}".into(),
    };
    let t = Instant::now();
    let report = outputs.stop(&outcome, stop_timeout);
    let abort = abort_signal.get();
    PipelineRun {
        report,
        abort,
        stop_took: t.elapsed(),
    }
}

fn output<'a>(r: &'a OutputsReport, name: &str) -> &'a OutputReport {
    r.outputs
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no report for {name}: {r:?}"))
}

fn assert_counts_add_up(r: &OutputsReport) {
    for o in &r.outputs {
        assert_eq!(
            o.received,
            o.written + o.dropped.total(),
            "received != written + dropped for {}: {o:?}",
            o.name
        );
    }
}

fn counted(file: &std::path::Path) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(_, n)| n.parse::<u64>().unwrap())
        .sum()
}

#[test]
fn a_panic_in_write_is_contained_and_the_other_output_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let count_file = dir.path().join("counts.txt");
    let run = run_pipeline(
        &[
            "tb-panic=in=write,after=2".into(),
            format!("tb-count=file={}", count_file.display()),
        ],
        50_000,
        Duration::from_secs(10),
    );
    let panic = output(&run.report, "tb-panic");
    assert_eq!(panic.state, "quarantined");
    assert!(panic.dropped.fatal > 0, "{panic:?}");
    assert!(
        panic.written > 0,
        "two writes succeed before the panic: {panic:?}"
    );
    assert!(
        panic
            .errors
            .iter()
            .any(|e| e.contains("panicked in write") && e.contains("deliberate")),
        "{panic:?}"
    );
    let count = output(&run.report, "tb-count");
    assert_eq!(count.written, 50_000);
    assert_eq!(counted(&count_file), 50_000);
    assert_counts_add_up(&run.report);
    assert!(
        run.abort.is_none(),
        "a non-required output must not stop the run"
    );
}

#[test]
fn a_slow_output_drops_counted_while_a_fast_one_receives_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let count_file = dir.path().join("counts.txt");
    let slow_file = dir.path().join("slow.txt");
    let run = run_pipeline(
        &[
            format!(
                "tb-slow=delay=200,queueSize=8192,file={}",
                slow_file.display()
            ),
            format!("tb-count=file={}", count_file.display()),
        ],
        200_000,
        Duration::from_secs(5),
    );
    let slow = output(&run.report, "tb-slow");
    assert!(slow.dropped.queue_full > 0, "{slow:?}");
    assert_eq!(slow.received, 200_000);
    assert_eq!(
        counted(&slow_file),
        slow.written,
        "the plugin saw exactly what was counted written"
    );
    let fast = output(&run.report, "tb-count");
    assert_eq!(fast.written, 200_000);
    assert_eq!(fast.dropped.total(), 0);
    assert_eq!(counted(&count_file), 200_000);
    assert_counts_add_up(&run.report);
}

#[test]
fn a_plugin_hanging_in_stop_does_not_outlive_the_deadline() {
    let run = run_pipeline(&["tb-hang".into()], 10_000, Duration::from_secs(1));
    let hang = output(&run.report, "tb-hang");
    assert_eq!(hang.state, "stop_timeout");
    assert!(
        run.stop_took < Duration::from_secs(3),
        "stop took {:?}",
        run.stop_took
    );
    assert_counts_add_up(&run.report);
}

#[test]
fn a_plugin_hanging_in_write_is_abandoned_at_the_deadline_with_its_samples_counted() {
    let run = run_pipeline(&["tb-hang=in=write".into()], 20_000, Duration::from_secs(1));
    let hang = output(&run.report, "tb-hang");
    assert_eq!(hang.state, "stop_timeout");
    assert_eq!(hang.written, 0);
    assert_eq!(hang.dropped.shutdown, 20_000);
    assert!(
        run.stop_took < Duration::from_secs(3),
        "stop took {:?}",
        run.stop_took
    );
}

#[test]
fn a_write_blocked_when_stopping_begins_is_told_the_deadline_and_reaches_stop() {
    // `tb-deadline` waits in `write` like a request to a dead server (10 s, far past the 1 s
    // stop timeout), giving up only when the host's stop deadline is near (API 1.2).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("told.txt");
    let run = run_pipeline(
        &[format!("tb-deadline=delay=10000,file={}", f.display())],
        20_000,
        Duration::from_secs(1),
    );
    let o = output(&run.report, "tb-deadline");
    assert_eq!(o.state, "ok", "not abandoned: {o:?}");
    assert_eq!(o.written, 0, "{o:?}");
    assert_eq!(o.dropped.shutdown, 20_000, "{o:?}");
    assert_counts_add_up(&run.report);
    // A hang would be the 10 s write; the bound is generous on purpose.
    assert!(
        run.stop_took < Duration::from_secs(4),
        "stop took {:?}",
        run.stop_took
    );
    // `stop` ran, and was told the time left (just about none by then).
    let told = std::fs::read_to_string(&f).unwrap();
    let ms: u64 = told
        .trim()
        .strip_prefix("stop_time_left ")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{told:?}"));
    assert!(ms < 1_000, "{told}");
}

#[test]
fn retries_then_success_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.txt");
    let run = run_pipeline(
        &[format!(
            "tb-retry=times=2,retryInitial=1ms,file={}",
            f.display()
        )],
        20_000,
        Duration::from_secs(10),
    );
    let r = output(&run.report, "tb-retry");
    assert_eq!(r.written, 20_000, "{r:?}");
    assert_eq!(counted(&f), 20_000);
    assert_eq!(r.retries, 2 * r.batches, "{r:?}");
    assert_counts_add_up(&run.report);
}

#[test]
fn endless_retries_drop_the_batch_after_the_maximum_elapsed_time() {
    let run = run_pipeline(
        &["tb-retry=times=forever,afterMs=20,retryMaxElapsed=100ms,queueSize=100000000".into()],
        5_000,
        Duration::from_secs(10),
    );
    let r = output(&run.report, "tb-retry");
    assert_eq!(r.written, 0);
    assert!(r.dropped.retries_exhausted > 0, "{r:?}");
    assert!(r.retries >= 4, "{r:?}");
    assert_counts_add_up(&run.report);
}

#[test]
fn a_fatal_error_in_a_required_output_stops_the_run() {
    let run = run_pipeline(
        &["tb-fatal=required=true".into()],
        10_000,
        Duration::from_secs(5),
    );
    let (kind, reason) = run.abort.expect("abort requested");
    assert_eq!(kind, AbortKind::RequiredOutputFailed);
    assert!(
        reason.contains("tb-fatal") && reason.contains("deliberate fatal"),
        "{reason}"
    );
    let r = output(&run.report, "tb-fatal");
    assert_eq!(r.state, "quarantined");
    assert_eq!(r.dropped.fatal, 10_000);
    assert_counts_add_up(&run.report);
}

#[test]
fn an_abort_request_needs_the_users_consent() {
    let run = run_pipeline(&["tb-abort".into()], 5_000, Duration::from_secs(5));
    assert!(run.abort.is_none());
    let run = run_pipeline(
        &["tb-abort=abortOnError=true".into()],
        5_000,
        Duration::from_secs(5),
    );
    let (kind, reason) = run.abort.expect("abort");
    assert_eq!(kind, AbortKind::Requested);
    assert!(reason.contains("deliberate abort request"), "{reason}");
}

#[test]
fn constructor_and_start_failures_are_errors_before_the_run() {
    let registry = Arc::new(Registry::new());
    let mut plugins = PluginSet::load(&[plugin_path("testbehave")]).unwrap();
    let meta = loadrun_plugin_api::testkit::test_meta();
    let err = OutputSet::build(
        &[OutputSpec::parse("tb-failnew").unwrap()],
        &mut plugins,
        &BTreeMap::new(),
        &meta,
        registry.clone(),
    )
    .err()
    .expect("constructor error");
    let text = err.to_string();
    assert!(
        text.contains("tb-failnew")
            && text.contains("libout_testbehave.so")
            && text.contains("deliberate constructor failure"),
        "{text}"
    );
    let err = OutputSet::build(
        &[OutputSpec::parse("tb-panic=in=new").unwrap()],
        &mut plugins,
        &BTreeMap::new(),
        &meta,
        registry.clone(),
    )
    .err()
    .expect("constructor panic");
    assert!(err.to_string().contains("panicked in new_output"), "{err}");
    let mut set = OutputSet::build(
        &[OutputSpec::parse("tb-failstart").unwrap()],
        &mut plugins,
        &BTreeMap::new(),
        &meta,
        registry.clone(),
    )
    .unwrap();
    let err = set.start().expect_err("start error");
    assert!(
        err.to_string().contains("deliberate start failure"),
        "{err}"
    );
    let mut set = OutputSet::build(
        &[OutputSpec::parse("tb-panic=in=start").unwrap()],
        &mut plugins,
        &BTreeMap::new(),
        &meta,
        registry,
    )
    .unwrap();
    let err = set.start().expect_err("start panic");
    assert!(err.to_string().contains("panicked in start"), "{err}");
}

#[test]
fn a_bad_host_option_is_refused_with_its_name() {
    let registry = Arc::new(Registry::new());
    let mut plugins = PluginSet::load(&[plugin_path("testbehave")]).unwrap();
    let err = OutputSet::build(
        &[OutputSpec::parse("tb-count=whenFull=sometimes").unwrap()],
        &mut plugins,
        &BTreeMap::new(),
        &loadrun_plugin_api::testkit::test_meta(),
        registry,
    )
    .err()
    .expect("error");
    assert!(err.to_string().contains("whenFull=\"sometimes\""), "{err}");
}
