//! One running child: its pipes, the thread reading its frames, the thread forwarding its
//! stderr, and the watchdog that kills it when a call outlives its deadline.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use abi_stable::std_types::{ROption, RString};

use super::protocol::{self, kind, ReadError};
use crate::abi::{HostBox, LogLevel};

/// Lines of stderr kept to explain a failure.
const STDERR_TAIL: usize = 5;
/// How often the watchdog looks at the deadlines.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// What the child answered a call with.
#[derive(Debug)]
pub enum Reply {
    Ok(Vec<u8>),
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    Error(String),
}

enum Event {
    Handshake(Result<String, ReadError>),
    Reply(u8, Vec<u8>),
    Broken(String),
    Closed,
}

/// What the reader, stderr and watchdog threads share with the caller.
struct Shared {
    host: Mutex<Option<HostBox>>,
    /// stderr lines that came before there was a host to log them to, and the last few.
    pending: Mutex<Vec<String>>,
    tail: Mutex<VecDeque<String>>,
    /// When the call under way must have been answered, what it is, and its timeout.
    call_deadline: Mutex<Option<(Instant, String, Duration)>>,
    /// Why the watchdog or the reader killed the child.
    killed: Mutex<Option<String>>,
    process: Mutex<std::process::Child>,
    done: Mutex<bool>,
    /// Set when the child's stderr reached its end: its last words are all in `tail`.
    stderr_closed: Mutex<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked holding one of these left plain data behind: still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn kill(&self, why: String) {
        let mut killed = lock(&self.killed);
        if killed.is_none() {
            *killed = Some(why);
        }
        drop(killed);
        let _ = lock(&self.process).kill();
    }

    fn log(&self, level: LogLevel, message: String) {
        if let Some(host) = lock(&self.host).as_ref() {
            host.log(level, RString::from(message));
        }
    }
}

/// A child that has sent its handshake.
pub struct Child {
    path: PathBuf,
    stdin: Option<BufWriter<ChildStdin>>,
    events: Receiver<Event>,
    shared: Arc<Shared>,
    /// Set once the child cannot be talked to any more: every later call fails with it.
    dead: Option<String>,
}

