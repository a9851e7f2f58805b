//! The result file of one instance (`loadrun run --result FILE`) and the exact merge of several
//! (`loadrun merge`).
//!
//! A file holds the summary's own accumulator state, not its rendered numbers: counters and
//! rates add, gauges keep the latest value by time and the extremes, trends keep their raw
//! values or their sketch buckets, whose counts add. So a merged percentile is the one a single
//! process recording every sample would report: exactly while the merged trend holds at most
//! [`EXACT_CAP`] values, otherwise within [`relative_accuracy`] of the true value (the sketch's
//! base-2 bucket boundaries nest, so merging buckets loses nothing a single sketch would keep).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use loadrun_metrics::{MetricType, ValueKind};
use serde::{Deserialize, Serialize};

use crate::accumulator::{relative_accuracy, Accumulator, EXACT_CAP};
use crate::aggregator::{CheckCounts, Merged, Snapshot};
use crate::report::{self, Summary};
use crate::threshold::ThresholdSet;
use crate::{RunInfo, SummaryOptions};

/// The version this build writes and the only one it reads.
pub const FORMAT: &str = "loadrun-result/2";

/// Why a result file cannot be read; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("{path}: cannot read: {message}")]
    Read { path: String, message: String },
    #[error("{path}: not a loadrun result file (corrupted or truncated?): {message}")]
    Corrupted { path: String, message: String },
    #[error("{path}: result format '{found}' is not the one this loadrun reads ('{FORMAT}')")]
    Version { path: String, found: String },
}

/// The sketch the trends were recorded with: files of another sketch do not add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SketchParams {
    pub relative_accuracy: f64,
    pub exact_cap: usize,
}

impl SketchParams {
    pub fn current() -> Self {
        Self {
            relative_accuracy: relative_accuracy(),
            exact_cap: EXACT_CAP,
        }
    }
}

/// A metric or threshold submetric with everything the instance accumulated for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// `counter`, `gauge`, `rate` or `trend`.
    #[serde(rename = "type")]
    pub metric_type: String,
    /// `default`, `time` or `data`.
    pub contains: String,
    pub observed: bool,
    pub state: Accumulator,
}

/// Passes and fails of one check in one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckState {
    pub group: String,
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

/// The mergeable part of a summary: metrics, checks and groups.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultState {
    pub metrics: BTreeMap<String, MetricState>,
    /// In order of first appearance, as the summary lists them.
    pub checks: Vec<CheckState>,
    pub groups: Vec<String>,
}

/// Gauges that count something each instance has its own share of: the test's value is the
/// instances' sum. Their maxima add exactly when the instances peak together, as instances of
/// one schedule started at one `--start-at` do; otherwise the sum is an upper bound.
const INSTANCE_COUNTS: [&str; 2] = ["vus", "vus_max"];

fn add_gauges(mine: &mut Accumulator, other: &Accumulator) {
    if let (
        Accumulator::Gauge {
            last,
            min,
            max,
            seen,
            ..
        },
        Accumulator::Gauge {
            last: ol,
            min: omin,
            max: omax,
            seen: oseen,
            ..
        },
    ) = (mine, other)
    {
        if *oseen {
            *last += ol;
            *min += omin;
            *max += omax;
            *seen = true;
        }
    }
}

fn metric_type_from(s: &str) -> Option<MetricType> {
    [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Rate,
        MetricType::Trend,
    ]
    .into_iter()
    .find(|t| t.as_str() == s)
}

fn value_kind_from(s: &str) -> Option<ValueKind> {
    [ValueKind::Default, ValueKind::Time, ValueKind::Data]
        .into_iter()
        .find(|k| k.as_str() == s)
}

fn same_type(t: MetricType, acc: &Accumulator) -> bool {
    matches!(
        (t, acc),
        (MetricType::Counter, Accumulator::Counter { .. })
            | (MetricType::Gauge, Accumulator::Gauge { .. })
            | (MetricType::Rate, Accumulator::Rate { .. })
            | (MetricType::Trend, Accumulator::Trend(_))
    )
}

impl ResultState {
    pub(crate) fn from_snapshot(snap: Snapshot) -> Self {
        Self {
            metrics: snap
                .metrics
                .into_iter()
                .map(|(name, m)| {
                    (
                        name,
                        MetricState {
                            parent: m.parent,
                            metric_type: m.metric_type.as_str().into(),
                            contains: m.contains.as_str().into(),
                            observed: m.observed,
                            state: m.accumulator,
                        },
                    )
                })
                .collect(),
            checks: snap
                .checks
                .into_iter()
                .map(|c| CheckState {
                    group: c.group,
                    name: c.name,
                    passes: c.passes,
                    fails: c.fails,
                })
                .collect(),
            groups: snap.groups,
        }
    }

