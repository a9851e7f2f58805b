//! The command line: `loadrun [run] [PLAN] [options]`, `loadrun serve`, `loadrun plugins ...`.
//!
//! `run` is the default subcommand, so `loadrun --plugin ./libout_datadog.so --out datadog`
//! works as users type it.

mod run_args;
mod segment_args;
mod summary_args;

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Parses `args` as [`Parser::parse_from`] does, but also takes global flags typed before
    /// the subcommand (`loadrun --no-color run plan.toml`): `run`'s options are accepted
    /// without the subcommand, so clap would read a leading flag as `run`'s and the
    /// subcommand's name as the plan.
    pub fn parse_with_leading_globals<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::parse_from(globals_after_subcommand(args))
    }

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

/// Moves the global flags that come before a subcommand's name to just after it. The global
/// flags and subcommand names are read from the declared command, not listed again.
fn globals_after_subcommand<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command();
    let globals: Vec<String> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    let leading = args
        .iter()
        .skip(1)
        .take_while(|a| a.to_str().is_some_and(|a| globals.iter().any(|g| g == a)))
        .count();
    let names_subcommand = args
        .get(1 + leading)
        .and_then(|a| a.to_str())
        .is_some_and(|a| {
            command
                .get_subcommands()
                .any(|s| s.get_name() == a || s.get_all_aliases().any(|alias| alias == a))
        });
    if leading > 0 && names_subcommand {
        // [bin, g1, g2, sub, rest...] -> [bin, sub, g1, g2, rest...]
        args[1..=1 + leading].rotate_right(1);
    }
    args
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
    fn a_global_flag_may_come_before_the_subcommand() {
        let cli = Cli::parse_with_leading_globals(["loadrun", "--no-color", "run", "plan.toml"]);
        assert!(cli.no_color);
        let Some(Command::Run(args)) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(
            args.plan.as_deref(),
            Some(std::path::Path::new("plan.toml"))
        );
        // Without a subcommand nothing moves: `run`'s options and the plan stay where typed.
        let cli = Cli::parse_with_leading_globals(["loadrun", "--no-color", "plan.toml"]);
        assert!(cli.no_color && cli.command.is_none());
        let cli = Cli::parse_with_leading_globals(["loadrun", "--no-color", "serve"]);
        assert!(cli.no_color && matches!(cli.command, Some(Command::Serve(_))));
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
