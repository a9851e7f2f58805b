//! What the pods need on disk: the plan and every data file it references, as ConfigMap keys
//! with the path each one takes under the plan's folder in the pod.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use loadrun_engine::plan::{self, Plan, Step};

/// The Kubernetes API refuses a ConfigMap whose keys and values add up to more than 1 MiB.
pub const MAX_CONFIGMAP_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error("{plan}: data file {file:?}: {message}")]
    Data {
        plan: String,
        file: String,
        message: String,
    },
    #[error(
        "{plan}: the plan and its data files take {size} bytes, more than a ConfigMap holds \
         ({MAX_CONFIGMAP_BYTES} bytes, 1 MiB); put the data in the image or on a volume"
    )]
    TooLarge { plan: String, size: usize },
    /// A k6 script that could not be loaded (one line).
    #[error("{0}")]
    Script(String),
}

/// One file for the ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The ConfigMap key (`[-._a-zA-Z0-9]+`, unique).
    pub key: String,
    /// Where it goes under the plan's folder, relative (`users.csv`, `data/users.csv`).
    pub path: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// Not UTF-8: goes to `binaryData`.
    Binary(Vec<u8>),
}

impl Content {
    fn len(&self) -> usize {
        match self {
            Content::Text(t) => t.len(),
            Content::Binary(b) => b.len(),
        }
    }
}

/// The plan (first entry) and its data files.
#[derive(Debug)]
pub struct Bundle {
    pub plan: Plan,
    pub entries: Vec<Entry>,
}

impl Bundle {
    /// The plan's file name in the pod.
    pub fn plan_file(&self) -> &str {
        self.entries
            .first()
            .map(|e| e.path.as_str())
            .unwrap_or("plan.toml")
    }
}

/// Reads the plan, checks that it parses, and gathers the files it references. A k6 script
/// brings what its probe read (see `script_bundle`).
pub fn collect(path: &Path) -> Result<Bundle, BundleError> {
    if loadrun_js::is_script(path) {
        return super::script_bundle::collect(path);
    }
    let (plan, base_dir) = plan::load_file(path)?;
    let shown = path.display().to_string();
    // load_file has read it once and bounded its size; it parsed, so it is text.
    let text = std::fs::read_to_string(path).map_err(|e| plan::PlanError::Read {
        file: shown.clone(),
        message: e.to_string(),
    })?;
    let plan_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan.toml".into());
    let mut entries = vec![Entry {
        key: config_key(&plan_name, 0),
        path: plan_name,
        content: Content::Text(text),
    }];
    let mut seen = BTreeSet::new();
    for file in referenced_files(&plan) {
        let rel = relative_inside(&file).map_err(|message| BundleError::Data {
            plan: shown.clone(),
            file: file.clone(),
            message,
        })?;
        if !seen.insert(rel.clone()) {
            continue;
        }
        let full = base_dir.join(&rel);
        let bytes = std::fs::read(&full).map_err(|e| BundleError::Data {
            plan: shown.clone(),
            file: file.clone(),
            message: format!("cannot read {}: {e}", full.display()),
        })?;
        let content = match String::from_utf8(bytes) {
            Ok(t) => Content::Text(t),
            Err(e) => Content::Binary(e.into_bytes()),
        };
        let path = rel.to_string_lossy().into_owned();
        entries.push(Entry {
            key: config_key(&path, entries.len()),
            path,
            content,
        });
    }
    Bundle::checked(shown, plan, entries)
}

impl Bundle {
    /// Refuses what a ConfigMap cannot hold.
    pub(super) fn checked(
        shown: String,
        plan: Plan,
        entries: Vec<Entry>,
    ) -> Result<Self, BundleError> {
        let size: usize = entries.iter().map(|e| e.key.len() + e.content.len()).sum();
        if size > MAX_CONFIGMAP_BYTES {
            return Err(BundleError::TooLarge { plan: shown, size });
        }
        Ok(Self { plan, entries })
    }
}

/// Every file the plan reads at run time: feeds and request bodies, in plan order.
fn referenced_files(plan: &Plan) -> Vec<String> {
    let mut files: Vec<String> = plan.data.values().map(|f| f.file.clone()).collect();
    let mut walk = |steps: &[Step]| body_files(steps, &mut files);
    walk(&plan.steps);
    for steps in plan.flows.values() {
        walk(steps);
    }
    files
}

fn body_files(steps: &[Step], out: &mut Vec<String>) {
    for step in steps {
        if let Some(f) = &step.file {
            out.push(f.clone());
        }
        body_files(&step.steps, out);
    }
}

/// The pod sees only the plan's folder: a file above it or elsewhere has no place there.
pub(super) fn relative_inside(file: &str) -> Result<PathBuf, String> {
    let mut rel = PathBuf::new();
    for part in Path::new(file).components() {
        match part {
            Component::Normal(p) => rel.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(
                    "is outside the plan's folder; only files in it or below go into the \
                     ConfigMap (copy it next to the plan)"
                        .into(),
                )
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err("names no file".into());
    }
    Ok(rel)
}

/// A key the API accepts, made unique by its position (two paths can map to one key).
pub(super) fn config_key(path: &str, index: usize) -> String {
    let clean: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Keys are at most 253 characters; the index prefix keeps shortened ones apart.
    let clean: String = clean
        .chars()
        .rev()
        .take(200)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("f{index}-{clean}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn files_outside_the_plan_folder_are_refused() {
        assert!(relative_inside("../secret.csv").is_err());
        assert!(relative_inside("/etc/passwd").is_err());
        assert!(relative_inside("data/../../x").is_err());
        assert_eq!(
            relative_inside("./data/users.csv").ok(),
            Some(PathBuf::from("data/users.csv"))
        );
    }

    #[test]
    fn keys_are_valid_and_distinct() {
        let a = config_key("data/users list.csv", 1);
        let b = config_key("data_users list.csv", 2);
        assert_ne!(a, b);
        for k in [a, b] {
            assert!(k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
        }
    }
}
