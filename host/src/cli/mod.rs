//! The command line: `loadrun [run] [PLAN] [options]`, `loadrun serve`, `loadrun plugins ...`.
//!
//! `run` is the default subcommand, so `loadrun --plugin ./libout_datadog.so --out datadog`
//! works as users type it.

mod run_args;
mod segment_args;
mod summary_args;

use clap::{Parser, Subcommand};

pub use run_args::RunArgs;
pub use segment_args::SegmentArgs;
pub use summary_args::SummaryArgs;

#[derive(Debug, Parser)]
#[command(
    name = "loadrun",
    version,
    about = "A fast load-testing tool with k6-compatible metrics and output plugins",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `run`'s options, accepted without the subcommand.
    #[command(flatten)]
    pub run: RunArgs,

    /// No colour in logs and progress bars, as `NO_COLOR=1` (k6's `--no-color`).
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test (the default).
    Run(RunArgs),
    /// Merge the instances' `--result` files: the whole test's summary and thresholds.
    Merge(crate::merge::MergeArgs),
    /// Start the built-in HTTP test target.
    Serve(crate::serve::ServeArgs),
    /// Rebuild the web dashboard's HTML report from a recorded event stream.
    Report(crate::report::ReportArgs),
    /// List and inspect output plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Print Kubernetes manifests that run a plan as N instances (an Indexed Job).
    Kubernetes(crate::kubernetes::KubernetesArgs),
    /// Man page and shell completions, for packagers (`scripts/package.sh`).
    #[command(subcommand, hide = true)]
    Generate(crate::generate::GenerateCommand),
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Every plugin found: file, name, version, API version, outputs; and skipped candidates.
    List {
        /// Also load these plugin files or folders.
        #[arg(long = "plugin", value_name = "FILE|DIR")]
        plugins: Vec<std::path::PathBuf>,
        #[command(flatten)]
        trust: crate::plugins::TrustArgs,
    },
    /// The outputs and options of one plugin (by output name, plugin name or file).
    Info {
        /// An output name (`influxdb`), a plugin name (`out_influxdb`) or a file.
        target: String,
        /// Also load these plugin files or folders.
        #[arg(long = "plugin", value_name = "FILE|DIR")]
        plugins: Vec<std::path::PathBuf>,
        #[command(flatten)]
        trust: crate::plugins::TrustArgs,
    },
    /// The plugin search path, one folder a line, in order.
    Path,
}

impl Cli {
    /// The default log filter for this invocation.
    pub fn verbosity(&self) -> &'static str {
        let run = match &self.command {
            Some(Command::Run(r)) => r,
            _ => &self.run,
        };
        // `--quiet` hides the banner and the progress, as k6's `-q` ("disable progress
        // updates") does, and not warnings: a refused request or a redirect limit is what a
        // quiet run must still say.
        if run.verbose {
            "debug"
        } else {
            "warn"
        }
    }
}

/// Runs the parsed command; returns the process exit code.
pub fn execute(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Some(Command::Run(args)) => crate::run::execute(args),
        Some(Command::Merge(args)) => crate::merge::execute(args),
        Some(Command::Serve(args)) => crate::serve::execute(args),
        Some(Command::Report(args)) => crate::report::execute(args),
        Some(Command::Plugins(cmd)) => crate::plugins::cmd::execute(cmd),
        Some(Command::Kubernetes(args)) => crate::kubernetes::execute(args),
        Some(Command::Generate(cmd)) => crate::generate::execute(cmd),
        None => crate::run::execute(cli.run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hides_progress_not_warnings() {
        for args in [&["loadrun", "-q"][..], &["loadrun", "run", "--quiet"]] {
            assert_eq!(Cli::parse_from(args).verbosity(), "warn", "{args:?}");
        }
        assert_eq!(
            Cli::parse_from(["loadrun", "run", "-v"]).verbosity(),
            "debug"
        );
    }

    #[test]
    fn run_is_the_default_subcommand() {
        let cli = Cli::parse_from([
            "loadrun",
            "--plugin",
            "./libout_datadog.so",
            "--out",
            "datadog",
        ]);
        assert!(cli.command.is_none());
        assert_eq!(cli.run.out, vec!["datadog".to_string()]);
        assert_eq!(cli.run.plugins.len(), 1);
    }

    #[test]
    fn run_subcommand_takes_the_same_options() {
        let cli = Cli::parse_from([
            "loadrun",
            "run",
            "plan.toml",
            "-o",
            "json=out.json",
            "-o",
            "csv",
        ]);
        let Some(Command::Run(args)) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(
            args.out,
            vec!["json=out.json".to_string(), "csv".to_string()]
        );
    }

    #[test]
    fn plugins_subcommands_parse() {
        let cli = Cli::parse_from(["loadrun", "plugins", "info", "influxdb"]);
        assert!(matches!(
            cli.command,
            Some(Command::Plugins(PluginsCommand::Info { .. }))
        ));
    }
}
