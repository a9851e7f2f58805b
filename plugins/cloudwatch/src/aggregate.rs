//! Per-period aggregation: samples of the same metric and dimension set in the same period
//! become one datum (counters summed, gauges' last value, rates as StatisticValues of 0/1,
//! trends as a value distribution).
//!
//! Series that differ only in tags outside the dimension allowlist fold into one datum, so the
//! allowlist bounds what CloudWatch bills, not just what it shows.

use std::collections::HashMap;

use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::{Catalog, Host, MetricType, Sample, ValueKind};

use crate::datum::{
    clamp_value, Datum, DatumValue, Unit, MAX_DIMENSION_VALUE_CHARS, MAX_VALUES_PER_DATUM,
};
use crate::distribution::Distribution;
use crate::time::UtcTime;

/// What to aggregate by.
#[derive(Debug, Clone)]
pub struct AggregateConfig {
    /// Tag keys that become dimensions (at most 30).
    pub dimensions: Vec<String>,
    /// Period length in seconds (at least 1).
    pub period_secs: i64,
    pub storage_resolution: u32,
}

#[derive(Debug, Clone)]
struct Group {
    metric_name: String,
    dimensions: Vec<(String, String)>,
    metric_type: MetricType,
    unit: Unit,
}

#[derive(Debug, Clone)]
enum Acc {
    Sum(f64),
    Last {
        time_ns: i64,
        value: f64,
    },
    Stats {
        n: u64,
        sum: f64,
        min: f64,
        max: f64,
    },
    Dist(Distribution),
}

impl Acc {
    fn new(t: MetricType) -> Self {
        match t {
            MetricType::Counter => Acc::Sum(0.0),
            MetricType::Gauge => Acc::Last {
                time_ns: i64::MIN,
                value: 0.0,
            },
            MetricType::Rate => Acc::Stats {
                n: 0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            },
            MetricType::Trend => Acc::Dist(Distribution::default()),
        }
    }

    fn add(&mut self, time_ns: i64, v: f64) {
        match self {
            Acc::Sum(s) => *s += v,
            Acc::Last { time_ns: t, value } => {
                if time_ns >= *t {
                    *t = time_ns;
                    *value = v;
                }
            }
            Acc::Stats { n, sum, min, max } => {
                *n += 1;
                *sum += v;
                *min = min.min(v);
                *max = max.max(v);
            }
            Acc::Dist(d) => d.add(v),
        }
    }

    fn into_value(self) -> DatumValue {
        match self {
            Acc::Sum(s) => DatumValue::Value(clamp_value(s)),
            Acc::Last { value, .. } => DatumValue::Value(clamp_value(value)),
            Acc::Stats { n, sum, min, max } => DatumValue::Stats {
                count: n as f64,
                sum: clamp_value(sum),
                min: clamp_value(min),
                max: clamp_value(max),
            },
            Acc::Dist(d) => {
                let (values, counts) = d
                    .compressed(MAX_VALUES_PER_DATUM)
                    .into_iter()
                    .map(|(v, c)| (clamp_value(v), c as f64))
                    .unzip();
                DatumValue::Distribution { values, counts }
            }
        }
    }
}

/// Open aggregates, keyed by (group, period start).
#[derive(Debug)]
pub struct Aggregator {
    config: AggregateConfig,
    /// Series id → group id (`None`: the series' metric is unknown, its samples are skipped).
    series_group: HashMap<u32, Option<u32>>,
    group_ids: HashMap<(u32, Vec<(String, String)>), u32>,
    groups: Vec<Group>,
    /// Each aggregate with the number of samples folded into it.
    open: HashMap<(u32, i64), (Acc, u64)>,
    skipped: u64,
}

impl Aggregator {
    pub fn new(config: AggregateConfig) -> Self {
        Self {
            config,
            series_group: HashMap::new(),
            group_ids: HashMap::new(),
            groups: Vec::new(),
            open: HashMap::new(),
            skipped: 0,
        }
    }

    /// Samples folded into the open aggregates.
    pub fn open_samples(&self) -> u64 {
        self.open.values().map(|(_, n)| n).sum()
    }

    /// How many aggregates are open (the memory this output holds).
    pub fn open_len(&self) -> usize {
        self.open.len()
    }

