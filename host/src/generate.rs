//! `loadrun generate man|completions SHELL` (hidden): the man page and shell completions,
//! generated from the clap definition so they never drift from the real options. Used by
//! `scripts/package.sh`.

use std::io::Write;

use anyhow::Result;
use clap::{CommandFactory, Subcommand, ValueEnum};
use clap_complete::Shell;
use loadrun_plugin_api::declaration::DeclaredOutput;

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
        GenerateCommand::Man => {
            clap_mangen::Man::new(command).render(&mut buf)?;
            buf.extend_from_slice(output_options_section().as_bytes());
        }
        GenerateCommand::Completions { shell } => {
            clap_complete::generate(Shell::from(shell), &mut command, "loadrun", &mut buf);
        }
    }
    Ok(buf)
}

/// A man page section for the bundled outputs' options, generated from their declarations
/// (plugins document theirs in `loadrun plugins info NAME`).
fn output_options_section() -> String {
    let mut s = String::from(".SH \"OUTPUT OPTIONS\"\n");
    s.push_str(&roff(
        "Options of the bundled outputs, in -o NAME=key=value, the plan's [outputs.NAME] table or the environment (lowest to highest: default, plan, environment, -o). Plugins list theirs with loadrun plugins info NAME.",
    ));
    // Every output takes the host's options, so they come first.
    s.push_str(&declared_section(&crate::outputs::HOST_DECLARATION));
    for plugin in crate::outputs::bundled::modules().into_iter().map(|m| {
        crate::plugins::LoadedPlugin::from_module(crate::plugins::PluginSource::Bundled, m)
    }) {
        for d in plugin.declared.iter().filter(|d| d.declares_options()) {
            s.push_str(&declared_section(d));
        }
    }
    s
}

/// The man page entries of one declaration: a subsection, then one tagged paragraph per option.
fn declared_section(d: &DeclaredOutput) -> String {
    let mut s = String::new();
    s.push_str(&format!(".SS {}\n", roff_text(d.name)));
    s.push_str(&roff(d.description));
    for o in d.options {
        let mut head = format!("{} ({})", o.name, o.kind.label());
        if let Some(default) = o.default.filter(|_| !o.secret) {
            head.push_str(&format!(", default {default}"));
        }
        let mut body = o.doc.to_string();
        let env = d.env_names(o);
        if !env.is_empty() {
            body.push_str(&format!(" Environment: {}.", env.join(", ")));
        }
        if !o.aliases.is_empty() {
            body.push_str(&format!(" Also: {}.", o.aliases.join(", ")));
        }
        for note in o.notes() {
            body.push_str(&format!(" {note}."));
        }
        if o.secret {
            body.push_str(" Secret: never shown.");
        }
        s.push_str(".TP\n");
        s.push_str(&roff(&head));
        s.push_str(&roff(&body));
    }
    s
}

/// One line of roff text: backslashes escaped, a leading control character neutralised.
fn roff(text: &str) -> String {
    format!("{}\n", roff_text(text))
}

fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
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
    fn man_page_documents_the_declared_output_options() {
        let man = text(GenerateCommand::Man);
        assert!(man.contains(".SH \"OUTPUT OPTIONS\""), "{man}");
        assert!(man.contains(".SS csv"), "{man}");
        assert!(man.contains(".SS host options"), "{man}");
        assert!(
            man.contains("whenFull (drop_oldest|dropOldest|block), default drop_oldest"),
            "{man}"
        );
        assert!(man.contains("saveInterval (duration), default 1s"), "{man}");
        assert!(man.contains("Environment: K6_CSV_SAVE_INTERVAL."), "{man}");
        assert!(
            man.contains("flushInterval (duration), default 200ms"),
            "{man}"
        );
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
