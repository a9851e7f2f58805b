//! Runaway runs (issue 27, items 3 and 7): iterations that finish without ever waiting (every
//! request refused, out of file descriptors, steps that do nothing), absurd arrival rates, a
//! think time holding samples back, and Ctrl-C with requests that never get an answer. Each run
//! must end within its duration plus its graceful stop (plus slack), in bounded memory, with a
//! bounded `-o json` file and one warning rather than one per request.
//!
//! A watchdog kills a run that breaks its bounds (time or JSON size), so a regression fails
//! fast instead of filling the disk.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loadrun_test_support::loadrun_bin;
use serde_json::Value;

/// Startup, summary and a loaded 2-core machine: generous on purpose, it catches a run that
/// does not stop, not slowness.
const SLACK: Duration = Duration::from_secs(7);
/// k6's default gracefulStop, which the `--url`/`--rate` shortcuts keep.
const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);
/// `-o json` bytes per iteration whose one request failed: 9 `http_req*` points and 4
/// iteration points of about 270 bytes (3.6 KiB measured), rounded up.
const JSON_PER_FAILED_ITERATION: u64 = 4096;
/// Iterations a VU runs before its backoff reaches 1 s (engine `pace`: 3 at full speed, then
/// 4 doubling waits from 100 ms), plus one — after that, one a second.
const WARMUP_ITERATIONS: u64 = 8;
/// Peak RSS of a run with 1,000 VUs (about 100 MB measured; an arrival scheduler that
/// allocated per missed iteration grew without limit).
const MAX_RSS_KB: u64 = 400 * 1024;

/// The most a run of `vus` VUs whose iterations all fail at once may write to `-o json` in
/// `secs` seconds: each VU backs off to one iteration a second.
fn failing_json_bound(vus: u64, secs: u64) -> u64 {
    vus * (WARMUP_ITERATIONS + secs) * JSON_PER_FAILED_ITERATION
}

struct Limits {
    wall: Duration,
    json_bytes: u64,
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    peak_rss_kb: u64,
    json_bytes: u64,
    /// Why the watchdog killed the run, if it did.
    killed: Option<String>,
    /// When out.json first held [`Setup::watch_for`].
    first_seen: Option<Duration>,
    summary: Value,
    dir: tempfile::TempDir,
}

impl Ran {
    fn count(&self, metric: &str) -> f64 {
        self.summary["metrics"][metric]["count"]
            .as_f64()
            .unwrap_or(0.0)
    }

    fn json(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("out.json")).unwrap_or_default()
    }

    /// The run stayed within `limits`, ended on its own and its JSON lines all parse.
    fn assert_bounded(&self, limits: &Limits) {
        println!(
            "exit {:?} in {:.1}s, peak RSS {} MB, out.json {} KB\nstderr:\n{}",
            self.code,
            self.wall.as_secs_f64(),
            self.peak_rss_kb / 1024,
            self.json_bytes / 1024,
            self.stderr
        );
        assert!(self.killed.is_none(), "killed: {:?}", self.killed);
        assert!(self.wall < limits.wall, "took {:?}", self.wall);
        assert!(self.code.is_some(), "killed by a signal");
        assert!(
            self.peak_rss_kb < MAX_RSS_KB,
            "peak RSS {} KB",
            self.peak_rss_kb
        );
        assert!(
            self.json_bytes <= limits.json_bytes,
            "out.json is {} bytes, bound {}",
            self.json_bytes,
            limits.json_bytes
        );
        assert!(
            self.stderr.len() < 64 * 1024,
            "{} bytes of stderr",
            self.stderr.len()
        );
        let json = self.json();
        assert!(
            json.is_empty() || json.ends_with('\n'),
            "out.json ends mid-line"
        );
        for l in json.lines() {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}"));
        }
        assert!(
            self.stdout.contains("vus_max"),
            "no summary: {}",
            self.stdout
        );
    }

    /// "N interrupted iterations" from the final progress line.
    fn interrupted(&self) -> f64 {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("done ("))
            .find_map(|l| {
                let before = l.split(" interrupted iterations").next()?;
                before.rsplit(' ').next()?.parse().ok()
            })
            .unwrap_or(0.0)
    }

    fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains(needle)).collect()
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A server that accepts connections, reads what comes and never answers. The thread ends with
/// the test process; it holds at most `max` connections.
fn silent_server(max: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for s in l.incoming().take(max).flatten() {
            let _ = s.set_nonblocking(true);
            let mut buf = [0u8; 4096];
            let _ = (&s).read(&mut buf);
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    port
}

/// What a run does besides its arguments.
#[derive(Default)]
struct Setup<'a> {
    /// Written to plan.toml in the run's directory.
    plan: Option<&'a str>,
    /// Run under `ulimit -n`.
    ulimit_n: Option<u32>,
    /// SIGINT at these offsets from the start.
    sigint_at: &'a [Duration],
    /// Note when out.json first contains this text.
    watch_for: Option<&'a str>,
}

