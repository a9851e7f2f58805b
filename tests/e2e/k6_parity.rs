//! k6 2.x parity through the built binary: summary modes, the machine-readable summary
//! (validated against k6's published schema), `--scenario`, custom metrics in plans, and the
//! one-line refusal of scripts loadrun cannot run (`js_scripts` runs the ones it can).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use loadrun_test_support::loadrun_bin;
use serde_json::Value;

fn loadrun_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(loadrun_bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("TEST_SERVER")
        .env_remove("K6_SUMMARY_MODE")
        .env_remove("K6_NEW_MACHINE_READABLE_SUMMARY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run loadrun")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn ok(out: &Output) -> String {
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    stdout
}

/// Two scenarios against the built-in server; `api` logs in inside a group.
const TWO_SCENARIOS: &str = r#"
testServer = true

[scenarios.api]
executor = "per-vu-iterations"
vus = 1
iterations = 3
exec = "api"

[scenarios.web]
executor = "per-vu-iterations"
vus = 1
iterations = 2

[[steps]]
url = "${TEST_SERVER}/get"

[[flows.api]]
group = "login"
steps = [{ url = "${TEST_SERVER}/post", body = "x", checks = [{ status = 200, name = "logged in" }] }]
"#;

#[test]
fn a_script_loadrun_cannot_run_is_refused_in_one_line_never_with_a_toml_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "script.ts",
        "import ws from \"k6/ws\";\nexport default function (): void {}\n",
    );
    for (script, says) in [
        (
            "script.ts",
            "module \"k6/ws\" is not supported by loadrun yet",
        ),
        ("absent.js", "cannot read the script absent.js"),
    ] {
        let out = loadrun_in(dir.path(), &["run", script], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(255), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        for toml_words in ["expected", "invalid", "TOML parse"] {
            assert!(!stderr.contains(toml_words), "{stderr}");
        }
    }
}

