//! Per-series aggregation between pushes, with k6's semantics: every value is cumulative since
//! the start of the test, and one sample per changed series goes out per push.
//!
//! Aggregation is keyed by the *Prometheus* series (metric plus final label set), not by the
//! host's series id: two host series that become the same label set after sanitising (tags
//! `test-id` and `test_id`) or after dropping empty labels (`group=""` and no `group`) share one
//! state, so a request never carries two samples of one series at one timestamp.

use std::collections::HashMap;

use loadrun_plugin_api::{Catalog, MetricType, Sample, ValueKind};

use crate::naming::{sanitize_label_name, sanitize_metric_name, unit_suffix, TrendStat, PREFIX};
use crate::proto::{Label, Sample as PSample, TimeSeries};
use crate::sketch::{new_sketch, to_native, Sketch, DEFAULT_SCHEMA};

/// Prometheus' staleness marker, a NaN with this exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// How samples become series.
#[derive(Debug, Clone)]
pub struct AggConfig {
    /// `(stat, series suffix)` pairs, from [`crate::naming::parse_trend_stats`].
    pub trend_stats: Vec<(TrendStat, String)>,
    /// `Some(schema)`: trends go out as native histograms at that schema instead of stats.
    pub native_histogram_schema: Option<i32>,
    /// Add k6's non-indexed metadata (`vu`, `iter`) as labels.
    pub metadata_as_labels: bool,
    /// Labels added to every series that lacks them (grafana-cloud's `testid`).
    pub extra_labels: Vec<Label>,
}

#[derive(Debug, Clone)]
enum Value {
    Counter(f64),
    Gauge { value: f64, time_ns: i64 },
    Rate { hits: u64, total: u64 },
    Trend(Box<Sketch>),
}

#[derive(Debug, Clone)]
struct Entry {
    /// `k6_<name>`.
    base: String,
    contains: ValueKind,
    /// Sorted by name, `__name__` not included.
    labels: Vec<Label>,
    value: Value,
    last_sample_ms: i64,
    last_pushed_ms: Option<i64>,
    dirty: bool,
    /// Samples folded in so far.
    folded: u64,
    /// `folded` as of the newest push the server took: values are cumulative, so those
    /// samples are on the server even if earlier pushes were lost.
    delivered: u64,
    /// The last request that carried this series was refused for good.
    refused: bool,
}

/// Which snapshot series belongs to which entry, and how many samples that entry had folded
/// then: what the server holds once the request carrying it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    entry: usize,
    folded: u64,
}

/// Samples accepted but not on the server, split by the last fate of their series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Undelivered {
    pub rejected: u64,
    pub lost: u64,
}

/// The cumulative state of every series seen so far.
#[derive(Debug)]
pub struct Aggregator {
    cfg: AggConfig,
    entries: Vec<Entry>,
    index: HashMap<(u32, Vec<Label>), usize>,
    by_series: Vec<Option<usize>>,
    unknown_samples: u64,
}

impl Aggregator {
    pub fn new(cfg: AggConfig) -> Self {
        Self {
            cfg,
            entries: Vec::new(),
            index: HashMap::new(),
            by_series: Vec::new(),
            unknown_samples: 0,
        }
    }

    /// Folds samples into the state. Samples of series the catalog does not know (a host
    /// contract breach) are counted in [`Aggregator::unknown_samples`] and skipped.
    pub fn add(&mut self, catalog: &Catalog, samples: &[Sample]) {
        for s in samples {
            let Some(i) = self.entry_for(catalog, s.series) else {
                self.unknown_samples += 1;
                continue;
            };
            let e = &mut self.entries[i];
            let v = match e.contains {
                ValueKind::Time => s.value / 1000.0,
                _ => s.value,
            };
            match &mut e.value {
                Value::Counter(total) => *total += s.value,
                Value::Gauge { value, time_ns } => {
                    if s.time_ns >= *time_ns {
                        *value = v;
                        *time_ns = s.time_ns;
                    }
                }
                Value::Rate { hits, total } => {
                    *total += 1;
                    if s.value != 0.0 {
                        *hits += 1;
                    }
                }
                Value::Trend(sketch) => {
                    sketch.add(v);
                }
            }
            e.last_sample_ms = e.last_sample_ms.max(s.time_ns.div_euclid(1_000_000));
            e.dirty = true;
            e.folded += 1;
        }
    }

