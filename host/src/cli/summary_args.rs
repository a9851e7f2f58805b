//! How the end-of-test summary is shown and exported: the same flags for `loadrun run` and
//! `loadrun merge`, declared once.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct SummaryArgs {
    /// Trend statistics in the summary, e.g. avg,min,med,max,p(90),p(95),p(99) (merge: default
    /// those the instances used).
    #[arg(long = "summary-trend-stats", value_name = "LIST")]
    pub summary_trend_stats: Option<String>,

    /// Time unit of the summary: s, ms or us.
    #[arg(long = "summary-time-unit", value_name = "UNIT")]
    pub summary_time_unit: Option<String>,

    /// Do not print the end-of-test summary.
    #[arg(long = "no-summary")]
    pub no_summary: bool,

    /// Write the summary to FILE in k6's --summary-export JSON shape.
    #[arg(long = "summary-export", value_name = "FILE")]
    pub summary_export: Option<PathBuf>,

    /// Do not evaluate thresholds.
    #[arg(long = "no-thresholds")]
    pub no_thresholds: bool,
}