#[test]
fn summary_modes_compact_full_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "plan.toml", TWO_SCENARIOS);

    let compact = ok(&loadrun_in(dir.path(), &["run", "-q", "plan.toml"], &[]));
    assert!(compact.contains("█ TOTAL RESULTS"), "{compact}");
    assert!(!compact.contains("SCENARIO:"), "{compact}");
    assert!(!compact.contains("http_req_waiting"), "{compact}");

    let full = ok(&loadrun_in(
        dir.path(),
        &["run", "-q", "plan.toml", "--summary-mode", "full"],
        &[],
    ));
    let at = |needle: &str| {
        full.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in\n{full}"))
    };
    assert!(at("█ TOTAL RESULTS") < at("█ SCENARIO: api"));
    assert!(at("█ SCENARIO: api") < at("↳ GROUP: login"));
    assert!(at("↳ GROUP: login") < at("█ SCENARIO: web"));
    assert!(full.contains("http_req_waiting"), "{full}");
    // The api scenario's section counts its own 3 requests; the totals count all 5.
    let api = &full[at("█ SCENARIO: api")..at("█ SCENARIO: web")];
    let reqs_line = |block: &str| {
        block
            .lines()
            .find(|l| l.trim_start().starts_with("http_reqs"))
            .map(|l| {
                l.split(':')
                    .nth(1)
                    .unwrap_or("")
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_else(|| panic!("no http_reqs in\n{block}"))
    };
    assert_eq!(reqs_line(api), "3", "{api}");
    assert_eq!(reqs_line(&full[..at("█ SCENARIO: api")]), "5", "{full}");
    assert!(api.contains("✓ logged in"), "{api}");

    for (args, env) in [
        (
            &["run", "-q", "plan.toml", "--summary-mode", "disabled"][..],
            &[][..],
        ),
        (&["run", "-q", "plan.toml", "--no-summary"][..], &[][..]),
        (
            &["run", "-q", "plan.toml"][..],
            &[("K6_SUMMARY_MODE", "disabled")][..],
        ),
    ] {
        let stdout = ok(&loadrun_in(dir.path(), args, env));
        assert!(
            !stdout.contains("TOTAL RESULTS"),
            "{args:?} {env:?}: {stdout}"
        );
    }

    let out = loadrun_in(
        dir.path(),
        &["run", "plan.toml", "--summary-mode", "legacy"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown summary mode 'legacy'; expected compact, full, disabled"),
        "{stderr}"
    );
}

fn schema(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../summary/schema")
        .join(rel);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let registry = jsonschema::Registry::new()
        .add(
            "https://schemas.k6.io/metric/1.0.0/schema.json",
            schema("metric/1.0.0/schema.json"),
        )
        .unwrap()
        .add(
            "https://schemas.k6.io/semver/2.0.0/schema.json",
            schema("semver/2.0.0/schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema("summary/1.0.0/schema.json"))
        .unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_machine_readable_summary_export_follows_k6_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "plan.toml", TWO_SCENARIOS);
    let export = dir.path().join("summary.json");
    let export_arg = export.to_str().unwrap();
    for (flag, env) in [
        (Some("--new-machine-readable-summary"), &[][..]),
        (None, &[("K6_NEW_MACHINE_READABLE_SUMMARY", "true")][..]),
    ] {
        let mut args = vec!["run", "-q", "plan.toml", "--summary-export", export_arg];
        args.extend(flag);
        ok(&loadrun_in(dir.path(), &args, env));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
        assert_eq!(schema_errors(&doc), Vec::<String>::new(), "{doc:#}");
        assert_eq!(doc["version"], "1.0.0");
        assert_eq!(doc["config"]["script"], "plan.toml");
        assert_eq!(doc["results"]["passed"], true);
        let reqs = doc["results"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "http_reqs")
            .unwrap()
            .clone();
        assert_eq!(reqs["values"]["count"], 5.0);
        assert_eq!(doc["results"]["checks"]["results"][0]["name"], "logged in");
        assert_eq!(doc["results"]["checks"]["results"][0]["passes"], 3);
    }
    // Without the switch, the legacy shape stays the default, as in k6.
    ok(&loadrun_in(
        dir.path(),
        &["run", "-q", "plan.toml", "--summary-export", export_arg],
        &[("K6_NEW_MACHINE_READABLE_SUMMARY", "false")],
    ));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert!(doc["root_group"].is_object() && doc["metrics"]["http_reqs"].is_object());
    assert!(!schema_errors(&doc).is_empty());
}

#[test]
fn scenario_flag_runs_only_the_named_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "plan.toml", TWO_SCENARIOS);
    let export = dir.path().join("summary.json");
    let export_arg = export.to_str().unwrap();
    let iterations = |args: &[&str]| {
        let mut all = vec!["run", "-q", "plan.toml", "--summary-export", export_arg];
        all.extend(args);
        let stdout = ok(&loadrun_in(dir.path(), &all, &[]));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
        (doc["metrics"]["iterations"]["count"].as_f64(), stdout)
    };
    assert_eq!(iterations(&[]).0, Some(5.0));
    let (web, summary) = iterations(&["--scenario", "web"]);
    assert_eq!(web, Some(2.0));
    assert!(!summary.contains("logged in"), "{summary}");
    assert_eq!(iterations(&["--scenario", "api"]).0, Some(3.0));
    assert_eq!(iterations(&["--scenario", "api,web"]).0, Some(5.0));

    let out = loadrun_in(
        dir.path(),
        &["run", "plan.toml", "--scenario", "mobile"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(
        stderr
            .contains("--scenario \"mobile\": the plan has no such scenario; available: api, web"),
        "{stderr}"
    );
}

/// Every kind of value: timings (one and a sum), status, body size, an extracted variable, a
/// check's result and a constant; tags; thresholds on them.
fn custom_plan(pages_threshold: &str) -> String {
    format!(
        r#"
testServer = true
iterations = 4
vus = 2

[metrics.login_time]
type = "trend"
time = true

[metrics.setup_time]
type = "trend"
time = true

[metrics.pages]
type = "counter"

[metrics.ok_rate]
type = "rate"

[metrics.last_n]
type = "gauge"

[metrics.size]
type = "trend"

[thresholds]
pages = ["{pages_threshold}"]
login_time = ["p(95)<60000"]
ok_rate = ["rate==1"]
"last_n{{source:echo}}" = ["value==7"]

[[steps]]
url = "${{TEST_SERVER}}/anything?n=7"
name = "login"
checks = [{{ status = 200, name = "is 200" }}]
extract = [{{ var = "n", json = "/args/n" }}]
metrics = [
  {{ metric = "login_time", value = "timings.waiting" }},
  {{ metric = "setup_time", value = "timings.connecting + timings.tls_handshaking" }},
  {{ metric = "pages", value = 1, tags = {{ page = "login" }} }},
  {{ metric = "ok_rate", check = "is 200" }},
  {{ metric = "last_n", value = "${{n}}", tags = {{ source = "echo" }} }},
  {{ metric = "size", value = "body_size + status" }},
]
"#
    )
}

#[test]
fn custom_metrics_reach_the_summary_thresholds_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "plan.toml", &custom_plan("count==4"));
    let export = dir.path().join("summary.json");
    let json_out = dir.path().join("out.json");
    let stdout = ok(&loadrun_in(
        dir.path(),
        &[
            "run",
            "-q",
            "plan.toml",
            "--summary-export",
            export.to_str().unwrap(),
            "-o",
            &format!("json={}", json_out.display()),
        ],
        &[],
    ));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let m = &doc["metrics"];
    assert_eq!(m["pages"]["count"], 4, "{m:#}");
    assert_eq!(m["pages"]["thresholds"]["count==4"], false);
    assert_eq!(m["ok_rate"]["passes"], 4);
    assert_eq!(m["last_n"]["value"], 7);
    assert_eq!(m["last_n{source:echo}"]["value"], 7);
    assert!(m["login_time"]["max"].as_f64().unwrap() > 0.0);
    assert!(m["login_time"]["max"].as_f64().unwrap() < 60_000.0);
    assert!(m["setup_time"]["min"].as_f64().unwrap() >= 0.0);
    // body_size + status: the echo's body is some hundreds of bytes, plus 200.
    assert!(m["size"]["min"].as_f64().unwrap() > 300.0, "{m:#}");
    // The summary lists them in k6's CUSTOM block, time values in time units.
    let custom = &stdout[stdout.find("CUSTOM").expect("a CUSTOM block")..];
    for name in ["login_time", "pages", "ok_rate", "last_n", "size"] {
        assert!(custom.contains(name), "{name} not in\n{stdout}");
    }
    let login_line = custom.lines().find(|l| l.contains("login_time")).unwrap();
    assert!(
        login_line.contains("ms") || login_line.contains("µs"),
        "{login_line}"
    );

    // The JSON output declares each as k6 does and carries the samples with their tags.
    let lines: Vec<Value> = std::fs::read_to_string(&json_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decl = lines
        .iter()
        .find(|l| l["type"] == "Metric" && l["metric"] == "login_time")
        .expect("login_time declared");
    assert_eq!(decl["data"]["type"], "trend");
    assert_eq!(decl["data"]["contains"], "time");
    let pages: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "Point" && l["metric"] == "pages")
        .collect();
    assert_eq!(pages.len(), 4);
    assert_eq!(pages[0]["data"]["tags"]["page"], "login");
    assert_eq!(pages[0]["data"]["tags"]["scenario"], "default");

    // A threshold on a custom metric fails the run like one on a built-in.
    write(dir.path(), "plan.toml", &custom_plan("count>100"));
    let out = loadrun_in(dir.path(), &["run", "-q", "plan.toml"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("✗ 'count>100' count=4"), "{stdout}");
}

#[test]
fn bad_custom_metrics_are_plan_errors_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let step = "\n[[steps]]\nurl = \"http://127.0.0.1:1/\"\n";
    for (body, expected) in [
        (
            format!("[metrics.my-metric]\ntype = \"counter\"\n{step}"),
            "plan.toml:1:10: invalid metric name \"my-metric\": Metric names must only include up to 128 ASCII letters, numbers, or underscores and start with a letter or an underscore.",
        ),
        (
            format!("\n[metrics.http_reqs]\ntype = \"counter\"\n{step}"),
            "plan.toml:2:10: metric \"http_reqs\" is a built-in metric",
        ),
        (
            format!("[metrics.tt]\ntype = \"histogram\"\n{step}"),
            "plan.toml:2:8: unknown variant `histogram`",
        ),
        (
            format!("[metrics.tt]\ntype = \"trend\"\n{step}metrics = [{{ metric = \"tt\", value = \"timings.wait\" }}]\n"),
            "plan.toml:6:",
        ),
        (
            format!("{step}metrics = [{{ metric = \"nope\", value = 1 }}]\n"),
            "steps: [0]: metrics[0]: no metric \"nope\" is declared; add [metrics.nope]",
        ),
        (
            format!("[metrics.rr]\ntype = \"rate\"\n{step}metrics = [{{ metric = \"rr\", check = \"ok\" }}]\n"),
            "steps: [0]: metrics[0]: this step has no check named \"ok\" (its checks: none)",
        ),
    ] {
        write(dir.path(), "plan.toml", &body);
        let out = loadrun_in(dir.path(), &["run", "plan.toml"], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(255), "{body}\n{stderr}");
        assert!(stderr.contains(expected), "{body}\nexpected {expected:?} in:\n{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
