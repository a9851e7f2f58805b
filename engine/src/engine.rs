//! The run: scenarios started at their `startTime`, each driven by its executor, VUs as tokio
//! tasks on `available_parallelism()` worker threads, a `vus`/`vus_max` ticker, and graceful and
//! hard stops.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun_metrics::{Registry, Sample, SampleSender};
use tokio::sync::watch;

use crate::compile::{compile, CompileError, Compiled, EngineOptions, ExecSpec, ScenarioRt};
use crate::exec;
use crate::http::ClientShared;
use crate::metrics::Builtin;
use crate::plan::Plan;

/// Up to this many VUs a run is tuned for throughput (large sample chunks, buffers kept
/// between requests); above it, for memory per VU.
const FEW_VUS: u64 = 100;
use crate::vu::Shared;

/// Live counters, read by the progress line.
#[derive(Debug, Default)]
pub struct Stats {
    /// Active VUs; change it with [`Stats::vus_started`] and [`Stats::vus_stopped`].
    pub vus: AtomicI64,
    /// The most VUs active at once so far: the `vus` a run shorter than the first gauge sample
    /// reports (rather than the 0 left once its VUs are gone).
    pub vus_peak: AtomicI64,
    pub vus_max: AtomicU64,
    pub iterations: AtomicU64,
    pub interrupted: AtomicU64,
    pub requests: AtomicU64,
    pub dropped: AtomicU64,
    /// Requests refused before sending (an invalid URL or header value).
    pub not_sent: AtomicU64,
}

impl Stats {
    pub fn vus_started(&self, n: i64) {
        let now = self.vus.fetch_add(n, Ordering::Relaxed) + n;
        self.vus_peak.fetch_max(now, Ordering::Relaxed);
    }

    pub fn vus_stopped(&self, n: i64) {
        self.vus.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Scenario stop levels on the watch channels.
pub const RUNNING: u8 = 0;
/// No new iterations; running ones may finish.
pub const GRACEFUL: u8 = 1;
/// Running iterations are interrupted.
pub const HARD: u8 = 2;

/// Stops the run from another thread (Ctrl-C, an abortOnFail threshold, an output).
#[derive(Clone)]
pub struct Control {
    stop: Arc<watch::Sender<u8>>,
    pub stats: Arc<Stats>,
    started: Arc<parking_lot::Mutex<Option<Instant>>>,
    stopped_early: Arc<AtomicBool>,
}

impl Control {
    /// Ends the test like the end of its duration: no new iterations, running ones get their
    /// scenario's `gracefulStop`.
    pub fn stop_gracefully(&self) {
        self.stopped_early.store(true, Ordering::Relaxed);
        self.stop.send_if_modified(|s| {
            if *s < GRACEFUL {
                *s = GRACEFUL;
                true
            } else {
                false
            }
        });
    }

    /// Interrupts every running iteration now.
    pub fn stop_now(&self) {
        self.stopped_early.store(true, Ordering::Relaxed);
        let _ = self.stop.send(HARD);
    }

    /// Time since the scenarios started.
    pub fn elapsed(&self) -> Duration {
        self.started.lock().map(|s| s.elapsed()).unwrap_or_default()
    }

    pub fn stopped_early(&self) -> bool {
        self.stopped_early.load(Ordering::Relaxed)
    }
}

/// What the run did.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub duration: Duration,
    pub iterations: u64,
    pub interrupted: u64,
    pub dropped: u64,
    /// Requests refused before sending: only the first of each step is logged, so the summary
    /// says how many there were.
    pub not_sent: u64,
    pub stopped_early: bool,
    /// A script's `setup()` threw or outlived its timeout, so no scenario ran. Known here
    /// when `setup()` returns; a flag set by the script's worker could come later.
    pub setup_failed: bool,
}

/// A compiled plan with its metrics defined, ready to run.
pub struct Engine {
    compiled: Compiled,
    registry: Arc<Registry>,
    builtin: Builtin,
    /// The plan's custom metrics, as [`Compiled::custom`] orders them.
    custom: Arc<[loadrun_metrics::MetricId]>,
    control: Control,
    threads: usize,
    script: Option<Arc<dyn crate::script::Script>>,
}

impl Engine {
    /// Compiles the plan and defines k6's built-in metrics and the plan's custom ones in
    /// `registry`.
    pub fn new(
        plan: &Plan,
        opts: &EngineOptions,
        registry: Arc<Registry>,
    ) -> Result<Self, CompileError> {
        let compiled = compile(plan, opts)?;
        let builtin = Builtin::define(&registry);
        let custom = compiled
            .custom
            .iter()
            .map(|c| registry.metric(&c.name, c.metric_type, c.contains))
            .collect();
        let (tx, _rx) = watch::channel(RUNNING);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Ok(Self {
            compiled,
            registry,
            builtin,
            custom,
            control: Control {
                stop: Arc::new(tx),
                stats: Arc::new(Stats::default()),
                started: Arc::new(parking_lot::Mutex::new(None)),
                stopped_early: Arc::new(AtomicBool::new(false)),
            },
            threads,
            script: None,
        })
    }

