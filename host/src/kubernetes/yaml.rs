//! The manifests as YAML documents.
//!
//! Kubernetes reads YAML 1.1, where a bare `on`, `no` or `2030-01-02T03:04:05Z` is no string:
//! the emitter quotes those. Multi-line text (the plan, a CSV) reads best as a literal block,
//! but not every text survives as one (trailing blank lines, a leading space): each document
//! is read back, and written with quoted strings only where the block form would change it.

use serde_json::Value;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

#[derive(Debug, thiserror::Error)]
#[error("cannot write the manifests as YAML: {0}")]
pub struct YamlError(String);

/// One document, starting with `---`, ending with a newline.
pub fn document(value: &Value) -> Result<String, YamlError> {
    let yaml = to_yaml(value);
    // The emitter indents the empty lines of a block too; linters flag that as trailing space.
    let blocks = emit(&yaml, true)?
        .lines()
        .map(|l| if l.trim().is_empty() { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    let same = YamlLoader::load_from_str(&blocks)
        .map(|docs| docs.len() == 1 && docs[0] == yaml)
        .unwrap_or(false);
    let mut text = if same { blocks } else { emit(&yaml, false)? };
    text.push('\n');
    Ok(text)
}

fn emit(yaml: &Yaml, multiline: bool) -> Result<String, YamlError> {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(multiline);
    emitter
        .dump(yaml)
        .map_err(|e| YamlError(format!("{e:?}")))?;
    Ok(out)
}

fn to_yaml(value: &Value) -> Yaml {
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        Value::Object(map) => {
            let mut hash = Hash::new();
            for (k, v) in map {
                hash.insert(Yaml::String(k.clone()), to_yaml(v));
            }
            Yaml::Hash(hash)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip(s: &str) -> Yaml {
        let text = document(&serde_json::json!({ "v": s })).unwrap();
        YamlLoader::load_from_str(&text).unwrap().remove(0)["v"].clone()
    }

    #[test]
    fn every_text_comes_back_as_written() {
        for s in [
            "a\nb\n",
            "a\n\n\n",
            "blank\n\nline\n",
            "spaces only\n   \nline\n",
            "  indented\nfirst\n",
            "no newline at the end\nx",
            "crlf\r\nline\r\n",
            "tab\tand # hash: colon\n'quote' \"double\"\n",
            "",
        ] {
            assert_eq!(round_trip(s), Yaml::String(s.into()), "{s:?}");
        }
    }

    #[test]
    fn no_line_ends_in_a_space() {
        let text = document(&serde_json::json!({ "v": "a\n\n  b\n\nc\n" })).unwrap();
        assert!(text.contains("|"), "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text:?}");
    }

    #[test]
    fn yaml_1_1_scalars_stay_strings() {
        for s in [
            "on",
            "no",
            "yes",
            "off",
            "y",
            "3",
            "1.5",
            "2030-01-02T03:04:05Z",
            "1:20",
            "null",
            "~",
        ] {
            let text = document(&serde_json::json!({ "v": s })).unwrap();
            assert!(
                text.contains(&format!("v: \"{s}\"")),
                "{s:?} is not quoted: {text}"
            );
        }
    }
}
