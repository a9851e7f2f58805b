//! Per-period and cumulative values of every metric, per-tag groups of the request metrics with
//! top-N + "other", and threshold values: the `snapshot`, `cumulative` and `threshold` events.
//!
//! Samples go into per-period accumulators only (the summary's own, so percentiles agree with it);
//! at each period's end those are merged into the cumulative ones and reset, so a sample costs one
//! `add` per place it counts in, not two.

use std::collections::HashMap;
use std::time::Duration;

use loadrun_plugin_api::abi::SeriesDef;
use loadrun_plugin_api::{Batch, MetricType, Sample, TestMeta, ValueKind};
use loadrun_summary::accumulator::Accumulator;
use loadrun_summary::threshold::{
    aggregate, parse_expression, parse_metric_key, Aggregation, Expression,
};

use crate::trend::Trend;
use serde_json::{json, Map, Value};

/// The metrics grouped by tag: the request-level ones, and those a scenario or group tag applies to.
pub const GROUPED: [&str; 5] = [
    "http_reqs",
    "http_req_failed",
    "http_req_duration",
    "checks",
    "iterations",
];

/// Distinct values tracked per grouping tag; later new values are counted in "other" at once.
/// Bounds memory at any number of series (a `name` per URL, 10,000 of them) while the values that
/// matter, which appear early in a load test, keep their own series.
pub const MAX_TRACKED_KEYS: usize = 1000;

/// The key of the group holding every value outside the top N.
pub const OTHER: &str = "other";

/// What one metric (or group cell) holds: the summary's accumulators for counters, rates and
/// gauges, the dashboard's own [`Trend`] for trends (the hot path: most samples are trends).
#[derive(Debug, Clone)]
pub enum Acc {
    Plain(Accumulator),
    Trend(Trend),
}

impl Acc {
    pub fn new(t: MetricType) -> Self {
        match t {
            MetricType::Trend => Acc::Trend(Trend::default()),
            other => Acc::Plain(Accumulator::new(other)),
        }
    }

    fn add_at(&mut self, v: f64, seq: u64, time_ns: i64) {
        match self {
            Acc::Trend(t) => t.add(v),
            Acc::Plain(a) => a.add_at(v, seq, time_ns),
        }
    }

    fn merge(&mut self, other: &Acc) {
        match (self, other) {
            (Acc::Trend(a), Acc::Trend(b)) => a.merge(b),
            (Acc::Plain(a), Acc::Plain(b)) => a.merge(b),
            _ => {}
        }
    }

    /// A threshold's aggregation of it (`elapsed`: a counter rate's time base).
    fn aggregate(&self, agg: Aggregation, elapsed: Duration) -> Option<f64> {
        match (self, agg) {
            (Acc::Plain(a), _) => aggregate(a, agg, elapsed),
            (Acc::Trend(t), Aggregation::Avg) => Some(t.avg()),
            (Acc::Trend(t), Aggregation::Min) => Some(if t.count == 0 { 0.0 } else { t.min }),
            (Acc::Trend(t), Aggregation::Max) => Some(if t.count == 0 { 0.0 } else { t.max }),
            (Acc::Trend(t), Aggregation::Med) => Some(t.percentile(0.5)),
            (Acc::Trend(t), Aggregation::Percentile(p)) => Some(t.percentile(p / 100.0)),
            (Acc::Trend(_), _) => None,
        }
    }
}

struct MetricSlot {
    name: String,
    metric_type: MetricType,
    contains: ValueKind,
    period: Acc,
    period_samples: u64,
    cumulative: Acc,
    cumulative_samples: u64,
    announced: bool,
}

impl MetricSlot {
    fn new(name: String, metric_type: MetricType, contains: ValueKind) -> Self {
        Self {
            name,
            metric_type,
            contains,
            period: Acc::new(metric_type),
            period_samples: 0,
            cumulative: Acc::new(metric_type),
            cumulative_samples: 0,
            announced: false,
        }
    }
}

/// A metric's definition, as far as the aggregation needs it. Series definitions are not kept
/// (their tags are read once, when the series is defined): at 10,000 URLs a run defines over
/// 100,000 series.
struct MetricDefinition {
    name: String,
    metric_type: MetricType,
    contains: ValueKind,
    /// Name and tag filter of each submetric.
    submetrics: Vec<(String, Vec<(String, String)>)>,
}

