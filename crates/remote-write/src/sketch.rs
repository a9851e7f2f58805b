//! A bounded-memory trend sketch: an exponential histogram with Prometheus' native-histogram
//! bucket layout, plus exact count, sum, min and max.
//!
//! k6 keeps every trend value for the whole run (its memory grows without bound in soak tests);
//! this keeps one counter per occupied bucket instead. At schema `s` bucket `i` holds the values
//! in `(2^((i-1)/2^s), 2^(i/2^s)]`. Percentiles read a bucket's value as the point with equal
//! relative distance to both bounds, so the answer is within `(b-1)/(b+1)` of a real sample
//! at that rank, with `b = 2^(2^-s)`: 0.54 % at the default schema 6. The exact min and max
//! clamp every estimate, and rank 0 and the last rank give them exactly. The same buckets,
//! merged down to a coarser schema, are what native histograms send.
//!
//! Memory: one entry per occupied bucket, 64 per doubling of the value at schema 6 (1 µs to
//! 1 h spans 32 doublings: about 2 000 entries at most). If a sketch ever holds more than
//! [`MAX_BUCKETS`], it halves its resolution (schema − 1), as Prometheus' client does.

use std::collections::BTreeMap;

use crate::proto::{BucketSpan, Histogram};

/// The zero bucket's threshold, as client_golang's native histograms use (2^-128).
pub const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// Above this many occupied buckets the sketch halves its resolution.
pub const MAX_BUCKETS: usize = 8192;

/// The schema percentiles are computed at unless a finer one is asked for.
pub const DEFAULT_SCHEMA: i32 = 6;

