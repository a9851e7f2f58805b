//! The collector-side consumer that keeps one accumulator per series, and the handle that reads it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use loadrun_metrics::{MetricType, Registry, Sample, SampleConsumer, ValueKind};
use parking_lot::Mutex;

use crate::accumulator::Accumulator;
use crate::report::{self, Summary};
use crate::result::ResultState;
use crate::threshold::{MetricKey, ThresholdSet};
use crate::{RunInfo, SummaryOptions};

#[derive(Default)]
pub(crate) struct State {
    /// Indexed by series id; `None` until the series' first sample.
    accumulators: Vec<Option<Accumulator>>,
    /// Series ids in the order of their first sample (k6 lists checks in that order).
    pub(crate) order: Vec<u32>,
    /// Arrival counter, so merged gauges know which value came last.
    seq: u64,
}

struct Shared {
    registry: Arc<Registry>,
    thresholds: ThresholdSet,
    state: Mutex<State>,
}

/// Sees every sample on the collector thread and aggregates it per series.
pub struct Aggregator {
    shared: Arc<Shared>,
}

/// Reads the aggregates from any thread: abort checks during the run, the report at the end.
#[derive(Clone)]
pub struct SummaryHandle {
    shared: Arc<Shared>,
}

impl Aggregator {
    pub fn new(registry: Arc<Registry>, thresholds: ThresholdSet) -> (Aggregator, SummaryHandle) {
        // k6 always summarizes the expected responses' durations, thresholds or not.
        if let Some(duration) = registry.metric_by_name("http_req_duration") {
            registry.add_submetric(duration, &[("expected_response".into(), "true".into())]);
        }
        let shared = Arc::new(Shared {
            registry,
            thresholds,
            state: Mutex::new(State::default()),
        });
        (
            Aggregator {
                shared: shared.clone(),
            },
            SummaryHandle { shared },
        )
    }
}

fn metric_type_of(registry: &Registry, series: u32) -> Option<MetricType> {
    registry.with_defs(|metrics, all_series| {
        let s = all_series.get(series as usize)?;
        metrics.get(s.metric as usize).map(|m| m.metric_type)
    })
}

impl SampleConsumer for Aggregator {
    fn consume(&mut self, registry: &Registry, samples: &[Sample]) {
        let mut state = self.shared.state.lock();
        let state = &mut *state;
        for sample in samples {
            let idx = sample.series as usize;
            if idx >= state.accumulators.len() {
                state.accumulators.resize_with(idx + 1, || None);
            }
            if state.accumulators[idx].is_none() {
                // A sample of a series nobody defined has no type to aggregate by; skip it.
                let Some(t) = metric_type_of(registry, sample.series) else {
                    continue;
                };
                state.accumulators[idx] = Some(Accumulator::new(t));
                state.order.push(sample.series);
            }
            state.seq += 1;
            if let Some(acc) = state.accumulators[idx].as_mut() {
                acc.add_at(sample.value, state.seq, sample.time_ns);
            }
        }
    }
}

/// A metric or submetric with everything its series accumulated.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    /// The parent metric's name, for a submetric.
    pub parent: Option<String>,
    pub metric_type: MetricType,
    pub contains: ValueKind,
    pub accumulator: Accumulator,
    pub observed: bool,
}

/// Checks per (group path, check name), in order of first appearance.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckCounts {
    pub group: String,
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

/// Everything the report is built from.
pub(crate) struct Snapshot {
    pub metrics: BTreeMap<String, Merged>,
    pub checks: Vec<CheckCounts>,
    /// Every non-root group path seen on a sample.
    pub groups: Vec<String>,
}

/// A submetric: its name and the tags a series must carry to belong to it.
type Filter = (String, Vec<(String, String)>);

fn tag<'a>(tags: &'a [loadrun_plugin_api::abi::KeyValue], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str())
}

/// Which series a snapshot adds up, by their tags (a scenario's or a group's part).
pub(crate) type SeriesFilter<'a> = &'a dyn Fn(&[loadrun_plugin_api::abi::KeyValue]) -> bool;

