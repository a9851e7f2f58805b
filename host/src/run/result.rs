//! `--result FILE`: what `loadrun merge` needs of this instance (see `loadrun_summary::result`).

use loadrun_engine::plan::Plan;
use loadrun_engine::EngineOptions;
use loadrun_summary::result::{ResultFile, SketchParams, SummaryShape, FORMAT};
use loadrun_summary::{SummaryHandle, SummaryOptions};

/// Identifies the plan as run (overrides such as `--vus` included), whatever share of it this
/// instance ran: the segment options are left out, so every instance of a test has the same
/// hash. Not a security measure: it tells apart files of different tests.
pub fn plan_hash(plan: &Plan) -> String {
    let plan = without_segment(plan);
    loadrun_summary::md5_hex(format!("{plan:?}").as_bytes())
}

/// The plan with its segment options at their defaults.
fn without_segment(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    plan.execution_segment = None;
    plan.execution_segment_sequence = None;
    plan
}

/// The instance's share as written in the file: `from:to` and the sequence, exact fractions.
pub struct Share {
    pub segment: String,
    pub sequence: Vec<String>,
}

impl Share {
    /// What the engine runs of `plan` with `opts`. The sequence is written only when one was
    /// given: without it each instance's share is striped on its own.
    pub fn of(plan: &Plan, opts: &EngineOptions) -> Result<(Self, bool), String> {
        let tuple =
            loadrun_engine::compile::execution_tuple(plan, opts).map_err(|e| e.to_string())?;
        let given =
            opts.execution_segment_sequence.is_some() || plan.execution_segment_sequence.is_some();
        let sequence = if given {
            tuple
                .sequence()
                .to_string()
                .split(',')
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        let share = Self {
            segment: tuple.segment().to_string(),
            sequence,
        };
        Ok((share, tuple.segment().is_full()))
    }
}

pub struct RunFacts<'a> {
    pub plan: &'a Plan,
    pub source: &'a str,
    pub share: Share,
    pub start_unix_ns: i64,
    pub end_unix_ns: i64,
    pub end_reason: loadrun_plugin_api::EndReason,
    pub summary_opts: &'a SummaryOptions,
}

pub fn build(facts: RunFacts<'_>, summary: &SummaryHandle) -> ResultFile {
    ResultFile {
        format: FORMAT.into(),
        plan_hash: plan_hash(facts.plan),
        plan: facts.source.to_string(),
        segment: facts.share.segment,
        sequence: facts.share.sequence,
        start_unix_ns: facts.start_unix_ns,
        end_unix_ns: facts.end_unix_ns,
        end_reason: facts.end_reason.as_str().into(),
        sketch: SketchParams::current(),
        thresholds: facts.plan.thresholds.clone(),
        summary: SummaryShape {
            trend_stats: facts.summary_opts.trend_stats.clone(),
            time_unit: facts.summary_opts.time_unit.clone(),
        },
        data: summary.result_state(),
    }
}

/// Whether the plan has a threshold that would stop the run: each instance judges it on its
/// own share only, so a distributed run cannot honour it.
pub fn has_abort_on_fail(thresholds: &loadrun_summary::ThresholdSet) -> bool {
    thresholds
        .entries
        .iter()
        .any(|e| e.thresholds.iter().any(|t| t.abort_on_fail))
}

/// The warning a distributed run with `abortOnFail` thresholds gets.
pub const ABORT_ON_FAIL_WARNING: &str = "abortOnFail thresholds cannot work across instances: each instance judges them on its own share and stops only itself; `loadrun merge` judges the whole test afterwards";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_plan_hash_ignores_the_segment_and_nothing_else() {
        let base = "vus = 3\niterations = 30\n[[steps]]\nurl = \"http://h/\"\n";
        let with_segment = format!(
            "executionSegment = \"1/3:2/3\"\nexecutionSegmentSequence = \"0,1/3,2/3,1\"\n{base}"
        );
        assert_eq!(plan_hash(&plan(base)), plan_hash(&plan(&with_segment)));
        let other = base.replace("iterations = 30", "iterations = 31");
        assert_ne!(plan_hash(&plan(base)), plan_hash(&plan(&other)));
    }
}
