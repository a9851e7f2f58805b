//! Reading a plugin file as data before anything loads it.
//!
//! `dlopen` maps a file's segments as they are declared; a segment past the end of a truncated
//! file maps fine and then kills the process with SIGBUS when touched, with no message. So every
//! candidate is checked here first: an ELF shared object for this machine whose headers,
//! sections and segments all lie inside the file. The same pass reads the outputs the plugin
//! declares (`loadrun_plugin_api::declaration`), so the host can pick the one file it needs
//! without loading the others.
//!
//! The file is read through `object::ReadCache` (plain reads of the ranges asked for), never
//! mapped, so a file that shrinks while being read gives an error, not a signal.

use std::fs::File;
use std::path::Path;

use loadrun_plugin_api::declaration::{Declaration, SECTION};
use object::elf::{self, FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, ReadCache, ReadRef};

use super::PluginError;

/// Offsets in `e_ident` (the `object` crate names only the fields of its struct).
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;

/// What a sound plugin file says about itself without being loaded.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The outputs it declares; `None` for builds without a declaration (SDK before 1.2, or a
    /// plugin that declares none), which can only be found by file name or by loading them.
    pub declaration: Option<Declaration>,
}

/// Checks that `path` is a complete ELF shared object for this machine and reads its
/// declaration. Only reads the file.
pub fn inspect(path: &Path) -> Result<Inspection, PluginError> {
    let not_so = |reason: String| PluginError::NotSharedObject {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|e| not_so(format!("cannot read it: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| not_so(format!("cannot read it: {e}")))?
        .len();
    let data = ReadCache::new(file);
    let ident = data
        .read_bytes_at(0, 16)
        .map_err(|()| not_so(format!("{len} bytes, too short for an ELF header")))?;
    if ident[..4] != elf::ELFMAG {
        return Err(not_so("no ELF header".into()));
    }
    let host_class = if cfg!(target_pointer_width = "64") {
        elf::ELFCLASS64
    } else {
        elf::ELFCLASS32
    };
    let host_data = if cfg!(target_endian = "little") {
        elf::ELFDATA2LSB
    } else {
        elf::ELFDATA2MSB
    };
    if ident[EI_CLASS] != host_class || ident[EI_DATA] != host_data {
        return Err(PluginError::WrongMachine {
            path: path.to_path_buf(),
            file: format!(
                "a {}-bit {}-endian machine",
                if ident[EI_CLASS] == elf::ELFCLASS64 {
                    64
                } else {
                    32
                },
                if ident[EI_DATA] == elf::ELFDATA2MSB {
                    "big"
                } else {
                    "little"
                }
            ),
            host: host_machine_name().to_string(),
        });
    }
    let checked = if host_class == elf::ELFCLASS64 {
        check::<FileHeader64<Endianness>>(&data, len)
    } else {
        check::<FileHeader32<Endianness>>(&data, len)
    };
    checked.map_err(|problem| problem.into_error(path, len))
}

/// Why a file is not a sound shared object, before the path is attached.
enum Problem {
    Malformed(String),
    NotShared(u16),
    Machine(u16),
    /// The named part ends at this byte, past the end of the file.
    PastEnd(String, u64),
}

impl Problem {
    fn into_error(self, path: &Path, len: u64) -> PluginError {
        let path = path.to_path_buf();
        match self {
            Problem::Malformed(reason) => PluginError::NotSharedObject { path, reason },
            Problem::NotShared(e_type) => PluginError::NotSharedObject {
                path,
                reason: format!(
                    "an ELF {}, not a shared library",
                    match e_type {
                        elf::ET_EXEC => "executable",
                        elf::ET_REL => "object file",
                        elf::ET_CORE => "core dump",
                        _ => "file of unknown type",
                    }
                ),
            },
            Problem::Machine(machine) => PluginError::WrongMachine {
                path,
                file: machine_name(machine)
                    .map_or_else(|| format!("ELF machine {machine}"), str::to_string),
                host: host_machine_name().to_string(),
            },
            Problem::PastEnd(what, end) => PluginError::Incomplete {
                path,
                what,
                end,
                len,
            },
        }
    }
}

fn check<Elf: FileHeader<Endian = Endianness>>(
    data: &ReadCache<File>,
    len: u64,
) -> Result<Inspection, Problem> {
    let malformed = |e: object::Error| Problem::Malformed(e.to_string());
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let e_type = header.e_type(endian);
    if e_type != elf::ET_DYN {
        return Err(Problem::NotShared(e_type));
    }
    let machine = header.e_machine(endian);
    if host_machine().is_some_and(|m| m != machine) {
        return Err(Problem::Machine(machine));
    }

    let table_end = |offset: u64, count: u64, entsize: u16| {
        count
            .checked_mul(u64::from(entsize))
            .and_then(|size| size.checked_add(offset))
            .unwrap_or(u64::MAX)
    };
    let phoff: u64 = header.e_phoff(endian).into();
    let phnum = u64::from(header.e_phnum(endian));
    let end = table_end(phoff, phnum, header.e_phentsize(endian));
    if end > len {
        return Err(Problem::PastEnd("the program header table".into(), end));
    }
    let shoff: u64 = header.e_shoff(endian).into();
    if shoff != 0 {
        // With 0 here the real count is in section 0, itself only readable once it is known
        // to be inside the file.
        let first_end = table_end(shoff, 1, header.e_shentsize(endian));
        if first_end > len {
            return Err(Problem::PastEnd(
                "the section header table".into(),
                first_end,
            ));
        }
        let shnum = header.shnum(endian, data).map_err(malformed)? as u64;
        let end = table_end(shoff, shnum, header.e_shentsize(endian));
        if end > len {
            return Err(Problem::PastEnd("the section header table".into(), end));
        }
    }

    // Ranges first, from the raw headers: the section names live in a section of their own,
    // which may itself be the one cut off.
    let headers = header.section_headers(endian, data).map_err(malformed)?;
    let named = header.sections(endian, data).ok();
    for (index, section) in headers.iter().enumerate() {
        if section.sh_type(endian) == elf::SHT_NOBITS {
            continue;
        }
        let offset: u64 = section.sh_offset(endian).into();
        let size: u64 = section.sh_size(endian).into();
        let end = offset.saturating_add(size);
        if end > len {
            let name = named
                .as_ref()
                .and_then(|t| t.section_name(endian, section).ok())
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("#{index}"));
            return Err(Problem::PastEnd(format!("section {name}"), end));
        }
    }
    let sections = match named {
        Some(sections) => sections,
        None => header.sections(endian, data).map_err(malformed)?,
    };
    let segments = header.program_headers(endian, data).map_err(malformed)?;
    for (index, segment) in segments.iter().enumerate() {
        let offset: u64 = segment.p_offset(endian).into();
        let size: u64 = segment.p_filesz(endian).into();
        let end = offset.saturating_add(size);
        if end > len {
            let kind = if segment.p_type(endian) == elf::PT_LOAD {
                " (LOAD)"
            } else {
                ""
            };
            return Err(Problem::PastEnd(format!("segment {index}{kind}"), end));
        }
    }

    let declaration = sections
        .section_by_name(endian, SECTION.as_bytes())
        .and_then(|(_, section)| section.data(endian, data).ok())
        .and_then(|bytes| match Declaration::parse(bytes) {
            Ok(d) => Some(d),
            Err(e) => {
                // A newer format, say: the file may still be a fine plugin, found by loading.
                tracing::debug!("{e}");
                None
            }
        })
        .filter(|d| !d.outputs.is_empty());
    Ok(Inspection { declaration })
}

/// The ELF machines loadrun is built for, and their names.
const MACHINES: &[(u16, &str)] = &[
    (elf::EM_X86_64, "x86_64"),
    (elf::EM_AARCH64, "aarch64"),
    (elf::EM_386, "x86"),
    (elf::EM_ARM, "arm"),
    (elf::EM_RISCV, "riscv"),
    (elf::EM_PPC64, "powerpc64"),
    (elf::EM_PPC, "powerpc"),
    (elf::EM_S390, "s390x"),
    (elf::EM_LOONGARCH, "loongarch64"),
    (elf::EM_MIPS, "mips"),
];

fn machine_name(machine: u16) -> Option<&'static str> {
    MACHINES
        .iter()
        .find(|(m, _)| *m == machine)
        .map(|(_, n)| *n)
}

/// This process's ELF machine; `None` on an architecture not in [`MACHINES`], where the check
/// is left to `dlopen`.
fn host_machine() -> Option<u16> {
    let arch = std::env::consts::ARCH;
    let arch = match arch {
        "riscv64" | "riscv32" => "riscv",
        "mips64" => "mips",
        other => other,
    };
    MACHINES.iter().find(|(_, n)| *n == arch).map(|(m, _)| *m)
}

fn host_machine_name() -> &'static str {
    std::env::consts::ARCH
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn system_library() -> Option<Vec<u8>> {
        [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ]
        .into_iter()
        .find_map(|p| std::fs::read(p).ok())
    }

    /// A system library passes; the same bytes marked as another machine or as an executable
    /// (`e_machine` and `e_type`, little-endian at 18 and 16) do not.
    #[test]
    fn a_library_for_another_machine_or_of_another_type_is_refused() {
        let Some(bytes) = system_library() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("libout_x.so");
        std::fs::write(&f, &bytes).unwrap();
        assert!(inspect(&f).unwrap().declaration.is_none());

        let other = if cfg!(target_arch = "x86_64") {
            elf::EM_AARCH64
        } else {
            elf::EM_X86_64
        };
        let mut patched = bytes.clone();
        patched[18..20].copy_from_slice(&other.to_le_bytes());
        std::fs::write(&f, &patched).unwrap();
        let err = inspect(&f).unwrap_err().to_string();
        assert!(
            err.contains("built for") && err.contains(std::env::consts::ARCH),
            "{err}"
        );

        let mut patched = bytes;
        patched[16..18].copy_from_slice(&elf::ET_EXEC.to_le_bytes());
        std::fs::write(&f, &patched).unwrap();
        let err = inspect(&f).unwrap_err().to_string();
        assert!(
            err.contains("an ELF executable, not a shared library"),
            "{err}"
        );
    }

    #[test]
    fn a_truncated_library_names_the_part_past_the_end() {
        let libc = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
        let Some(libc) = libc else { return };
        let bytes = std::fs::read(libc).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("libout_cut.so");
        for keep in [bytes.len() / 2, bytes.len() - 1, 40, 10] {
            std::fs::write(&cut, &bytes[..keep]).unwrap();
            let err = inspect(&cut).unwrap_err().to_string();
            if keep >= 64 {
                assert!(
                    err.contains("not a complete shared object")
                        && err.contains(&format!("file has {keep} bytes"))
                        && err.contains("rebuild or reinstall it"),
                    "{keep}: {err}"
                );
            } else {
                assert!(err.contains("not a shared library"), "{keep}: {err}");
            }
        }
    }

    /// A section whose recorded place lies past the end of the file is named in the message.
    #[test]
    fn a_section_past_the_end_is_named() {
        use object::read::elf::FileHeader as _;
        let Some(mut bytes) = system_library() else {
            return;
        };
        if !cfg!(target_pointer_width = "64") {
            return;
        }
        let len = bytes.len() as u64;
        let (shoff, shentsize, text, size) = {
            let header = FileHeader64::<Endianness>::parse(bytes.as_slice()).unwrap();
            let endian = header.endian().unwrap();
            let sections = header.sections(endian, bytes.as_slice()).unwrap();
            let (index, text) = sections.section_by_name(endian, b".text").unwrap();
            (
                header.e_shoff(endian),
                u64::from(header.e_shentsize(endian)),
                index.0 as u64,
                text.sh_size(endian),
            )
        };
        // Elf64_Shdr: sh_name, sh_type (4 bytes each), sh_flags, sh_addr, then sh_offset.
        let at = (shoff + text * shentsize + 24) as usize;
        bytes[at..at + 8].copy_from_slice(&len.to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("libout_x.so");
        std::fs::write(&f, &bytes).unwrap();
        let err = inspect(&f).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "not a complete shared object (section .text ends at byte {}, file has {len} bytes); rebuild or reinstall it",
                len + size
            )),
            "{err}"
        );
    }

    #[test]
    fn host_machine_is_known_here() {
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            assert!(host_machine().is_some());
        }
    }
}
