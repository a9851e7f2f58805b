//! The conformance kit: load a built plugin file and check it behaves as the host expects.
//!
//! ```ignore
//! use loadrun_plugin_api::testkit::Conformance;
//! let report = Conformance::new("target/debug/libout_mybackend.so", "mybackend")
//!     .arg("addr=127.0.0.1:9999")
//!     .invalid_arg("pushInterval=soon", "pushInterval")
//!     .stored_samples(|| my_backend_count("loadrun_conformance"))
//!     .fault(|broken| my_proxy.set_broken(broken))
//!     .blackhole(&format!("addr={}", my_blackhole.addr()))   // optional: the stop deadline
//!     .run();
//! report.assert_passed();
//! ```
//!
//! The kit acts as the host: it loads the library the way `loadrun` does, builds outputs,
//! starts them, writes batches (empty ones, repeated definitions, hostile values), retries the
//! same batch when asked to, and stops within a deadline (telling the output the deadline
//! through `Host::stop_time_left`, as the host does). Every sample it sends is one count of
//! the counter metric `loadrun_conformance`, so "no sample lost or counted twice" means the
//! backend ends up holding exactly as many as were sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::library::lib_header_from_path;
use abi_stable::std_types::RResult;

use crate::abi::{MetricType, OutputBox, OutputInit, ValueKind, WriteStatus};
use crate::face::PluginFace;
use crate::testkit::{
    completed_outcome, host_box, init, now_ns, recording_host, BatchBuilder, Recorded,
};

/// One check's result.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Every check's result.
#[derive(Debug, Clone, Default)]
pub struct ConformanceReport {
    pub checks: Vec<Check>,
}

impl ConformanceReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Panics with every failed check's detail (for use in tests).
    pub fn assert_passed(&self) {
        assert!(self.passed(), "plugin conformance failed:\n{self}");
    }
}

impl std::fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.checks {
            writeln!(
                f,
                "{} {}: {}",
                if c.passed { "PASS" } else { "FAIL" },
                c.name,
                c.detail
            )?;
        }
        Ok(())
    }
}

type StoredFn = Box<dyn Fn() -> Result<u64, String>>;
type FaultFn = Box<dyn Fn(bool)>;

/// A conformance run against one output of one plugin file.
pub struct Conformance {
    path: PathBuf,
    in_process: Option<PluginFace>,
    output: String,
    arg: Option<String>,
    config_json: String,
    env: Vec<(String, String)>,
    invalid: Vec<(String, String)>,
    stored: Option<StoredFn>,
    fault: Option<FaultFn>,
    samples: usize,
    stop_timeout: Duration,
    settle: Duration,
    blackhole: Option<String>,
}

