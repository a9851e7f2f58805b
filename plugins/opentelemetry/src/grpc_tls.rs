//! What went wrong with TLS on a gRPC call, and what to change.
//!
//! A failed call is looked at once more before it becomes an [`Outcome`](loadrun_http_support::Outcome):
//! the rustls error behind it (the receiver's certificate did not verify, a TLS alert, non-TLS
//! bytes where TLS was expected), whether the receiver asked for a client certificate, and for a
//! plaintext call that broke, whether the port speaks TLS (one probe handshake). Failures only
//! configuration can fix are *fatal*: retrying them for the rest of the run would only hide them.

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, CertificateError, InvalidMessage, SignatureScheme};
use tokio::net::TcpStream;

/// Where a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The TCP connection.
    Tcp,
    /// The TLS handshake, as far as the client sees it.
    Tls,
    /// HTTP/2 on an open connection (with TLS 1.3, a server refusing the client's certificate
    /// shows here: the client's side of the handshake is done by then).
    Exchange,
}

/// A failed call: its text, and the rustls error found in its cause chain.
#[derive(Debug)]
pub struct CallError {
    pub phase: Phase,
    pub text: String,
    pub tls: Option<rustls::Error>,
}

impl CallError {
    pub fn new(phase: Phase, text: String) -> Self {
        CallError {
            phase,
            text,
            tls: None,
        }
    }

    pub fn io(phase: Phase, what: &str, e: &std::io::Error) -> Self {
        CallError {
            phase,
            text: format!("{what}{e}"),
            tls: rustls_error(e),
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Returned by the connector, so tonic carries it in the failed call's error chain.
impl Error for CallError {}

/// The rustls error in `e`'s cause chain. `io::Error::source` skips the error it wraps, so
/// each `io::Error` is looked inside by hand.
pub fn rustls_error(e: &(dyn Error + 'static)) -> Option<rustls::Error> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r.clone());
        }
        if let Some(inner) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(r.clone());
            }
        }
        cause = c.source();
    }
    None
}

/// Records whether the server asked for a client certificate (a `CertificateRequest`) on the
/// connection being made, then answers as the configured resolver does.
#[derive(Debug)]
pub struct WatchClientAuth {
    inner: Arc<dyn ResolvesClientCert>,
    asked: Arc<AtomicBool>,
}

impl WatchClientAuth {
    /// `config` with its client certificate resolver watched; the flag is set when a server
    /// asks for a certificate.
    pub fn install(config: &mut rustls::ClientConfig) -> Arc<AtomicBool> {
        let asked = Arc::new(AtomicBool::new(false));
        config.client_auth_cert_resolver = Arc::new(WatchClientAuth {
            inner: config.client_auth_cert_resolver.clone(),
            asked: asked.clone(),
        });
        asked
    }
}

impl ResolvesClientCert for WatchClientAuth {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.inner.resolve(root_hint_subjects, sigschemes)
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}

/// The TLS settings a diagnosis refers to.
#[derive(Debug, Clone, Default)]
pub struct TlsSide {
    /// Whether the endpoint is `https`.
    pub secure: bool,
    pub host: String,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
}

/// What to say about a failed call, and whether retrying can help.
#[derive(Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// Replaces the call's own text.
    pub text: String,
    pub fatal: bool,
}

