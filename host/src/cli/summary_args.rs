//! How the end-of-test summary is shown and exported: the same flags for `loadrun run` and
//! `loadrun merge`, declared once.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::Args;
use loadrun_summary::SummaryMode;

#[derive(Debug, Args, Default, Clone)]
pub struct SummaryArgs {
    /// Trend statistics in the summary, e.g. avg,min,med,max,p(90),p(95),p(99) (merge: default
    /// those the instances used).
    #[arg(long = "summary-trend-stats", value_name = "LIST")]
    pub summary_trend_stats: Option<String>,

    /// Time unit of the summary: s, ms or us.
    #[arg(long = "summary-time-unit", value_name = "UNIT")]
    pub summary_time_unit: Option<String>,

    /// The end-of-test summary: compact (default), full (adds every timing metric and a
    /// section per scenario and per group) or disabled.
    #[arg(
        long = "summary-mode",
        value_name = "compact|full|disabled",
        env = "K6_SUMMARY_MODE",
        value_parser = |s: &str| s.parse::<SummaryMode>()
    )]
    pub summary_mode: Option<SummaryMode>,

    /// Do not print the end-of-test summary (k6's old name for --summary-mode disabled).
    #[arg(long = "no-summary")]
    pub no_summary: bool,

    /// Write the summary to FILE: k6's legacy --summary-export JSON shape, or its
    /// machine-readable one with --new-machine-readable-summary.
    #[arg(long = "summary-export", value_name = "FILE")]
    pub summary_export: Option<PathBuf>,

    /// Write --summary-export in k6's machine-readable summary format (schema 1.0.0 of
    /// grafana/k6-summary) instead of the legacy shape.
    #[arg(
        long = "new-machine-readable-summary",
        env = "K6_NEW_MACHINE_READABLE_SUMMARY",
        value_parser = BoolishValueParser::new()
    )]
    pub new_machine_readable_summary: bool,

    /// Do not evaluate thresholds.
    #[arg(long = "no-thresholds")]
    pub no_thresholds: bool,
}

impl SummaryArgs {
    /// `--no-summary` is `--summary-mode disabled`, whatever else is given.
    pub fn mode(&self) -> SummaryMode {
        if self.no_summary {
            SummaryMode::Disabled
        } else {
            self.summary_mode.unwrap_or_default()
        }
    }
}
