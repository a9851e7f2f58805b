//! Per-series accumulators, one per k6 metric type, with bounded memory. k6 calls them sinks;
//! here a sink is only where an output writes its bytes (`loadrun-file-sink`).
//!
//! Trends keep their raw values while there are few of them (so small runs get k6's exact
//! percentiles, interpolation included), then switch to a [`Sketch`] whose estimates are within
//! [`relative_accuracy`] of the true value, whatever the run length. min, max, sum and count stay
//! exact either way.

use loadrun_metrics::MetricType;
use loadrun_sketch::{scale, Layout, Sketch};
use serde::{Deserialize, Serialize};

/// Raw values kept per trend before switching to the sketch (8 KiB).
pub const EXACT_CAP: usize = 1024;
/// More samples than any run records: a count above it in a file is corruption (and would
/// overflow when merged).
const MAX_COUNT: u64 = 1 << 56;
/// Scale 10: 1024 buckets per doubling, 0.034 % relative error. 32 768 buckets per sign keep
/// that from a microsecond to over an hour in milliseconds (32 doublings); wider trends drop
/// a scale step. Magnitudes below a nanosecond (in milliseconds) count as zero.
const LAYOUT: Layout = Layout {
    max_scale: 10,
    max_buckets: 32_768,
    zero_threshold: 1e-6,
};

/// The relative error bound of a sketched percentile (while the trend fits [`LAYOUT`]).
pub fn relative_accuracy() -> f64 {
    scale::relative_accuracy(LAYOUT.max_scale)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Dist {
    Exact(Vec<f64>),
    Sketch(Box<Sketch>),
}

/// What k6's `TrendSink` keeps: count, sum, min, max and a distribution for percentiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendAccumulator {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    dist: Dist,
}

impl Default for TrendAccumulator {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            dist: Dist::Exact(Vec::new()),
        }
    }
}

impl TrendAccumulator {
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum += v;
        match &mut self.dist {
            Dist::Exact(values) if values.len() < EXACT_CAP => values.push(v),
            Dist::Exact(values) => {
                let mut sketch = Sketch::new(LAYOUT);
                for x in values.iter() {
                    sketch.add(*x);
                }
                sketch.add(v);
                self.dist = Dist::Sketch(Box::new(sketch));
            }
            Dist::Sketch(sketch) => {
                sketch.add(v);
            }
        }
    }

    pub fn merge(&mut self, other: &TrendAccumulator) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        let combined = match (&mut self.dist, &other.dist) {
            (Dist::Exact(a), Dist::Exact(b)) if a.len() + b.len() <= EXACT_CAP => {
                a.extend_from_slice(b);
                return;
            }
            (Dist::Sketch(a), Dist::Sketch(b)) => {
                a.merge(b);
                return;
            }
            (Dist::Sketch(a), Dist::Exact(b)) => {
                for x in b {
                    a.add(*x);
                }
                return;
            }
            (Dist::Exact(a), Dist::Sketch(b)) => {
                let mut s = b.clone();
                for x in a.iter() {
                    s.add(*x);
                }
                s
            }
            (Dist::Exact(a), Dist::Exact(b)) => {
                let mut s = Box::new(Sketch::new(LAYOUT));
                for x in a.iter().chain(b.iter()) {
                    s.add(*x);
                }
                s
            }
        };
        self.dist = Dist::Sketch(combined);
    }

    fn check(&self) -> Result<(), String> {
        for (name, x) in [("sum", self.sum), ("min", self.min), ("max", self.max)] {
            if !x.is_finite() {
                return Err(format!("trend {name} is not a finite number"));
            }
        }
        if self.count > MAX_COUNT {
            return Err(format!("trend count {} is beyond any run", self.count));
        }
        if self.count > 0 && self.min > self.max {
            return Err(format!("trend min {} above max {}", self.min, self.max));
        }
        let held = match &self.dist {
            Dist::Exact(values) if values.len() > EXACT_CAP => {
                return Err(format!(
                    "{} raw trend values, more than the {EXACT_CAP} kept",
                    values.len()
                ))
            }
            Dist::Exact(values) => {
                if values.iter().any(|v| !v.is_finite()) {
                    return Err("a trend value is not a finite number".into());
                }
                values.len() as u64
            }
            Dist::Sketch(s) => {
                s.check().map_err(|e| e.to_string())?;
                if (s.min(), s.max()) != (self.min, self.max) {
                    return Err("trend min and max differ from its sketch's".into());
                }
                s.count()
            }
        };
        if held != self.count {
            return Err(format!(
                "trend count {} but its distribution holds {held}",
                self.count
            ));
        }
        Ok(())
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self.dist, Dist::Exact(_))
    }

    /// k6's `P(q)`: linear interpolation between the two closest ranks, `q` in 0..=1.
    pub fn percentile(&self, q: f64) -> f64 {
        let q = q.clamp(0.0, 1.0);
        match self.count {
            0 => return 0.0,
            1 => return self.min,
            _ => {}
        }
        let i = q * (self.count as f64 - 1.0);
        let (lo, hi) = (i.floor() as u64, i.ceil() as u64);
        let f = i - i.floor();
        let (j, k) = match &self.dist {
            Dist::Exact(values) => {
                let mut sorted = values.clone();
                sorted.sort_by(f64::total_cmp);
                let at = |r: u64| sorted.get(r as usize).copied().unwrap_or(self.max);
                (at(lo), at(hi))
            }
            // The sketch keeps the same exact extremes; only the inside is estimated.
            Dist::Sketch(s) => (s.value_at_rank(lo), s.value_at_rank(hi)),
        };
        j + (k - j) * f
    }
}