    /// What is inconsistent in a state read from a file, naming the metric.
    fn check(&self) -> Result<(), String> {
        for (name, m) in &self.metrics {
            let t = metric_type_from(&m.metric_type)
                .ok_or_else(|| format!("metric '{name}': unknown type '{}'", m.metric_type))?;
            if value_kind_from(&m.contains).is_none() {
                return Err(format!(
                    "metric '{name}': unknown contains '{}'",
                    m.contains
                ));
            }
            if !same_type(t, &m.state) {
                return Err(format!(
                    "metric '{name}': a {} with another type's state",
                    m.metric_type
                ));
            }
            m.state
                .check()
                .map_err(|e| format!("metric '{name}': {e}"))?;
        }
        Ok(())
    }

    /// Folds another instance's state into this one. A metric both hold with different types
    /// is an error naming it (the files come from different plans or builds).
    pub fn merge(&mut self, other: &ResultState) -> Result<(), String> {
        for (name, m) in &other.metrics {
            let mut incoming = m.state.clone();
            incoming.order_by_time();
            match self.metrics.get_mut(name) {
                Some(mine) => {
                    if mine.metric_type != m.metric_type {
                        return Err(format!(
                            "metric '{name}' is a {} in one file and a {} in another",
                            mine.metric_type, m.metric_type
                        ));
                    }
                    let metric = m.parent.as_deref().unwrap_or(name);
                    if INSTANCE_COUNTS.contains(&metric) {
                        add_gauges(&mut mine.state, &incoming);
                    } else {
                        mine.state.order_by_time();
                        mine.state.merge(&incoming);
                    }
                    mine.observed |= m.observed;
                }
                None => {
                    let mut m = m.clone();
                    m.state = incoming;
                    self.metrics.insert(name.clone(), m);
                }
            }
        }
        for c in &other.checks {
            match self
                .checks
                .iter_mut()
                .find(|x| x.group == c.group && x.name == c.name)
            {
                Some(x) => {
                    x.passes = x.passes.saturating_add(c.passes);
                    x.fails = x.fails.saturating_add(c.fails);
                }
                None => self.checks.push(c.clone()),
            }
        }
        for g in &other.groups {
            if !self.groups.contains(g) {
                self.groups.push(g.clone());
            }
        }
        Ok(())
    }

    /// The end-of-test summary of this state, thresholds judged on it.
    pub fn report(
        self,
        thresholds: Option<&ThresholdSet>,
        opts: &SummaryOptions,
        run: &RunInfo,
    ) -> Summary {
        let metrics = self
            .metrics
            .into_iter()
            .filter_map(|(name, m)| {
                // `check` ran on every file read; a state built in this process is well typed.
                let metric_type = metric_type_from(&m.metric_type)?;
                let contains = value_kind_from(&m.contains)?;
                Some((
                    name,
                    Merged {
                        parent: m.parent,
                        metric_type,
                        contains,
                        accumulator: m.state,
                        observed: m.observed,
                    },
                ))
            })
            .collect();
        let checks = self
            .checks
            .into_iter()
            .map(|c| CheckCounts {
                group: c.group,
                name: c.name,
                passes: c.passes,
                fails: c.fails,
            })
            .collect();
        report::build(
            Snapshot {
                metrics,
                checks,
                groups: self.groups,
            },
            thresholds,
            opts,
            run,
        )
    }
}

/// How the instance's summary was shaped, so a merge shows the same stats by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryShape {
    pub trend_stats: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<String>,
}

/// One instance's result file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultFile {
    /// [`FORMAT`].
    pub format: String,
    /// Identifies the plan whatever segment the instance ran (see the host's `plan_hash`).
    pub plan_hash: String,
    /// Where the plan came from, for messages.
    pub plan: String,
    /// The instance's execution segment, `from:to` as exact fractions (`1/3:2/3`).
    pub segment: String,
    /// The sequence the segment belongs to, exact fractions (`["0", "1/3", "2/3", "1"]`);
    /// empty when none was given.
    pub sequence: Vec<String>,
    /// When the schedule started and ended (unix ns).
    pub start_unix_ns: i64,
    pub end_unix_ns: i64,
    /// How the instance's run ended (`completed`, `interrupted`, `threshold_abort`, ...): a
    /// share cut short makes the merged totals short too.
    pub end_reason: String,
    pub sketch: SketchParams,
    /// The plan's thresholds as declared (`{metric: ["p(95)<500", {threshold, abortOnFail}]}`).
    pub thresholds: BTreeMap<String, Vec<serde_json::Value>>,
    pub summary: SummaryShape,
    pub data: ResultState,
}

