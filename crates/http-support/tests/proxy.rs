//! The `proxy` option: plain http requests are forwarded (absolute-form request line), https
//! ones tunnelled (CONNECT), the URL's userinfo becomes `Proxy-Authorization`, and a proxy
//! refusing those credentials ends the output. Against a small real proxy started here that
//! records what it was asked and pipes a tunnel to a real rustls HTTPS server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loadrun_http_support::{HttpClient, HttpConfig, Outcome, TlsOptions, Url};
use loadrun_test_support::TestPki;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What the proxy was asked: each request line and its `Proxy-Authorization`.
type Asked = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A proxy on a free port. A CONNECT is answered 200 and piped to `127.0.0.1:<its port>`
/// (407 when `require` is set and not given); any other request is answered 204 by the proxy
/// itself, as the origin would.
fn proxy(require: Option<&'static str>) -> (String, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let asked: Asked = Arc::default();
    let log = asked.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || serve(client, &log, require));
        }
    });
    (addr, asked)
}

fn serve(client: TcpStream, log: &Asked, require: Option<&str>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let (mut auth, mut len) = (None, 0usize);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("proxy-authorization:") {
            auth = Some(h[h.len() - v.len()..].trim().to_string());
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let line = line.trim_end().to_string();
    log.lock().unwrap().push((line.clone(), auth.clone()));
    let mut client = client;
    if let Some(target) = line.strip_prefix("CONNECT ") {
        if require.is_some() && auth.as_deref() != require {
            let _ = client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            );
            return;
        }
        let port = target
            .split_whitespace()
            .next()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap();
        let upstream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut u2, &mut c2));
        let _ = std::io::copy(&mut reader, &mut upstream.try_clone().unwrap());
    } else {
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let _ = client.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    }
}

/// An HTTPS server answering 204 to one request per connection; returns its port.
fn https_server(pki: &TestPki) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.server_cert())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.server_key()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut sock = stream.unwrap();
            let mut conn = rustls::ServerConnection::new(Arc::clone(&cfg)).unwrap();
            let mut tls = rustls::Stream::new(&mut conn, &mut sock);
            let mut buf = [0u8; 4096];
            if tls.read(&mut buf).is_ok() {
                let _ = tls.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                let _ = tls.flush();
            }
        }
    });
    port
}

fn client(proxy: &str, ca: Option<&TestPki>) -> HttpClient {
    HttpClient::new(HttpConfig {
        proxy: Some(proxy.to_string()),
        tls: TlsOptions {
            ca_file: ca.map(TestPki::ca),
            ..TlsOptions::default()
        },
        ..HttpConfig::default()
    })
    .unwrap()
}

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(5))
}

/// `Basic base64("user:p@ss")`.
const USER_PASS: &str = "Basic dXNlcjpwQHNz";

#[test]
fn plain_http_is_forwarded_with_the_proxys_credentials() {
    let (addr, asked) = proxy(None);
    let c = client(&format!("http://user:p%40ss@{addr}"), None);
    let url = Url::parse("http://metrics.invalid:8086/write?db=k6").unwrap();
    let o = c.post(&url, &[], b"cpu value=1", soon());
    assert!(matches!(o, Outcome::Delivered { status: 204, .. }), "{o:?}");
    let asked = asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![(
            "POST http://metrics.invalid:8086/write?db=k6 HTTP/1.1".to_string(),
            Some(USER_PASS.to_string())
        )]
    );
}

#[test]
fn https_is_tunnelled_through_connect() {
    let Some(pki) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let port = https_server(&pki);
    let (addr, asked) = proxy(Some(USER_PASS));
    let c = client(&format!("http://user:p%40ss@{addr}"), Some(&pki));
    let url = Url::parse(&format!("https://localhost:{port}/write")).unwrap();
    let o = c.post(&url, &[], b"x", soon());
    assert!(matches!(o, Outcome::Delivered { status: 204, .. }), "{o:?}");
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0]
            .0
            .starts_with(&format!("CONNECT localhost:{port} ")),
        "{asked:?}"
    );
    assert_eq!(asked[0].1.as_deref(), Some(USER_PASS));
}

#[test]
fn a_proxy_refusing_the_credentials_ends_the_output() {
    let Some(pki) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let port = https_server(&pki);
    let (addr, _asked) = proxy(Some(USER_PASS));
    let c = client(&format!("http://user:wrong@{addr}"), Some(&pki));
    let url = Url::parse(&format!("https://localhost:{port}/write")).unwrap();
    match c.post(&url, &[], b"x", soon()) {
        Outcome::Fatal { reason } => {
            assert!(reason.contains("Proxy Unauthorized"), "{reason}");
            assert!(!reason.contains("wrong"), "{reason}");
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
}
