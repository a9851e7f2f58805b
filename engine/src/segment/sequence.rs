//! Sequences of adjacent segments, k6's striping of integers between them, and the
//! (segment, sequence) tuple every executor partitions its work by.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::rational::{gcd, parse_ratio, Ratio};
use super::{ExecutionSegment, SegmentError, MAX_LCD};

/// Segments where each one starts where the previous ends; `r1,r2,...,rn` in k6's syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionSegmentSequence(Vec<ExecutionSegment>);

impl ExecutionSegmentSequence {
    pub fn new(segments: Vec<ExecutionSegment>) -> Result<Self, SegmentError> {
        for pair in segments.windows(2) {
            if pair[1].from() != pair[0].to() {
                return Err(SegmentError::Empty(
                    pair[0].to().to_string(),
                    pair[1].from().to_string(),
                ));
            }
        }
        Ok(ExecutionSegmentSequence(segments))
    }

    /// `0, 1/n, 2/n, ..., 1`: the sequence of `n` instances.
    pub fn even(n: u64) -> Result<Self, SegmentError> {
        Ok(ExecutionSegmentSequence(ExecutionSegment::FULL.split(n)?))
    }

    pub fn segments(&self) -> &[ExecutionSegment] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_full(&self) -> bool {
        match (self.0.first(), self.0.last()) {
            (Some(a), Some(b)) => a.from() == Ratio::ZERO && b.to() == Ratio::ONE,
            _ => false,
        }
    }

    /// The least common denominator of the segments' lengths.
    pub fn lcd(&self) -> Result<i64, SegmentError> {
        let mut acc: i128 = 1;
        for s in &self.0 {
            let d = s.length().denom() as i128;
            acc = acc / gcd(acc, d) * d;
            if acc > MAX_LCD as i128 {
                return Err(SegmentError::LcdTooLarge(acc));
            }
        }
        Ok(acc as i64)
    }

    pub fn position(&self, segment: &ExecutionSegment) -> Result<usize, SegmentError> {
        let i = self.0.partition_point(|s| s.from() < segment.from());
        match self.0.get(i) {
            Some(s) if s == segment => Ok(i),
            _ => Err(SegmentError::NotInSequence(
                segment.to_string(),
                self.to_string(),
            )),
        }
    }

    /// k6's `GetFilledExecutionSegmentSequence`: the sequence (or the lone segment) with
    /// the gaps before and after filled, so that it covers `0:1`.
    pub fn filled(&self, fallback: &ExecutionSegment) -> ExecutionSegmentSequence {
        let mut out = if self.0.is_empty() {
            if fallback.is_full() {
                return ExecutionSegmentSequence(vec![ExecutionSegment::FULL]);
            }
            vec![*fallback]
        } else {
            self.0.clone()
        };
        if let Some(first) = out.first().copied() {
            if first.from() != Ratio::ZERO {
                if let Ok(s) = ExecutionSegment::new(Ratio::ZERO, first.from()) {
                    out.insert(0, s);
                }
            }
        }
        if let Some(last) = out.last().copied() {
            if last.to() != Ratio::ONE {
                if let Ok(s) = ExecutionSegment::new(last.to(), Ratio::ONE) {
                    out.push(s);
                }
            }
        }
        ExecutionSegmentSequence(out)
    }
}

impl FromStr for ExecutionSegmentSequence {
    type Err = SegmentError;

    fn from_str(s: &str) -> Result<Self, SegmentError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(ExecutionSegmentSequence::default());
        }
        let points = s
            .split(',')
            .map(|p| parse_ratio(p.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if points.len() < 2 {
            return Err(SegmentError::TooFewPoints(points.len()));
        }
        let segments = points
            .windows(2)
            .map(|w| ExecutionSegment::new(w[0], w[1]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExecutionSegmentSequence(segments))
    }
}

impl fmt::Display for ExecutionSegmentSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(first) = self.0.first() {
            write!(f, "{}", first.from())?;
        }
        for s in &self.0 {
            write!(f, ",{}", s.to())?;
        }
        Ok(())
    }
}

/// A full sequence with k6's striping table computed once (`ExecutionSegmentSequenceWrapper`).
#[derive(Debug)]
pub struct SequenceWrapper {
    sequence: ExecutionSegmentSequence,
    lcd: i64,
    /// Per segment: the first index it owns, then the gaps to each next one, the last gap
    /// leading into the next cycle of `lcd` indices.
    offsets: Vec<Vec<i64>>,
}

