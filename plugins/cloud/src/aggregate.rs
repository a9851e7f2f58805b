//! Per-series aggregation into time buckets, as k6's cloud output does it: every sample lands in
//! the bucket `floor(time / aggregationPeriod)` of its series; a bucket is handed on once its
//! start is `aggregationWaitPeriod` in the past (k6's cut-off rule), or at stop regardless.

use std::collections::{BTreeMap, HashMap};

use loadrun_plugin_api::MetricType;

use crate::hdr::Histogram;

/// What one series accumulates within one time bucket (k6 calls it a sink; here a sink is only
/// where an output writes its bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum Accumulator {
    Counter {
        sum: f64,
    },
    /// Unlike k6 v1.x, `min` is the minimum and `max` the maximum (k6 swaps them on the wire),
    /// and a gauge that only saw negative values has a negative max (k6 starts max at 0).
    Gauge {
        last: f64,
        min: f64,
        max: f64,
        sum: f64,
        count: u32,
    },
    Rate {
        nonzero: u32,
        total: u32,
    },
    Trend(Box<Histogram>),
}

impl Accumulator {
    pub fn new(t: MetricType) -> Self {
        match t {
            MetricType::Counter => Accumulator::Counter { sum: 0.0 },
            MetricType::Gauge => Accumulator::Gauge {
                last: 0.0,
                min: f64::MAX,
                max: -f64::MAX,
                sum: 0.0,
                count: 0,
            },
            MetricType::Rate => Accumulator::Rate {
                nonzero: 0,
                total: 0,
            },
            MetricType::Trend => Accumulator::Trend(Box::default()),
        }
    }

    pub fn add(&mut self, v: f64) {
        match self {
            Accumulator::Counter { sum } => *sum += v,
            Accumulator::Gauge {
                last,
                min,
                max,
                sum,
                count,
            } => {
                *last = v;
                *count = count.saturating_add(1);
                *sum += v;
                if v > *max {
                    *max = v;
                }
                if v < *min {
                    *min = v;
                }
            }
            Accumulator::Rate { nonzero, total } => {
                *total = total.saturating_add(1);
                if v != 0.0 {
                    *nonzero = nonzero.saturating_add(1);
                }
            }
            Accumulator::Trend(h) => h.add(v),
        }
    }
}

/// A closed bucket of one series, ready to be encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// The bucket's start, unix ns.
    pub time_ns: i64,
    pub accumulator: Accumulator,
    /// How many samples were folded into it (for the host's accounting of what is lost).
    pub samples: u64,
}

/// The open buckets of every series.
#[derive(Debug)]
pub struct Aggregator {
    period_ns: i64,
    wait_ns: i64,
    buckets: BTreeMap<i64, HashMap<u32, (Accumulator, u64)>>,
    held: usize,
}

impl Aggregator {
    pub fn new(period_ns: i64, wait_ns: i64) -> Self {
        Aggregator {
            period_ns: period_ns.max(1),
            wait_ns: wait_ns.max(0),
            buckets: BTreeMap::new(),
            held: 0,
        }
    }

    /// Adopts a new aggregation period and wait (the cloud's config override). Only valid before
    /// the first sample.
    pub fn reconfigure(&mut self, period_ns: i64, wait_ns: i64) {
        self.period_ns = period_ns.max(1);
        self.wait_ns = wait_ns.max(0);
    }

    pub fn period_ns(&self) -> i64 {
        self.period_ns
    }

    pub fn add(&mut self, series: u32, t: MetricType, time_ns: i64, value: f64) {
        let id = time_ns.div_euclid(self.period_ns);
        let accumulators = self.buckets.entry(id).or_default();
        let held = &mut self.held;
        let (accumulator, n) = accumulators.entry(series).or_insert_with(|| {
            *held += 1;
            (Accumulator::new(t), 0)
        });
        accumulator.add(value);
        *n += 1;
    }

    /// Samples folded into the open buckets.
    pub fn samples(&self) -> u64 {
        self.buckets
            .values()
            .flat_map(|b| b.values())
            .map(|(_, n)| n)
            .sum()
    }

