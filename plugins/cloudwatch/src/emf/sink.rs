//! Where EMF documents go: a file (created, or truncated, when the output is built) or stdout.
//!
//! Documents are appended to an in-memory buffer as whole lines and handed to the destination in
//! one piece per flush (the output flushes once per closed period and at `flush`/`stop`), so the
//! buffer is the write buffer. A write that fails part-way keeps what was not written: the next
//! flush continues at the byte where the failed one stopped, so a line is neither torn nor
//! written twice. Each pending line knows how many samples it carries, so whatever is finally
//! given up is reported in samples (`samples_lost`), never dropped silently.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use file_sink::{io_cause, write_counted};

/// Where the documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
}

impl Target {
    /// The `emfPath` option: absent, empty or `-` is stdout (where Lambda and container log
    /// drivers pick lines up); anything else is a file path.
    pub fn from_option(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") | Some("-") => Target::Stdout,
            Some(path) => Target::File(PathBuf::from(path)),
        }
    }

    /// `stdout` or the path, for messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Stdout => "stdout".to_string(),
            Target::File(p) => format!("{:?}", p.display().to_string()),
        }
    }
}

/// Why the sink could not do its job. Messages are one line and name the destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    #[error("cannot create {path:?}: {cause}")]
    Create { path: String, cause: String },
    #[error("writing to {target} failed: {cause}")]
    Write {
        target: String,
        cause: String,
        /// Retrying cannot help (the reader of a pipe is gone).
        fatal: bool,
    },
    #[error("{target} is already closed")]
    Closed { target: String },
}

impl SinkError {
    /// Whether retrying is pointless.
    pub fn is_fatal(&self) -> bool {
        match self {
            SinkError::Write { fatal, .. } => *fatal,
            SinkError::Create { .. } | SinkError::Closed { .. } => true,
        }
    }
}

/// What reached the destination so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub documents: u64,
    pub samples: u64,
    pub bytes: u64,
}

enum Dest {
    Stdout,
    File(File),
    /// Any writer (tests: one that fails on cue).
    #[cfg(test)]
    Writer(Box<dyn Write + Send>),
    Closed,
}

/// A line-complete buffered writer that resumes failed writes. See the module docs.
pub struct Sink {
    target: Target,
    dest: Dest,
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already written (by a write that then failed).
    done: usize,
    /// End offset in `buf` and sample count of every line not yet completely written.
    lines: VecDeque<(usize, u64)>,
    /// A loss cut a line in the middle: the next write starts with a newline.
    torn: bool,
    totals: Totals,
}

impl Sink {
    /// Opens the destination now, so a bad path fails before the run starts.
    pub fn open(target: Target) -> Result<Self, SinkError> {
        let dest = match &target {
            Target::Stdout => Dest::Stdout,
            Target::File(path) => {
                Dest::File(File::create(path).map_err(|e| SinkError::Create {
                    path: path.display().to_string(),
                    cause: io_cause(&e),
                })?)
            }
        };
        Ok(Self {
            target,
            dest,
            buf: Vec::with_capacity(64 << 10),
            done: 0,
            lines: VecDeque::new(),
            torn: false,
            totals: Totals::default(),
        })
    }

    #[cfg(test)]
    fn with_writer(w: impl Write + Send + 'static) -> Self {
        let mut sink = Self::open(Target::Stdout).unwrap_or_else(|_| unreachable!());
        sink.dest = Dest::Writer(Box::new(w));
        sink
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Appends one document (a line without its newline) carrying `samples` samples.
    pub fn push(&mut self, line: &str, samples: u64) {
        debug_assert!(!line.contains('\n'), "an EMF document is one line");
        self.buf.extend_from_slice(line.as_bytes());
        self.buf.push(b'\n');
        self.lines.push_back((self.buf.len(), samples));
    }

    /// Nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes waiting to be written.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() - self.done
    }

    /// Documents and samples waiting to be written.
    pub fn pending(&self) -> (usize, u64) {
        (self.lines.len(), self.lines.iter().map(|l| l.1).sum())
    }

