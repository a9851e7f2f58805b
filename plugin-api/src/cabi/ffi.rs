//! The Rust declarations of `include/loadrun_plugin.h`, field for field.
//!
//! Kept in step with the header mechanically: [`layout!`] asserts each size and offset at
//! compile time, the header asserts the same numbers with `_Static_assert` (its `LR_SIZE` and
//! `LR_LAYOUT` lines), and the test below reads those lines from the header and requires the
//! two lists to be equal, so a field added or moved on one side only fails the build or the
//! test.

use std::ffi::c_char;

use crate::abi::Sample;

/// The C ABI version of the header these declarations mirror (`LR_ABI_MAJOR`, `LR_ABI_MINOR`).
pub const ABI_MAJOR: u32 = 1;
pub const ABI_MINOR: u32 = 0;

/// `LR_ENTRY_SYMBOL`, NUL-terminated for `dlsym`.
pub const ENTRY_SYMBOL: &[u8] = b"loadrun_plugin_v1\0";

pub const LR_OK: i32 = 0;
pub const LR_RETRY: i32 = 1;
pub const LR_FATAL: i32 = 2;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct LrStr {
    pub ptr: *const c_char,
    pub len: usize,
}

impl LrStr {
    pub fn of(s: &str) -> Self {
        Self {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct LrKv {
    pub key: LrStr,
    pub value: LrStr,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct LrSubmetricDef {
    pub name: LrStr,
    pub suffix: LrStr,
    pub tags: *const LrKv,
    pub tags_len: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct LrMetricDef {
    pub id: u32,
    pub metric_type: u8,
    pub contains: u8,
    pub _reserved: u16,
    pub name: LrStr,
    pub thresholds: *const LrStr,
    pub thresholds_len: usize,
    pub submetrics: *const LrSubmetricDef,
    pub submetrics_len: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct LrSeriesDef {
    pub id: u32,
    pub metric: u32,
    pub tags: *const LrKv,
    pub tags_len: usize,
    pub metadata: *const LrKv,
    pub metadata_len: usize,
}

/// `lr_batch`. Its samples are the Rust ABI's own [`Sample`]s (`lr_sample` is asserted to
/// have that layout), so the host passes its slice as is.
#[repr(C)]
pub struct LrBatch {
    pub metrics: *const LrMetricDef,
    pub metrics_len: usize,
    pub series: *const LrSeriesDef,
    pub series_len: usize,
    pub samples: *const Sample,
    pub samples_len: usize,
}

#[repr(C)]
pub struct LrMsg {
    pub buf: *mut c_char,
    pub cap: usize,
    pub len: usize,
}

/// `lr_host`: opaque to the plugin; the host's per-output state behind it.
#[repr(C)]
pub struct LrHost {
    _opaque: [u8; 0],
}

/// `lr_output`: opaque to the host.
#[repr(C)]
pub struct LrOutput {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct LrHostApi {
    pub struct_size: u32,
    pub abi_minor: u32,
    pub log: unsafe extern "C" fn(host: *mut LrHost, level: i32, msg: *const c_char, len: usize),
    pub add_counter:
        unsafe extern "C" fn(host: *mut LrHost, name: *const c_char, name_len: usize, delta: u64),
    pub request_abort:
        unsafe extern "C" fn(host: *mut LrHost, reason: *const c_char, len: usize) -> i32,
    pub stop_time_left_ms: unsafe extern "C" fn(host: *mut LrHost) -> i64,
}

pub type NewOutputFn = unsafe extern "C" fn(
    init_json: *const c_char,
    len: usize,
    out: *mut *mut LrOutput,
    err: *mut LrMsg,
) -> i32;
pub type StartFn = unsafe extern "C" fn(
    o: *mut LrOutput,
    api: *const LrHostApi,
    host: *mut LrHost,
    err: *mut LrMsg,
) -> i32;
pub type WriteFn = unsafe extern "C" fn(
    o: *mut LrOutput,
    batch: *const LrBatch,
    retry_after_ms: *mut i64,
    msg: *mut LrMsg,
) -> i32;
pub type FlushFn = unsafe extern "C" fn(o: *mut LrOutput, timeout_ms: u64, err: *mut LrMsg) -> i32;
pub type StopFn = unsafe extern "C" fn(
    o: *mut LrOutput,
    outcome_json: *const c_char,
    len: usize,
    timeout_ms: u64,
    err: *mut LrMsg,
) -> i32;
pub type DestroyFn = unsafe extern "C" fn(o: *mut LrOutput);

/// `lr_plugin_api` as a plugin fills it: every function may be NULL (a broken plugin), which
/// the loader refuses before anything is called.
#[repr(C)]
pub struct LrPluginApi {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub _reserved: u32,
    pub info_json: *const c_char,
    pub new_output: Option<NewOutputFn>,
    pub start: Option<StartFn>,
    pub write: Option<WriteFn>,
    pub flush: Option<FlushFn>,
    pub stop: Option<StopFn>,
    pub destroy: Option<DestroyFn>,
}

/// The entry symbol's type.
pub type EntryFn =
    unsafe extern "C" fn(host_abi_major: u32, host_abi_minor: u32) -> *const LrPluginApi;

/// Asserts each `type = "c_name", size { field: offset, .. }` at compile time and lists them
/// for the comparison with the header.
macro_rules! layout {
    ($($ty:ty = $c:literal, $size:literal { $($field:ident: $off:literal),* $(,)? })*) => {
        $(
            const _: () = {
                assert!(std::mem::size_of::<$ty>() == $size);
                $(assert!(std::mem::offset_of!($ty, $field) == $off);)*
            };
        )*
        /// `(C type, field or "" for the size, number)`, as asserted above.
        #[cfg(test)]
        pub(crate) const LAYOUT: &[(&str, &str, usize)] = &[
            $( ($c, "", $size), $( ($c, stringify!($field), $off), )* )*
        ];
    };
}

#[cfg(target_pointer_width = "64")]
layout! {
    LrStr = "lr_str", 16 { ptr: 0, len: 8 }
    LrKv = "lr_kv", 32 { key: 0, value: 16 }
    LrSubmetricDef = "lr_submetric_def", 48 { name: 0, suffix: 16, tags: 32, tags_len: 40 }
    LrMetricDef = "lr_metric_def", 56 {
        id: 0, metric_type: 4, contains: 5, _reserved: 6, name: 8, thresholds: 24,
        thresholds_len: 32, submetrics: 40, submetrics_len: 48,
    }
    LrSeriesDef = "lr_series_def", 40 {
        id: 0, metric: 4, tags: 8, tags_len: 16, metadata: 24, metadata_len: 32,
    }
    Sample = "lr_sample", 24 { series: 0, _reserved: 4, time_ns: 8, value: 16 }
    LrBatch = "lr_batch", 48 {
        metrics: 0, metrics_len: 8, series: 16, series_len: 24, samples: 32, samples_len: 40,
    }
    LrMsg = "lr_msg", 24 { buf: 0, cap: 8, len: 16 }
    LrHostApi = "lr_host_api", 40 {
        struct_size: 0, abi_minor: 4, log: 8, add_counter: 16, request_abort: 24,
        stop_time_left_ms: 32,
    }
    LrPluginApi = "lr_plugin_api", 72 {
        struct_size: 0, abi_major: 4, abi_minor: 8, _reserved: 12, info_json: 16,
        new_output: 24, start: 32, write: 40, flush: 48, stop: 56, destroy: 64,
    }
}

/// The size of the smallest `lr_plugin_api` a 1.x plugin may hand over: 1.0's.
pub const PLUGIN_API_V1_0_SIZE: usize = 72;

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::LAYOUT;

    const HEADER: &str = include_str!("../../include/loadrun_plugin.h");

    /// The header's `LR_SIZE(t, n);` and `LR_LAYOUT(t, f, n);` lines.
    fn header_layout() -> Vec<(String, String, usize)> {
        let mut out = Vec::new();
        for line in HEADER.lines().map(str::trim) {
            let (args, size) = if let Some(rest) = line.strip_prefix("LR_SIZE(") {
                (rest, true)
            } else if let Some(rest) = line.strip_prefix("LR_LAYOUT(") {
                (rest, false)
            } else {
                continue;
            };
            let Some(args) = args.strip_suffix(");") else {
                continue;
            };
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            let parsed = match (size, parts.as_slice()) {
                (true, [t, n]) => n.parse().map(|n| (t.to_string(), String::new(), n)),
                (false, [t, f, n]) => n.parse().map(|n| (t.to_string(), f.to_string(), n)),
                _ => panic!("unreadable layout line in the header: {line}"),
            };
            out.push(parsed.unwrap_or_else(|e| panic!("bad number in {line}: {e}")));
        }
        out
    }

    #[test]
    fn the_header_asserts_exactly_the_layout_the_rust_declarations_assert() {
        let mut header = header_layout();
        let mut rust: Vec<(String, String, usize)> = LAYOUT
            .iter()
            .map(|(t, f, n)| (t.to_string(), f.to_string(), *n))
            .collect();
        header.sort();
        rust.sort();
        let only_header: Vec<_> = header.iter().filter(|e| !rust.contains(e)).collect();
        let only_rust: Vec<_> = rust.iter().filter(|e| !header.contains(e)).collect();
        assert!(
            only_header.is_empty() && only_rust.is_empty(),
            "loadrun_plugin.h and cabi::ffi disagree:\n only in the header: {only_header:?}\n only in Rust: {only_rust:?}"
        );
        assert!(
            header.len() > 50,
            "too few layout lines read: {}",
            header.len()
        );
    }

    #[test]
    fn the_version_and_results_match_the_header() {
        for (needle, value) in [
            ("#define LR_ABI_MAJOR ", format!("{}u", super::ABI_MAJOR)),
            ("#define LR_ABI_MINOR ", format!("{}u", super::ABI_MINOR)),
        ] {
            let line = HEADER
                .lines()
                .find(|l| l.starts_with(needle))
                .unwrap_or_else(|| panic!("no {needle} in the header"));
            assert_eq!(line[needle.len()..].trim(), value, "{needle}");
        }
        assert!(HEADER.contains("enum { LR_OK = 0, LR_RETRY = 1, LR_FATAL = 2 };"));
        assert!(
            HEADER.contains("enum { LR_COUNTER = 0, LR_GAUGE = 1, LR_RATE = 2, LR_TREND = 3 };")
        );
        assert!(
            HEADER.contains("enum { LR_VALUE_DEFAULT = 0, LR_VALUE_TIME = 1, LR_VALUE_DATA = 2 };")
        );
        use crate::abi::{MetricType, ValueKind};
        assert_eq!(
            [
                MetricType::Counter,
                MetricType::Gauge,
                MetricType::Rate,
                MetricType::Trend
            ]
            .map(|t| t as u8),
            [0, 1, 2, 3]
        );
        assert_eq!(
            [ValueKind::Default, ValueKind::Time, ValueKind::Data].map(|k| k as u8),
            [0, 1, 2]
        );
        // The pkg-config file installed with the header carries its version.
        let pc = include_str!("../../pkgconfig/loadrun-plugin.pc");
        assert!(
            pc.lines()
                .any(|l| l == format!("Version: {}.{}", super::ABI_MAJOR, super::ABI_MINOR)),
            "{pc}"
        );
        assert!(HEADER.contains("#define LR_ENTRY_SYMBOL \"loadrun_plugin_v1\""));
        assert_eq!(super::ENTRY_SYMBOL, b"loadrun_plugin_v1\0");
    }
}
