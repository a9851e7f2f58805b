//! `loadrun run`: placeholder until the load engine lands (issue 3).

use crate::cli::RunArgs;

pub fn execute(args: RunArgs) -> anyhow::Result<u8> {
    let _ = args;
    anyhow::bail!("the load engine is not wired in yet")
}
