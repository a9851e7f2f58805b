//! The `loadrun` executable: parse the command line, hand over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = loadrun::cli::Cli::parse_with_leading_globals(std::env::args_os());
    loadrun::logging::init(cli.verbosity(), cli.no_color);
    match loadrun::cli::execute(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            loadrun::errln!("loadrun: error: {err:#}");
            ExitCode::from(loadrun::exit::ERROR)
        }
    }
}
