//! Finding, loading and choosing output plugins.
//!
//! Every plugin, bundled or loaded from a file, is a [`PluginFace`] whose outputs all have one
//! interface, so the output pipeline does not know a plugin's face. The bundled ones are Rust
//! modules built in-process by the SDK; a shared object is first tried as a Rust plugin
//! (`lib_header_from_path(..)` and `loadrun_plugin_api::abi::init_root_module`, which checks a
//! plugin built for an earlier 1.x minor against that release's interface), then as a C-face
//! plugin (`loadrun_plugin_v1`, `loadrun_plugin_api::cabi`); executables ([`process`]) are
//! started and spoken to over pipes.
//!
//! A file is loaded only once it is known to be a complete shared object ([`elf`]) that no one
//! but the user or root could have changed ([`trust`]), and, on the search path, only when it
//! is the one that provides the output asked for: what a file provides is read from it as data
//! (`loadrun_plugin_api::declaration`).

pub mod cmd;
mod elf;
mod error;
mod library;
mod process;
mod search;
mod trust;

use std::path::{Path, PathBuf};

use loadrun_plugin_api::abi::{OutputDescriptor, PluginInfo, PluginModuleRef};
use loadrun_plugin_api::declaration::{Declaration, DeclaredOutput};
use loadrun_plugin_api::face::PluginFace;

pub use elf::{inspect, Inspection};
pub use error::PluginError;
pub use library::load_library;
pub use search::{search_path, SearchDir, SearchOrigin};
pub use trust::{TrustArgs, TrustPolicy};

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
    pub module: PluginFace,
    pub info: PluginInfo,
    /// The outputs with their declared options (1.3 plugins); empty for older plugins and for
    /// those that declare nothing: they check their own options.
    pub declared: Vec<DeclaredOutput>,
}

impl LoadedPlugin {
    /// A Rust plugin (bundled, or checked by `init_root_module`).
    pub fn from_module(source: PluginSource, module: PluginModuleRef) -> Self {
        Self::from_face(source, PluginFace::Rust(module))
    }

    pub fn from_face(source: PluginSource, module: PluginFace) -> Self {
        let info = module.info();
        let declared = match module.declaration() {
            None => Vec::new(),
            Some(declaration) => {
                match loadrun_plugin_api::declaration::parse_options_json(&declaration) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(
                            "plugin {} ({source}): ignoring its option declaration: {e}",
                            info.name
                        );
                        Vec::new()
                    }
                }
            }
        };
        Self {
            source,
            module,
            info,
            declared,
        }
    }

    /// The declaration of the output `name` (or an alias), when it declares its options.
    pub fn declared(&self, name: &str) -> Option<&DeclaredOutput> {
        self.declared
            .iter()
            .find(|d| d.is_called(name) && d.declares_options())
    }

    /// The descriptor of the output this plugin provides under `name` (or one of its aliases).
    pub fn output(&self, name: &str) -> Option<&OutputDescriptor> {
        self.info
            .outputs
            .iter()
            .find(|o| o.name.as_str() == name || o.aliases.iter().any(|a| a.as_str() == name))
    }
}

/// A file on the search path, checked and its declaration read, but not loaded.
pub struct Candidate {
    /// As found: the search folder joined with the file name.
    pub path: PathBuf,
    /// With symlinks resolved, as loaded plugins record their source.
    pub real: PathBuf,
    pub origin: SearchOrigin,
    pub inspection: Result<Inspection, PluginError>,
}

impl Candidate {
    fn named_for(&self, output: &str) -> bool {
        self.path.file_name().is_some_and(|n| {
            n.to_string_lossy() == library_file_name(output)
                || n.to_string_lossy() == process::program_file_name(output)
        })
    }
}

/// The plugins a run can use: the bundled ones, those named with `--plugin`, and those found on
/// the search path when an `-o` name asks for them.
pub struct PluginSet {
    plugins: Vec<LoadedPlugin>,
    search: Vec<SearchDir>,
    policy: TrustPolicy,
}

impl PluginSet {
    /// Loads the bundled plugins and every `--plugin FILE|DIR`. A bad file is an error here,
    /// before anything runs; two plugins claiming one output name too. Files others could
    /// have changed are refused ([`TrustPolicy::default`]).
    pub fn load(explicit: &[PathBuf]) -> Result<Self, PluginError> {
        Self::with_policy(explicit, TrustPolicy::default())
    }

