//! Plugins written against `loadrun_plugin.h` (the C face): refused in one line when their
//! table is unusable, and otherwise driven by the same queue, retries, quarantine, accounting
//! and conformance kit as Rust plugins. The C sources are compiled here with the system's C
//! compiler (`loadrun_test_support::cplugin`).

use std::path::Path;
use std::process::{Command, Output};

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::{cplugin, loadrun_bin};

use crate::support::{in_dir, loud_run, quick_run};

fn loadrun(args: &[&str]) -> Output {
    Command::new(loadrun_bin())
        .args(args)
        .env_remove("LOADRUN_PLUGIN_PATH")
        .env("XDG_DATA_HOME", "/nonexistent-xdg")
        .output()
        .expect("run loadrun")
}

/// A C plugin whose table is built by `TABLE` (a macro the case defines) and whose functions
/// do nothing, so each case changes only what it is about (not static: a case may leave
/// some unused).
const PRELUDE: &str = r#"
#include <loadrun_plugin.h>
int32_t n(const char *i, size_t l, lr_output **o, lr_msg *e) { (void)i; (void)l; (void)e; *o = (lr_output *)1; return LR_OK; }
int32_t s(lr_output *o, const lr_host_api *a, lr_host *h, lr_msg *e) { (void)o; (void)a; (void)h; (void)e; return LR_OK; }
int32_t w(lr_output *o, const lr_batch *b, int64_t *r, lr_msg *m) { (void)o; (void)b; (void)r; (void)m; return LR_OK; }
int32_t f(lr_output *o, uint64_t t, lr_msg *e) { (void)o; (void)t; (void)e; return LR_OK; }
int32_t st(lr_output *o, const char *j, size_t l, uint64_t t, lr_msg *e) { (void)o; (void)j; (void)l; (void)t; (void)e; return LR_OK; }
void d(lr_output *o) { (void)o; }
#define INFO "{\"format\":1,\"plugin\":\"broken\",\"version\":\"0\",\"outputs\":[{\"name\":\"broken\"}]}"
"#;

fn broken_plugin(dir: &Path, name: &str, table: &str) -> Option<std::path::PathBuf> {
    let source = format!(
        "{PRELUDE}\nstatic const lr_plugin_api API = {table};\n\
         LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t a, uint32_t b) {{ (void)a; (void)b; return &API; }}\n"
    );
    cplugin::build("c_face::refusals", dir, name, &source)
}

