//! The writer behind loadrun's file outputs (csv, json): a file, a gzip file or stdout.
//!
//! Encoders append whole lines to [`Sink::buf`] and call [`Sink::sample_done`] once per sample
//! line. [`Sink::flush`] hands the whole buffer to the destination in one write, so after every
//! flush the file ends on a line boundary: a run interrupted between flushes (Ctrl-C, a crash
//! after the last flush) leaves only complete lines. The buffer doubles as the large write
//! buffer a `BufWriter` would be, without a `BufWriter`'s habit of spilling half a line.
//!
//! Write errors are the sink's business, not the host's: the host calls `write` with data already
//! accepted, and a disk-full error at flush time concerns samples from earlier batches the host
//! has already counted as written. So the sink reports the first error of a streak once
//! (`host.error`), counts every failed flush (`write_errors`) and every sample line that did not
//! reach the destination complete (`samples_lost`), and keeps going: the next flush tries again.
//! The host's `written` therefore means "accepted by the output"; the samples actually on disk
//! are `written - samples_lost`. For gzip, "reached the destination" means "accepted by the
//! compressor", since compressed bytes trail their input.

pub mod claims;
pub mod digits;
pub mod time;

#[cfg(feature = "fixtures")]
pub mod fixtures;

#[cfg(feature = "bench-support")]
#[doc(hidden)]
pub mod bench;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use loadrun_plugin_api::{Host, PluginError};

/// Flush early once this much is pending, so memory stays bounded between flush ticks.
pub const DEFAULT_CHUNK: usize = 4 << 20;

/// Where an output writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File { path: PathBuf, gzip: bool },
}

impl Target {
    /// k6's rule: `-` or an empty name is stdout, a name ending in `.gz` is a gzip stream.
    pub fn from_name(name: &str) -> Self {
        let name = name.trim();
        if name.is_empty() || name == "-" {
            Target::Stdout
        } else {
            Target::File {
                path: PathBuf::from(name),
                gzip: name.ends_with(".gz"),
            }
        }
    }

    /// `stdout` or the path, for messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Stdout => "stdout".to_string(),
            Target::File { path, .. } => path.display().to_string(),
        }
    }
}

enum Dest {
    Stdout,
    Plain(File),
    Gzip(GzEncoder<File>),
    Closed,
}

impl Dest {
    fn write_counted(&mut self, data: &[u8]) -> (usize, io::Result<()>) {
        match self {
            Dest::Stdout => write_counted(&mut io::stdout().lock(), data),
            Dest::Plain(f) => write_counted(f, data),
            Dest::Gzip(g) => write_counted(g, data),
            Dest::Closed => (0, Err(io::Error::other("the output is already closed"))),
        }
    }

    /// Pushes written data out of any buffer in between: a gzip sync flush makes every
    /// complete line decodable from the file as it is now.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Dest::Stdout => io::stdout().lock().flush(),
            Dest::Plain(_) | Dest::Closed => Ok(()),
            Dest::Gzip(g) => g.flush(),
        }
    }
}

