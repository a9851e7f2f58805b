#![allow(non_local_definitions)] // abi_stable 0.11 derive output

//! The types that cross the boundary between the host and a plugin.
//!
//! Everything here is `#[repr(C)]` and derives [`StableAbi`], so `abi_stable` checks at load time
//! that the host and the plugin agree on every layout. Plugin authors normally use the SDK
//! ([`crate::sdk`]) and meet these types only as arguments.
//!
//! Evolution rule: structs that are not prefix types never change within a major version. Data
//! added in a later minor version travels in the `extra` JSON fields, which old plugins ignore.
//! Methods added in a minor version go after a trait's `last_prefix_field`, with a default body
//! (what a caller gets when the other side's vtable predates the method). When such a method
//! is added to a type the host builds (`HostApi`), freeze the previous declarations in
//! [`earlier`] and extend [`init_root_module`], or hosts refuse plugins built before it.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, ROption, RResult, RSlice, RString, RVec},
    StableAbi,
};

/// A `key=value` pair: a tag, a metadata entry or an environment variable.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyValue {
    pub key: RString,
    pub value: RString,
}

impl KeyValue {
    pub fn new(key: impl Into<RString>, value: impl Into<RString>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// k6's four metric types.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Rate,
    Trend,
}

impl MetricType {
    /// k6's spelling: `counter`, `gauge`, `rate`, `trend`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Rate => "rate",
            MetricType::Trend => "trend",
        }
    }
}

/// What a metric's values measure (k6's `contains`).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A plain number.
    Default,
    /// A duration in milliseconds.
    Time,
    /// A size in bytes.
    Data,
}

impl ValueKind {
    /// k6's spelling: `default`, `time`, `data`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Default => "default",
            ValueKind::Time => "time",
            ValueKind::Data => "data",
        }
    }
}

/// A submetric declared by a threshold or by the summary, e.g. `http_req_duration{expected_response:true}`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct SubmetricDef {
    /// The full name, `metric{k:v,...}`.
    pub name: RString,
    /// The part between the braces, `k:v,...`.
    pub suffix: RString,
    /// The tag filter, sorted by key.
    pub tags: RVec<KeyValue>,
}

/// A metric, defined once per run and referred to by `id` afterwards.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct MetricDef {
    pub id: u32,
    pub name: RString,
    pub metric_type: MetricType,
    pub contains: ValueKind,
    /// Threshold sources on exactly this metric (not on its submetrics), e.g. `p(95)<500`.
    pub thresholds: RVec<RString>,
    pub submetrics: RVec<SubmetricDef>,
}

/// A series: a metric plus its tag set, defined once and referred to by `id` afterwards.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct SeriesDef {
    pub id: u32,
    /// The [`MetricDef::id`] of the series' metric.
    pub metric: u32,
    /// Indexable tags, sorted by key; values may be empty (k6's root `group` is `""`).
    pub tags: RVec<KeyValue>,
    /// Non-indexable metadata (k6's `vu`, `iter`), sorted by key. Outputs that only index tags
    /// should offer to write these as fields rather than drop them silently.
    pub metadata: RVec<KeyValue>,
}

/// One measurement. 24 bytes, no pointers: a batch of samples is one borrowed slice.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The [`SeriesDef::id`].
    pub series: u32,
    pub _reserved: u32,
    /// Unix time in nanoseconds.
    pub time_ns: i64,
    /// Milliseconds for `time` metrics, bytes for `data`, 0 or 1 for rates.
    pub value: f64,
}

impl Sample {
    pub fn new(series: u32, time_ns: i64, value: f64) -> Self {
        Self {
            series,
            _reserved: 0,
            time_ns,
            value,
        }
    }
}

/// What the host hands to `write`: borrowed for the duration of the call only.
///
/// `metrics` and `series` hold definitions the output has not been given before (they may repeat
/// a definition already given, e.g. when a write is retried; an id always means the same thing).
/// Every sample's series, and every series' metric, is defined in this batch or an earlier one.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub metrics: RSlice<'a, MetricDef>,
    pub series: RSlice<'a, SeriesDef>,
    pub samples: RSlice<'a, Sample>,
}

/// An error reported by a plugin. One line, no secrets.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub message: RString,
}

impl PluginError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: RString::from(message.into()),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// The answer to `write`.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum WriteStatus {
    /// The batch is written (or, for outputs that aggregate, accepted): the host forgets it.
    Ok,
    /// A passing failure: the host calls `write` again with the same batch, after `after_ms`
    /// if given (e.g. from a `Retry-After` header), else after its own backoff.
    Retry {
        after_ms: ROption<u64>,
        reason: RString,
    },
    /// The output cannot go on: the host quarantines it.
    Fatal(PluginError),
}

