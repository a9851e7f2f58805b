//! The sketch: exact count, sum, min and max, a zero bucket, and base-2 exponential buckets of
//! each sign at one scale (see [`crate::scale`]).

use serde::{Deserialize, Serialize};

use crate::buckets::Buckets;
use crate::scale::{self, MAX_SCALE, MIN_SCALE};

/// How a sketch buckets its values; each user declares its own once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// The scale a sketch starts at, and the finest it ever has.
    pub max_scale: i32,
    /// Most buckets one sign may span; past it the scale drops (each step halves the
    /// resolution), as the OpenTelemetry SDKs do.
    pub max_buckets: usize,
    /// Magnitudes at or below it count as zero (0: only zero itself).
    pub zero_threshold: f64,
}

/// Why a sketch read from a file cannot be one [`Sketch::add`] and [`Sketch::merge`] made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SketchError {
    #[error("sketch scale {0} is outside {MIN_SCALE}..={MAX_SCALE}")]
    Scale(i32),
    #[error("sketch zero threshold {0} is not a finite non-negative number")]
    ZeroThreshold(f64),
    #[error("sketch buckets span {span}, more than its limit of {max}")]
    Span { span: u64, max: usize },
    #[error("sketch count {count} but its buckets hold {held}")]
    Count { count: u64, held: u64 },
    #[error("sketch {0} is not a finite number")]
    NotFinite(&'static str),
    #[error("sketch min {min} above its max {max}")]
    MinAboveMax { min: f64, max: f64 },
}

/// A mergeable, bounded-memory distribution of values.
///
/// A percentile is within [`Sketch::relative_accuracy`] of the true one (k6's definition: linear
/// interpolation between the values at the two closest ranks) when the two ranks' values have
/// the same sign and lie outside the zero bucket; ranks 0 and `count - 1` are the exact min and
/// max. The bound is that of the current scale, which only drops when the values of one sign
/// span more than `max_buckets` buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sketch {
    scale: i32,
    max_buckets: usize,
    zero_threshold: f64,
    count: u64,
    sum: f64,
    /// Meaningful only when `count > 0` (0 otherwise, so the state stays valid JSON).
    min: f64,
    max: f64,
    zero_count: u64,
    positive: Buckets,
    negative: Buckets,
}

impl Sketch {
    pub fn new(layout: Layout) -> Self {
        Self {
            scale: layout.max_scale.clamp(MIN_SCALE, MAX_SCALE),
            max_buckets: layout.max_buckets.max(1),
            zero_threshold: if layout.zero_threshold.is_finite() {
                layout.zero_threshold.max(0.0)
            } else {
                0.0
            },
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            zero_count: 0,
            positive: Buckets::default(),
            negative: Buckets::default(),
        }
    }

    /// The same layout, empty, at the scale this one started at.
    pub fn emptied(&self, max_scale: i32) -> Self {
        Self::new(Layout {
            max_scale,
            max_buckets: self.max_buckets,
            zero_threshold: self.zero_threshold,
        })
    }

    /// Records `v`; NaN and infinities have no bucket and are ignored (returns false).
    pub fn add(&mut self, v: f64) -> bool {
        if !v.is_finite() {
            return false;
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
        let magnitude = v.abs();
        if magnitude <= self.zero_threshold || magnitude == 0.0 {
            self.zero_count += 1;
            return true;
        }
        let mut index = scale::index(magnitude, self.scale);
        let held = if v > 0.0 {
            self.positive.add_one_if_held(index)
        } else {
            self.negative.add_one_if_held(index)
        };
        if held {
            return true;
        }
        let side = if v > 0.0 {
            &self.positive
        } else {
            &self.negative
        };
        if side.span_with(index) > self.max_buckets as u64 {
            let by = self.steps_to_fit(side, index);
            self.downscale(by);
            index = scale::index(magnitude, self.scale);
        }
        if v > 0.0 {
            self.positive.add(index, 1);
        } else {
            self.negative.add(index, 1);
        }
        true
    }

    /// Scale steps after which `buckets` plus `index` span at most `max_buckets`.
    fn steps_to_fit(&self, buckets: &Buckets, index: i32) -> u32 {
        match buckets.range() {
            Some((lo, hi)) => self.steps_to_span(lo.min(index), hi.max(index)),
            None => 0,
        }
    }

    /// Scale steps after which indexes `lo..=hi` span at most `max_buckets`.
    fn steps_to_span(&self, lo: i32, hi: i32) -> u32 {
        let (mut lo, mut hi) = (i64::from(lo), i64::from(hi));
        let mut by = 0u32;
        while hi - lo + 1 > self.max_buckets as i64 && self.scale - (by as i32) > MIN_SCALE {
            lo >>= 1;
            hi >>= 1;
            by += 1;
        }
        by
    }

    fn downscale(&mut self, by: u32) {
        if by == 0 {
            return;
        }
        self.positive.downscale(by);
        self.negative.downscale(by);
        self.scale -= by as i32;
    }

    /// Adds everything `other` recorded. The result is the sketch of all the values at the
    /// coarser of the two scales (or coarser still if the union spans too many buckets): what
    /// one sketch fed every value would hold, since bucket boundaries nest across scales.
    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        let mut other = other.clone();
        let target = self.scale.min(other.scale);
        self.downscale((self.scale - target) as u32);
        other.downscale((other.scale - target) as u32);
        let by = [
            (self.positive.range(), other.positive.range()),
            (self.negative.range(), other.negative.range()),
        ]
        .into_iter()
        .map(|ranges| match ranges {
            (Some((a, b)), Some((c, d))) => self.steps_to_span(a.min(c), b.max(d)),
            _ => 0,
        })
        .max()
        .unwrap_or(0);
        self.downscale(by);
        other.downscale(by);
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count = self.count.saturating_add(other.count);
        self.sum += other.sum;
    }