/// Where one series' samples count, resolved once when the series is defined.
#[derive(Clone)]
struct SeriesSlot {
    metric: usize,
    submetrics: Box<[usize]>,
    /// Index in [`GROUPED`], when the metric is grouped.
    grouped: Option<usize>,
    /// Per grouping tag: the entry this series counts in (`None`: the series lacks the tag).
    groups: Box<[Option<usize>]>,
}

/// A tag's value in a series definition.
fn tag<'a>(series: &'a SeriesDef, key: &str) -> Option<&'a str> {
    series
        .tags
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str())
}

#[derive(Default)]
struct Cell {
    acc: Option<Acc>,
    samples: u64,
}

impl Cell {
    fn add(&mut self, t: MetricType, v: f64, seq: u64, time_ns: i64) {
        self.acc
            .get_or_insert_with(|| Acc::new(t))
            .add_at(v, seq, time_ns);
        self.samples += 1;
    }

    fn merge_from(&mut self, other: &Cell) {
        let Some(o) = &other.acc else { return };
        match &mut self.acc {
            Some(a) => a.merge(o),
            None => self.acc = Some(o.clone()),
        }
        self.samples += other.samples;
    }
}

struct GroupEntry {
    key: String,
    period: [Cell; GROUPED.len()],
    cumulative: [Cell; GROUPED.len()],
}

impl GroupEntry {
    fn new(key: String) -> Self {
        Self {
            key,
            period: Default::default(),
            cumulative: Default::default(),
        }
    }

    /// What ranks a key: its requests, else its iterations (a scenario), else any sample.
    fn weight(&self) -> u64 {
        let c = &self.cumulative;
        [0, 4, 3, 2, 1]
            .iter()
            .map(|i| c[*i].samples)
            .find(|n| *n > 0)
            .unwrap_or(0)
    }
}

struct TagGroups {
    tag: String,
    index: HashMap<String, usize>,
    entries: Vec<GroupEntry>,
    /// Values past [`MAX_TRACKED_KEYS`].
    overflow: GroupEntry,
}

/// The index of [`TagGroups::overflow`] in a [`SeriesSlot`].
const OVERFLOW: usize = usize::MAX;

impl TagGroups {
    fn entry_for(&mut self, value: &str) -> usize {
        if let Some(i) = self.index.get(value) {
            return *i;
        }
        if self.entries.len() >= MAX_TRACKED_KEYS {
            return OVERFLOW;
        }
        let i = self.entries.len();
        self.entries.push(GroupEntry::new(value.to_string()));
        self.index.insert(value.to_string(), i);
        i
    }

    fn entry(&mut self, i: usize) -> &mut GroupEntry {
        if i == OVERFLOW {
            &mut self.overflow
        } else {
            &mut self.entries[i]
        }
    }
}

/// One threshold of the plan, parsed once.
struct ThresholdEntry {
    metric: String,
    expression_text: String,
    /// The registry's name of the (sub)metric, `metric{k:v}` with sorted tags.
    lookup: String,
    expression: Option<Expression>,
}

/// Which values a period's end produces.
pub struct PeriodEvents {
    /// New metrics to announce first (the `metric` event), if any.
    pub metric: Option<Value>,
    pub snapshot: Value,
    pub cumulative: Value,
    pub threshold: Value,
    /// `http_reqs` counted since the start, for tests and logs.
    pub requests: u64,
}

pub struct Aggregator {
    definitions: Vec<Option<MetricDefinition>>,
    top_n: usize,
    metrics: Vec<MetricSlot>,
    by_name: HashMap<String, usize>,
    series: Vec<Option<SeriesSlot>>,
    tags: Vec<TagGroups>,
    thresholds: Vec<ThresholdEntry>,
    seq: u64,
}

