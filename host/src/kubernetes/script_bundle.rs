//! A k6 script for the pods: the script, every module it imports and every file its init code
//! `open()`s, as the probe found them (its init code runs once here, as `loadrun run` does),
//! each under the script's folder in the pod so relative imports and `open()` still work.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use loadrun_js::lexical_path;

use super::bundle::{config_key, relative_inside, Bundle, BundleError, Content, Entry};

pub fn collect(path: &Path) -> Result<Bundle, BundleError> {
    let shown = path.display().to_string();
    // `__ENV` as the probe of `loadrun run` sees it without `--env`: the process environment.
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let loaded = loadrun_js::load(path, &env).map_err(|e| BundleError::Script(e.message))?;
    let dir = lexical_path(path.parent().unwrap_or(Path::new("")));
    let mut entries: Vec<Entry> = Vec::new();
    for file in loaded.files() {
        let full = lexical_path(&file);
        let inside = full
            .strip_prefix(&dir)
            .ok()
            .filter(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
            .ok_or_else(|| outside(&shown, &file))
            .and_then(|rel| {
                relative_inside(&rel.to_string_lossy()).map_err(|message| BundleError::Data {
                    plan: shown.clone(),
                    file: file.display().to_string(),
                    message,
                })
            })?;
        let bytes = std::fs::read(&file).map_err(|e| BundleError::Data {
            plan: shown.clone(),
            file: file.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        let content = match String::from_utf8(bytes) {
            Ok(t) => Content::Text(t),
            Err(e) => Content::Binary(e.into_bytes()),
        };
        let rel = inside.to_string_lossy().into_owned();
        entries.push(Entry {
            key: config_key(&rel, entries.len()),
            path: rel,
            content,
        });
    }
    Bundle::checked(shown, loaded.plan, entries)
}

fn outside(script: &str, file: &Path) -> BundleError {
    BundleError::Data {
        plan: script.to_string(),
        file: file.display().to_string(),
        message: "is outside the script's folder; only files in it or below go into the \
                  ConfigMap (copy it next to the script)"
            .into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn paths_are_made_lexically_plain() {
        assert_eq!(
            lexical_path(Path::new("a/./b/../c.js")),
            PathBuf::from("a/c.js")
        );
        assert_eq!(
            lexical_path(Path::new("../x.csv")),
            PathBuf::from("../x.csv")
        );
        assert!(lexical_path(Path::new("a/../../x.csv"))
            .strip_prefix(lexical_path(Path::new("a")))
            .is_err());
    }
}
