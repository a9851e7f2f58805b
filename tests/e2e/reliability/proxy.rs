//! A TCP proxy between `loadrun` and a backend, with faults switched by the test while the run
//! goes on: refuse, accept and never answer, slow down, reset mid-request, or answer HTTP
//! requests itself with a canned error.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A canned HTTP answer (always with `Connection: close`).
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Canned {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

#[derive(Clone, Debug)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Nothing listens: connections are refused.
    Down,
    /// Accept, read everything, never answer.
    Blackhole,
    /// Forward with this much latency on each message in either direction: the first chunk
    /// after a pause waits, the rest of a message follows at once. (A delay per 16 KiB chunk
    /// made a large body slower than the outputs' request timeout, and a request the server
    /// had received timed out and was sent again: a fault of its own, not slowness.)
    Slow(Duration),
    /// Read the start of the request, then reset (SO_LINGER 0 + close).
    Reset,
    /// Read one HTTP request and answer it without asking the backend.
    Http(Canned),
    /// Read the start of the request, answer these bytes (not a valid response), close.
    Raw(Arc<Vec<u8>>),
}

struct State {
    mode: Mode,
    /// Connections still to get `mode` before the proxy goes back to `Pass` (None: for good).
    left: Option<u32>,
    listener: Option<TcpListener>,
}

struct Inner {
    upstream: String,
    port: u16,
    state: Mutex<State>,
    /// Live client and upstream sockets, so `Down` can cut them.
    conns: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
    faulted: AtomicU64,
}

/// The proxy; stopped (every connection cut) on drop.
pub struct Proxy {
    inner: Arc<Inner>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Inner {
            upstream: upstream.to_string(),
            port,
            state: Mutex::new(State {
                mode: Mode::Pass,
                left: None,
                listener: Some(listener),
            }),
            conns: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            faulted: AtomicU64::new(0),
        });
        let i = inner.clone();
        std::thread::spawn(move || accept_loop(&i));
        Proxy { inner }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.inner.port)
    }

    /// Switches to `mode` for good. `Down` closes the listener and cuts live connections;
    /// leaving `Down` listens again on the same port.
    pub fn set(&self, mode: Mode) {
        self.switch(mode, None);
    }

    /// The next `n` connections get `mode`, then the proxy passes again.
    pub fn fault_next(&self, mode: Mode, n: u32) {
        self.switch(mode, Some(n));
    }

    /// Connections that got a fault (not `Pass`).
    pub fn faulted(&self) -> u64 {
        self.inner.faulted.load(SeqCst)
    }

    fn switch(&self, mode: Mode, left: Option<u32>) {
        let mut st = self.inner.state.lock().unwrap();
        if matches!(mode, Mode::Down) {
            st.listener = None;
            cut_all(&self.inner);
        } else if st.listener.is_none() {
            st.listener = Some(rebind(self.inner.port));
        }
        st.mode = mode;
        st.left = left;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.inner.stop.store(true, SeqCst);
        self.inner.state.lock().unwrap().listener = None;
        cut_all(&self.inner);
    }
}

fn cut_all(inner: &Inner) {
    for c in inner.conns.lock().unwrap().drain(..) {
        let _ = c.shutdown(Shutdown::Both);
    }
}

/// The port was ours a moment ago; a client in TIME_WAIT does not block it (SO_REUSEADDR).
fn rebind(port: u16) -> TcpListener {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => {
                l.set_nonblocking(true).unwrap();
                return l;
            }
            Err(e) if Instant::now() < until => {
                eprintln!("proxy: rebinding {port}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("proxy: cannot listen on {port} again: {e}"),
        }
    }
}

fn accept_loop(inner: &Arc<Inner>) {
    while !inner.stop.load(SeqCst) {
        let next = {
            let mut st = inner.state.lock().unwrap();
            let Some(l) = st.listener.as_ref() else {
                drop(st);
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            match l.accept() {
                Ok((s, _)) => {
                    let mode = st.mode.clone();
                    if let Some(n) = st.left.as_mut() {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            st.mode = Mode::Pass;
                            st.left = None;
                        }
                    }
                    Some((s, mode))
                }
                Err(_) => None,
            }
        };
        let Some((client, mode)) = next else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        if !matches!(mode, Mode::Pass | Mode::Slow(_)) {
            inner.faulted.fetch_add(1, SeqCst);
        }
        let _ = client.set_nonblocking(false);
        let i = inner.clone();
        std::thread::spawn(move || handle(&i, client, mode));
    }
}

fn track(inner: &Inner, s: &TcpStream) {
    if let Ok(c) = s.try_clone() {
        inner.conns.lock().unwrap().push(c);
    }
}

fn handle(inner: &Arc<Inner>, client: TcpStream, mode: Mode) {
    // A tracked socket has a second fd: closing ours would then neither reset nor end it.
    if matches!(mode, Mode::Pass | Mode::Slow(_) | Mode::Blackhole) {
        track(inner, &client);
    }
    match mode {
        Mode::Pass => pipe_both(inner, client, None),
        Mode::Slow(d) => pipe_both(inner, client, Some(d)),
        Mode::Down => {}
        Mode::Blackhole => {
            let mut c = client;
            let mut buf = [0u8; 16 * 1024];
            while !inner.stop.load(SeqCst) {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        Mode::Reset => {
            let mut c = client;
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            reset(&c);
        }
        Mode::Raw(bytes) => {
            let mut c = client;
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(&bytes);
            let _ = c.shutdown(Shutdown::Write);
        }
        Mode::Http(canned) => {
            let mut c = client;
            read_http_request(&mut c);
            let mut head = format!("HTTP/1.1 {} Fault\r\n", canned.status);
            for (k, v) in &canned.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                canned.body.len()
            ));
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(canned.body.as_bytes());
            let _ = c.flush();
            let _ = c.shutdown(Shutdown::Write);
            // Let the client read the answer before the socket goes.
            let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
            let mut discard = [0u8; 4096];
            while matches!(c.read(&mut discard), Ok(n) if n > 0) {}
        }
    }
}

/// SO_LINGER {on, 0} then close: the kernel sends RST instead of FIN.
fn reset(s: &TcpStream) {
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd owned by `s` and a properly sized, live `struct linger`.
    let rc = unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
}

/// Reads one request: headers, then a Content-Length body or a chunked body.
fn read_http_request(c: &mut TcpStream) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(p) = find(&data, b"\r\n\r\n") {
            break p + 4;
        }
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &data[head_end..];
        let done = match len {
            Some(n) => body.len() >= n,
            None => !chunked || body.ends_with(b"0\r\n\r\n"),
        };
        if done {
            return;
        }
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pipe_both(inner: &Arc<Inner>, client: TcpStream, delay: Option<Duration>) {
    let addr: SocketAddr = match inner.upstream.parse() {
        Ok(a) => a,
        Err(_) => return,
    };
    let Ok(up) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    track(inner, &up);
    let (c2, u2) = (client.try_clone().unwrap(), up.try_clone().unwrap());
    let t = std::thread::spawn(move || pipe(client, up, delay));
    pipe(u2, c2, delay);
    let _ = t.join();
}

/// Reads closer together than this belong to one message.
const SAME_MESSAGE: Duration = Duration::from_millis(20);

fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Option<Duration>) {
    let mut buf = [0u8; 16 * 1024];
    let mut last_read: Option<std::time::Instant> = None;
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let new_message = last_read.is_none_or(|t| t.elapsed() > SAME_MESSAGE);
                if let (Some(d), true) = (delay, new_message) {
                    std::thread::sleep(d);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                last_read = Some(std::time::Instant::now());
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
