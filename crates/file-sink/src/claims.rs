//! The files this process writes, each claimed by one writer: two outputs given the same file
//! (`-o json=x -o csv=x`, or `./x` and `x`, or a link to it), or an output and
//! `--summary-export`, would interleave their bytes while each reports every sample written.
//! Files are compared by device and inode, so every spelling of one file is caught.
//!
//! Only regular files are claimed: devices such as `/dev/null` or `/dev/full` take any number
//! of writers harmlessly.
//!
//! The registry is a static of this crate: it covers the outputs built into the host and the
//! host itself. A plugin built as its own library carries its own copy of this crate.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

struct Claimed {
    dev: u64,
    ino: u64,
    owner: String,
    token: u64,
}

struct Registry {
    claimed: Vec<Claimed>,
    next: u64,
}

static CLAIMS: Mutex<Registry> = Mutex::new(Registry {
    claimed: Vec::new(),
    next: 0,
});

/// Held while a writer owns its file; dropping it releases the file.
#[derive(Debug)]
pub struct Claim {
    /// `None` for a file that is not claimed (not a regular file).
    token: Option<u64>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(token) = self.token {
            let mut reg = CLAIMS.lock().unwrap_or_else(|p| p.into_inner());
            reg.claimed.retain(|c| c.token != token);
        }
    }
}

/// Why a file could not be claimed.
#[derive(Debug)]
pub enum ClaimError {
    /// Another writer of this process has it; `owner` names that writer.
    Taken { owner: String },
    /// Opening (or inspecting) the file failed.
    Io(io::Error),
}

/// Opens `path` with `open` for `owner`, unless another writer of this process already has
/// that file. The check runs before `open`, so a taken file is not truncated.
pub fn open_claimed(
    owner: &str,
    path: &Path,
    open: impl FnOnce(&Path) -> io::Result<File>,
) -> Result<(File, Claim), ClaimError> {
    let mut reg = CLAIMS.lock().unwrap_or_else(|p| p.into_inner());
    let taken = |reg: &Registry, dev: u64, ino: u64| {
        reg.claimed
            .iter()
            .find(|c| c.dev == dev && c.ino == ino)
            .map(|c| ClaimError::Taken {
                owner: c.owner.clone(),
            })
    };
    if let Ok(meta) = std::fs::metadata(path) {
        if let Some(e) = taken(&reg, meta.dev(), meta.ino()) {
            return Err(e);
        }
    }
    let file = open(path).map_err(ClaimError::Io)?;
    let meta = file.metadata().map_err(ClaimError::Io)?;
    if !meta.is_file() {
        return Ok((file, Claim { token: None }));
    }
    if let Some(e) = taken(&reg, meta.dev(), meta.ino()) {
        return Err(e);
    }
    let token = reg.next;
    reg.next += 1;
    reg.claimed.push(Claimed {
        dev: meta.dev(),
        ino: meta.ino(),
        owner: owner.to_string(),
        token,
    });
    Ok((file, Claim { token: Some(token) }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn one_file_one_writer_whatever_its_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, "keep").unwrap();
        let (_f, claim) = open_claimed("json", &path, |p| File::create(p)).unwrap();
        let dotted = dir.path().join(".").join("x.json");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        for other in [&path, &dotted, &link] {
            match open_claimed("csv", other, |p| File::create(p)) {
                Err(ClaimError::Taken { owner }) => assert_eq!(owner, "json"),
                other => panic!("{other:?}"),
            }
        }
        std::fs::write(&path, "kept").unwrap();
        // The refused writer did not truncate the file.
        assert!(open_claimed("csv", &link, |p| File::create(p)).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
        drop(claim);
        assert!(open_claimed("csv", &dotted, |p| File::create(p)).is_ok());
    }

    #[test]
    fn devices_take_any_number_of_writers() {
        let null = Path::new("/dev/null");
        let open = |p: &Path| std::fs::OpenOptions::new().write(true).open(p);
        let (_a, _ca) = open_claimed("csv", null, open).unwrap();
        assert!(open_claimed("json", null, open).is_ok());
    }
}
