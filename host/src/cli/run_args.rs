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

    #[command(flatten)]
    pub plugin_trust: crate::plugins::TrustArgs,

    /// How long outputs may take to drain and stop at the end of the run (default 30s).
    #[arg(long = "output-stop-timeout", value_name = "DURATION")]
    pub output_stop_timeout: Option<String>,

    /// Quiet: no banner or progress (warnings and errors still print).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Verbose logging.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Distributed runs: start at this instant (RFC 3339 or unix ms), after loading everything.
    #[arg(long = "start-at", value_name = "TIME")]
    pub start_at: Option<String>,

    /// How late past --start-at an instance may still start (default 1s); later, it refuses
    /// to run (exit 111).
    #[arg(
        long = "start-at-tolerance",
        value_name = "DURATION",
        requires = "start_at"
    )]
    pub start_at_tolerance: Option<String>,

    /// k6's feature switches, comma-separated (k6 2.1): `native-histograms` sends trends as
    /// native histograms in remote write. Outputs read them as K6_FEATURES.
    #[arg(long = "features", value_name = "LIST", env = "K6_FEATURES")]
    pub features: Option<String>,

    /// Write this instance's mergeable result (for `loadrun merge`) to FILE.
    #[arg(long = "result", value_name = "FILE")]
    pub result: Option<PathBuf>,

    /// The engine's options (boxed: they would make every `Command` variant large).
    #[command(flatten)]
    pub opts: Box<RunOptions>,
}

/// Quick mode, load shape, variables, tags and summary options of `loadrun run`.
#[derive(Debug, Args, Default, Clone)]
pub struct RunOptions {
    /// Quick mode: load-test this URL without a plan.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// VUs (quick mode; with a plan, replaces its scenarios like k6's --vus).
    #[arg(short = 'u', long, value_name = "N")]
    pub vus: Option<u64>,

    /// Test duration, e.g. 30s, 1m30s (quick mode; with a plan, replaces its scenarios).
    #[arg(short = 'd', long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// Total iterations shared by the VUs (quick mode; with a plan, replaces its scenarios).
    #[arg(short = 'i', long, value_name = "N")]
    pub iterations: Option<u64>,

    /// Run only these scenarios of the plan, as declared (repeatable or comma-separated; k6 2.3).
    #[arg(long = "scenario", value_name = "NAME[,NAME]", value_delimiter = ',')]
    pub scenarios: Vec<String>,

    /// Open model: start this many iterations per second (constant-arrival-rate).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,

    /// HTTP method for --url (default GET, or POST with --body).
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,

    /// Request header for --url, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Request body for --url (`@FILE` reads a file).
    #[arg(long, value_name = "TEXT|@FILE")]
    pub body: Option<String>,

    /// A variable for ${NAME} in the plan (repeatable); overrides the environment.
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,

    /// A test-wide tag on every sample (repeatable).
    #[arg(long = "tag", value_name = "NAME=VALUE")]
    pub tags: Vec<String>,

    /// System tags to attach, comma-separated (k6's --system-tags); `vu`,`iter` become metadata.
    #[arg(long = "system-tags", value_name = "LIST")]
    pub system_tags: Option<String>,

    /// Accept any TLS certificate.
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,

    /// HTTP version: auto (HTTP/2 when a TLS server offers it), 1.1, or 2 (h2c on cleartext).
    #[arg(long = "http-version", value_name = "auto|1.1|2")]
    pub http_version: Option<String>,

    /// Start the built-in test server in-process and set ${TEST_SERVER} to its URL.
    #[arg(long = "test-server")]
    pub test_server: bool,

    #[command(flatten)]
    pub summary: super::SummaryArgs,

    #[command(flatten)]
    pub segment: super::SegmentArgs,
}
