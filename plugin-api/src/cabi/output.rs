//! One C-face output instance behind the host's output interface ([`OutputFfi`]), and the
//! host callbacks it hands the plugin.
//!
//! The host drives it exactly as it drives a Rust plugin's output, from one thread at a time.
//! The samples go to the plugin as the host's own slice; definitions are translated into the
//! header's structs only on the batches that carry new ones.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use abi_stable::std_types::{RResult, RString};

use super::ffi::{
    LrBatch, LrHost, LrHostApi, LrKv, LrMetricDef, LrMsg, LrOutput, LrSeriesDef, LrStr,
    LrSubmetricDef, ABI_MINOR, LR_FATAL, LR_OK, LR_RETRY,
};
use super::json;
use super::plugin::CPlugin;
use crate::abi::{
    Batch, HostBox, KeyValue, LogLevel, OutputFfi, PluginError, RunOutcome, WriteStatus,
};

/// The capacity of the host-owned message buffer a call may write into.
const MSG_CAP: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Created,
    Started,
    Stopped,
}

/// What `lr_host *` points to: the host services of one output, alive until after `destroy`.
struct HostCtx {
    host: HostBox,
}

pub(super) struct COutput {
    plugin: Arc<CPlugin>,
    raw: *mut LrOutput,
    phase: Phase,
    /// Boxed so `lr_host *` keeps its address; dropped after `destroy` (see `Drop`).
    host: Option<Box<HostCtx>>,
    msg: Vec<u8>,
    defs: Definitions,
}

// SAFETY: the plugin instance is used from one thread at a time (`&mut self` for every call),
// which the header promises plugins; nothing here is shared between threads.
unsafe impl Send for COutput {}

impl COutput {
    pub(super) fn create(plugin: Arc<CPlugin>, init_json: &str) -> Result<Self, PluginError> {
        let mut out = COutput {
            plugin,
            raw: std::ptr::null_mut(),
            phase: Phase::Created,
            host: None,
            msg: vec![0; MSG_CAP],
            defs: Definitions::default(),
        };
        let new_output = out.plugin.functions.new_output;
        let mut raw: *mut LrOutput = std::ptr::null_mut();
        let (rc, msg) = out.call(|err| {
            // SAFETY: the init document is BORROWED(call); `raw` and `err` outlive the call.
            unsafe { new_output(init_json.as_ptr().cast(), init_json.len(), &mut raw, err) }
        });
        if rc != LR_OK {
            // A failed new_output has freed whatever it made (the header says so): *out is
            // not trusted, and destroy is not called.
            return Err(PluginError::new(reason(msg, "new_output", rc)));
        }
        if raw.is_null() {
            return Err(PluginError::new(
                "new_output returned LR_OK without an instance (NULL)",
            ));
        }
        out.raw = raw;
        Ok(out)
    }

    /// Runs one plugin call with a fresh message buffer; returns its result and message.
    fn call(&mut self, f: impl FnOnce(*mut LrMsg) -> i32) -> (i32, String) {
        let mut msg = LrMsg {
            buf: self.msg.as_mut_ptr().cast(),
            cap: self.msg.len(),
            len: 0,
        };
        let rc = f(&mut msg);
        if rc == LR_OK {
            // The hot path: a message is only read from a failed call.
            return (rc, String::new());
        }
        let len = msg.len.min(self.msg.len());
        let text = String::from_utf8_lossy(&self.msg[..len]);
        (rc, text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn out_of_order(&self, call: &str) -> PluginError {
        let when = match self.phase {
            Phase::Created => "before start",
            Phase::Started => "while running",
            Phase::Stopped => "after stop",
        };
        PluginError::new(format!(
            "{call} called {when}: refused by the C-face adapter"
        ))
    }
}

/// The message of a failed call: the plugin's, or what is known without it.
fn reason(msg: String, call: &str, rc: i32) -> String {
    match (msg.is_empty(), rc) {
        (false, _) => msg,
        (true, LR_FATAL | LR_RETRY) => format!("{call} failed (the plugin gave no reason)"),
        (true, other) => format!("{call} returned {other}, which is not an lr result"),
    }
}

impl Drop for COutput {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let destroy = self.plugin.functions.destroy;
            // SAFETY: `raw` came from this plugin's new_output and is destroyed once; the host
            // context the plugin may still hold is dropped only after this returns.
            unsafe { destroy(self.raw) };
            self.raw = std::ptr::null_mut();
        }
    }
}

