//! Where each key of a plan's `[outputs.NAME]` tables was written, so that an option error
//! names the plan file and line: `plan.toml [outputs.csv] line 12`.

use std::collections::BTreeMap;

use loadrun_plugin_api::values::Source;

/// The places of the plan's output options.
#[derive(Debug, Clone, Default)]
pub struct PlanPlaces {
    /// The plan file, when the plan came from one.
    file: Option<String>,
    /// `(output, key)` to its 1-based line.
    lines: BTreeMap<(String, String), usize>,
}

/// Only the `[outputs]` tables, each value with its byte span.
#[derive(serde::Deserialize)]
struct OutputsOnly {
    #[serde(default)]
    outputs: BTreeMap<String, BTreeMap<String, toml::Spanned<toml::Value>>>,
}

impl PlanPlaces {
    /// Places for a plan read from `file`, a TOML text whose lines are found from the spans
    /// `toml` records; a JSON plan (or a TOML one this cannot read) gets the file and table
    /// only.
    pub fn from_file(file: &str, text: &str) -> Self {
        let mut places = Self {
            file: Some(file.to_string()),
            lines: BTreeMap::new(),
        };
        if file.to_ascii_lowercase().ends_with(".json") {
            return places;
        }
        if let Ok(parsed) = toml::from_str::<OutputsOnly>(text) {
            for (output, table) in parsed.outputs {
                for (key, value) in table {
                    let at = value.span().start.min(text.len());
                    let line = text[..at].bytes().filter(|b| *b == b'\n').count() + 1;
                    places.lines.insert((output.clone(), key), line);
                }
            }
        }
        places
    }

    /// Where `key` of `[outputs.OUTPUT]` was written.
    pub fn source(&self, output: &str, key: &str) -> Source {
        let table = format!("[outputs.{output}]");
        Source::Plan(
            match (
                &self.file,
                self.lines.get(&(output.to_string(), key.to_string())),
            ) {
                (Some(file), Some(line)) => format!("{file} {table} line {line}"),
                (Some(file), None) => format!("{file} {table}"),
                (None, _) => format!("the {table} table"),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_in_output_tables() {
        let text = "name = \"x\"\n\n[outputs.csv]\nfileName = \"a.csv\"\n\n  saveInterval = \"0s\"\n[outputs.json]\nfile = 'x'\n";
        let p = PlanPlaces::from_file("plan.toml", text);
        assert_eq!(
            p.source("csv", "saveInterval"),
            Source::Plan("plan.toml [outputs.csv] line 6".into())
        );
        assert_eq!(
            p.source("json", "file"),
            Source::Plan("plan.toml [outputs.json] line 8".into())
        );
        assert_eq!(
            p.source("json", "other"),
            Source::Plan("plan.toml [outputs.json]".into())
        );
        let inline = "outputs = { csv = { fileName = \"a\" } }\n";
        assert_eq!(
            PlanPlaces::from_file("p.toml", inline).source("csv", "fileName"),
            Source::Plan("p.toml [outputs.csv] line 1".into())
        );
        assert_eq!(
            PlanPlaces::from_file("p.json", "{}").source("csv", "x"),
            Source::Plan("p.json [outputs.csv]".into())
        );
        assert_eq!(
            PlanPlaces::default().source("csv", "x"),
            Source::Plan("the [outputs.csv] table".into())
        );
    }
}