    /// [`PluginSet::load`], with `--allow-insecure-plugins` or not.
    pub fn with_policy(explicit: &[PathBuf], policy: TrustPolicy) -> Result<Self, PluginError> {
        let mut set = PluginSet {
            plugins: bundled(),
            search: search_path(),
            policy,
        };
        for path in explicit {
            for file in explicit_files(path)? {
                let plugin = load_library(&file, policy)?;
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

    /// The plugin providing `-o name`: loaded already, or else the first file on the search
    /// path that declares `name` (as output or alias) or, not declaring anything, is called
    /// `libout_NAME.so`. Only that file is loaded. Files without a declaration are loaded one
    /// by one to look for `name` only when nothing else provides it.
    pub fn resolve(&mut self, name: &str) -> Result<LoadedPlugin, PluginError> {
        if let Some(p) = self.provider(name) {
            return Ok(p.clone());
        }
        let mut available: Vec<String> = self
            .plugins
            .iter()
            .flat_map(|p| output_names(&p.info))
            .collect();
        let mut unusable = Vec::new();
        let mut undeclared = Vec::new();
        for candidate in self.candidates() {
            if self.is_loaded(&candidate.real) {
                continue;
            }
            match candidate.inspection {
                Err(e) if candidate.named_for(name) => return Err(e),
                Err(e) => unusable.push(e),
                Ok(Inspection {
                    declaration: Some(declaration),
                }) => {
                    if declaration.provides(name) {
                        return self.load_for(&candidate.path, name, Some(&declaration));
                    }
                    available.extend(declaration.output_names());
                }
                Ok(Inspection { declaration: None }) => {
                    if candidate.named_for(name) {
                        return self.load_for(&candidate.path, name, None);
                    }
                    undeclared.push(candidate.path);
                }
            }
        }
        // Aliases (k6's names) are not file names: look inside the plugins that do not say
        // what they provide.
        for path in undeclared {
            match load_library(&path, self.policy) {
                Ok(plugin) if plugin.output(name).is_some() => {
                    tracing::debug!("output {name} found in {}", path.display());
                    self.add(plugin.clone())?;
                    return Ok(plugin);
                }
                Ok(plugin) => available.extend(output_names(&plugin.info)),
                Err(e) => unusable.push(e),
            }
        }
        // Any of these might have been the one asked for.
        for e in &unusable {
            tracing::warn!("{e}");
        }
        available.sort();
        available.dedup();
        Err(PluginError::UnknownOutput {
            output: name.to_string(),
            available,
            searched: self.search.iter().map(|d| d.path.clone()).collect(),
        })
    }

    /// Loads the file chosen for `name` and checks that it keeps its word.
    fn load_for(
        &mut self,
        path: &Path,
        name: &str,
        declaration: Option<&Declaration>,
    ) -> Result<LoadedPlugin, PluginError> {
        let plugin = load_library(path, self.policy)?;
        if plugin.output(name).is_none() {
            return Err(PluginError::NotProvided {
                path: path.to_path_buf(),
                output: name.to_string(),
                provides: output_names(&plugin.info),
            });
        }
        if let Some(declaration) = declaration {
            let declared = sorted_names(declaration.outputs.iter().cloned());
            let provided = sorted_names(plugin.info.outputs.iter().map(|o| {
                let aliases = o.aliases.iter().map(|a| a.to_string()).collect();
                (o.name.to_string(), aliases)
            }));
            if declared != provided {
                tracing::warn!(
                    "plugin {}: declares outputs {} but provides {}; its DECLARED_OUTPUTS is out of date",
                    path.display(),
                    describe_names(&declared),
                    describe_names(&provided)
                );
            }
        }
        self.add(plugin.clone())?;
        Ok(plugin)
    }

    fn is_loaded(&self, real: &Path) -> bool {
        self.plugins
            .iter()
            .any(|p| matches!(&p.source, PluginSource::File(f) if f == real))
    }

    /// Every `libout_*.so` on the search path in order, checked and its declaration read
    /// (nothing is loaded).
    pub fn candidates(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        for dir in &self.search {
            for path in plugin_files_in(&dir.path) {
                let real = path.canonicalize().unwrap_or_else(|_| path.clone());
                // An executable says what it provides only when run: found by its name.
                let inspection = if process::is_program(&path) {
                    Ok(Inspection { declaration: None })
                } else {
                    elf::inspect(&path)
                };
                out.push(Candidate {
                    path,
                    real,
                    origin: dir.origin,
                    inspection,
                });
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

    pub fn policy(&self) -> TrustPolicy {
        self.policy
    }
}

/// `grafana-cloud` → `libout_grafana_cloud.so`.
pub fn library_file_name(output: &str) -> String {
    format!("libout_{}.so", output.replace('-', "_"))
}

/// Outputs with their aliases, in a canonical order for comparing.
fn sorted_names(
    outputs: impl Iterator<Item = (String, Vec<String>)>,
) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = outputs
        .map(|(name, mut aliases)| {
            aliases.sort();
            (name, aliases)
        })
        .collect();
    v.sort();
    v
}

/// `a (alias b, c), d`.
fn describe_names(outputs: &[(String, Vec<String>)]) -> String {
    outputs
        .iter()
        .map(|(name, aliases)| {
            if aliases.is_empty() {
                name.clone()
            } else {
                format!("{name} (alias {})", aliases.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn output_names(info: &PluginInfo) -> Vec<String> {
    info.outputs.iter().map(|o| o.name.to_string()).collect()
}

/// A `--plugin` argument: a file, or a folder whose `libout_*.so` files are all loaded.
fn explicit_files(path: &Path) -> Result<Vec<PathBuf>, PluginError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(plugin_files_in(path)),
        Ok(_) => Ok(vec![path.to_path_buf()]),
        Err(e) => Err(PluginError::from_stat(path, &e)),
    }
}

/// The `libout_*.so` and `loadrun-output-*` files of a folder, sorted.
pub fn plugin_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                (n.starts_with("libout_") && n.ends_with(".so"))
                    || (n.starts_with(process::PROGRAM_PREFIX) && is_executable(p))
            }) && p.is_file()
        })
        .collect();
    files.sort();
    files
}

/// Has an execute bit: a `loadrun-output-*` file without one (cargo's `.d` beside a built
/// child, a README) is not a program.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// The outputs compiled into the host.
fn bundled() -> Vec<LoadedPlugin> {
    crate::outputs::bundled::modules()
        .into_iter()
        .map(|m| LoadedPlugin::from_module(PluginSource::Bundled, m))
        .collect()
}
