//! Out-of-process plugins: an executable in any language that speaks the [`protocol`] over
//! its stdin and stdout. [`ProcessPlugin`] asks it what it provides and starts one child per
//! output instance, each driven by a [`ProcessOutput`] through the same [`OutputFfi`] as an
//! in-process plugin: a crash, a hang or garbage on stdout becomes an error naming the
//! executable, never a crash of the host.
//!
//! [`OutputFfi`]: crate::abi::OutputFfi

mod child;
mod json;
mod output;
mod plugin;
pub mod protocol;

pub use output::ProcessOutput;
pub use plugin::{call_timeout_from_env, ProcessPlugin, DEFAULT_CALL_TIMEOUT};

use std::path::Path;

/// What an executable plugin on the search path is called: `loadrun-output-NAME`.
pub const PROGRAM_PREFIX: &str = "loadrun-output-";

/// Whether `path` is to be run rather than loaded: named `loadrun-output-*`, or a script
/// (`#!`) with an execute bit whose name does not say it is a library. A compiled child must
/// carry the name: an executable and a shared object are both ELF files.
pub fn is_program(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with(PROGRAM_PREFIX) {
        return true;
    }
    if name.ends_with(".so") || name.contains(".so.") {
        return false;
    }
    let executable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    executable && starts_with_shebang(path)
}

fn starts_with_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"#!"
}
