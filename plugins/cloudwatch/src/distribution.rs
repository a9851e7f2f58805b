//! A trend's values in one period, as (value, count) pairs, bounded in memory.
//!
//! CloudWatch takes at most 150 distinct values per datum. When there are more, neighbouring
//! values are merged into groups of about equal weight, each sent as its weighted mean. That
//! keeps the count and the sum exact, keeps the minimum and the maximum exact (they are never
//! merged), and moves each percentile by at most one group's width.

use std::collections::HashMap;

/// Distinct values kept before merging (memory bound per open trend aggregate: ~64 KiB).
const MAX_DISTINCT: usize = 4096;
/// What an over-full distribution is merged down to.
const COMPACT_TO: usize = 1024;

#[derive(Debug, Clone, Default)]
pub struct Distribution {
    /// f64 bits → (value, count). Exact repeats (k6 rounds durations) fold for free.
    entries: HashMap<u64, (f64, u64)>,
}

impl Distribution {
    pub fn add(&mut self, v: f64) {
        // -0.0 and 0.0 are one value.
        let v = if v == 0.0 { 0.0 } else { v };
        self.entries.entry(v.to_bits()).or_insert((v, 0)).1 += 1;
        if self.entries.len() > MAX_DISTINCT {
            let merged = merge(self.sorted(), COMPACT_TO);
            self.entries = merged
                .into_iter()
                .map(|(v, c)| (v.to_bits(), (v, c)))
                .collect();
        }
    }

    fn sorted(&self) -> Vec<(f64, u64)> {
        let mut v: Vec<(f64, u64)> = self.entries.values().copied().collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    /// At most `max` (value, count) pairs, sorted by value.
    pub fn compressed(&self, max: usize) -> Vec<(f64, u64)> {
        merge(self.sorted(), max)
    }
}

/// Merges sorted pairs into at most `max` pairs (see the module docs).
pub fn merge(sorted: Vec<(f64, u64)>, max: usize) -> Vec<(f64, u64)> {
    if sorted.len() <= max || max < 3 {
        return sorted;
    }
    let n = sorted.len();
    let (first, last) = (sorted[0], sorted[n - 1]);
    let middle = &sorted[1..n - 1];
    let groups = (max - 2) as u128;
    let total: u128 = middle.iter().map(|p| u128::from(p.1)).sum();
    let mut out = Vec::with_capacity(max);
    out.push(first);
    let (mut acc_count, mut acc_sum, mut seen, mut closed) = (0u64, 0.0f64, 0u128, 0u128);
    for &(v, c) in middle {
        acc_count += c;
        acc_sum += v * c as f64;
        seen += u128::from(c);
        // Close the group once the running weight passes the next equal-weight boundary.
        if seen * groups >= (closed + 1) * total {
            out.push((acc_sum / acc_count as f64, acc_count));
            closed = seen * groups / total.max(1);
            acc_count = 0;
            acc_sum = 0.0;
        }
    }
    if acc_count > 0 {
        out.push((acc_sum / acc_count as f64, acc_count));
    }
    out.push(last);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn stats(p: &[(f64, u64)]) -> (u64, f64, f64, f64) {
        let n = p.iter().map(|x| x.1).sum();
        let s = p.iter().map(|x| x.0 * x.1 as f64).sum();
        (n, s, p[0].0, p[p.len() - 1].0)
    }

    #[test]
    fn small_sets_are_exact() {
        let mut d = Distribution::default();
        for v in [3.0, 1.0, 3.0, -0.0, 0.0] {
            d.add(v);
        }
        assert_eq!(d.compressed(150), vec![(0.0, 2), (1.0, 1), (3.0, 2)]);
    }

    #[test]
    fn merging_keeps_count_sum_min_max() {
        let mut d = Distribution::default();
        for i in 0..10_000u32 {
            d.add(f64::from(i % 5000) * 0.5 + 1.0);
        }
        let all = d.sorted();
        assert!(all.len() <= MAX_DISTINCT);
        let c = d.compressed(150);
        assert!(c.len() <= 150, "{}", c.len());
        let (n, sum, min, max) = stats(&c);
        assert_eq!(n, 10_000);
        let exact: f64 = (0..10_000u32)
            .map(|i| f64::from(i % 5000) * 0.5 + 1.0)
            .sum();
        assert!((sum - exact).abs() / exact < 1e-9, "{sum} vs {exact}");
        assert_eq!(min, 1.0);
        assert_eq!(max, 2500.5);
        // Sorted, and the median is near the true one (1250.75).
        assert!(c.windows(2).all(|w| w[0].0 < w[1].0));
        let mut acc = 0;
        let median = c
            .iter()
            .find(|p| {
                acc += p.1;
                acc >= 5000
            })
            .unwrap()
            .0;
        assert!((median - 1250.75).abs() < 25.0, "{median}");
    }

    #[test]
    fn merge_bounds() {
        let pairs: Vec<(f64, u64)> = (0..1000).map(|i| (f64::from(i), 1)).collect();
        for max in [3usize, 4, 10, 150, 999] {
            let m = merge(pairs.clone(), max);
            assert!(m.len() <= max, "max {max}: {}", m.len());
            assert_eq!(stats(&m).0, 1000);
        }
        // Heavy skew: one value holds almost all the weight.
        let mut skew = pairs.clone();
        skew[500].1 = 1_000_000;
        let m = merge(skew, 150);
        assert!(m.len() <= 150);
        assert_eq!(stats(&m).0, 1_000_999);
    }
}
