//! `loadrun`: the host. A thin binary over this library, so the command line can be tested with
//! `Cli::parse_from`.

pub mod cli;
pub mod console;
pub mod exit;
pub mod generate;
pub mod kubernetes;
pub mod logging;
pub mod merge;
pub mod outputs;
pub mod plugins;
pub mod report;
pub mod run;
pub mod serve;