/// Merges the series of every metric (restricted to `only` when given) and of every submetric:
/// those declared in the registry plus `extra` (threshold targets). With `keep`, only the series
/// it accepts count.
pub(crate) fn snapshot(
    state: &State,
    registry: &Registry,
    extra: &[MetricKey],
    only: Option<&HashSet<String>>,
    keep: Option<SeriesFilter>,
) -> Snapshot {
    registry.with_defs(|metrics, series| {
        let mut out: BTreeMap<String, Merged> = BTreeMap::new();
        // Per metric id: (name, tag filter) of each submetric.
        let mut filters: Vec<Vec<Filter>> = vec![Vec::new(); metrics.len()];
        for m in metrics {
            if only.is_some_and(|o| !o.contains(m.name.as_str())) {
                continue;
            }
            let entry = |parent: Option<String>| Merged {
                parent,
                metric_type: m.metric_type,
                contains: m.contains,
                accumulator: Accumulator::new(m.metric_type),
                observed: false,
            };
            out.insert(m.name.to_string(), entry(None));
            let list = &mut filters[m.id as usize];
            for sub in m.submetrics.iter() {
                let tags = sub
                    .tags
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect();
                list.push((sub.name.to_string(), tags));
            }
            for key in extra
                .iter()
                .filter(|k| k.metric == m.name.as_str() && !k.tags.is_empty())
            {
                let name = key.name();
                if !list.iter().any(|(n, _)| *n == name) {
                    list.push((name, key.tags.clone()));
                }
            }
            for (name, _) in list.iter() {
                out.insert(name.clone(), entry(Some(m.name.to_string())));
            }
        }

        let mut checks: Vec<CheckCounts> = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        let mut seen_groups: HashSet<&str> = HashSet::new();
        for &sid in &state.order {
            let (Some(Some(acc)), Some(def)) = (
                state.accumulators.get(sid as usize),
                series.get(sid as usize),
            ) else {
                continue;
            };
            let Some(m) = metrics.get(def.metric as usize) else {
                continue;
            };
            if keep.is_some_and(|k| !k(&def.tags)) {
                continue;
            }
            if let Some(group) = tag(&def.tags, "group")
                .filter(|g| !g.is_empty() && !lifecycle_only(g, m.name.as_str()))
            {
                if seen_groups.insert(group) {
                    groups.push(group.to_string());
                }
            }
            if m.name.as_str() == "checks" {
                if let (Some(name), Accumulator::Rate { trues, total }) =
                    (tag(&def.tags, "check"), acc)
                {
                    let group = tag(&def.tags, "group").unwrap_or("");
                    let pos = checks
                        .iter()
                        .position(|c| c.name == name && c.group == group);
                    let c = match pos {
                        Some(i) => &mut checks[i],
                        None => {
                            checks.push(CheckCounts {
                                group: group.to_string(),
                                name: name.to_string(),
                                ..Default::default()
                            });
                            let last = checks.len() - 1;
                            &mut checks[last]
                        }
                    };
                    c.passes += trues;
                    c.fails += total - trues;
                }
            }
            let Some(merged) = out.get_mut(m.name.as_str()) else {
                continue;
            };
            merged.accumulator.merge(acc);
            merged.observed = true;
            for (name, filter) in &filters[m.id as usize] {
                let matches = filter
                    .iter()
                    .all(|(k, v)| tag(&def.tags, k) == Some(v.as_str()));
                if matches {
                    if let Some(sub) = out.get_mut(name) {
                        sub.accumulator.merge(acc);
                        sub.observed = true;
                    }
                }
            }
        }
        Snapshot {
            metrics: out,
            checks,
            groups,
        }
    })
}