#[test]
fn a_c_plugin_with_an_unusable_table_is_refused_in_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "newer_major",
            "{sizeof(lr_plugin_api), 2, 0, 0, INFO, n, s, w, f, st, d}",
            "built for C ABI 2.0, but this loadrun speaks C ABI 1.0",
        ),
        (
            "too_small",
            "{16, 1, 0, 0, INFO, n, s, w, f, st, d}",
            "its function table is 16 bytes, smaller than C ABI 1.0's 72",
        ),
        (
            "no_write",
            "{sizeof(lr_plugin_api), 1, 0, 0, INFO, n, s, NULL, f, st, d}",
            "its table has no write function (NULL)",
        ),
        (
            "no_info",
            "{sizeof(lr_plugin_api), 1, 0, 0, NULL, n, s, w, f, st, d}",
            "its table has no info_json (NULL)",
        ),
        (
            "bad_info",
            "{sizeof(lr_plugin_api), 1, 0, 0, \"{\\\"outputs\\\":\", n, s, w, f, st, d}",
            "its info_json is not valid",
        ),
    ];
    let mut built = Vec::new();
    for (name, table, reason) in cases {
        let Some(path) = broken_plugin(dir.path(), name, table) else {
            return;
        };
        built.push((path, *reason));
    }
    // The entry answering NULL: the plugin does not serve this host's major.
    let null = format!(
        "{PRELUDE}\nLR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t a, uint32_t b) {{ (void)a; (void)b; return NULL; }}\n"
    );
    if let Some(path) = cplugin::build("c_face::refusals", dir.path(), "null_table", &null) {
        built.push((path, "loadrun_plugin_v1 returned NULL"));
    }
    for (path, reason) in built {
        let o = loadrun(&["plugins", "list", "--plugin", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{} was accepted", path.display());
        assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
        assert!(
            err.contains(path.to_str().unwrap()),
            "file not named: {err}"
        );
        assert!(err.contains("C plugin refused"), "{err}");
        assert!(err.contains(reason), "expected {reason:?} in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_c_template_builds_outside_the_workspace_and_writes_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lib) = cplugin::build_template(
        "c_face::template",
        dir.path(),
        cplugin::Header::Dir(&cplugin::header_dir()),
    ) else {
        return;
    };
    let run = quick_run(
        "/get",
        2,
        "1s",
        &[],
        &["--plugin", lib.to_str().unwrap(), "--out", "lines"],
        &[],
    );
    run.assert_clean();
    let report = run.output_report("lines");
    let written = report["written"].as_u64().unwrap();
    assert!(written > 0, "{report}");
    // The default file, in the working directory; one line per sample.
    let text = std::fs::read_to_string(in_dir(&run, "loadrun-lines.txt")).unwrap();
    assert_eq!(text.lines().count() as u64, written, "{report}");
    let reqs = text
        .lines()
        .filter(|l| l.starts_with("http_reqs 1 "))
        .count();
    assert_eq!(reqs as f64, run.metric("http_reqs", "count"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_req_duration ") && l.contains("status=200")),
        "{}",
        text.lines().next().unwrap_or("")
    );
    // The options are the host's to check, as for a Rust plugin: one line naming the option.
    let o = loadrun(&[
        "run",
        "--test-server",
        "--url",
        "${TEST_SERVER}/get",
        "-u",
        "1",
        "-d",
        "1s",
        "--plugin",
        lib.to_str().unwrap(),
        "-o",
        "lines=buferSize=1KiB",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("unknown key \"buferSize\"") && err.contains("did you mean bufferSize"),
        "{err}"
    );
    // On the plugin path, found by its file name and listed like a Rust plugin.
    let o = Command::new(loadrun_bin())
        .args(["plugins", "list"])
        .env("LOADRUN_PLUGIN_PATH", dir.path())
        .env("XDG_DATA_HOME", "/nonexistent-xdg")
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(
        list.lines().any(|l| l.contains("out_lines")
            && l.contains("C ABI 1.0")
            && l.contains("lines")
            && l.trim_end().ends_with(lib.to_str().unwrap())),
        "{list}"
    );
    // `plugins info` shows the C plugin's declaration like a Rust plugin's.
    let o = loadrun(&[
        "plugins",
        "info",
        "lines",
        "--plugin",
        lib.to_str().unwrap(),
    ]);
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(info.contains("loadrun_plugin.h (C ABI 1.0)"), "{info}");
    assert!(
        info.contains("bufferSize") && info.contains("64KiB"),
        "{info}"
    );
}

#[test]
fn the_c_template_passes_the_conformance_kit() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lib) = cplugin::build_template(
        "c_face::conformance",
        dir.path(),
        cplugin::Header::Dir(&cplugin::header_dir()),
    ) else {
        return;
    };
    let file = dir.path().join("conformance.txt");
    let read = file.clone();
    let report = Conformance::new(&lib, "lines")
        .arg(&format!("file={},bufferSize=4KiB", file.display()))
        .invalid_arg("bufferSize=0", "bufferSize")
        .invalid_arg("colour=blue", "colour")
        .stored_samples(move || {
            Ok(std::fs::read_to_string(&read)
                .map_err(|e| e.to_string())?
                .lines()
                .filter(|l| l.starts_with("loadrun_conformance "))
                .count() as u64)
        })
        .run();
    report.assert_passed();
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "loads",
            "options_validation",
            "lifecycle",
            "panic_containment",
            "no_loss_no_duplicates"
        ],
        "{report}"
    );
}