/// Looks at a failed call. `asked`: the server asked for a client certificate on this
/// (fresh) connection. `speaks_tls`: a probe found TLS on the port of a plaintext call.
pub fn diagnose(side: &TlsSide, e: &CallError, asked: bool, speaks_tls: bool) -> Diagnosis {
    let keep = |hint: &str, fatal: bool| Diagnosis {
        text: format!("{}{hint}", e.text),
        fatal,
    };
    if !side.secure {
        if speaks_tls {
            return keep(
                " (the receiver speaks TLS on this port: use an https:// endpoint, or host:port \
                 without insecure=true, with tlsCertificate if its CA is not a public one)",
                true,
            );
        }
        return keep("", false);
    }
    match &e.tls {
        Some(rustls::Error::InvalidCertificate(cert)) => keep(&server_cert_hint(side, cert), true),
        Some(rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType)) => keep(
            " (the receiver does not speak TLS on this port: use an http:// endpoint, or \
             insecure=true with host:port)",
            true,
        ),
        Some(rustls::Error::AlertReceived(alert)) => match alert {
            AlertDescription::CertificateRequired => keep(
                " (the receiver requires a client certificate (mutual TLS): set \
                 tlsClientCertificate and tlsClientKey)",
                true,
            ),
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied => {
                let hint = match &side.client_cert {
                    Some(c) => format!(
                        " (the receiver refused the client certificate {}: it needs one \
                         signed by a CA it trusts)",
                        c.display()
                    ),
                    None => " (the receiver requires a client certificate it trusts (mutual \
                             TLS): set tlsClientCertificate and tlsClientKey)"
                        .to_string(),
                };
                keep(&hint, true)
            }
            _ => keep("", false),
        },
        // No alert, just a closed connection during or right after a handshake in which the
        // receiver asked for a client certificate (gRPC's own servers close without a word).
        // Likely a refused certificate, but not certain: retried, and said.
        _ if asked && e.phase != Phase::Tcp => {
            let hint = match &side.client_cert {
                None => " (the receiver asked for a client certificate and closed the \
                         connection after the TLS handshake: it probably requires mutual TLS; \
                         set tlsClientCertificate and tlsClientKey)"
                    .to_string(),
                Some(c) => format!(
                    " (the receiver asked for a client certificate and closed the connection \
                     after the TLS handshake: it probably refused {}; it needs one signed by a \
                     CA it trusts)",
                    c.display()
                ),
            };
            Diagnosis {
                text: format!("{}{hint}", closed_text(&e.text)),
                fatal: false,
            }
        }
        _ => keep("", false),
    }
}

/// rustls' "peer closed connection without sending TLS close_notify: <a docs URL>" reads as a
/// riddle here: say what happened.
fn closed_text(text: &str) -> String {
    match text.find("peer closed connection without sending TLS close_notify") {
        Some(at) => format!("{}the receiver closed the connection", &text[..at]),
        None => text.to_string(),
    }
}

fn server_cert_hint(side: &TlsSide, cert: &CertificateError) -> String {
    match cert {
        CertificateError::UnknownIssuer => match &side.ca_file {
            Some(ca) => format!(
                " (the receiver's certificate is not signed by a CA in tlsCertificate {} nor \
                 by a public one: set tlsCertificate to the PEM file of the CA that signed it)",
                ca.display()
            ),
            None => " (the receiver's certificate is not signed by a public CA: set \
                     tlsCertificate (K6_OTEL_TLS_CERTIFICATE) to the PEM file of the CA that \
                     signed it)"
                .to_string(),
        },
        CertificateError::NotValidForName => format!(
            " (the receiver's certificate is not valid for host {}: use a host name it holds in \
             the endpoint)",
            side.host
        ),
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<&str> = presented.iter().map(|n| bare_name(n)).collect();
            format!(
                " (the receiver's certificate is not valid for host {}: it is for {}; use one \
                 of those names in the endpoint)",
                side.host,
                if names.is_empty() {
                    "no host name at all".to_string()
                } else {
                    names.join(", ")
                }
            )
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => {
            " (the receiver's certificate is outside its validity period: renew it, or check \
             this machine's clock)"
                .to_string()
        }
        _ => String::new(),
    }
}

/// `DnsName("collector.example")` → `collector.example` (rustls' debug form of a name).
fn bare_name(presented: &str) -> &str {
    match (presented.find('"'), presented.rfind('"')) {
        (Some(a), Some(b)) if b > a => &presented[a + 1..b],
        _ => presented,
    }
}

