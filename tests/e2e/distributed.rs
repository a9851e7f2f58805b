//! Distributed runs without a cluster: `--start-at`, `--result` and `loadrun merge`, with
//! instances as separate processes against one `loadrun serve` target.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use loadrun_test_support::loadrun_bin;

fn loadrun(dir: &Path, args: &[&str]) -> Output {
    Command::new(loadrun_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("TEST_SERVER")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("run loadrun")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `loadrun serve` on a free port, killed when dropped.
struct Target {
    child: Child,
    url: String,
}

impl Target {
    fn start() -> Target {
        let mut child = Command::new(loadrun_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--threads", "2"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start loadrun serve");
        let mut line = String::new();
        let stderr = child.stderr.take().expect("stderr piped");
        BufReader::new(stderr).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Target { child, url }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A copy of a result file claiming another segment.
fn with_segment(src: &Path, segment: &str, dst: &Path) -> PathBuf {
    let mut v = read_json(src);
    v["segment"] = segment.into();
    std::fs::write(dst, serde_json::to_string(&v).unwrap()).unwrap();
    dst.to_path_buf()
}

const PLAN: &str = r#"
[scenarios.s]
executor = "shared-iterations"
vus = 3
iterations = 40

[[steps]]
url = "${TEST_SERVER}/get"
checks = [{ status = 200 }]

[thresholds]
http_req_duration = ["p(95)<10000"]
checks = ["rate>0.99"]
"#;

fn run_with_result(dir: &Path, plan: &str, name: &str, extra: &[&str]) -> PathBuf {
    std::fs::write(dir.join("plan.toml"), plan).unwrap();
    let result = dir.join(name);
    let r = result.to_str().unwrap();
    let mut args = vec!["run", "plan.toml", "-q", "--no-summary", "--result", r];
    args.extend_from_slice(extra);
    let out = loadrun(dir, &args);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    result
}

#[test]
fn merging_one_whole_result_reproduces_the_runs_summary() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("run-summary.json");
    let result = run_with_result(
        dir.path(),
        PLAN,
        "r.json",
        &["--summary-export", export.to_str().unwrap()],
    );
    let merged = dir.path().join("merged-summary.json");
    let out = loadrun(
        dir.path(),
        &[
            "merge",
            result.to_str().unwrap(),
            "--summary-export",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("http_reqs"),
        "{}",
        text(&out.stdout)
    );
    // Same state, same span: every value of every metric is the run's own.
    let (a, b) = (read_json(&export), read_json(&merged));
    assert_eq!(a["metrics"], b["metrics"]);
    assert_eq!(a["root_group"], b["root_group"]);
    assert_eq!(b["metrics"]["http_reqs"]["count"], 40.0);

    // The summary flags `run` has, on the merge.
    let out = loadrun(
        dir.path(),
        &[
            "merge",
            result.to_str().unwrap(),
            "--summary-trend-stats",
            "avg,p(99)",
            "--summary-time-unit",
            "us",
            "--summary-export",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let line = text(&out.stdout)
        .lines()
        .find(|l| l.contains("http_req_duration") && l.contains("avg="))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        line.contains("p(99)=") && line.contains("µs") && !line.contains("med="),
        "{line}"
    );
    let stats: Vec<String> = read_json(&merged)["metrics"]["http_req_duration"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // (and the thresholds the plan sets on it, as k6 exports them)
    assert_eq!(stats, ["avg", "p(99)", "thresholds"]);
}

#[test]
fn merge_refuses_results_that_are_not_one_whole_test() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let whole = run_with_result(d, PLAN, "whole.json", &[]);
    let first = with_segment(&whole, "0:1/3", &d.join("a.json"));
    let second = with_segment(&whole, "1/3:2/3", &d.join("b.json"));
    let third = with_segment(&whole, "2/3:1", &d.join("c.json"));
    let half = with_segment(&whole, "0:1/2", &d.join("h.json"));
    let merge = |files: &[&Path]| {
        let mut args = vec!["merge", "--no-summary"];
        args.extend(files.iter().map(|p| p.to_str().unwrap()));
        loadrun(d, &args)
    };

    let ok = merge(&[&third, &first, &second]);
    assert_eq!(code(&ok), 0, "{}", text(&ok.stderr));

    let missing = merge(&[&first, &third]);
    assert_eq!(code(&missing), 255);
    let e = text(&missing.stderr);
    assert!(e.contains("missing 1/3:2/3"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");

    let doubled = merge(&[&half, &second, &third]);
    assert_eq!(code(&doubled), 255);
    let e = text(&doubled.stderr);
    assert!(e.contains("covered twice 1/3:1/2 (by "), "{e}");
    assert!(e.contains("h.json") && e.contains("b.json"), "{e}");

    // Another plan: more iterations.
    let other_dir = tempfile::tempdir().unwrap();
    let other = run_with_result(
        other_dir.path(),
        &PLAN.replace("iterations = 40", "iterations = 41"),
        "o.json",
        &[],
    );
    let other = with_segment(&other, "1/3:2/3", &d.join("other.json"));
    let foreign = merge(&[&first, &other, &third]);
    assert_eq!(code(&foreign), 255);
    let e = text(&foreign.stderr);
    assert!(
        e.contains("other.json is a result of another plan than") && e.contains("a.json"),
        "{e}"
    );

    // Truncated, edited so its counts disagree, and of a version this build does not read.
    let body = std::fs::read_to_string(&whole).unwrap();
    let truncated = d.join("truncated.json");
    std::fs::write(&truncated, &body[..body.len() / 2]).unwrap();
    let e = text(&merge(&[&truncated]).stderr);
    assert!(
        e.starts_with("loadrun: error: ")
            && e.contains("truncated.json: not a loadrun result file"),
        "{e}"
    );
    let mut v = read_json(&whole);
    v["data"]["metrics"]["http_req_duration"]["state"]["count"] = 7.into();
    let edited = d.join("edited.json");
    std::fs::write(&edited, v.to_string()).unwrap();
    let e = text(&merge(&[&edited]).stderr);
    assert!(
        e.contains("edited.json") && e.contains("http_req_duration"),
        "{e}"
    );
    let mut v = read_json(&whole);
    v["format"] = "loadrun-result/99".into();
    let future = d.join("future.json");
    std::fs::write(&future, v.to_string()).unwrap();
    let out = merge(&[&future]);
    assert_eq!(code(&out), 255);
    assert!(text(&out.stderr).contains("future.json: result format 'loadrun-result/99'"));
}

#[test]
fn merged_thresholds_judge_the_whole_test() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = PLAN.replace(
        r#"http_req_duration = ["p(95)<10000"]"#,
        r#"http_reqs = ["count>50"]"#,
    );
    // Each instance alone fails `count>50` (40 requests); together they pass.
    let a = run_with_result(d, &plan, "a.json", &["--no-thresholds"]);
    let b = run_with_result(d, &plan, "b.json", &["--no-thresholds"]);
    let a = with_segment(&a, "0:1/2", &d.join("a2.json"));
    let b = with_segment(&b, "1/2:1", &d.join("b2.json"));
    let out = loadrun(d, &["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("✓ 'count>50'"),
        "{}",
        text(&out.stdout)
    );
    // A share cut short is merged, with a warning naming it.
    let mut v = read_json(&b);
    v["endReason"] = "interrupted".into();
    std::fs::write(&b, v.to_string()).unwrap();
    let out = loadrun(
        d,
        &[
            "merge",
            "--no-summary",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    let e = text(&out.stderr);
    assert!(
        e.contains("b2.json") && e.contains("ended early (interrupted)"),
        "{e}"
    );
    let single = loadrun(
        d,
        &["merge", "--no-summary", &d.join("a.json").to_string_lossy()],
    );
    assert_eq!(code(&single), 99, "{}", text(&single.stderr));
}

#[test]
fn a_late_start_refuses_to_run_with_its_own_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let late = (now_ms() - 10_000).to_string();
    let out = loadrun(
        dir.path(),
        &[
            "run",
            "plan.toml",
            "-q",
            "--start-at",
            &late,
            "--result",
            "r.json",
        ],
    );
    assert_eq!(code(&out), 111, "{}", text(&out.stderr));
    let e = text(&out.stderr);
    assert!(
        e.contains("--start-at") && e.contains("had passed by"),
        "{e}"
    );
    assert!(!dir.path().join("r.json").exists());

    // Within --start-at-tolerance, a late instance runs.
    let late = (now_ms() - 2_000).to_string();
    let args = [
        "run",
        "plan.toml",
        "-q",
        "--no-summary",
        "--start-at",
        &late,
    ];
    let out = loadrun(
        dir.path(),
        &[&args[..], &["--start-at-tolerance", "30s"]].concat(),
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    let bad = loadrun(dir.path(), &["run", "plan.toml", "--start-at", "tomorrow"]);
    assert_eq!(code(&bad), 255);
    assert!(text(&bad.stderr).contains("--start-at \"tomorrow\""));
}

#[test]
fn instances_given_one_start_time_start_together() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::start();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let at = now_ms() + 2_000;
    let env = format!("TEST_SERVER={}", target.url);
    let children: Vec<Child> = (0..3)
        .map(|i| {
            Command::new(loadrun_bin())
                .args(["run", "plan.toml", "-q", "--no-summary", "-e", &env])
                .args(["--start-at", &at.to_string()])
                .args(["--result", &format!("r{i}.json")])
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    }
    for i in 0..3 {
        let start = read_json(&dir.path().join(format!("r{i}.json")))["startUnixNs"]
            .as_i64()
            .unwrap();
        // Not before the instant: the schedule counts from it.
        assert!(start >= at as i64 * 1_000_000, "instance {i} started early");
    }
}

/// Every executor whose share is a count, and both arrival rates. The thresholds only declare
/// per-scenario submetrics, so the summaries count each scenario apart.
const SPLIT_PLAN: &str = r#"
[scenarios.shared]
executor = "shared-iterations"
vus = 5
iterations = 47

[scenarios.per_vu]
executor = "per-vu-iterations"
vus = 4
iterations = 7

[scenarios.car]
executor = "constant-arrival-rate"
rate = 30
timeUnit = "1s"
duration = "2s"
preAllocatedVUs = 6
maxVUs = 6

[scenarios.rar]
executor = "ramping-arrival-rate"
startRate = 10
timeUnit = "1s"
preAllocatedVUs = 6
maxVUs = 6
stages = [{ duration = "1s", target = 30 }, { duration = "1s", target = 30 }]

[[steps]]
url = "${TEST_SERVER}/get"

[thresholds]
"iterations{scenario:shared}" = ["count>=0"]
"iterations{scenario:per_vu}" = ["count>=0"]
"iterations{scenario:car}" = ["count>=0"]
"iterations{scenario:rar}" = ["count>=0"]
"http_reqs{scenario:car}" = ["count>=0"]
"http_reqs{scenario:rar}" = ["count>=0"]
"#;

#[test]
fn three_instances_add_up_to_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = Target::start();
    std::fs::write(d.join("plan.toml"), SPLIT_PLAN).unwrap();
    let env = format!("TEST_SERVER={}", target.url);
    let spawn = |extra: &[String]| {
        Command::new(loadrun_bin())
            .args(["run", "plan.toml", "-q", "--no-summary", "-e", &env])
            .args(extra)
            .current_dir(d)
            .env_remove("JOB_COMPLETION_INDEX")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let at = (now_ms() + 1_500).to_string();
    let instances: Vec<Child> = (0..3)
        .map(|i| {
            spawn(&[
                "--instance-index".into(),
                i.to_string(),
                "--instance-count".into(),
                "3".into(),
                "--start-at".into(),
                at.clone(),
                "--result".into(),
                format!("i{i}.json"),
                // Each its own outputs, as on separate machines.
                "-o".into(),
                format!("json=i{i}.ndjson"),
            ])
        })
        .collect();
    for c in instances {
        let out = c.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    }
    let single = spawn(&["--summary-export".into(), "single.json".into()])
        .wait_with_output()
        .unwrap();
    assert_eq!(code(&single), 0, "{}", text(&single.stderr));
    let merged = loadrun(
        d,
        &[
            "merge",
            "i0.json",
            "i1.json",
            "i2.json",
            "--summary-export",
            "merged.json",
        ],
    );
    assert_eq!(code(&merged), 0, "{}", text(&merged.stderr));

    let (one, all) = (
        read_json(&d.join("single.json")),
        read_json(&d.join("merged.json")),
    );
    let count = |v: &serde_json::Value, m: &str| v["metrics"][m]["count"].as_f64();
    for (metric, expected) in [
        ("iterations{scenario:shared}", Some(47.0)),
        ("iterations{scenario:per_vu}", Some(28.0)),
        ("iterations{scenario:car}", Some(60.0)),
        ("iterations{scenario:rar}", None),
        ("http_reqs{scenario:car}", Some(60.0)),
        ("http_reqs{scenario:rar}", None),
        ("iterations", None),
        ("http_reqs", None),
    ] {
        assert_eq!(count(&all, metric), count(&one, metric), "{metric}");
        if let Some(n) = expected {
            assert_eq!(count(&all, metric), Some(n), "{metric}");
        }
    }
    assert!(count(&all, "iterations{scenario:rar}").unwrap_or(0.0) > 0.0);
    assert_eq!(
        count(&one, "dropped_iterations"),
        None,
        "the single run dropped iterations"
    );
    assert_eq!(
        count(&all, "dropped_iterations"),
        None,
        "an instance dropped iterations"
    );
    // The plan's VUs: 5 + 4 + 6 + 6, split 2+2+1, 2+1+1, 2+2+2, 2+2+2.
    assert_eq!(all["metrics"]["vus_max"]["max"].as_f64(), Some(21.0));
    assert_eq!(one["metrics"]["vus_max"]["max"].as_f64(), Some(21.0));
    // Each instance's own output carries its instance_id.
    for i in 0..3 {
        let lines = std::fs::read_to_string(d.join(format!("i{i}.ndjson"))).unwrap();
        assert!(
            lines.contains(&format!("\"instance_id\":\"{i}\"")),
            "instance {i}'s output has no instance_id tag"
        );
    }
}
