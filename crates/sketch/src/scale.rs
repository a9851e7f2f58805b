//! The base-2 exponential bucket layout at one scale, in OTLP's numbering.
//!
//! At scale `s` the base is `b = 2^(2^-s)` and bucket `i` holds the magnitudes in
//! `(b^i, b^(i+1)]`. Prometheus native histograms use the same boundaries under the name
//! "schema" and number each bucket by its upper bound: Prometheus' bucket `i + 1` is bucket `i`
//! here ([`prometheus_index`]).

/// The finest scale: OTLP's limit, where an index of any finite `f64` still fits an `i32`.
pub const MAX_SCALE: i32 = 20;
/// The coarsest scale: OTLP's limit (`b = 2^1024`, everything in a handful of buckets).
pub const MIN_SCALE: i32 = -10;

/// The bucket of a magnitude `v > 0` at `scale` (clamped to [`MIN_SCALE`]..=[`MAX_SCALE`]).
pub fn index(v: f64, scale: i32) -> i32 {
    let scale = scale.clamp(MIN_SCALE, MAX_SCALE);
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1u64 << 52) - 1);
    if biased > 0 && mantissa == 0 {
        // An exact power of two is the upper bound of a bucket: `log2` is exact for it, but the
        // shift keeps negative scales exact too.
        let e = biased - 1023;
        let i = if scale >= 0 {
            (e << scale) - 1
        } else {
            (e - 1) >> -scale
        };
        return clamp_i32(i);
    }
    if scale <= 0 && biased > 0 {
        // Between two powers of two the exponent alone decides.
        return clamp_i32((biased - 1023) >> -scale);
    }
    if (1..=TABLE_SCALE).contains(&scale) && biased > 0 && biased < 0x7ff {
        if let Some(i) = fine::index(biased - 1023, mantissa) {
            // Boundaries nest: bucket `i` at scale 10 lies inside bucket `i >> (10 - s)`.
            return clamp_i32(i >> (TABLE_SCALE - scale));
        }
    }
    // `2^scale` from its bits: `exp2` was a libm call (and two more inside) on every sample.
    let x = v.log2() * pow2(scale);
    // `ceil` and `round` are libm calls on the baseline x86-64 target; a truncation (toward
    // zero) is one instruction, and |x| stays far below 2^63 (at most 1075 · 2^20).
    let whole = x as i64;
    let fraction = x - whole as f64;
    let ceil = if fraction > 0.0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    let mut i = ceil.saturating_sub(1);
    // `log2` may land a hair off a boundary: settle it against the boundary itself, which is
    // what [`lower_bound`] reports, so a value is always inside the bucket it is counted in.
    let off_whole = fraction.abs().min(1.0 - fraction.abs());
    if off_whole < 1e-6 {
        let i32_i = clamp_i32(i);
        if v <= lower_bound(i32_i, scale) {
            i -= 1;
        } else if v > lower_bound(i32_i.saturating_add(1), scale) {
            i += 1;
        }
    }
    clamp_i32(i)
}

/// The scale of [`fine`]'s table; coarser positive scales shift its index.
const TABLE_SCALE: i32 = 10;

/// The bucket at scale 10 from a table instead of `log2` (a libm call, and the rounding
/// checks around it, were most of a trend sample's cost in the summary).
mod fine {
    use std::sync::LazyLock;

    /// Slots per doubling: finer than the narrowest bucket (`2^(1/1024) - 1` ≈ 0.000677 of
    /// the doubling's start, against 1/2048 ≈ 0.000488), so a slot holds at most one
    /// boundary and a value is in its slot's first bucket or the next.
    const SLOT_BITS: u32 = 11;

    struct Table {
        /// `bounds[k] = 2^(k/1024)`: bucket `k` of a doubling holds mantissas in
        /// `(bounds[k], bounds[k+1]]`; computed as [`super::lower_bound`] computes them.
        bounds: Vec<f64>,
        /// The bucket holding the start of each slot.
        first: Vec<u16>,
    }

    static TABLE: LazyLock<Table> = LazyLock::new(|| {
        let per = 1usize << super::TABLE_SCALE;
        let bounds: Vec<f64> = (0..=per)
            .map(|k| super::lower_bound(k as i32, super::TABLE_SCALE))
            .collect();
        let slots = 1usize << SLOT_BITS;
        let mut first = Vec::with_capacity(slots);
        let mut k = 0usize;
        for j in 0..slots {
            let start = 1.0 + j as f64 / slots as f64;
            while k + 1 < per && bounds[k + 1] < start {
                k += 1;
            }
            first.push(k as u16);
        }
        Table { bounds, first }
    });