    pub fn scale(&self) -> i32 {
        self.scale
    }

    pub fn max_buckets(&self) -> usize {
        self.max_buckets
    }

    pub fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value; 0 when empty (as k6).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The largest value; 0 when empty (as k6).
    pub fn max(&self) -> f64 {
        self.max
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    pub fn positive(&self) -> &Buckets {
        &self.positive
    }

    pub fn negative(&self) -> &Buckets {
        &self.negative
    }

    /// Buckets held in memory (both signs), for memory accounting.
    pub fn buckets(&self) -> usize {
        self.positive.counts.len() + self.negative.counts.len()
    }

    /// The relative error bound of a percentile at the current scale.
    pub fn relative_accuracy(&self) -> f64 {
        scale::relative_accuracy(self.scale)
    }

    /// The buckets of both signs (positive, negative) at `scale`, or at the sketch's own when
    /// `scale` is finer: a coarser histogram of the same values.
    pub fn buckets_at(&self, scale: i32) -> (i32, Buckets, Buckets) {
        let to = scale.clamp(MIN_SCALE, MAX_SCALE).min(self.scale);
        let by = (self.scale - to) as u32;
        let (mut pos, mut neg) = (self.positive.clone(), self.negative.clone());
        pos.downscale(by);
        neg.downscale(by);
        (to, pos, neg)
    }

    /// k6's percentile (`q` in 0..=1): linear interpolation between the values at ranks
    /// `floor(r)` and `ceil(r)`, `r = q·(count − 1)`; 0 when empty.
    pub fn percentile(&self, q: f64) -> f64 {
        match self.count {
            0 => 0.0,
            1 => self.min,
            n => {
                let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
                let r = q * (n - 1) as f64;
                let (lo, hi) = (r.floor(), r.ceil());
                let a = self.value_at_rank(lo as u64);
                if hi == lo {
                    return a;
                }
                let b = self.value_at_rank(hi as u64);
                a + (b - a) * (r - lo)
            }
        }
    }

    /// The estimated `rank`-th smallest value (0-based): exact at both ends, the representative
    /// of its bucket in between, clamped to `[min, max]` (which only brings it closer).
    pub fn value_at_rank(&self, rank: u64) -> f64 {
        if rank == 0 {
            return self.min;
        }
        if rank.saturating_add(1) >= self.count {
            return self.max;
        }
        let mut seen = 0u64;
        // Ascending values: negative buckets from the largest magnitude down, zero, positives up.
        for (i, n) in self.negative.iter().rev() {
            seen = seen.saturating_add(n);
            if rank < seen {
                return self.clamp(-scale::representative(i, self.scale));
            }
        }
        seen = seen.saturating_add(self.zero_count);
        if rank < seen {
            return self.clamp(0.0);
        }
        for (i, n) in self.positive.iter() {
            seen = seen.saturating_add(n);
            if rank < seen {
                return self.clamp(scale::representative(i, self.scale));
            }
        }
        self.max
    }

    fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.min, self.max)
    }

    /// Whether this state (read from a file) is one `add` and `merge` could have made.
    pub fn check(&self) -> Result<(), SketchError> {
        if !(MIN_SCALE..=MAX_SCALE).contains(&self.scale) {
            return Err(SketchError::Scale(self.scale));
        }
        if !self.zero_threshold.is_finite() || self.zero_threshold < 0.0 {
            return Err(SketchError::ZeroThreshold(self.zero_threshold));
        }
        for b in [&self.positive, &self.negative] {
            let span = b.counts.len() as u64;
            let fits = i32::try_from(span)
                .ok()
                .and_then(|n| b.offset.checked_add(n))
                .is_some();
            if span > self.max_buckets as u64 || !fits {
                return Err(SketchError::Span {
                    span,
                    max: self.max_buckets,
                });
            }
        }
        let held = [&self.positive, &self.negative]
            .iter()
            .flat_map(|b| b.counts.iter())
            .try_fold(self.zero_count, |a, n| a.checked_add(*n));
        if held != Some(self.count) {
            return Err(SketchError::Count {
                count: self.count,
                held: held.unwrap_or(u64::MAX),
            });
        }
        for (name, x) in [("sum", self.sum), ("min", self.min), ("max", self.max)] {
            if !x.is_finite() {
                return Err(SketchError::NotFinite(name));
            }
        }
        if self.min > self.max {
            return Err(SketchError::MinAboveMax {
                min: self.min,
                max: self.max,
            });
        }
        Ok(())
    }
}

/// k6's `TrendSink.P` on sorted values (`q` in 0..=1): linear interpolation between the values
/// at the two closest ranks; 0 when empty.
pub fn percentile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
            let r = q * (n - 1) as f64;
            let lo = sorted[(r.floor() as usize).min(n - 1)];
            let hi = sorted[(r.ceil() as usize).min(n - 1)];
            lo + (hi - lo) * (r - r.floor())
        }
    }
}
