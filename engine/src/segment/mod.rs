//! k6's execution segments (`lib/execution_segment.go`): how one test is split between
//! instances so that each computes its own share exactly, knowing only its segment and the
//! sequence, and the shares add up to the whole.

mod range;
mod rational;
mod sequence;
#[cfg(test)]
mod tests;

pub use range::ExecutionSegment;
pub use rational::{parse_ratio, Ratio};
pub use sequence::{
    ExecutionSegmentSequence, ExecutionTuple, SegmentedIndex, SequenceWrapper, Stripes,
};

/// Largest common denominator a sequence may have: the striping table holds one entry per
/// unit of it.
pub const MAX_LCD: i64 = 1_000_000;

/// Most segments × common denominator of a sequence: building its striping table takes up to
/// that many steps (10,000 equal instances reach it).
pub const MAX_STRIPING_WORK: i128 = 100_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("'{0}' is not a valid percentage")]
    BadPercentage(String),
    #[error("'{0}' is not a valid percentage, decimal, fraction or interval value")]
    BadValue(String),
    #[error("a fraction has a zero denominator")]
    ZeroDenominator,
    #[error(
        "a segment value is too precise (more than 18 digits, or a denominator beyond 64 bits)"
    )]
    TooPrecise,
    #[error("segment start value must be at least 0 but was {0}")]
    NegativeStart(String),
    #[error("segment start ({0}) must be less than its end ({1})")]
    Empty(String, String),
    #[error("segment end value can't be more than 1 but was {0}")]
    EndPastOne(String),
    #[error("at least 2 points are needed for an execution segment sequence, {0} given")]
    TooFewPoints(usize),
    #[error("the sequence's segments need a common denominator of {0}, more than loadrun allows ({MAX_LCD})")]
    LcdTooLarge(i128),
    #[error("a sequence of {0} segments with a common denominator of {1} takes more striping work than loadrun allows ({MAX_STRIPING_WORK} segments × denominator)")]
    TooManySegments(usize, i64),
    #[error("couldn't find segment {0} in sequence {1}")]
    NotInSequence(String, String),
    #[error("cannot split a value of {0} between segments")]
    BadValueToSplit(i64),
    #[error("segment {0} gets nothing of a value of {1}")]
    NothingForSegment(String, i64),
    #[error("the instance index {index} is not below the instance count {count}")]
    BadInstance { index: u64, count: u64 },
    #[error("the instance count must be at least 1")]
    ZeroInstances,
}
