//! Finding and loading plugins, through the `loadrun` binary as a user would.

use std::path::Path;
use std::process::{Command, Output};

use loadrun_test_support::{compat, loadrun_bin, plugin_path};

fn loadrun(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(loadrun_bin());
    cmd.args(args)
        .env_remove("LOADRUN_PLUGIN_PATH")
        .env("XDG_DATA_HOME", "/nonexistent-xdg");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run loadrun")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// One clear error line, a non-zero exit, no panic or backtrace.
fn assert_clean_failure(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure; stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "expected one line: {err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in: {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let o = loadrun(
        &["plugins", "list", "--plugin", "/nonexistent/libout_x.so"],
        &[],
    );
    assert_clean_failure(&o, &["/nonexistent/libout_x.so", "does not exist"]);
}

#[test]
fn a_plugin_in_a_symlink_loop_is_named_as_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("libout_a.so");
    let b = dir.path().join("libout_b.so");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let o = loadrun(&["plugins", "list", "--plugin", a.to_str().unwrap()], &[]);
    assert_clean_failure(&o, &["libout_a.so", "symbolic links"]);
    assert!(!stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn a_file_that_is_not_a_shared_object_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("libout_text.so");
    std::fs::write(&f, "this is not ELF\n").unwrap();
    let o = loadrun(&["plugins", "list", "--plugin", f.to_str().unwrap()], &[]);
    assert_clean_failure(&o, &["libout_text.so", "not a shared library"]);
}

#[test]
fn a_shared_object_that_is_not_a_plugin_is_refused() {
    let libz = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/aarch64-linux-gnu/libz.so.1",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("the system's libz");
    let o = loadrun(&["plugins", "info", libz], &[]);
    assert_clean_failure(&o, &["libz.so.1", "not a loadrun plugin"]);
}

#[test]
fn a_plugin_built_for_another_major_api_is_refused() {
    let so = compat::template_built_against("2.0.0");
    let o = loadrun(&["plugins", "list", "--plugin", so.to_str().unwrap()], &[]);
    assert_clean_failure(
        &o,
        &[
            "libout_counts.so",
            "built against loadrun-plugin-api 2.0.0",
            "rebuild",
        ],
    );
}

#[test]
fn two_plugins_claiming_one_output_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("libout_testbehave.so");
    std::fs::copy(plugin_path("testbehave"), &copy).unwrap();
    let o = loadrun(
        &[
            "plugins",
            "list",
            "--plugin",
            plugin_path("testbehave").to_str().unwrap(),
            "--plugin",
            copy.to_str().unwrap(),
        ],
        &[],
    );
    assert_clean_failure(&o, &["provided by two plugins", "tb-count"]);
}

#[test]
fn an_unknown_output_lists_what_is_available() {
    let o = loadrun(
        &[
            "plugins",
            "info",
            "nosuch",
            "--plugin",
            plugin_path("testbehave").to_str().unwrap(),
        ],
        &[],
    );
    assert_clean_failure(
        &o,
        &[
            "no plugin provides output \"nosuch\"",
            "null",
            "tb-count",
            "LOADRUN_PLUGIN_PATH",
        ],
    );
}

#[test]
fn list_shows_bundled_and_explicit_plugins_and_skipped_candidates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("libout_broken.so"), "not a library").unwrap();
    let o = loadrun(
        &[
            "plugins",
            "list",
            "--plugin",
            plugin_path("testbehave").to_str().unwrap(),
        ],
        &[("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("bundled") && out.contains("null"), "{out}");
    assert!(
        out.contains("out_testbehave") && out.contains("libout_testbehave.so"),
        "{out}"
    );
    assert!(
        out.contains(loadrun_plugin_api::API_VERSION),
        "API version shown: {out}"
    );
    assert!(
        out.contains("libout_broken.so: skipped: ") && out.contains("not a shared library"),
        "{out}"
    );
}

#[test]
fn an_output_is_found_on_the_search_path_by_its_file_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        plugin_path("testbehave"),
        dir.path().join("libout_testbehave.so"),
    )
    .unwrap();
    // `tb-count` is not a file name: the plugin declares it (read from the file, not loaded).
    let o = loadrun(
        &["plugins", "info", "tb-count"],
        &[("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("output tb-count") && out.contains(dir.path().to_str().unwrap()),
        "{out}"
    );
    let o = loadrun(
        &["plugins", "path"],
        &[("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    let out = stdout(&o);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(dir.path().to_str().unwrap()) && first.contains("LOADRUN_PLUGIN_PATH"),
        "{out}"
    );
    assert!(out.contains("/usr/lib/loadrun/plugins"), "{out}");
}

/// A real build of the plugin template against an earlier 1.x release (`tests/compat/`) loads
/// in today's host, under its own API version, and passes the conformance kit.
fn an_earlier_minor_build_loads_and_works(api_version: &str) {
    let old = loadrun_test_support::workspace_root()
        .join(format!("tests/compat/libout_counts-api-{api_version}.so"));
    let o = loadrun(&["plugins", "list", "--plugin", old.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("out_counts"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains(api_version) && line.contains("counts"),
        "{line}"
    );
    assert_ne!(
        loadrun_plugin_api::API_VERSION,
        api_version,
        "the host must be a later minor for this test to mean anything"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counts.tsv");
    let read = file.clone();
    let report = loadrun_plugin_api::testkit::Conformance::new(&old, "counts")
        .arg(&format!("file={}", file.display()))
        .stored_samples(move || {
            Ok(std::fs::read_to_string(&read)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_prefix("loadrun_conformance\t"))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum())
        })
        .run();
    assert!(report.passed(), "{report}");
}

#[test]
fn a_plugin_built_for_the_previous_minor_api_still_loads_and_works() {
    an_earlier_minor_build_loads_and_works("1.2.0");
}

/// 1.2 plugins lack the root module's `declaration` (1.3) and parse their own options.
#[test]
fn a_plugin_built_for_api_1_1_still_loads_and_works() {
    an_earlier_minor_build_loads_and_works("1.1.0");
}

#[test]
fn a_plugin_built_for_the_first_api_release_still_loads_and_works() {
    an_earlier_minor_build_loads_and_works("1.0.0");
}

/// The other direction: a plugin built against today's API (it asks the host for the stop
/// deadline, new in 1.2) in a real host built against 1.1.0 (`tests/compat/`, the 1.1.0
/// conformance kit acting as the host, whose `HostApi` has no such method). The call must be
/// answered "unknown" on the plugin's side, not crash or fail it; under today's kit the same
/// plugin is told the deadline.
#[test]
fn a_plugin_built_for_this_api_runs_in_a_host_built_for_the_previous_minor() {
    let old_host =
        loadrun_test_support::workspace_root().join("tests/compat/conformance-host-api-1.1.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deadline.txt");
    let arg = format!("delay=50,file={}", file.display());
    let o = Command::new(&old_host)
        .arg(plugin_path("testbehave"))
        .args(["tb-deadline", &arg])
        .output()
        .expect("run the 1.1.0 host");
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("host API 1.1.0"), "{out}");
    assert!(out.contains("PASS lifecycle"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "stop_time_left none\n",
        "under a 1.1 host the stop deadline is unknown"
    );

    let report =
        loadrun_plugin_api::testkit::Conformance::new(plugin_path("testbehave"), "tb-deadline")
            .arg(&arg)
            .run();
    assert!(report.passed(), "{report}");
    let told = std::fs::read_to_string(&file).unwrap();
    let ms: u64 = told
        .trim()
        .strip_prefix("stop_time_left ")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("today's host tells the deadline: {told:?}"));
    assert!(ms <= 10_000, "{told}");
}