impl SummaryHandle {
    /// Evaluates the `abortOnFail` thresholds whose `delayAbortEval` has passed, on the data so
    /// far (metrics without samples yet are skipped, as k6 does); the reason if one fails.
    pub fn abort_check(&self, elapsed: Duration) -> Option<String> {
        let due: Vec<_> = self
            .shared
            .thresholds
            .entries
            .iter()
            .flat_map(|e| e.thresholds.iter().map(move |t| (e, t)))
            .filter(|(_, t)| t.abort_on_fail && elapsed >= t.delay_abort_eval)
            .collect();
        if due.is_empty() {
            return None;
        }
        let only: HashSet<String> = due.iter().map(|(e, _)| e.target.metric.clone()).collect();
        let targets: Vec<MetricKey> = due.iter().map(|(e, _)| e.target.clone()).collect();
        let snap = {
            let state = self.shared.state.lock();
            snapshot(&state, &self.shared.registry, &targets, Some(&only), None)
        };
        let mut crossed: Vec<String> = Vec::new();
        for (entry, t) in due {
            let name = entry.target.name();
            let Some(m) = snap
                .metrics
                .get(&name)
                .filter(|m| !m.accumulator.is_empty())
            else {
                continue;
            };
            if t.expression.evaluate(&m.accumulator, elapsed) == Some(false)
                && !crossed.contains(&name)
            {
                crossed.push(name);
            }
        }
        if crossed.is_empty() {
            return None;
        }
        Some(format!(
            "thresholds on metrics '{}' were crossed; at least one has abortOnFail enabled, stopping test prematurely",
            crossed.join("', '")
        ))
    }

    /// Everything consumed so far, per metric and threshold submetric, for a result file.
    pub fn result_state(&self) -> ResultState {
        ResultState::from_snapshot(self.snapshot_all())
    }

    /// Every metric and threshold submetric consumed so far.
    fn snapshot_all(&self) -> Snapshot {
        let state = self.shared.state.lock();
        snapshot(
            &state,
            &self.shared.registry,
            &self.threshold_targets(),
            None,
            None,
        )
    }

    fn threshold_targets(&self) -> Vec<MetricKey> {
        self.shared
            .thresholds
            .entries
            .iter()
            .map(|e| e.target.clone())
            .collect()
    }

    /// The end-of-test summary of everything consumed so far.
    pub fn finish_report(&self, opts: &SummaryOptions, run: &RunInfo) -> Summary {
        let snap = self.snapshot_all();
        let thresholds = if opts.no_thresholds {
            None
        } else {
            Some(&self.shared.thresholds)
        };
        let mut summary = report::build(snap, thresholds, opts, run);
        if opts.mode == crate::SummaryMode::Full {
            let state = self.shared.state.lock();
            let parts = crate::parts::Parts::new(&state, &self.shared.registry, opts, run.duration);
            summary.scenarios = parts.scenarios();
            summary.groups = parts.groups();
        }
        summary
    }
}

/// A script's setup and teardown tag their samples `::setup`/`::teardown`; k6's group tree has
/// those groups only when a check or a group ran in them, not for their requests or data.
fn lifecycle_only(group: &str, metric: &str) -> bool {
    matches!(group, "::setup" | "::teardown") && !matches!(metric, "checks" | "group_duration")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_and_teardown_are_groups_only_for_their_checks_and_groups() {
        assert!(lifecycle_only("::setup", "http_reqs"));
        assert!(lifecycle_only("::teardown", "data_sent"));
        assert!(!lifecycle_only("::setup", "checks"));
        assert!(!lifecycle_only("::setup", "group_duration"));
        assert!(!lifecycle_only("::setup::inner", "http_reqs"));
        assert!(!lifecycle_only("::browse", "http_reqs"));
    }

    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    fn assert_consumer<T: SampleConsumer + 'static>() {}

    #[test]
    fn handle_is_shareable_and_aggregator_is_a_consumer() {
        assert_shareable::<SummaryHandle>();
        assert_consumer::<Aggregator>();
    }

    #[test]
    fn samples_of_undefined_series_are_skipped() {
        let registry = Arc::new(Registry::new());
        let m = registry.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let s = registry.series(m, &[("status", "200")], &[]);
        let (mut agg, handle) = Aggregator::new(registry.clone(), ThresholdSet::default());
        agg.consume(
            &registry,
            &[
                Sample::new(s.0, 0, 1.0),
                Sample::new(999, 0, 5.0),
                Sample::new(s.0, 0, 2.0),
            ],
        );
        let summary = handle.finish_report(
            &SummaryOptions::default(),
            &RunInfo {
                duration: Duration::from_secs(1),
            },
        );
        let reqs = summary.metric("http_reqs").map(|m| m.values["count"]);
        assert_eq!(reqs, Some(3.0));
    }
}