/// Writes all of `data`, saying how many bytes got out before an error, so a caller can keep
/// what was not written (no torn or doubled line) rather than guess.
pub fn write_counted(w: &mut dyn Write, data: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < data.len() {
        match w.write(&data[done..]) {
            Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

/// What the sink has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub samples_written: u64,
    pub samples_lost: u64,
    pub write_errors: u64,
    pub bytes_written: u64,
}

/// A line-complete buffered writer with error accounting. See the crate docs.
pub struct Sink {
    output: String,
    target: String,
    dest: Dest,
    /// Pending whole lines. Encoders append here directly.
    pub buf: Vec<u8>,
    pending_samples: u64,
    chunk: usize,
    host: Option<Host>,
    /// Failed flushes in the current streak (0: healthy).
    failing: u64,
    /// A failed write left half a line in the file: start the next write on a new line.
    broken_line: bool,
    totals: Totals,
    /// Keeps the file this sink's alone until the sink is dropped.
    _claim: Option<claims::Claim>,
}

impl Sink {
    /// Opens (creates or truncates) the destination. The error is one line naming the output,
    /// the file and the cause, e.g. `csv: cannot create "/no/such/dir/x.csv": No such file or directory`.
    pub fn open(output: &str, target: &Target) -> Result<Self, PluginError> {
        let mut claim = None;
        let dest = match target {
            Target::Stdout => Dest::Stdout,
            Target::File { path, gzip } => {
                let (file, file_claim) = create(output, path)?;
                claim = Some(file_claim);
                if *gzip {
                    // Level 1: several times faster than the default level 6 for files a
                    // little larger; a writer that cannot keep up loses samples.
                    Dest::Gzip(GzEncoder::new(file, Compression::fast()))
                } else {
                    Dest::Plain(file)
                }
            }
        };
        Ok(Self {
            output: output.to_string(),
            target: target.describe(),
            dest,
            buf: Vec::with_capacity(64 << 10),
            pending_samples: 0,
            chunk: DEFAULT_CHUNK,
            host: None,
            failing: 0,
            broken_line: false,
            totals: Totals::default(),
            _claim: claim,
        })
    }

    /// Sets how much may be pending before [`Sink::over_chunk`] says to flush.
    pub fn with_chunk(mut self, bytes: usize) -> Self {
        self.chunk = bytes.max(1);
        self
    }

    /// The host to report errors and counters to (given in `start`).
    pub fn set_host(&mut self, host: Host) {
        self.host = Some(host);
    }

    /// Notes that one sample's line has been appended to [`Sink::buf`].
    #[inline]
    pub fn sample_done(&mut self) {
        self.pending_samples += 1;
    }

    /// Whether enough is pending to flush now rather than at the next tick.
    #[inline]
    pub fn over_chunk(&self) -> bool {
        self.buf.len() >= self.chunk
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// `stdout` or the file's path.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Writes out everything pending. Returns false if the write failed (already reported and
    /// counted); the pending lines are gone either way, so memory stays bounded on a full disk.
    pub fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let mut result = Ok(());
        if self.broken_line {
            let (_, r) = self.dest.write_counted(b"\n");
            result = r;
            if result.is_ok() {
                self.broken_line = false;
            }
        }
        let mut done = 0;
        if result.is_ok() {
            let (n, r) = self.dest.write_counted(&self.buf);
            done = n;
            result = r.and_then(|()| self.dest.flush());
        }
        let ok = match result {
            Ok(()) => {
                self.totals.samples_written += self.pending_samples;
                self.totals.bytes_written += self.buf.len() as u64;
                self.recovered();
                true
            }
            Err(e) => {
                let written = &self.buf[..done];
                let whole_lines = written.iter().filter(|&&b| b == b'\n').count() as u64;
                let lost = self.pending_samples.saturating_sub(whole_lines);
                if done > 0 && written.last() != Some(&b'\n') {
                    self.broken_line = true;
                }
                self.totals.samples_written += self.pending_samples - lost;
                self.totals.bytes_written += done as u64;
                self.failed(&e, lost);
                false
            }
        };
        self.buf.clear();
        self.pending_samples = 0;
        ok
    }

    /// The last flush, then the end of the stream (gzip trailer), then close. Idempotent.
    pub fn finish(&mut self) -> Result<(), PluginError> {
        let flushed = self.flush();
        let closing = std::mem::replace(&mut self.dest, Dest::Closed);
        let closed = match closing {
            Dest::Gzip(g) => g.finish().and_then(|mut f| f.flush()),
            Dest::Plain(mut f) => f.flush(),
            Dest::Stdout => io::stdout().lock().flush(),
            Dest::Closed => Ok(()),
        };
        if let Err(e) = &closed {
            self.failed(e, 0);
        }
        if flushed && closed.is_ok() && self.failing == 0 {
            return Ok(());
        }
        let t = self.totals;
        let cause = match closed {
            Err(e) => format!(": {e}"),
            Ok(()) => String::new(),
        };
        Err(PluginError::new(format!(
            "{}: writing to {} failed{cause} ({} failed writes, {} samples lost)",
            self.output, self.target, t.write_errors, t.samples_lost
        )))
    }

    fn failed(&mut self, e: &io::Error, lost: u64) {
        self.totals.write_errors += 1;
        self.totals.samples_lost += lost;
        self.failing += 1;
        if let Some(h) = &self.host {
            h.add_counter("write_errors", 1);
            if lost > 0 {
                h.add_counter("samples_lost", lost);
            }
            if self.failing == 1 {
                h.error(format!(
                    "{}: writing to {} failed: {e}; the run goes on, samples that cannot be written are counted as samples_lost (reported once per streak of failures)",
                    self.output, self.target
                ));
            }
        }
    }

    fn recovered(&mut self) {
        if self.failing > 0 {
            if let Some(h) = &self.host {
                h.warn(format!(
                    "{}: writing to {} works again after {} failed writes",
                    self.output, self.target, self.failing
                ));
            }
            self.failing = 0;
        }
    }
}

impl Drop for Sink {
    /// An output dropped without `stop` (a panic, or a later output's constructor failing) still
    /// leaves complete lines and a closed gzip stream behind. Errors have nowhere to go here.
    fn drop(&mut self) {
        if !matches!(self.dest, Dest::Closed) {
            self.host = None;
            let _ = self.finish();
        }
    }
}

fn create(output: &str, path: &Path) -> Result<(File, claims::Claim), PluginError> {
    claims::open_claimed(output, path, |p| File::create(p)).map_err(|e| {
        PluginError::new(match e {
            claims::ClaimError::Io(e) => format!(
                "{output}: cannot create {:?}: {}",
                path.display().to_string(),
                io_cause(&e)
            ),
            claims::ClaimError::Taken { owner } => format!(
                "{output}: cannot write {:?}: {owner} writes that file too; give each its own file",
                path.display().to_string()
            ),
        })
    })
}

/// The OS's text without Rust's ` (os error N)` suffix, for a one-line message.
pub fn io_cause(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use loadrun_plugin_api::testkit::recording_host;

    #[test]
    fn targets() {
        assert_eq!(Target::from_name("-"), Target::Stdout);
        assert_eq!(Target::from_name(""), Target::Stdout);
        assert_eq!(
            Target::from_name("a.json.gz"),
            Target::File {
                path: "a.json.gz".into(),
                gzip: true
            }
        );
    }

    #[test]
    fn bad_path_is_one_line() {
        let err = Sink::open("csv", &Target::from_name("/no/such/dir/x.csv"))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "csv: cannot create \"/no/such/dir/x.csv\": No such file or directory"
        );
    }

    #[test]
    fn dev_full_reported_once_counted() {
        let (host, rec) = recording_host();
        let mut sink = Sink::open("json", &Target::from_name("/dev/full")).unwrap();
        sink.set_host(host);
        for _ in 0..3 {
            sink.buf.extend_from_slice(b"a\nb\n");
            sink.sample_done();
            sink.sample_done();
            assert!(!sink.flush());
        }
        assert!(sink.finish().is_err());
        assert_eq!(rec.counter("write_errors"), 3);
        assert_eq!(rec.counter("samples_lost"), 6);
        let errors = rec
            .logs()
            .into_iter()
            .filter(|(l, _)| *l == loadrun_plugin_api::LogLevel::Error)
            .count();
        assert_eq!(errors, 1);
    }

    #[test]
    fn plain_file_gets_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let mut sink = Sink::open("csv", &Target::from_name(path.to_str().unwrap())).unwrap();
        sink.buf.extend_from_slice(b"one\n");
        sink.sample_done();
        assert!(sink.flush());
        assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
        sink.buf.extend_from_slice(b"two\n");
        sink.sample_done();
        sink.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n");
        assert_eq!(sink.totals().samples_written, 2);
    }
}