    fn entry_for(&mut self, catalog: &Catalog, series_id: u32) -> Option<usize> {
        if let Some(Some(i)) = self.by_series.get(series_id as usize) {
            return Some(*i);
        }
        let series = catalog.series(series_id)?;
        let metric = catalog.metric(series.metric)?;
        let mut raw: Vec<(&str, &str)> = series
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if self.cfg.metadata_as_labels {
            raw.extend(
                series
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        let labels = build_labels(&raw, &self.cfg.extra_labels);
        let key = (metric.id, labels);
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                let value = match metric.metric_type {
                    MetricType::Counter => Value::Counter(0.0),
                    MetricType::Gauge => Value::Gauge {
                        value: 0.0,
                        time_ns: i64::MIN,
                    },
                    MetricType::Rate => Value::Rate { hits: 0, total: 0 },
                    MetricType::Trend => {
                        let schema = self
                            .cfg
                            .native_histogram_schema
                            .map_or(DEFAULT_SCHEMA, |s| s.max(DEFAULT_SCHEMA));
                        Value::Trend(Box::new(new_sketch(schema)))
                    }
                };
                self.entries.push(Entry {
                    base: format!("{PREFIX}{}", sanitize_metric_name(&metric.name)),
                    contains: metric.contains,
                    labels: key.1.clone(),
                    value,
                    last_sample_ms: i64::MIN,
                    last_pushed_ms: None,
                    dirty: false,
                    folded: 0,
                    delivered: 0,
                    refused: false,
                });
                let i = self.entries.len() - 1;
                self.index.insert(key, i);
                i
            }
        };
        let idx = series_id as usize;
        if self.by_series.len() <= idx {
            self.by_series.resize(idx + 1, None);
        }
        self.by_series[idx] = Some(i);
        Some(i)
    }

    /// Whether any series changed since the last snapshot.
    pub fn has_changes(&self) -> bool {
        self.entries.iter().any(|e| e.dirty)
    }

    /// Samples whose series the catalog did not know.
    pub fn unknown_samples(&self) -> u64 {
        self.unknown_samples
    }

    /// Distinct Prometheus series families held (a trend's stats count once).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One sample (or histogram) per series that changed since the last snapshot, stamped with
    /// its newest sample's time, and always later than what was pushed before for it
    /// (Prometheus refuses out-of-order and conflicting duplicate samples).
    pub fn snapshot(&mut self) -> Vec<TimeSeries> {
        self.snapshot_owned().0
    }

    /// [`Aggregator::snapshot`], with the [`Owner`] of each series (same order).
    pub fn snapshot_owned(&mut self) -> (Vec<TimeSeries>, Vec<Owner>) {
        let mut out = Vec::new();
        let mut owners = Vec::new();
        for (i, e) in self.entries.iter_mut().enumerate().filter(|(_, e)| e.dirty) {
            let ts = match e.last_pushed_ms {
                Some(p) => e.last_sample_ms.max(p.saturating_add(1)),
                None => e.last_sample_ms,
            };
            e.dirty = false;
            e.last_pushed_ms = Some(ts);
            let before = out.len();
            emit(e, &self.cfg, ts, None, &mut out);
            owners.extend((before..out.len()).map(|_| Owner {
                entry: i,
                folded: e.folded,
            }));
        }
        (out, owners)
    }

    /// The server took a request carrying these series.
    pub fn delivered(&mut self, owners: &[Owner]) {
        for o in owners {
            if let Some(e) = self.entries.get_mut(o.entry) {
                e.delivered = e.delivered.max(o.folded);
                e.refused = false;
            }
        }
    }

    /// The server refused a request carrying these series for good; a later push of the
    /// same series (cumulative) may still bring their samples to it.
    pub fn refused(&mut self, owners: &[Owner]) {
        for o in owners {
            if let Some(e) = self.entries.get_mut(o.entry) {
                if e.delivered < o.folded {
                    e.refused = true;
                }
            }
        }
    }

    /// Samples folded but not (yet) on the server; each is reported once: they count as
    /// settled afterwards.
    pub fn take_undelivered(&mut self) -> Undelivered {
        let mut u = Undelivered::default();
        for e in &mut self.entries {
            let n = e.folded - e.delivered.min(e.folded);
            if e.refused {
                u.rejected += n;
            } else {
                u.lost += n;
            }
            e.delivered = e.folded;
            e.refused = false;
        }
        u
    }

    /// A staleness marker for every series pushed so far, at `now_ms` (or just after the
    /// series' last push), so Prometheus ends them at once rather than after 5 minutes.
    pub fn stale_markers(&mut self, now_ms: i64) -> Vec<TimeSeries> {
        let mut out = Vec::new();
        for e in self.entries.iter_mut() {
            let Some(p) = e.last_pushed_ms else { continue };
            let ts = now_ms.max(p.saturating_add(1));
            e.last_pushed_ms = Some(ts);
            emit(
                e,
                &self.cfg,
                ts,
                Some(f64::from_bits(STALE_NAN_BITS)),
                &mut out,
            );
        }
        out
    }
}

/// Sanitised, non-empty labels, sorted; the first of several tags that sanitise to one name
/// wins; `extra` fills in names the tags lack.
fn build_labels(raw: &[(&str, &str)], extra: &[Label]) -> Vec<Label> {
    let mut sorted: Vec<(&str, &str)> = raw.to_vec();
    sorted.sort();
    let mut out: Vec<Label> = Vec::with_capacity(sorted.len() + extra.len());
    for (k, v) in sorted {
        if v.is_empty() {
            continue;
        }
        let Some(name) = sanitize_label_name(k) else {
            continue;
        };
        if !out.iter().any(|l| l.name == name) {
            out.push(Label::new(name, v));
        }
    }
    for l in extra {
        if !l.value.is_empty() && !out.iter().any(|o| o.name == l.name) {
            out.push(l.clone());
        }
    }
    out.sort();
    out
}

