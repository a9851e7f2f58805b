//! The end-of-test summary as data: per-metric values, threshold verdicts, checks and groups.

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_metrics::{MetricType, ValueKind};

use crate::accumulator::Accumulator;
use crate::aggregator::{CheckCounts, Snapshot};
use crate::threshold::{aggregate, parse_expression, Aggregation, ThresholdSet};
use crate::{RunInfo, SummaryOptions};

/// One metric or submetric of the summary.
#[derive(Debug, Clone)]
pub struct MetricSummary {
    /// `metric` or `metric{tag:value}`.
    pub name: String,
    /// The parent metric of a submetric.
    pub parent: Option<String>,
    pub metric_type: MetricType,
    pub contains: ValueKind,
    /// Trends: the chosen stats (ms for time); counters: `count`, `rate`; rates: `rate`,
    /// `passes`, `fails`; gauges: `value`, `min`, `max`.
    pub values: BTreeMap<String, f64>,
    /// Whether any sample reached it.
    pub observed: bool,
}

/// The verdict on one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdVerdict {
    /// The (sub)metric name, as the registry spells it.
    pub metric: String,
    pub source: String,
    pub passed: bool,
    /// The aggregated value it was judged on (`None` when the aggregation did not apply).
    pub value: Option<f64>,
}

/// A check of the root group or of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

/// A group and what is under it (k6's `root_group`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSummary {
    pub name: String,
    /// `""` for the root, `::g1::g2` below it.
    pub path: String,
    pub groups: Vec<GroupSummary>,
    pub checks: Vec<CheckSummary>,
}

/// A scenario's or a group's part of the run (`--summary-mode full`): what its samples alone
/// add up to, as k6 shows it under `█ SCENARIO: name` and `█ GROUP: name`.
#[derive(Debug, Clone)]
pub struct PartSummary {
    pub name: String,
    /// Sorted by name; only metrics with samples in this part.
    pub metrics: Vec<MetricSummary>,
    pub checks: Vec<CheckSummary>,
    /// Nested groups, in order of first appearance.
    pub groups: Vec<PartSummary>,
}

/// The end-of-test summary; render it with [`Summary::render_text`] or [`Summary::export_json`].
#[derive(Debug, Clone)]
pub struct Summary {
    /// Sorted by name; metrics with no sample and no threshold are left out.
    pub metrics: Vec<MetricSummary>,
    pub thresholds: Vec<ThresholdVerdict>,
    /// Checks by name across groups, in order of first appearance (the text summary's list).
    pub checks: Vec<CheckSummary>,
    pub root_group: GroupSummary,
    pub options: SummaryOptions,
    pub duration: Duration,
    /// Full mode: each scenario's part but `default`'s, sorted by name (as k6).
    pub scenarios: Vec<PartSummary>,
    /// Full mode: the top-level groups of the `default` scenario, in order of first appearance.
    pub groups: Vec<PartSummary>,
}

impl Summary {
    /// (metric, source, passed) for each threshold, in plan order.
    pub fn threshold_verdicts(&self) -> Vec<(String, String, bool)> {
        self.thresholds
            .iter()
            .map(|t| (t.metric.clone(), t.source.clone(), t.passed))
            .collect()
    }

    pub fn thresholds_failed(&self) -> bool {
        self.thresholds.iter().any(|t| !t.passed)
    }

    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// A trend statistic by its k6 name (`avg`, `min`, `med`, `max`, `count`, `p(N)`).
pub fn trend_stat(acc: &Accumulator, stat: &str) -> Option<f64> {
    let Accumulator::Trend(t) = acc else {
        return None;
    };
    match stat {
        "count" => Some(t.count as f64),
        "avg" | "min" | "max" | "med" => {
            let e = parse_expression(&format!("{stat}>0")).ok()?;
            aggregate(acc, e.aggregation, Duration::ZERO)
        }
        _ => {
            let e = parse_expression(&format!("{stat}>0")).ok()?;
            match e.aggregation {
                Aggregation::Percentile(_) => aggregate(acc, e.aggregation, Duration::ZERO),
                _ => None,
            }
        }
    }
}

fn values(acc: &Accumulator, opts: &SummaryOptions, duration: Duration) -> BTreeMap<String, f64> {
    let mut v = BTreeMap::new();
    match acc {
        Accumulator::Counter { sum } => {
            v.insert("count".into(), *sum);
            let secs = duration.as_secs_f64();
            v.insert("rate".into(), if secs > 0.0 { sum / secs } else { 0.0 });
        }
        Accumulator::Gauge { last, min, max, .. } => {
            v.insert("value".into(), *last);
            v.insert("min".into(), *min);
            v.insert("max".into(), *max);
        }
        Accumulator::Rate { trues, total } => {
            let rate = if *total == 0 {
                0.0
            } else {
                *trues as f64 / *total as f64
            };
            v.insert("rate".into(), rate);
            v.insert("passes".into(), *trues as f64);
            v.insert("fails".into(), (total - trues) as f64);
        }
        Accumulator::Trend(_) => {
            for stat in &opts.trend_stats {
                if let Some(x) = trend_stat(acc, stat) {
                    v.insert(stat.clone(), x);
                }
            }
        }
    }
    v
}

fn group_tree(groups: &[String], checks: &[CheckCounts]) -> GroupSummary {
    let mut root = GroupSummary::default();
    let mut paths: Vec<&str> = groups.iter().map(String::as_str).collect();
    paths.extend(
        checks
            .iter()
            .map(|c| c.group.as_str())
            .filter(|g| !g.is_empty()),
    );
    for path in paths {
        group_at(&mut root, path);
    }
    for c in checks {
        let g = group_at(&mut root, &c.group);
        match g.checks.iter_mut().find(|x| x.name == c.name) {
            Some(x) => {
                x.passes += c.passes;
                x.fails += c.fails;
            }
            None => g.checks.push(CheckSummary {
                name: c.name.clone(),
                passes: c.passes,
                fails: c.fails,
            }),
        }
    }
    root
}

/// The group at `path` (`::a::b`), created with its ancestors if missing.
fn group_at<'a>(root: &'a mut GroupSummary, path: &str) -> &'a mut GroupSummary {
    let mut node = root;
    let names = path.strip_prefix("::").unwrap_or(path);
    if names.is_empty() {
        return node;
    }
    for name in names.split("::") {
        let child_path = format!("{}::{name}", node.path);
        let pos = match node.groups.iter().position(|g| g.name == name) {
            Some(i) => i,
            None => {
                node.groups.push(GroupSummary {
                    name: name.to_string(),
                    path: child_path,
                    ..Default::default()
                });
                node.groups.len() - 1
            }
        };
        node = &mut node.groups[pos];
    }
    node
}

