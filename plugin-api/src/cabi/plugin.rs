//! Loading a C-face plugin: `dlsym("loadrun_plugin_v1")`, then checking its table.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::sabi_trait::TD_Opaque;

use super::ffi::{self, EntryFn, LrPluginApi};
use super::json;
use super::output::COutput;
use crate::abi::{OutputBox, OutputFfi_TO, OutputInit, PluginError, PluginInfo};
use crate::declaration::DeclaredOutput;

/// Why a file is not a usable C-face plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CLoadError {
    /// `dlopen` failed: not a shared object for this machine, or an unresolved dependency.
    Open(String),
    /// It has no `loadrun_plugin_v1`: not a C-face plugin at all.
    NoEntry,
    /// It has the entry, but its table cannot be used; one line.
    Refused(String),
}

impl std::fmt::Display for CLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CLoadError::Open(reason) => f.write_str(reason),
            CLoadError::NoEntry => write!(
                f,
                "no {} symbol",
                String::from_utf8_lossy(&ffi::ENTRY_SYMBOL[..ffi::ENTRY_SYMBOL.len() - 1])
            ),
            CLoadError::Refused(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for CLoadError {}

/// The functions of a checked table: none is NULL.
#[derive(Clone, Copy)]
pub(super) struct Functions {
    pub new_output: ffi::NewOutputFn,
    pub start: ffi::StartFn,
    pub write: ffi::WriteFn,
    pub flush: ffi::FlushFn,
    pub stop: ffi::StopFn,
    pub destroy: ffi::DestroyFn,
}

/// A loaded, checked C-face plugin. Its library is never unloaded (see [`CPlugin::load`]).
pub struct CPlugin {
    path: PathBuf,
    pub(super) functions: Functions,
    info: PluginInfo,
    info_json: String,
    declared: Vec<DeclaredOutput>,
}

impl std::fmt::Debug for CPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CPlugin")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl CPlugin {
    /// Opens `path`, calls its `loadrun_plugin_v1` and checks the table: a newer major, a NULL
    /// table, a table smaller than 1.0's, a NULL function or unreadable info JSON are refused.
    ///
    /// Loading runs the library's constructors: call this only for a file the caller has
    /// decided to trust. The library stays loaded for the life of the process, as Rust
    /// plugins do: a Go runtime cannot be unloaded, and an abandoned output's thread may still
    /// be inside the library at exit.
    pub fn load(path: &Path) -> Result<Arc<CPlugin>, CLoadError> {
        // SAFETY: loading a library runs its initialisers; the caller chose to trust the file.
        let lib = unsafe { libloading::Library::new(path) }
            .map_err(|e| CLoadError::Open(one_line(&e.to_string())))?;
        // SAFETY: the symbol's type is the header's declaration of `loadrun_plugin_v1`.
        let entry: EntryFn = match unsafe { lib.get::<EntryFn>(ffi::ENTRY_SYMBOL) } {
            Ok(symbol) => *symbol,
            Err(_) => return Err(CLoadError::NoEntry),
        };
        std::mem::forget(lib);
        // SAFETY: the entry takes two integers and returns a pointer; a plugin that breaks
        // that contract is beyond what any check here could catch.
        let table = unsafe { entry(ffi::ABI_MAJOR, ffi::ABI_MINOR) };
        // SAFETY: a non-NULL table is STATIC(plugin) and at least as large as it says.
        let checked = unsafe { check_table(table) }.map_err(CLoadError::Refused)?;
        let (functions, info_json) = checked;
        let declared = crate::declaration::parse_options_json(&info_json)
            .map_err(|e| CLoadError::Refused(format!("its info_json is not valid: {e}")))?;
        if declared.is_empty() {
            return Err(CLoadError::Refused(
                "its info_json declares no outputs".into(),
            ));
        }
        let meta: serde_json::Value = serde_json::from_str(&info_json).unwrap_or_default();
        let text = |key: &str| meta.get(key).and_then(|v| v.as_str()).map(str::to_string);
        // SAFETY: checked non-NULL by `check_table`.
        let (major, minor) = unsafe { ((*table).abi_major, (*table).abi_minor) };
        let info = PluginInfo {
            name: text("plugin")
                .or_else(|| {
                    path.file_stem()
                        .map(|s| s.to_string_lossy().trim_start_matches("lib").to_string())
                })
                .unwrap_or_default()
                .into(),
            version: text("version").unwrap_or_default().into(),
            api_version: format!("C ABI {major}.{minor}").into(),
            outputs: declared.iter().map(DeclaredOutput::descriptor).collect(),
        };
        Ok(Arc::new(CPlugin {
            path: path.to_path_buf(),
            functions,
            info,
            info_json,
            declared,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> PluginInfo {
        self.info.clone()
    }

    /// The plugin's info JSON: the outputs with their declared options, in the format of
    /// [`crate::declaration::options_json`].
    pub fn declaration(&self) -> &str {
        &self.info_json
    }

    /// Builds an output instance. The declared options are checked here, as the Rust SDK does
    /// in the plugin (or taken as the host checked them, from `init.extra`), and handed to
    /// the plugin as `"options"` in its init JSON.
    pub fn new_output(self: &Arc<Self>, init: OutputInit) -> Result<OutputBox, PluginError> {
        let name = init.output_name.as_str();
        let options = match self.declared.iter().find(|d| d.is_called(name)) {
            Some(d) if d.declares_options() => {
                crate::values::Values::from_init(&init, d)?.to_json()
            }
            Some(_) => serde_json::json!({}),
            None => {
                return Err(PluginError::new(format!(
                    "{} does not provide output {name}",
                    self.path.display()
                )))
            }
        };
        let init_json = json::init(&init, options);
        let output = COutput::create(self.clone(), &init_json)?;
        Ok(OutputFfi_TO::from_value(output, TD_Opaque))
    }
}

/// Checks a table the entry returned and reads its info JSON.
///
/// # Safety
/// `table` is NULL or points to at least `struct_size` readable bytes that stay valid.
unsafe fn check_table(table: *const LrPluginApi) -> Result<(Functions, String), String> {
    if table.is_null() {
        return Err(format!(
            "loadrun_plugin_v1 returned NULL: the plugin cannot serve C ABI {}.{}",
            ffi::ABI_MAJOR,
            ffi::ABI_MINOR
        ));
    }
    // SAFETY: the first field is in every version of the table.
    let size = unsafe { (*table).struct_size } as usize;
    // The size, major and minor lead the table in every major version, so a newer major is
    // named as such rather than as a size problem.
    if size >= 12 {
        // SAFETY: `size` says these bytes are there.
        let (major, minor) = unsafe { ((*table).abi_major, (*table).abi_minor) };
        if major != ffi::ABI_MAJOR {
            return Err(format!(
                "built for C ABI {major}.{minor}, but this loadrun speaks C ABI {}.{}; rebuild it against the loadrun_plugin.h of this loadrun",
                ffi::ABI_MAJOR,
                ffi::ABI_MINOR
            ));
        }
    }
    if size < ffi::PLUGIN_API_V1_0_SIZE {
        return Err(format!(
            "its function table is {size} bytes, smaller than C ABI 1.0's {} (struct_size must be sizeof(lr_plugin_api))",
            ffi::PLUGIN_API_V1_0_SIZE
        ));
    }
    // SAFETY: the table holds at least 1.0's fields, which is all this host reads.
    let t = unsafe { &*table };
    let missing = |what: &str| format!("its table has no {what} function (NULL)");
    let functions = Functions {
        new_output: t.new_output.ok_or_else(|| missing("new_output"))?,
        start: t.start.ok_or_else(|| missing("start"))?,
        write: t.write.ok_or_else(|| missing("write"))?,
        flush: t.flush.ok_or_else(|| missing("flush"))?,
        stop: t.stop.ok_or_else(|| missing("stop"))?,
        destroy: t.destroy.ok_or_else(|| missing("destroy"))?,
    };
    if t.info_json.is_null() {
        return Err("its table has no info_json (NULL)".into());
    }
    // SAFETY: non-NULL, and the header requires a NUL-terminated STATIC(plugin) string.
    let info = unsafe { CStr::from_ptr(t.info_json) };
    let info = info
        .to_str()
        .map_err(|_| "its info_json is not UTF-8".to_string())?;
    Ok((functions, info.to_string()))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
