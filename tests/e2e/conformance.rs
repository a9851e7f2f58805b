//! The conformance kit itself: it passes a well-behaved plugin and fails misbehaving ones.

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::plugin_path;

fn check<'a>(
    report: &'a loadrun_plugin_api::testkit::ConformanceReport,
    name: &str,
) -> &'a loadrun_plugin_api::testkit::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[test]
fn a_well_behaved_plugin_passes_with_exact_counts_and_retries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counts.txt");
    let read = file.clone();
    let report = Conformance::new(plugin_path("testbehave"), "tb-retry")
        .arg(&format!("times=1,file={}", file.display()))
        .stored_samples(move || {
            Ok(std::fs::read_to_string(&read)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_prefix("loadrun_conformance "))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum())
        })
        .fault(|_| {})
        .run();
    assert!(report.passed(), "{report}");
    assert!(
        check(&report, "retry_handling")
            .detail
            .contains("sent 10000, backend holds 10000"),
        "{report}"
    );
}

#[test]
fn a_plugin_that_fails_or_panics_is_reported() {
    let report = Conformance::new(plugin_path("testbehave"), "tb-fatal").run();
    assert!(!check(&report, "lifecycle").passed, "{report}");
    let report = Conformance::new(plugin_path("testbehave"), "tb-panic")
        .arg("in=write")
        .run();
    assert!(!check(&report, "panic_containment").passed, "{report}");
    assert!(
        check(&report, "panic_containment")
            .detail
            .contains("panicked"),
        "{report}"
    );
    let report = Conformance::new(plugin_path("testbehave"), "tb-count")
        .invalid_arg("colour=blue", "colour")
        .run();
    assert!(
        !check(&report, "options_validation").passed,
        "tb-count accepts unknown options: {report}"
    );
    let report = Conformance::new(plugin_path("testbehave"), "nosuch").run();
    assert!(!check(&report, "loads").passed, "{report}");
}

#[test]
fn the_stop_deadline_check_passes_an_output_that_honours_it_and_fails_one_that_does_not() {
    // `tb-deadline` waits in write like a request to a dead server, cut at the stop deadline.
    let report = Conformance::new(plugin_path("testbehave"), "tb-deadline")
        .arg("delay=50")
        .blackhole("delay=10000")
        .run();
    assert!(report.passed(), "{report}");
    assert!(
        check(&report, "stop_deadline")
            .detail
            .contains("a write blocked when stopping began returned"),
        "{report}"
    );
    // `tb-slow` sleeps its whole delay: still busy when the host would abandon it.
    let report = Conformance::new(plugin_path("testbehave"), "tb-slow")
        .arg("delay=1")
        .blackhole("delay=6000")
        .run();
    let c = check(&report, "stop_deadline");
    assert!(!c.passed, "{report}");
    assert!(c.detail.contains("would abandon"), "{report}");
}

/// The out-of-process face gets the same verdicts: the python template passes, and the test
/// child `pybehave` passes with retries and a blackhole, and fails when it crashes.
mod process_face {
    use super::check;
    use loadrun_plugin_api::testkit::Conformance;
    use loadrun_test_support::workspace_root;

    fn template() -> std::path::PathBuf {
        workspace_root().join("examples/plugin-template-python/loadrun-output-pylines")
    }

    fn pybehave() -> std::path::PathBuf {
        workspace_root().join("tests/process-plugins/loadrun-output-pybehave")
    }

    #[test]
    fn the_python_template_passes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("samples.jsonl");
        let read = file.clone();
        let report = Conformance::new(template(), "pylines")
            .arg(&format!("file={}", file.display()))
            .invalid_arg("discard=perhaps", "discard")
            .invalid_arg("colour=blue", "colour")
            .stored_samples(move || {
                Ok(std::fs::read_to_string(&read)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.starts_with("{\"metric\": \"loadrun_conformance\""))
                    .count() as u64)
            })
            .run();
        assert!(report.passed(), "{report}");
        assert!(
            check(&report, "no_loss_no_duplicates")
                .detail
                .contains("sent 10000, backend holds 10000"),
            "{report}"
        );
    }

    #[test]
    fn a_child_that_retries_and_one_cut_at_the_stop_deadline_pass() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("counts.txt");
        let fault = dir.path().join("broken");
        let read = file.clone();
        let flag = fault.clone();
        let report = Conformance::new(pybehave(), "pybehave")
            .arg(&format!(
                "file={},faultFile={}",
                file.display(),
                fault.display()
            ))
            .stored_samples(move || {
                Ok(std::fs::read_to_string(&read)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.strip_prefix("loadrun_conformance "))
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum())
            })
            .fault(move |broken| {
                if broken {
                    std::fs::write(&flag, b"").unwrap();
                } else {
                    let _ = std::fs::remove_file(&flag);
                }
            })
            .blackhole("blackhole=true")
            .run();
        assert!(report.passed(), "{report}");
        assert!(
            check(&report, "retry_handling")
                .detail
                .contains("sent 10000, backend holds 10000"),
            "{report}"
        );
        assert!(
            check(&report, "stop_deadline")
                .detail
                .contains("accepted samples reported lost"),
            "{report}"
        );
    }

    #[test]
    fn a_child_that_crashes_or_raises_fails() {
        let report = Conformance::new(pybehave(), "pybehave")
            .arg("crashAt=1")
            .run();
        assert!(!check(&report, "lifecycle").passed, "{report}");
        assert!(
            check(&report, "lifecycle")
                .detail
                .contains("exited with status 3 during write"),
            "{report}"
        );
        let report = Conformance::new(pybehave(), "pybehave")
            .arg("hangIn=flush")
            .deadlines(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(1),
            )
            .run();
        assert!(!check(&report, "lifecycle").passed, "{report}");
        let report = Conformance::new(workspace_root().join("README.md"), "pylines").run();
        assert!(!check(&report, "loads").passed, "{report}");
    }
}