impl WriteStatus {
    /// A passing failure: the host retries the same batch after its own backoff.
    pub fn retry(reason: impl Into<String>) -> Self {
        WriteStatus::Retry {
            after_ms: ROption::RNone,
            reason: RString::from(reason.into()),
        }
    }

    /// A passing failure the server said when to retry (`Retry-After`).
    pub fn retry_after(after: std::time::Duration, reason: impl Into<String>) -> Self {
        WriteStatus::Retry {
            after_ms: ROption::RSome(u64::try_from(after.as_millis()).unwrap_or(u64::MAX)),
            reason: RString::from(reason.into()),
        }
    }

    /// The output cannot go on.
    pub fn fatal(reason: impl Into<String>) -> Self {
        WriteStatus::Fatal(PluginError::new(reason))
    }

    /// For a `Retry`, the delay the output asked for, if any.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        match self {
            WriteStatus::Retry { after_ms, .. } => after_ms
                .as_ref()
                .into_option()
                .map(|ms| std::time::Duration::from_millis(*ms)),
            _ => None,
        }
    }

    // The readers below let plugin code and tests inspect a status without naming the
    // abi_stable field types (`ROption`, `RString`) that pattern matching would expose.

    /// The batch was taken.
    pub fn is_ok(&self) -> bool {
        matches!(self, WriteStatus::Ok)
    }

    /// A passing failure: the host will call `write` again with the same batch.
    pub fn is_retry(&self) -> bool {
        matches!(self, WriteStatus::Retry { .. })
    }

    /// The output cannot go on.
    pub fn is_fatal(&self) -> bool {
        matches!(self, WriteStatus::Fatal(_))
    }

    /// For a `Retry`, why.
    pub fn retry_reason(&self) -> Option<&str> {
        match self {
            WriteStatus::Retry { reason, .. } => Some(reason.as_str()),
            _ => None,
        }
    }

    /// For a `Fatal`, the error.
    pub fn fatal_error(&self) -> Option<&PluginError> {
        match self {
            WriteStatus::Fatal(e) => Some(e),
            _ => None,
        }
    }
}

/// A threshold as the plan declares it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ThresholdDef {
    /// The metric or submetric name, e.g. `checks{mytag:hello}`.
    pub metric: RString,
    /// The expression, e.g. `rate>0.5`.
    pub source: RString,
    pub abort_on_fail: bool,
}

/// What is known about the test when an output is created.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct TestMeta {
    /// A unique id for this run (also the `testid`-like id outputs can attach).
    pub test_id: RString,
    /// The plan's name (file stem, or `quick` for `--url` runs).
    pub plan_name: RString,
    /// When the run started, unix ns.
    pub start_unix_ns: i64,
    /// The longest the scenarios can take, graceful stops included, when known.
    pub planned_duration_ms: ROption<u64>,
    /// The most VUs any moment of the plan can have.
    pub max_vus: u64,
    pub thresholds: RVec<ThresholdDef>,
    /// Test-wide tags (`--tag`, plan `tags`).
    pub tags: RVec<KeyValue>,
    /// JSON object reserved for fields added in later minor versions.
    pub extra: RString,
}

impl TestMeta {
    /// The longest the scenarios can take, when known.
    pub fn planned_duration(&self) -> Option<std::time::Duration> {
        self.planned_duration_ms
            .as_ref()
            .into_option()
            .map(|ms| std::time::Duration::from_millis(*ms))
    }

    /// The enabled system tags (`--system-tags`), as the host passes them in `extra`
    /// (`{"systemTags": [...]}`); `None` from a host that does not say.
    pub fn system_tags(&self) -> Option<Vec<String>> {
        let value: serde_json::Value = serde_json::from_str(self.extra.as_str()).ok()?;
        let list = value.get("systemTags")?.as_array()?;
        Some(
            list.iter()
                .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
                .collect(),
        )
    }

    /// [`TestMeta::system_tags`], or k6's default set when the host does not say.
    pub fn system_tags_or_default(&self) -> Vec<String> {
        self.system_tags().unwrap_or_else(|| {
            crate::k6::DEFAULT_SYSTEM_TAGS
                .iter()
                .map(|s| s.to_string())
                .collect()
        })
    }

    /// Test-wide tags as `(key, value)`.
    pub fn tag_pairs(&self) -> Vec<(String, String)> {
        self.tags
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    }
}