impl Conformance {
    pub fn new(path: impl AsRef<Path>, output: &str) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            in_process: None,
            output: output.to_string(),
            arg: None,
            config_json: "{}".into(),
            env: Vec::new(),
            invalid: Vec::new(),
            stored: None,
            fault: None,
            samples: 10_000,
            stop_timeout: Duration::from_secs(10),
            settle: Duration::from_secs(10),
            blackhole: None,
        }
    }

    /// Checks a plugin compiled into the test itself (a bundled output, or before its `.so`
    /// exists), through the same ABI adapter the library export uses.
    pub fn in_process<P: crate::sdk::Plugin>(output: &str) -> Self {
        let mut c = Self::new(format!("(in-process {})", P::NAME), output);
        c.in_process = Some(PluginFace::Rust(crate::sdk::in_process_module::<P>()));
        c
    }

    /// The `-o NAME=ARG` argument of a working configuration.
    pub fn arg(mut self, arg: &str) -> Self {
        self.arg = Some(arg.to_string());
        self
    }

    /// The plan table (JSON) of a working configuration.
    pub fn config(mut self, json: &str) -> Self {
        self.config_json = json.to_string();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// An `-o` argument the constructor must refuse, with `expect` in its one-line message.
    pub fn invalid_arg(mut self, arg: &str, expect: &str) -> Self {
        self.invalid.push((arg.to_string(), expect.to_string()));
        self
    }

    /// How many `loadrun_conformance` counts the backend holds now (rows, or the counter's sum).
    /// It must either accumulate across output instances (a database) or restart from zero when
    /// an output is created (a file the constructor truncates).
    pub fn stored_samples(mut self, f: impl Fn() -> Result<u64, String> + 'static) -> Self {
        self.stored = Some(Box::new(f));
        self
    }

    /// Breaks (`true`) or heals (`false`) the backend, to check retry handling.
    pub fn fault(mut self, f: impl Fn(bool) + 'static) -> Self {
        self.fault = Some(Box::new(f));
        self
    }

    /// Samples to send in the loss check (default 10,000).
    pub fn samples(mut self, n: usize) -> Self {
        self.samples = n;
        self
    }

    /// How long `stop` may take (default 10 s), and how long the backend may take afterwards
    /// to show everything (default 10 s).
    pub fn deadlines(mut self, stop: Duration, settle: Duration) -> Self {
        self.stop_timeout = stop;
        self.settle = settle;
        self
    }

    /// The `-o` argument of a working configuration whose server accepts connections and
    /// never answers (a blackhole: a listener that never reads or replies), with the output's
    /// default request timeout and a push interval under [`STOP_DEADLINE_LEAD`]. Adds the
    /// check `stop_deadline`: the kit begins stopping (a [`STOP_DEADLINE_TIMEOUT`] deadline,
    /// shorter than common request timeouts) while `write` is blocked in a request, as the
    /// host does; the output must get out of it and through `flush` and `stop` before the host
    /// would abandon it (the deadline + 0.5 s), by capping its request with
    /// `Host::stop_time_left` (API 1.2), and must report every sample it answered `Ok` to as
    /// lost or rejected (nothing can have been delivered).
    pub fn blackhole(mut self, arg: &str) -> Self {
        self.blackhole = Some(arg.to_string());
        self
    }

    fn init(&self, arg: Option<&str>) -> OutputInit {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        init(&self.output, arg, &self.config_json, &env)
    }

    /// Runs every check.
    pub fn run(self) -> ConformanceReport {
        let mut report = ConformanceReport::default();
        let loaded = match self.in_process.clone() {
            Some(m) => provides(m, &self.path, &self.output),
            None => load(&self.path, &self.output),
        };
        let module = match loaded {
            Ok(m) => {
                report.checks.push(pass(
                    "loads",
                    format!("{} provides {}", self.path.display(), self.output),
                ));
                m
            }
            Err(e) => {
                report.checks.push(fail("loads", e));
                return report;
            }
        };
        self.check_options(&module, &mut report);
        self.check_lifecycle(&module, &mut report);
        self.check_hostile_input(&module, &mut report);
        if self.stored.is_some() {
            self.check_no_loss(&module, &mut report, false);
            if self.fault.is_some() {
                self.check_no_loss(&module, &mut report, true);
            }
        }
        if let Some(arg) = &self.blackhole {
            self.check_stop_deadline(&module, &mut report, arg);
        }
        report
    }

    fn new_output(&self, module: &PluginFace, init: OutputInit) -> Result<OutputBox, String> {
        module.new_output(init).map_err(|e| e.to_string())
    }

    /// A new output started with a recording host, or why not (`constructor: …`, `start: …`).
    fn started(
        &self,
        module: &PluginFace,
        init: OutputInit,
    ) -> Result<(OutputBox, Arc<Recorded>), String> {
        let mut out = self
            .new_output(module, init)
            .map_err(|e| format!("constructor: {e}"))?;
        let (host, recorded) = recording_host();
        if let RResult::RErr(e) = out.start(host_box(host)) {
            return Err(format!("start: {e}"));
        }
        Ok((out, recorded))
    }

    fn check_options(&self, module: &PluginFace, report: &mut ConformanceReport) {
        let mut problems = Vec::new();
        for (arg, expect) in &self.invalid {
            match self.new_output(module, self.init(Some(arg))) {
                Ok(_) => problems.push(format!("-o {}={arg} was accepted", self.output)),
                Err(e) if e.contains('\n') => {
                    problems.push(format!("message for {arg:?} is not one line: {e:?}"))
                }
                Err(e) if e.contains("panicked") => {
                    problems.push(format!("constructor panicked on {arg:?}: {e}"))
                }
                Err(e) if !e.contains(expect.as_str()) => problems.push(format!(
                    "message for {arg:?} does not mention {expect:?}: {e}"
                )),
                Err(_) => {}
            }
        }
        let mut bad_json = self.init(self.arg.as_deref());
        bad_json.config_json = "{not json".into();
        match self.new_output(module, bad_json) {
            Ok(_) => {}
            Err(e) if e.contains("panicked") => problems.push(format!(
                "constructor panicked on a malformed plan table: {e}"
            )),
            Err(_) => {}
        }
        if let Err(e) = self.new_output(module, self.init(self.arg.as_deref())) {
            problems.push(format!("the working configuration was refused: {e}"));
        }
        report.checks.push(verdict(
            "options_validation",
            problems,
            format!(
                "{} invalid configurations refused with clear one-line errors",
                self.invalid.len()
            ),
        ));
    }

    fn check_lifecycle(&self, module: &PluginFace, report: &mut ConformanceReport) {
        let mut problems = Vec::new();
        let mut out = match self.new_output(module, self.init(self.arg.as_deref())) {
            Ok(o) => o,
            Err(e) => {
                report
                    .checks
                    .push(fail("lifecycle", format!("constructor: {e}")));
                return;
            }
        };
        let (host, recorded) = recording_host();
        let host_box = host_box(host);
        if let RResult::RErr(e) = out.start(host_box) {
            problems.push(format!("start: {e}"));
        }
        let mut b = BatchBuilder::new();
        let m = b.metric(
            "loadrun_conformance_lifecycle",
            MetricType::Counter,
            ValueKind::Default,
        );
        let s = b.series(m, &[("scenario", "default"), ("status", "200")], &[]);
        let empty = BatchBuilder::new();
        expect_ok(
            &mut problems,
            "write(empty batch)",
            out.write(empty.batch()),
        );
        b.sample(s, now_ns(), 1.0);
        expect_ok(
            &mut problems,
            "write(definitions + samples)",
            out.write(b.batch()),
        );
        expect_ok(
            &mut problems,
            "write(samples only)",
            out.write(b.samples_only()),
        );
        if let RResult::RErr(e) = out.flush(self.stop_timeout.as_millis() as u64) {
            problems.push(format!("flush: {e}"));
        }
        let t = Instant::now();
        recorded.begin_stop(self.stop_timeout);
        if let RResult::RErr(e) =
            out.stop(&completed_outcome(), self.stop_timeout.as_millis() as u64)
        {
            problems.push(format!("stop: {e}"));
        }
        if t.elapsed() > self.stop_timeout + Duration::from_millis(500) {
            problems.push(format!(
                "stop took {:?}, over its {:?} deadline",
                t.elapsed(),
                self.stop_timeout
            ));
        }
        report.checks.push(verdict(
            "lifecycle",
            problems,
            format!("new → start → write ×3 → flush → stop in {:?}", t.elapsed()),
        ));
    }

    fn check_hostile_input(&self, module: &PluginFace, report: &mut ConformanceReport) {
        let mut problems = Vec::new();
        let mut out = match self.new_output(module, self.init(self.arg.as_deref())) {
            Ok(o) => o,
            Err(e) => {
                report
                    .checks
                    .push(fail("panic_containment", format!("constructor: {e}")));
                return;
            }
        };
        let (host, recorded) = recording_host();
        let _ = out.start(host_box(host));
        let mut b = BatchBuilder::new();
        let m = b.metric(
            "loadrun_conformance_hostile",
            MetricType::Trend,
            ValueKind::Time,
        );
        let long = "x".repeat(10_000);
        let s1 = b.series(
            m,
            &[
                ("empty", ""),
                ("quote", "a\"b,c=d e\\f\nnewline"),
                ("long", &long),
            ],
            &[("vu", "1")],
        );
        let t = now_ns();
        b.sample(s1, t, f64::NAN)
            .sample(s1, t, f64::INFINITY)
            .sample(s1, t, -0.0)
            .sample(s1, 0, f64::MAX);
        b.sample(9_999_999, t, 1.0); // a series never defined: a host bug the plugin must survive
        let status = out.write(b.batch());
        if let WriteStatus::Fatal(e) = &status {
            if e.message.contains("panicked") {
                problems.push(format!("write panicked on hostile input: {e}"));
            }
        }
        // Calls out of order: the SDK must turn any panic into an error.
        recorded.begin_stop(Duration::from_millis(1_000));
        let _ = out.stop(&completed_outcome(), 1_000);
        let after_stop = out.write(b.batch());
        let second_stop = out.stop(&completed_outcome(), 1_000);
        report.checks.push(verdict(
            "panic_containment",
            problems,
            format!(
                "hostile values, an undefined series, write after stop ({}) and stop twice ({}) did not crash the host",
                status_name(&after_stop),
                if second_stop.is_ok() { "ok" } else { "error" }
            ),
        ));
    }

    fn check_no_loss(
        &self,
        module: &PluginFace,
        report: &mut ConformanceReport,
        with_faults: bool,
    ) {
        let name = if with_faults {
            "retry_handling"
        } else {
            "no_loss_no_duplicates"
        };
        let stored = match &self.stored {
            Some(f) => f,
            None => return,
        };
        let (mut out, recorded) = match self.started(module, self.init(self.arg.as_deref())) {
            Ok(started) => started,
            Err(e) => {
                report.checks.push(fail(name, e));
                return;
            }
        };
        // Read after the output exists: a backend the constructor resets (a file) starts at 0,
        // a cumulative one (a database) at what earlier checks left there.
        let before = match stored() {
            Ok(n) => n,
            Err(e) => {
                report
                    .checks
                    .push(fail(name, format!("reading the backend before: {e}")));
                return;
            }
        };
        let mut b = BatchBuilder::new();
        let m = b.metric(
            "loadrun_conformance",
            MetricType::Counter,
            ValueKind::Default,
        );
        // A tag per check keeps each instance's series apart, so a backend holding cumulative
        // counters (Prometheus) can be read by the latest value of each series.
        let series: Vec<u32> = (0..4)
            .map(|i| {
                b.series(
                    m,
                    &[
                        ("check", name),
                        ("scenario", "default"),
                        ("shard", &i.to_string()),
                    ],
                    &[],
                )
            })
            .collect();
        let per_batch = 1000usize;
        let batches = self.samples.div_ceil(per_batch);
        let mut sent = 0u64;
        let mut retries = 0u64;
        let mut problems = Vec::new();
        let base = now_ns();
        for i in 0..batches {
            if with_faults && i == 1 {
                if let Some(f) = &self.fault {
                    f(true);
                }
            }
            let mut batch = BatchBuilder {
                metrics: b.metrics.clone(),
                series: b.series.clone(),
                samples: Vec::new(),
            };
            for j in 0..per_batch.min(self.samples - i * per_batch) {
                let k = i * per_batch + j;
                batch.sample(series[k % series.len()], base + k as i64 * 1000, 1.0);
            }
            // Deliver like the host: retry the same batch until it is taken.
            let mut attempt = 0;
            loop {
                match out.write(batch.batch()) {
                    WriteStatus::Ok => break,
                    WriteStatus::Retry { after_ms, .. } => {
                        retries += 1;
                        attempt += 1;
                        if with_faults && attempt == 2 {
                            if let Some(f) = &self.fault {
                                f(false);
                            }
                        }
                        if attempt > 50 {
                            problems.push(format!("batch {i} still refused after 50 retries"));
                            break;
                        }
                        let wait = after_ms.into_option().unwrap_or(100).min(1000);
                        std::thread::sleep(Duration::from_millis(wait));
                    }
                    WriteStatus::Fatal(e) => {
                        problems.push(format!("batch {i}: fatal: {e}"));
                        break;
                    }
                }
            }
            sent += batch.samples.len() as u64;
        }
        // An output that aggregates per period may not have sent anything yet: ask it to flush
        // while the backend is still broken, which must fail (and keep the data) rather than
        // lose it.
        let mut refused_flush = false;
        if with_faults && problems.is_empty() {
            if let RResult::RErr(_) = out.flush(2_000) {
                refused_flush = true;
            }
        }
        if let Some(f) = &self.fault {
            f(false);
        }
        let t = Instant::now();
        recorded.begin_stop(self.stop_timeout);
        if let RResult::RErr(e) =
            out.stop(&completed_outcome(), self.stop_timeout.as_millis() as u64)
        {
            problems.push(format!("stop: {e}"));
        }
        if t.elapsed() > self.stop_timeout + Duration::from_millis(500) {
            problems.push(format!("stop took {:?}, over its deadline", t.elapsed()));
        }
        let until = Instant::now() + self.settle;
        let mut held = 0;
        loop {
            match stored() {
                Ok(n) => held = n.saturating_sub(before),
                Err(e) => problems.push(format!("reading the backend: {e}")),
            }
            if held >= sent || Instant::now() >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if held != sent {
            problems.push(format!(
                "sent {sent} samples, the backend holds {held} ({})",
                if held > sent { "duplicates" } else { "lost" }
            ));
        }
        if with_faults && retries == 0 && !refused_flush {
            problems.push(
                "the backend was broken but neither write asked for a retry nor flush failed"
                    .into(),
            );
        }
        report.checks.push(verdict(
            name,
            problems,
            format!(
                "sent {sent}, backend holds {held}, {retries} retries{}",
                if refused_flush {
                    ", flush refused while broken"
                } else {
                    ""
                }
            ),
        ));
    }
}

/// How long after the output starts writing to a blackhole the `stop_deadline` check begins
/// stopping it.
pub const STOP_DEADLINE_LEAD: Duration = Duration::from_secs(1);
/// The stop deadline of the `stop_deadline` check.
pub const STOP_DEADLINE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long past its stop deadline the host waits for a busy output before abandoning it.
const HOST_GRACE: Duration = Duration::from_millis(500);

/// What the output's thread in the `stop_deadline` check saw.
#[derive(Default)]
struct StopRun {
    accepted: u64,
    /// A `write` was under way when stopping began (what the check is about).
    in_flight: bool,
    /// How long after stopping began the blocked `write` returned.
    write_returned: Option<Duration>,
    problems: Vec<String>,
}

impl Conformance {
    fn check_stop_deadline(&self, module: &PluginFace, report: &mut ConformanceReport, arg: &str) {
        let name = "stop_deadline";
        let (mut out, recorded) = match self.started(module, self.init(Some(arg))) {
            Ok(started) => started,
            Err(e) => {
                report.checks.push(fail(name, e));
                return;
            }
        };
        // The output runs on a thread of its own, as under the host: the kit begins stopping
        // from here while it is blocked in `write`, and gives up on it as the host would.
        let (tx, rx) = std::sync::mpsc::channel();
        let rec = recorded.clone();
        let spawned = std::thread::Builder::new()
            .name("conformance-stop-deadline".into())
            .spawn(move || {
                let _ = tx.send(drive_until_stopped(&mut out, &rec));
            });
        if let Err(e) = spawned {
            report
                .checks
                .push(fail(name, format!("cannot spawn a thread: {e}")));
            return;
        }
        std::thread::sleep(STOP_DEADLINE_LEAD);
        let began = Instant::now();
        recorded.begin_stop(STOP_DEADLINE_TIMEOUT);
        let run = match rx.recv_timeout(STOP_DEADLINE_TIMEOUT + HOST_GRACE) {
            Ok(run) => run,
            Err(_) => {
                // Left behind, as the host leaves it: the thread ends whenever the plugin returns.
                report.checks.push(fail(
                    name,
                    format!(
                        "still busy {:?} after stopping began with a {:?} deadline: the host would \
                         abandon it (cap requests made in write by Host::stop_time_left)",
                        began.elapsed(),
                        STOP_DEADLINE_TIMEOUT
                    ),
                ));
                return;
            }
        };
        let took = began.elapsed();
        let mut problems = run.problems;
        let lost = recorded.counter(crate::sdk::COUNTER_SAMPLES_LOST);
        let rejected = recorded.counter(crate::sdk::COUNTER_SAMPLES_REJECTED);
        if lost + rejected != run.accepted {
            problems.push(format!(
                "answered Ok to {} samples a blackhole cannot have stored, but reported {lost} lost \
                 and {rejected} rejected",
                run.accepted
            ));
        }
        let in_flight = match (run.in_flight, run.write_returned) {
            (true, Some(d)) => format!("a write blocked when stopping began returned after {d:?}"),
            _ => "no write was blocked when stopping began (push interval too long?)".into(),
        };
        report.checks.push(verdict(
            name,
            problems,
            format!(
                "{in_flight}; stopped {took:?} after stopping began ({:?} deadline); {} accepted \
                 samples reported lost",
                STOP_DEADLINE_TIMEOUT, run.accepted
            ),
        ));
    }
}

/// The output's thread in the `stop_deadline` check: writes batches (retrying one the output
/// asks to retry, as the host does) until stopping has begun, then flushes and stops it with the
/// time left.
fn drive_until_stopped(out: &mut OutputBox, recorded: &crate::testkit::Recorded) -> StopRun {
    let mut run = StopRun::default();
    let mut b = BatchBuilder::new();
    let m = b.metric(
        "loadrun_conformance_stop",
        MetricType::Counter,
        ValueKind::Default,
    );
    let s = b.series(m, &[("check", "stop_deadline")], &[]);
    let mut first = true;
    let mut fresh = true;
    while recorded.stop_time_left().is_none() {
        if fresh {
            b.clear_samples();
            let t = now_ns();
            for i in 0..100 {
                b.sample(s, t + i, 1.0);
            }
        }
        let started_before_stop = recorded.stop_time_left().is_none();
        let status = out.write(if first { b.batch() } else { b.samples_only() });
        if started_before_stop {
            if let Some(left) = recorded.stop_time_left() {
                run.in_flight = true;
                run.write_returned = Some(STOP_DEADLINE_TIMEOUT.saturating_sub(left));
            }
        }
        match status {
            WriteStatus::Ok => {
                run.accepted += b.samples.len() as u64;
                first = false;
                fresh = true;
            }
            // Retried unless stopping has begun meanwhile: then the host drops it itself.
            WriteStatus::Retry { .. } => fresh = false,
            WriteStatus::Fatal(e) => {
                run.problems.push(format!("write: fatal: {e}"));
                return run;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = |r: &crate::testkit::Recorded| {
        r.stop_time_left()
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    // Errors are expected here (nothing can be delivered); only the time counts.
    let _ = out.flush(left(recorded));
    let _ = out.stop(&completed_outcome(), left(recorded));
    run
}

/// Loads `path` as the host does: an executable is started (the process face), a library
/// loaded as a Rust plugin, else as a C-face one.
fn load(path: &Path, output: &str) -> Result<PluginFace, String> {
    #[cfg(unix)]
    if crate::process::is_program(path) {
        let plugin = crate::process::ProcessPlugin::load(path)?;
        return provides(PluginFace::Process(Arc::new(plugin)), path, output);
    }
    crate::face::keep_loaded(path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    let module = match lib_header_from_path(path) {
        Ok(header) => PluginFace::Rust(crate::abi::init_root_module(header).map_err(|e| {
            format!(
                "{} is not a compatible plugin: {}",
                path.display(),
                e.to_string().trim()
            )
        })?),
        Err(abi_stable::library::LibraryError::GetSymbolError { .. }) => PluginFace::C(
            crate::cabi::CPlugin::load(path)
                .map_err(|e| format!("{} is not a compatible plugin: {e}", path.display()))?,
        ),
        Err(e) => {
            return Err(format!(
                "cannot load {}: {}",
                path.display(),
                e.to_string().trim()
            ))
        }
    };
    provides(module, path, output)
}

fn provides(module: PluginFace, path: &Path, output: &str) -> Result<PluginFace, String> {
    let info = module.info();
    let provided = info
        .outputs
        .iter()
        .any(|o| o.name.as_str() == output || o.aliases.iter().any(|a| a.as_str() == output));
    if !provided {
        return Err(format!(
            "{} does not provide output {output}",
            path.display()
        ));
    }
    Ok(module)
}

fn expect_ok(problems: &mut Vec<String>, what: &str, status: WriteStatus) {
    match status {
        WriteStatus::Ok | WriteStatus::Retry { .. } => {}
        WriteStatus::Fatal(e) => problems.push(format!("{what}: fatal: {e}")),
    }
}

fn status_name(s: &WriteStatus) -> &'static str {
    match s {
        WriteStatus::Ok => "ok",
        WriteStatus::Retry { .. } => "retry",
        WriteStatus::Fatal(_) => "fatal",
    }
}

fn pass(name: &'static str, detail: String) -> Check {
    Check {
        name,
        passed: true,
        detail,
    }
}

fn fail(name: &'static str, detail: String) -> Check {
    Check {
        name,
        passed: false,
        detail,
    }
}

fn verdict(name: &'static str, problems: Vec<String>, ok_detail: String) -> Check {
    if problems.is_empty() {
        pass(name, ok_detail)
    } else {
        fail(name, problems.join("; "))
    }
}
