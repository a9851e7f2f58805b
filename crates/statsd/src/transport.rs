//! UDP or TCP to one `host:port`.
//!
//! UDP: a connected socket, so ICMP "port unreachable" comes back as `ECONNREFUSED` on a later
//! send and can be counted; nothing is retried (StatsD over UDP is fire and forget).
//! TCP: one stream, connected lazily; after a failure no attempt is made before the backoff
//! (100 ms doubling to 10 s) has passed, so a dead server costs one connect per backoff step, not
//! one per write.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use crate::config::Protocol;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The payload is lost (UDP): count it and go on.
    #[error("{0}")]
    Dropped(std::io::Error),
    /// Not connected (TCP): keep the payload and try again after `retry_in`.
    #[error("not connected: {reason}")]
    NotConnected { retry_in: Duration, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum AddrError {
    #[error("cannot resolve {addr:?}: {source}")]
    Resolve {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr:?} resolves to no address")]
    Empty { addr: String },
}

/// Resolves `host:port`, preferring IPv4: StatsD servers commonly bind `0.0.0.0` only, and
/// `localhost` may resolve to `::1` first.
pub fn resolve(addr: &str) -> Result<SocketAddr, AddrError> {
    let all: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| AddrError::Resolve {
            addr: addr.to_string(),
            source,
        })?
        .collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or_else(|| all.first())
        .copied()
        .ok_or_else(|| AddrError::Empty {
            addr: addr.to_string(),
        })
}

pub struct Transport {
    addr: String,
    protocol: Protocol,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
    next_attempt: Option<Instant>,
    backoff: Duration,
    last_error: String,
}

impl Transport {
    pub fn new(addr: &str, protocol: Protocol) -> Self {
        Self {
            addr: addr.to_string(),
            protocol,
            udp: None,
            tcp: None,
            next_attempt: None,
            backoff: BACKOFF_START,
            last_error: String::new(),
        }
    }

    /// Opens the UDP socket (TCP connects on first send). Fails only if the address does not
    /// resolve or no socket can be made.
    pub fn open(&mut self) -> Result<(), std::io::Error> {
        if self.protocol == Protocol::Udp {
            let target = resolve(&self.addr).map_err(std::io::Error::other)?;
            let local: SocketAddr = if target.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let socket = UdpSocket::bind(local)?;
            socket.connect(target)?;
            socket.set_write_timeout(Some(WRITE_TIMEOUT))?;
            self.udp = Some(socket);
        }
        Ok(())
    }

    pub fn send(&mut self, payload: &[u8]) -> Result<(), SendError> {
        match self.protocol {
            Protocol::Udp => self.send_udp(payload),
            Protocol::Tcp => self.send_tcp(payload),
        }
    }

    fn send_udp(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if self.udp.is_none() {
            self.open().map_err(SendError::Dropped)?;
        }
        let Some(socket) = &self.udp else {
            return Err(SendError::Dropped(std::io::Error::other("no socket")));
        };
        socket.send(payload).map(|_| ()).map_err(SendError::Dropped)
    }

    fn send_tcp(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if self.tcp.is_none() {
            if let Some(at) = self.next_attempt {
                let now = Instant::now();
                if now < at {
                    return Err(SendError::NotConnected {
                        retry_in: at - now,
                        reason: self.last_error.clone(),
                    });
                }
            }
            match self.connect_tcp() {
                Ok(stream) => self.tcp = Some(stream),
                Err(e) => return Err(self.failed(format!("connect to {}: {e}", self.addr))),
            }
        }
        let Some(stream) = self.tcp.as_mut() else {
            return Err(self.failed("no stream".into()));
        };
        match stream.write_all(payload).and_then(|_| stream.flush()) {
            Ok(()) => {
                self.backoff = BACKOFF_START;
                self.next_attempt = None;
                Ok(())
            }
            Err(e) => {
                self.tcp = None;
                Err(self.failed(format!("write to {}: {e}", self.addr)))
            }
        }
    }

    fn connect_tcp(&self) -> std::io::Result<TcpStream> {
        let target = resolve(&self.addr).map_err(std::io::Error::other)?;
        let stream = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn failed(&mut self, reason: String) -> SendError {
        let retry_in = self.backoff;
        self.next_attempt = Some(Instant::now() + retry_in);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        self.last_error = reason.clone();
        SendError::NotConnected { retry_in, reason }
    }

    /// Closes the connection (the next send reconnects).
    pub fn close(&mut self) {
        if let Some(mut s) = self.tcp.take() {
            let _ = s.flush();
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.udp = None;
    }
}