/// Whether `host:port` answers a TLS handshake (any certificate accepted, or a TLS alert
/// received): the check behind "plaintext against a TLS port".
pub async fn speaks_tls(host: &str, port: u16, limit: Duration) -> bool {
    let options = loadrun_http_support::TlsOptions {
        insecure_skip_verify: true,
        ..Default::default()
    };
    let Ok(config) = options.client_config_with_alpn(&[b"h2"]) else {
        return false;
    };
    let Ok(name) = rustls_pki_types::ServerName::try_from(host.to_string()) else {
        return false;
    };
    let probe = async {
        let tcp = TcpStream::connect((host, port)).await.ok()?;
        Some(
            tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await,
        )
    };
    match tokio::time::timeout(limit, probe).await {
        Ok(Some(Ok(_))) => true,
        Ok(Some(Err(e))) => matches!(rustls_error(&e), Some(rustls::Error::AlertReceived(_))),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn side(ca: Option<&str>, cert: Option<&str>) -> TlsSide {
        TlsSide {
            secure: true,
            host: "127.0.0.1".into(),
            ca_file: ca.map(PathBuf::from),
            client_cert: cert.map(PathBuf::from),
        }
    }

    fn tls_err(phase: Phase, e: rustls::Error) -> CallError {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        CallError::io(phase, "TLS: ", &io)
    }

    #[test]
    fn the_rustls_error_is_found_inside_io_errors() {
        let e = tls_err(
            Phase::Tls,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            e.tls,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        );
        assert_eq!(e.text, "TLS: invalid peer certificate: UnknownIssuer");
        let plain = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(CallError::io(Phase::Exchange, "", &plain).tls, None);
    }

    #[test]
    fn certificate_troubles_are_fatal_and_say_what_to_set() {
        let d = diagnose(
            &side(Some("/ca.pem"), None),
            &tls_err(
                Phase::Tls,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            ),
            false,
            false,
        );
        assert!(d.fatal);
        assert!(
            d.text
                .contains("not signed by a CA in tlsCertificate /ca.pem"),
            "{d:?}"
        );
        let d = diagnose(
            &side(None, None),
            &tls_err(
                Phase::Tls,
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(),
                    presented: vec!["DnsName(\"otel.example\")".into()],
                }),
            ),
            false,
            false,
        );
        assert!(d.fatal);
        assert!(
            d.text
                .contains("not valid for host 127.0.0.1: it is for otel.example"),
            "{d:?}"
        );
        let d = diagnose(
            &side(None, Some("/client.pem")),
            &tls_err(
                Phase::Exchange,
                rustls::Error::AlertReceived(AlertDescription::UnknownCA),
            ),
            true,
            false,
        );
        assert!(d.fatal);
        assert!(
            d.text
                .contains("refused the client certificate /client.pem"),
            "{d:?}"
        );
    }

    #[test]
    fn a_silent_close_after_a_certificate_request_is_retried_with_a_hint() {
        let eof = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify: https://docs.rs/x",
        );
        let e = CallError::io(Phase::Exchange, "", &eof);
        let d = diagnose(&side(None, None), &e, true, false);
        assert!(!d.fatal);
        assert!(
            d.text
                .starts_with("the receiver closed the connection (the receiver asked"),
            "{d:?}"
        );
        assert!(
            d.text.contains("set tlsClientCertificate and tlsClientKey"),
            "{d:?}"
        );
        // Not asked: nothing to add.
        let d = diagnose(&side(None, None), &e, false, false);
        assert_eq!((d.fatal, d.text.as_str()), (false, e.text.as_str()));
    }

    #[test]
    fn plaintext_and_tls_mismatches_are_fatal() {
        let d = diagnose(
            &side(None, None),
            &tls_err(
                Phase::Tls,
                rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType),
            ),
            false,
            false,
        );
        assert!(d.fatal);
        assert!(d.text.contains("does not speak TLS on this port"), "{d:?}");
        let plain = TlsSide::default();
        let e = CallError::new(
            Phase::Exchange,
            "stream closed because of a broken pipe".into(),
        );
        assert!(!diagnose(&plain, &e, false, false).fatal);
        let d = diagnose(&plain, &e, false, true);
        assert!(d.fatal);
        assert!(
            d.text
                .contains("speaks TLS on this port: use an https:// endpoint"),
            "{d:?}"
        );
    }
}