    /// Writes everything pending. On error what was not written stays pending, and the next
    /// call resumes exactly there.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        if matches!(self.dest, Dest::Closed) {
            return if self.lines.is_empty() {
                Ok(())
            } else {
                Err(SinkError::Closed {
                    target: self.target.describe(),
                })
            };
        }
        if self.lines.is_empty() {
            return Ok(());
        }
        if self.torn {
            let (n, r) = self.write_dest(b"\n");
            if n == 1 {
                self.torn = false;
            }
            r.map_err(|e| self.write_error(&e))?;
        }
        let (n, result) = {
            let start = self.done;
            let rest = std::mem::take(&mut self.buf);
            let out = self.write_dest(&rest[start..]);
            self.buf = rest;
            out
        };
        self.done += n;
        self.totals.bytes += n as u64;
        while let Some(&(end, samples)) = self.lines.front() {
            if end > self.done {
                break;
            }
            self.lines.pop_front();
            self.totals.documents += 1;
            self.totals.samples += samples;
        }
        let result = result.and_then(|()| match &mut self.dest {
            Dest::Stdout => io::stdout().lock().flush(),
            _ => Ok(()),
        });
        match result {
            Ok(()) => {
                self.buf.clear();
                self.done = 0;
                Ok(())
            }
            Err(e) => Err(self.write_error(&e)),
        }
    }

    /// Gives up on everything pending; returns the documents and samples given up. A line cut
    /// in the middle is ended before anything else is written.
    pub fn discard(&mut self) -> (usize, u64) {
        let lost = self.pending();
        if self.done > 0 && self.buf.get(self.done - 1) != Some(&b'\n') {
            self.torn = true;
        }
        self.buf.clear();
        self.done = 0;
        self.lines.clear();
        lost
    }

    /// Makes what was written durable (files) and closes the destination. Call after a
    /// successful [`Sink::flush`]; idempotent. Pipes and character devices, which cannot be
    /// synced, are closed as they are.
    pub fn close(&mut self) -> Result<(), SinkError> {
        let result = match std::mem::replace(&mut self.dest, Dest::Closed) {
            Dest::File(f) => match f.sync_data() {
                Err(e)
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                    ) =>
                {
                    Err(e)
                }
                _ => Ok(()),
            },
            Dest::Stdout => io::stdout().lock().flush(),
            #[cfg(test)]
            Dest::Writer(mut w) => w.flush(),
            Dest::Closed => Ok(()),
        };
        result.map_err(|e| self.write_error(&e))
    }

    fn write_dest(&mut self, data: &[u8]) -> (usize, io::Result<()>) {
        match &mut self.dest {
            Dest::Stdout => write_counted(&mut io::stdout().lock(), data),
            Dest::File(f) => write_counted(f, data),
            #[cfg(test)]
            Dest::Writer(w) => write_counted(w.as_mut(), data),
            Dest::Closed => (0, Err(io::Error::other("already closed"))),
        }
    }

    fn write_error(&self, e: &io::Error) -> SinkError {
        SinkError::Write {
            target: self.target.describe(),
            cause: io_cause(e),
            fatal: e.kind() == io::ErrorKind::BrokenPipe,
        }
    }
}

