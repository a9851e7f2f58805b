//! The built-in test target: a small httpbin-like HTTP/1.1 server (keep-alive), so the quick
//! start, the example plans and the tests need no other server.
//!
//! Endpoints (any method unless noted):
//! - `/` — a short text body.
//! - `/get`, `/post`, `/put`, `/patch`, `/delete`, `/anything[/...]` — JSON echo of the request:
//!   `method`, `url`, `args`, `headers`, `data`, `json` (when the body is JSON), `form`.
//! - `/headers` — `{"headers": {...}}`.
//! - `/status/CODE` — that status, empty body.
//! - `/delay/SECONDS` — the echo after a delay (fractions allowed, at most 60 s).
//! - `/bytes/N` — N bytes (at most 100 MB).
//! - `/json` — a fixed JSON document.
//! - `/redirect/N` — a chain of N 302 redirects ending at `/get`; `/redirect-to?url=U&status_code=C`.
//! - `/cookies` — the request's cookies as JSON; `/cookies/set?k=v` sets them and redirects to
//!   `/cookies`; `/cookies/delete?k` expires them and redirects to `/cookies`.
//! - `/basic-auth/USER/PASSWD`, `/digest-auth/QOP/USER/PASSWD` — 200 for those credentials,
//!   else 401 with the challenge (as httpbin).
//!
//! Limits, so that one client cannot make the server misbehave for others ([`Limits`]):
//! - Headers written from request data (`Location`, `Set-Cookie`) are checked: a value with CR,
//!   LF, NUL or another control byte, or a cookie that is not a token/cookie-octets, gets 400.
//! - Request bodies over 16 MiB (`loadrun serve --max-body`) get 413 without being read.
//! - A request head must arrive within 10 s of the connection opening (of its first byte, for a
//!   later keep-alive request), however slowly it trickles (408, then close); a keep-alive
//!   connection idle for 60 s is closed; a body must arrive within 60 s.
//! - The echo is at most about three times the request body plus a few times its head: binary
//!   bodies are echoed as base64 `data:` URLs, and a JSON body whose indented form would pass
//!   that bound as its own text.
//! - At most 4096 connections (`--max-connections`) are served at once; further ones wait in
//!   the listen backlog until one closes.
//! - `/bytes/N` is generated while it is written; a connection's output buffer drops back to
//!   64 KiB after a large response.

mod auth;
mod conn;
mod echo;
mod pages;
mod routes;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

pub use routes::MAX_BYTES;

/// What one client can make the server hold or wait for. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Larger request bodies get 413 and are not read.
    pub max_body: usize,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// For the whole request head: from the connection opening, or for a later keep-alive
    /// request from its first byte.
    pub head_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// From the end of the head to the end of the body.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 16 * 1024 * 1024,
            max_connections: 4096,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// Serves connections accepted from `listener` until `shutdown` becomes true.
pub async fn serve(listener: TcpListener, limits: Limits, mut shutdown: watch::Receiver<bool>) {
    // A permit is taken before accepting, so connections past the cap stay in the kernel's
    // backlog (their clients wait) instead of each costing a task and buffers here.
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        connection(stream, limits).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::debug!("test server accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

/// An in-process server on its own threads; stopped on drop.
pub struct TestServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Binds `addr` (port 0 for any free port) and serves on `threads` worker threads, with the
    /// default limits.
    pub fn start(addr: SocketAddr, threads: usize) -> io::Result<Self> {
        Self::start_with(addr, threads, Limits::default())
    }

    pub fn start_with(addr: SocketAddr, threads: usize, limits: Limits) -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("test-server")
            .enable_all()
            .build()?;
        let listener = rt.block_on(TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let (stop, rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                rt.block_on(serve(listener, limits, rx));
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn connection(stream: TcpStream, limits: Limits) {
    let (mut rd, mut wr) = stream.into_split();
    conn::Conn::new(limits).run(&mut rd, &mut wr).await;
}

/// Keeps the listener's type out of callers that only need the URL of a shared server.
pub type SharedServer = Arc<TestServer>;

#[cfg(test)]
mod limits_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn raw(addr: SocketAddr, req: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn endpoints() {
        let srv = TestServer::start("127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = raw(srv.addr(), "GET /status/418 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            assert!(r.starts_with("HTTP/1.1 418 "), "{r}");
            let r = raw(srv.addr(), "POST /post?a=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"k\":2}").await;
            let body = &r[r.find("\r\n\r\n").unwrap() + 4..];
            let v: Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["json"]["k"], 2);
            assert_eq!(v["args"]["a"], "1");
            let r = raw(srv.addr(), "GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\nGET /redirect/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            assert!(r.contains("Content-Length: 10\r\n\r\nabcdefghij"), "{r}");
            assert!(r.contains("Location: /redirect/1"), "{r}");
            let r = raw(srv.addr(), "GET /cookies/set?a=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            assert!(r.contains("Set-Cookie: a=b; Path=/"), "{r}");
        });
    }
}
