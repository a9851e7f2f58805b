//! `loadrun plugins list|info|path`.

use std::fmt::Write as _;

use anyhow::{bail, Result};

use super::library::declared_api_error;
use super::{load_library, PluginSet, PluginSource};
use crate::cli::PluginsCommand;
use loadrun_plugin_api::declaration::DeclaredOutput;
use loadrun_plugin_api::face::PluginFace;
use loadrun_plugin_api::spec::Positional;

pub fn execute(cmd: PluginsCommand) -> Result<u8> {
    let text = match cmd {
        PluginsCommand::List { plugins, trust } => {
            list(&PluginSet::with_policy(&plugins, trust.policy())?)
        }
        PluginsCommand::Info {
            target,
            plugins,
            trust,
        } => info(
            &mut PluginSet::with_policy(&plugins, trust.policy())?,
            &target,
        )?,
        PluginsCommand::Path => path(&PluginSet::load(&[])?),
    };
    crate::console::out_text(&text);
    Ok(crate::exit::OK)
}

/// Every plugin: bundled, `--plugin`, then each file on the search path. A file that declares
/// its outputs is listed from that declaration without being loaded (FOUND `declared`); one
/// that does not (built before the declaration existed) is loaded to ask it (`loaded`).
pub fn list(set: &PluginSet) -> String {
    let mut s = String::new();
    let row = |s: &mut String, cols: [&str; 7]| {
        let _ = writeln!(
            s,
            "{:<10} {:<22} {:<9} {:<5} {:<40} {:<8} {}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]
        );
    };
    row(
        &mut s,
        [
            "SOURCE", "PLUGIN", "VERSION", "API", "OUTPUTS", "FOUND", "FILE",
        ],
    );
    let mut seen_outputs: Vec<String> = Vec::new();
    for p in set.loaded() {
        let origin = match p.source {
            PluginSource::Bundled => "bundled",
            PluginSource::File(_) => "--plugin",
        };
        let outputs: Vec<String> = p.info.outputs.iter().map(|o| o.name.to_string()).collect();
        seen_outputs.extend(outputs.iter().cloned());
        row(
            &mut s,
            [
                origin,
                &p.info.name,
                &p.info.version,
                &p.info.api_version,
                &outputs.join(","),
                "loaded",
                &p.source.to_string(),
            ],
        );
    }
    let mut skipped = Vec::new();
    for candidate in set.candidates() {
        if set
            .loaded()
            .iter()
            .any(|p| p.source == PluginSource::File(candidate.real.clone()))
        {
            continue;
        }
        let file = candidate.path.display().to_string();
        // Refused files are shown as such even though listing them would not load them.
        let described = candidate
            .inspection
            .and_then(|inspection| match inspection.declaration {
                Some(d) => match set
                    .policy()
                    .admit(&candidate.path)
                    .err()
                    .or_else(|| declared_api_error(&candidate.path, &d.api))
                {
                    Some(e) => Err(e),
                    None => Ok((
                        d.plugin.clone(),
                        d.version.clone(),
                        d.api.clone(),
                        d.output_names(),
                        "declared",
                    )),
                },
                None => load_library(&candidate.path, set.policy()).map(|p| {
                    (
                        p.info.name.to_string(),
                        p.info.version.to_string(),
                        p.info.api_version.to_string(),
                        p.info.outputs.iter().map(|o| o.name.to_string()).collect(),
                        "loaded",
                    )
                }),
            });
        match described {
            Ok((name, version, api, outputs, found)) => {
                let shadowed: Vec<&str> = outputs
                    .iter()
                    .filter(|o| seen_outputs.contains(o))
                    .map(String::as_str)
                    .collect();
                if !shadowed.is_empty() {
                    skipped.push(format!(
                        "{file}: shadowed: output {} is already provided earlier on the path",
                        shadowed.join(",")
                    ));
                    continue;
                }
                seen_outputs.extend(outputs.iter().cloned());
                row(
                    &mut s,
                    [
                        short_origin(candidate.origin.as_str()),
                        &name,
                        &version,
                        &api,
                        &outputs.join(","),
                        found,
                        &file,
                    ],
                );
            }
            Err(e) => skipped.push(format!("{file}: skipped: {e}")),
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(s, "\nSkipped candidates:");
        for line in skipped {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}

/// The option table of an output that declares its options: generated from the declaration
/// (kind, default, env, aliases, modes; a secret's default is never shown).
pub fn declared_options(d: &DeclaredOutput) -> String {
    let mut s = String::new();
    match d.positional {
        Positional::None => {}
        Positional::Value(name) => {
            let _ = writeln!(s, "  -o {}=VALUE sets {name}", d.name);
        }
        Positional::Url(name) => {
            let _ = writeln!(
                s,
                "  -o {}=URL sets {name}; the URL's query pairs are options too",
                d.name
            );
        }
    }
    if let Some(mode) = d.mode_option {
        let _ = writeln!(s, "  the mode is chosen by {mode}");
    }
    let _ = writeln!(
        s,
        "  {:<24} {:<22} {:<14} {:<34} DESCRIPTION",
        "OPTION", "KIND", "DEFAULT", "ENV"
    );
    for o in d.options {
        let default = match o.default {
            Some(_) if o.secret => "(secret)",
            Some(d) => d,
            None => "",
        };
        let mut notes = Vec::new();
        if !o.aliases.is_empty() {
            notes.push(format!("also {}", o.aliases.join(", ")));
        }
        if !o.modes.is_empty() {
            notes.push(format!(
                "only {}={}",
                d.mode_option.unwrap_or("mode"),
                o.modes.join("|")
            ));
        }
        if o.nonzero {
            notes.push("not zero".into());
        }
        notes.extend(o.notes());
        if o.secret {
            notes.push("secret: never shown".into());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        let _ = writeln!(
            s,
            "  {:<24} {:<22} {:<14} {:<34} {}{notes}",
            o.name,
            o.kind.label(),
            default,
            d.env_names(o).join(","),
            o.doc
        );
    }
    s
}

fn short_origin(origin: &str) -> &str {
    match origin {
        "LOADRUN_PLUGIN_PATH" => "env-path",
        "$XDG_DATA_HOME/loadrun/plugins" => "user",
        other => other,
    }
}

/// The outputs and options of the plugin that provides `target` (an output name, a plugin
/// name or a file).
pub fn info(set: &mut PluginSet, target: &str) -> Result<String> {
    let plugin = if std::path::Path::new(target).is_file() {
        super::load_library(std::path::Path::new(target), set.policy())?
    } else if let Some(p) = set
        .loaded()
        .iter()
        .find(|p| p.info.name.as_str() == target)
        .cloned()
    {
        p
    } else {
        match set.resolve(target) {
            Ok(p) => p,
            // A plugin name (`out_statsd`) on the search path: known from its declaration.
            Err(e) => match set.candidates().into_iter().find(|c| {
                c.inspection
                    .as_ref()
                    .is_ok_and(|i| i.declaration.as_ref().is_some_and(|d| d.plugin == target))
            }) {
                Some(c) => load_library(&c.path, set.policy())?,
                None => bail!(e),
            },
        }
    };
    let mut s = String::new();
    let _ = writeln!(s, "plugin:  {} {}", plugin.info.name, plugin.info.version);
    let api = match &plugin.module {
        PluginFace::Rust(_) => format!("loadrun-plugin-api {}", plugin.info.api_version),
        PluginFace::C(_) => format!("loadrun_plugin.h ({})", plugin.info.api_version),
        PluginFace::Process(_) => format!(
            "loadrun-output protocol over stdin/stdout ({})",
            plugin.info.api_version
        ),
    };
    let _ = writeln!(s, "api:     {api}");
    let _ = writeln!(s, "file:    {}", plugin.source);
    for o in plugin.info.outputs.iter() {
        let _ = writeln!(s, "\noutput {}: {}", o.name, o.description);
        if !o.aliases.is_empty() {
            let aliases: Vec<&str> = o.aliases.iter().map(|a| a.as_str()).collect();
            let _ = writeln!(s, "  also accepted as: {}", aliases.join(", "));
        }
        if let Some(declared) = plugin.declared(&o.name) {
            s.push_str(&declared_options(declared));
        } else if o.options.is_empty() {
            let _ = writeln!(s, "  (no options)");
        } else {
            let _ = writeln!(
                s,
                "  {:<24} {:<22} {:<34} DESCRIPTION",
                "OPTION", "DEFAULT", "ENV"
            );
            for opt in o.options.iter() {
                let default = if opt.secret && !opt.default.is_empty() {
                    "(secret)".to_string()
                } else {
                    opt.default.to_string()
                };
                let _ = writeln!(
                    s,
                    "  {:<24} {:<22} {:<34} {}",
                    opt.name, default, opt.env, opt.description
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nhost options (every output above; taken out before the plugin sees its options):"
    );
    s.push_str(&declared_options(&crate::outputs::HOST_DECLARATION));
    Ok(s)
}

/// The search path, one folder a line.
pub fn path(set: &PluginSet) -> String {
    let mut s = String::new();
    for d in set.search_dirs() {
        let exists = if d.path.is_dir() { "" } else { "  (missing)" };
        let _ = writeln!(s, "{}\t{}{}", d.path.display(), d.origin.as_str(), exists);
    }
    s
}
