//! Percentiles of one trend in one interval, in bounded memory.
//!
//! Up to [`EXACT_CAP`] values are kept as they are and percentiles are k6's (linear
//! interpolation between the closest ranks), so small intervals give exactly what k6's summary
//! would. Past that, the values move into a [`Sketch`] at scale 6 (0.54 % relative error), whose
//! 2048 buckets per sign cover 32 doublings (a microsecond to over an hour in milliseconds) at
//! that accuracy: a series window costs 4 KB exact, at most 32 KB sketched.

use loadrun_sketch::{percentile_of_sorted, Layout, Sketch};

/// Values kept exactly before switching to the sketch.
pub const EXACT_CAP: usize = 512;
const LAYOUT: Layout = Layout {
    max_scale: 6,
    max_buckets: 2048,
    zero_threshold: 1e-9,
};

#[derive(Debug, Clone, Default)]
pub struct Quantiles {
    exact: Vec<f64>,
    sketch: Option<Box<Sketch>>,
}

impl Quantiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finite value (callers filter NaN and infinities).
    pub fn add(&mut self, v: f64) {
        match &mut self.sketch {
            Some(s) => {
                s.add(v);
            }
            None => {
                self.exact.push(v);
                if self.exact.len() > EXACT_CAP {
                    let mut s = Box::new(Sketch::new(LAYOUT));
                    for x in self.exact.drain(..) {
                        s.add(x);
                    }
                    self.sketch = Some(s);
                }
            }
        }
    }

    /// The `pct` (0..100) percentile, clamped to `[min, max]`; `None` when empty.
    pub fn percentile(&mut self, pct: f64, min: f64, max: f64) -> Option<f64> {
        let v = match &self.sketch {
            Some(s) => s.percentile(pct / 100.0),
            None => {
                if self.exact.is_empty() {
                    return None;
                }
                self.exact.sort_by(f64::total_cmp);
                percentile_of_sorted(&self.exact, pct / 100.0)
            }
        };
        Some(v.clamp(min, max))
    }

    /// Whether the sketch is in use (for tests).
    pub fn is_sketched(&self) -> bool {
        self.sketch.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_percentiles_match_k6() {
        let mut q = Quantiles::new();
        for v in [10.0, 20.0, 30.0, 40.0] {
            q.add(v);
        }
        // k6: p(50) of 10,20,30,40 = 25; p(90) = 37; p(95) = 38.5
        assert_eq!(q.percentile(50.0, 10.0, 40.0), Some(25.0));
        assert_eq!(q.percentile(90.0, 10.0, 40.0), Some(37.0));
        assert_eq!(q.percentile(95.0, 10.0, 40.0), Some(38.5));
        assert!(!q.is_sketched());
        assert_eq!(Quantiles::new().percentile(50.0, 0.0, 0.0), None);
    }

    #[test]
    fn sketch_stays_within_its_bound() {
        let mut q = Quantiles::new();
        let mut all = Vec::new();
        for i in 0..100_000u64 {
            // Spread over five decades, like latencies with a long tail.
            let v = 0.1 * (1.0 + (i as f64 * 0.618_033_988_7) % 1.0).powf(16.0);
            q.add(v);
            all.push(v);
        }
        assert!(q.is_sketched());
        all.sort_by(f64::total_cmp);
        let (min, max) = (all[0], all[all.len() - 1]);
        for p in [50.0, 90.0, 95.0, 99.0, 99.9] {
            let want = percentile_of_sorted(&all, p / 100.0);
            let got = q.percentile(p, min, max).unwrap_or(f64::NAN);
            assert!(
                ((got - want) / want).abs() <= 0.0055,
                "p{p}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn memory_is_bounded_and_signs_work() {
        let mut q = Quantiles::new();
        for i in 0..20_000 {
            // Values from 1e-300 to 1e300: far more doublings than the buckets cover.
            let e = (i % 600) - 300;
            q.add(10f64.powi(e) * if i % 2 == 0 { 1.0 } else { -1.0 });
        }
        let held = q.sketch.as_ref().map_or(usize::MAX, |s| s.buckets());
        assert!(held <= 2 * LAYOUT.max_buckets, "{held}");
        let mut q = Quantiles::new();
        for i in 0..2000 {
            q.add(if i < 1000 { -5.0 } else { 5.0 });
        }
        let lo = q.percentile(10.0, -5.0, 5.0).unwrap_or(0.0);
        let hi = q.percentile(90.0, -5.0, 5.0).unwrap_or(0.0);
        assert!(
            (lo + 5.0).abs() < 0.03 && (hi - 5.0).abs() < 0.03,
            "{lo} {hi}"
        );
    }
}