impl ResultFile {
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Reads and checks one file: its version first, then its shape, then that its state is
    /// one a run could have written.
    pub fn read(path: &Path) -> Result<ResultFile, ResultError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ResultError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&shown, &text)
    }

    /// [`ResultFile::read`] on text already read; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<ResultFile, ResultError> {
        let corrupted = |message: String| ResultError::Corrupted {
            path: path.to_string(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| corrupted(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(ResultError::Version {
                    path: path.to_string(),
                    found: other.to_string(),
                })
            }
            None => return Err(corrupted("no \"format\" field".into())),
        }
        let file: ResultFile =
            serde_json::from_value(value).map_err(|e| corrupted(e.to_string()))?;
        if file.sketch != SketchParams::current() {
            return Err(corrupted(format!(
                "its trends were sketched with relative accuracy {} and {} raw values, this loadrun uses {} and {}",
                file.sketch.relative_accuracy,
                file.sketch.exact_cap,
                relative_accuracy(),
                EXACT_CAP
            )));
        }
        if file.end_unix_ns < file.start_unix_ns {
            return Err(corrupted("it ends before it starts".into()));
        }
        file.data.check().map_err(corrupted)?;
        Ok(file)
    }

    /// The run's length.
    pub fn duration(&self) -> Duration {
        span(self.start_unix_ns, self.end_unix_ns)
    }
}

