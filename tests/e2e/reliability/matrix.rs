//! The table: every network output × every fault, each a real `loadrun` run of 3 s.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadrun_test_support::Service;

use super::harness::{self, built_plugin, Counts, Finished, Step};
use super::proxy::{Canned, Mode, Proxy};
use super::targets::{self, Held, Target, Wire};

/// Planned test duration.
const DURATION: Duration = Duration::from_secs(3);
const STOP_TIMEOUT: &str = "3s";
const STOP: Duration = Duration::from_secs(3);
/// Startup, summary and a loaded 2-core machine: generous on purpose, it catches hangs, not
/// slowness.
const SLACK: Duration = Duration::from_secs(7);
/// Host options on every output: give up on a batch after 3 s of retries.
const HOST_OPTS: &str = "retryMaxElapsed=3s,retryMaxDelay=1s";
/// Log lines naming the output a user may see for one fault (first error, a recovery line,
/// the final drop/stop line, plus margin): "once", not once per batch (a run has 15-30 batches).
const MAX_MESSAGES: usize = 5;
/// Peak RSS ceiling for a 3 s run at 30 requests/s.
const MAX_RSS_KB: u64 = 400 * 1024;
/// The longest stderr a fault may produce (a huge error body must not be echoed).
const MAX_STDERR: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Baseline,
    DownAtStart,
    KilledMidRun,
    Blackhole,
    Slow,
    Http500,
    Http429,
    Http400,
    Reset,
    Garbage,
    Huge500,
    Dns,
}

pub const ALL: &[Fault] = &[
    Fault::Baseline,
    Fault::DownAtStart,
    Fault::KilledMidRun,
    Fault::Blackhole,
    Fault::Slow,
    Fault::Http500,
    Fault::Http429,
    Fault::Http400,
    Fault::Reset,
    Fault::Garbage,
    Fault::Huge500,
    Fault::Dns,
];

const BODY_400: &str = r#"{"error":"partial write: field type conflict: input field \"value\" is type string, already exists as type float"}"#;

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Baseline => "baseline",
            Fault::DownAtStart => "down-at-start",
            Fault::KilledMidRun => "killed-mid-run",
            Fault::Blackhole => "blackhole",
            Fault::Slow => "slow",
            Fault::Http500 => "http-500",
            Fault::Http429 => "http-429",
            Fault::Http400 => "http-400",
            Fault::Reset => "reset",
            Fault::Garbage => "garbage",
            Fault::Huge500 => "huge-500",
            Fault::Dns => "dns",
        }
    }

    /// The fault is there when the output starts.
    fn at_start(self) -> bool {
        !matches!(self, Fault::Baseline | Fault::KilledMidRun | Fault::Slow)
    }

    fn applies(self, wire: Wire) -> bool {
        match self {
            Fault::Baseline | Fault::DownAtStart | Fault::KilledMidRun | Fault::Dns => true,
            Fault::Blackhole | Fault::Slow | Fault::Reset | Fault::Garbage => wire != Wire::Udp,
            Fault::Http500 | Fault::Http429 | Fault::Http400 | Fault::Huge500 => wire == Wire::Http,
        }
    }

    /// The user must be told something went wrong.
    fn expects_error(self, wire: Wire) -> bool {
        match self {
            Fault::Baseline | Fault::Slow => false,
            // A datagram to a closed port may or may not come back as an error.
            Fault::DownAtStart | Fault::KilledMidRun if wire == Wire::Udp => false,
            // One 429 is not worth a warning if the plugin simply waits.
            Fault::Http429 => false,
            // Nothing answers on a one-way stream; a reset connection is simply reopened.
            Fault::Blackhole | Fault::Garbage | Fault::Reset if wire == Wire::Stream => false,
            _ => true,
        }
    }

    /// Text the error message must contain (besides the output's name and the endpoint).
    fn cause(self) -> Option<&'static str> {
        match self {
            Fault::Http500 | Fault::Huge500 => Some("500"),
            Fault::Http400 => Some("field type conflict"),
            Fault::Dns => Some("nonexistent.invalid"),
            _ => None,
        }
    }
}

pub struct Row {
    pub label: String,
    pub fault: Fault,
    pub pass: bool,
    pub skipped: Option<String>,
    pub counts: Counts,
    pub held: String,
    pub wall: Duration,
    pub rss_kb: u64,
    pub messages: usize,
    pub notes: Vec<String>,
}

/// A target plus the label it has in the table.
pub struct Entry {
    pub label: &'static str,
    pub target: Box<dyn Target>,
    /// For UDP outputs: the server to stop and restart in "killed mid-run".
    pub service: Option<Arc<Service>>,
}

