//! Runs `loadrun` as a child with a timeline of fault switches, measuring wall time and peak
//! RSS, and reads the per-output report of the summary export.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadrun_test_support::{loadrun_bin, plugin_path};
use serde_json::Value;

/// The plugin file of `name` if it has been built (outputs still being written may not be).
pub fn built_plugin(name: &str) -> Option<PathBuf> {
    let p = plugin_path("statsd").with_file_name(format!("libout_{name}.so"));
    p.exists().then_some(p)
}

/// A timed action during the run (switch a proxy, stop a server, send SIGINT).
pub type Step<'a> = (Duration, Box<dyn FnOnce(u32) + Send + 'a>);

pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub summary: Value,
    pub wall: Duration,
    pub peak_rss_kb: u64,
    /// What /proc said when the peak first passed [`RSS_DETAIL_KB`]: which program, how much
    /// of it anonymous or file memory, how many threads. A peak seen once in a loaded CI run
    /// cannot be reproduced afterwards, so its evidence is taken when it happens.
    pub peak_detail: Option<String>,
    pub dir: tempfile::TempDir,
}

/// A peak RSS above this is unexpected for a 3 s run of a few VUs: its details are kept.
pub const RSS_DETAIL_KB: u64 = 256 * 1024;

impl Finished {
    /// `outputs.outputs[i]` with that name, or Null.
    pub fn report(&self, name: &str) -> Value {
        self.summary["outputs"]["outputs"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == name).cloned())
            .unwrap_or(Value::Null)
    }

    pub fn metric_count(&self, name: &str) -> f64 {
        self.summary["metrics"][name]["count"]
            .as_f64()
            .unwrap_or(0.0)
    }
}

/// Counts of one output's report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub received: u64,
    /// What the output delivered: samples it accepted but then lost or had refused are
    /// reported through the standard `samples_lost` / `samples_rejected` counters and moved
    /// by the host from `written` to `dropped`, so this is what the backend should hold.
    pub written: u64,
    pub dropped: u64,
    /// The part of `dropped` the plugin reported (`dropped.lost` + `dropped.rejected`).
    pub lost: u64,
}

impl Counts {
    pub fn of(report: &Value) -> Counts {
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let dropped = [
            "queue_full",
            "retries_exhausted",
            "fatal",
            "shutdown",
            "rejected",
            "lost",
        ]
        .iter()
        .map(|k| n(&report["dropped"][k]))
        .sum();
        Counts {
            received: n(&report["received"]),
            written: n(&report["written"]),
            dropped,
            lost: n(&report["dropped"]["lost"]) + n(&report["dropped"]["rejected"]),
        }
    }

    pub fn add_up(&self) -> bool {
        self.received == self.written + self.dropped
    }
}

/// `loadrun run --test-server --url ${TEST_SERVER}/ -u 2 -d DURATION --rate 30` with `args`,
/// `steps` run at their offsets from the start.
pub fn run(
    duration: &str,
    plugins: &[PathBuf],
    args: &[String],
    env: &[(String, String)],
    steps: Vec<Step<'_>>,
) -> Finished {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let mut cmd = Command::new(loadrun_bin());
    cmd.current_dir(dir.path())
        .args(["run", "--test-server", "--url", "${TEST_SERVER}/"])
        .args(["-u", "2", "-d", duration, "--rate", "30"])
        .arg("--summary-export")
        .arg(&export)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent");
    for p in plugins {
        cmd.arg("--plugin").arg(p);
    }
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let child = cmd.spawn().expect("spawn loadrun");
    let pid = child.id();
    let (code, stdout, stderr, wall, (peak, peak_detail)) = std::thread::scope(|s| {
        s.spawn(move || {
            for (at, step) in steps {
                let now = started.elapsed();
                if at > now {
                    std::thread::sleep(at - now);
                }
                step(pid);
            }
        });
        wait_measuring(child, started)
    });
    let summary = crate::support::read_summary(&export);
    Finished {
        code,
        stdout,
        stderr,
        summary,
        wall,
        peak_rss_kb: peak,
        peak_detail,
        dir,
    }
}

/// Waits for the child, reading its peak RSS (`VmHWM`) from /proc while it runs; a child that
/// outlives 120 s is killed (the caller's time assertion then fails loudly).
fn wait_measuring(
    mut child: Child,
    started: Instant,
) -> (Option<i32>, String, String, Duration, (u64, Option<String>)) {
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let mut peak = 0;
    let mut detail = None;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak = peak.max(kb);
            if kb > RSS_DETAIL_KB && detail.is_none() {
                detail = Some(proc_detail(pid));
            }
        }
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() > Duration::from_secs(120) => {
                let _ = child.kill();
                break child.wait().unwrap();
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let wall = started.elapsed();
    (
        status.code(),
        o.join().unwrap(),
        e.join().unwrap(),
        wall,
        (peak, detail),
    )
}

/// The program behind `pid` and the memory lines of its status, on one line.
fn proc_detail(pid: u32) -> String {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("exe unreadable: {e}"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let lines: Vec<&str> = status
        .lines()
        .filter(|l| {
            [
                "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect();
    format!(
        "{exe}: {}",
        lines
            .join(", ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Sends SIGINT to `pid`.
pub fn sigint(pid: u32) {
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}

/// Lines of `stderr` (log lines) that mention `needle`.
pub fn lines_with(stderr: &str, needle: &str) -> usize {
    stderr.lines().filter(|l| l.contains(needle)).count()
}