pub(crate) fn build(
    snap: Snapshot,
    thresholds: Option<&ThresholdSet>,
    opts: &SummaryOptions,
    run: &RunInfo,
) -> Summary {
    let duration = run.duration;
    let mut verdicts = Vec::new();
    for entry in thresholds.map(|t| t.entries.as_slice()).unwrap_or_default() {
        let name = entry.target.name();
        let merged = snap.metrics.get(&name);
        for t in &entry.thresholds {
            // k6 judges empty accumulators at the end too (a trend reads 0, a rate 0).
            let value =
                merged.and_then(|m| aggregate(&m.accumulator, t.expression.aggregation, duration));
            let passed = value.is_some_and(|v| t.expression.operator.holds(v, t.expression.value));
            verdicts.push(ThresholdVerdict {
                metric: name.clone(),
                source: t.source.clone(),
                passed,
                value,
            });
        }
    }

    let metrics = metric_summaries(&snap, opts, duration, |name| {
        verdicts.iter().any(|v| v.metric == name)
    });
    Summary {
        metrics,
        thresholds: verdicts,
        checks: checks_by_name(&snap.checks),
        root_group: group_tree(&snap.groups, &snap.checks),
        options: opts.clone(),
        duration,
        scenarios: Vec::new(),
        groups: Vec::new(),
    }
}

/// The metrics with samples, and those without that `keep` names (threshold targets).
pub(crate) fn metric_summaries(
    snap: &Snapshot,
    opts: &SummaryOptions,
    duration: Duration,
    keep: impl Fn(&str) -> bool,
) -> Vec<MetricSummary> {
    snap.metrics
        .iter()
        .filter(|(name, m)| m.observed || keep(name))
        .map(|(name, m)| MetricSummary {
            name: name.clone(),
            parent: m.parent.clone(),
            metric_type: m.metric_type,
            contains: m.contains,
            values: values(&m.accumulator, opts, duration),
            observed: m.observed,
        })
        .collect()
}

/// Checks by name across groups, in order of first appearance.
pub(crate) fn checks_by_name(counts: &[CheckCounts]) -> Vec<CheckSummary> {
    let mut checks: Vec<CheckSummary> = Vec::new();
    for c in counts {
        match checks.iter_mut().find(|x| x.name == c.name) {
            Some(x) => {
                x.passes += c.passes;
                x.fails += c.fails;
            }
            None => checks.push(CheckSummary {
                name: c.name.clone(),
                passes: c.passes,
                fails: c.fails,
            }),
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_nest_by_path() {
        let checks = vec![
            CheckCounts {
                group: "::a::b".into(),
                name: "ok".into(),
                passes: 2,
                fails: 1,
            },
            CheckCounts {
                group: String::new(),
                name: "root".into(),
                passes: 1,
                fails: 0,
            },
        ];
        let root = group_tree(&["::a".into(), "::c".into()], &checks);
        assert_eq!(root.groups.len(), 2);
        assert_eq!(root.groups[0].path, "::a");
        assert_eq!(root.groups[0].groups[0].path, "::a::b");
        assert_eq!(root.groups[0].groups[0].checks[0].fails, 1);
        assert_eq!(root.checks[0].name, "root");
    }

    #[test]
    fn trend_stats_by_name() {
        let mut s = Accumulator::new(MetricType::Trend);
        for v in [1.0, 2.0, 3.0] {
            s.add(v, 0);
        }
        assert_eq!(trend_stat(&s, "count"), Some(3.0));
        assert_eq!(trend_stat(&s, "med"), Some(2.0));
        assert_eq!(trend_stat(&s, "p(100)"), Some(3.0));
        assert_eq!(trend_stat(&s, "rate"), None);
    }
}
