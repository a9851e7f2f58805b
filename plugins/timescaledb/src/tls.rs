//! TLS with rustls (no OpenSSL), following libpq's `sslmode` meanings:
//! `prefer`/`require` encrypt without checking the certificate (libpq does the same unless a
//! root certificate is configured), `verify-ca` checks the chain, `verify-full` also the host name.
//! Roots: `sslrootcert` (a PEM file) if given, else the Mozilla roots (webpki-roots).

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
    let verifier: Arc<dyn ServerCertVerifier> = if cfg.sslmode == SslMode::VerifyCa {
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

/// libpq's `verify-ca`: the chain must verify; the host name is not compared.
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