impl SequenceWrapper {
    /// Expects a full sequence (see [`ExecutionSegmentSequence::filled`]).
    pub fn new(sequence: ExecutionSegmentSequence) -> Result<Self, SegmentError> {
        if !sequence.is_full() {
            return Err(SegmentError::NotInSequence(
                "0:1".into(),
                sequence.to_string(),
            ));
        }
        let lcd = sequence.lcd()?;
        let n = sequence.0.len();
        if n as i128 * lcd as i128 > super::MAX_STRIPING_WORK {
            return Err(SegmentError::TooManySegments(n, lcd));
        }
        let mut sorted: Vec<(i64, usize)> = sequence
            .0
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let len = s.length();
                (len.numer() * (lcd / len.denom()), i)
            })
            .collect();
        // Biggest first: they must take the most indices and have the least room to spread.
        sorted.sort_by_key(|e| std::cmp::Reverse(e.0));

        let mut offsets: Vec<Vec<i64>> = vec![Vec::new(); n];
        let mut prev = vec![0i64; n];
        let mut chosen = vec![0i64; n];
        for i in 0..lcd {
            for (si, &(denom, idx)) in sorted.iter().enumerate() {
                let num = chosen[si] * lcd;
                if i > num / denom || (i == num / denom && num % denom == 0) {
                    chosen[si] += 1;
                    let o = &mut offsets[idx];
                    o.push(i - prev[idx]);
                    prev[idx] = i;
                    if o.len() as i64 == denom {
                        let wrap = o[0] + lcd - i;
                        o.push(wrap);
                    }
                    break;
                }
            }
        }
        Ok(SequenceWrapper {
            sequence,
            lcd,
            offsets,
        })
    }

    pub fn sequence(&self) -> &ExecutionSegmentSequence {
        &self.sequence
    }

    pub fn lcd(&self) -> i64 {
        self.lcd
    }

    /// `(start, offsets, lcd)` of segment `index`, k6's `GetStripedOffsets`.
    pub fn striped_offsets(&self, index: usize) -> (i64, &[i64], i64) {
        match self.offsets.get(index) {
            Some(o) if !o.is_empty() => (o[0], &o[1..], self.lcd),
            _ => (0, &[], self.lcd),
        }
    }

    /// How many of the indices `0..value` segment `index` owns; over the sequence these add up
    /// to `value`, and each only grows with `value`.
    pub fn scale(&self, index: usize, value: i64) -> i64 {
        let value = value.max(0);
        let (start, offsets, lcd) = self.striped_offsets(index);
        let mut result = (value / lcd) * offsets.len() as i64;
        let rest = value % lcd;
        let mut i = start;
        for off in offsets {
            if i >= rest {
                break;
            }
            result += 1;
            i += off;
        }
        result
    }

    /// k6's `GetNewExecutionSegmentSequenceFromValue`: a new sequence whose segments are each
    /// one's share of `value` over `value`, dropping those that get nothing; with the new
    /// position of `tracked`.
    pub fn resegment(
        self: &Arc<Self>,
        value: i64,
        tracked: usize,
    ) -> Result<(Arc<SequenceWrapper>, usize), SegmentError> {
        if value < 1 {
            return Err(SegmentError::BadValueToSplit(value));
        }
        if value % self.lcd == 0 {
            return Ok((self.clone(), tracked));
        }
        let mut new = Vec::with_capacity(self.sequence.0.len());
        let mut new_index = None;
        let mut prev = 0i64;
        for i in 0..self.sequence.0.len() {
            let share = self.scale(i, value);
            if share == 0 {
                continue;
            }
            let seg = ExecutionSegment::new(
                Ratio::new(prev as i128, value as i128)?,
                Ratio::new((prev + share) as i128, value as i128)?,
            )?;
            prev += share;
            if i == tracked {
                new_index = Some(new.len());
            }
            new.push(seg);
        }
        let Some(idx) = new_index else {
            let seg = self
                .sequence
                .0
                .get(tracked)
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(SegmentError::NothingForSegment(seg, value));
        };
        Ok((
            Arc::new(SequenceWrapper::new(ExecutionSegmentSequence(new))?),
            idx,
        ))
    }
}

/// One segment of a full sequence: what an instance uses to compute its share.
#[derive(Clone, Debug)]
pub struct ExecutionTuple {
    wrapper: Arc<SequenceWrapper>,
    segment: ExecutionSegment,
    index: usize,
}

impl Default for ExecutionTuple {
    fn default() -> Self {
        let full = ExecutionSegmentSequence(vec![ExecutionSegment::FULL]);
        ExecutionTuple {
            wrapper: Arc::new(SequenceWrapper {
                sequence: full,
                lcd: 1,
                offsets: vec![vec![0, 1]],
            }),
            segment: ExecutionSegment::FULL,
            index: 0,
        }
    }
}

impl ExecutionTuple {
    /// k6's `NewExecutionTuple`: the segment within the sequence (filled to cover `0:1`).
    pub fn new(
        segment: ExecutionSegment,
        sequence: &ExecutionSegmentSequence,
    ) -> Result<Self, SegmentError> {
        let filled = sequence.filled(&segment);
        let index = filled.position(&segment)?;
        Ok(ExecutionTuple {
            wrapper: Arc::new(SequenceWrapper::new(filled)?),
            segment,
            index,
        })
    }

    /// Instance `index` of `count`: segment `index/count : (index+1)/count` of the even
    /// sequence.
    pub fn instance(index: u64, count: u64) -> Result<Self, SegmentError> {
        if count == 0 {
            return Err(SegmentError::ZeroInstances);
        }
        if index >= count {
            return Err(SegmentError::BadInstance { index, count });
        }
        let seq = ExecutionSegmentSequence::even(count)?;
        let segment = seq.0[index as usize];
        ExecutionTuple::new(segment, &seq)
    }