impl OutputFfi for COutput {
    fn start(&mut self, host: HostBox) -> RResult<(), PluginError> {
        if self.phase != Phase::Created {
            return RResult::RErr(self.out_of_order("start"));
        }
        let ctx = Box::new(HostCtx { host });
        let handle = (&*ctx as *const HostCtx).cast_mut().cast::<LrHost>();
        self.host = Some(ctx);
        self.phase = Phase::Started;
        let (start, raw) = (self.plugin.functions.start, self.raw);
        let (rc, msg) = self.call(|err| {
            // SAFETY: `HOST_API` is static and `handle` lives until after destroy.
            unsafe { start(raw, &HOST_API, handle, err) }
        });
        if rc == LR_OK {
            RResult::ROk(())
        } else {
            RResult::RErr(PluginError::new(reason(msg, "start", rc)))
        }
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        if self.phase != Phase::Started {
            return WriteStatus::Fatal(self.out_of_order("write"));
        }
        let lr = self.defs.batch(&batch);
        let mut retry_after: i64 = -1;
        let (write, raw) = (self.plugin.functions.write, self.raw);
        let (rc, msg) = self.call(|msg| {
            // SAFETY: everything `lr` points to (the host's batch and the translated
            // definitions) is alive for the call.
            unsafe { write(raw, &lr, &mut retry_after, msg) }
        });
        match rc {
            LR_OK => WriteStatus::Ok,
            LR_RETRY => WriteStatus::Retry {
                after_ms: u64::try_from(retry_after).ok().into(),
                reason: RString::from(reason(msg, "write", rc)),
            },
            _ => WriteStatus::Fatal(PluginError::new(reason(msg, "write", rc))),
        }
    }

    fn flush(&mut self, timeout_ms: u64) -> RResult<(), PluginError> {
        if self.phase != Phase::Started {
            return RResult::RErr(self.out_of_order("flush"));
        }
        let (flush, raw) = (self.plugin.functions.flush, self.raw);
        // SAFETY: `raw` is live until destroy.
        let (rc, msg) = self.call(|err| unsafe { flush(raw, timeout_ms, err) });
        if rc == LR_OK {
            RResult::ROk(())
        } else {
            RResult::RErr(PluginError::new(reason(msg, "flush", rc)))
        }
    }

    fn stop(&mut self, outcome: &RunOutcome, timeout_ms: u64) -> RResult<(), PluginError> {
        if self.phase == Phase::Stopped {
            return RResult::RErr(self.out_of_order("stop"));
        }
        self.phase = Phase::Stopped;
        let doc = json::outcome(outcome);
        let (stop, raw) = (self.plugin.functions.stop, self.raw);
        let (rc, msg) = self.call(|err| {
            // SAFETY: the outcome document is BORROWED(call).
            unsafe { stop(raw, doc.as_ptr().cast(), doc.len(), timeout_ms, err) }
        });
        if rc == LR_OK {
            RResult::ROk(())
        } else {
            RResult::RErr(PluginError::new(reason(msg, "stop", rc)))
        }
    }
}

/// The header's definition structs for one batch, rebuilt in reused buffers.
#[derive(Default)]
struct Definitions {
    strs: Vec<LrStr>,
    kvs: Vec<LrKv>,
    subs: Vec<LrSubmetricDef>,
    metrics: Vec<LrMetricDef>,
    series: Vec<LrSeriesDef>,
    /// `(first, count)` of each metric's thresholds, submetrics; each submetric's tags; each
    /// series' tags and metadata: pointers are taken only once a buffer is complete, so no
    /// push can move what a pointer points to.
    ranges: Vec<(usize, usize)>,
}

fn kv(kv: &KeyValue) -> LrKv {
    LrKv {
        key: LrStr::of(kv.key.as_str()),
        value: LrStr::of(kv.value.as_str()),
    }
}

