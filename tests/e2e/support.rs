//! Running the built `loadrun` binary as a user would, for the topic modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use loadrun_test_support::{loadrun_bin, plugin_path};

/// What one `loadrun run` left behind.
pub struct Run {
    pub output: Output,
    /// The `--summary-export` JSON (k6's legacy shape plus `outputs`).
    pub summary: serde_json::Value,
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).to_string()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).to_string()
    }

    /// `metrics.NAME.FIELD` of the summary export (e.g. `http_reqs`, `count`).
    pub fn metric(&self, name: &str, field: &str) -> f64 {
        self.summary["metrics"][name][field]
            .as_f64()
            .unwrap_or_else(|| panic!("no metrics.{name}.{field} in {}", self.summary))
    }

    /// The self-metrics of one output (`outputs.outputs[i]` with that name).
    pub fn output_report(&self, name: &str) -> serde_json::Value {
        self.summary["outputs"]["outputs"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no output report for {name} in {}", self.summary))
    }

    /// Asserts the run exited 0 and every output's counts add up with nothing dropped.
    pub fn assert_clean(&self) {
        assert!(
            self.output.status.success(),
            "loadrun failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        );
        for o in self.summary["outputs"]["outputs"].as_array().cloned().unwrap_or_default() {
            let received = o["received"].as_u64().unwrap_or(0);
            let written = o["written"].as_u64().unwrap_or(0);
            let dropped: u64 = ["queue_full", "retries_exhausted", "fatal", "shutdown"]
                .iter()
                .map(|k| o["dropped"][k].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(received, written + dropped, "counts do not add up: {o}");
            assert_eq!(dropped, 0, "output dropped samples: {o}\nstderr:\n{}", self.stderr());
        }
    }
}

/// `loadrun run --test-server --url ${TEST_SERVER}/PATH -u VUS -d DURATION` plus `args`,
/// loading the built plugins named in `plugins`, with a summary export.
pub fn quick_run(path: &str, vus: u32, duration: &str, plugins: &[&str], args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let mut cmd = Command::new(loadrun_bin());
    cmd.current_dir(dir.path())
        .arg("run")
        .arg("--test-server")
        .args(["--url", &format!("${{TEST_SERVER}}{path}")])
        .args(["-u", &vus.to_string(), "-d", duration, "--quiet"])
        .arg("--summary-export")
        .arg(&export);
    for p in plugins {
        cmd.arg("--plugin").arg(plugin_path(p));
    }
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run loadrun");
    let summary = std::fs::read_to_string(&export)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    Run { output, summary, dir }
}

/// A path inside the run's folder.
pub fn in_dir(run: &Run, name: &str) -> PathBuf {
    run.dir.path().join(name)
}

/// Runs `loadrun` with arbitrary arguments (no plugins implied).
pub fn loadrun(args: &[&str], cwd: &Path) -> Output {
    Command::new(loadrun_bin()).current_dir(cwd).args(args).output().expect("run loadrun")
}
