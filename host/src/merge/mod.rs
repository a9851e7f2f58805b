//! `loadrun merge FILE...`: the whole test's summary and threshold verdict from the instances'
//! `--result` files.
//!
//! Exit codes: 0 ok, 99 a threshold failed (as `run`), 255 files that do not make one test
//! (unreadable, corrupted, another version, another plan, segments missing or doubled).

mod coverage;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use loadrun_summary::result::{self, ResultFile, ResultState};
use loadrun_summary::{RunInfo, SummaryMode, SummaryOptions, ThresholdSet, ThresholdSpec};

use crate::exit;
use crate::run::export::SummaryFile;
use crate::run::result::ABORT_ON_FAIL_WARNING;

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// The instances' result files (`loadrun run --result FILE`), one per segment.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub summary: crate::cli::SummaryArgs,
}

pub fn execute(args: MergeArgs) -> anyhow::Result<u8> {
    match merge(&args) {
        Ok(code) => Ok(code),
        Err(Refused(message)) => {
            crate::errln!("loadrun: error: {message}");
            Ok(exit::ERROR)
        }
    }
}

/// Files that do not make one test: the line that says why.
struct Refused(String);

impl From<String> for Refused {
    fn from(s: String) -> Self {
        Refused(s)
    }
}

fn merge(args: &MergeArgs) -> Result<u8, Refused> {
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let files: Vec<ResultFile> = args
        .files
        .iter()
        .map(|p| ResultFile::read(p).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let (Some(first), Some(first_name)) = (files.first(), names.first()) else {
        return Err(Refused("no result files given".into()));
    };

    let mut shares = Vec::new();
    let mut first_sequence = None;
    for (file, name) in files.iter().zip(&names) {
        if file.plan_hash != first.plan_hash {
            return Err(Refused(format!(
                "{name} is a result of another plan than {first_name} (plan hash {} of {}, not {} of {})",
                file.plan_hash, file.plan, first.plan_hash, first.plan
            )));
        }
        let (share, sequence) = coverage::parse_share(name, &file.segment, &file.sequence)?;
        match &first_sequence {
            None => first_sequence = Some(sequence),
            // Shares of different sequences are striped differently and do not add up.
            Some(s) if *s != sequence => {
                return Err(Refused(format!(
                    "{name} ran in segment sequence [{}], {first_name} in [{}]",
                    file.sequence.join(","),
                    first.sequence.join(",")
                )))
            }
            Some(_) => {}
        }
        shares.push(share);
    }
    coverage::check(&shares)?;
    for (file, name) in files.iter().zip(&names) {
        if file.end_reason != "completed" {
            tracing::warn!(
                "{name}: that instance's run ended early ({}); the merged totals lack what it did not run",
                file.end_reason
            );
        }
    }

    let mut state = ResultState::default();
    for (file, name) in files.iter().zip(&names) {
        state
            .merge(&file.data)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    let start = files.iter().map(|f| f.start_unix_ns).min().unwrap_or(0);
    let end = files.iter().map(|f| f.end_unix_ns).max().unwrap_or(0);

    let thresholds = thresholds(&first.thresholds).map_err(|e| format!("{first_name}: {e}"))?;
    if crate::run::result::has_abort_on_fail(&thresholds) && files.len() > 1 {
        tracing::warn!("{ABORT_ON_FAIL_WARNING}");
    }
    let opts = options(args, first)?;
    let summary = state.report(
        (!opts.no_thresholds).then_some(&thresholds),
        &opts,
        &RunInfo {
            duration: result::span(start, end),
        },
    );

    let export = match args.summary.summary_export.as_deref() {
        Some(path) => Some(SummaryFile::open(path)?),
        None => None,
    };
    if opts.mode == SummaryMode::Full {
        // A result file holds per-metric totals, not the per-series state the parts need.
        tracing::warn!("merge: --summary-mode full shows the totals only; the result files hold no per-scenario or per-group data");
    }
    if opts.mode != SummaryMode::Disabled {
        crate::outln!(
            "     merged: {} result file{} of plan {}\n",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            first.plan
        );
        crate::outln!("{}", summary.render_text());
    }
    if let Some(file) = export {
        let path = file.path().display().to_string();
        let doc = if args.summary.new_machine_readable_summary {
            let script = format!("{} (merged)", first.plan);
            crate::run::export::machine_readable(&summary, &script, !summary.thresholds_failed())
        } else {
            summary.export_json()
        };
        serde_json::to_string_pretty(&doc)
            .context("cannot encode the summary export")
            .and_then(|body| {
                file.write(body.as_bytes())
                    .with_context(|| format!("cannot write the summary export {path}"))
            })
            .map_err(|e| format!("{e:#}"))?;
    }
    Ok(if !opts.no_thresholds && summary.thresholds_failed() {
        exit::THRESHOLDS_FAILED
    } else {
        exit::OK
    })
}

fn thresholds(declared: &BTreeMap<String, Vec<serde_json::Value>>) -> Result<ThresholdSet, String> {
    let mut table: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
    for (metric, list) in declared {
        let specs = list
            .iter()
            .map(|v| serde_json::from_value(v.clone()))
            .collect::<Result<Vec<ThresholdSpec>, _>>()
            .map_err(|e| format!("thresholds.{metric}: {e}"))?;
        table.insert(metric.clone(), specs);
    }
    ThresholdSet::parse(&table).map_err(|e| e.to_string())
}

fn options(args: &MergeArgs, first: &ResultFile) -> Result<SummaryOptions, String> {
    let opts = SummaryOptions {
        trend_stats: match &args.summary.summary_trend_stats {
            Some(s) => s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            None => first.summary.trend_stats.clone(),
        },
        time_unit: args
            .summary
            .summary_time_unit
            .clone()
            .or_else(|| first.summary.time_unit.clone()),
        no_thresholds: args.summary.no_thresholds,
        mode: args.summary.mode(),
    };
    opts.validate().map_err(|e| e.to_string())?;
    Ok(opts)
}