impl Aggregator {
    pub fn new(group_by: &[String], top_n: usize, test: &TestMeta) -> Self {
        let thresholds = test
            .thresholds
            .iter()
            .map(|t| {
                let metric = t.metric.to_string();
                ThresholdEntry {
                    lookup: parse_metric_key(&metric)
                        .map(|k| k.name())
                        .unwrap_or_else(|_| metric.clone()),
                    metric,
                    expression_text: t.source.to_string(),
                    expression: parse_expression(t.source.as_str()).ok(),
                }
            })
            .collect();
        Self {
            definitions: Vec::new(),
            top_n: top_n.max(1),
            metrics: Vec::new(),
            by_name: HashMap::new(),
            series: Vec::new(),
            tags: group_by
                .iter()
                .map(|t| TagGroups {
                    tag: t.clone(),
                    index: HashMap::new(),
                    entries: Vec::new(),
                    overflow: GroupEntry::new(OTHER.to_string()),
                })
                .collect(),
            thresholds,
            seq: 0,
        }
    }

    fn metric_slot(&mut self, name: &str, t: MetricType, contains: ValueKind) -> usize {
        if let Some(i) = self.by_name.get(name) {
            return *i;
        }
        let i = self.metrics.len();
        self.metrics
            .push(MetricSlot::new(name.to_string(), t, contains));
        self.by_name.insert(name.to_string(), i);
        i
    }

    fn define(&mut self, series: &SeriesDef) {
        let i = series.id as usize;
        if matches!(self.series.get(i), Some(Some(_))) {
            return;
        }
        let Some(Some(metric)) = self.definitions.get(series.metric as usize) else {
            return;
        };
        let (name, t, contains) = (metric.name.clone(), metric.metric_type, metric.contains);
        let subs: Vec<String> = metric
            .submetrics
            .iter()
            .filter(|(_, tags)| tags.iter().all(|(k, v)| tag(series, k) == Some(v.as_str())))
            .map(|(n, _)| n.clone())
            .collect();
        let slot_metric = self.metric_slot(&name, t, contains);
        let submetrics = subs
            .iter()
            .map(|n| self.metric_slot(n, t, contains))
            .collect();
        let grouped = GROUPED.iter().position(|g| *g == name);
        let groups = match grouped {
            Some(_) => self
                .tags
                .iter_mut()
                .map(|tg| match tag(series, &tg.tag) {
                    Some(v) if !v.is_empty() => Some(tg.entry_for(v)),
                    _ => None,
                })
                .collect(),
            None => Box::default(),
        };
        if self.series.len() <= i {
            self.series.resize(i + 1, None);
        }
        self.series[i] = Some(SeriesSlot {
            metric: slot_metric,
            submetrics,
            grouped,
            groups,
        });
    }

    /// Takes one batch; returns the samples whose series the host never defined.
    pub fn write(&mut self, batch: &Batch<'_>) -> u64 {
        for m in batch.metrics.iter() {
            let i = m.id as usize;
            if self.definitions.len() <= i {
                self.definitions.resize_with(i + 1, || None);
            }
            if self.definitions[i].is_none() {
                self.definitions[i] = Some(MetricDefinition {
                    name: m.name.to_string(),
                    metric_type: m.metric_type,
                    contains: m.contains,
                    submetrics: m
                        .submetrics
                        .iter()
                        .map(|sub| {
                            let tags = sub
                                .tags
                                .iter()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect();
                            (sub.name.to_string(), tags)
                        })
                        .collect(),
                });
            }
        }
        for series in batch.series.iter() {
            self.define(series);
        }
        let mut unknown = 0;
        for s in batch.samples.iter() {
            if !self.add(s) {
                unknown += 1;
            }
        }
        unknown
    }

    fn add(&mut self, s: &Sample) -> bool {
        self.seq += 1;
        let seq = self.seq;
        let Self {
            series,
            metrics,
            tags,
            ..
        } = self;
        let Some(Some(slot)) = series.get(s.series as usize) else {
            return false;
        };
        let m = &mut metrics[slot.metric];
        let t = m.metric_type;
        m.period.add_at(s.value, seq, s.time_ns);
        m.period_samples += 1;
        for sub in slot.submetrics.iter() {
            let m = &mut metrics[*sub];
            m.period.add_at(s.value, seq, s.time_ns);
            m.period_samples += 1;
        }
        if let Some(g) = slot.grouped {
            for (tag, entry) in tags.iter_mut().zip(slot.groups.iter()) {
                if let Some(e) = entry {
                    tag.entry(*e).period[g].add(t, s.value, seq, s.time_ns);
                }
            }
        }
        true
    }