#[derive(Debug, Clone)]
pub struct Sketch {
    schema: i32,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zero: u64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Sketch {
    /// A sketch at `schema` (clamped to Prometheus' −4..=8).
    pub fn new(schema: i32) -> Self {
        Self {
            schema: schema.clamp(-4, 8),
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            zero: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub fn schema(&self) -> i32 {
        self.schema
    }

    /// Adds a value; non-finite values are ignored (they have no bucket).
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v.abs() <= ZERO_THRESHOLD {
            self.zero += 1;
        } else if v > 0.0 {
            *self
                .positive
                .entry(bucket_index(v, self.schema))
                .or_insert(0) += 1;
        } else {
            *self
                .negative
                .entry(bucket_index(-v, self.schema))
                .or_insert(0) += 1;
        }
        if self.positive.len() + self.negative.len() > MAX_BUCKETS && self.schema > -4 {
            let to = self.schema - 1;
            self.positive = downscale(&self.positive, self.schema, to);
            self.negative = downscale(&self.negative, self.schema, to);
            self.schema = to;
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value; 0 when empty (as k6).
    pub fn min(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.min
        }
    }

    /// The largest value; 0 when empty (as k6).
    pub fn max(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.max
        }
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// Occupied buckets, for memory accounting.
    pub fn buckets(&self) -> usize {
        self.positive.len() + self.negative.len()
    }

    /// The `pct` percentile (0–100) the way k6's trend sink computes it: linear interpolation
    /// between the values at ranks `floor(r)` and `ceil(r)`, `r = pct/100 · (count − 1)`.
    pub fn percentile(&self, pct: f64) -> f64 {
        match self.count {
            0 => 0.0,
            1 => self.min,
            n => {
                let r = (pct / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
                let lo = r.floor();
                let hi = r.ceil();
                let a = self.value_at_rank(lo as u64);
                if hi == lo {
                    return a;
                }
                let b = self.value_at_rank(hi as u64);
                a + (b - a) * (r - lo)
            }
        }
    }

    /// The estimated value of the `rank`-th smallest sample (0-based).
    fn value_at_rank(&self, rank: u64) -> f64 {
        if rank == 0 {
            return self.min;
        }
        if rank + 1 >= self.count {
            return self.max;
        }
        let mut seen = 0u64;
        // Negative buckets from the largest magnitude (the most negative values) down.
        for (idx, n) in self.negative.iter().rev() {
            seen += n;
            if rank < seen {
                return self.clamp(-representative(*idx, self.schema));
            }
        }
        seen += self.zero;
        if rank < seen {
            return self.clamp(0.0);
        }
        for (idx, n) in &self.positive {
            seen += n;
            if rank < seen {
                return self.clamp(representative(*idx, self.schema));
            }
        }
        self.max
    }

    fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.min, self.max)
    }

    /// The sketch as a native histogram at `schema` (coarser than or equal to its own; a finer
    /// one is served at the sketch's own schema).
    pub fn to_native(&self, schema: i32, timestamp_ms: i64) -> Histogram {
        let schema = schema.clamp(-4, 8).min(self.schema);
        let pos = downscale(&self.positive, self.schema, schema);
        let neg = downscale(&self.negative, self.schema, schema);
        let (positive_spans, positive_deltas) = spans_and_deltas(&pos);
        let (negative_spans, negative_deltas) = spans_and_deltas(&neg);
        Histogram {
            count: self.count,
            sum: self.sum,
            schema,
            zero_threshold: ZERO_THRESHOLD,
            zero_count: self.zero,
            negative_spans,
            negative_deltas,
            positive_spans,
            positive_deltas,
            timestamp_ms,
        }
    }
}

/// The bucket of `v > 0` at `schema`: the `i` with `2^((i-1)/2^s) < v ≤ 2^(i/2^s)`.
pub fn bucket_index(v: f64, schema: i32) -> i32 {
    let scaled = v.log2() * 2f64.powi(schema);
    let mut i = scaled.ceil();
    // log2 may land a hair off an exact boundary; check against the bound itself.
    if upper_bound(i as i32 - 1, schema) >= v {
        i -= 1.0;
    } else if upper_bound(i as i32, schema) < v {
        i += 1.0;
    }
    i.clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

fn upper_bound(idx: i32, schema: i32) -> f64 {
    2f64.powf(f64::from(idx) * 2f64.powi(-schema))
}

/// The point of bucket `idx` with the same relative distance to both of its bounds.
fn representative(idx: i32, schema: i32) -> f64 {
    let base = 2f64.powf(2f64.powi(-schema));
    2.0 * upper_bound(idx, schema) / (base + 1.0)
}

/// Merges buckets from schema `from` down to `to` (≤ `from`), Prometheus' rule.
fn downscale(buckets: &BTreeMap<i32, u64>, from: i32, to: i32) -> BTreeMap<i32, u64> {
    let shift = (from - to).max(0) as u32;
    if shift == 0 {
        return buckets.clone();
    }
    let mut out = BTreeMap::new();
    for (idx, n) in buckets {
        let target = ((i64::from(*idx) - 1) >> shift) + 1;
        *out.entry(target as i32).or_insert(0) += n;
    }
    out
}

/// Spans of consecutive indices and delta-encoded counts, as the protobuf wants them.
fn spans_and_deltas(buckets: &BTreeMap<i32, u64>) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let mut prev_idx: Option<i32> = None;
    let mut prev_count = 0i64;
    for (idx, n) in buckets {
        let n = i64::try_from(*n).unwrap_or(i64::MAX);
        match prev_idx {
            Some(p) if *idx == p + 1 => {
                if let Some(last) = spans.last_mut() {
                    last.length += 1;
                }
            }
            Some(p) => spans.push(BucketSpan {
                offset: idx - p - 1,
                length: 1,
            }),
            None => spans.push(BucketSpan {
                offset: *idx,
                length: 1,
            }),
        }
        deltas.push(n - prev_count);
        prev_count = n;
        prev_idx = Some(*idx);
    }
    (spans, deltas)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// k6's trend-sink percentile over all values.
    fn exact(values: &mut [f64], pct: f64) -> f64 {
        values.sort_by(f64::total_cmp);
        let r = pct / 100.0 * (values.len() - 1) as f64;
        let (j, k) = (values[r.floor() as usize], values[r.ceil() as usize]);
        j + (k - j) * (r - r.floor())
    }

    #[test]
    fn bucket_bounds() {
        assert_eq!(bucket_index(1.0, 0), 0);
        assert_eq!(bucket_index(2.0, 0), 1);
        assert_eq!(bucket_index(2.1, 0), 2);
        assert_eq!(bucket_index(0.5, 0), -1);
        assert_eq!(bucket_index(2.0, 3), 8);
        assert_eq!(bucket_index(1.0001, 3), 1);
        for s in -4..=8 {
            for v in [1e-6, 0.3, 1.0, 7.0, 1234.5] {
                let i = bucket_index(v, s);
                assert!(
                    upper_bound(i - 1, s) < v && v <= upper_bound(i, s),
                    "{v} {s}"
                );
            }
        }
    }

    #[test]
    fn percentiles_within_one_percent() {
        // A skewed latency-like distribution over five decades, negative and zero values too.
        let mut values: Vec<f64> = (0..20_000u64)
            .map(|i| {
                let x = (i * 7919 % 20_000) as f64 / 20_000.0;
                0.0005 * (x * 11.0).exp()
            })
            .collect();
        values.extend([0.0, 0.0, -3.0, -0.25]);
        let mut s = Sketch::new(DEFAULT_SCHEMA);
        for v in &values {
            s.add(*v);
        }
        for p in [1.0, 10.0, 50.0, 90.0, 95.0, 99.0, 99.9] {
            let want = exact(&mut values, p);
            let got = s.percentile(p);
            assert!(
                ((got - want) / want).abs() < 0.01,
                "p({p}): got {got}, want {want}"
            );
        }
        assert_eq!(s.percentile(0.0), -3.0);
        assert_eq!(
            s.percentile(100.0),
            values.iter().cloned().fold(f64::MIN, f64::max)
        );
        assert_eq!(s.count(), values.len() as u64);
        assert!(s.buckets() < 2000, "{}", s.buckets());
    }

    #[test]
    fn small_counts_match_k6_exactly_at_the_ends() {
        let mut s = Sketch::new(DEFAULT_SCHEMA);
        assert_eq!(s.percentile(99.0), 0.0);
        s.add(12.5);
        assert_eq!(s.percentile(99.0), 12.5);
        s.add(10.0);
        // ranks 0 and 1 are min and max exactly: interpolation is then k6's.
        assert!((s.percentile(50.0) - 11.25).abs() < 1e-12);
        assert_eq!(s.avg(), 11.25);
    }

    #[test]
    fn overflow_halves_resolution() {
        let mut s = Sketch::new(8);
        let mut v = 1e-30;
        while s.schema() == 8 {
            s.add(v);
            v *= 1.001;
        }
        assert_eq!(s.schema(), 7);
        assert!(s.buckets() <= MAX_BUCKETS);
    }

    #[test]
    fn native_histogram_layout() {
        let mut s = Sketch::new(6);
        for v in [1.0, 1.0, 2.0, 3.0, 0.0, -1.5] {
            s.add(v);
        }
        let h = s.to_native(0, 42);
        // schema 0 buckets: 1 → 0, 2 → 1, 3 → 2 (consecutive); -1.5 → 1 negative.
        assert_eq!(h.schema, 0);
        assert_eq!(h.count, 6);
        assert_eq!(h.zero_count, 1);
        assert_eq!(
            h.positive_spans,
            vec![BucketSpan {
                offset: 0,
                length: 3
            }]
        );
        assert_eq!(h.positive_deltas, vec![2, -1, 0]);
        assert_eq!(
            h.negative_spans,
            vec![BucketSpan {
                offset: 1,
                length: 1
            }]
        );
        assert_eq!(h.negative_deltas, vec![1]);
        let mut t = Sketch::new(3);
        for v in [1.0, 4.0] {
            t.add(v);
        }
        let h = t.to_native(3, 0);
        assert_eq!(
            h.positive_spans,
            vec![
                BucketSpan {
                    offset: 0,
                    length: 1
                },
                BucketSpan {
                    offset: 15,
                    length: 1
                }
            ]
        );
        assert_eq!(h.positive_deltas, vec![1, 0]);
    }
}
