//! HTTPS through the engine against a local rustls server with a self-signed certificate
//! (made with the openssl CLI; the test SKIPs loudly without it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use loadrun_engine::EngineOptions;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

/// Starts an HTTPS server answering `200 ok` (keep-alive); returns its port.
fn https_server(dir: &std::path::Path, h2: bool) -> Option<(u16, std::thread::JoinHandle<()>)> {
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
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let serve = async {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                            serve_h2(tls).await;
                            return;
                        }
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        loop {
                            let Ok(n) = tls.read(&mut chunk).await else {
                                return;
                            };
                            if n == 0 {
                                return;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                buf.drain(..end + 4);
                                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                                if tls.write_all(reply).await.is_err() {
                                    return;
                                }
                            }
                        }
                    });
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(30), serve).await;
        });
    });
    Some((port, handle))
}

/// Answers every HTTP/2 request with `200 ok`.
pub async fn serve_h2<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(io: T) {
    let Ok(mut conn) = h2::server::handshake(io).await else {
        return;
    };
    while let Some(Ok((req, mut respond))) = conn.accept().await {
        tokio::spawn(async move {
            let mut body = req.into_body();
            while let Some(Ok(chunk)) = body.data().await {
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            let resp = http::Response::builder()
                .status(200)
                .header("x-proto", "h2")
                .body(())
                .unwrap();
            if let Ok(mut send) = respond.send_response(resp, false) {
                let _ = send.send_data(bytes::Bytes::from_static(b"ok"), true);
            }
        });
    }
}

type Rows = Vec<(String, std::collections::BTreeMap<String, String>, f64)>;

fn run(url: &str, insecure: bool) -> Rows {
    run_with(url, insecure, "")
}

fn run_with(url: &str, insecure: bool, extra: &str) -> Rows {
    let plan = format!("iterations = 2\n{extra}\n[[steps]]\nurl = \"{url}\"\ntimeout = \"5s\"\nchecks = [{{ header = \"x-proto\", exists = true, name = \"h2 header\" }}]\n");
    let opts = EngineOptions {
        insecure_skip_tls_verify: insecure,
        ..Default::default()
    };
    let (rows, _) = common::run_plan(
        &plan,
        &opts,
        Duration::from_millis(50),
        Duration::from_secs(120),
    );
    rows.into_iter()
        .map(|r| (r.metric, r.tags, r.value))
        .collect()
}

#[test]
fn https_with_and_without_verification() {
    let dir = tempfile::tempdir().unwrap();
    let Some((port, _server)) = https_server(dir.path(), false) else {
        return;
    };
    let url = format!("https://localhost:{port}/");

    let rows = run(&url, true);
    let reqs: Vec<_> = rows.iter().filter(|r| r.0 == "http_reqs").collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].1["status"], "200");
    assert_eq!(reqs[0].1["tls_version"], "tls1.3");
    // One handshake: the second request reuses the connection.
    let hs: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "http_req_tls_handshaking")
        .map(|r| r.2)
        .collect();
    assert!(hs[0] > 0.0 && hs[1] == 0.0, "{hs:?}");

    let rows = run(&url, false);
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["error_code"], "1310", "{:?}", r.1);
    assert_eq!(r.1["status"], "0");
}

#[test]
fn http2_over_tls_by_alpn_and_h2c_by_prior_knowledge() {
    let dir = tempfile::tempdir().unwrap();
    let Some((port, _server)) = https_server(dir.path(), true) else {
        return;
    };
    // h2c: cleartext HTTP/2 with prior knowledge.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let h2c_port = listener.local_addr().unwrap().port();
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
                        tokio::spawn(serve_h2(tcp));
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(30), serve).await;
        });
    });
    let rows = run_with(
        &format!("http://127.0.0.1:{h2c_port}/"),
        false,
        "httpVersion = \"2\"",
    );
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["proto"], "HTTP/2.0", "{:?}", r.1);
    assert_eq!(r.1["status"], "200");
    let rows = run(&format!("https://localhost:{port}/"), true);
    let reqs: Vec<_> = rows.iter().filter(|r| r.0 == "http_reqs").collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].1.get("proto").map(String::as_str),
        Some("HTTP/2.0"),
        "{:?}",
        reqs[0].1
    );
    assert_eq!(reqs[0].1["status"], "200");
    assert_eq!(reqs[0].1["tls_version"], "tls1.3");
    let checks: f64 = rows.iter().filter(|r| r.0 == "checks").map(|r| r.2).sum();
    assert_eq!(checks, 2.0);
    // One connection for both requests.
    let connecting: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "http_req_connecting")
        .map(|r| r.2)
        .collect();
    assert!(
        connecting[0] > 0.0 && connecting[1] == 0.0,
        "{connecting:?}"
    );
    // httpVersion = "1.1" keeps HTTP/1.1 even when the server offers h2.
    let rows = run_with(
        &format!("https://localhost:{port}/"),
        true,
        "httpVersion = \"1.1\"",
    );
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["proto"], "HTTP/1.1");
}
