//! Which execution segment this process runs: `--execution-segment`/`-sequence`, or
//! `--instance-index`/`--instance-count` (the index falling back to Kubernetes'
//! `JOB_COMPLETION_INDEX`).

use anyhow::{bail, Context};
use loadrun_engine::segment::{ExecutionSegment, ExecutionSegmentSequence, ExecutionTuple};

use crate::cli::SegmentArgs;

/// What the flags select.
#[derive(Debug, Default)]
pub struct Selected {
    pub segment: Option<ExecutionSegment>,
    pub sequence: Option<ExecutionSegmentSequence>,
    /// `--instance-index`, for the `instance_id` tag.
    pub instance: Option<u64>,
}

pub fn select(args: &SegmentArgs, job_index: Option<&str>) -> anyhow::Result<Selected> {
    let Some(count) = args.instance_count else {
        if let Some(i) = args.instance_index {
            bail!(
                "--instance-index {i} needs --instance-count N (how many instances share the test)"
            );
        }
        return Ok(Selected {
            segment: args
                .execution_segment
                .as_deref()
                .map(|s| {
                    s.parse::<ExecutionSegment>()
                        .with_context(|| format!("--execution-segment {s:?}"))
                })
                .transpose()?,
            sequence: args
                .execution_segment_sequence
                .as_deref()
                .map(|s| {
                    s.parse::<ExecutionSegmentSequence>()
                        .with_context(|| format!("--execution-segment-sequence {s:?}"))
                })
                .transpose()?,
            instance: None,
        });
    };
    if args.execution_segment.is_some() || args.execution_segment_sequence.is_some() {
        bail!("--instance-count cannot be combined with --execution-segment or --execution-segment-sequence: it sets both");
    }
    let index = match (args.instance_index, job_index) {
        (Some(i), _) => i,
        (None, Some(text)) => text.trim().parse::<u64>().with_context(|| {
            format!("JOB_COMPLETION_INDEX {text:?}: expected the instance's index, 0 or more")
        })?,
        (None, None) => {
            bail!("--instance-count {count} needs --instance-index I (or JOB_COMPLETION_INDEX set)")
        }
    };
    let tuple = ExecutionTuple::instance(index, count)
        .with_context(|| format!("--instance-index {index} --instance-count {count}"))?;
    Ok(Selected {
        segment: Some(*tuple.segment()),
        sequence: Some(tuple.sequence().clone()),
        instance: Some(index),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(seg: Option<&str>, seq: Option<&str>, i: Option<u64>, n: Option<u64>) -> SegmentArgs {
        SegmentArgs {
            execution_segment: seg.map(str::to_string),
            execution_segment_sequence: seq.map(str::to_string),
            instance_index: i,
            instance_count: n,
        }
    }

    #[test]
    fn instances_select_their_segment() {
        let s = select(&args(None, None, Some(2), Some(4)), None).unwrap();
        assert_eq!(s.segment.unwrap().to_string(), "1/2:3/4");
        assert_eq!(s.sequence.unwrap().to_string(), "0,1/4,1/2,3/4,1");
        assert_eq!(s.instance, Some(2));
        let s = select(&args(None, None, None, Some(3)), Some("1")).unwrap();
        assert_eq!(s.segment.unwrap().to_string(), "1/3:2/3");
        // The flag wins over the environment.
        let s = select(&args(None, None, Some(0), Some(3)), Some("2")).unwrap();
        assert_eq!(s.instance, Some(0));
    }

    #[test]
    fn bad_selections_say_what_is_wrong() {
        let msg = |a: SegmentArgs, env: Option<&str>| format!("{:#}", select(&a, env).unwrap_err());
        assert!(msg(args(None, None, Some(1), None), None).contains("needs --instance-count"));
        assert!(msg(args(None, None, None, Some(3)), None).contains("needs --instance-index"));
        assert!(
            msg(args(None, None, Some(3), Some(3)), None).contains("not below the instance count")
        );
        assert!(msg(args(None, None, None, Some(3)), Some("x")).contains("JOB_COMPLETION_INDEX"));
        assert!(
            msg(args(Some("0:1/2"), None, Some(0), Some(2)), None).contains("cannot be combined")
        );
        let m = msg(args(Some("55%:50%"), None, None, None), None);
        assert!(
            m.contains("--execution-segment \"55%:50%\"") && m.contains("must be less"),
            "{m}"
        );
        let m = msg(args(None, Some("0,1/2,1/3"), None, None), None);
        assert!(m.contains("--execution-segment-sequence"), "{m}");
    }
}