fn proxy_steps<'a>(fault: Fault, proxy: &'a Proxy) -> Vec<Step<'a>> {
    let at = Duration::from_millis;
    let mut steps: Vec<Step<'a>> = Vec::new();
    match fault {
        Fault::DownAtStart => {
            proxy.set(Mode::Down);
            steps.push((at(1500), Box::new(move |_| proxy.set(Mode::Pass))));
        }
        Fault::KilledMidRun => {
            steps.push((at(1000), Box::new(move |_| proxy.set(Mode::Down))));
            steps.push((at(2000), Box::new(move |_| proxy.set(Mode::Pass))));
        }
        Fault::Blackhole => proxy.set(Mode::Blackhole),
        Fault::Slow => proxy.set(Mode::Slow(Duration::from_millis(100))),
        Fault::Http500 => proxy.fault_next(
            Mode::Http(Canned::new(500, r#"{"error":"internal error, try again"}"#)),
            3,
        ),
        Fault::Http429 => proxy.fault_next(
            Mode::Http(Canned::new(429, r#"{"error":"slow down"}"#).header("Retry-After", "1")),
            2,
        ),
        Fault::Http400 => proxy.set(Mode::Http(Canned::new(400, BODY_400))),
        Fault::Reset => proxy.fault_next(Mode::Reset, 2),
        Fault::Garbage => {
            let junk: Vec<u8> = (0..256 * 1024u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect();
            proxy.fault_next(Mode::Raw(Arc::new(junk)), 3)
        }
        Fault::Huge500 => {
            let body = format!("{{\"error\":\"{}\"}}", "x".repeat(8 * 1024 * 1024));
            proxy.fault_next(Mode::Http(Canned::new(500, &body)), 2)
        }
        Fault::Baseline | Fault::Dns => {}
    }
    steps
}

fn key_of(label: &str, fault: Fault) -> String {
    format!("{label}_{}", fault.name())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Runs one output through one fault.
pub fn run_case(e: &Entry, fault: Fault) -> Row {
    let t = &*e.target;
    let key = key_of(e.label, fault);
    let mut row = Row {
        label: e.label.to_string(),
        fault,
        pass: true,
        skipped: None,
        counts: Counts::default(),
        held: String::new(),
        wall: Duration::ZERO,
        rss_kb: 0,
        messages: 0,
        notes: vec![],
    };
    let Some(plugin) = built_plugin(t.plugin()) else {
        row.skipped = Some(format!("libout_{}.so not built", t.plugin()));
        return row;
    };
    let upstream = t.upstream(&key);
    let wire = t.wire();
    let proxy = (wire != Wire::Udp && fault != Fault::Dns).then(|| Proxy::start(&upstream));
    let addr = match (&proxy, fault) {
        (_, Fault::Dns) => "nonexistent.invalid:4242".to_string(),
        (Some(p), _) => p.addr(),
        (None, Fault::DownAtStart) => targets::Dogstatsd.upstream(""),
        (None, _) => upstream.clone(),
    };
    let mut steps = proxy
        .as_ref()
        .map(|p| proxy_steps(fault, p))
        .unwrap_or_default();
    if wire == Wire::Udp && fault == Fault::KilledMidRun {
        if let Some(svc) = e.service.as_deref() {
            steps.push((Duration::from_millis(1000), Box::new(move |_| svc.stop())));
            steps.push((
                Duration::from_millis(2000),
                Box::new(move |_| svc.restart()),
            ));
        }
    }
    let (mut args, env) = t.extra(&key);
    args.push("-o".into());
    args.push(format!("{}={},{HOST_OPTS}", t.output(), t.out(&addr, &key)));
    args.extend(["--output-stop-timeout".into(), STOP_TIMEOUT.into()]);
    let run = harness::run("3s", &[plugin], &args, &env, steps);
    let faulted = proxy.as_ref().map_or(0, Proxy::faulted);
    drop(proxy);
    judge(e, fault, &key, &addr, faulted, &run, &mut row);
    if std::env::var_os("RELIAB_DEBUG").is_some() {
        eprintln!(
            "---- {} × {}\nstderr:\n{}\nreport: {}\n",
            e.label,
            fault.name(),
            run.stderr,
            run.report(t.output())
        );
    }
    row
}

fn judge(
    e: &Entry,
    fault: Fault,
    key: &str,
    addr: &str,
    faulted: u64,
    run: &Finished,
    row: &mut Row,
) {
    let t = &*e.target;
    let wire = t.wire();
    let fail = |row: &mut Row, why: String| {
        row.pass = false;
        row.notes.push(why);
    };
    row.wall = run.wall;
    row.rss_kb = run.peak_rss_kb;
    if run.code != Some(0) && fault.at_start() && refused_cleanly(t, fault, addr, run, row) {
        return;
    }
    if run.code != Some(0) {
        fail(
            row,
            format!("exit code {:?}: {}", run.code, last_lines(&run.stderr, 3)),
        );
    }
    if run.wall > DURATION + STOP + SLACK {
        fail(row, format!("took {:.1}s", run.wall.as_secs_f64()));
    }
    if run.peak_rss_kb > MAX_RSS_KB {
        fail(
            row,
            format!(
                "peak RSS {} MB ({})",
                run.peak_rss_kb / 1024,
                run.peak_detail.as_deref().unwrap_or("no detail")
            ),
        );
    }
    let report = run.report(t.output());
    if report.is_null() {
        fail(row, "no output report in the summary".into());
        return;
    }
    let c = Counts::of(&report);
    row.counts = c;
    if c.received == 0 {
        fail(row, "the output received nothing".into());
    }
    if !c.add_up() {
        fail(
            row,
            format!(
                "received {} != written {} + dropped {}",
                c.received, c.written, c.dropped
            ),
        );
    }
    // What the server holds, against what the output says it wrote: samples a plugin
    // accepted but could not deliver are reported (`samples_lost` / `samples_rejected`) and
    // are no longer in `written`, so the two must agree whatever the fault.
    if fault == Fault::Baseline && c.dropped > 0 {
        fail(row, format!("dropped {} with no fault", c.dropped));
    }
    if report["state"] == "stop_timeout" {
        // The host abandoned the output while it was still busy: what it had accepted by
        // then stays counted as written whether it arrived or not. Every output here bounds
        // its requests below the stop timeout (see `targets.rs`), so this is a hang.
        fail(
            row,
            "stop_timeout: the output was still busy at the stop deadline, so `written` cannot be trusted".into(),
        );
    }
    let reqs = run.metric_count("http_reqs");
    let held = wait_held(t, key, run, c, reqs);
    row.held = match &held {
        Held::Samples(n) => n.to_string(),
        Held::Total(v) => format!("Σ{}", v + 0.0),
        Held::Unreadable(why) => {
            row.notes.push(format!("not read back: {why}"));
            "-".into()
        }
    };
    match (&held, wire == Wire::Udp && fault != Fault::Baseline) {
        // A datagram that leaves but is lost on the way cannot be known to the output.
        (_, true) => {}
        (Held::Samples(n), _) => {
            if *n != c.written {
                fail(
                    row,
                    format!("server holds {n} samples, output wrote {}", c.written),
                );
            }
        }
        (Held::Total(v), _) => {
            // See `targets.rs`: the dropped samples are counted across all metrics, so with
            // drops the http_reqs total is only bounded by them.
            let lowest = (reqs - c.dropped as f64).max(0.0);
            if c.dropped == 0 && (*v - reqs).abs() > 1e-9 {
                fail(
                    row,
                    format!(
                        "server http_reqs total {v} != run's {reqs} though nothing was dropped"
                    ),
                );
            } else if *v > reqs + 1e-9 || *v < lowest - 1e-9 {
                fail(
                    row,
                    format!(
                        "server http_reqs total {v} outside [{lowest}, {reqs}] (run's {reqs}, {} dropped)",
                        c.dropped
                    ),
                );
            }
        }
        (Held::Unreadable(_), _) => {}
    }
    // UDP: send errors must be counted, not hidden.
    if wire == Wire::Udp && fault == Fault::DownAtStart {
        let errs: u64 = report["counters"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.contains("error"))
                    .map(|(_, v)| v.as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        row.notes.push(format!("send errors counted: {errs}"));
    }
    // What the user reads.
    let needle = format!("output {}", t.output());
    row.messages = harness::lines_with(&run.stderr, &needle);
    if run.stderr.len() > MAX_STDERR {
        fail(row, format!("stderr is {} bytes", run.stderr.len()));
    }
    if row.messages > MAX_MESSAGES {
        fail(
            row,
            format!(
                "{} log lines name the output (once per batch?): {}",
                row.messages,
                first_lines(&run.stderr, 3)
            ),
        );
    }
    // Silence is fine only if nothing went wrong as far as the output could tell; once it
    // noticed (a retry, an error, a loss), the user must have been told, naming the endpoint.
    let noticed = report["retries"].as_u64() > Some(0)
        || report["errors"].as_array().is_some_and(|a| !a.is_empty())
        || c.dropped > 0
        || report["state"] != "ok";
    if fault.expects_error(wire) && noticed {
        let all = format!("{}\n{}", run.stderr, report["errors"]);
        if row.messages == 0 {
            fail(row, "no log line names the output".into());
        } else {
            let host = if fault == Fault::Dns {
                "nonexistent.invalid"
            } else {
                addr
            };
            if !run.stderr.contains(host) {
                fail(row, format!("no message names the endpoint {host}"));
            }
            if let Some(cause) = fault.cause() {
                if !all.contains(cause) {
                    fail(row, format!("no message gives the cause ({cause:?})"));
                }
            }
        }
    } else if fault.expects_error(wire) && faulted > 0 {
        row.notes
            .push(format!("{faulted} faulty connection(s) absorbed silently"));
    }
}

/// Some outputs need their server at start (schema, test run creation, socket set-up) and
/// refuse to run without it. That is acceptable when it is quick, before the test, and said
/// once, naming the output, the endpoint and the cause.
fn refused_cleanly(
    t: &dyn Target,
    fault: Fault,
    addr: &str,
    run: &Finished,
    row: &mut Row,
) -> bool {
    let host = if fault == Fault::Dns {
        "nonexistent.invalid"
    } else {
        addr
    };
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let quick = run.wall < DURATION + STOP + SLACK;
    let once = lines.len() == 1 && lines[0].contains(t.output()) && lines[0].contains(host);
    if quick && once && run.summary.is_null() {
        row.notes.push(format!("refused to start: {}", lines[0]));
        row.held = "n/a".into();
        true
    } else {
        false
    }
}

/// Servers may take a moment to make data readable (Prometheus' head, moto).
fn wait_held(t: &dyn Target, key: &str, run: &Finished, c: Counts, reqs: f64) -> Held {
    let mut held = t.held(key, run);
    for _ in 0..10 {
        let done = match &held {
            Held::Samples(n) => *n >= c.written,
            Held::Total(v) => *v >= reqs || c.dropped > 0,
            _ => true,
        };
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        held = t.held(key, run);
    }
    held
}

fn last_lines(s: &str, n: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(n)..].join(" | ")
}

fn first_lines(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join(" | ")
}

/// Runs `cases` on `jobs` threads, in order of submission.
pub fn run_all(entries: &[Entry], jobs: usize) -> Vec<Row> {
    let cases: Vec<(usize, Fault)> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            ALL.iter()
                .filter(move |f| f.applies(e.target.wire()))
                .map(move |f| (i, *f))
        })
        .filter(|(i, f)| {
            // The dogstatsd transport only has "down" and DNS (no agent runs here).
            entries[*i].service.is_some()
                || entries[*i].target.wire() != Wire::Udp
                || matches!(f, Fault::DownAtStart | Fault::Dns)
        })
        .filter(|(i, f)| selected(entries[*i].label, *f))
        .collect();
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<(usize, Row)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let n = next.fetch_add(1, SeqCst);
                let Some((i, f)) = cases.get(n).copied() else {
                    break;
                };
                let row = run_case(&entries[i], f);
                eprintln!(
                    "reliability: {} × {} → {}",
                    row.label,
                    f.name(),
                    verdict(&row)
                );
                rows.lock().unwrap().push((n, row));
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|(n, _)| *n);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// `RELIAB_ONLY=influxdb,prometheus:dns` narrows the table while debugging.
fn selected(label: &str, f: Fault) -> bool {
    let Ok(only) = std::env::var("RELIAB_ONLY") else {
        return true;
    };
    only.split(',').any(|sel| match sel.split_once(':') {
        Some((l, fname)) => l == label && fname == f.name(),
        None => sel == label || sel == f.name(),
    })
}

pub fn verdict(r: &Row) -> &'static str {
    match (&r.skipped, r.pass) {
        (Some(_), _) => "SKIP",
        (None, true) => "pass",
        (None, false) => "FAIL",
    }
}

pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<20} {:<15} {:<5} {:>6} {:>7} {:>6} {:>5} {:>10} {:>6} {:>6} {:>4}  notes\n",
        "output",
        "fault",
        "",
        "recv",
        "written",
        "dropd",
        "lost",
        "server",
        "wall",
        "rssMB",
        "msgs"
    ));
    for r in rows {
        let notes = match &r.skipped {
            Some(why) => why.clone(),
            None => r.notes.join("; "),
        };
        out.push_str(&format!(
            "{:<20} {:<15} {:<5} {:>6} {:>7} {:>6} {:>5} {:>10} {:>5.1}s {:>6} {:>4}  {}\n",
            r.label,
            r.fault.name(),
            verdict(r),
            r.counts.received,
            r.counts.written,
            r.counts.dropped,
            r.counts.lost,
            r.held,
            r.wall.as_secs_f64(),
            r.rss_kb / 1024,
            r.messages,
            notes
        ));
    }
    out
}
