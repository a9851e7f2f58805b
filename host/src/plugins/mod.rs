//! Finding, loading and choosing output plugins.
//!
//! Every plugin, bundled or loaded from a file, is the same [`PluginModuleRef`]: the bundled ones
//! are built in-process by the SDK, the others come from `lib_header_from_path(..)` and
//! `loadrun_plugin_api::abi::init_root_module` on each file (which checks a plugin built for an
//! earlier 1.x minor against that release's interface).

pub mod cmd;
mod error;
mod library;
mod search;

use std::path::{Path, PathBuf};

use loadrun_plugin_api::abi::{OutputDescriptor, PluginInfo, PluginModuleRef};

pub use error::PluginError;
pub use library::load_library;
pub use search::{search_path, SearchDir, SearchOrigin};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Compiled into the host.
    Bundled,
    /// A shared object.
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Bundled => f.write_str("bundled"),
            PluginSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A loaded plugin.
#[derive(Clone)]
pub struct LoadedPlugin {
    pub source: PluginSource,
    pub module: PluginModuleRef,
    pub info: PluginInfo,
}

impl LoadedPlugin {
    pub fn from_module(source: PluginSource, module: PluginModuleRef) -> Self {
        let info = (module.info())();
        Self {
            source,
            module,
            info,
        }
    }

    /// The descriptor of the output this plugin provides under `name` (or one of its aliases).
    pub fn output(&self, name: &str) -> Option<&OutputDescriptor> {
        self.info
            .outputs
            .iter()
            .find(|o| o.name.as_str() == name || o.aliases.iter().any(|a| a.as_str() == name))
    }
}

/// The plugins a run can use: the bundled ones, those named with `--plugin`, and those found on
/// the search path when an `-o` name asks for them.
pub struct PluginSet {
    plugins: Vec<LoadedPlugin>,
    search: Vec<SearchDir>,
}

impl PluginSet {
    /// Loads the bundled plugins and every `--plugin FILE|DIR`. A bad file is an error here,
    /// before anything runs; two plugins claiming one output name too.
    pub fn load(explicit: &[PathBuf]) -> Result<Self, PluginError> {
        let mut set = PluginSet {
            plugins: bundled(),
            search: search_path(),
        };
        for path in explicit {
            for file in explicit_files(path)? {
                let plugin = load_library(&file)?;
                set.add(plugin)?;
            }
        }
        Ok(set)
    }

    fn add(&mut self, plugin: LoadedPlugin) -> Result<(), PluginError> {
        if let PluginSource::File(new_path) = &plugin.source {
            if self.plugins.iter().any(|p| p.source == plugin.source) {
                // The same file named twice (e.g. a file and its folder) is harmless.
                return Ok(());
            }
            for out in plugin.info.outputs.iter() {
                let names = std::iter::once(out.name.as_str())
                    .chain(out.aliases.iter().map(|a| a.as_str()));
                for name in names {
                    if let Some(other) = self.provider(name) {
                        return Err(PluginError::DuplicateOutput {
                            output: name.to_string(),
                            first: other.source.to_string(),
                            second: new_path.clone(),
                        });
                    }
                }
            }
        }
        self.plugins.push(plugin);
        Ok(())
    }

    /// The loaded plugin providing `name`, if any.
    pub fn provider(&self, name: &str) -> Option<&LoadedPlugin> {
        self.plugins.iter().find(|p| p.output(name).is_some())
    }

    /// The plugin providing `-o name`: loaded already, or `libout_NAME.so` on the search path, or
    /// any plugin on the search path that lists `name` as an alias.
    pub fn resolve(&mut self, name: &str) -> Result<LoadedPlugin, PluginError> {
        if let Some(p) = self.provider(name) {
            return Ok(p.clone());
        }
        let file_name = library_file_name(name);
        for dir in &self.search {
            let candidate = dir.path.join(&file_name);
            if candidate.is_file() {
                let plugin = load_library(&candidate)?;
                if plugin.output(name).is_none() {
                    return Err(PluginError::NotProvided {
                        path: candidate,
                        output: name.to_string(),
                        provides: output_names(&plugin.info),
                    });
                }
                self.add(plugin.clone())?;
                return Ok(plugin);
            }
        }
        // Aliases (k6's names) are not file names: look inside every plugin on the path.
        for (path, result) in self.scan() {
            if let Ok(plugin) = result {
                if plugin.output(name).is_some() {
                    tracing::debug!("output {name} found in {}", path.display());
                    self.add(plugin.clone())?;
                    return Ok(plugin);
                }
            }
        }
        Err(PluginError::UnknownOutput {
            output: name.to_string(),
            available: self.available_names(),
            searched: self.search.iter().map(|d| d.path.clone()).collect(),
        })
    }

    /// Every `libout_*.so` on the search path, loaded (or the reason it could not be).
    pub fn scan(&self) -> Vec<(PathBuf, Result<LoadedPlugin, PluginError>)> {
        let mut out = Vec::new();
        for dir in &self.search {
            for file in plugin_files_in(&dir.path) {
                let result = match self
                    .plugins
                    .iter()
                    .find(|p| p.source == PluginSource::File(file.clone()))
                {
                    Some(p) => Ok(p.clone()),
                    None => load_library(&file),
                };
                out.push((file, result));
            }
        }
        out
    }

    /// The plugins loaded so far (bundled first).
    pub fn loaded(&self) -> &[LoadedPlugin] {
        &self.plugins
    }

    pub fn search_dirs(&self) -> &[SearchDir] {
        &self.search
    }

    /// Every output name known without scanning files that were not asked for, plus those on
    /// the search path.
    fn available_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .plugins
            .iter()
            .flat_map(|p| output_names(&p.info))
            .collect();
        for (_, result) in self.scan() {
            if let Ok(p) = result {
                names.extend(output_names(&p.info));
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

/// `grafana-cloud` → `libout_grafana_cloud.so`.
pub fn library_file_name(output: &str) -> String {
    format!("libout_{}.so", output.replace('-', "_"))
}

fn output_names(info: &PluginInfo) -> Vec<String> {
    info.outputs.iter().map(|o| o.name.to_string()).collect()
}

/// A `--plugin` argument: a file, or a folder whose `libout_*.so` files are all loaded.
fn explicit_files(path: &Path) -> Result<Vec<PathBuf>, PluginError> {
    if path.is_dir() {
        Ok(plugin_files_in(path))
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(PluginError::Missing {
            path: path.to_path_buf(),
        })
    }
}

/// The `libout_*.so` files of a folder, sorted.
pub fn plugin_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libout_") && n.ends_with(".so"))
                && p.is_file()
        })
        .collect();
    files.sort();
    files
}

/// The outputs compiled into the host.
fn bundled() -> Vec<LoadedPlugin> {
    crate::outputs::bundled::modules()
        .into_iter()
        .map(|m| LoadedPlugin::from_module(PluginSource::Bundled, m))
        .collect()
}