    /// The scale-10 index of `2^exponent · 1.mantissa` (mantissa not 0), or `None` when the
    /// value is within a few ulps of a boundary: the caller settles those as before, so the
    /// table never disagrees with [`super::lower_bound`].
    pub(super) fn index(exponent: i64, mantissa: u64) -> Option<i64> {
        let t = &*TABLE;
        let m = f64::from_bits(mantissa | (1023u64 << 52));
        let slot = (mantissa >> (52 - SLOT_BITS)) as usize;
        let mut k = usize::from(*t.first.get(slot)?);
        if m > *t.bounds.get(k + 1)? {
            k += 1;
        }
        let (lo, hi) = (*t.bounds.get(k)?, *t.bounds.get(k + 1)?);
        // 1e-12 of a mantissa below 2 is a few thousand ulps: far more than `exp2` is off by.
        if m - lo < 1e-12 || hi - m < 1e-12 {
            return None;
        }
        Some((exponent << super::TABLE_SCALE) + k as i64)
    }
}

/// `2^e`, exact, for the exponents of the scales ([`MIN_SCALE`]..=[`MAX_SCALE`]).
fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + i64::from(e)) as u64) << 52)
}

fn clamp_i32(i: i64) -> i32 {
    i.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The exclusive lower bound of bucket `index` at `scale`: `b^index`.
pub fn lower_bound(index: i32, scale: i32) -> f64 {
    (f64::from(index) * f64::from(-scale).exp2()).exp2()
}

/// The inclusive upper bound of bucket `index` at `scale`: `b^(index+1)`.
pub fn upper_bound(index: i32, scale: i32) -> f64 {
    lower_bound(index.saturating_add(1), scale)
}

/// The point of bucket `index` at the same relative distance from both bounds, `2·b^(i+1)/(b+1)`:
/// within [`relative_accuracy`] of every value the bucket holds.
pub fn representative(index: i32, scale: i32) -> f64 {
    // `2·b^i/(1 + 1/b)`: the same, without `b + 1` overflowing at the coarsest scales.
    2.0 * lower_bound(index, scale) / (1.0 + 1.0 / base(scale))
}

/// `b = 2^(2^-scale)`.
pub fn base(scale: i32) -> f64 {
    f64::from(-scale).exp2().exp2()
}

/// The largest relative distance between a bucket's [`representative`] and a value in it:
/// `(b-1)/(b+1)`. For `v` in `(L, bL]` and `r = 2bL/(b+1)` the distance is largest at the
/// ends, where `(bL - r)/bL = (r - L)/L = (b-1)/(b+1)`.
pub fn relative_accuracy(scale: i32) -> f64 {
    // `(b-1)/(b+1) = tanh(ln(b)/2)`, which stays finite where `b` itself overflows.
    (f64::from(-scale).exp2() * std::f64::consts::LN_2 / 2.0).tanh()
}

/// The coarsest scale whose [`relative_accuracy`] is at most `accuracy` (0 < accuracy < 1).
pub fn scale_for_accuracy(accuracy: f64) -> i32 {
    (MIN_SCALE..=MAX_SCALE)
        .find(|s| relative_accuracy(*s) <= accuracy)
        .unwrap_or(MAX_SCALE)
}

/// The index a bucket has once the scale is lowered by `by`: buckets `2i` and `2i+1` become `i`.
pub fn downscale_index(index: i32, by: u32) -> i32 {
    if by >= 32 {
        return if index < 0 { -1 } else { 0 };
    }
    index >> by
}

/// Prometheus' number for bucket `index` (it numbers a bucket by its upper bound).
pub fn prometheus_index(index: i32) -> i32 {
    index.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_match_ceil_of_log_away_from_boundaries() {
        // The reference the truncation replaced: ceil(log2(v) · 2^scale) - 1, for values not
        // within the boundary tolerance (those are settled against the boundary itself).
        let mut v: f64 = 1e-9;
        while v < 1e12 {
            for scale in [-3, 0, 3, 10, 20] {
                let exact = v.log2() * f64::from(scale).exp2();
                if (exact - exact.round()).abs() < 1e-5 {
                    continue;
                }
                let want = exact.ceil() as i64 - 1;
                assert_eq!(i64::from(index(v, scale)), want, "{v} at scale {scale}");
            }
            v *= 1.37;
        }
    }

    /// The `log2` path the table replaced, for comparison.
    fn by_log2(v: f64, scale: i32) -> i32 {
        let x = v.log2() * pow2(scale);
        let whole = x as i64;
        let fraction = x - whole as f64;
        let ceil = if fraction > 0.0 { whole + 1 } else { whole };
        let mut i = ceil - 1;
        if fraction.abs().min(1.0 - fraction.abs()) < 1e-6 {
            let i32_i = clamp_i32(i);
            if v <= lower_bound(i32_i, scale) {
                i -= 1;
            } else if v > lower_bound(i32_i + 1, scale) {
                i += 1;
            }
        }
        clamp_i32(i)
    }

    #[test]
    fn the_table_agrees_with_log2_and_the_boundaries() {
        let mut checked = 0;
        let mut v: f64 = 1e-12;
        while v < 1e15 {
            for s in 1..=TABLE_SCALE {
                assert_eq!(index(v, s), by_log2(v, s), "{v:e} at scale {s}");
            }
            v *= 1.000_37;
            checked += 1;
        }
        assert!(checked > 100_000);
        // Every boundary of a few doublings, and its neighbouring floats either side.
        for e in [-30, -1, 0, 1, 7, 40] {
            for k in 0..1024 {
                let i = e * 1024 + k;
                let b = lower_bound(i, 10);
                for x in [
                    b,
                    f64::from_bits(b.to_bits() - 1),
                    f64::from_bits(b.to_bits() + 1),
                ] {
                    for s in 1..=TABLE_SCALE {
                        let got = index(x, s);
                        assert!(
                            lower_bound(got, s) < x && x <= upper_bound(got, s),
                            "{x:e} at scale {s}: bucket {got}"
                        );
                    }
                }
                assert_eq!(index(b, 10), i - 1, "boundary {i} belongs below");
            }
        }
    }

    #[test]
    fn pow2_is_exp2_at_every_scale() {
        for e in MIN_SCALE..=MAX_SCALE {
            assert_eq!(pow2(e), f64::from(e).exp2(), "2^{e}");
        }
    }

    #[test]
    fn indexes_are_upper_inclusive() {
        assert_eq!(index(1.0, 0), -1);
        assert_eq!(index(2.0, 0), 0);
        assert_eq!(index(2.1, 0), 1);
        assert_eq!(index(4.0, 1), 3);
        assert_eq!(index(0.5, 0), -2);
        assert_eq!(index(4.0, -1), 0);
        assert_eq!(index(4.1, -1), 1);
        assert_eq!(index(2.0, 3), 7);
        assert_eq!(index(1.0001, 3), 0);
        assert_eq!(prometheus_index(index(2.0, 3)), 8);
    }

    #[test]
    fn every_value_lies_in_its_bucket() {
        let mut v = 1e-300;
        while v < 1e300 {
            for s in [-10, -4, -1, 0, 1, 3, 6, 8, 10, 14, 20] {
                for x in [v, v * 1.000_000_1, f64::from(s).exp2()] {
                    let i = index(x, s);
                    let (lo, hi) = (lower_bound(i, s), upper_bound(i, s));
                    assert!(
                        lo < x && x <= hi,
                        "{x} at scale {s}: bucket {i} ({lo}, {hi}]"
                    );
                }
            }
            v *= 1.37;
        }
        // Boundaries themselves, as `lower_bound` computes them, belong below.
        for s in [1, 6, 10] {
            for i in [-1500, -7, 0, 1, 63, 64, 999] {
                assert_eq!(index(upper_bound(i, s), s), i, "{i} at {s}");
            }
        }
    }

    #[test]
    fn accuracy_per_scale() {
        assert!((relative_accuracy(0) - 1.0 / 3.0).abs() < 1e-12);
        assert!(relative_accuracy(6) < 0.0055 && relative_accuracy(6) > 0.0054);
        assert!(relative_accuracy(10) < 0.00034);
        assert_eq!(scale_for_accuracy(0.01), 6);
        assert_eq!(scale_for_accuracy(0.0005), 10);
        for s in MIN_SCALE..MAX_SCALE {
            assert!(relative_accuracy(s + 1) <= relative_accuracy(s));
            assert!(relative_accuracy(s) <= 1.0);
        }
    }

    #[test]
    fn downscaling_keeps_values_in_their_bucket() {
        for s in 0..=8 {
            for by in 0..=4u32 {
                for x in [0.001, 0.37, 1.0, 3.0, 1e6] {
                    let to = s - by as i32;
                    assert_eq!(
                        downscale_index(index(x, s), by),
                        index(x, to),
                        "{x} {s}->{to}"
                    );
                }
            }
        }
    }
}