impl Definitions {
    /// The `lr_batch` of `batch`; valid while `batch` and `self` are untouched.
    fn batch(&mut self, batch: &Batch<'_>) -> LrBatch {
        let samples = batch.samples.as_slice();
        if batch.metrics.is_empty() && batch.series.is_empty() {
            return LrBatch {
                metrics: std::ptr::null(),
                metrics_len: 0,
                series: std::ptr::null(),
                series_len: 0,
                samples: samples.as_ptr(),
                samples_len: samples.len(),
            };
        }
        self.strs.clear();
        self.kvs.clear();
        self.subs.clear();
        self.metrics.clear();
        self.series.clear();
        self.ranges.clear();
        for m in batch.metrics.iter() {
            self.ranges.push((self.strs.len(), m.thresholds.len()));
            self.strs
                .extend(m.thresholds.iter().map(|t| LrStr::of(t.as_str())));
            for s in m.submetrics.iter() {
                self.ranges.push((self.kvs.len(), s.tags.len()));
                self.kvs.extend(s.tags.iter().map(kv));
            }
        }
        for s in batch.series.iter() {
            self.ranges.push((self.kvs.len(), s.tags.len()));
            self.kvs.extend(s.tags.iter().map(kv));
            self.ranges.push((self.kvs.len(), s.metadata.len()));
            self.kvs.extend(s.metadata.iter().map(kv));
        }
        let kvs = |(first, n): (usize, usize)| self.kvs[first..first + n].as_ptr();
        let mut ranges = self.ranges.iter().copied();
        let mut next = || ranges.next().unwrap_or((0, 0));
        let mut metric_ranges = Vec::with_capacity(batch.metrics.len());
        for m in batch.metrics.iter() {
            let thresholds = next();
            let first_sub = self.subs.len();
            for s in m.submetrics.iter() {
                let tags = next();
                self.subs.push(LrSubmetricDef {
                    name: LrStr::of(s.name.as_str()),
                    suffix: LrStr::of(s.suffix.as_str()),
                    tags: kvs(tags),
                    tags_len: tags.1,
                });
            }
            metric_ranges.push((thresholds, (first_sub, m.submetrics.len())));
        }
        for s in batch.series.iter() {
            let (tags, metadata) = (next(), next());
            self.series.push(LrSeriesDef {
                id: s.id,
                metric: s.metric,
                tags: kvs(tags),
                tags_len: tags.1,
                metadata: kvs(metadata),
                metadata_len: metadata.1,
            });
        }
        for (m, ((t_first, t_len), (s_first, s_len))) in batch.metrics.iter().zip(metric_ranges) {
            self.metrics.push(LrMetricDef {
                id: m.id,
                metric_type: m.metric_type as u8,
                contains: m.contains as u8,
                _reserved: 0,
                name: LrStr::of(m.name.as_str()),
                thresholds: self.strs[t_first..t_first + t_len].as_ptr(),
                thresholds_len: t_len,
                submetrics: self.subs[s_first..s_first + s_len].as_ptr(),
                submetrics_len: s_len,
            });
        }
        LrBatch {
            metrics: self.metrics.as_ptr(),
            metrics_len: self.metrics.len(),
            series: self.series.as_ptr(),
            series_len: self.series.len(),
            samples: samples.as_ptr(),
            samples_len: samples.len(),
        }
    }
}

/// The host callbacks every C-face output gets.
static HOST_API: LrHostApi = LrHostApi {
    struct_size: std::mem::size_of::<LrHostApi>() as u32,
    abi_minor: ABI_MINOR,
    log: host_log,
    add_counter: host_add_counter,
    request_abort: host_request_abort,
    stop_time_left_ms: host_stop_time_left_ms,
};

/// The host context behind a handle, and the text of a borrowed `(ptr, len)`; a callback
/// given a NULL handle does nothing.
///
/// # Safety
/// `host` is NULL or a handle given to `start`, not yet destroyed; `ptr` is NULL or points
/// to `len` readable bytes.
unsafe fn args<'a>(
    host: *mut LrHost,
    ptr: *const c_char,
    len: usize,
) -> Option<(&'a HostCtx, String)> {
    // SAFETY: per the function's contract.
    let ctx = unsafe { host.cast::<HostCtx>().as_ref() }?;
    let text = if ptr.is_null() || len == 0 {
        String::new()
    } else {
        // SAFETY: per the function's contract.
        let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
        String::from_utf8_lossy(bytes).into_owned()
    };
    Some((ctx, text))
}

/// A panic must not unwind into C: it is dropped (the host's services do not panic).
fn contained<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

unsafe extern "C" fn host_log(host: *mut LrHost, level: i32, msg: *const c_char, len: usize) {
    // SAFETY: the header's contract for this callback is `args`'s.
    let Some((ctx, text)) = (unsafe { args(host, msg, len) }) else {
        return;
    };
    let level = match level {
        0 => LogLevel::Error,
        1 => LogLevel::Warn,
        2 => LogLevel::Info,
        3 => LogLevel::Debug,
        _ => LogLevel::Trace,
    };
    contained((), || ctx.host.log(level, text.into()));
}

unsafe extern "C" fn host_add_counter(
    host: *mut LrHost,
    name: *const c_char,
    name_len: usize,
    delta: u64,
) {
    // SAFETY: the header's contract for this callback is `args`'s.
    let Some((ctx, name)) = (unsafe { args(host, name, name_len) }) else {
        return;
    };
    contained((), || ctx.host.add_counter(name.into(), delta));
}

unsafe extern "C" fn host_request_abort(
    host: *mut LrHost,
    reason: *const c_char,
    len: usize,
) -> i32 {
    // SAFETY: the header's contract for this callback is `args`'s.
    let Some((ctx, reason)) = (unsafe { args(host, reason, len) }) else {
        return 0;
    };
    contained(0, || i32::from(ctx.host.request_abort(reason.into())))
}

unsafe extern "C" fn host_stop_time_left_ms(host: *mut LrHost) -> i64 {
    // SAFETY: the header's contract for this callback is `args`'s.
    let Some((ctx, _)) = (unsafe { args(host, std::ptr::null(), 0) }) else {
        return -1;
    };
    contained(-1, || match ctx.host.stop_time_left_ms().into_option() {
        Some(ms) => i64::try_from(ms).unwrap_or(i64::MAX),
        None => -1,
    })
}
