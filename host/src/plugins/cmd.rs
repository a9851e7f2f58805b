//! `loadrun plugins list|info|path`.

use std::fmt::Write as _;

use anyhow::{bail, Result};

use super::{PluginSet, PluginSource};
use crate::cli::PluginsCommand;

pub fn execute(cmd: PluginsCommand) -> Result<u8> {
    let text = match cmd {
        PluginsCommand::List { plugins } => list(&PluginSet::load(&plugins)?),
        PluginsCommand::Info { target, plugins } => info(&mut PluginSet::load(&plugins)?, &target)?,
        PluginsCommand::Path => path(&PluginSet::load(&[])?),
    };
    print!("{text}");
    Ok(crate::exit::OK)
}

/// Every plugin: bundled, `--plugin`, then each file on the search path (loaded or skipped).
pub fn list(set: &PluginSet) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10} {:<22} {:<9} {:<5} {:<40} FILE",
        "SOURCE", "PLUGIN", "VERSION", "API", "OUTPUTS"
    );
    let mut shown: Vec<PluginSource> = Vec::new();
    let mut seen_outputs: Vec<String> = Vec::new();
    for p in set.loaded() {
        let origin = match p.source {
            PluginSource::Bundled => "bundled",
            PluginSource::File(_) => "--plugin",
        };
        let outputs: Vec<String> = p.info.outputs.iter().map(|o| o.name.to_string()).collect();
        seen_outputs.extend(outputs.iter().cloned());
        let _ = writeln!(
            s,
            "{:<10} {:<22} {:<9} {:<5} {:<40} {}",
            origin,
            p.info.name,
            p.info.version,
            p.info.api_version,
            outputs.join(","),
            p.source
        );
        shown.push(p.source.clone());
    }
    let mut skipped = Vec::new();
    for (file, result) in set.scan() {
        if shown.contains(&PluginSource::File(file.clone())) {
            continue;
        }
        match result {
            Ok(p) => {
                let outputs: Vec<String> =
                    p.info.outputs.iter().map(|o| o.name.to_string()).collect();
                let shadowed: Vec<&String> = outputs
                    .iter()
                    .filter(|o| seen_outputs.contains(o))
                    .collect();
                if !shadowed.is_empty() {
                    skipped.push(format!(
                        "{}: shadowed: output {} is already provided earlier on the path",
                        file.display(),
                        shadowed
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    ));
                    continue;
                }
                seen_outputs.extend(outputs.iter().cloned());
                let origin = set
                    .search_dirs()
                    .iter()
                    .find(|d| file.starts_with(&d.path))
                    .map(|d| d.origin.as_str())
                    .unwrap_or("path");
                let _ = writeln!(
                    s,
                    "{:<10} {:<22} {:<9} {:<5} {:<40} {}",
                    short_origin(origin),
                    p.info.name,
                    p.info.version,
                    p.info.api_version,
                    outputs.join(","),
                    file.display()
                );
            }
            Err(e) => skipped.push(format!("{}: skipped: {e}", file.display())),
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
        super::load_library(std::path::Path::new(target))?
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
            Err(e) => bail!(e),
        }
    };
    let mut s = String::new();
    let _ = writeln!(s, "plugin:  {} {}", plugin.info.name, plugin.info.version);
    let _ = writeln!(s, "api:     loadrun-plugin-api {}", plugin.info.api_version);
    let _ = writeln!(s, "file:    {}", plugin.source);
    for o in plugin.info.outputs.iter() {
        let _ = writeln!(s, "\noutput {}: {}", o.name, o.description);
        if !o.aliases.is_empty() {
            let aliases: Vec<&str> = o.aliases.iter().map(|a| a.as_str()).collect();
            let _ = writeln!(s, "  also accepted as: {}", aliases.join(", "));
        }
        if o.options.is_empty() {
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
        let _ = writeln!(
            s,
            "  host options (every output): {}",
            crate::outputs::HOST_OPTION_NAMES.join(", ")
        );
    }
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
