//! One segment `(from, to]` of the whole work, `0 <= from < to <= 1`.

use std::fmt;
use std::str::FromStr;

use super::rational::{parse_ratio, Ratio};
use super::SegmentError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecutionSegment {
    from: Ratio,
    to: Ratio,
}

impl Default for ExecutionSegment {
    fn default() -> Self {
        ExecutionSegment::FULL
    }
}

impl ExecutionSegment {
    pub const FULL: ExecutionSegment = ExecutionSegment {
        from: Ratio::ZERO,
        to: Ratio::ONE,
    };

    pub fn new(from: Ratio, to: Ratio) -> Result<Self, SegmentError> {
        if from < Ratio::ZERO {
            return Err(SegmentError::NegativeStart(from.to_string()));
        }
        if from >= to {
            return Err(SegmentError::Empty(from.to_string(), to.to_string()));
        }
        if to > Ratio::ONE {
            return Err(SegmentError::EndPastOne(to.to_string()));
        }
        Ok(ExecutionSegment { from, to })
    }

    pub fn from(&self) -> Ratio {
        self.from
    }

    pub fn to(&self) -> Ratio {
        self.to
    }

    pub fn length(&self) -> Ratio {
        // from < to, both within [0, 1] with i64 parts: the difference fits.
        self.to.checked_sub(self.from).unwrap_or(Ratio::ONE)
    }

    pub fn is_full(&self) -> bool {
        *self == Self::FULL
    }

    /// k6's `ExecutionSegment.Scale`: `round(value*to - round(value*from))`, each rounding
    /// half up. Unlike the tuple's scaling it needs no sequence, and is not monotonic.
    pub fn scale(&self, value: i64) -> i64 {
        if self.is_full() {
            return value;
        }
        let from = self.from.mul_round(value);
        // value*to - from, rounded: (value*to_num - from*to_den) / to_den.
        let n = self.to.numer() as i128 * value as i128 - from * self.to.denom() as i128;
        let d = self.to.denom() as i128;
        let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
        let v = if 2 * r >= d { q + 1 } else { q };
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    /// k6's `Split`: `parts` equal consecutive sub-segments.
    pub fn split(&self, parts: u64) -> Result<Vec<ExecutionSegment>, SegmentError> {
        if parts == 0 {
            return Err(SegmentError::ZeroInstances);
        }
        // Each part needs its own stripe of the common denominator: past the table's limit
        // the sequence is refused anyway, so it is refused before allocating the parts.
        if parts > super::MAX_LCD as u64 {
            return Err(SegmentError::LcdTooLarge(i128::from(parts)));
        }
        let step = self.length().checked_mul(Ratio::new(1, parts as i128)?)?;
        let mut out = Vec::with_capacity(parts as usize);
        let mut from = self.from;
        for i in 0..parts {
            let to = if i + 1 == parts {
                self.to
            } else {
                from.checked_add(step)?
            };
            out.push(ExecutionSegment::new(from, to)?);
            from = to;
        }
        Ok(out)
    }
}

/// k6's syntax: `a:b` is the segment `(a, b]`; a lone value `b` is `(0, b]`; empty is `0:1`.
/// Each value is a percentage, a decimal or a fraction.
impl FromStr for ExecutionSegment {
    type Err = SegmentError;

    fn from_str(s: &str) -> Result<Self, SegmentError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Self::FULL);
        }
        let (from, to) = match s.split_once(':') {
            Some((f, t)) => (parse_ratio(f)?, parse_ratio(t)?),
            None => (Ratio::ZERO, parse_ratio(s)?),
        };
        ExecutionSegment::new(from, to)
    }
}

impl fmt::Display for ExecutionSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.from, self.to)
    }
}
