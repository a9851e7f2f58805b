//! The plugin search path.

use std::path::PathBuf;

/// Why a folder is on the search path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrigin {
    EnvPath,
    XdgData,
    System,
}

impl SearchOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchOrigin::EnvPath => "LOADRUN_PLUGIN_PATH",
            SearchOrigin::XdgData => "$XDG_DATA_HOME/loadrun/plugins",
            SearchOrigin::System => "system",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    pub path: PathBuf,
    pub origin: SearchOrigin,
}

/// `LOADRUN_PLUGIN_PATH` (colon-separated), then `$XDG_DATA_HOME/loadrun/plugins` (default
/// `~/.local/share`), then `/usr/local/lib/loadrun/plugins` and `/usr/lib/loadrun/plugins`.
///
/// Relative entries are ignored with a warning: they would load whatever plugin sits in the
/// folder the command happens to run from (as `.` on `PATH` would run its programs).
pub fn search_path() -> Vec<SearchDir> {
    let mut dirs = Vec::new();
    if let Some(paths) = std::env::var_os("LOADRUN_PLUGIN_PATH") {
        for p in std::env::split_paths(&paths) {
            if p.as_os_str().is_empty() {
                continue;
            }
            if p.is_relative() {
                tracing::warn!(
                    "LOADRUN_PLUGIN_PATH entry {:?} ignored: a relative folder would load plugins from the current folder; use an absolute path",
                    p.display().to_string()
                );
                continue;
            }
            dirs.push(SearchDir {
                path: p,
                origin: SearchOrigin::EnvPath,
            });
        }
    }
    // The XDG spec says to ignore a relative XDG_DATA_HOME, for the same reason.
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|v| v.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .filter(|p| p.is_absolute());
    if let Some(xdg) = xdg {
        dirs.push(SearchDir {
            path: xdg.join("loadrun/plugins"),
            origin: SearchOrigin::XdgData,
        });
    }
    for p in ["/usr/local/lib/loadrun/plugins", "/usr/lib/loadrun/plugins"] {
        dirs.push(SearchDir {
            path: PathBuf::from(p),
            origin: SearchOrigin::System,
        });
    }
    dirs.dedup();
    dirs
}