    /// How many (series, bucket) accumulators are open: the aggregator's memory, in units.
    pub fn held(&self) -> usize {
        self.held
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Closes every bucket whose start is at least the wait period before `now_ns` (all of them
    /// when `all`), grouped by series, each series' buckets in time order.
    pub fn close(&mut self, now_ns: i64, all: bool) -> BTreeMap<u32, Vec<Closed>> {
        let cutoff = now_ns
            .saturating_sub(self.wait_ns)
            .div_euclid(self.period_ns);
        let keep = if all {
            BTreeMap::new()
        } else {
            self.buckets.split_off(&(cutoff.saturating_add(1)))
        };
        let closed = std::mem::replace(&mut self.buckets, keep);
        let mut out: BTreeMap<u32, Vec<Closed>> = BTreeMap::new();
        for (id, accumulators) in closed {
            let time_ns = id.saturating_mul(self.period_ns);
            self.held -= accumulators.len();
            for (series, (accumulator, samples)) in accumulators {
                out.entry(series).or_default().push(Closed {
                    time_ns,
                    accumulator,
                    samples,
                });
            }
        }
        out
    }

    /// Closes the oldest buckets until at most `limit` accumulators stay open (the memory bound).
    pub fn close_oldest(&mut self, limit: usize) -> BTreeMap<u32, Vec<Closed>> {
        let mut out: BTreeMap<u32, Vec<Closed>> = BTreeMap::new();
        while self.held > limit {
            let Some((id, accumulators)) = self.buckets.pop_first() else {
                break;
            };
            let time_ns = id.saturating_mul(self.period_ns);
            self.held -= accumulators.len();
            for (series, (accumulator, samples)) in accumulators {
                out.entry(series).or_default().push(Closed {
                    time_ns,
                    accumulator,
                    samples,
                });
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn buckets_close_after_the_wait_period_like_k6() {
        let mut a = Aggregator::new(3 * S, 8 * S);
        a.add(1, MetricType::Counter, 100 * S + 1, 1.0);
        a.add(1, MetricType::Counter, 101 * S, 2.0);
        a.add(1, MetricType::Counter, 102 * S + 999, 3.0);
        a.add(1, MetricType::Counter, 103 * S, 4.0);
        assert_eq!(a.held(), 2);
        // Bucket 99 s (id 33) closes once now - 8 s reaches its start.
        assert!(a.close(106 * S, false).is_empty());
        let c = a.close(107 * S, false);
        assert_eq!(
            c[&1],
            vec![Closed {
                time_ns: 99 * S,
                accumulator: Accumulator::Counter { sum: 3.0 },
                samples: 2,
            }]
        );
        assert_eq!(a.samples(), 2);
        let c = a.close(0, true);
        assert_eq!(c[&1][0].samples, 2);
        assert_eq!(c[&1][0].time_ns, 102 * S);
        assert_eq!(c[&1][0].accumulator, Accumulator::Counter { sum: 7.0 });
        assert_eq!(a.held(), 0);
    }

    #[test]
    fn gauges_keep_min_and_max_where_they_belong() {
        let mut g = Accumulator::new(MetricType::Gauge);
        for v in [-3.0, -1.0, -2.0] {
            g.add(v);
        }
        assert_eq!(
            g,
            Accumulator::Gauge {
                last: -2.0,
                min: -3.0,
                max: -1.0,
                sum: -6.0,
                count: 3
            }
        );
        let mut r = Accumulator::new(MetricType::Rate);
        for v in [1.0, 0.0, 1.0] {
            r.add(v);
        }
        assert_eq!(
            r,
            Accumulator::Rate {
                nonzero: 2,
                total: 3
            }
        );
    }

    #[test]
    fn memory_bound_closes_oldest_first() {
        let mut a = Aggregator::new(S, 1000 * S);
        for i in 0..10 {
            a.add(1, MetricType::Counter, i * S, 1.0);
        }
        let c = a.close_oldest(4);
        assert_eq!(c[&1].len(), 6);
        assert_eq!(c[&1][0].time_ns, 0);
        assert_eq!(a.held(), 4);
    }
}
