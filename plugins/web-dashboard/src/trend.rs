//! The dashboard's trend accumulator: exact while small, then a log-linear histogram whose bucket
//! is read off the value's bits (exponent and top mantissa bits: no logarithm, no search), so a
//! sample costs a few nanoseconds. The summary's sketch (a logarithm and a tree insert per
//! sample) made three quarters of the dashboard's CPU time; this one's percentiles are within
//! [`RELATIVE_ERROR`] of the true value, and exact (k6's interpolation) up to [`EXACT_CAP`]
//! values. count, sum, min and max are always exact.

/// Values kept as they are before switching to the histogram.
pub const EXACT_CAP: usize = 256;
/// Mantissa bits in a bucket key: 64 buckets per power of two.
const SUB_BITS: u32 = 6;
const SHIFT: u32 = 52 - SUB_BITS;
/// The worst relative error of a histogram percentile (half a bucket's width).
pub const RELATIVE_ERROR: f64 = 1.0 / (1u64 << (SUB_BITS + 1)) as f64;

/// Counts by key over the range of keys seen.
#[derive(Debug, Clone, Default)]
struct Dense {
    first: u64,
    counts: Vec<u64>,
}

impl Dense {
    fn add(&mut self, key: u64, n: u64) {
        if self.counts.is_empty() {
            self.first = key;
            self.counts.push(n);
            return;
        }
        if key < self.first {
            let grow = (self.first - key) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = key;
        }
        let i = (key - self.first) as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += n;
    }

    fn merge(&mut self, other: &Dense) {
        for (i, n) in other.counts.iter().enumerate() {
            if *n > 0 {
                self.add(other.first + i as u64, *n);
            }
        }
    }

    /// `(key, count)` in ascending key order.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (self.first + i as u64, *n))
    }
}

fn key(magnitude: f64) -> u64 {
    magnitude.to_bits() >> SHIFT
}

/// The middle of a bucket: within [`RELATIVE_ERROR`] of everything in it.
fn representative(key: u64) -> f64 {
    let lo = f64::from_bits(key << SHIFT);
    let hi = f64::from_bits((key + 1) << SHIFT);
    lo + (hi - lo) / 2.0
}

#[derive(Debug, Clone, Default)]
struct Histogram {
    positive: Dense,
    /// By magnitude.
    negative: Dense,
    zeros: u64,
}

impl Histogram {
    fn add(&mut self, v: f64, n: u64) {
        if v > 0.0 {
            self.positive.add(key(v), n);
        } else if v < 0.0 {
            self.negative.add(key(-v), n);
        } else {
            self.zeros += n;
        }
    }

    fn merge(&mut self, other: &Histogram) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zeros += other.zeros;
    }

    /// The value of rank `rank` (0-based) in ascending order.
    fn value_at(&self, rank: u64) -> Option<f64> {
        let mut seen = 0;
        for (k, n) in self.negative.iter().rev() {
            seen += n;
            if rank < seen {
                return Some(-representative(k));
            }
        }
        seen += self.zeros;
        if rank < seen {
            return Some(0.0);
        }
        for (k, n) in self.positive.iter() {
            seen += n;
            if rank < seen {
                return Some(representative(k));
            }
        }
        None
    }
}

#[derive(Debug, Clone)]
pub struct Trend {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    exact: Vec<f64>,
    histogram: Option<Histogram>,
}

impl Default for Trend {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            exact: Vec::new(),
            histogram: None,
        }
    }
}

impl Trend {
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
        match &mut self.histogram {
            Some(h) => h.add(v, 1),
            None if self.exact.len() < EXACT_CAP => self.exact.push(v),
            None => {
                let mut h = Histogram::default();
                for x in self.exact.drain(..) {
                    h.add(x, 1);
                }
                h.add(v, 1);
                self.histogram = Some(h);
            }
        }
    }

    pub fn merge(&mut self, other: &Trend) {
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
        if self.histogram.is_none()
            && other.histogram.is_none()
            && self.exact.len() + other.exact.len() <= EXACT_CAP
        {
            self.exact.extend_from_slice(&other.exact);
            return;
        }
        let mut h = self.histogram.take().unwrap_or_default();
        for x in self.exact.drain(..) {
            h.add(x, 1);
        }
        for x in &other.exact {
            h.add(*x, 1);
        }
        if let Some(o) = &other.histogram {
            h.merge(o);
        }
        self.histogram = Some(h);
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
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
        let (j, k) = match &self.histogram {
            None => {
                let mut sorted = self.exact.clone();
                sorted.sort_by(f64::total_cmp);
                let at = |r: u64| sorted.get(r as usize).copied().unwrap_or(self.max);
                (at(lo), at(hi))
            }
            Some(h) => {
                // The extremes are known exactly; only the inside is estimated.
                let at = |r: u64| {
                    if r == 0 {
                        self.min
                    } else if r + 1 >= self.count {
                        self.max
                    } else {
                        h.value_at(r).unwrap_or(self.max).clamp(self.min, self.max)
                    }
                };
                (at(lo), at(hi))
            }
        };
        j + (k - j) * f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k6_p(sorted: &[f64], q: f64) -> f64 {
        let i = q * (sorted.len() as f64 - 1.0);
        let (j, k) = (sorted[i.floor() as usize], sorted[i.ceil() as usize]);
        j + (k - j) * (i - i.floor())
    }

    #[test]
    fn exact_while_small() {
        let mut t = Trend::default();
        for v in 1..=100 {
            t.add(v as f64);
        }
        assert_eq!(
            t.percentile(0.9),
            k6_p(&(1..=100).map(f64::from).collect::<Vec<_>>(), 0.9)
        );
        assert_eq!(t.avg(), 50.5);
    }

    #[test]
    fn histogram_within_its_error_whatever_the_spread() {
        // Latency-like values over six orders of magnitude, some negative and zero values too.
        let mut values: Vec<f64> = (0..50_000)
            .map(|i| 0.001 * 1.0003f64.powi(i))
            .chain([-5.0, -0.5, 0.0, 0.0])
            .collect();
        let mut t = Trend::default();
        for v in &values {
            t.add(*v);
        }
        values.sort_by(f64::total_cmp);
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let want = k6_p(&values, q);
            let got = t.percentile(q);
            assert!(
                (got - want).abs() <= want.abs() * RELATIVE_ERROR * 1.01,
                "p{q}: {got} vs {want}"
            );
        }
        assert_eq!(t.percentile(0.0), -5.0);
        assert_eq!(t.percentile(1.0), values[values.len() - 1]);
    }

    #[test]
    fn merge_equals_one_accumulator() {
        let (mut a, mut b, mut all) = (Trend::default(), Trend::default(), Trend::default());
        for i in 0..2000 {
            let v = (i % 97) as f64 * 1.7 + 0.2;
            if i % 3 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        let mut small = Trend::default();
        small.add(3.0);
        a.merge(&small);
        all.add(3.0);
        a.merge(&b);
        assert_eq!(a.count, all.count);
        assert_eq!(a.min, all.min);
        assert_eq!(a.max, all.max);
        for q in [0.5, 0.9, 0.99] {
            assert_eq!(a.percentile(q), all.percentile(q), "p{q}");
        }
    }
}
