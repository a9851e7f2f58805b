//! Go plugins through the C face (the Go SDK in `plugin-api/go`, the template in
//! `examples/plugin-template-go`): two separately built Go plugins and a C plugin in one run,
//! quarantine of a failing Go output, and the conformance kit. Built here with the Go
//! toolchain (`loadrun_test_support::cplugin::build_go_template`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::artifacts::target_dir;
use loadrun_test_support::cplugin;

use crate::support::{in_dir, quick_run};

/// The Go template built as `gocount` and, separately, as `gocount2`; `None` without Go.
fn go_plugins() -> Option<&'static (PathBuf, PathBuf)> {
    static BUILT: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = target_dir().join("e2e-go");
            let _ = std::fs::remove_dir_all(&root);
            let build = |name: &str| {
                let dir = root.join(name);
                std::fs::create_dir_all(&dir).unwrap();
                cplugin::build_go_template("go_face", &dir, name)
            };
            Some((build("gocount")?, build("gocount2")?))
        })
        .as_ref()
}

/// `metric count` lines summed.
fn counted(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(_, n)| n.parse::<u64>().unwrap())
        .sum()
}

#[test]
fn two_separately_built_go_plugins_and_a_c_plugin_run_in_one_run() {
    let Some((one, two)) = go_plugins() else {
        return;
    };
    let c_dir = tempfile::tempdir().unwrap();
    let Some(lines) = cplugin::build_template(
        "go_face::with_c",
        c_dir.path(),
        cplugin::Header::Dir(&cplugin::header_dir()),
    ) else {
        return;
    };
    let run = quick_run(
        "/get",
        2,
        "2s",
        &[],
        &[
            "--plugin",
            one.to_str().unwrap(),
            "--plugin",
            two.to_str().unwrap(),
            "--plugin",
            lines.to_str().unwrap(),
            "-o",
            "gocount=one.txt",
            "-o",
            "gocount2=two.txt",
            "-o",
            "gocount2-null",
            "-o",
            "lines=lines.txt",
        ],
        &[],
    );
    run.assert_clean();
    let written = run.output_report("gocount")["written"].as_u64().unwrap();
    assert!(written > 0);
    for (output, file) in [("gocount", "one.txt"), ("gocount2", "two.txt")] {
        assert_eq!(
            counted(&in_dir(&run, file)),
            run.output_report(output)["written"].as_u64().unwrap(),
            "{output}"
        );
    }
    let text = std::fs::read_to_string(in_dir(&run, "two.txt")).unwrap();
    let reqs: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("http_reqs "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(reqs as f64, run.metric("http_reqs", "count"));
    assert_eq!(run.output_report("gocount2-null")["written"], written);
    assert_eq!(run.output_report("lines")["written"], written);
}

#[test]
fn a_failing_go_output_is_quarantined_and_the_run_goes_on() {
    let Some((one, _)) = go_plugins() else {
        return;
    };
    let run = quick_run(
        "/get",
        1,
        "1s",
        &[],
        &[
            "--plugin",
            one.to_str().unwrap(),
            "-o",
            "gocount=c.txt,failAfter=1",
        ],
        &[],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let r = run.output_report("gocount");
    assert_eq!(r["state"], "quarantined", "{r}");
    assert!(r["dropped"]["fatal"].as_u64().unwrap() > 0, "{r}");
    assert!(
        r["errors"].to_string().contains("gave up after 1 batches"),
        "{r}"
    );
    // A Go option error is the host's, in one line naming the option.
    let run = quick_run(
        "/get",
        1,
        "1s",
        &[],
        &[
            "--plugin",
            one.to_str().unwrap(),
            "-o",
            "gocount=failAfter=-1",
        ],
        &[],
    );
    assert!(!run.output.status.success());
    assert!(run.stderr().contains("failAfter"), "{}", run.stderr());
}

#[test]
fn the_go_template_passes_the_conformance_kit() {
    let Some((one, _)) = go_plugins() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counts.txt");
    let read = file.clone();
    let report = Conformance::new(one, "gocount")
        .arg(&format!("file={}", file.display()))
        .invalid_arg("failAfter=soon", "failAfter")
        .invalid_arg("colour=blue", "colour")
        .stored_samples(move || {
            Ok(std::fs::read_to_string(&read)
                .map_err(|e| e.to_string())?
                .lines()
                .filter_map(|l| l.strip_prefix("loadrun_conformance "))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum())
        })
        .run();
    report.assert_passed();
    assert_eq!(report.checks.len(), 5, "{report}");
}

#[test]
fn a_panic_in_a_go_output_is_an_error_the_host_reports_never_a_crash() {
    let dir = target_dir().join("e2e-go-panic");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = loadrun_test_support::workspace_root().join("tests/goplugins/panic");
    let Some(lib) = cplugin::build_go("go_face::panic", &src, &dir, "gopanic", "") else {
        return;
    };
    let lib = lib.to_str().unwrap();
    // In write: quarantined with the panic's message; the run goes on and ends normally.
    let run = quick_run(
        "/get",
        1,
        "1s",
        &[],
        &["--plugin", lib, "-o", "gopanic=write"],
        &[],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let r = run.output_report("gopanic");
    assert_eq!(r["state"], "quarantined", "{r}");
    assert!(
        r["errors"].to_string().contains("panicked in write")
            && r["errors"].to_string().contains("nil map"),
        "{r}"
    );
    // In the constructor: the run is refused before it starts, in one line.
    let run = quick_run(
        "/get",
        1,
        "1s",
        &[],
        &["--plugin", lib, "-o", "gopanic=new"],
        &[],
    );
    assert!(!run.output.status.success());
    assert!(
        run.stderr()
            .contains("panicked in new_output: deliberate panic in new"),
        "{}",
        run.stderr()
    );
    // In stop: reported as a failed stop.
    let run = quick_run(
        "/get",
        1,
        "1s",
        &[],
        &["--plugin", lib, "-o", "gopanic=stop"],
        &[],
    );
    assert_eq!(run.output_report("gopanic")["state"], "stop_failed");
    assert!(
        run.stderr().contains("panicked in stop"),
        "{}",
        run.stderr()
    );
}
