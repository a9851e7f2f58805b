//! Test helpers for plugin authors (feature `testkit`): build an [`OutputInit`], batches of
//! definitions and samples, and a host that records what the plugin logs and counts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{ROption, RSlice, RString};

use crate::abi::{
    Batch, EndReason, HostApi, HostApi_TO, KeyValue, LogLevel, MetricDef, MetricType, OutputInit,
    RunOutcome, Sample, SeriesDef, SubmetricDef, TestMeta, ValueKind,
};
use crate::sdk::{Host, Output, Plugin};

/// Test metadata with fixed, plausible values.
pub fn test_meta() -> TestMeta {
    TestMeta {
        test_id: "test-run-1".into(),
        plan_name: "testkit".into(),
        start_unix_ns: 1_795_608_192_000_000_000,
        planned_duration_ms: abi_stable::std_types::RSome(10_000),
        max_vus: 1,
        thresholds: Default::default(),
        tags: Default::default(),
        extra: "{}".into(),
    }
}

/// An [`OutputInit`] as the host would build it.
pub fn init(
    output_name: &str,
    arg: Option<&str>,
    config_json: &str,
    env: &[(&str, &str)],
) -> OutputInit {
    OutputInit {
        output_name: output_name.into(),
        arg: arg.map(RString::from).into(),
        config_json: if config_json.is_empty() {
            "{}"
        } else {
            config_json
        }
        .into(),
        env: env.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect(),
        test: test_meta(),
        extra: "{}".into(),
    }
}

/// The outcome of a passed run that completed after one second, with no thresholds.
pub fn completed_outcome() -> RunOutcome {
    RunOutcome {
        passed: true,
        reason: EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 1000,
        extra: "{}".into(),
    }
}

/// The wall clock as Unix nanoseconds, for sample times a backend accepts as recent.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Builds `P`'s output from `init` and starts it with a [`recording_host`]; panics on an error.
pub fn started<P: Plugin>(init: OutputInit) -> (Box<dyn Output>, Arc<Recorded>) {
    let mut output = match P::new_output(init) {
        Ok(o) => o,
        Err(e) => panic!("new_output: {e}"),
    };
    let (host, recorded) = recording_host();
    if let Err(e) = output.start(host) {
        panic!("start: {e}");
    }
    (output, recorded)
}

/// Builds definitions and samples; [`BatchBuilder::batch`] borrows them as a [`Batch`].
#[derive(Default, Clone)]
pub struct BatchBuilder {
    pub metrics: Vec<MetricDef>,
    pub series: Vec<SeriesDef>,
    pub samples: Vec<Sample>,
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines a metric; returns its id.
    pub fn metric(&mut self, name: &str, metric_type: MetricType, contains: ValueKind) -> u32 {
        let id = self.metrics.len() as u32;
        self.metrics.push(MetricDef {
            id,
            name: name.into(),
            metric_type,
            contains,
            thresholds: Default::default(),
            submetrics: Default::default(),
        });
        id
    }

    /// Adds a threshold source to a metric.
    pub fn threshold(&mut self, metric: u32, source: &str) {
        if let Some(m) = self.metrics.get_mut(metric as usize) {
            m.thresholds.push(source.into());
        }
    }

    /// Adds a submetric to a metric.
    pub fn submetric(&mut self, metric: u32, tags: &[(&str, &str)]) {
        if let Some(m) = self.metrics.get_mut(metric as usize) {
            let suffix = tags
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(",");
            m.submetrics.push(SubmetricDef {
                name: format!("{}{{{}}}", m.name, suffix).into(),
                suffix: suffix.into(),
                tags: tags.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect(),
            });
        }
    }

    /// Defines a series (tags and metadata are sorted here); returns its id.
    pub fn series(&mut self, metric: u32, tags: &[(&str, &str)], metadata: &[(&str, &str)]) -> u32 {
        let id = self.series.len() as u32;
        let mut t: Vec<KeyValue> = tags.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
        t.sort();
        let mut m: Vec<KeyValue> = metadata
            .iter()
            .map(|(k, v)| KeyValue::new(*k, *v))
            .collect();
        m.sort();
        self.series.push(SeriesDef {
            id,
            metric,
            tags: t.into(),
            metadata: m.into(),
        });
        id
    }

    /// Adds a sample.
    pub fn sample(&mut self, series: u32, time_ns: i64, value: f64) -> &mut Self {
        self.samples.push(Sample::new(series, time_ns, value));
        self
    }

