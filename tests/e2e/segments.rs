//! Execution segments through the `loadrun` binary: the halves of a test, run as two
//! processes, make exactly the requests of one full run; instances tag every sample.

use std::path::Path;
use std::process::{Command, Output};

use loadrun_test_support::loadrun_bin;

const PLAN: &str = r#"
[scenarios.shared]
executor = "shared-iterations"
vus = 3
iterations = 17

[scenarios.pervu]
executor = "per-vu-iterations"
vus = 5
iterations = 4

[[steps]]
url = "${TEST_SERVER}/get"
"#;

struct Done {
    output: Output,
    summary: serde_json::Value,
}

impl Done {
    fn count(&self, metric: &str) -> u64 {
        assert!(
            self.output.status.success(),
            "loadrun failed: {}",
            String::from_utf8_lossy(&self.output.stderr)
        );
        self.summary["metrics"][metric]["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("no {metric} count in {}", self.summary))
    }
}

fn run(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Done {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let export = dir.join(format!("{name}.json"));
    let mut cmd = Command::new(loadrun_bin());
    cmd.current_dir(dir)
        .arg("run")
        .arg(&plan)
        .arg("--quiet")
        .arg("--summary-export")
        .arg(&export)
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run loadrun");
    let summary = crate::support::read_summary(&export);
    Done { output, summary }
}

#[test]
fn two_halves_make_one_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = run(dir.path(), "whole", &[], &[]);
    // 17 shared iterations and 5 VUs × 4, one request each.
    assert_eq!(whole.count("http_reqs"), 37);
    let first = run(dir.path(), "first", &["--execution-segment", "0:1/2"], &[]);
    let second = run(dir.path(), "second", &["--execution-segment", "1/2:1"], &[]);
    for metric in ["http_reqs", "iterations"] {
        assert_eq!(
            first.count(metric) + second.count(metric),
            whole.count(metric),
            "{metric}"
        );
    }
    assert!(first.count("http_reqs") > 0 && second.count("http_reqs") > 0);
}

#[test]
fn three_instances_make_one_full_run_and_tag_their_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut reqs = 0;
    for i in 0..3u64 {
        let name = format!("i{i}");
        let out_json = format!("json={name}.jsonl");
        let out_csv = format!("csv=fileName={name}.csv");
        let index = i.to_string();
        // The second instance takes its index from Kubernetes' variable, as in an Indexed Job.
        let (args, env): (Vec<&str>, Vec<(&str, &str)>) = if i == 1 {
            (
                vec!["--instance-count", "3", "-o", &out_json, "-o", &out_csv],
                vec![("JOB_COMPLETION_INDEX", "1")],
            )
        } else {
            (
                vec![
                    "--instance-index",
                    &index,
                    "--instance-count",
                    "3",
                    "-o",
                    &out_json,
                    "-o",
                    &out_csv,
                ],
                vec![],
            )
        };
        let done = run(dir.path(), &name, &args, &env);
        reqs += done.count("http_reqs");

        let json = std::fs::read_to_string(dir.path().join(format!("{name}.jsonl"))).unwrap();
        let mut points = 0;
        for line in json.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] == "Point" {
                points += 1;
                assert_eq!(v["data"]["tags"]["instance_id"], index.as_str(), "{line}");
            }
        }
        assert!(points > 0, "{name}: no points");
        let csv = std::fs::read_to_string(dir.path().join(format!("{name}.csv"))).unwrap();
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert!(!rows.is_empty());
        for row in rows {
            assert!(
                row.contains(&format!("instance_id={index}")),
                "{name}: {row}"
            );
        }
    }
    assert_eq!(reqs, 37);
}

#[test]
fn a_bad_segment_gets_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    for (args, want) in [
        (
            vec!["--execution-segment", "55%:50%"],
            "--execution-segment \"55%:50%\"",
        ),
        (
            vec!["--execution-segment-sequence", "0,1/2,1/3"],
            "--execution-segment-sequence",
        ),
        (
            vec![
                "--execution-segment",
                "1/3:2/3",
                "--execution-segment-sequence",
                "0,1/2,1",
            ],
            "couldn't find segment 1/3:2/3 in sequence 0,1/2,1",
        ),
        (vec!["--instance-count", "3"], "--instance-index"),
        (
            vec!["--instance-index", "3", "--instance-count", "3"],
            "not below the instance count",
        ),
    ] {
        let done = run(dir.path(), "bad", &args, &[]);
        let err = String::from_utf8_lossy(&done.output.stderr).to_string();
        assert!(!done.output.status.success(), "{args:?} ran");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}
