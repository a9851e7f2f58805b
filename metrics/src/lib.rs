//! Metric samples from the load engine to their consumers (summary, thresholds, outputs).
//!
//! - [`Registry`] interns metrics and series, so a sample is three numbers.
//! - [`LocalBuffer`] is what a VU writes samples into: no lock per sample; full buffers go to the
//!   collector as one message.
//! - [`Collector`] is one thread that hands every chunk of samples to each [`SampleConsumer`] in
//!   turn, and ticks them periodically.

mod collector;
mod registry;

pub use collector::{Collector, CollectorHandle, LocalBuffer, SampleConsumer, SampleSender};
pub use loadrun_plugin_api::{MetricType, Sample, ValueKind};
pub use registry::{MetricId, Registry, SeriesId, Snapshot};

/// Unix time now, in nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}