    pub fn segment(&self) -> &ExecutionSegment {
        &self.segment
    }

    pub fn sequence(&self) -> &ExecutionSegmentSequence {
        &self.wrapper.sequence
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn is_whole(&self) -> bool {
        self.wrapper.sequence.0.len() == 1
    }

    /// This segment's share of `value` (k6's `ExecutionTuple.ScaleInt64`).
    pub fn scale(&self, value: i64) -> i64 {
        if self.is_whole() {
            return value;
        }
        self.wrapper.scale(self.index, value)
    }

    pub fn striped_offsets(&self) -> (i64, &[i64], i64) {
        self.wrapper.striped_offsets(self.index)
    }

    /// k6's `GetNewExecutionTupleFromValue`: this segment re-cut by its share of `value`.
    pub fn resegment(&self, value: i64) -> Result<ExecutionTuple, SegmentError> {
        let (wrapper, index) = self.wrapper.resegment(value, self.index)?;
        let segment = wrapper.sequence.0[index];
        Ok(ExecutionTuple {
            wrapper,
            segment,
            index,
        })
    }

    pub fn segmented_index(&self) -> SegmentedIndex {
        let (start, offsets, lcd) = self.striped_offsets();
        SegmentedIndex {
            start,
            lcd,
            offsets: offsets.to_vec(),
            scaled: 0,
            unscaled: 0,
        }
    }
}

impl fmt::Display for ExecutionTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.segment, self.wrapper.sequence)
    }
}

/// k6's `SegmentedIndex`: walks this segment's own indices (`scaled`, from 1) and the global
/// index each one is (`unscaled`, from 1).
#[derive(Clone, Debug)]
pub struct SegmentedIndex {
    start: i64,
    lcd: i64,
    offsets: Vec<i64>,
    scaled: i64,
    unscaled: i64,
}

impl SegmentedIndex {
    #[cfg(test)]
    pub(crate) fn raw(start: i64, lcd: i64, offsets: Vec<i64>) -> Self {
        SegmentedIndex {
            start,
            lcd,
            offsets,
            scaled: 0,
            unscaled: 0,
        }
    }

    pub fn current(&self) -> (i64, i64) {
        (self.scaled, self.unscaled)
    }

    fn offset(&self, i: i64) -> i64 {
        let n = self.offsets.len().max(1) as i64;
        self.offsets
            .get((i.rem_euclid(n)) as usize)
            .copied()
            .unwrap_or(self.lcd)
    }

    pub fn advance(&mut self) -> (i64, i64) {
        if self.scaled == 0 {
            self.unscaled += self.start + 1;
        } else {
            self.unscaled += self.offset(self.scaled - 1);
        }
        self.scaled += 1;
        (self.scaled, self.unscaled)
    }

    /// Undefined (as in k6) at `scaled == 0`; here it stays at 0.
    pub fn back(&mut self) -> (i64, i64) {
        if self.scaled <= 1 {
            self.unscaled = 0;
            self.scaled = 0;
            return (0, 0);
        }
        self.unscaled -= self.offset(self.scaled - 2);
        self.scaled -= 1;
        (self.scaled, self.unscaled)
    }

    /// Moves to the largest scaled index whose global index is at most `value`.
    pub fn go_to(&mut self, value: i64) -> (i64, i64) {
        let whole = value / self.lcd;
        self.scaled = whole * self.offsets.len() as i64;
        self.unscaled = whole * self.lcd + self.start + 1;
        let mut gi = 0usize;
        let mut i = self.start;
        while i < value % self.lcd && gi < self.offsets.len() {
            self.scaled += 1;
            self.unscaled += self.offsets[gi];
            i += self.offsets[gi];
            gi += 1;
        }
        if gi > 0 {
            self.unscaled -= self.offsets[gi - 1];
        } else if self.scaled > 0 {
            if let Some(last) = self.offsets.last() {
                self.unscaled -= last;
            }
        }
        if self.scaled == 0 {
            self.unscaled = 0;
        }
        (self.scaled, self.unscaled)
    }
}

/// The global index of each of a segment's own indices, in O(1): the striping table's
/// offsets as running sums within one cycle of `lcd`.
#[derive(Clone, Debug)]
pub struct Stripes {
    lcd: u64,
    /// Position within a cycle of the segment's k-th index of that cycle.
    within: Vec<u64>,
}

impl Stripes {
    /// Global (0-based) index of this segment's `local`-th (0-based) index.
    pub fn global(&self, local: u64) -> u64 {
        let per = self.within.len().max(1) as u64;
        let at = self
            .within
            .get((local % per) as usize)
            .copied()
            .unwrap_or(0);
        (local / per).saturating_mul(self.lcd).saturating_add(at)
    }
}

impl ExecutionTuple {
    pub fn stripes(&self) -> Stripes {
        let (start, offsets, lcd) = self.striped_offsets();
        let mut within = Vec::with_capacity(offsets.len());
        let mut at = start;
        for off in offsets {
            within.push(at.max(0) as u64);
            at += off;
        }
        Stripes {
            lcd: lcd.max(1) as u64,
            within,
        }
    }
}