/// Everything a plugin gets to build one output instance.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct OutputInit {
    /// The name given to `-o`, e.g. `influxdb` (a plugin may provide several outputs).
    pub output_name: RString,
    /// The text after `=` in `-o NAME=ARG`, if any (host-owned keys removed).
    pub arg: ROption<RString>,
    /// The plan's `[outputs.NAME]` table as a JSON object (host-owned keys removed); `{}` if none.
    pub config_json: RString,
    /// The process environment.
    pub env: RVec<KeyValue>,
    pub test: TestMeta,
    /// JSON object reserved for fields added in later minor versions.
    pub extra: RString,
}

impl OutputInit {
    /// The `-o` argument, if any.
    pub fn arg(&self) -> Option<&str> {
        self.arg.as_ref().into_option().map(|a| a.as_str())
    }

    /// The environment as `(name, value)` pairs.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|kv| kv.key.as_str() == name)
            .map(|kv| kv.value.as_str())
    }
}

/// Why the run ended.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Every scenario finished.
    Completed,
    /// A threshold with `abortOnFail` failed.
    ThresholdAbort,
    /// The user interrupted the run (Ctrl-C).
    Interrupted,
    /// An output asked the host to abort.
    OutputAbort,
    /// The run failed (e.g. a required output failed).
    Error,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::ThresholdAbort => "threshold_abort",
            EndReason::Interrupted => "interrupted",
            EndReason::OutputAbort => "output_abort",
            EndReason::Error => "error",
        }
    }
}

/// One threshold's verdict at the end of the run.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ThresholdVerdict {
    pub metric: RString,
    pub source: RString,
    pub passed: bool,
}

/// How the run ended, handed to `stop`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// No threshold failed and the run was not aborted by an error.
    pub passed: bool,
    pub reason: EndReason,
    pub thresholds: RVec<ThresholdVerdict>,
    /// How long the run lasted.
    pub duration_ms: u64,
    /// JSON object reserved for fields added in later minor versions.
    pub extra: RString,
}

/// A log level for [`HostApi::log`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// What the host offers a running output. Safe to call from any thread the plugin owns.
#[sabi_trait]
pub trait HostApi: Send + Sync {
    /// Logs a line under the output's name.
    fn log(&self, level: LogLevel, message: RString);
    /// Adds `delta` to a plugin-defined counter, shown in the output's self-metrics.
    fn add_counter(&self, name: RString, delta: u64);
    /// Asks the host to stop the test. Honoured only if the user allowed it for this output
    /// (`abortOnError=true`); returns whether the request was accepted.
    #[sabi(last_prefix_field)]
    fn request_abort(&self, reason: RString) -> bool;
    /// Since 1.2. `None` while the run goes on; once the host has begun stopping this output,
    /// the milliseconds left before it gives up on it (`0` once passed). A plugin blocked in
    /// `write` uses it to cut a request short rather than be abandoned mid-request.
    ///
    /// Methods after `last_prefix_field` are optional in the vtable: a host built against
    /// 1.0 or 1.1 lacks this one, and calling it through such a host's trait object runs the
    /// default body below instead (abi_stable's fallback for defaulted methods), so a 1.2
    /// plugin sees `None` there, as if stopping never began. Later additions go after this
    /// one, with a default body too.
    fn stop_time_left_ms(&self) -> ROption<u64> {
        ROption::RNone
    }
}

/// The host API as a plugin receives it.
pub type HostBox = HostApi_TO<'static, RBox<()>>;

/// One output instance as the host sees it. Calls come from one host thread, never concurrently.
#[sabi_trait]
pub trait OutputFfi: Send {
    fn start(&mut self, host: HostBox) -> RResult<(), PluginError>;
    fn write(&mut self, batch: Batch<'_>) -> WriteStatus;
    /// Writes out anything buffered, taking at most `timeout_ms`.
    fn flush(&mut self, timeout_ms: u64) -> RResult<(), PluginError>;
    /// The last call: flush everything, release resources, within `timeout_ms`.
    #[sabi(last_prefix_field)]
    fn stop(&mut self, outcome: &RunOutcome, timeout_ms: u64) -> RResult<(), PluginError>;
}

/// An output instance owned by the host.
pub type OutputBox = OutputFfi_TO<'static, RBox<()>>;

/// Documentation of one option, shown by `loadrun plugins info`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct OptionDoc {
    /// The camelCase name used in `-o NAME=key=value` and in the plan's `[outputs.NAME]` table.
    pub name: RString,
    /// Environment variables that set it (k6's names included), comma-separated; may be empty.
    pub env: RString,
    /// The default, as text; empty if none.
    pub default: RString,
    pub description: RString,
    /// Never printed (tokens, passwords).
    pub secret: bool,
}

