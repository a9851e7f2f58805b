//! The writer behind loadrun's file outputs (csv, json): a file, a gzip file or stdout.
//!
//! Encoders append whole lines to [`Sink::lines`] and call [`Sink::sample_done`] once per sample
//! line. [`Sink::flush`] hands the whole buffer to the destination in one write, so after every
//! flush the file ends on a line boundary: a run interrupted between flushes (Ctrl-C, a crash
//! after the last flush) leaves only complete lines. The buffer doubles as the large write
//! buffer a `BufWriter` would be, without a `BufWriter`'s habit of spilling half a line.
//! A regular file is written around the page cache where the file system allows it (see
//! [`direct`]): the buffer is kept block-aligned in memory for that, and the flush writes its
//! whole blocks from where the encoders left them, without a copy.
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
pub mod direct;
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

use crate::direct::{DirectFile, BLOCK};

/// Flush early once this much is pending, so memory stays bounded between flush ticks.
pub const DEFAULT_CHUNK: usize = 4 << 20;

/// Room past the chunk for the line that crosses it, so the buffer is allocated once.
const LINE_SLACK: usize = 64 << 10;

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
    /// A regular file.
    File(DirectFile),
    /// A device, a pipe: written in order, no offsets.
    Plain(File),
    Gzip(GzEncoder<File>),
    Closed,
}