/// Runs `loadrun run ARGS -o json=out.json --summary-export summary.json` in a temp dir as
/// `setup` says, killing it when it breaks `limits`.
fn run(args: &[&str], setup: Setup<'_>, limits: &Limits) -> Ran {
    let Setup {
        plan,
        ulimit_n,
        sigint_at,
        watch_for,
    } = setup;
    let dir = tempfile::tempdir().unwrap();
    if let Some(p) = plan {
        std::fs::write(dir.path().join("plan.toml"), p).unwrap();
    }
    let bin = loadrun_bin();
    let mut cmd = match ulimit_n {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    cmd.current_dir(dir.path())
        .arg("run")
        .args(args)
        .args(["-o", "json=out.json", "--summary-export", "summary.json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent")
        .env_remove("LOADRUN_LOG");
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn loadrun");
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let json_path = dir.path().join("out.json");
    let mut signals = sigint_at.to_vec();
    let (mut peak, mut json_bytes, mut killed) = (0u64, 0u64, None);
    let mut first_seen = None;
    let status = loop {
        peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
        let len = file_len(&json_path);
        if let Some(needle) = watch_for.filter(|_| first_seen.is_none() && len > json_bytes) {
            let text = std::fs::read_to_string(&json_path).unwrap_or_default();
            if text.contains(needle) {
                first_seen = Some(started.elapsed());
            }
        }
        json_bytes = json_bytes.max(len);
        if let Some(i) = signals.iter().position(|at| started.elapsed() >= *at) {
            signals.remove(i);
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        if killed.is_none() {
            if started.elapsed() > limits.wall {
                killed = Some(format!("still running after {:?}", limits.wall));
            } else if json_bytes > limits.json_bytes {
                killed = Some(format!("out.json passed {} bytes", limits.json_bytes));
            }
            if killed.is_some() {
                let _ = child.kill();
            }
        }
        match child.try_wait() {
            Ok(Some(st)) => break st,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let wall = started.elapsed();
    json_bytes = json_bytes.max(file_len(&json_path));
    let summary = crate::support::read_summary(&dir.path().join("summary.json"));
    Ran {
        code: status.code(),
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
        wall,
        peak_rss_kb: peak,
        json_bytes,
        killed,
        first_seen,
        summary,
        dir,
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `got` is within `tolerance` (a fraction) of `want`.
fn about(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= want * tolerance
}

#[test]
fn every_request_refused_backs_off_and_ends_on_time() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let (vus, secs) = (200, 3);
    let limits = Limits {
        wall: Duration::from_secs(secs) + DEFAULT_GRACEFUL_STOP + SLACK,
        json_bytes: failing_json_bound(vus, secs + 1),
    };
    let r = run(
        &["--url", &url, "-u", "200", "-d", "3s"],
        Setup::default(),
        &limits,
    );
    r.assert_bounded(&limits);
    let warned = r.lines_with("every request is failing at once");
    assert_eq!(warned.len(), 1, "{}", r.stderr);
    assert!(
        warned[0].contains("error_code 1212") && warned[0].contains("connection refused"),
        "{}",
        warned[0]
    );
    assert!(r.count("http_reqs") > 0.0);
    assert!(
        r.count("http_reqs") <= (vus * (WARMUP_ITERATIONS + secs)) as f64,
        "{} requests",
        r.count("http_reqs")
    );
}

#[test]
fn out_of_file_descriptors_backs_off_and_ends_on_time() {
    let port = silent_server(400);
    let (vus, secs) = (300, 3);
    let plan = format!(
        r#"
[scenarios.many]
executor = "constant-vus"
vus = {vus}
duration = "{secs}s"
gracefulStop = "1s"

[[steps]]
url = "http://127.0.0.1:{port}/"
timeout = "20s"
"#
    );
    let limits = Limits {
        wall: Duration::from_secs(secs + 1) + SLACK,
        json_bytes: failing_json_bound(vus, secs + 1),
    };
    let setup = Setup {
        plan: Some(&plan),
        ulimit_n: Some(128),
        ..Setup::default()
    };
    let r = run(&["plan.toml"], setup, &limits);
    r.assert_bounded(&limits);
    let warned = r.lines_with("every request is failing at once");
    assert_eq!(warned.len(), 1, "{}", r.stderr);
    assert!(
        warned[0].to_lowercase().contains("too many open files"),
        "{}",
        warned[0]
    );
    // The VUs that got a connection wait on the silent server and are cut at the end.
    assert!(r.count("http_reqs") > 0.0);
}

#[test]
fn steps_that_do_nothing_end_on_time_with_bounded_output() {
    let plan = r#"
[scenarios.empty]
executor = "constant-vus"
vus = 4
duration = "2s"
gracefulStop = "1s"

[[steps]]
group = "nothing"
steps = []

[[steps]]
sleep = "0s"
"#;
    // An empty iteration is 5 points (about 1 KiB); each VU backs off to one a second.
    let limits = Limits {
        wall: Duration::from_secs(3) + SLACK,
        json_bytes: 4 * (WARMUP_ITERATIONS + 2) * 1024 + 64 * 1024,
    };
    let setup = Setup {
        plan: Some(plan),
        ..Setup::default()
    };
    let r = run(&["plan.toml"], setup, &limits);
    r.assert_bounded(&limits);
    assert_eq!(
        r.lines_with("iterations finish at once").len(),
        1,
        "{}",
        r.stderr
    );
    assert!(r.count("iterations") >= 4.0);
}

#[test]
fn rate_1e12_ends_on_time_in_bounded_memory() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    // `-u 10` keeps `--rate` to its smallest maxVUs (1000), each failing at once and backing
    // off: what they write is bounded by the VUs, not by the rate.
    let limits = Limits {
        wall: Duration::from_secs(2) + DEFAULT_GRACEFUL_STOP + SLACK,
        // The stop and a loaded machine can stretch the run by a second or two.
        json_bytes: failing_json_bound(1000, 4),
    };
    let r = run(
        &["--url", &url, "--rate", "1e12", "-u", "10", "-d", "2s"],
        Setup::default(),
        &limits,
    );
    r.assert_bounded(&limits);
    let dropped = r.count("dropped_iterations");
    assert!(about(dropped, 2e12, 0.1), "{dropped} dropped");
    // Summed per flush (about every 100 ms), not one point per dropped iteration.
    let points = r
        .json()
        .lines()
        .filter(|l| l.contains("\"Point\"") && l.contains("dropped_iterations"))
        .count();
    assert!(points <= 100, "{points} dropped_iterations points");
}

/// The schedule's rate at the plan's scale: 1 per nanosecond is 1e9/s, and 1e8/s with a few
/// VUs against a real server. Dropped iterations are about rate × duration minus what ran.
fn absurd_arrival_rate(rate: &str, time_unit: &str, per_second: f64) {
    let plan = format!(
        r#"
testServer = true

[scenarios.absurd]
executor = "constant-arrival-rate"
rate = {rate}
timeUnit = "{time_unit}"
duration = "2s"
preAllocatedVUs = 5
maxVUs = 20
gracefulStop = "1s"

[[steps]]
url = "${{TEST_SERVER}}/"
"#
    );
    let mut limits = Limits {
        wall: Duration::from_secs(3) + SLACK,
        // Filled in below from what ran; the watchdog only catches a flood.
        json_bytes: 200 * 1024 * 1024,
    };
    let setup = Setup {
        plan: Some(&plan),
        ..Setup::default()
    };
    let r = run(&["plan.toml"], setup, &limits);
    let ran = r.count("iterations") + r.interrupted();
    limits.json_bytes = (ran as u64 + 100) * JSON_PER_FAILED_ITERATION;
    r.assert_bounded(&limits);
    assert!(r.count("iterations") > 0.0, "nothing ran");
    let dropped = r.count("dropped_iterations");
    let want = per_second * 2.0;
    assert!(
        about(dropped + ran, want, 0.1),
        "{dropped} dropped + {ran} ran, want about {want}"
    );
}

#[test]
fn time_unit_1ns_ends_on_time_and_counts_what_it_dropped() {
    absurd_arrival_rate("1", "1ns", 1e9);
}

#[test]
fn rate_1e8_reports_about_rate_times_duration_dropped() {
    absurd_arrival_rate("100000000", "1s", 1e8);
}

#[test]
fn samples_reach_the_json_output_during_a_think_time() {
    let plan = r#"
testServer = true

[scenarios.think]
executor = "constant-vus"
vus = 1
duration = "30s"
gracefulStop = "1s"

[[steps]]
url = "${TEST_SERVER}/"

[[steps]]
sleep = "5s"
"#;
    // The request ends about 0.1 s in and its think time lasts 5 s. Its samples must be in the
    // file before the SIGINT at 4 s (the room is for startup on a loaded machine): while the
    // VU sleeps, not when its next sample or the stop flushes its buffer.
    let sigint = Duration::from_secs(4);
    let limits = Limits {
        wall: sigint + SLACK,
        json_bytes: 1024 * 1024,
    };
    let setup = Setup {
        plan: Some(plan),
        sigint_at: &[sigint],
        watch_for: Some(r#"{"metric":"http_reqs","type":"Point""#),
        ..Setup::default()
    };
    let r = run(&["plan.toml"], setup, &limits);
    r.assert_bounded(&limits);
    let seen = r
        .first_seen
        .unwrap_or_else(|| panic!("no http_reqs point: {}", r.json()));
    println!("http_reqs in out.json after {seen:?}");
    assert!(seen < sigint, "http_reqs reached out.json after {seen:?}");
    assert_eq!(r.code, Some(105));
}

#[test]
fn first_sigint_interrupts_requests_that_never_end_and_completes_the_outputs() {
    let port = silent_server(100);
    let plan = format!(
        r#"
[scenarios.stuck]
executor = "constant-vus"
vus = 5
duration = "60s"
gracefulStop = "30s"

[[steps]]
url = "http://127.0.0.1:{port}/"
timeout = "60s"
"#
    );
    // k6 cancels the run on the first Ctrl-C: the iterations stuck on the silent server are
    // interrupted at once rather than given their 30 s gracefulStop (Kubernetes kills after
    // 30 s), and the summary and outputs are complete well before.
    let limits = Limits {
        wall: Duration::from_secs(10),
        json_bytes: 1024 * 1024,
    };
    let setup = Setup {
        plan: Some(&plan),
        sigint_at: &[Duration::from_secs(1)],
        ..Setup::default()
    };
    let r = run(&["plan.toml"], setup, &limits);
    r.assert_bounded(&limits);
    assert_eq!(r.code, Some(105), "{}", r.stdout);
    assert!(r.stderr.contains("stopping gracefully"), "{}", r.stderr);
    assert_eq!(r.interrupted(), 5.0, "{}", r.stderr);
    // As in k6, an interrupted iteration is not an iteration, and its request has no sample.
    assert_eq!(r.count("iterations"), 0.0);
    // The file holds the run's gauges, complete.
    assert!(r.json().contains("\"metric\":\"vus\""), "{}", r.json());
}
