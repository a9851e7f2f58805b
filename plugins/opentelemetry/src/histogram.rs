//! The two histogram aggregations a trend can have: OTLP's base-2 exponential histogram
//! (the default) and the explicit-bucket histogram k6 sends.

use loadrun_sketch::{Layout, Sketch};

/// A base-2 exponential histogram (OTLP `ExponentialHistogramDataPoint`): the shared sketch,
/// whose buckets are OTLP's own. It starts at `max_scale` and halves its resolution whenever
/// the values of one sign span more than `max_buckets` buckets, as the OpenTelemetry SDKs do,
/// so memory stays bounded whatever arrives. Only zero itself goes to the zero bucket (the
/// data point's `zero_threshold` is left at its default, 0).
pub fn exponential(max_scale: i32, max_buckets: usize) -> Sketch {
    Sketch::new(Layout {
        max_scale,
        max_buckets: max_buckets.max(2),
        zero_threshold: 0.0,
    })
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
    fn exponential_stays_bounded_and_counts_everything() {
        let mut h = exponential(5, 64);
        let mut v = 0.001;
        let mut n = 0;
        while v < 1e6 {
            h.add(v);
            h.add(-v);
            n += 2;
            v *= 1.07;
        }
        h.add(0.0);
        assert!(h.scale() < 5);
        assert!(h.positive().counts.len() <= 64 && h.negative().counts.len() <= 64);
        let total = h.positive().total() + h.negative().total();
        assert_eq!(total + h.zero_count(), n + 1);
        assert_eq!(h.count(), n + 1);
        assert_eq!(h.min(), -h.max());
        // every value still falls in the bucket its index names at the final scale
        let i = loadrun_sketch::scale::index(1000.0, h.scale());
        let (lo, hi) = (
            loadrun_sketch::scale::lower_bound(i, h.scale()),
            loadrun_sketch::scale::upper_bound(i, h.scale()),
        );
        assert!(lo < 1000.0 && 1000.0 <= hi);
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
