//! The `--summary-export` file, opened before the test starts: an unwritable path, or a file an
//! output also writes, is reported before the run instead of after it.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use file_sink::claims::{self, Claim, ClaimError};
use loadrun_summary::{MachineMeta, Summary};

/// k6's machine-readable summary of this run (`--new-machine-readable-summary`).
pub fn machine_readable(summary: &Summary, script: &str, passed: bool) -> serde_json::Value {
    let generated_at = super::start_at::show(loadrun_metrics::now_ns());
    summary.machine_readable_json(&MachineMeta {
        script: Some(script),
        generated_at: &generated_at,
        version: env!("CARGO_PKG_VERSION"),
        passed,
    })
}

/// The open export file. Until [`SummaryFile::write`] succeeds, a file this run created is
/// removed again when dropped, so a run refused later leaves nothing behind.
pub struct SummaryFile {
    path: PathBuf,
    file: File,
    _claim: Claim,
    created: bool,
    written: bool,
}

impl SummaryFile {
    /// Opens (creating, not yet truncating) `path` and claims it against the file outputs.
    pub fn open(path: &Path) -> Result<Self, String> {
        Self::open_for("--summary-export", path)
    }

    /// [`SummaryFile::open`] for another end-of-run file, named by its `flag` in errors.
    pub fn open_for(flag: &'static str, path: &Path) -> Result<Self, String> {
        let existed = std::fs::symlink_metadata(path).is_ok();
        // Not truncated yet: a run refused later keeps the previous export.
        let open = |p: &Path| {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(p)
        };
        let (file, claim) = claims::open_claimed(flag, path, open).map_err(|e| {
            let cause = match e {
                ClaimError::Io(e) => file_sink::io_cause(&e),
                ClaimError::Taken { owner } => format!("{owner} writes that file too"),
            };
            format!("{flag} {}: cannot write: {cause}", path.display())
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            _claim: claim,
            created: !existed,
            written: false,
        })
    }

    /// Replaces the file's content with `body`. A regular file is replaced whole (written
    /// beside it, then renamed over it), so a reader (`loadrun merge`, a CI step) never sees
    /// half a file and a crash mid-write keeps the previous one. Where no file can be made
    /// beside it (a read-only folder, a device such as /dev/stdout) it is written in place.
    pub fn write(mut self, body: &[u8]) -> std::io::Result<()> {
        if replace_whole(&self.path, body).is_err() {
            self.file.set_len(0)?;
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(body)?;
        }
        self.written = true;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `body` to a new file beside `path`'s target and renames it over the target,
/// keeping the target's permissions.
fn replace_whole(path: &Path, body: &[u8]) -> std::io::Result<()> {
    // Through a symlink the link stays and its target is replaced.
    let target = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&target)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".loadrun-")
        .tempfile_in(dir)?;
    tmp.write_all(body)?;
    tmp.as_file().set_permissions(meta.permissions())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

impl Drop for SummaryFile {
    fn drop(&mut self) {
        if self.created && !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