    /// Ends a period of `period` (the time base of its rates) at `time_ms`, `elapsed` after the
    /// start (the time base of the cumulative rates).
    pub fn end_period(
        &mut self,
        time_ms: i64,
        period: Duration,
        elapsed: Duration,
    ) -> PeriodEvents {
        let mut new_metrics = Map::new();
        let mut snap = Map::new();
        let mut cumul = Map::new();
        for m in &mut self.metrics {
            if m.period_samples > 0 {
                if !m.announced {
                    m.announced = true;
                    new_metrics.insert(
                        m.name.clone(),
                        json!({"type": m.metric_type.as_str(), "contains": m.contains.as_str()}),
                    );
                }
                snap.insert(m.name.clone(), values(&m.period, period));
                m.cumulative.merge(&m.period);
                m.cumulative_samples += m.period_samples;
                m.period = Acc::new(m.metric_type);
                m.period_samples = 0;
            }
            if m.cumulative_samples > 0 {
                cumul.insert(m.name.clone(), values(&m.cumulative, elapsed));
            }
        }
        let mut snap_groups = Map::new();
        let mut cumul_groups = Map::new();
        for tg in &mut self.tags {
            // Ranked by what they hold once this period is in, so the top N of the snapshot and
            // of the cumulative event are the same keys.
            for e in tg
                .entries
                .iter_mut()
                .chain(std::iter::once(&mut tg.overflow))
            {
                for (c, p) in e.cumulative.iter_mut().zip(&e.period) {
                    c.merge_from(p);
                }
            }
            let mut order: Vec<usize> = (0..tg.entries.len())
                .filter(|i| tg.entries[*i].weight() > 0)
                .collect();
            order.sort_by(|a, b| {
                tg.entries[*b]
                    .weight()
                    .cmp(&tg.entries[*a].weight())
                    .then_with(|| tg.entries[*a].key.cmp(&tg.entries[*b].key))
            });
            let (top, rest) = order.split_at(order.len().min(self.top_n));
            let mut s_list = Vec::new();
            let mut c_list = Vec::new();
            for i in top {
                let e = &tg.entries[*i];
                if let Some(v) = group_values(&e.key, &e.period, period) {
                    s_list.push(v);
                }
                if let Some(v) = group_values(&e.key, &e.cumulative, elapsed) {
                    c_list.push(v);
                }
            }
            let mut other_p: [Cell; GROUPED.len()] = Default::default();
            let mut other_c: [Cell; GROUPED.len()] = Default::default();
            for e in rest
                .iter()
                .map(|i| &tg.entries[*i])
                .chain(std::iter::once(&tg.overflow))
            {
                for k in 0..GROUPED.len() {
                    other_p[k].merge_from(&e.period[k]);
                    other_c[k].merge_from(&e.cumulative[k]);
                }
            }
            if let Some(v) = group_values(OTHER, &other_p, period) {
                s_list.push(v);
            }
            if let Some(v) = group_values(OTHER, &other_c, elapsed) {
                c_list.push(v);
            }
            for e in tg
                .entries
                .iter_mut()
                .chain(std::iter::once(&mut tg.overflow))
            {
                e.period = Default::default();
            }
            snap_groups.insert(tg.tag.clone(), Value::Array(s_list));
            cumul_groups.insert(tg.tag.clone(), Value::Array(c_list));
        }
        let period_ms = period.as_millis() as u64;
        let requests = self
            .by_name
            .get("http_reqs")
            .map(|i| &self.metrics[*i])
            .and_then(|m| match m.cumulative {
                Acc::Plain(Accumulator::Counter { sum }) => Some(sum as u64),
                _ => None,
            })
            .unwrap_or(0);
        PeriodEvents {
            metric: (!new_metrics.is_empty()).then_some(Value::Object(new_metrics)),
            snapshot: json!({"time": time_ms, "periodMs": period_ms, "metrics": snap, "groups": snap_groups}),
            cumulative: json!({"time": time_ms, "periodMs": period_ms, "metrics": cumul, "groups": cumul_groups}),
            threshold: self.thresholds(elapsed, &[]),
            requests,
        }
    }

