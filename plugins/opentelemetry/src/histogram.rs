//! The two histogram aggregations a trend can have: OTLP's base-2 exponential histogram
//! (the default) and the explicit-bucket histogram k6 sends.

/// Buckets of one sign of an exponential histogram: `counts[i]` is bucket `offset + i`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpBuckets {
    pub offset: i64,
    pub counts: Vec<u64>,
}

impl ExpBuckets {
    fn range(&self) -> Option<(i64, i64)> {
        (!self.counts.is_empty()).then(|| (self.offset, self.offset + self.counts.len() as i64 - 1))
    }

    /// Halves the resolution `by` times: buckets `2i` and `2i+1` become bucket `i`.
    fn downscale(&mut self, by: u32) {
        if by == 0 || self.counts.is_empty() {
            return;
        }
        let new_offset = self.offset >> by;
        let mut merged: Vec<u64> = Vec::new();
        for (i, c) in self.counts.iter().enumerate() {
            let idx = ((self.offset + i as i64) >> by) - new_offset;
            let idx = idx as usize;
            if merged.len() <= idx {
                merged.resize(idx + 1, 0);
            }
            merged[idx] += c;
        }
        self.offset = new_offset;
        self.counts = merged;
    }

    fn add(&mut self, index: i64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(1);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, vec![0u64; grow]);
            self.offset = index;
        }
        let i = (index - self.offset) as usize;
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
    }
}

/// A base-2 exponential histogram (OTLP `ExponentialHistogramDataPoint`).
///
/// Bucket `i` at scale `s` holds values in `(2^(i·2^-s), 2^((i+1)·2^-s)]`. It starts at
/// `max_scale` and halves its resolution whenever the values span more than `max_buckets`
/// buckets, as the OpenTelemetry SDKs do, so memory stays bounded whatever arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpHistogram {
    pub scale: i32,
    pub max_buckets: usize,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub zero_count: u64,
    pub positive: ExpBuckets,
    pub negative: ExpBuckets,
}

/// The lowest scale OTLP allows.
const MIN_SCALE: i32 = -10;

impl ExpHistogram {
    pub fn new(max_scale: i32, max_buckets: usize) -> Self {
        Self {
            scale: max_scale,
            max_buckets: max_buckets.max(2),
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            zero_count: 0,
            positive: ExpBuckets::default(),
            negative: ExpBuckets::default(),
        }
    }

    /// The bucket index of `|v|` (> 0) at `scale`.
    pub fn index(v: f64, scale: i32) -> i64 {
        // Exact powers of two sit on a boundary: log2 is exact for them, so the upper-inclusive
        // rule holds without the frexp special case.
        let scaled = v.log2() * 2f64.powi(scale);
        scaled.ceil() as i64 - 1
    }

    /// The lower and upper bound of bucket `index` at `scale`.
    pub fn bounds(index: i64, scale: i32) -> (f64, f64) {
        let base = 2f64.powf(2f64.powi(-scale));
        (base.powf(index as f64), base.powf(index as f64 + 1.0))
    }

    /// Records a finite value (callers drop NaN and infinities).
    pub fn record(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v == 0.0 {
            self.zero_count += 1;
            return;
        }
        let mag = v.abs();
        let mut index = Self::index(mag, self.scale);
        let by = self.needed_downscale(index, v > 0.0);
        if by > 0 {
            self.positive.downscale(by);
            self.negative.downscale(by);
            self.scale -= by as i32;
            index = Self::index(mag, self.scale);
        }
        if v > 0.0 {
            self.positive.add(index);
        } else {
            self.negative.add(index);
        }
    }

    /// How many halvings make room for `index` in the buckets of its sign.
    fn needed_downscale(&self, index: i64, positive: bool) -> u32 {
        let buckets = if positive {
            &self.positive
        } else {
            &self.negative
        };
        let Some((lo, hi)) = buckets.range() else {
            return 0;
        };
        let (mut lo, mut hi) = (lo.min(index), hi.max(index));
        let mut by = 0;
        while hi - lo + 1 > self.max_buckets as i64 && self.scale - (by as i32) > MIN_SCALE {
            lo >>= 1;
            hi >>= 1;
            by += 1;
        }
        by
    }
}

/// An explicit-bucket histogram (OTLP `HistogramDataPoint`): `counts[i]` holds values in
/// `(bounds[i-1], bounds[i]]`, the last one everything above the last bound.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplicitHistogram {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub counts: Vec<u64>,
}

impl ExplicitHistogram {
    pub fn new(bounds: &[f64]) -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            counts: vec![0; bounds.len() + 1],
        }
    }

    pub fn record(&mut self, bounds: &[f64], v: f64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        let i = bounds.partition_point(|b| *b < v);
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
    }
}

/// The OpenTelemetry SDKs' default bounds, which k6 sends for every trend.
pub const SDK_DEFAULT_BOUNDS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Default bounds for time trends (ms) in explicit mode: the SDK's bounds are blind below 5 ms,
/// where most local and LAN latencies live, so start at 0.1 ms.
pub const TIME_BOUNDS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0,
    2500.0, 5000.0, 7500.0, 10000.0, 30000.0, 60000.0,
];

/// Default bounds for data trends (bytes) in explicit mode.
pub const DATA_BOUNDS: &[f64] = &[
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exponential_indexes_are_upper_inclusive() {
        assert_eq!(ExpHistogram::index(1.0, 0), -1);
        assert_eq!(ExpHistogram::index(2.0, 0), 0);
        assert_eq!(ExpHistogram::index(2.1, 0), 1);
        assert_eq!(ExpHistogram::index(4.0, 1), 3);
        assert_eq!(ExpHistogram::index(0.5, 0), -2);
        for v in [0.013, 1.0, 3.7, 250.0, 12345.6] {
            let i = ExpHistogram::index(v, 5);
            let (lo, hi) = ExpHistogram::bounds(i, 5);
            assert!(
                lo < v * (1.0 + 1e-12) && v <= hi * (1.0 + 1e-12),
                "{v} in ({lo}, {hi}]"
            );
            // scale 5: every bucket is narrower than ±1.1% around its middle
            assert!((hi - lo) / (hi + lo) < 0.011);
        }
    }

    #[test]
    fn exponential_stays_bounded_and_counts_everything() {
        let mut h = ExpHistogram::new(5, 64);
        let mut v = 0.001;
        let mut n = 0;
        while v < 1e6 {
            h.record(v);
            h.record(-v);
            n += 2;
            v *= 1.07;
        }
        h.record(0.0);
        assert!(h.scale < 5);
        assert!(h.positive.counts.len() <= 64 && h.negative.counts.len() <= 64);
        let total: u64 = h.positive.counts.iter().chain(&h.negative.counts).sum();
        assert_eq!(total + h.zero_count, n + 1);
        assert_eq!(h.count, n + 1);
        assert_eq!(h.min, -h.max);
        // every value still falls in the bucket its index names at the final scale
        let i = ExpHistogram::index(1000.0, h.scale);
        let (lo, hi) = ExpHistogram::bounds(i, h.scale);
        assert!(lo < 1000.0 && 1000.0 <= hi * (1.0 + 1e-12));
    }

    #[test]
    fn explicit_buckets_follow_otlp_boundaries() {
        let b = [0.0, 5.0, 10.0];
        let mut h = ExplicitHistogram::new(&b);
        for v in [-1.0, 0.0, 0.5, 5.0, 5.01, 10.0, 11.0] {
            h.record(&b, v);
        }
        assert_eq!(h.counts, vec![2, 2, 2, 1]);
        assert_eq!(h.count, 7);
    }
}
