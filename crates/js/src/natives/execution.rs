//! `k6/execution`: what a VU reads of itself, its scenario, this instance and the test while
//! it runs, and `test.abort()`.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use loadrun_engine::compile::{ExecSpec, ScenarioRt};
use loadrun_engine::Control;
use parking_lot::Mutex;
use rquickjs::{Ctx, Exception, Function, IntoJs, Object, Result, Value};

use crate::core::{Core, Phase};

/// The running test, handed over by the host once the engine exists.
pub struct Run {
    pub control: Control,
    pub scenarios: Vec<Arc<ScenarioRt>>,
}

/// The test's side of `k6/execution`, shared by the VUs.
#[derive(Default)]
pub struct Execution {
    run: OnceLock<Run>,
    /// Each VU's scenario, by the VU's number (unique in the test).
    scenario_of: Mutex<HashMap<u64, Arc<str>>>,
    /// `test.abort(reason)` was called: the reason.
    aborted: Mutex<Option<String>>,
    /// `export const options` as JSON, for `test.options`.
    options: OnceLock<String>,
}

impl Execution {
    pub(crate) fn attach(&self, run: Run) {
        let _ = self.run.set(run);
    }

    pub(crate) fn set_options(&self, json: Option<&str>) {
        let _ = self.options.set(json.unwrap_or("{}").to_string());
    }

    /// VU `id` runs `scenario`.
    pub(crate) fn vu_made(&self, id: u64, scenario: &str) {
        self.scenario_of.lock().insert(id, Arc::from(scenario));
    }

    pub(crate) fn run(&self) -> Option<&Run> {
        self.run.get()
    }

    pub(crate) fn scenario_name(&self, vu: u64) -> Option<Arc<str>> {
        self.scenario_of.lock().get(&vu).cloned()
    }

    pub(crate) fn aborted(&self) -> bool {
        self.aborted.lock().is_some()
    }

    /// After `test.abort()`, at the end of an iteration: stops the run. Called by the engine
    /// VU's side as it takes the iteration's end, so that iteration ends before the stop
    /// interrupts the others.
    pub(crate) fn stop_if_aborted(&self) {
        if self.aborted() {
            if let Some(run) = self.run.get() {
                run.control.stop_now();
            }
        }
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>, core: &Rc<Core>) -> Result<()> {
    let c = core.clone();
    l.set(
        "exec",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, key: String| {
            read(&ctx, &c, &key)
        })?,
    )?;
    let c = core.clone();
    l.set(
        "abort",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, reason: Option<String>| {
            abort(&ctx, &c, reason)
        })?,
    )?;
    Ok(())
}

/// k6's refusal of `exec.{key}` where there is no such information.
fn unavailable(ctx: &Ctx<'_>, key: &str) -> rquickjs::Error {
    let message = match key.split('.').next() {
        Some("vu") => "getting VU information in the init context is not supported",
        Some("instance") => "getting instance information in the init context is not supported",
        _ => "getting scenario information outside of the VU context is not supported",
    };
    Exception::throw_message(ctx, message)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn read<'js>(ctx: &Ctx<'js>, core: &Core, key: &str) -> Result<Value<'js>> {
    let exec = &core.spec.shared.execution;
    if key == "test.options" {
        return exec
            .options
            .get()
            .map(String::as_str)
            .unwrap_or("{}")
            .into_js(ctx);
    }
    if core.phase.get() == Phase::Init {
        return Err(unavailable(ctx, key));
    }
    let run = exec.run.get().ok_or_else(|| unavailable(ctx, key))?;
    let stats = &run.control.stats;
    use std::sync::atomic::Ordering::Relaxed;
    let n = |v: f64| Ok(Value::new_number(ctx.clone(), v));
    match key {
        "instance.vusActive" => return n(stats.vus.load(Relaxed).max(0) as f64),
        "instance.vusInitialized" => return n(stats.vus_max.load(Relaxed) as f64),
        "instance.iterationsCompleted" => return n(stats.iterations.load(Relaxed) as f64),
        "instance.iterationsInterrupted" => return n(stats.interrupted.load(Relaxed) as f64),
        "instance.currentTestRunDuration" => return n(ms(run.control.elapsed())),
        _ => {}
    }
    let Some(info) = core.iter.get() else {
        return Err(unavailable(ctx, key));
    };
    if !core.base_group.is_empty() && !key.starts_with("vu.") {
        // setup() and teardown() run outside any scenario.
        return Err(unavailable(ctx, key));
    }
    match key {
        "vu.idInTest" | "vu.idInInstance" => n(info.vu as f64),
        "vu.iterationInInstance" | "vu.iterationInScenario" => n(info.iter as f64),
        "scenario.iterationInInstance" | "scenario.iterationInTest" => n(info.iter_in_test as f64),
        "scenario.name" | "scenario.executor" | "scenario.startTime" | "scenario.progress" => {
            let name = exec.scenario_of.lock().get(&info.vu).cloned();
            let Some(name) = name else {
                return Err(unavailable(ctx, key));
            };
            let Some(rt) = run.scenarios.iter().find(|s| *s.name == *name) else {
                return Err(unavailable(ctx, key));
            };
            match key {
                "scenario.name" => name.as_ref().into_js(ctx),
                "scenario.executor" => rt.executor.name().into_js(ctx),
                "scenario.startTime" => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default();
                    let run_start = now.saturating_sub(run.control.elapsed());
                    n(ms(run_start + rt.start_time).floor())
                }
                _ => n(progress(rt, run.control.elapsed())),
            }
        }
        _ => Err(Exception::throw_message(
            ctx,
            &format!("exec.{key} is not supported by loadrun yet"),
        )),
    }
}

/// How far the scenario is, 0 to 1, as k6 reckons it: iterations done of those planned for
/// the iteration executors, time spent of the scheduled duration for the others.
fn progress(rt: &ScenarioRt, run_elapsed: std::time::Duration) -> f64 {
    let snap = rt.progress.snapshot(run_elapsed);
    let f = match &rt.exec {
        ExecSpec::SharedIterations { iterations, .. } => {
            snap.iterations as f64 / (*iterations).max(1) as f64
        }
        ExecSpec::PerVuIterations {
            vus, iterations, ..
        } => snap.iterations as f64 / vus.saturating_mul(*iterations).max(1) as f64,
        other => snap.elapsed.as_secs_f64() / other.duration().as_secs_f64().max(f64::MIN_POSITIVE),
    };
    f.clamp(0.0, 1.0)
}

fn abort(ctx: &Ctx<'_>, core: &Core, reason: Option<String>) -> Result<()> {
    let reason = reason.unwrap_or_default();
    let exec = &core.spec.shared.execution;
    let message = if reason.is_empty() {
        "test aborted".to_string()
    } else {
        format!("test aborted: {reason}")
    };
    if core.phase.get() == Phase::Init {
        // The probe's init code: the start fails with k6's exit code (see `load`).
        exec.aborted.lock().get_or_insert(reason);
    } else if exec.run.get().is_some() {
        exec.aborted.lock().get_or_insert(reason);
        // Said here, once: every iteration the stop cuts short ends quietly.
        core.spec.log_once(&message);
        // Nothing more of this iteration runs (not even a `catch`), but it ends rather than
        // being interrupted: it counts in `iterations`, as in k6. The stop comes when the
        // engine has its end (`stop_if_aborted`); teardown still runs.
        core.cut.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    // The exception ends this iteration (or the init code) where it stands.
    Err(Exception::throw_message(ctx, &message))
}
