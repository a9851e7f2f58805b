//! Turns samples into OTLP data points: one aggregate per metric and attribute set.
//!
//! Memory is bounded by the number of distinct series (never by the number of samples): a
//! counter keeps a sum, a rate two counts, a trend one bounded histogram.

use std::collections::HashMap;
use std::sync::Arc;

use loadrun_plugin_api::{Catalog, MetricInfo, MetricType, Sample, SeriesInfo, ValueKind};

use crate::config::{HistogramMode, MetadataAttrs, Temporality};
use loadrun_sketch::Sketch;

use crate::histogram::{exponential, ExplicitHistogram};

/// What one metric is sent as.
#[derive(Debug, Clone)]
pub struct MetricMeta {
    /// With the prefix.
    pub name: String,
    /// UCUM: `ms` for time, `By` for data, empty otherwise (as k6 does).
    pub unit: &'static str,
    pub metric_type: MetricType,
    /// Explicit-bucket bounds, when trends use them.
    pub bounds: Option<Arc<[f64]>>,
}

#[derive(Debug, Clone)]
pub enum State {
    Counter { sum: f64 },
    Gauge { value: f64 },
    Rate { zero: u64, nonzero: u64 },
    Exponential(Box<Sketch>),
    Explicit(ExplicitHistogram),
}

/// The aggregate of one metric and attribute set.
#[derive(Debug, Clone)]
pub struct Point {
    pub metric: u32,
    /// Tags with empty values dropped (and the chosen metadata), sorted by key.
    pub attrs: Vec<(String, String)>,
    /// Cumulative: the first observation. Delta: the end of the previous export.
    pub start_ns: i64,
    pub last_ns: i64,
    /// Observed since the last delta export.
    pub fresh: bool,
    pub state: State,
    /// Samples recorded into it so far.
    pub folded: u64,
    /// Of those, the ones whose fate is known and reported: delivered, or refused with a
    /// delta export (which then forgets them).
    pub settled: u64,
    /// The last request that carried it (cumulative) was refused for good.
    pub refused: bool,
}

impl Point {
    /// Data points this aggregate becomes (a rate is two).
    pub fn weight(&self) -> usize {
        match self.state {
            State::Rate { .. } => 2,
            _ => 1,
        }
    }
}

/// What became of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Yes,
    /// NaN or infinite: OTLP receivers reject or mangle them.
    NonFinite,
    /// The series or its metric was never defined (a host bug).
    Unresolved,
}

pub struct Aggregator {
    prefix: String,
    histogram: HistogramMode,
    metadata: MetadataAttrs,
    metrics: HashMap<u32, MetricMeta>,
    points: Vec<Point>,
    by_series: Vec<Option<usize>>,
    by_key: HashMap<(u32, Vec<(String, String)>), usize>,
}