impl Drop for Sink {
    /// An output dropped without `stop` (a panic, another output's constructor failing) still
    /// writes what it holds. Errors have nowhere to go here.
    fn drop(&mut self) {
        if !matches!(self.dest, Dest::Closed) {
            let _ = self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    use std::sync::{Arc, Mutex};

    /// Accepts `room` bytes, then fails (ENOSPC) until given more room.
    #[derive(Clone, Default)]
    struct Tight(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Tight {
        fn room(&self, n: usize) {
            self.0.lock().unwrap().1 = n;
        }
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().0.clone()).unwrap()
        }
    }

    impl Write for Tight {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut g = self.0.lock().unwrap();
            if g.1 == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = data.len().min(g.1);
            g.1 -= n;
            g.0.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn targets() {
        assert_eq!(Target::from_option(None), Target::Stdout);
        assert_eq!(Target::from_option(Some(" - ")), Target::Stdout);
        assert_eq!(Target::from_option(Some("")), Target::Stdout);
        assert_eq!(
            Target::from_option(Some("/var/log/emf.log")),
            Target::File("/var/log/emf.log".into())
        );
        assert_eq!(
            Target::File("/a b".into()).describe(),
            "\"/a b\"",
            "paths are quoted in messages"
        );
    }

    #[test]
    fn bad_path_names_the_path_in_one_line() {
        let err = Sink::open(Target::File("/no/such/dir/emf.log".into()))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "cannot create \"/no/such/dir/emf.log\": No such file or directory"
        );
        assert!(err.is_fatal());
    }

    #[test]
    fn lines_reach_the_file_at_flush_and_the_file_is_truncated_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emf.log");
        std::fs::write(&path, "old content\n").unwrap();
        let mut sink = Sink::open(Target::File(path.clone())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        sink.push("{\"a\":1}", 3);
        sink.push("{\"b\":2}", 4);
        assert_eq!(sink.pending(), (2, 7));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "buffered");
        sink.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        assert!(sink.is_empty());
        assert_eq!(
            sink.totals(),
            Totals {
                documents: 2,
                samples: 7,
                bytes: 16
            }
        );
        sink.close().unwrap();
        sink.close().unwrap();
        sink.push("{}", 1);
        assert!(matches!(sink.flush(), Err(SinkError::Closed { .. })));
        assert_eq!(sink.discard(), (1, 1));
    }

    #[test]
    fn a_failed_write_resumes_at_the_exact_byte() {
        let w = Tight::default();
        let mut sink = Sink::with_writer(w.clone());
        sink.push("{\"n\":1}", 1);
        sink.push("{\"n\":22}", 2);
        sink.push("{\"n\":333}", 3);
        w.room(12); // the first line (8 bytes) and half of the second
        let err = sink.flush().unwrap_err();
        assert!(err.to_string().contains("No space left on device"), "{err}");
        assert_eq!(sink.totals().documents, 1);
        assert_eq!(sink.totals().samples, 1);
        assert_eq!(sink.pending(), (2, 5));
        assert_eq!(sink.pending_bytes(), 27 - 12);
        w.room(1000);
        sink.push("{\"n\":4}", 4);
        sink.flush().unwrap();
        assert_eq!(w.text(), "{\"n\":1}\n{\"n\":22}\n{\"n\":333}\n{\"n\":4}\n");
        assert_eq!(sink.totals().documents, 4);
        assert_eq!(sink.totals().samples, 10);
    }

    #[test]
    fn a_line_cut_by_a_loss_is_ended_before_the_next() {
        let w = Tight::default();
        let mut sink = Sink::with_writer(w.clone());
        sink.push("{\"n\":1}", 1);
        sink.push("{\"n\":22}", 2);
        w.room(12);
        assert!(sink.flush().is_err());
        assert_eq!(sink.discard(), (1, 2));
        w.room(1000);
        sink.push("{\"n\":3}", 3);
        sink.flush().unwrap();
        let text = w.text();
        assert_eq!(text, "{\"n\":1}\n{\"n\"\n{\"n\":3}\n");
        assert!(text.lines().last().unwrap().starts_with('{'));
    }

    #[test]
    fn a_closed_pipe_is_fatal() {
        struct Gone;
        impl Write for Gone {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut sink = Sink::with_writer(Gone);
        sink.push("{}", 1);
        let err = sink.flush().unwrap_err();
        assert!(err.is_fatal(), "{err}");
        assert_eq!(sink.pending(), (1, 1));
    }

    #[test]
    fn dev_full_keeps_the_lines_pending_then_reports_them_lost() {
        let mut sink = Sink::open(Target::File("/dev/full".into())).unwrap();
        sink.push("{\"x\":1}", 10);
        let err = sink.flush().unwrap_err();
        assert_eq!(
            err.to_string(),
            "writing to \"/dev/full\" failed: No space left on device"
        );
        assert!(!err.is_fatal(), "a full disk may clear: retry");
        assert_eq!(sink.pending(), (1, 10), "nothing is dropped on failure");
        assert!(sink.flush().is_err());
        assert_eq!(sink.discard(), (1, 10));
        assert!(sink.is_empty());
        assert!(sink.flush().is_ok(), "nothing left to write");
    }
}