impl Dest {
    fn write_counted(&mut self, data: &[u8]) -> (usize, io::Result<()>) {
        match self {
            Dest::Stdout => write_counted(&mut io::stdout().lock(), data),
            // Its offsets and carried block are the sink's business: see `Sink::flush_file`.
            Dest::File(_) => (0, Err(io::Error::other("a file is written by flush_file"))),
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
            Dest::File(_) | Dest::Plain(_) | Dest::Closed => Ok(()),
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
    /// `start` bytes of padding that put `buf[start..]` on a block boundary in memory, then
    /// the `carried` bytes of the file's last partial block (already written, rewritten with
    /// the next block), then pending whole lines, appended by the encoders.
    buf: Vec<u8>,
    start: usize,
    carried: usize,
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
                } else if file.metadata().is_ok_and(|m| m.is_file()) {
                    Dest::File(DirectFile::new(file, path))
                } else {
                    Dest::Plain(file)
                }
            }
        };
        let mut sink = Self {
            output: output.to_string(),
            target: target.describe(),
            dest,
            buf: Vec::new(),
            start: 0,
            carried: 0,
            pending_samples: 0,
            chunk: DEFAULT_CHUNK,
            host: None,
            failing: 0,
            broken_line: false,
            totals: Totals::default(),
            _claim: claim,
        };
        sink.allocate();
        Ok(sink)
    }

    /// Sets how much may be pending before [`Sink::over_chunk`] says to flush.
    pub fn with_chunk(mut self, bytes: usize) -> Self {
        self.chunk = bytes.max(1);
        self.allocate();
        self
    }

    /// Where encoders append whole lines. Append only: what is already there starts with
    /// alignment padding and bytes already written.
    #[inline]
    pub fn lines(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// A buffer for a whole chunk and the line crossing it, aligned; what it held is kept.
    fn allocate(&mut self) {
        let held = self.buf.get(self.start..).unwrap_or_default().to_vec();
        self.buf = Vec::with_capacity(self.chunk + LINE_SLACK + BLOCK);
        self.start = 0;
        self.buf.extend_from_slice(&held);
        self.realign();
    }

    /// Moves the data so that it starts on a block boundary again, if the vector was
    /// reallocated (a line longer than the slack).
    fn realign(&mut self) {
        let misalignment = |buf: &Vec<u8>, start: usize| (buf.as_ptr() as usize + start) % BLOCK;
        if misalignment(&self.buf, self.start) == 0 {
            return;
        }
        self.buf.reserve(BLOCK);
        let pad = (BLOCK - (self.buf.as_ptr() as usize) % BLOCK) % BLOCK;
        let len = self.buf.len() - self.start;
        if pad > self.start {
            self.buf.resize(pad + len, 0);
            self.buf.copy_within(self.start..self.start + len, pad);
        } else {
            self.buf.copy_within(self.start.., pad);
            self.buf.truncate(pad + len);
        }
        self.start = pad;
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
        self.buf.len() - self.start >= self.chunk
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() == self.start + self.carried
    }

    /// Whether whole blocks of this file bypass the page cache (see [`direct`]).
    pub fn is_direct(&self) -> bool {
        matches!(&self.dest, Dest::File(f) if f.is_direct())
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
        if self.is_empty() {
            return true;
        }
        if matches!(self.dest, Dest::File(_)) {
            return self.flush_file();
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
        let data = &self.buf[self.start..];
        if result.is_ok() {
            let (n, r) = self.dest.write_counted(data);
            done = n;
            result = r.and_then(|()| self.dest.flush());
        }
        let ok = match result {
            Ok(()) => {
                self.totals.samples_written += self.pending_samples;
                self.totals.bytes_written += data.len() as u64;
                self.recovered();
                true
            }
            Err(e) => {
                let written = &data[..done];
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
        self.buf.truncate(self.start);
        self.pending_samples = 0;
        ok
    }

    /// [`Sink::flush`] for a regular file. The sink gives the file its offsets, so a failed
    /// write's half line is ended right away in the buffer rather than by the next write.
    fn flush_file(&mut self) -> bool {
        self.realign();
        let Dest::File(file) = &mut self.dest else {
            return false;
        };
        let data = &self.buf[self.start..];
        let w = file.write(data, self.carried);
        let fresh = &data[self.carried.min(w.done)..w.done];
        let fresh_len = fresh.len() as u64;
        let mut broken = false;
        let ok = match w.result {
            Ok(()) => {
                self.totals.samples_written += self.pending_samples;
                self.recovered();
                true
            }
            Err(e) => {
                let whole_lines = fresh.iter().filter(|&&b| b == b'\n').count() as u64;
                let lost = self.pending_samples.saturating_sub(whole_lines);
                broken = fresh.last().is_some_and(|&b| b != b'\n');
                self.totals.samples_written += self.pending_samples - lost;
                self.failed(&e, lost);
                false
            }
        };
        self.totals.bytes_written += fresh_len;
        // The written bytes of the last partial block move to the front; the rest is either
        // on disk or given up (counted above).
        let keep_from = self.start + w.done - w.carried;
        self.buf
            .copy_within(keep_from..self.start + w.done, self.start);
        self.buf.truncate(self.start + w.carried);
        self.carried = w.carried;
        if broken {
            self.buf.push(b'\n');
        }
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
            Dest::File(_) => Ok(()),
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
            sink.lines().extend_from_slice(b"a\nb\n");
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
        sink.lines().extend_from_slice(b"one\n");
        sink.sample_done();
        assert!(sink.flush());
        assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
        sink.lines().extend_from_slice(b"two\n");
        sink.sample_done();
        sink.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n");
        assert_eq!(sink.totals().samples_written, 2);
    }

    /// Lines of many lengths through small chunks: blocks go out directly (where the file
    /// system allows it), partial blocks through the page cache and again with the next block.
    /// After every flush the file is exactly the lines so far.
    #[test]
    fn a_regular_file_holds_exactly_the_lines_after_every_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let mut sink = Sink::open("json", &Target::from_name(path.to_str().unwrap()))
            .unwrap()
            .with_chunk(10_000);
        eprintln!("O_DIRECT in {}: {}", dir.path().display(), sink.is_direct());
        let mut expected = Vec::new();
        let mut lines = 0u64;
        for i in 0..3_000u64 {
            let len = (i * 7919) % 700;
            let line: Vec<u8> = (0..len)
                .map(|j| b'a' + ((i + j) % 26) as u8)
                .chain([b'\n'])
                .collect();
            sink.lines().extend_from_slice(&line);
            sink.sample_done();
            expected.extend_from_slice(&line);
            lines += 1;
            if sink.over_chunk() || i % 97 == 0 {
                assert!(sink.flush());
                assert_eq!(std::fs::read(&path).unwrap(), expected, "after line {i}");
            }
        }
        // A line longer than the buffer's slack reallocates it: the data is moved back onto
        // a block boundary and still goes out whole.
        let long = vec![b'z'; 200_000];
        sink.lines().extend_from_slice(&long);
        sink.lines().push(b'\n');
        sink.sample_done();
        expected.extend_from_slice(&long);
        expected.push(b'\n');
        lines += 1;
        sink.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(sink.totals().samples_written, lines);
        assert_eq!(sink.totals().bytes_written, expected.len() as u64);
    }

    #[test]
    fn a_device_is_written_in_order() {
        let mut sink = Sink::open("csv", &Target::from_name("/dev/null")).unwrap();
        assert!(!sink.is_direct());
        sink.lines().extend_from_slice(b"one\n");
        sink.sample_done();
        assert!(sink.flush());
        assert!(sink.is_empty());
        sink.finish().unwrap();
        assert_eq!(sink.totals().bytes_written, 4);
    }
}
