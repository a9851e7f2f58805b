//! How `loadrun run` takes its part of a distributed test (k6's execution segments).

use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct SegmentArgs {
    /// The part of the test this instance runs, k6's syntax: `1/3:2/3`, `50%`, `0.5:1`.
    #[arg(long = "execution-segment", value_name = "FROM:TO")]
    pub execution_segment: Option<String>,

    /// Every instance's segment, as points: `0,1/3,2/3,1`. Give it to every instance.
    #[arg(long = "execution-segment-sequence", value_name = "0,R1,...,1")]
    pub execution_segment_sequence: Option<String>,

    /// This instance's index, 0-based (default: $JOB_COMPLETION_INDEX); needs --instance-count.
    #[arg(long = "instance-index", value_name = "I")]
    pub instance_index: Option<u64>,

    /// How many instances share the test: this one runs segment I/N:(I+1)/N of 0,1/N,...,1.
    #[arg(long = "instance-count", value_name = "N")]
    pub instance_count: Option<u64>,
}
