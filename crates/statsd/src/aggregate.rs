//! One push interval's samples, folded per series.
//!
//! Folding is faithful where StatsD itself folds: a StatsD server sums counters and keeps the
//! last gauge per flush, so sending the interval's sum or last value once changes nothing but the
//! packet count. Trend values are not folded (the server computes percentiles from them): each
//! is sent, up to `max_trend_samples` per series and interval; beyond that a uniform reservoir
//! sample of that size is sent with `|@rate`, which StatsD servers scale back up when counting.

use std::collections::BTreeMap;

use loadrun_plugin_api::{Catalog, MetricType, Sample};

/// Which of a series' StatsD metrics a sample feeds: checks split one rate series in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    Plain,
    Pass,
    Fail,
}

/// The folded value of one (series, variant) in one interval.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    Count(f64),
    Gauge(f64),
    Trend(Trend),
}

/// Trend values: exact count/sum/min/max, plus the values to send (all, or a sample).
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub values: Vec<f64>,
}

impl Trend {
    fn new() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            values: Vec::new(),
        }
    }

    /// The fraction of values kept in `values`, for `|@rate`.
    pub fn sample_rate(&self) -> f64 {
        if self.count == 0 || self.values.len() as u64 >= self.count {
            1.0
        } else {
            self.values.len() as f64 / self.count as f64
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

/// One (series, variant)'s folded value and how many samples went into it, so a payload that
/// cannot be delivered converts back to samples for the host's accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub agg: Agg,
    pub samples: u64,
}

/// Samples of the current interval, in a deterministic (series id) order.
#[derive(Debug, Clone)]
pub struct Aggregator {
    cells: BTreeMap<(u32, Variant), Cell>,
    max_trend_samples: usize,
    rng: u64,
    /// Samples with NaN or infinite values, which no StatsD parser accepts.
    pub skipped_non_finite: u64,
    /// Samples of series the catalog did not know (a host bug).
    pub unresolved: u64,
}

impl Aggregator {
    pub fn new(max_trend_samples: usize) -> Self {
        Self {
            cells: BTreeMap::new(),
            max_trend_samples,
            rng: 0x9E37_79B9_7F4A_7C15,
            skipped_non_finite: 0,
            unresolved: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Folds one sample in; samples of series the catalog does not know are counted in
    /// `unresolved` and ignored.
    pub fn add(&mut self, catalog: &Catalog, sample: &Sample) {
        let Some((metric, series)) = catalog.resolve(sample) else {
            self.unresolved += 1;
            return;
        };
        let v = sample.value;
        if !v.is_finite() {
            self.skipped_non_finite += 1;
            return;
        }
        match metric.metric_type {
            MetricType::Counter => self.count(sample.series, Variant::Plain, v),
            MetricType::Gauge => {
                let cell = self
                    .cells
                    .entry((sample.series, Variant::Plain))
                    .or_insert(Cell {
                        agg: Agg::Gauge(v),
                        samples: 0,
                    });
                cell.agg = Agg::Gauge(v);
                cell.samples += 1;
            }
            MetricType::Rate => {
                if series.tag("check").is_some() {
                    let variant = if v != 0.0 {
                        Variant::Pass
                    } else {
                        Variant::Fail
                    };
                    self.count(sample.series, variant, 1.0);
                } else {
                    // k6 sends int64(value): 1 for a true sample, 0 for a false one.
                    self.count(
                        sample.series,
                        Variant::Plain,
                        if v != 0.0 { 1.0 } else { 0.0 },
                    );
                }
            }
            MetricType::Trend => self.trend(sample.series, v),
        }
    }

    /// Takes the interval's cells, leaving the aggregator empty.
    pub fn drain(&mut self) -> BTreeMap<(u32, Variant), Cell> {
        std::mem::take(&mut self.cells)
    }

    fn count(&mut self, series: u32, variant: Variant, v: f64) {
        let cell = self.cells.entry((series, variant)).or_insert(Cell {
            agg: Agg::Count(0.0),
            samples: 0,
        });
        cell.samples += 1;
        match &mut cell.agg {
            Agg::Count(total) => *total += v,
            other => *other = Agg::Count(v),
        }
    }

    fn trend(&mut self, series: u32, v: f64) {
        let cap = self.max_trend_samples;
        let draw = self.next_random();
        let cell = self
            .cells
            .entry((series, Variant::Plain))
            .or_insert_with(|| Cell {
                agg: Agg::Trend(Trend::new()),
                samples: 0,
            });
        cell.samples += 1;
        if !matches!(cell.agg, Agg::Trend(_)) {
            cell.agg = Agg::Trend(Trend::new());
        }
        let Agg::Trend(t) = &mut cell.agg else { return };
        t.count += 1;
        t.sum += v;
        t.min = t.min.min(v);
        t.max = t.max.max(v);
        if cap == 0 || t.values.len() < cap {
            t.values.push(v);
        } else {
            // Algorithm R: the i-th value replaces a random kept one with probability cap/i.
            let j = (draw % t.count) as usize;
            if j < cap {
                t.values[j] = v;
            }
        }
    }

    /// xorshift64*: enough for reservoir sampling, and reproducible.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::BatchBuilder;
    use loadrun_plugin_api::ValueKind;

    #[test]
    fn folds_like_a_statsd_server() {
        let mut b = BatchBuilder::new();
        let c = b.metric("c", MetricType::Counter, ValueKind::Default);
        let g = b.metric("g", MetricType::Gauge, ValueKind::Default);
        let r = b.metric("checks", MetricType::Rate, ValueKind::Default);
        let t = b.metric("t", MetricType::Trend, ValueKind::Time);
        let sc = b.series(c, &[], &[]);
        let sg = b.series(g, &[], &[]);
        let sr = b.series(r, &[("check", "ok")], &[]);
        let st = b.series(t, &[], &[]);
        b.sample(sc, 1, 0.5).sample(sc, 2, 0.25);
        b.sample(sg, 1, 3.0).sample(sg, 2, 7.0);
        b.sample(sr, 1, 1.0).sample(sr, 2, 0.0).sample(sr, 3, 1.0);
        b.sample(st, 1, 1.5).sample(st, 2, f64::NAN);
        let mut cat = Catalog::new();
        cat.absorb(&b.batch());
        let mut a = Aggregator::new(10);
        for s in b.samples.iter() {
            a.add(&cat, s);
        }
        let cells = a.drain();
        assert_eq!(cells[&(sc, Variant::Plain)].agg, Agg::Count(0.75));
        assert_eq!(cells[&(sg, Variant::Plain)].agg, Agg::Gauge(7.0));
        assert_eq!(cells[&(sr, Variant::Pass)].agg, Agg::Count(2.0));
        assert_eq!(cells[&(sr, Variant::Fail)].agg, Agg::Count(1.0));
        // How many samples each cell folded, for the host's accounting.
        let samples: Vec<u64> = cells.values().map(|c| c.samples).collect();
        assert_eq!(samples.iter().sum::<u64>(), 8);
        assert_eq!(cells[&(sg, Variant::Plain)].samples, 2);
        assert_eq!(cells[&(sr, Variant::Pass)].samples, 2);
        assert_eq!(cells[&(st, Variant::Plain)].samples, 1);
        let Agg::Trend(tr) = &cells[&(st, Variant::Plain)].agg else {
            panic!("not a trend")
        };
        assert_eq!(tr.values, vec![1.5]);
        assert_eq!(a.skipped_non_finite, 1);
        assert!(a.is_empty());
    }

    #[test]
    fn trends_over_the_cap_are_sampled_uniformly() {
        let mut b = BatchBuilder::new();
        let t = b.metric("t", MetricType::Trend, ValueKind::Time);
        let st = b.series(t, &[], &[]);
        for i in 0..10_000 {
            b.sample(st, i, i as f64);
        }
        let mut cat = Catalog::new();
        cat.absorb(&b.batch());
        let mut a = Aggregator::new(100);
        for s in b.samples.iter() {
            a.add(&cat, s);
        }
        let cells = a.drain();
        let Agg::Trend(tr) = &cells[&(st, Variant::Plain)].agg else {
            panic!("not a trend")
        };
        assert_eq!(cells[&(st, Variant::Plain)].samples, 10_000);
        assert_eq!(tr.values.len(), 100);
        assert_eq!(tr.count, 10_000);
        assert_eq!((tr.min, tr.max), (0.0, 9999.0));
        assert!((tr.sample_rate() - 0.01).abs() < 1e-12);
        // A uniform sample of 0..10000 has a mean near 5000; a "first 100" bug would give 49.5.
        let mean = tr.values.iter().sum::<f64>() / 100.0;
        assert!((3500.0..6500.0).contains(&mean), "mean {mean}");
    }
}