impl Child {
    /// Starts `path` and reads its handshake within `timeout`; returns the child and the API
    /// version it speaks.
    pub fn spawn(path: &Path, timeout: Duration) -> Result<(Self, String), String> {
        let mut process = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start it: {e}"))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            let _ = process.kill();
            let _ = process.wait();
            return Err("cannot start it: its pipes were not created".into());
        };
        widen_pipe(&stdin);
        let shared = Arc::new(Shared {
            host: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
            tail: Mutex::new(VecDeque::new()),
            call_deadline: Mutex::new(Some((
                Instant::now() + timeout,
                "its handshake".into(),
                timeout,
            ))),
            killed: Mutex::new(None),
            process: Mutex::new(process),
            done: Mutex::new(false),
            stderr_closed: Mutex::new(false),
        });
        let (tx, events) = mpsc::channel();
        let threads = [
            spawn_thread("reader", {
                let shared = shared.clone();
                move || read_stdout(stdout, tx, &shared)
            }),
            spawn_thread("stderr", {
                let shared = shared.clone();
                move || read_stderr(stderr, &shared)
            }),
            spawn_thread("watchdog", {
                let shared = shared.clone();
                move || watch(&shared)
            }),
        ];
        let mut child = Child {
            path: path.to_path_buf(),
            stdin: Some(BufWriter::with_capacity(1 << 16, stdin)),
            events,
            shared,
            dead: None,
        };
        if let Some(Err(e)) = threads.into_iter().find(Result::is_err) {
            child.fail(format!("cannot start its threads: {e}"));
            return Err(child.dead.take().unwrap_or_default());
        }
        let version = match child.next_event() {
            Ok(Event::Handshake(Ok(v))) => v,
            Ok(Event::Handshake(Err(ReadError::Garbage(e)))) => {
                child.fail(e);
                return Err(child.dead.take().unwrap_or_default());
            }
            Ok(_) => {
                let why = child.ended("before its handshake");
                return Err(why);
            }
            Err(why) => return Err(why),
        };
        *lock(&child.shared.call_deadline) = None;
        Ok((child, version))
    }

    /// Logs through `host` from now on: its stderr, and its `LOG`/`COUNTER`/`ABORT` frames.
    pub fn set_host(&self, host: HostBox) {
        let pending = std::mem::take(&mut *lock(&self.shared.pending));
        for line in pending {
            host.log(LogLevel::Info, RString::from(line));
        }
        *lock(&self.shared.host) = Some(host);
    }

    /// Sends one call and waits for its reply, killing the child past `timeout` (or the host's
    /// stop deadline). `Err` means the child is gone: crashed, hung, or spoke garbage.
    pub fn call(
        &mut self,
        what: &str,
        frames: &[(u8, &[u8])],
        samples: Option<&[crate::abi::Sample]>,
        timeout: Duration,
    ) -> Result<Reply, String> {
        if let Some(dead) = &self.dead {
            return Err(dead.clone());
        }
        // Anything already waiting came between calls: a reply to no call (to `DEFS`, or a
        // second one) would be taken for the answer to this one.
        if let Ok(event) = self.events.try_recv() {
            let why = match event {
                Event::Reply(k, _) => format!(
                    "garbage on stdout before {what}: a reply (0x{k:02x}) to no call; exactly one reply per call"
                ),
                Event::Broken(e) => format!("garbage on stdout before {what}: {e}"),
                Event::Closed | Event::Handshake(_) => {
                    return Err(self.ended(&format!("before {what}")))
                }
            };
            self.fail(why);
            return Err(self.dead.clone().unwrap_or_default());
        }
        *lock(&self.shared.call_deadline) =
            Some((Instant::now() + timeout, what.to_string(), timeout));
        let sent = (|| {
            let stdin = self
                .stdin
                .as_mut()
                .ok_or_else(|| std::io::Error::other("stdin closed"))?;
            for (k, payload) in frames {
                protocol::write_frame(stdin, *k, payload)?;
            }
            if let Some(samples) = samples {
                protocol::write_samples(stdin, samples)?;
            }
            stdin.flush()
        })();
        let reply = match sent {
            // A child that died or stopped reading: what it did is told by how it ended.
            Err(_) => Err(self.ended(&format!("during {what}"))),
            Ok(()) => loop {
                match self.next_event() {
                    Ok(Event::Reply(k, payload)) => break Ok(parse_reply(k, &payload)),
                    Ok(Event::Broken(e)) => {
                        self.fail(format!(
                            "garbage on stdout during {what}: {e} (only protocol frames may go to stdout; log to stderr)"
                        ));
                        break Err(self.dead.clone().unwrap_or_default());
                    }
                    Ok(Event::Handshake(_)) => continue,
                    Ok(Event::Closed) => break Err(self.ended(&format!("during {what}"))),
                    Err(why) => break Err(why),
                }
            },
        };
        *lock(&self.shared.call_deadline) = None;
        match reply {
            Ok(Reply::Error(reason)) if reason.is_empty() => {
                Ok(Reply::Error(format!("{what} failed without a reason")))
            }
            other => other,
        }
    }

    fn next_event(&mut self) -> Result<Event, String> {
        match self.events.recv() {
            Ok(e) => Ok(e),
            Err(_) => Err(self.ended("")),
        }
    }

    /// Kills the child for `why` and marks it dead.
    fn fail(&mut self, why: String) {
        self.shared.kill(why.clone());
        self.dead = Some(self.describe(&why));
    }

    /// Why the child stopped answering: the watchdog's reason, or how it exited, with the
    /// last line it wrote to stderr. Marks it dead.
    fn ended(&mut self, when: &str) -> String {
        let killed = lock(&self.shared.killed).clone();
        let why = match killed {
            Some(why) => why,
            None => {
                let status = self.wait_exit(Duration::from_secs(1));
                let how = match status {
                    Some(s) => describe_exit(s),
                    None => "closed its stdout".to_string(),
                };
                if when.is_empty() {
                    how
                } else {
                    format!("{how} {when}")
                }
            }
        };
        self.shared.kill(why.clone());
        let message = self.describe(&why);
        self.dead = Some(message.clone());
        message
    }

    fn describe(&self, why: &str) -> String {
        // A child that died wrote its last words before its stderr closed: wait for them, a
        // little (a process it started may hold the pipe open).
        let until = Instant::now() + Duration::from_millis(500);
        while !*lock(&self.shared.stderr_closed) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        let tail = lock(&self.shared.tail);
        match tail.back() {
            Some(last) => format!(
                "{}: {why} (stderr: {})",
                self.path.display(),
                protocol::shorten(last)
            ),
            None => format!("{}: {why}", self.path.display()),
        }
    }

    fn wait_exit(&self, patience: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + patience;
        loop {
            if let Ok(Some(status)) = lock(&self.shared.process).try_wait() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Closes stdin (the contract's "no more calls") and gives the child until `until` to
    /// exit before killing it.
    pub fn close(&mut self, until: Instant) {
        self.stdin = None;
        let patience = until.saturating_duration_since(Instant::now());
        if self.wait_exit(patience).is_none() {
            self.shared
                .kill("killed: it did not exit when its stdin was closed".into());
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stdin = None;
        if self.wait_exit(Duration::from_millis(200)).is_none() {
            let _ = lock(&self.shared.process).kill();
        }
        let _ = lock(&self.shared.process).wait();
        *lock(&self.shared.done) = true;
    }
}

/// Lets one batch of a few thousand samples (about 100 KB) into the pipe in one write instead
/// of several rounds of 64 KB, the Linux default. Best effort: the size is a hint.
fn widen_pipe(stdin: &ChildStdin) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a file descriptor this process owns, with an integer argument.
        unsafe {
            libc::fcntl(stdin.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stdin;
}

fn spawn_thread(
    what: &str,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("process-{what}"))
        .spawn(body)
}

fn read_stdout(stdout: std::process::ChildStdout, tx: Sender<Event>, shared: &Shared) {
    let mut r = BufReader::with_capacity(1 << 16, stdout);
    let handshake = protocol::read_handshake(&mut r);
    let ok = handshake.is_ok();
    if tx.send(Event::Handshake(handshake)).is_err() || !ok {
        return;
    }
    loop {
        match protocol::read_frame(&mut r) {
            Ok((kind::LOG, payload)) => {
                let doc = json(&payload);
                let level = match doc.get("level").and_then(|l| l.as_str()) {
                    Some("error") => LogLevel::Error,
                    Some("warn") | Some("warning") => LogLevel::Warn,
                    Some("debug") => LogLevel::Debug,
                    Some("trace") => LogLevel::Trace,
                    _ => LogLevel::Info,
                };
                shared.log(level, text(&doc, "message"));
            }
            Ok((kind::COUNTER, payload)) => {
                let doc = json(&payload);
                let delta = doc.get("delta").and_then(|d| d.as_u64()).unwrap_or(0);
                if let Some(host) = lock(&shared.host).as_ref() {
                    host.add_counter(RString::from(text(&doc, "name")), delta);
                }
            }
            Ok((kind::ABORT, payload)) => {
                let reason = text(&json(&payload), "reason");
                if let Some(host) = lock(&shared.host).as_ref() {
                    host.request_abort(RString::from(reason));
                }
            }
            Ok((k, payload)) => {
                if tx.send(Event::Reply(k, payload)).is_err() {
                    return;
                }
            }
            Err(ReadError::Closed) => {
                let _ = tx.send(Event::Closed);
                return;
            }
            Err(ReadError::Garbage(e)) => {
                let _ = tx.send(Event::Broken(e));
                return;
            }
        }
    }
}

fn read_stderr(stderr: std::process::ChildStderr, shared: &Shared) {
    let mut r = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => {
                *lock(&shared.stderr_closed) = true;
                return;
            }
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if text.is_empty() {
            continue;
        }
        {
            let mut tail = lock(&shared.tail);
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(text.clone());
        }
        let host = lock(&shared.host);
        match host.as_ref() {
            Some(h) => h.log(LogLevel::Info, RString::from(text)),
            None => {
                drop(host);
                lock(&shared.pending).push(text);
            }
        }
    }
}

fn watch(shared: &Shared) {
    loop {
        std::thread::sleep(WATCH_EVERY);
        if *lock(&shared.done) || lock(&shared.killed).is_some() {
            return;
        }
        let Some((deadline, what, timeout)) = lock(&shared.call_deadline).clone() else {
            continue;
        };
        if Instant::now() >= deadline {
            shared.kill(format!(
                "killed: no answer to {what} within {:.1}s (hung?)",
                timeout.as_secs_f64()
            ));
            return;
        }
        let past_stop = lock(&shared.host)
            .as_ref()
            .is_some_and(|h| matches!(h.stop_time_left_ms(), ROption::RSome(0)));
        if past_stop {
            shared.kill(format!("killed at the stop deadline, in {what}"));
            return;
        }
    }
}

fn parse_reply(k: u8, payload: &[u8]) -> Reply {
    match k {
        kind::OK => Reply::Ok(payload.to_vec()),
        kind::RETRY => {
            let doc = json(payload);
            Reply::Retry {
                after_ms: doc.get("afterMs").and_then(|v| v.as_u64()),
                reason: text(&doc, "reason"),
            }
        }
        _ => Reply::Error(text(&json(payload), "reason")),
    }
}

fn json(payload: &[u8]) -> serde_json::Value {
    serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null)
}

fn text(doc: &serde_json::Value, key: &str) -> String {
    doc.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => format!("ended ({status})"),
    }
}