/// What one series (or a merge of several) has accumulated.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Accumulator {
    Counter {
        sum: f64,
    },
    Gauge {
        last: f64,
        /// Arrival order of `last`, so merged series keep the most recent value.
        #[serde(rename = "lastSeq")]
        last_seq: u64,
        /// When `last` was recorded (unix ns): across processes, arrival order means nothing.
        #[serde(rename = "lastTimeNs")]
        last_time_ns: i64,
        min: f64,
        max: f64,
        seen: bool,
    },
    Rate {
        trues: u64,
        total: u64,
    },
    Trend(TrendAccumulator),
}

impl Accumulator {
    pub fn new(metric_type: MetricType) -> Self {
        match metric_type {
            MetricType::Counter => Accumulator::Counter { sum: 0.0 },
            MetricType::Gauge => Accumulator::Gauge {
                last: 0.0,
                last_seq: 0,
                last_time_ns: 0,
                min: 0.0,
                max: 0.0,
                seen: false,
            },
            MetricType::Rate => Accumulator::Rate { trues: 0, total: 0 },
            MetricType::Trend => Accumulator::Trend(TrendAccumulator::default()),
        }
    }

    pub fn add(&mut self, v: f64, seq: u64) {
        self.add_at(v, seq, 0);
    }

    /// [`Accumulator::add`] of a sample recorded at `time_ns` (unix ns).
    pub fn add_at(&mut self, v: f64, seq: u64, time_ns: i64) {
        match self {
            Accumulator::Counter { sum } => {
                if v.is_finite() {
                    *sum += v;
                }
            }
            Accumulator::Gauge {
                last,
                last_seq,
                last_time_ns,
                min,
                max,
                seen,
            } => {
                if !v.is_finite() {
                    return;
                }
                if *seen {
                    *min = min.min(v);
                    *max = max.max(v);
                } else {
                    *min = v;
                    *max = v;
                    *seen = true;
                }
                *last = v;
                *last_seq = seq;
                *last_time_ns = time_ns;
            }
            Accumulator::Rate { trues, total } => {
                *total += 1;
                if v != 0.0 {
                    *trues += 1;
                }
            }
            Accumulator::Trend(t) => t.add(v),
        }
    }

    /// Folds another accumulator of the same type into this one; one of another type is ignored.
    pub fn merge(&mut self, other: &Accumulator) {
        match (self, other) {
            (Accumulator::Counter { sum }, Accumulator::Counter { sum: o }) => *sum += o,
            (
                Accumulator::Gauge {
                    last,
                    last_seq,
                    last_time_ns,
                    min,
                    max,
                    seen,
                },
                Accumulator::Gauge {
                    last: ol,
                    last_seq: os,
                    last_time_ns: ot,
                    min: omin,
                    max: omax,
                    seen: oseen,
                },
            ) => {
                if !*oseen {
                    return;
                }
                if *seen {
                    *min = min.min(*omin);
                    *max = max.max(*omax);
                } else {
                    *min = *omin;
                    *max = *omax;
                }
                if !*seen || *os >= *last_seq {
                    *last = *ol;
                    *last_seq = *os;
                    *last_time_ns = *ot;
                }
                *seen = true;
            }
            (Accumulator::Rate { trues, total }, Accumulator::Rate { trues: t, total: n }) => {
                *trues += t;
                *total += n;
            }
            (Accumulator::Trend(a), Accumulator::Trend(b)) => a.merge(b),
            _ => {}
        }
    }