    /// Samples dropped so far: non-finite values, or series the catalog does not know.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn add(&mut self, catalog: &Catalog, samples: &[Sample]) {
        for s in samples {
            if !s.value.is_finite() {
                self.skipped += 1;
                continue;
            }
            let Some(group) = self.group_of(catalog, s.series) else {
                self.skipped += 1;
                continue;
            };
            let bucket = s
                .time_ns
                .div_euclid(1_000_000_000)
                .div_euclid(self.config.period_secs)
                * self.config.period_secs;
            let metric_type = self.groups[group as usize].metric_type;
            let (acc, n) = self
                .open
                .entry((group, bucket))
                .or_insert_with(|| (Acc::new(metric_type), 0));
            acc.add(s.time_ns, s.value);
            *n += 1;
        }
    }

    fn group_of(&mut self, catalog: &Catalog, series: u32) -> Option<u32> {
        if let Some(g) = self.series_group.get(&series) {
            return *g;
        }
        let group = catalog.resolve(&Sample::new(series, 0, 0.0)).map(|(m, s)| {
            let mut dims: Vec<(String, String)> = self
                .config
                .dimensions
                .iter()
                .filter_map(|k| {
                    let v = s.tag(k)?;
                    // CloudWatch refuses empty dimension values (k6's root group is "").
                    (!v.is_empty()).then(|| (k.clone(), truncate(v, MAX_DIMENSION_VALUE_CHARS)))
                })
                .collect();
            dims.sort();
            let key = (m.id, dims);
            if let Some(id) = self.group_ids.get(&key) {
                return *id;
            }
            let id = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
            self.groups.push(Group {
                metric_name: m.name.clone(),
                dimensions: key.1.clone(),
                metric_type: m.metric_type,
                unit: unit_of(m.metric_type, m.contains),
            });
            self.group_ids.insert(key, id);
            id
        });
        self.series_group.insert(series, group);
        group
    }

    /// Takes the aggregates of every period that ended at least `grace_secs` before `now`.
    pub fn take_closed(&mut self, now: UtcTime, grace_secs: i64) -> Vec<Datum> {
        let limit = now.unix_secs() - grace_secs - self.config.period_secs;
        self.take(|bucket| bucket <= limit)
    }

    /// Takes everything (at stop, or when too much is open).
    pub fn take_all(&mut self) -> Vec<Datum> {
        self.take(|_| true)
    }

    fn take(&mut self, pick: impl Fn(i64) -> bool) -> Vec<Datum> {
        let keys: Vec<(u32, i64)> = self.open.keys().filter(|k| pick(k.1)).copied().collect();
        let mut out: Vec<Datum> = keys
            .into_iter()
            .filter_map(|k| {
                let (acc, samples) = self.open.remove(&k)?;
                let g = self.groups.get(k.0 as usize)?;
                Some(Datum {
                    metric_name: g.metric_name.clone(),
                    dimensions: g.dimensions.clone(),
                    timestamp: UtcTime::from_unix_secs(k.1),
                    unit: g.unit,
                    value: acc.into_value(),
                    storage_resolution: self.config.storage_resolution,
                    samples,
                })
            })
            .collect();
        // Deterministic request bodies: by time, then name, then dimensions.
        out.sort_by(|a, b| {
            (a.timestamp, &a.metric_name, &a.dimensions).cmp(&(
                b.timestamp,
                &b.metric_name,
                &b.dimensions,
            ))
        });
        out
    }
}

/// k6 value kinds onto CloudWatch units. Rates stay `None`: their Average is the 0..1 fraction,
/// and `Percent` would claim 0..100.
pub fn unit_of(t: MetricType, kind: ValueKind) -> Unit {
    match (kind, t) {
        (ValueKind::Time, _) => Unit::Milliseconds,
        (ValueKind::Data, _) => Unit::Bytes,
        (ValueKind::Default, MetricType::Counter) => Unit::Count,
        (ValueKind::Default, _) => Unit::None,
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => s[..cut].to_string(),
        None => s.to_string(),
    }
}

/// Reports an [`Aggregator`]'s skipped samples to the host: each counted once in
/// `samples_lost` (they were answered `Ok` with their batch, yet never sent), and one warning.
#[derive(Debug, Default)]
pub struct SkipReport {
    reported: u64,
    warned: bool,
}