    /// Everything as one batch.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            metrics: RSlice::from_slice(&self.metrics),
            series: RSlice::from_slice(&self.series),
            samples: RSlice::from_slice(&self.samples),
        }
    }

    /// Drops the samples, keeping definitions (which later batches then omit: use
    /// [`BatchBuilder::samples_only`]).
    pub fn clear_samples(&mut self) {
        self.samples.clear();
    }

    /// The samples alone, with no definitions (as a later batch would come).
    pub fn samples_only(&self) -> Batch<'_> {
        Batch {
            metrics: RSlice::from_slice(&[]),
            series: RSlice::from_slice(&[]),
            samples: RSlice::from_slice(&self.samples),
        }
    }
}

/// What a [`RecordingHost`] saw, and the stop deadline it tells the output.
#[derive(Debug, Default)]
pub struct Recorded {
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    pub counters: Mutex<BTreeMap<String, u64>>,
    pub aborts: Mutex<Vec<String>>,
    /// When the host gives up on the output, once stopping has begun ([`Recorded::begin_stop`]).
    pub stop_deadline: Mutex<Option<Instant>>,
}

impl Recorded {
    /// Stopping begins, as the host's does: from now on the output's
    /// [`Host::stop_time_left`] counts down from `timeout`. May be called from any thread, e.g.
    /// while the output is blocked in `write`.
    pub fn begin_stop(&self, timeout: Duration) {
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or(now + Duration::from_secs(86_400));
        if let Ok(mut d) = self.stop_deadline.lock() {
            *d = Some(deadline);
        }
    }

    /// What the output is told: `None` until [`Recorded::begin_stop`], then the time left.
    pub fn stop_time_left(&self) -> Option<Duration> {
        let deadline = (*self.stop_deadline.lock().ok()?)?;
        Some(deadline.saturating_duration_since(Instant::now()))
    }

    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .ok()
            .and_then(|c| c.get(name).copied())
            .unwrap_or(0)
    }
}

/// A host that records logs, counters and abort requests (abort is allowed), and tells the
/// output the stop deadline set with [`Recorded::begin_stop`].
pub struct RecordingHost {
    recorded: Arc<Recorded>,
}

impl HostApi for RecordingHost {
    fn log(&self, level: LogLevel, message: RString) {
        if let Ok(mut l) = self.recorded.logs.lock() {
            l.push((level, message.into_string()));
        }
    }

    fn add_counter(&self, name: RString, delta: u64) {
        if let Ok(mut c) = self.recorded.counters.lock() {
            *c.entry(name.into_string()).or_insert(0) += delta;
        }
    }

    fn request_abort(&self, reason: RString) -> bool {
        if let Ok(mut a) = self.recorded.aborts.lock() {
            a.push(reason.into_string());
        }
        true
    }

    fn stop_time_left_ms(&self) -> ROption<u64> {
        self.recorded
            .stop_time_left()
            .map(|left| u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
            .into()
    }
}

/// A [`Host`] for an output under test, and what it records.
pub fn recording_host() -> (Host, Arc<Recorded>) {
    let recorded = Arc::new(Recorded::default());
    let host = Host::new(HostApi_TO::from_value(
        RecordingHost {
            recorded: recorded.clone(),
        },
        TD_Opaque,
    ));
    (host, recorded)
}

pub mod throughput;

mod conformance;
pub use conformance::{
    Check, Conformance, ConformanceReport, STOP_DEADLINE_LEAD, STOP_DEADLINE_TIMEOUT,
};

/// A [`Host`] (e.g. [`recording_host`]'s) as the ABI's host box, for driving an output
/// built by a plugin file through its `OutputBox`, as the conformance kit does.
pub fn host_box(host: crate::sdk::Host) -> crate::abi::HostBox {
    // The testkit's recording host is shared through an Arc; the ABI wants its own box.
    struct Forward(crate::sdk::Host);
    impl crate::abi::HostApi for Forward {
        fn log(&self, level: crate::abi::LogLevel, message: abi_stable::std_types::RString) {
            self.0.log(level, message.into_string());
        }
        fn add_counter(&self, name: abi_stable::std_types::RString, delta: u64) {
            self.0.add_counter(name.as_str(), delta);
        }
        fn request_abort(&self, reason: abi_stable::std_types::RString) -> bool {
            self.0.request_abort(reason.into_string())
        }
        fn stop_time_left_ms(&self) -> abi_stable::std_types::ROption<u64> {
            self.0
                .stop_time_left()
                .map(|left| u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
                .into()
        }
    }
    crate::abi::HostApi_TO::from_value(Forward(host), abi_stable::sabi_trait::TD_Opaque)
}
