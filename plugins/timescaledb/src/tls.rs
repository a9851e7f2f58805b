//! TLS with rustls (no OpenSSL), following libpq's `sslmode` meanings:
//! `prefer`/`require` encrypt without checking the certificate, `verify-ca` checks the chain,
//! `verify-full` also the host name. As in libpq (and pgx, which k6's extension used),
//! `require` with an explicit `sslrootcert` checks the chain like `verify-ca`.
//! Roots: `sslrootcert` (a PEM file) if given, else the Mozilla roots (webpki-roots).
//!
//! [`hint`] turns a failed connection's TLS trouble (untrusted CA, wrong host name, a server
//! that takes TLS only or no TLS) into what to change.

use std::sync::Arc;

use loadrun_http_support::TlsOptions;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{Config, SslMode};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read sslrootcert {path}: {reason}")]
    RootCert { path: String, reason: String },
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

/// The connector for `cfg.sslmode` (also passed, unused, when TLS is disabled).
pub fn connector(cfg: &Config) -> Result<MakeRustlsConnect, TlsError> {
    let config = match cfg.sslmode {
        SslMode::Require if cfg.sslrootcert.is_some() => verifying(cfg)?,
        SslMode::Disable | SslMode::Prefer | SslMode::Require => encrypt_only()?,
        SslMode::VerifyCa | SslMode::VerifyFull => verifying(cfg)?,
    };
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's `require`: encrypted, certificate not checked. The HTTP outputs' `insecure` policy
/// is exactly that, so it is shared rather than copied.
fn encrypt_only() -> Result<ClientConfig, TlsError> {
    let options = TlsOptions {
        insecure_skip_verify: true,
        ..TlsOptions::default()
    };
    let config = options
        .client_config_with_alpn(&[])
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    Ok(Arc::unwrap_or_clone(config))
}

/// Unlike the HTTP outputs' CA file, `sslrootcert` replaces the public roots (as in libpq),
/// and `verify-ca` needs a verifier that skips the host name: hence a config of our own.
fn verifying(cfg: &Config) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let roots = Arc::new(roots(cfg.sslrootcert.as_deref())?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = if cfg.sslmode != SslMode::VerifyFull {
        Arc::new(ChainOnly(webpki))
    } else {
        webpki
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn roots(path: Option<&str>) -> Result<RootCertStore, TlsError> {
    let Some(path) = path else {
        return Ok(RootCertStore {
            roots: webpki_roots_list(),
        });
    };
    let err = |reason: String| TlsError::RootCert {
        path: path.to_string(),
        reason,
    };
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(err("no usable certificate in it".to_string()));
    }
    Ok(store)
}

fn webpki_roots_list() -> Vec<rustls::pki_types::TrustAnchor<'static>> {
    // tokio-postgres-rustls re-exports nothing for this; its `with_webpki_roots` needs a
    // process-wide crypto provider, which a plugin must not install for the host.
    webpki_roots::TLS_SERVER_ROOTS.to_vec()
}

/// What to do about a connection that failed on TLS (empty when it did not), to append to the
/// driver's message: the chain or the host name of the server's certificate did not verify, or
/// the server wants TLS where none was offered, or the other way round.
pub fn hint(cfg: &Config, e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        // pg_hba.conf's answer to a connection with the wrong encryption for its lines.
        let msg = db.message();
        if db.code().code() == "28000" && msg.starts_with("no pg_hba.conf entry") {
            if msg.ends_with("no encryption") {
                return " (the server accepts this connection only over TLS: use sslmode=require, \
                        or verify-full with sslrootcert)"
                    .to_string();
            }
            if msg.contains("SSL encryption") || msg.contains("GSS encryption") {
                return " (the server accepts this connection only without TLS: use \
                        sslmode=disable or prefer)"
                    .to_string();
            }
        }
        return String::new();
    }
    let text = e.to_string();
    if text.contains("server does not support TLS") {
        return format!(
            " (the server has TLS turned off; sslmode={} needs it: turn ssl on in the server's \
             postgresql.conf, or use sslmode=prefer)",
            sslmode_name(cfg.sslmode)
        );
    }
    let Some(cert) = rustls_error(e) else {
        return String::new();
    };
    let roots = match &cfg.sslrootcert {
        Some(path) => format!("sslrootcert {path}"),
        None => "the public (Mozilla) roots, as no sslrootcert is set".to_string(),
    };
    match cert {
        rustls::CertificateError::UnknownIssuer => format!(
            " (the server's certificate is not signed by a CA in {roots}: set sslrootcert to \
             the PEM file of the CA that signed it)"
        ),
        rustls::CertificateError::NotValidForName => format!(
            " (the server's certificate is not valid for host {}: connect with a name it \
             holds, or use sslmode=verify-ca to check its CA only)",
            cfg.host
        ),
        rustls::CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<&str> = presented.iter().map(|n| bare_name(n)).collect();
            format!(
                " (the server's certificate is not valid for host {}: it is for {}; connect \
                 with one of those names, or use sslmode=verify-ca to check its CA only)",
                cfg.host,
                if names.is_empty() {
                    "no host name at all".to_string()
                } else {
                    names.join(", ")
                }
            )
        }
        rustls::CertificateError::Expired
        | rustls::CertificateError::ExpiredContext { .. }
        | rustls::CertificateError::NotValidYet
        | rustls::CertificateError::NotValidYetContext { .. } => {
            " (the server's certificate is outside its validity period: renew it, or check \
             this machine's clock)"
                .to_string()
        }
        _ => String::new(),
    }
}

fn sslmode_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

/// `DnsName("db.example")` → `db.example` (rustls' debug form of a presented name).
fn bare_name(presented: &str) -> &str {
    match (presented.find('"'), presented.rfind('"')) {
        (Some(a), Some(b)) if b > a => &presented[a + 1..b],
        _ => presented,
    }
}

/// The certificate problem behind a driver error: tokio-postgres boxes the TLS connector's
/// `io::Error`, which holds rustls' error.
fn rustls_error(e: &tokio_postgres::Error) -> Option<&rustls::CertificateError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        // `io::Error::source` skips the error it wraps: look inside it by hand.
        let inner = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|b| b as &(dyn std::error::Error + 'static));
        for candidate in [Some(c), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(cert)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(cert);
            }
        }
        cause = c.source();
    }
    None
}

/// libpq's `verify-ca` (and `require` with `sslrootcert`): the chain must verify; the host
/// name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
