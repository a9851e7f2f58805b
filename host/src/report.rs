//! `loadrun report EVENTS.ndjson[.gz] -o report.html[.gz]`: the web dashboard's HTML report,
//! rebuilt from a stream recorded with `-o web-dashboard=record=FILE`.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The recorded event stream (NDJSON; gzip when the name ends in .gz).
    #[arg(value_name = "EVENTS")]
    pub events: PathBuf,

    /// The report to write (gzip when the name ends in .gz).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

pub fn execute(args: ReportArgs) -> anyhow::Result<u8> {
    match out_web_dashboard::report::rebuild(&args.events, &args.output) {
        Ok(n) => {
            crate::errln!(
                "loadrun: report {} written from {n} events of {}",
                args.output.display(),
                args.events.display()
            );
            Ok(crate::exit::OK)
        }
        Err(e) => {
            crate::errln!("loadrun: error: {e}");
            Ok(crate::exit::ERROR)
        }
    }
}
