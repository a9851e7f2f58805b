//! `handleSummary(data)`: run once after `teardown`, in a runtime of its own that runs the
//! init code again (k6 runs it in a fresh VU), with the end-of-test data as a plain object.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use rquickjs::{ArrayBuffer, Ctx, Function, Object, Value};

use crate::core::Core;
use crate::driver::JsScript;

/// What `handleSummary` asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum SummaryOutput {
    /// It returned nothing (or threw, which is logged): the default text summary is shown.
    Default,
    /// `stdout`, `stderr` or a file path, with what to write there, in key order.
    Write(Vec<(String, Vec<u8>)>),
}

impl JsScript {
    /// Calls the script's `handleSummary` with `data` (JSON of k6's summary object; the
    /// data `setup()` returned is added as `setup_data`, as k6 does). An exception in it is
    /// logged and gives [`SummaryOutput::Default`]; a return value k6 would refuse is an error.
    /// `timeout` is `handleSummaryTimeout`: past it the script is stopped, as an exception.
    pub fn handle_summary(&self, data: &str, timeout: Duration) -> Result<SummaryOutput, String> {
        let spec = self.spec().clone();
        let path = spec.path.clone();
        let cut = Arc::new(AtomicBool::new(false));
        let (done, wait) = channel::<()>();
        let watchdog = cut.clone();
        // QuickJS's interrupt handler reads `cut`: a handleSummary that never returns is
        // stopped as k6 stops it.
        let _ = std::thread::Builder::new()
            .name("js-summary-timeout".into())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(timeout) {
                    watchdog.store(true, Ordering::Relaxed);
                }
            });
        let core = Rc::new(Core::new(spec.clone(), String::new(), cut.clone()));
        let vm = crate::vm::Vm::new(&core, &spec.env, None)?;
        // Past the init code, as in k6 (`open()` refuses); its samples go nowhere, as k6
        // discards the summary VU's.
        core.phase.set(crate::core::Phase::Run);
        let setup = spec.setup_data.lock().clone();
        let called = vm.with_exports(&path, |ctx, ns| {
            let f: Value = ns.get("handleSummary")?;
            let Some(f) = f.into_function() else {
                return Ok(Err(
                    "the exported identifier handleSummary must be a function".to_string(),
                ));
            };
            Ok(Ok(call(ctx, &f, data, setup.as_deref())))
        });
        drop(done);
        let outcome = match called {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(message)) => return Err(format!("{path}: {message}")),
            // The init code failed this time (it ran before, for the options).
            Err(line) => return Err(line),
        };
        match outcome {
            Called::Returned(out) => Ok(out),
            Called::Threw(line) => {
                let line = if cut.load(Ordering::Relaxed) {
                    format!(
                        "handleSummary() execution timed out after {}",
                        loadrun_engine::util::format_duration(timeout)
                    )
                } else {
                    line
                };
                tracing::error!(source = "script", "{line}");
                Ok(SummaryOutput::Default)
            }
            Called::Refused(message) => Err(message),
        }
    }
}

enum Called {
    Returned(SummaryOutput),
    Threw(String),
    Refused(String),
}

fn call<'js>(ctx: &Ctx<'js>, f: &Function<'js>, data: &str, setup: Option<&str>) -> Called {
    let threw = |ctx: &Ctx<'js>| Called::Threw(crate::vm::describe_exception(&ctx.catch()));
    let arg = match ctx.json_parse(data) {
        Ok(v) => v,
        Err(_) => return threw(ctx),
    };
    if let (Some(text), Some(obj)) = (setup, arg.as_object()) {
        match ctx.json_parse(text) {
            Ok(v) => {
                if obj.set("setup_data", v).is_err() {
                    return threw(ctx);
                }
            }
            Err(_) => return threw(ctx),
        }
    }
    let v: Value = match f.call((arg,)) {
        Ok(v) => v,
        Err(_) => return threw(ctx),
    };
    while ctx.execute_pending_job() {}
    let v = match v.as_promise() {
        Some(p) => match p.finish::<Value>() {
            Ok(v) => v,
            Err(_) => return threw(ctx),
        },
        None => v,
    };
    match writes(&v) {
        Ok(out) => Called::Returned(out),
        Err(message) => Called::Refused(message),
    }
}

/// The return value as k6 reads it: nothing, or an object of strings and ArrayBuffers.
fn writes(v: &Value<'_>) -> Result<SummaryOutput, String> {
    if v.is_undefined() || v.is_null() {
        return Ok(SummaryOutput::Default);
    }
    let obj = match v.as_object() {
        Some(o) if !v.is_array() && !v.is_function() => o,
        _ => return Err("handleSummary() should return a map with string keys".into()),
    };
    let mut out = Vec::new();
    for key in obj.keys::<String>() {
        let key = key.map_err(|e| format!("handleSummary(): {e}"))?;
        let value: Value = obj
            .get(key.as_str())
            .map_err(|e| format!("handleSummary(): {key}: {e}"))?;
        let bytes = bytes_of(&value).ok_or_else(|| {
            format!(
                "error handling summary object {key}: invalid type {}, it needs to be a string or ArrayBuffer",
                value.type_name()
            )
        })?;
        out.push((key, bytes));
    }
    Ok(SummaryOutput::Write(out))
}

fn bytes_of(v: &Value<'_>) -> Option<Vec<u8>> {
    if let Some(s) = v.as_string() {
        return s.to_string().ok().map(String::into_bytes);
    }
    let obj: &Object = v.as_object()?;
    let ab = ArrayBuffer::from_object(obj.clone())?;
    // SAFETY: the bytes are copied at once; no JavaScript runs while the slice lives.
    unsafe { ab.as_bytes() }.map(<[u8]>::to_vec)
}