impl Aggregator {
    pub fn new(prefix: String, histogram: HistogramMode, metadata: MetadataAttrs) -> Self {
        Self {
            prefix,
            histogram,
            metadata,
            metrics: HashMap::new(),
            points: Vec::new(),
            by_series: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    pub fn metric(&self, id: u32) -> Option<&MetricMeta> {
        self.metrics.get(&id)
    }

    pub fn point(&self, i: usize) -> Option<&Point> {
        self.points.get(i)
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn record(&mut self, catalog: &Catalog, sample: &Sample) -> Recorded {
        let Some((metric, series)) = catalog.resolve(sample) else {
            return Recorded::Unresolved;
        };
        let v = sample.value;
        if !v.is_finite() {
            return Recorded::NonFinite;
        }
        let i = self.point_index(metric, series, sample.time_ns);
        let Some(p) = self.points.get_mut(i) else {
            return Recorded::Unresolved;
        };
        match &mut p.state {
            State::Counter { sum } => *sum += v,
            State::Gauge { value } => *value = v,
            State::Rate { zero, nonzero } => {
                if v != 0.0 {
                    *nonzero += 1;
                } else {
                    *zero += 1;
                }
            }
            State::Exponential(h) => {
                h.add(v);
            }
            // Only explicit histograms need their metric's bounds: the other states skip the
            // look-up, which would otherwise be paid on every sample.
            State::Explicit(h) => {
                let bounds = self
                    .metrics
                    .get(&metric.id)
                    .and_then(|m| m.bounds.as_deref());
                h.record(bounds.unwrap_or(&[]), v)
            }
        }
        p.last_ns = p.last_ns.max(sample.time_ns);
        p.fresh = true;
        p.folded += 1;
        Recorded::Yes
    }

    fn point_index(&mut self, metric: &MetricInfo, series: &SeriesInfo, time_ns: i64) -> usize {
        if let Some(Some(i)) = self.by_series.get(series.id as usize) {
            return *i;
        }
        if !self.metrics.contains_key(&metric.id) {
            let meta = self.meta(metric);
            self.metrics.insert(metric.id, meta);
        }
        let mut attrs: Vec<(String, String)> = series
            .tags
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect();
        attrs.extend(
            series
                .metadata
                .iter()
                .filter(|(k, v)| !v.is_empty() && self.metadata.wants(k))
                .cloned(),
        );
        attrs.sort();
        attrs.dedup_by(|a, b| a.0 == b.0);
        // Series that differ only in metadata not sent, or in empty tags, share one data point:
        // OTLP identifies a point by its attributes, so two points with the same ones would
        // overwrite each other at the receiver.
        let key = (metric.id, attrs);
        let i = match self.by_key.get(&key) {
            Some(i) => *i,
            None => {
                let i = self.points.len();
                self.points.push(Point {
                    metric: metric.id,
                    attrs: key.1.clone(),
                    start_ns: time_ns,
                    last_ns: time_ns,
                    fresh: false,
                    state: self.empty_state(metric),
                    folded: 0,
                    settled: 0,
                    refused: false,
                });
                self.by_key.insert(key, i);
                i
            }
        };
        let s = series.id as usize;
        if self.by_series.len() <= s {
            self.by_series.resize(s + 1, None);
        }
        self.by_series[s] = Some(i);
        i
    }

    fn meta(&self, m: &MetricInfo) -> MetricMeta {
        let bounds = match (&self.histogram, m.metric_type) {
            (
                HistogramMode::Explicit {
                    time,
                    data,
                    default,
                },
                MetricType::Trend,
            ) => Some(Arc::from(match m.contains {
                ValueKind::Time => time.as_slice(),
                ValueKind::Data => data.as_slice(),
                ValueKind::Default => default.as_slice(),
            })),
            _ => None,
        };
        MetricMeta {
            name: format!("{}{}", self.prefix, m.name),
            unit: match m.contains {
                ValueKind::Time => "ms",
                ValueKind::Data => "By",
                ValueKind::Default => "",
            },
            metric_type: m.metric_type,
            bounds,
        }
    }

    fn empty_state(&self, m: &MetricInfo) -> State {
        match m.metric_type {
            MetricType::Counter => State::Counter { sum: 0.0 },
            MetricType::Gauge => State::Gauge { value: 0.0 },
            MetricType::Rate => State::Rate {
                zero: 0,
                nonzero: 0,
            },
            MetricType::Trend => match &self.histogram {
                HistogramMode::Exponential {
                    max_scale,
                    max_buckets,
                } => State::Exponential(Box::new(exponential(*max_scale, *max_buckets))),
                HistogramMode::Explicit {
                    time,
                    data,
                    default,
                } => {
                    let b = match m.contains {
                        ValueKind::Time => time,
                        ValueKind::Data => data,
                        ValueKind::Default => default,
                    };
                    State::Explicit(ExplicitHistogram::new(b))
                }
            },
        }
    }

    /// The points an export sends, grouped by metric: every point for cumulative temporality
    /// (the final state always goes out), only those observed since the last export for delta.
    /// The server took a request carrying these points: every sample recorded into them is on
    /// it (a cumulative point carries all of them, a delta point those since the last reset).
    pub fn delivered(&mut self, idxs: &[usize]) {
        for &i in idxs {
            if let Some(p) = self.points.get_mut(i) {
                p.settled = p.folded;
                p.refused = false;
            }
        }
    }

    /// The server refused a request carrying these points for good. Delta: their samples are
    /// gone (the aggregate is reset next), returned for reporting now. Cumulative: a later
    /// export may still carry them; settled at the end ([`Aggregator::take_unsettled`]).
    pub fn refused(&mut self, idxs: &[usize], temporality: Temporality) -> u64 {
        let mut gone = 0;
        for &i in idxs {
            if let Some(p) = self.points.get_mut(i) {
                match temporality {
                    Temporality::Delta => {
                        gone += p.folded - p.settled.min(p.folded);
                        p.settled = p.folded;
                    }
                    Temporality::Cumulative => p.refused = p.settled < p.folded,
                }
            }
        }
        gone
    }

    /// Samples recorded but neither delivered nor reported yet: (refused, lost). Each is
    /// returned once.
    pub fn take_unsettled(&mut self) -> (u64, u64) {
        let (mut refused, mut lost) = (0, 0);
        for p in &mut self.points {
            let n = p.folded - p.settled.min(p.folded);
            if p.refused {
                refused += n;
            } else {
                lost += n;
            }
            p.settled = p.folded;
            p.refused = false;
        }
        (refused, lost)
    }

    pub fn due(&self, temporality: Temporality) -> Vec<usize> {
        let mut due: Vec<usize> = (0..self.points.len())
            .filter(|&i| temporality == Temporality::Cumulative || self.points[i].fresh)
            .collect();
        due.sort_by_key(|&i| (self.points[i].metric, i));
        due
    }

    /// After a delta export: the points start over from `end_ns`.
    pub fn reset(&mut self, idxs: &[usize], end_ns: i64) {
        for &i in idxs {
            let Some(p) = self.points.get(i) else {
                continue;
            };
            let fresh_state = match &p.state {
                State::Counter { .. } => State::Counter { sum: 0.0 },
                State::Gauge { value } => State::Gauge { value: *value },
                State::Rate { .. } => State::Rate {
                    zero: 0,
                    nonzero: 0,
                },
                State::Exponential(h) => {
                    let max_scale = match &self.histogram {
                        HistogramMode::Exponential { max_scale, .. } => *max_scale,
                        HistogramMode::Explicit { .. } => h.scale(),
                    };
                    State::Exponential(Box::new(h.emptied(max_scale)))
                }
                State::Explicit(h) => State::Explicit(ExplicitHistogram {
                    count: 0,
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    counts: vec![0; h.counts.len()],
                }),
            };
            if let Some(p) = self.points.get_mut(i) {
                p.state = fresh_state;
                p.fresh = false;
                p.start_ns = end_ns;
                p.last_ns = p.last_ns.max(end_ns);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::BatchBuilder;

    #[test]
    fn series_with_the_same_attributes_share_a_point() {
        let mut b = BatchBuilder::new();
        let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let s1 = b.series(m, &[("status", "200"), ("group", "")], &[("vu", "1")]);
        let s2 = b.series(m, &[("status", "200"), ("group", "")], &[("vu", "2")]);
        b.sample(s1, 10, 1.0)
            .sample(s2, 20, 2.0)
            .sample(s2, 30, f64::NAN);
        b.sample(99, 30, 1.0);
        let mut cat = Catalog::new();
        cat.absorb(&b.batch());
        let mut agg = Aggregator::new(
            "k6_".into(),
            HistogramMode::Exponential {
                max_scale: 5,
                max_buckets: 10,
            },
            MetadataAttrs::None,
        );
        let got: Vec<Recorded> = b.samples.iter().map(|s| agg.record(&cat, s)).collect();
        assert_eq!(
            got,
            vec![
                Recorded::Yes,
                Recorded::Yes,
                Recorded::NonFinite,
                Recorded::Unresolved
            ]
        );
        assert_eq!(agg.due(Temporality::Cumulative), vec![0]);
        let p = agg.point(0).unwrap();
        assert_eq!(p.attrs, vec![("status".to_string(), "200".to_string())]);
        assert!(matches!(p.state, State::Counter { sum } if sum == 3.0));
        assert_eq!((p.start_ns, p.last_ns), (10, 20));
        assert_eq!(agg.metric(m).unwrap().name, "k6_http_reqs");

        let mut agg = Aggregator::new(
            String::new(),
            HistogramMode::Exponential {
                max_scale: 5,
                max_buckets: 10,
            },
            MetadataAttrs::All,
        );
        for s in &b.samples {
            agg.record(&cat, s);
        }
        assert_eq!(agg.due(Temporality::Delta).len(), 2);
        agg.reset(&[0, 1], 100);
        assert!(agg.due(Temporality::Delta).is_empty());
        assert_eq!(agg.due(Temporality::Cumulative).len(), 2);
    }
}
