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

/// Whether `path` is to be run rather than loaded: named `loadrun-output-*`, or, when its name
/// does not say it is a library (`*.so`, `*.so.N`), a file with an execute bit that is a script
/// (`#!`) or an ELF executable (position-independent ones included: those have an interpreter,
/// which a plugin library has not).
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
    executable && (starts_with_shebang(path) || is_elf_executable(path))
}

/// An ELF file of type `ET_EXEC`, or `ET_DYN` with a `PT_INTERP` segment (a PIE). Reads the
/// headers only; anything unreadable or of another class is not one.
fn is_elf_executable(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const ET_EXEC: u16 = 2;
    const ET_DYN: u16 = 3;
    const PT_INTERP: u32 = 3;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut h = [0u8; 64];
    // 64-bit little-endian only: the machines loadrun runs on.
    if f.read_exact(&mut h).is_err() || h[..4] != *b"\x7fELF" || h[4] != 2 || h[5] != 1 {
        return false;
    }
    let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    match u16_at(16) {
        ET_EXEC => true,
        ET_DYN => {
            let mut off = [0u8; 8];
            off.copy_from_slice(&h[32..40]);
            let (phoff, phentsize, phnum) = (u64::from_le_bytes(off), u16_at(54), u16_at(56));
            if phentsize < 4 || f.seek(SeekFrom::Start(phoff)).is_err() {
                return false;
            }
            let mut ph = vec![0u8; usize::from(phentsize)];
            (0..phnum).any(|_| {
                f.read_exact(&mut ph).is_ok()
                    && u32::from_le_bytes([ph[0], ph[1], ph[2], ph[3]]) == PT_INTERP
            })
        }
        _ => false,
    }
}

fn starts_with_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"#!"
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn executables_and_scripts_are_programs_libraries_and_text_are_not() {
        use std::os::unix::fs::PermissionsExt;
        // This test binary: a position-independent executable, named like no library.
        let exe = std::env::current_exe().unwrap();
        assert!(is_program(&exe), "{}", exe.display());
        let dir = std::env::temp_dir().join(format!("loadrun-is-program-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let as_library = dir.join("libout_x.so");
        std::fs::copy(&exe, &as_library).unwrap();
        assert!(!is_program(&as_library));
        let script = dir.join("out.py");
        std::fs::write(&script, "#!/usr/bin/env python3\n").unwrap();
        assert!(!is_program(&script), "no execute bit");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(is_program(&script));
        let text = dir.join("notes");
        std::fs::write(&text, "hello\n").unwrap();
        std::fs::set_permissions(&text, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!is_program(&text));
        assert!(
            is_program(&dir.join("loadrun-output-anything")),
            "named for it"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