    /// Runs `script` instead of the plan's steps (compile the plan with
    /// [`EngineOptions::script`] set).
    pub fn with_script(mut self, script: Arc<dyn crate::script::Script>) -> Self {
        self.script = Some(script);
        self
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    pub fn scenarios(&self) -> &[Arc<ScenarioRt>] {
        &self.compiled.scenarios
    }

    pub fn test_tags(&self) -> &[(String, String)] {
        &self.compiled.test_tags
    }

    /// The enabled system tags, by name (what `--system-tags` or the plan chose).
    pub fn system_tag_names(&self) -> Vec<&'static str> {
        crate::metrics::SYSTEM_TAG_NAMES
            .iter()
            .copied()
            .filter(|n| self.compiled.system_tags.has(n))
            .collect()
    }

    /// The most VUs the plan can use at once (summed over scenarios, as k6 does for `vus_max`).
    pub fn max_vus(&self) -> u64 {
        self.compiled.scenarios.iter().map(|s| s.max_vus()).sum()
    }

    /// The execution segment this process runs, in its sequence.
    pub fn segment(&self) -> &crate::segment::ExecutionTuple {
        &self.compiled.segment
    }

    /// The longest the run can take, graceful stops included.
    pub fn max_duration(&self) -> Duration {
        self.compiled.max_duration()
    }

    /// Runs every scenario to its end; blocks. Samples go to `sender`.
    pub fn run(&self, sender: SampleSender) -> std::io::Result<RunResult> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.threads)
            .thread_name("vu")
            .enable_all()
            .build()?;
        let result = rt.block_on(self.run_async(sender));
        rt.shutdown_timeout(Duration::from_millis(200));
        Ok(result)
    }

    async fn run_async(&self, sender: SampleSender) -> RunResult {
        let shared = Arc::new(Shared {
            registry: self.registry.clone(),
            builtin: self.builtin,
            custom: self.custom.clone(),
            system_tags: self.compiled.system_tags,
            client: Arc::new(ClientShared {
                tls: crate::http::tls::client_config(
                    self.compiled.insecure_skip_tls_verify,
                    self.compiled.http_version != crate::http::HttpVersion::Http1,
                ),
                version: self.compiled.http_version,
                release_idle_buffers: self.max_vus() > FEW_VUS,
            }),
            stats: self.control.stats.clone(),
            redirect_limit_warned: Default::default(),
            failing: Default::default(),
            script: self.script.clone(),
        });
        let start = Instant::now();
        *self.control.started.lock() = Some(start);
        let vu_ids = Arc::new(AtomicU64::new(0));
        let total_vus = self.max_vus();
        // Fewer, larger chunks for few VUs (throughput); small ones for many (each VU holds
        // its buffer: 64 samples are 1.5 KiB, and at thousands of VUs each fills in seconds).
        let buffer = match total_vus {
            0..=FEW_VUS => 1024,
            101..=1000 => 128,
            _ => 64,
        };

        let ticker = tokio::spawn(gauge_ticker(
            self.registry.clone(),
            self.builtin,
            self.compiled.test_tags.clone(),
            self.control.stats.clone(),
            sender.clone(),
            self.control.stop.subscribe(),
        ));

        let set_up = self
            .lifecycle(crate::script::Lifecycle::Setup, &shared, &sender, buffer)
            .await;
        let mut tasks = Vec::new();
        for scn in self.compiled.scenarios.iter().filter(|_| set_up) {
            let ctx = exec::Ctx {
                scn: scn.clone(),
                shared: shared.clone(),
                sender: sender.clone(),
                vu_ids: vu_ids.clone(),
                buffer,
            };
            let global = self.control.stop.subscribe();
            tasks.push(tokio::spawn(run_scenario(ctx, global, start)));
        }
        for t in tasks {
            let _ = t.await;
        }
        if set_up {
            self.lifecycle(crate::script::Lifecycle::Teardown, &shared, &sender, buffer)
                .await;
        }
        // Ends the ticker (which emits a last vus/vus_max sample).
        let _ = self.control.stop.send(HARD);
        let _ = ticker.await;
        let stats = &self.control.stats;
        RunResult {
            duration: start.elapsed(),
            iterations: stats.iterations.load(Ordering::Relaxed),
            interrupted: stats.interrupted.load(Ordering::Relaxed),
            dropped: stats.dropped.load(Ordering::Relaxed),
            not_sent: stats.not_sent.load(Ordering::Relaxed),
            stopped_early: self.control.stopped_early(),
            setup_failed: !set_up,
        }
    }
}