impl SkipReport {
    /// Reports what `skipped` (the aggregator's running total) adds since the last call.
    pub fn note(&mut self, skipped: u64, host: Option<&Host>) {
        if skipped > self.reported {
            if let Some(h) = host {
                h.count(COUNTER_SAMPLES_LOST, skipped - self.reported);
            }
            self.reported = skipped;
        }
        if !self.warned && skipped > 0 {
            self.warned = true;
            if let Some(h) = host {
                h.warn(
                    "some samples were skipped: NaN/infinite values, or series the host never \
                     defined (said once; counted in samples_lost)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use loadrun_plugin_api::testkit::BatchBuilder;

    const T0: i64 = 1_700_000_000; // T0 % 60 == 20

    fn agg(period: i64) -> Aggregator {
        Aggregator::new(AggregateConfig {
            dimensions: vec!["status".into(), "method".into(), "group".into()],
            period_secs: period,
            storage_resolution: 60,
        })
    }

    fn ns(secs: i64, ms: i64) -> i64 {
        secs * 1_000_000_000 + ms * 1_000_000
    }

    #[test]
    fn each_type_aggregates_its_own_way() {
        let mut b = BatchBuilder::new();
        let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
        let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
        let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        // Two series that differ only by a tag outside the allowlist fold together.
        let r1 = b.series(reqs, &[("status", "200"), ("url", "http://a/1")], &[]);
        let r2 = b.series(reqs, &[("status", "200"), ("url", "http://a/2")], &[]);
        let v = b.series(vus, &[("group", "")], &[]);
        let f = b.series(failed, &[("method", "GET")], &[]);
        let d = b.series(dur, &[("method", "GET")], &[]);
        b.sample(r1, ns(T0, 100), 1.0)
            .sample(r2, ns(T0, 200), 2.0)
            .sample(v, ns(T0, 900), 7.0)
            .sample(v, ns(T0, 300), 5.0)
            .sample(f, ns(T0, 1), 1.0)
            .sample(f, ns(T0, 2), 0.0)
            .sample(f, ns(T0, 3), 0.0)
            .sample(d, ns(T0, 1), 10.0)
            .sample(d, ns(T0, 2), 10.0)
            .sample(d, ns(T0, 3), 30.0)
            .sample(r1, ns(T0 + 1, 0), 4.0)
            .sample(r1, ns(T0, 5), f64::NAN);
        let batch = b.batch();
        let mut catalog = Catalog::new();
        catalog.absorb(&batch);
        let mut a = agg(1);
        a.add(&catalog, &batch.samples);
        assert_eq!(a.skipped(), 1);
        // At T0+1 with no grace, only the first second has ended.
        let closed = a.take_closed(UtcTime::from_unix_secs(T0 + 1), 0);
        assert_eq!(closed.len(), 4, "{closed:#?}");
        let by_name = |n: &str| closed.iter().find(|d| d.metric_name == n).unwrap();
        let r = by_name("http_reqs");
        assert_eq!(r.value, DatumValue::Value(3.0));
        assert_eq!(r.unit, Unit::Count);
        assert_eq!(r.dimensions, vec![("status".into(), "200".into())]);
        assert_eq!(r.timestamp.unix_secs(), T0);
        let g = by_name("vus");
        assert_eq!(
            g.value,
            DatumValue::Value(7.0),
            "the latest sample, not the last added"
        );
        assert!(
            g.dimensions.is_empty(),
            "empty tag values are not dimensions"
        );
        assert_eq!(
            by_name("http_req_failed").value,
            DatumValue::Stats {
                count: 3.0,
                sum: 1.0,
                min: 0.0,
                max: 1.0
            }
        );
        let t = by_name("http_req_duration");
        assert_eq!(t.unit, Unit::Milliseconds);
        assert_eq!(
            t.value,
            DatumValue::Distribution {
                values: vec![10.0, 30.0],
                counts: vec![2.0, 1.0]
            }
        );
        let rest = a.take_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].value, DatumValue::Value(4.0));
        assert_eq!(a.open_len(), 0);
    }

    #[test]
    fn periods_align_to_multiples() {
        let mut b = BatchBuilder::new();
        let m = b.metric("c", MetricType::Counter, ValueKind::Default);
        let s = b.series(m, &[], &[]);
        b.sample(s, ns(T0, 0), 1.0) // T0 % 60 == 20
            .sample(s, ns(T0 + 39, 999), 1.0)
            .sample(s, ns(T0 + 40, 0), 1.0);
        let batch = b.batch();
        let mut catalog = Catalog::new();
        catalog.absorb(&batch);
        let mut a = agg(60);
        a.add(&catalog, &batch.samples);
        let all = a.take_all();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].timestamp.unix_secs(), T0 - 20);
        assert_eq!(all[0].value, DatumValue::Value(2.0));
        assert_eq!(all[1].timestamp.unix_secs(), T0 + 40);
    }

    #[test]
    fn units() {
        assert_eq!(unit_of(MetricType::Counter, ValueKind::Data), Unit::Bytes);
        assert_eq!(unit_of(MetricType::Rate, ValueKind::Default), Unit::None);
        assert_eq!(unit_of(MetricType::Gauge, ValueKind::Default), Unit::None);
        assert_eq!(
            unit_of(MetricType::Trend, ValueKind::Time),
            Unit::Milliseconds
        );
        assert_eq!(truncate("héllo", 2), "hé");
    }
}
