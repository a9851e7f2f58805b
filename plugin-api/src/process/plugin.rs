//! An executable as a plugin: what it provides, read from it once, and a child per output.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::child::{Child, Reply};
use super::output::ProcessOutput;
use super::{json, protocol::kind};
use crate::abi::{OutputBox, OutputFfi_TO, OutputInit, PluginError, PluginInfo};
use crate::declaration::DeclaredOutput;
use crate::values::Values;

/// How long a child may take to answer one call (and to say its handshake) when
/// `LOADRUN_PLUGIN_CALL_TIMEOUT_MS` does not say: past it the child is killed as hung.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// An executable that speaks the [`protocol`](super::protocol).
///
/// The host must ignore `SIGPIPE` (Rust programs do unless they change it): writing to a child
/// that died is then an error the adapter reports, not the end of the host.
pub struct ProcessPlugin {
    path: PathBuf,
    info: PluginInfo,
    declaration: String,
    declared: Vec<DeclaredOutput>,
    call_timeout: Duration,
}

impl ProcessPlugin {
    /// Starts `path` once to ask what it provides. The error is one line naming the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        Self::with_timeout(path, call_timeout_from_env())
    }

    pub fn with_timeout(path: &Path, call_timeout: Duration) -> Result<Self, String> {
        let (mut child, version) = Child::spawn(path, call_timeout)?;
        check_major(path, "its handshake", &version)?;
        let doc = match child.call("info", &[(kind::INFO, b"{}")], None, call_timeout)? {
            Reply::Ok(doc) => doc,
            Reply::Error(reason) => {
                return Err(format!("{}: info failed: {reason}", path.display()))
            }
            Reply::Retry { .. } => {
                return Err(format!("{}: answered info with a retry", path.display()))
            }
        };
        child.close(Instant::now() + Duration::from_secs(1));
        let text = String::from_utf8(doc)
            .map_err(|_| format!("{}: its info is not UTF-8", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: its info is not JSON: {e}", path.display()))?;
        let field = |key: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("{}: its info has no \"{key}\"", path.display()))
        };
        let (name, version, api) = (field("plugin")?, field("version")?, field("api")?);
        check_major(path, "its info", &api)?;
        let declared = crate::declaration::parse_options_json(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if declared.is_empty() {
            return Err(format!("{}: its info declares no output", path.display()));
        }
        let info = PluginInfo {
            name: name.into(),
            version: version.into(),
            api_version: api.into(),
            outputs: declared.iter().map(DeclaredOutput::descriptor).collect(),
        };
        Ok(Self {
            path: path.to_path_buf(),
            info,
            declaration: crate::declaration::options_json(&declared),
            declared,
            call_timeout,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> PluginInfo {
        self.info.clone()
    }

    /// Its outputs with their options, as [`crate::declaration::options_json`] writes them.
    pub fn declaration(&self) -> &str {
        &self.declaration
    }

    /// Starts a child for one output and hands it `init`. Options the host did not check
    /// (an older host, the testkit) are checked here, as the SDK does for a Rust plugin.
    pub fn new_output(&self, init: OutputInit) -> Result<OutputBox, PluginError> {
        let name = init.output_name.to_string();
        let declared = self
            .declared
            .iter()
            .find(|d| d.is_called(&name))
            .ok_or_else(|| {
                PluginError::new(format!(
                    "{} does not provide output {name}",
                    self.path.display()
                ))
            })?;
        let options = if declared.declares_options() {
            Values::from_init(&init, declared)?.to_json()
        } else {
            serde_json::Value::Null
        };
        let fail = |e: String| PluginError::new(e);
        let (mut child, _) = Child::spawn(&self.path, self.call_timeout).map_err(fail)?;
        match child
            .call(
                "init",
                &[(kind::INIT, &json::init(&init, options))],
                None,
                self.call_timeout,
            )
            .map_err(fail)?
        {
            Reply::Ok(_) => Ok(OutputFfi_TO::from_value(
                ProcessOutput::new(child, self.call_timeout),
                abi_stable::sabi_trait::TD_Opaque,
            )),
            Reply::Error(reason) => Err(PluginError::new(reason)),
            Reply::Retry { reason, .. } => Err(PluginError::new(format!(
                "answered init with a retry: {reason}"
            ))),
        }
    }
}

fn check_major(path: &Path, what: &str, version: &str) -> Result<(), String> {
    let host_major = crate::API_VERSION.split('.').next().unwrap_or("1");
    if version.split('.').next() == Some(host_major) {
        Ok(())
    } else {
        Err(format!(
            "{}: {what} says API {version}, which this loadrun (API {}) cannot drive; update the plugin for API {host_major}.x",
            path.display(),
            crate::API_VERSION
        ))
    }
}

/// `LOADRUN_PLUGIN_CALL_TIMEOUT_MS`, else [`DEFAULT_CALL_TIMEOUT`].
pub fn call_timeout_from_env() -> Duration {
    std::env::var("LOADRUN_PLUGIN_CALL_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_CALL_TIMEOUT, Duration::from_millis)
}