impl Engine {
    /// Runs the script's `setup()` or `teardown()`, if it has one, as a VU of the first
    /// scenario (k6 tags its samples with the group `::setup`/`::teardown`). False when it did
    /// not finish within its timeout: the test does not start.
    async fn lifecycle(
        &self,
        which: crate::script::Lifecycle,
        shared: &Arc<Shared>,
        sender: &SampleSender,
        buffer: usize,
    ) -> bool {
        let (Some(script), Some(scn)) = (&self.script, self.compiled.scenarios.first()) else {
            return true;
        };
        let Some((vu, timeout)) = script.lifecycle(which) else {
            return true;
        };
        let mut v =
            crate::vu::Vu::for_lifecycle(which, scn.clone(), shared.clone(), sender, buffer, vu);
        let finished = v.script_once(timeout).await;
        if !finished {
            tracing::error!(
                "{}() did not finish within its timeout of {:?}",
                match which {
                    crate::script::Lifecycle::Setup => "setup",
                    crate::script::Lifecycle::Teardown => "teardown",
                },
                timeout
            );
        }
        finished && !script.setup_failed()
    }
}

/// Waits for the scenario's start time, then runs its executor while a supervisor turns the
/// scenario's stop level up at the end of its duration (or when the run is stopped).
async fn run_scenario(ctx: exec::Ctx, mut global: watch::Receiver<u8>, run_start: Instant) {
    let scn = ctx.scn.clone();
    let begin = run_start + scn.start_time;
    tokio::select! {
        _ = tokio::time::sleep_until(begin.into()) => {}
        _ = global.wait_for(|s| *s >= GRACEFUL) => {
            scn.progress.stopped_early();
            scn.progress.start(run_start);
            scn.progress.done(run_start);
            return;
        }
    }
    scn.progress.start(run_start);
    let (tx, rx) = watch::channel(RUNNING);
    let end = Instant::now() + scn.exec.duration();
    let graceful = scn.graceful_stop;
    let watched = scn.clone();
    let supervisor = tokio::spawn(async move {
        let hard_at = tokio::select! {
            _ = tokio::time::sleep_until(end.into()) => Instant::now() + graceful,
            r = global.wait_for(|s| *s >= GRACEFUL) => {
                watched.progress.stopped_early();
                if r.map(|s| *s >= HARD).unwrap_or(true) {
                    Instant::now()
                } else {
                    Instant::now() + graceful
                }
            }
        };
        watched.progress.stopping();
        let _ = tx.send(GRACEFUL);
        tokio::select! {
            _ = tokio::time::sleep_until(hard_at.into()) => {}
            _ = global.wait_for(|s| *s >= HARD) => {}
            _ = tx.closed() => {}
        }
        let _ = tx.send(HARD);
    });
    match &scn.exec {
        ExecSpec::SharedIterations { .. }
        | ExecSpec::PerVuIterations { .. }
        | ExecSpec::ConstantVus { .. } => exec::looping(ctx, rx, end).await,
        ExecSpec::RampingVus { .. } => exec::ramping_vus(ctx, rx).await,
        ExecSpec::ArrivalRate { .. } => exec::arrival_rate(ctx, rx).await,
    }
    supervisor.abort();
    scn.progress.done(run_start);
}

async fn gauge_ticker(
    registry: Arc<Registry>,
    builtin: Builtin,
    tags: Vec<(String, String)>,
    stats: Arc<Stats>,
    sender: SampleSender,
    mut stop: watch::Receiver<u8>,
) {
    let tags_ref: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let vus = registry.series(builtin.vus, &tags_ref, &[]);
    let vus_max = registry.series(builtin.vus_max, &tags_ref, &[]);
    let emit = |sender: &SampleSender, active: i64| {
        let now = loadrun_metrics::now_ns();
        sender.send(vec![
            Sample::new(vus.0, now, active.max(0) as f64),
            Sample::new(vus_max.0, now, stats.vus_max.load(Ordering::Relaxed) as f64),
        ]);
    };
    // k6 samples the gauges about every second while VUs run. The first sample comes early so
    // short runs have one, and none is taken after the VUs are gone (the summary shows the last
    // value, which would otherwise always be 0).
    let mut next = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut emitted = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                emit(&sender, stats.vus.load(Ordering::Relaxed));
                emitted = true;
                next += Duration::from_secs(1);
            }
            r = stop.wait_for(|s| *s >= HARD) => {
                let _ = r;
                if !emitted {
                    emit(&sender, stats.vus_peak.load(Ordering::Relaxed));
                }
                return;
            }
        }
    }
}