fn series(name: String, labels: &[Label]) -> TimeSeries {
    let mut all = Vec::with_capacity(labels.len() + 1);
    all.push(Label::new("__name__", name));
    all.extend(labels.iter().cloned());
    // Byte order, as Prometheus' own label sets: upper-case tag names sort before `__name__`.
    all.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels: all,
        ..Default::default()
    }
}

fn push_float(out: &mut Vec<TimeSeries>, name: String, labels: &[Label], value: f64, ts: i64) {
    let mut s = series(name, labels);
    s.samples.push(PSample {
        value,
        timestamp: ts,
    });
    out.push(s);
}

/// The series of one entry; `stale` replaces every value with the staleness marker.
fn emit(e: &Entry, cfg: &AggConfig, ts: i64, stale: Option<f64>, out: &mut Vec<TimeSeries>) {
    let pick = |v: f64| stale.unwrap_or(v);
    match &e.value {
        Value::Counter(total) => push_float(
            out,
            format!("{}_total", e.base),
            &e.labels,
            pick(*total),
            ts,
        ),
        Value::Gauge { value, .. } => push_float(
            out,
            format!("{}{}", e.base, unit_suffix(e.contains)),
            &e.labels,
            pick(*value),
            ts,
        ),
        Value::Rate { hits, total } => {
            let r = if *total == 0 {
                0.0
            } else {
                *hits as f64 / *total as f64
            };
            push_float(out, format!("{}_rate", e.base), &e.labels, pick(r), ts)
        }
        Value::Trend(sketch) => {
            if let Some(schema) = cfg.native_histogram_schema {
                let name = format!("{}{}", e.base, unit_suffix(e.contains));
                match stale {
                    // Prometheus turns a stale float sample on a histogram series into a
                    // stale histogram.
                    Some(nan) => push_float(out, name, &e.labels, nan, ts),
                    None => {
                        let mut s = series(name, &e.labels);
                        s.histograms.push(to_native(sketch, schema, ts).into());
                        out.push(s);
                    }
                }
                return;
            }
            for (stat, suffix) in &cfg.trend_stats {
                let v = match stat {
                    TrendStat::Count => sketch.count() as f64,
                    TrendStat::Sum => sketch.sum(),
                    TrendStat::Min => sketch.min(),
                    TrendStat::Max => sketch.max(),
                    TrendStat::Avg => sketch.avg(),
                    TrendStat::Med => sketch.percentile(0.5),
                    TrendStat::Percentile(p) => sketch.percentile(*p / 100.0),
                };
                push_float(out, format!("{}_{suffix}", e.base), &e.labels, pick(v), ts);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn labels_sanitised_deduplicated_and_sorted() {
        let got = build_labels(
            &[
                ("test_id", "b"),
                ("test-id", "a"),
                ("group", ""),
                ("Zed", "z"),
            ],
            &[Label::new("testid", "run1"), Label::new("Zed", "other")],
        );
        let names: Vec<_> = got
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect();
        assert_eq!(names, ["Zed=z", "test_id=a", "testid=run1"]);
    }

    #[test]
    fn cumulative_pushes_settle_every_sample_they_carry() {
        use loadrun_plugin_api::testkit::BatchBuilder;
        let mut b = BatchBuilder::new();
        let c = b.metric("c", MetricType::Counter, ValueKind::Default);
        let sa = b.series(c, &[("k", "a")], &[]);
        let sb = b.series(c, &[("k", "b")], &[]);
        b.sample(sa, 1, 1.0).sample(sa, 2, 1.0).sample(sb, 3, 1.0);
        let mut cat = Catalog::new();
        cat.absorb(&b.batch());
        let mut agg = Aggregator::new(AggConfig {
            trend_stats: vec![],
            native_histogram_schema: None,
            metadata_as_labels: false,
            extra_labels: vec![],
        });
        agg.add(&cat, b.samples.as_slice());
        let (series, owners) = agg.snapshot_owned();
        assert_eq!(series.len(), 2);
        // Series a refused, series b lost in transit.
        agg.refused(&owners[..1]);
        // One more sample of a, and a second push of a that is taken: cumulative, so a's
        // refused push is made good.
        agg.add(&cat, &b.samples[..1]);
        let (_, again) = agg.snapshot_owned();
        assert_eq!(again.len(), 1);
        agg.delivered(&again);
        let u = agg.take_undelivered();
        assert_eq!(
            u,
            Undelivered {
                rejected: 0,
                lost: 1
            }
        );
        assert_eq!(agg.take_undelivered(), Undelivered::default());
        // A refusal that nothing repairs stays a rejection.
        agg.add(&cat, &b.samples[2..]);
        let (_, third) = agg.snapshot_owned();
        agg.refused(&third);
        assert_eq!(
            agg.take_undelivered(),
            Undelivered {
                rejected: 1,
                lost: 0
            }
        );
    }
}