    /// Each threshold's value from the cumulative values; `verdicts` (metric, expression, passed)
    /// are the host's final ones, which win at the end so the report agrees with the summary.
    pub fn thresholds(&self, elapsed: Duration, verdicts: &[(String, String, bool)]) -> Value {
        let list: Vec<Value> = self
            .thresholds
            .iter()
            .map(|t| {
                let acc = self
                    .by_name
                    .get(&t.lookup)
                    .map(|i| &self.metrics[*i])
                    .filter(|m| m.cumulative_samples > 0)
                    .map(|m| &m.cumulative);
                let value = match (acc, &t.expression) {
                    (Some(a), Some(e)) => {
                        a.aggregate(e.aggregation, elapsed).filter(|v| v.is_finite())
                    }
                    _ => None,
                };
                let ok = verdicts
                    .iter()
                    .find(|(m, e, _)| *m == t.metric && *e == t.expression_text)
                    .map(|(_, _, p)| *p)
                    .unwrap_or_else(|| match (value, &t.expression) {
                        (Some(v), Some(e)) => e.operator.holds(v, e.value),
                        // No sample yet: nothing has failed.
                        _ => true,
                    });
                json!({"metric": t.metric, "expression": t.expression_text, "value": value, "ok": ok})
            })
            .collect();
        Value::Array(list)
    }
}

fn group_values(key: &str, cells: &[Cell; GROUPED.len()], base: Duration) -> Option<Value> {
    let mut metrics = Map::new();
    for (name, c) in GROUPED.iter().zip(cells) {
        if let (Some(acc), true) = (&c.acc, c.samples > 0) {
            metrics.insert(name.to_string(), values(acc, base));
        }
    }
    (!metrics.is_empty()).then(|| json!({"key": key, "metrics": metrics}))
}

/// A JSON number, or 0 for what JSON cannot hold.
fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or_else(|| Value::from(0))
}

