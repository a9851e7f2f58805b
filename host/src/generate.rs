//! `loadrun generate man|completions SHELL` (hidden): the man page and shell completions,
//! generated from the clap definition so they never drift from the real options. Used by
//! `scripts/package.sh`.

use std::io::Write;

use anyhow::Result;
use clap::{CommandFactory, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::cli::Cli;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// The roff man page (section 1) on stdout.
    Man,
    /// A completion script for SHELL on stdout.
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// The shells packages install completions for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl From<CompletionShell> for Shell {
    fn from(s: CompletionShell) -> Self {
        match s {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
        }
    }
}

pub fn execute(cmd: GenerateCommand) -> Result<u8> {
    let text = render(cmd)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&text)?;
    out.flush()?;
    Ok(crate::exit::OK)
}

/// Renders into memory first: clap_complete panics on a failed write (e.g. a closed pipe),
/// a `Vec` cannot fail.
pub fn render(cmd: GenerateCommand) -> Result<Vec<u8>> {
    let mut command = Cli::command();
    let mut buf = Vec::new();
    match cmd {
        GenerateCommand::Man => clap_mangen::Man::new(command).render(&mut buf)?,
        GenerateCommand::Completions { shell } => {
            clap_complete::generate(Shell::from(shell), &mut command, "loadrun", &mut buf);
        }
    }
    Ok(buf)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(cmd: GenerateCommand) -> String {
        String::from_utf8(render(cmd).unwrap()).unwrap()
    }

    #[test]
    fn man_page_documents_the_real_options() {
        let man = text(GenerateCommand::Man);
        assert!(man.contains(".TH loadrun 1"), "{man}");
        assert!(man.contains("plugins"), "{man}");
        // The hidden generator is for packagers, not users.
        assert!(!man.contains("generate"), "{man}");
    }

    #[test]
    fn completions_cover_subcommands() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let script = text(GenerateCommand::Completions { shell });
            assert!(script.contains("plugins"), "{shell:?}: {script}");
            assert!(script.contains("summary-export"), "{shell:?}: {script}");
        }
    }
}