/// A C output that asks for a retry on every other write, one that fails for good, and the
/// host callbacks: a log line and a counter at stop.
const RETRY_AND_FATAL: &str = r#"
#include <loadrun_plugin.h>
#include <stdlib.h>
#include <string.h>
struct lr_output { int fatal; unsigned calls; const lr_host_api *api; lr_host *host; };
static int32_t n(const char *init, size_t len, lr_output **out, lr_msg *err) {
    lr_output *o = calloc(1, sizeof *o);
    if (o == NULL) return lr_msg_set(err, "out of memory", LR_FATAL);
    /* The init document names the output: {"arg":..,"config":..,"options":..,"output":"cfatal",..} */
    const char *key = "\"output\":\"cfatal\"";
    size_t k = strlen(key);
    for (size_t i = 0; i + k <= len; i++) if (memcmp(init + i, key, k) == 0) o->fatal = 1;
    *out = o;
    return LR_OK;
}
static int32_t s(lr_output *o, const lr_host_api *a, lr_host *h, lr_msg *e) { (void)e; o->api = a; o->host = h; return LR_OK; }
static int32_t w(lr_output *o, const lr_batch *b, int64_t *retry_after_ms, lr_msg *m) {
    if (b->samples_len == 0) return LR_OK;
    if (o->fatal) return lr_msg_set(m, "boom from C", LR_FATAL);
    if (o->calls++ % 2 == 0) { *retry_after_ms = 5; return lr_msg_set(m, "busy, try again", LR_RETRY); }
    return LR_OK;
}
static int32_t f(lr_output *o, uint64_t t, lr_msg *e) { (void)o; (void)t; (void)e; return LR_OK; }
static int32_t st(lr_output *o, const char *j, size_t l, uint64_t t, lr_msg *e) {
    (void)t; (void)e;
    const char *passed = "\"passed\":true";
    int ok = 0;
    for (size_t i = 0; i + strlen(passed) <= l; i++) if (memcmp(j + i, passed, strlen(passed)) == 0) ok = 1;
    const char *line = ok ? "stopped after a passed run" : "stopped after a failed run";
    o->api->log(o->host, LR_LOG_WARN, line, strlen(line));
    o->api->add_counter(o->host, "c_stops", 7, 1);
    return LR_OK;
}
static void d(lr_output *o) { free(o); }
static const lr_plugin_api API = {sizeof(lr_plugin_api), LR_ABI_MAJOR, LR_ABI_MINOR, 0,
    "{\"format\":1,\"plugin\":\"out_cflaky\",\"version\":\"1.0.0\",\"outputs\":[{\"name\":\"cretry\"},{\"name\":\"cfatal\"}]}",
    n, s, w, f, st, d};
LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t a, uint32_t b) { (void)b; return a == LR_ABI_MAJOR ? &API : NULL; }
"#;

#[test]
fn a_c_output_is_retried_quarantined_and_counted_like_a_rust_one() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lib) = cplugin::build(
        "c_face::retry_and_fatal",
        dir.path(),
        "cflaky",
        RETRY_AND_FATAL,
    ) else {
        return;
    };
    let run = loud_run(
        "/get",
        1,
        "1s",
        &[],
        &[
            "--plugin",
            lib.to_str().unwrap(),
            "-o",
            "cretry",
            "-o",
            "cfatal",
        ],
        &[],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let retry = run.output_report("cretry");
    assert_eq!(retry["state"], "ok", "{retry}");
    assert_eq!(retry["received"], retry["written"], "{retry}");
    assert!(retry["retries"].as_u64().unwrap() > 0, "{retry}");
    assert_eq!(retry["counters"]["c_stops"], 1, "{retry}");
    let fatal = run.output_report("cfatal");
    assert_eq!(fatal["state"], "quarantined", "{fatal}");
    assert_eq!(fatal["written"], 0, "{fatal}");
    assert_eq!(fatal["received"], fatal["dropped"]["fatal"], "{fatal}");
    assert!(
        fatal["errors"].to_string().contains("boom from C"),
        "{fatal}"
    );
    assert!(
        run.stderr()
            .contains("output cretry: stopped after a passed run"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_c_plugin_is_loaded_once_its_initialisers_run_once() {
    // Trying the Rust ABI first must not unload and reload a C library (its destructors and
    // constructors would run again).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("init.log");
    let source = format!(
        "{PRELUDE}\n#include <stdio.h>\n\
         __attribute__((constructor)) static void hello(void) {{ FILE *f = fopen(\"{log}\", \"a\"); if (f) {{ fputs(\"init\\n\", f); fclose(f); }} }}\n\
         __attribute__((destructor)) static void bye(void) {{ FILE *f = fopen(\"{log}\", \"a\"); if (f) {{ fputs(\"fini\\n\", f); fclose(f); }} }}\n\
         static const lr_plugin_api API = {{sizeof(lr_plugin_api), 1, 0, 0, INFO, n, s, w, f, st, d}};\n\
         LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t a, uint32_t b) {{ (void)a; (void)b; return &API; }}\n",
        log = log.display()
    );
    let Some(path) = cplugin::build("c_face::once", dir.path(), "once", &source) else {
        return;
    };
    let o = loadrun(&["plugins", "list", "--plugin", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().filter(|l| *l == "init").count(), 1, "{text}");
}