/// One output a plugin provides.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct OutputDescriptor {
    /// The `-o` name.
    pub name: RString,
    /// Other `-o` names accepted for it (k6's, e.g. `experimental-prometheus-rw`).
    pub aliases: RVec<RString>,
    /// One line.
    pub description: RString,
    pub options: RVec<OptionDoc>,
}

/// What a plugin says about itself.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: RString,
    pub version: RString,
    /// The `loadrun-plugin-api` version the plugin was built with.
    pub api_version: RString,
    pub outputs: RVec<OutputDescriptor>,
}

/// The root module every plugin library exports (a prefix type: later minor versions may append
/// fields, which older plugins simply lack).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    pub info: extern "C" fn() -> PluginInfo,
    #[sabi(last_prefix_field)]
    pub new_output: extern "C" fn(init: OutputInit) -> RResult<OutputBox, PluginError>,
    /// Since 1.3: the outputs with their declared options, as JSON
    /// ([`crate::declaration::options_json`]). Absent from older plugins (the accessor returns
    /// `None`): the host then leaves option checking to the plugin, as before.
    #[sabi(missing_field(option))]
    pub declaration: extern "C" fn() -> RString,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "loadrun_output";
    const NAME: &'static str = "loadrun output plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The `loadrun-plugin-api` version this crate is.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod earlier;

/// Checks a plugin library and returns its root module: what a host (the `loadrun` loader, the
/// conformance kit) calls instead of `header.init_root_module::<PluginModuleRef>()`.
///
/// A library built against this major version and an earlier minor whose interface differs
/// (1.0, 1.1: `HostApi` without `stop_time_left_ms`; 1.2: the root module without
/// `declaration`) is checked against that release's
/// interface ([`earlier`]), which abi_stable accepts, then used through today's types: they
/// differ only by vtable methods appended after `last_prefix_field`, which the host builds and
/// the plugin never looks for. Everything else (this or a later minor, another major, a
/// version that does not parse) is `init_root_module`, with its errors.
pub fn init_root_module(
    header: &abi_stable::library::LibHeader,
) -> Result<PluginModuleRef, abi_stable::library::LibraryError> {
    use abi_stable::sabi_types::VersionNumber;
    let built = VersionNumber::new(header.version_strings());
    let this = VersionNumber::new(<PluginModuleRef as RootModule>::VERSION_STRINGS);
    match (built, this) {
        (Ok(built), Ok(this))
            if built.major == this.major && built.major == 1 && built.minor < 2 =>
        {
            header.ensure_layout::<earlier::v1_1::PluginModuleRef>()?;
            // SAFETY: the library's layout was just checked against the 1.1 interface, which
            // is today's but for the `HostApi` vtable's trailing `stop_time_left_ms` and the
            // root module's trailing `declaration`. The host builds that vtable (with the
            // method) and hands it to the plugin, which only reads the fields its own
            // declaration has; the root module's accessor for `declaration` reads the field
            // count the plugin recorded, and answers `None`; the `OutputFfi` vtable the plugin
            // builds has today's fields exactly.
            unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }
        }
        (Ok(built), Ok(this))
            if built.major == this.major && built.major == 1 && built.minor == 2 =>
        {
            header.ensure_layout::<earlier::v1_2::PluginModuleRef>()?;
            // SAFETY: as above; 1.2 differs from today only by the root module's trailing
            // `declaration`, whose accessor answers `None` for a module that lacks it.
            unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }
        }
        _ => header.init_root_module::<PluginModuleRef>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_status_is_read_without_naming_abi_types() {
        let ok = WriteStatus::Ok;
        assert!(ok.is_ok() && !ok.is_retry() && !ok.is_fatal());
        assert_eq!((ok.retry_reason(), ok.retry_delay()), (None, None));

        let later = WriteStatus::retry_after(Duration::from_millis(1500), "429");
        assert!(later.is_retry() && !later.is_ok() && !later.is_fatal());
        assert_eq!(later.retry_reason(), Some("429"));
        assert_eq!(later.retry_delay(), Some(Duration::from_millis(1500)));
        assert_eq!(WriteStatus::retry("503").retry_delay(), None);

        let fatal = WriteStatus::fatal("401");
        assert!(fatal.is_fatal() && fatal.retry_reason().is_none());
        assert_eq!(
            fatal.fatal_error().map(ToString::to_string),
            Some("401".into())
        );
    }
}
