//! Percentiles of one trend in one interval, in bounded memory.
//!
//! Up to [`EXACT_CAP`] values are kept as they are and percentiles are k6's (linear
//! interpolation between the closest ranks), so small intervals give exactly what k6's summary
//! would. Past that, the values move into a log-bucketed sketch (DDSketch's mapping) with
//! [`RELATIVE_ACCURACY`] relative error and at most [`MAX_BINS`] bins per sign, so a series
//! window costs a bounded amount however many samples it gets: 4 KB exact, then about 115 bins
//! per decade of values (a few hundred for real latencies, ~80 KB at the very worst).

use std::collections::BTreeMap;

/// Values kept exactly before switching to the sketch.
pub const EXACT_CAP: usize = 512;
/// Relative error of a sketched percentile (1%).
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Most bins per sign (nearly nine decades at full accuracy, e.g. 1 µs to 1000 s in ms);
/// beyond it the lowest bins are merged, so the low percentiles lose accuracy first and the
/// ones load tests look at stay right.
pub const MAX_BINS: usize = 1024;

#[derive(Debug, Clone)]
pub struct Quantiles {
    exact: Vec<f64>,
    sketch: Option<Sketch>,
}

impl Default for Quantiles {
    fn default() -> Self {
        Self::new()
    }
}

impl Quantiles {
    pub fn new() -> Self {
        Self {
            exact: Vec::new(),
            sketch: None,
        }
    }

    /// Adds a finite value (callers filter NaN and infinities).
    pub fn add(&mut self, v: f64) {
        match &mut self.sketch {
            Some(s) => s.add(v),
            None => {
                self.exact.push(v);
                if self.exact.len() > EXACT_CAP {
                    let mut s = Sketch::new();
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
            Some(s) => s.percentile(pct / 100.0)?,
            None => {
                if self.exact.is_empty() {
                    return None;
                }
                self.exact.sort_by(f64::total_cmp);
                k6_percentile(&self.exact, pct / 100.0)
            }
        };
        Some(v.clamp(min, max))
    }

    /// Whether the sketch is in use (for tests).
    pub fn is_sketched(&self) -> bool {
        self.sketch.is_some()
    }
}

/// k6's `TrendSink.P`: linear interpolation between the closest ranks of sorted values.
pub fn k6_percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let i = p * (n as f64 - 1.0);
            let lo = sorted[i.floor() as usize];
            let hi = sorted[(i.ceil() as usize).min(n - 1)];
            lo + (hi - lo) * (i - i.floor())
        }
    }
}

#[derive(Debug, Clone)]
struct Sketch {
    gamma_ln: f64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zeros: u64,
    count: u64,
}

/// Values closer to 0 than this count as 0 (keeps bin indexes in range).
const MIN_INDEXABLE: f64 = 1e-9;

impl Sketch {
    fn new() -> Self {
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        Self {
            gamma_ln: gamma.ln(),
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            zeros: 0,
            count: 0,
        }
    }

    fn index(&self, v: f64) -> i32 {
        // |v| ≤ f64::MAX gives at most ~35,500 at 1% accuracy: fits an i32.
        (v.ln() / self.gamma_ln).ceil() as i32
    }

    fn value(&self, index: i32) -> f64 {
        // The point of the bin (gamma^(i-1), gamma^i] with the smallest relative error.
        let gamma = self.gamma_ln.exp();
        2.0 * (f64::from(index) * self.gamma_ln).exp() / (gamma + 1.0)
    }

    fn add(&mut self, v: f64) {
        self.count += 1;
        if v.abs() < MIN_INDEXABLE {
            self.zeros += 1;
            return;
        }
        let i = self.index(v.abs());
        let bins = if v > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        *bins.entry(i).or_insert(0) += 1;
        if bins.len() > MAX_BINS {
            collapse_lowest(bins, v > 0.0);
        }
    }

    fn percentile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q * (self.count - 1) as f64).round() as u64;
        let mut seen = 0u64;
        // Ascending values: negatives from the largest magnitude, then zeros, then positives.
        for (&i, &n) in self.negative.iter().rev() {
            seen += n;
            if seen > rank {
                return Some(-self.value(i));
            }
        }
        seen += self.zeros;
        if seen > rank {
            return Some(0.0);
        }
        for (&i, &n) in &self.positive {
            seen += n;
            if seen > rank {
                return Some(self.value(i));
            }
        }
        self.positive
            .keys()
            .next_back()
            .map(|&i| self.value(i))
            .or(Some(0.0))
    }
}

/// Merges the two bins nearest to minus infinity: the lowest positive bins, or the
/// highest-magnitude negative ones.
fn collapse_lowest(bins: &mut BTreeMap<i32, u64>, positive: bool) {
    let keys: Vec<i32> = if positive {
        bins.keys().take(2).copied().collect()
    } else {
        bins.keys().rev().take(2).copied().collect()
    };
    if let [gone, keep] = keys[..] {
        if let Some(n) = bins.remove(&gone) {
            *bins.entry(keep).or_insert(0) += n;
        }
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
    fn sketch_stays_within_one_percent() {
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
            let want = k6_percentile(&all, p / 100.0);
            let got = q.percentile(p, min, max).unwrap_or(f64::NAN);
            assert!(
                ((got - want) / want).abs() <= 0.011,
                "p{p}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn memory_is_bounded_and_signs_work() {
        let mut q = Quantiles::new();
        for i in 0..20_000 {
            // Values from 1e-300 to 1e300: far more than MAX_BINS distinct bins.
            let e = (i % 600) - 300;
            q.add(10f64.powi(e) * if i % 2 == 0 { 1.0 } else { -1.0 });
        }
        let s = q
            .sketch
            .as_ref()
            .map(|s| (s.positive.len(), s.negative.len()));
        let (p, n) = s.unwrap_or((usize::MAX, usize::MAX));
        assert!(p <= MAX_BINS && n <= MAX_BINS, "{p} {n}");
        let mut q = Quantiles::new();
        for i in 0..2000 {
            q.add(if i < 1000 { -5.0 } else { 5.0 });
        }
        let lo = q.percentile(10.0, -5.0, 5.0).unwrap_or(0.0);
        let hi = q.percentile(90.0, -5.0, 5.0).unwrap_or(0.0);
        assert!(
            (lo + 5.0).abs() < 0.06 && (hi - 5.0).abs() < 0.06,
            "{lo} {hi}"
        );
    }
}
