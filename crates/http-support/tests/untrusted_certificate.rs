//! A server certificate this client does not trust ends the output (`Fatal`) with the reason
//! and what to change, instead of being retried for the rest of the run: no retry makes an
//! unknown CA or a wrong host name right. Against a real rustls HTTPS server with certificates
//! made by openssl at test time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use loadrun_http_support::{
    HttpClient, HttpConfig, Outcome, TlsOptions, Url, UNTRUSTED_CERTIFICATE,
};
use loadrun_test_support::TestPki;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// An HTTPS server answering 204 to each of `connections` connections; returns its port.
fn https_server(pki: &TestPki, connections: usize) -> u16 {
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
        for stream in listener.incoming().take(connections) {
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

fn client(ca: Option<&TestPki>) -> HttpClient {
    HttpClient::new(HttpConfig {
        tls: TlsOptions {
            ca_file: ca.map(TestPki::ca),
            ..TlsOptions::default()
        },
        ..HttpConfig::default()
    })
    .unwrap()
}

#[test]
fn an_unknown_ca_is_fatal_and_says_to_give_the_ca() {
    let Some(pki) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let port = https_server(&pki, 2);
    let url = Url::parse(&format!("https://localhost:{port}/write")).unwrap();
    match client(None).post(&url, &[], b"x", None) {
        Outcome::Fatal { reason } => {
            assert!(reason.contains(UNTRUSTED_CERTIFICATE), "{reason}");
            assert!(reason.contains("CA"), "{reason}");
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
    // With the CA given, the same server is trusted: the refusal was about the certificate.
    let o = client(Some(&pki)).post(&url, &[], b"x", None);
    assert!(o.is_delivered(), "{o:?}");
}

#[test]
fn a_certificate_for_another_name_is_fatal_and_names_the_host_name() {
    let Some(pki) = TestPki::new("DNS:db.example.invalid") else {
        return;
    };
    let port = https_server(&pki, 1);
    let url = Url::parse(&format!("https://localhost:{port}/write")).unwrap();
    match client(Some(&pki)).post(&url, &[], b"x", None) {
        Outcome::Fatal { reason } => {
            assert!(reason.contains(UNTRUSTED_CERTIFICATE), "{reason}");
            assert!(reason.contains("host name"), "{reason}");
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
}
