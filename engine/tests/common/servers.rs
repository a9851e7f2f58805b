//! Loopback servers for the engine's protocol tests: HTTP/2 in cleartext (prior knowledge)
//! and HTTPS with a self-signed certificate, HTTP/1.1 or HTTP/2 by ALPN. Each runs on its
//! own thread and current-thread runtime, and stops accepting after 30 s so that a test that
//! fails cannot leave it behind.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How an HTTP/2 server answers one request (from its head): the response head and body.
pub type H2Answer = Arc<dyn Fn(&http::request::Parts) -> (http::Response<()>, Bytes) + Send + Sync>;

/// Accepts connections on a loopback port and hands each to `handle`; returns the port.
pub fn serve_loopback<F, Fut>(handle: F) -> u16
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let serve = async {
                loop {
                    if let Ok((tcp, _)) = listener.accept().await {
                        tokio::spawn(handle(tcp));
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(30), serve).await;
        });
    });
    port
}

/// Serves HTTP/2 on `io`, answering each request with `answer` once its body is read.
pub async fn serve_h2<T: AsyncRead + AsyncWrite + Unpin>(io: T, answer: H2Answer) {
    let Ok(mut conn) = h2::server::handshake(io).await else {
        return;
    };
    while let Some(Ok((req, mut respond))) = conn.accept().await {
        let (parts, mut body) = req.into_parts();
        // Answered in arrival order (the answer may record the request), sent when read.
        let (resp, data) = answer(&parts);
        tokio::spawn(async move {
            while let Some(Ok(chunk)) = body.data().await {
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            if let Ok(mut send) = respond.send_response(resp, false) {
                let _ = send.send_data(data, true);
            }
        });
    }
}

/// A cleartext HTTP/2 server (prior knowledge); returns its port.
pub fn h2c_server(answer: H2Answer) -> u16 {
    serve_loopback(move |tcp| serve_h2(tcp, answer.clone()))
}

/// `200` with `body` and the header `x-proto: h2`.
pub fn h2_ok(body: &'static str) -> H2Answer {
    Arc::new(move |_| {
        let resp = http::Response::builder()
            .status(200)
            .header("x-proto", "h2")
            .body(())
            .unwrap();
        (resp, Bytes::from_static(body.as_bytes()))
    })
}

/// An HTTPS server with a fresh self-signed certificate for `localhost` and `127.0.0.1`
/// (written into `dir`), answering every request `200 ok` (keep-alive); with `h2`, it also
/// offers HTTP/2 by ALPN. `None`, after a loud SKIP line, when the openssl CLI is missing.
pub fn https_server(dir: &Path, h2: bool) -> Option<u16> {
    let acceptor = self_signed_acceptor(dir, h2)?;
    Some(serve_loopback(move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                serve_h2(tls, h2_ok("ok")).await;
            } else {
                serve_http1_ok(tls).await;
            }
        }
    }))
}

/// Answers every HTTP/1.1 request head (no bodies) `200 ok`, keeping the connection.
async fn serve_http1_ok<T: AsyncRead + AsyncWrite + Unpin>(mut io: T) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = io.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if io.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

fn self_signed_acceptor(dir: &Path, h2: bool) -> Option<tokio_rustls::TlsAcceptor> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: openssl is not available to make a test certificate");
        return None;
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    if h2 {
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}
