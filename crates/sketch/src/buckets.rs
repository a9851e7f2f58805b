//! The counts of one sign: dense from the lowest occupied bucket to the highest, as OTLP sends
//! them. Dense because a latency trend occupies nearly every bucket between its extremes, and
//! an index into a vector is what makes [`crate::Sketch::add`] cheap.

use serde::{Deserialize, Serialize};

use crate::scale::downscale_index;

/// `counts[k]` is the count of bucket `offset + k`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buckets {
    pub offset: i32,
    pub counts: Vec<u64>,
}

impl Buckets {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The lowest and highest index held, when any is.
    pub fn range(&self) -> Option<(i32, i32)> {
        let last = i32::try_from(self.counts.len()).ok()?.checked_sub(1)?;
        Some((self.offset, self.offset.saturating_add(last)))
    }

    /// Buckets spanned if `index` were added.
    pub fn span_with(&self, index: i32) -> u64 {
        match self.range() {
            None => 1,
            Some((lo, hi)) => (i64::from(hi.max(index)) - i64::from(lo.min(index)) + 1) as u64,
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, n| a.saturating_add(*n))
    }

    /// Adds one to bucket `index` when it is already held, and says whether it was: the common
    /// case of [`crate::Sketch::add`], which then needs no growth and no span check.
    pub fn add_one_if_held(&mut self, index: i32) -> bool {
        let k = i64::from(index) - i64::from(self.offset);
        match usize::try_from(k).ok().and_then(|k| self.counts.get_mut(k)) {
            Some(c) => {
                *c = c.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Adds `n` to bucket `index`, growing the vector at either end.
    pub fn add(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(n);
            return;
        }
        if index < self.offset {
            let grow = (i64::from(self.offset) - i64::from(index)) as usize;
            self.counts.splice(0..0, vec![0u64; grow]);
            self.offset = index;
        }
        let k = (i64::from(index) - i64::from(self.offset)) as usize;
        if k >= self.counts.len() {
            self.counts.resize(k + 1, 0);
        }
        self.counts[k] = self.counts[k].saturating_add(n);
    }

    /// Lowers the resolution `by` steps: buckets `2i` and `2i+1` become bucket `i`, `by` times.
    pub fn downscale(&mut self, by: u32) {
        if by == 0 || self.counts.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.counts);
        let from = self.offset;
        self.offset = downscale_index(from, by);
        for (k, n) in old.into_iter().enumerate() {
            if n == 0 {
                continue;
            }
            let index = from.saturating_add(k as i32);
            self.add(downscale_index(index, by), n);
        }
        if self.counts.is_empty() {
            self.offset = 0;
        }
    }

    /// Adds every count of `other` (at the same scale).
    pub fn merge(&mut self, other: &Buckets) {
        for (k, n) in other.counts.iter().enumerate() {
            if *n > 0 {
                self.add(other.offset.saturating_add(k as i32), *n);
            }
        }
    }

    /// Occupied buckets as `(index, count)`, lowest index first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (self.offset.saturating_add(k as i32), *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_both_ways_and_downscales() {
        let mut b = Buckets::default();
        b.add(5, 1);
        b.add(2, 2);
        b.add(7, 1);
        assert_eq!((b.offset, b.counts.clone()), (2, vec![2, 0, 0, 1, 0, 1]));
        assert_eq!(b.span_with(-1), 9);
        b.downscale(1);
        // 2,3 → 1; 4,5 → 2; 6,7 → 3
        assert_eq!((b.offset, b.counts.clone()), (1, vec![2, 1, 1]));
        let mut n = Buckets::default();
        n.add(-3, 1);
        n.add(-1, 1);
        n.downscale(1);
        // -4,-3 → -2; -2,-1 → -1
        assert_eq!((n.offset, n.counts.clone()), (-2, vec![1, 1]));
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![(-2, 1), (-1, 1)]);
        assert_eq!(n.total(), 2);
    }
}
