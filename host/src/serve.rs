//! `loadrun serve`: placeholder until the built-in test target lands (issue 3).

#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

pub fn execute(args: ServeArgs) -> anyhow::Result<u8> {
    let _ = args;
    anyhow::bail!("the built-in test target is not wired in yet")
}