    /// Whether a state read from a file is one `add` and `merge` could have produced; what is
    /// wrong otherwise.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, x: f64| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} is not a finite number"))
            }
        };
        match self {
            Accumulator::Counter { sum } => finite("sum", *sum),
            Accumulator::Gauge { last, min, max, .. } => {
                finite("last", *last)?;
                finite("min", *min)?;
                finite("max", *max)
            }
            Accumulator::Rate { total, .. } if *total > MAX_COUNT => {
                Err(format!("rate total {total} is beyond any run"))
            }
            Accumulator::Rate { trues, total } if trues > total => {
                Err(format!("{trues} passes out of {total}"))
            }
            Accumulator::Rate { .. } => Ok(()),
            Accumulator::Trend(t) => t.check(),
        }
    }

    /// Orders gauges by the time of their last value rather than by arrival: what a merge of
    /// several processes' states needs.
    pub fn order_by_time(&mut self) {
        if let Accumulator::Gauge {
            last_seq,
            last_time_ns,
            ..
        } = self
        {
            *last_seq = u64::try_from(*last_time_ns).unwrap_or(0);
        }
    }

    /// No sample has been added.
    pub fn is_empty(&self) -> bool {
        match self {
            Accumulator::Counter { .. } => false,
            Accumulator::Gauge { seen, .. } => !seen,
            Accumulator::Rate { total, .. } => *total == 0,
            Accumulator::Trend(t) => t.count == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// k6's percentile on a sorted slice, for comparison.
    fn k6_p(sorted: &[f64], q: f64) -> f64 {
        let i = q * (sorted.len() as f64 - 1.0);
        let (j, k) = (sorted[i.floor() as usize], sorted[i.ceil() as usize]);
        j + (k - j) * (i - i.floor())
    }

    #[test]
    fn exact_percentiles_interpolate_like_k6() {
        // The eight http_req_duration values' p(90) and p(95) of the fixture run are interpolated.
        let mut t = TrendAccumulator::default();
        for v in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0] {
            t.add(v);
        }
        assert!((t.percentile(0.9) - 7.3).abs() < 1e-12);
        assert!((t.percentile(0.95) - 7.65).abs() < 1e-12);
        assert!((t.percentile(0.5) - 4.5).abs() < 1e-12);
        assert_eq!(t.avg(), 4.5);
    }

    #[test]
    fn sketched_percentiles_stay_within_a_tenth_of_a_percent() {
        let mut t = TrendAccumulator::default();
        let mut all = Vec::new();
        // A long-tailed, deterministic spread from 50µs to ~30s.
        let mut x = 0.5f64;
        for i in 0..200_000u32 {
            x = (x * 3.9 * (1.0 - x)).clamp(1e-6, 1.0 - 1e-6);
            let v = 0.05 * (1.0 + f64::from(i % 7)) * (x * 12.0).exp();
            t.add(v);
            all.push(v);
        }
        assert!(!t.is_exact());
        all.sort_by(f64::total_cmp);
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let want = k6_p(&all, q);
            let got = t.percentile(q);
            assert!(
                ((got - want) / want).abs() < 0.001,
                "q={q}: got {got}, want {want}"
            );
        }
        assert_eq!(t.min, all[0]);
        assert_eq!(t.max, all[all.len() - 1]);
    }

    #[test]
    fn memory_is_bounded_by_range_not_count() {
        let mut t = TrendAccumulator::default();
        for i in 0..1_000_000u64 {
            t.add(1.0 + (i % 1000) as f64);
        }
        let Dist::Sketch(s) = &t.dist else {
            panic!("should have switched to the sketch")
        };
        // log2(1000)·1024 buckets at scale 10, however many values.
        assert!(s.buckets() <= 10_206, "{}", s.buckets());
        assert_eq!(s.scale(), 10);
    }

    #[test]
    fn merging_exact_and_sketched_trends_keeps_counts() {
        let mut a = TrendAccumulator::default();
        let mut b = TrendAccumulator::default();
        for i in 0..600 {
            a.add(f64::from(i));
            b.add(f64::from(i + 600));
        }
        a.merge(&b);
        assert_eq!(a.count, 1200);
        assert!(!a.is_exact());
        assert_eq!(a.min, 0.0);
        assert_eq!(a.max, 1199.0);
        let med = a.percentile(0.5);
        assert!((med - 599.5).abs() / 599.5 < 0.001, "{med}");
    }

    #[test]
    fn negative_values_are_ordered() {
        let mut t = TrendAccumulator::default();
        for i in -1500..1500 {
            t.add(f64::from(i));
        }
        let p10 = t.percentile(0.1);
        assert!((p10 - -1200.1).abs() / 1200.1 < 0.001, "{p10}");
    }

    #[test]
    fn gauges_merge_to_the_latest_value() {
        let mut a = Accumulator::new(MetricType::Gauge);
        let mut b = Accumulator::new(MetricType::Gauge);
        a.add(5.0, 1);
        b.add(1.0, 2);
        a.add(7.0, 3);
        let mut m = Accumulator::new(MetricType::Gauge);
        m.merge(&b);
        m.merge(&a);
        let Accumulator::Gauge { last, min, max, .. } = m else {
            panic!()
        };
        assert_eq!((last, min, max), (7.0, 1.0, 7.0));
    }

    #[test]
    fn rates_count_non_zero_as_true() {
        let mut r = Accumulator::new(MetricType::Rate);
        for v in [1.0, 0.0, 2.0, 0.0] {
            r.add(v, 0);
        }
        assert!(matches!(r, Accumulator::Rate { trues: 2, total: 4 }));
    }
}
