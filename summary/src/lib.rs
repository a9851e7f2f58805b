//! Thresholds, aggregation and the end-of-test summary of a loadrun run, the k6 way.
//!
//! - [`ThresholdSet`] parses k6's `thresholds` option and declares it in the [`Registry`].
//! - [`Aggregator`] is a [`SampleConsumer`] on the collector thread: one bounded accumulator per series.
//! - [`SummaryHandle`] evaluates `abortOnFail` thresholds during the run and builds the
//!   [`Summary`] at the end: k6's compact text ([`Summary::render_text`]) and its legacy
//!   `--summary-export` JSON ([`Summary::export_json`]).
//!
//! [`Registry`]: loadrun_metrics::Registry
//! [`SampleConsumer`]: loadrun_metrics::SampleConsumer

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod accumulator;
mod aggregator;
mod export;
pub mod format;
mod handle;
mod machine;
mod mode;
mod parts;
mod report;
pub mod result;
mod text;
pub mod threshold;

use std::time::Duration;

pub use aggregator::{Aggregator, SummaryHandle};
pub use export::md5_hex;
pub use handle::SummaryState;
pub use machine::{MachineMeta, MACHINE_READABLE_VERSION};
pub use mode::SummaryMode;
pub use report::{
    CheckSummary, GroupSummary, MetricSummary, PartSummary, Summary, ThresholdVerdict,
};
pub use threshold::{ThresholdSet, ThresholdSpec};

/// What can go wrong with thresholds or summary options.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SummaryError {
    #[error("invalid threshold '{expression}' on '{key}': {message}")]
    Threshold {
        key: String,
        expression: String,
        message: String,
    },
    #[error("invalid threshold key '{key}': {message}")]
    MetricKey { key: String, message: String },
    #[error(
        "invalid threshold on '{key}': no metric named '{metric}' is defined in this run \
         (a built-in metric's name, or a custom metric the plan declares, was expected)"
    )]
    UnknownMetric { key: String, metric: String },
    #[error("invalid summary option: {0}")]
    Option(String),
}

/// How the summary is shaped (`--summary-trend-stats`, `--summary-time-unit`, `--no-thresholds`,
/// `--summary-mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryOptions {
    /// Default `avg,min,med,max,p(90),p(95)`; also `count` and any `p(N)`.
    pub trend_stats: Vec<String>,
    /// `s`, `ms` or `us`; `None` picks a unit per value.
    pub time_unit: Option<String>,
    /// Thresholds are neither evaluated nor shown.
    pub no_thresholds: bool,
    /// `full` adds the per-scenario and per-group parts and every timing metric.
    pub mode: SummaryMode,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self {
            trend_stats: ["avg", "min", "med", "max", "p(90)", "p(95)"]
                .map(String::from)
                .to_vec(),
            time_unit: None,
            no_thresholds: false,
            mode: SummaryMode::Compact,
        }
    }
}

impl SummaryOptions {
    /// Checks the trend stats and the time unit (k6 refuses unknown ones before the run).
    pub fn validate(&self) -> Result<(), SummaryError> {
        if self.trend_stats.is_empty() {
            return Err(SummaryError::Option(
                "--summary-trend-stats is empty; expected e.g. 'avg,min,med,max,p(90),p(95)'"
                    .into(),
            ));
        }
        for stat in &self.trend_stats {
            let known = matches!(stat.as_str(), "avg" | "min" | "med" | "max" | "count")
                || matches!(
                    threshold::parse_expression(&format!("{stat}>0")).map(|e| e.aggregation),
                    Ok(threshold::Aggregation::Percentile(_))
                );
            if !known {
                return Err(SummaryError::Option(format!(
                    "unknown trend stat '{stat}'; expected avg, min, med, max, count or p(N) with N from 0 to 100"
                )));
            }
        }
        match self.time_unit.as_deref() {
            None | Some("s") | Some("ms") | Some("us") => Ok(()),
            Some(other) => Err(SummaryError::Option(format!(
                "unknown summary time unit '{other}'; expected s, ms or us"
            ))),
        }
    }
}

/// Facts about the run the summary needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// Test run duration: the time base of counters' per-second rates.
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_validate() {
        assert_eq!(SummaryOptions::default().validate(), Ok(()));
        let o = SummaryOptions {
            trend_stats: vec!["p(99.9)".into(), "count".into()],
            time_unit: Some("us".into()),
            ..Default::default()
        };
        assert_eq!(o.validate(), Ok(()));
        let bad = SummaryOptions {
            trend_stats: vec!["mean".into()],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("'mean'"));
        let bad = SummaryOptions {
            time_unit: Some("m".into()),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("'m'"));
    }
}