/// The time from `start` to `end` (unix ns), zero when reversed.
pub fn span(start: i64, end: i64) -> Duration {
    Duration::from_nanos(u64::try_from(end.saturating_sub(start)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(values: &[f64], counter: f64) -> ResultState {
        let mut trend = Accumulator::new(MetricType::Trend);
        for v in values {
            trend.add(*v, 0);
        }
        let mut metrics = BTreeMap::new();
        metrics.insert(
            "http_req_duration".to_string(),
            MetricState {
                parent: None,
                metric_type: "trend".into(),
                contains: "time".into(),
                observed: true,
                state: trend,
            },
        );
        metrics.insert(
            "http_reqs".to_string(),
            MetricState {
                parent: None,
                metric_type: "counter".into(),
                contains: "default".into(),
                observed: true,
                state: Accumulator::Counter { sum: counter },
            },
        );
        ResultState {
            metrics,
            checks: vec![CheckState {
                group: String::new(),
                name: "ok".into(),
                passes: counter as u64,
                fails: 1,
            }],
            groups: Vec::new(),
        }
    }

    fn file(data: ResultState) -> ResultFile {
        ResultFile {
            format: FORMAT.into(),
            plan_hash: "h".into(),
            plan: "p.toml".into(),
            segment: "0:1".into(),
            sequence: Vec::new(),
            start_unix_ns: 1_000,
            end_unix_ns: 2_000_001_000,
            end_reason: "completed".into(),
            sketch: SketchParams::current(),
            thresholds: BTreeMap::new(),
            summary: SummaryShape {
                trend_stats: vec!["p(95)".into()],
                time_unit: None,
            },
            data,
        }
    }

    /// A deterministic long-tailed spread, `n` values.
    fn spread(n: u32, seed: f64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = (x * 3.9 * (1.0 - x)).clamp(1e-6, 1.0 - 1e-6);
                0.1 * (1.0 + f64::from(i % 5)) * (x * 9.0).exp()
            })
            .collect()
    }

    fn p(summary: &Summary, stat: &str) -> f64 {
        summary
            .metric("http_req_duration")
            .and_then(|m| m.values.get(stat).copied())
            .unwrap_or(f64::NAN)
    }

    #[test]
    fn merged_files_report_what_one_process_would() {
        let parts = [spread(3000, 0.31), spread(500, 0.52), spread(9000, 0.73)];
        let mut one = state_with(&parts.concat(), 12500.0);
        let opts = SummaryOptions {
            trend_stats: ["min", "med", "max", "p(90)", "p(95)", "p(99)", "count"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        };
        let mut merged = ResultState::default();
        for (i, part) in parts.iter().enumerate() {
            // Through the file format, as `loadrun merge` reads them.
            let text = file(state_with(part, [3000.0, 500.0, 9000.0][i]))
                .to_json()
                .unwrap();
            let back = ResultFile::parse("f.json", &text).unwrap();
            merged.merge(&back.data).unwrap();
        }
        one.checks[0].fails = 3;
        let run = RunInfo {
            duration: Duration::from_secs(10),
        };
        let single = one.report(None, &opts, &run);
        let whole = merged.report(None, &opts, &run);
        assert_eq!(whole.metric("http_reqs").unwrap().values["count"], 12500.0);
        assert_eq!(whole.metric("http_reqs").unwrap().values["rate"], 1250.0);
        assert_eq!(p(&whole, "count"), 12500.0);
        assert_eq!(whole.checks, single.checks);
        assert_eq!(p(&whole, "min"), p(&single, "min"));
        assert_eq!(p(&whole, "max"), p(&single, "max"));
        let mut all = parts.concat();
        all.sort_by(f64::total_cmp);
        for stat in ["med", "p(90)", "p(95)", "p(99)"] {
            // Same buckets, same counts: the merge reads exactly what one sketch reads.
            assert_eq!(p(&whole, stat), p(&single, stat), "{stat}");
            let q = match stat {
                "med" => 0.5,
                s => s[2..s.len() - 1].parse::<f64>().unwrap() / 100.0,
            };
            let i = q * (all.len() - 1) as f64;
            let truth = all[i.floor() as usize]
                + (all[i.ceil() as usize] - all[i.floor() as usize]) * (i - i.floor());
            let err = ((p(&whole, stat) - truth) / truth).abs();
            // The documented bound, with nothing to spare for the merge.
            assert!(err <= relative_accuracy(), "{stat}: {err}");
        }
    }

    #[test]
    fn small_merges_stay_exact() {
        let mut merged = ResultState::default();
        merged
            .merge(&state_with(&[1.0, 2.0, 3.0, 4.0], 4.0))
            .unwrap();
        merged
            .merge(&state_with(&[5.0, 6.0, 7.0, 8.0], 4.0))
            .unwrap();
        let opts = SummaryOptions {
            trend_stats: vec!["p(95)".into()],
            ..Default::default()
        };
        let s = merged.report(None, &opts, &RunInfo::default());
        assert!((p(&s, "p(95)") - 7.65).abs() < 1e-12);
    }

    #[test]
    fn gauges_keep_the_latest_value_across_files() {
        let gauge = |v: f64, t: i64| {
            let mut g = Accumulator::new(MetricType::Gauge);
            // Arrival numbers are per process: the later file has the smaller one here.
            g.add_at(v, 1_000_000 - t as u64, t);
            let mut s = ResultState::default();
            s.metrics.insert(
                "queue_depth".into(),
                MetricState {
                    parent: None,
                    metric_type: "gauge".into(),
                    contains: "default".into(),
                    observed: true,
                    state: g,
                },
            );
            s
        };
        let mut m = gauge(3.0, 100);
        m.merge(&gauge(9.0, 50)).unwrap();
        m.merge(&gauge(4.0, 300)).unwrap();
        let s = m.report(None, &SummaryOptions::default(), &RunInfo::default());
        let v = &s.metric("queue_depth").unwrap().values;
        assert_eq!((v["value"], v["min"], v["max"]), (4.0, 3.0, 9.0));
    }

    #[test]
    fn instance_counts_add_up() {
        let vus = |max: f64| {
            let mut g = Accumulator::new(MetricType::Gauge);
            g.add_at(1.0, 1, 10);
            g.add_at(max, 2, 20);
            g.add_at(0.0, 3, 30);
            let mut s = ResultState::default();
            s.metrics.insert(
                "vus_max".into(),
                MetricState {
                    parent: None,
                    metric_type: "gauge".into(),
                    contains: "default".into(),
                    observed: true,
                    state: g,
                },
            );
            s
        };
        let mut m = ResultState::default();
        for max in [4.0, 3.0, 3.0] {
            m.merge(&vus(max)).unwrap();
        }
        let s = m.report(None, &SummaryOptions::default(), &RunInfo::default());
        let v = &s.metric("vus_max").unwrap().values;
        assert_eq!((v["value"], v["min"], v["max"]), (0.0, 0.0, 10.0));
    }

    #[test]
    fn unknown_versions_and_corruption_are_named() {
        let good = file(state_with(&[1.0], 1.0)).to_json().unwrap();
        let e = ResultFile::parse("a.json", &good.replace(FORMAT, "loadrun-result/9"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.json") && e.contains("loadrun-result/9"),
            "{e}"
        );
        let e = ResultFile::parse("b.json", &good[..good.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.json: not a loadrun result file"), "{e}");
        let e = ResultFile::parse("c.json", &good.replace("\"count\": 1", "\"count\": 7"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("http_req_duration") && e.contains("count 7"),
            "{e}"
        );
        let e = ResultFile::parse("d.json", "{}").unwrap_err().to_string();
        assert!(e.contains("no \"format\""), "{e}");
        assert!(ResultFile::parse("e.json", &good).is_ok());
    }

    #[test]
    fn metrics_of_different_types_do_not_merge() {
        let mut a = state_with(&[1.0], 1.0);
        let mut b = state_with(&[1.0], 1.0);
        if let Some(m) = b.metrics.get_mut("http_reqs") {
            m.metric_type = "rate".into();
            m.state = Accumulator::Rate { trues: 1, total: 1 };
        }
        let e = a.merge(&b).unwrap_err();
        assert!(e.contains("http_reqs"), "{e}");
    }
}
