//! Options of `loadrun run` (also accepted with no subcommand).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
    /// The test plan (TOML, or JSON with the same schema). Default: ./loadrun.toml.
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,

    /// Output: NAME or NAME=ARG (repeatable), e.g. `-o json=out.json`, `-o influxdb=http://h:8086/k6`.
    #[arg(short = 'o', long = "out", value_name = "NAME[=ARG]")]
    pub out: Vec<String>,

    /// Load an output plugin file, or every libout_*.so in a folder (repeatable).
    #[arg(long = "plugin", value_name = "FILE|DIR")]
    pub plugins: Vec<PathBuf>,

    /// How long outputs may take to drain and stop at the end of the run (default 30s).
    #[arg(long = "output-stop-timeout", value_name = "DURATION")]
    pub output_stop_timeout: Option<String>,

    /// Quiet: no progress, errors only.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Verbose logging.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}