/// VALUES of EVENTS.md for one accumulator; `base` is the time base of a counter's rate.
pub fn values(acc: &Acc, base: Duration) -> Value {
    match acc {
        Acc::Plain(Accumulator::Counter { sum }) => {
            let secs = base.as_secs_f64();
            json!({"count": num(*sum), "rate": num(if secs > 0.0 { sum / secs } else { 0.0 })})
        }
        Acc::Plain(Accumulator::Gauge { last, min, max, .. }) => {
            json!({"value": num(*last), "min": num(*min), "max": num(*max)})
        }
        Acc::Plain(Accumulator::Rate { trues, total }) => json!({
            "rate": num(if *total == 0 { 0.0 } else { *trues as f64 / *total as f64 }),
            "passes": trues,
            "fails": total - trues,
        }),
        Acc::Plain(Accumulator::Trend(_)) => Value::Null,
        Acc::Trend(t) => {
            let (min, max) = if t.count == 0 {
                (0.0, 0.0)
            } else {
                (t.min, t.max)
            };
            json!({
                "count": t.count,
                "avg": num(t.avg()),
                "min": num(min),
                "med": num(t.percentile(0.5)),
                "max": num(max),
                "p90": num(t.percentile(0.9)),
                "p95": num(t.percentile(0.95)),
                "p99": num(t.percentile(0.99)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use loadrun_plugin_api::abi::{KeyValue, MetricDef, SeriesDef, SubmetricDef, ThresholdDef};
    use loadrun_plugin_api::types::RVec;

    fn meta(thresholds: &[(&str, &str)]) -> TestMeta {
        TestMeta {
            test_id: "t".into(),
            plan_name: "p".into(),
            start_unix_ns: 0,
            planned_duration_ms: None.into(),
            max_vus: 1,
            thresholds: thresholds
                .iter()
                .map(|(m, s)| ThresholdDef {
                    metric: (*m).into(),
                    source: (*s).into(),
                    abort_on_fail: false,
                })
                .collect(),
            tags: RVec::new(),
            extra: "{}".into(),
        }
    }

    fn metric(id: u32, name: &str, t: MetricType, subs: &[(&str, &str, &str)]) -> MetricDef {
        MetricDef {
            id,
            name: name.into(),
            metric_type: t,
            contains: if t == MetricType::Trend {
                ValueKind::Time
            } else {
                ValueKind::Default
            },
            thresholds: RVec::new(),
            submetrics: subs
                .iter()
                .map(|(full, k, v)| SubmetricDef {
                    name: (*full).into(),
                    suffix: format!("{k}:{v}").into(),
                    tags: vec![KeyValue::new(*k, *v)].into(),
                })
                .collect(),
        }
    }

    fn series(id: u32, metric: u32, tags: &[(&str, &str)]) -> SeriesDef {
        let mut tags: Vec<_> = tags.to_vec();
        tags.sort();
        SeriesDef {
            id,
            metric,
            tags: tags.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect(),
            metadata: RVec::new(),
        }
    }

    fn feed(a: &mut Aggregator, metrics: &[MetricDef], series: &[SeriesDef], samples: &[Sample]) {
        let batch = Batch {
            metrics: metrics.into(),
            series: series.into(),
            samples: samples.into(),
        };
        assert_eq!(a.write(&batch), 0);
    }

    fn group_by() -> Vec<String> {
        crate::config::DEFAULT_GROUP_BY
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn trend_percentiles_period_and_cumulative() {
        let mut a = Aggregator::new(&group_by(), 20, &meta(&[]));
        let m = [metric(0, "http_req_duration", MetricType::Trend, &[])];
        let s = [series(0, 0, &[("name", "a")])];
        // 1..=100 in the first period.
        let samples: Vec<Sample> = (1..=100).map(|v| Sample::new(0, 0, v as f64)).collect();
        feed(&mut a, &m, &s, &samples);
        let ev = a.end_period(1000, Duration::from_secs(1), Duration::from_secs(1));
        let d = &ev.snapshot["metrics"]["http_req_duration"];
        assert_eq!(d["count"], 100);
        assert_eq!(d["min"], 1.0);
        assert_eq!(d["max"], 100.0);
        assert_eq!(d["avg"], 50.5);
        // k6's interpolation: 1 + 0.9 * 99 = 90.1, 95.05, 99.01.
        assert!((d["p90"].as_f64().unwrap() - 90.1).abs() < 1e-9, "{d}");
        assert!((d["p95"].as_f64().unwrap() - 95.05).abs() < 1e-9, "{d}");
        assert!((d["p99"].as_f64().unwrap() - 99.01).abs() < 1e-9, "{d}");
        assert!(ev.metric.unwrap().get("http_req_duration").is_some());
        // A second period with 101..=200: the snapshot is that period's, the cumulative all of it.
        let samples: Vec<Sample> = (101..=200).map(|v| Sample::new(0, 0, v as f64)).collect();
        feed(&mut a, &[], &[], &samples);
        let ev = a.end_period(2000, Duration::from_secs(1), Duration::from_secs(2));
        assert!(ev.metric.is_none(), "announced once");
        assert_eq!(ev.snapshot["metrics"]["http_req_duration"]["min"], 101.0);
        let c = &ev.cumulative["metrics"]["http_req_duration"];
        assert_eq!(c["count"], 200);
        assert!((c["p95"].as_f64().unwrap() - 190.05).abs() < 1e-9, "{c}");
        // A period without samples: absent from the snapshot, still in the cumulative.
        let ev = a.end_period(3000, Duration::from_secs(1), Duration::from_secs(3));
        assert!(ev.snapshot["metrics"].get("http_req_duration").is_none());
        assert_eq!(ev.cumulative["metrics"]["http_req_duration"]["count"], 200);
    }

    #[test]
    fn counters_rates_gauges_and_submetrics() {
        let th = [
            ("http_req_duration{status:200}", "p(95)<50"),
            ("http_reqs", "count>3"),
        ];
        let mut a = Aggregator::new(&group_by(), 20, &meta(&th));
        let m = [
            metric(0, "http_reqs", MetricType::Counter, &[]),
            metric(1, "http_req_failed", MetricType::Rate, &[]),
            metric(2, "vus", MetricType::Gauge, &[]),
            metric(
                3,
                "http_req_duration",
                MetricType::Trend,
                &[("http_req_duration{status:200}", "status", "200")],
            ),
        ];
        let s = [
            series(0, 0, &[("status", "200")]),
            series(1, 1, &[("status", "200")]),
            series(2, 2, &[]),
            series(3, 3, &[("status", "200")]),
            series(4, 3, &[("status", "500")]),
        ];
        let samples = [
            Sample::new(0, 0, 1.0),
            Sample::new(0, 0, 1.0),
            Sample::new(1, 0, 0.0),
            Sample::new(1, 0, 1.0),
            Sample::new(2, 0, 3.0),
            Sample::new(2, 0, 5.0),
            Sample::new(2, 0, 4.0),
            Sample::new(3, 0, 10.0),
            Sample::new(4, 0, 900.0),
        ];
        feed(&mut a, &m, &s, &samples);
        let ev = a.end_period(1, Duration::from_secs(2), Duration::from_secs(2));
        let sm = &ev.snapshot["metrics"];
        assert_eq!(sm["http_reqs"], json!({"count": 2.0, "rate": 1.0}));
        assert_eq!(
            sm["http_req_failed"],
            json!({"rate": 0.5, "passes": 1, "fails": 1})
        );
        assert_eq!(sm["vus"], json!({"value": 4.0, "min": 3.0, "max": 5.0}));
        assert_eq!(sm["http_req_duration{status:200}"]["max"], 10.0);
        assert_eq!(sm["http_req_duration"]["max"], 900.0);
        assert_eq!(ev.requests, 2);
        let th = ev.threshold.as_array().unwrap();
        assert_eq!(th[0]["metric"], "http_req_duration{status:200}");
        assert_eq!(th[0]["value"], 10.0);
        assert_eq!(th[0]["ok"], true);
        assert_eq!(th[1]["value"], 2.0);
        assert_eq!(th[1]["ok"], false);
        // The host's final verdicts win.
        let v = a.thresholds(
            Duration::from_secs(2),
            &[("http_reqs".into(), "count>3".into(), true)],
        );
        assert_eq!(v[1]["ok"], true);
    }

    #[test]
    fn top_n_and_other_hold_every_request() {
        let mut a = Aggregator::new(&group_by(), 3, &meta(&[]));
        let m = [metric(0, "http_reqs", MetricType::Counter, &[])];
        // Endpoint i gets i + 1 requests: e9..e7 are the top 3.
        let s: Vec<SeriesDef> = (0..10)
            .map(|i| series(i, 0, &[("name", &format!("e{i}"))]))
            .collect();
        let mut samples = Vec::new();
        for i in 0..10u32 {
            for _ in 0..=i {
                samples.push(Sample::new(i, 0, 1.0));
            }
        }
        feed(&mut a, &m, &s, &samples);
        let ev = a.end_period(1, Duration::from_secs(1), Duration::from_secs(1));
        let groups = ev.cumulative["groups"]["name"].as_array().unwrap();
        let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["e9", "e8", "e7", "other"]);
        let count = |g: &Value| g["metrics"]["http_reqs"]["count"].as_f64().unwrap();
        assert_eq!(count(&groups[0]), 10.0);
        assert_eq!(count(&groups[3]), 1.0 + 2.0 + 3.0 + 4.0 + 5.0 + 6.0 + 7.0);
        let total: f64 = groups.iter().map(count).sum();
        assert_eq!(total, 55.0);
        assert_eq!(ev.requests, 55);
        // Tags a series lacks make no group.
        assert_eq!(ev.cumulative["groups"]["status"], json!([]));
    }

    #[test]
    fn values_past_the_tracked_keys_go_to_other() {
        let mut a = Aggregator::new(&group_by(), 20, &meta(&[]));
        let m = [metric(0, "http_reqs", MetricType::Counter, &[])];
        let n = MAX_TRACKED_KEYS as u32 + 500;
        let s: Vec<SeriesDef> = (0..n)
            .map(|i| series(i, 0, &[("name", &format!("u{i}"))]))
            .collect();
        let samples: Vec<Sample> = (0..n).map(|i| Sample::new(i, 0, 1.0)).collect();
        feed(&mut a, &m, &s, &samples);
        assert_eq!(a.tags[0].entries.len(), MAX_TRACKED_KEYS);
        let ev = a.end_period(1, Duration::from_secs(1), Duration::from_secs(1));
        let groups = ev.snapshot["groups"]["name"].as_array().unwrap();
        assert_eq!(groups.len(), 21);
        let total: f64 = groups
            .iter()
            .map(|g| g["metrics"]["http_reqs"]["count"].as_f64().unwrap())
            .sum();
        assert_eq!(total, n as f64);
    }
}
