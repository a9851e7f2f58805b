//! Per-interval aggregation of samples, one aggregate per (window, series).
//!
//! Windows are aligned to the push interval on the samples' own timestamps (not on when they
//! arrive), so each data point's `timestamp` + `interval.ms` says exactly which samples it
//! covers. A window is closed once the clock is past its end plus a grace period for samples
//! still in the host's queue; a sample that arrives even later opens a fresh aggregate for its
//! old window, sent with the next push. New Relic adds up counts and merges summaries of the
//! same window, so such a straggler is never lost or counted twice.

use std::collections::BTreeMap;

use loadrun_plugin_api::MetricType;

use crate::quantiles::Quantiles;

/// Everything one series got in one window.
#[derive(Debug, Clone)]
pub enum Agg {
    /// Counter: the sum.
    Count(f64),
    /// Gauge: the value of the latest sample (by sample time).
    Gauge {
        time_ns: i64,
        value: f64,
    },
    /// Rate: non-zero samples and all samples.
    Rate {
        hits: u64,
        total: u64,
    },
    Trend(Trend),
}

/// A trend's summary and percentile estimator.
#[derive(Debug, Clone)]
pub struct Trend {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub quantiles: Quantiles,
}

impl Agg {
    fn new(metric_type: MetricType, time_ns: i64, value: f64) -> Self {
        match metric_type {
            MetricType::Counter => Agg::Count(value),
            MetricType::Gauge => Agg::Gauge { time_ns, value },
            MetricType::Rate => Agg::Rate {
                hits: u64::from(value != 0.0),
                total: 1,
            },
            MetricType::Trend => {
                let mut quantiles = Quantiles::new();
                quantiles.add(value);
                Agg::Trend(Trend {
                    count: 1,
                    sum: value,
                    min: value,
                    max: value,
                    quantiles,
                })
            }
        }
    }

    fn add(&mut self, time_ns: i64, value: f64) {
        match self {
            Agg::Count(sum) => *sum += value,
            Agg::Gauge {
                time_ns: t,
                value: v,
            } => {
                if time_ns >= *t {
                    *t = time_ns;
                    *v = value;
                }
            }
            Agg::Rate { hits, total } => {
                *hits += u64::from(value != 0.0);
                *total += 1;
            }
            Agg::Trend(t) => {
                t.count += 1;
                t.sum += value;
                t.min = t.min.min(value);
                t.max = t.max.max(value);
                t.quantiles.add(value);
            }
        }
    }
}

/// A closed aggregate: its window start (unix ms), its series id, what it holds.
#[derive(Debug, Clone)]
pub struct Closed {
    pub start_ms: i64,
    pub series: u32,
    pub agg: Agg,
    /// How many samples were folded into it (for the host's accounting of what is lost).
    pub samples: u64,
}

/// The open windows of every series.
#[derive(Debug)]
pub struct Aggregator {
    interval_ms: i64,
    open: BTreeMap<(i64, u32), (Agg, u64)>,
}

impl Aggregator {
    pub fn new(interval_ms: i64) -> Self {
        Self {
            interval_ms: interval_ms.max(1),
            open: BTreeMap::new(),
        }
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// The start of the window holding `time_ns`.
    pub fn window_of(&self, time_ns: i64) -> i64 {
        let ms = time_ns.div_euclid(1_000_000);
        ms - ms.rem_euclid(self.interval_ms)
    }

    /// Adds a finite sample.
    pub fn add(&mut self, series: u32, metric_type: MetricType, time_ns: i64, value: f64) {
        let key = (self.window_of(time_ns), series);
        match self.open.get_mut(&key) {
            Some((agg, n)) => {
                agg.add(time_ns, value);
                *n += 1;
            }
            None => {
                self.open
                    .insert(key, (Agg::new(metric_type, time_ns, value), 1));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Samples folded into the open windows.
    pub fn samples(&self) -> u64 {
        self.open.values().map(|(_, n)| n).sum()
    }

    /// How many aggregates are open (memory accounting, tests).
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether some window ended at least `grace_ms` before `now_ms`.
    pub fn has_closable(&self, now_ms: i64, grace_ms: i64) -> bool {
        self.open
            .keys()
            .next()
            .is_some_and(|(start, _)| start + self.interval_ms + grace_ms <= now_ms)
    }

    /// Takes the windows that ended at least `grace_ms` before `now_ms`, oldest first.
    pub fn take_closed(&mut self, now_ms: i64, grace_ms: i64) -> Vec<Closed> {
        let cut = now_ms - grace_ms - self.interval_ms;
        // Keys are (start, series): every window starting after `cut` stays open.
        let still_open = self.open.split_off(&(cut.saturating_add(1), 0));
        let closed = std::mem::replace(&mut self.open, still_open);
        into_closed(closed)
    }

    /// Takes every window, open ones included (flush and stop).
    pub fn take_all(&mut self) -> Vec<Closed> {
        into_closed(std::mem::take(&mut self.open))
    }
}

fn into_closed(map: BTreeMap<(i64, u32), (Agg, u64)>) -> Vec<Closed> {
    map.into_iter()
        .map(|((start_ms, series), (agg, samples))| Closed {
            start_ms,
            series,
            agg,
            samples,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_on_sample_time() {
        let a = Aggregator::new(10_000);
        assert_eq!(a.window_of(1_700_000_012_345_000_000), 1_700_000_010_000);
        assert_eq!(a.window_of(-1), -10_000);
    }

    #[test]
    fn aggregates_per_type_and_closes_old_windows_only() {
        let mut a = Aggregator::new(1000);
        let t = 5_000_000_000i64; // 5 s
        a.add(1, MetricType::Counter, t, 2.0);
        a.add(1, MetricType::Counter, t + 1, 3.0);
        a.add(2, MetricType::Gauge, t + 5, 7.0);
        a.add(2, MetricType::Gauge, t + 1, 6.0); // older sample arriving later: not the last
        a.add(3, MetricType::Rate, t, 1.0);
        a.add(3, MetricType::Rate, t, 0.0);
        a.add(3, MetricType::Rate, t, 1.0);
        a.add(1, MetricType::Counter, t + 1_000_000_000, 1.0); // next window
        assert!(!a.has_closable(5_999, 0));
        assert!(a.has_closable(6_000, 0));
        assert!(!a.has_closable(6_499, 500));
        let closed = a.take_closed(6_500, 500);
        assert_eq!(closed.len(), 3);
        assert!(matches!(closed[0].agg, Agg::Count(v) if v == 5.0));
        assert!(matches!(closed[1].agg, Agg::Gauge { value, .. } if value == 7.0));
        assert!(matches!(closed[2].agg, Agg::Rate { hits: 2, total: 3 }));
        let samples: Vec<u64> = closed.iter().map(|c| c.samples).collect();
        assert_eq!(samples, [2, 2, 3]);
        assert_eq!(a.len(), 1);
        let rest = a.take_all();
        assert_eq!(rest[0].start_ms, 6_000);
        assert!(a.is_empty());
    }
}
