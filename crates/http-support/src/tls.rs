//! TLS options: the public web roots plus an optional CA file, an optional client certificate,
//! the oldest TLS version accepted, and (for test servers only) skipping verification.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::tls_version::TlsVersion;
use crate::ConfigError;

/// TLS settings of an [`crate::HttpClient`]. The default verifies servers against the public
/// web roots (webpki-roots), as browsers do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any server certificate (k6's `insecure`). Encrypts but does not authenticate.
    pub insecure_skip_verify: bool,
    /// PEM file of extra CA certificates to trust (added to the public roots).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for servers that require mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert` (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
    /// The oldest TLS version negotiated. The default, [`TlsVersion::Tls12`], offers 1.3 and
    /// 1.2; [`TlsVersion::Tls13`] refuses servers that only speak 1.2 (the handshake fails and
    /// the request is `Fatal`, its reason saying so).
    pub min_version: TlsVersion,
}

impl TlsOptions {
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, ConfigError> {
        self.client_config_with_alpn(&[])
    }

    /// The rustls client configuration for these options, offering `alpn` protocols (e.g.
    /// `h2` for gRPC). Plugins with a transport of their own (HTTP/2) share the same TLS
    /// policy this way.
    pub fn client_config_with_alpn(
        &self,
        alpn: &[&[u8]],
    ) -> Result<Arc<ClientConfig>, ConfigError> {
        // An explicit provider: `ClientConfig::builder()` panics when two providers are linked.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(self.min_version.protocol_versions())
            .map_err(|e| ConfigError::Tls(e.to_string()))?;

        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Some(path) = &self.ca_file {
                let certs = read_certs("CA file", path)?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(ConfigError::Pem {
                        what: "CA file",
                        path: path.display().to_string(),
                        expected: "certificate",
                    });
                }
            }
            builder.with_root_certificates(roots)
        };

        let mut config = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs("client certificate", cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|_| ConfigError::Pem {
                    what: "client key",
                    path: key.display().to_string(),
                    expected: "private key",
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| ConfigError::Tls(format!("client certificate: {e}")))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(ConfigError::Tls(
                    "a client certificate needs both the certificate and the key file".into(),
                ))
            }
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

fn read_certs(
    what: &'static str,
    path: &PathBuf,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let file_err = |source| ConfigError::File {
        what,
        path: path.display().to_string(),
        source,
    };
    let data = std::fs::read(path).map_err(file_err)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&data)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(ConfigError::Pem {
            what,
            path: path.display().to_string(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

/// Accepts any certificate but still checks handshake signatures, so the session is at least
/// bound to the key the server presented.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn default_and_insecure_configs_build() {
        assert!(TlsOptions::default().client_config().is_ok());
        let insecure = TlsOptions {
            insecure_skip_verify: true,
            ..Default::default()
        };
        assert!(insecure.client_config().is_ok());
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let missing = TlsOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let e = missing
            .client_config()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");

        let dir = std::env::temp_dir().join(format!("lr-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("x.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let bad = TlsOptions {
            ca_file: Some(not_pem),
            ..Default::default()
        };
        let e = bad
            .client_config()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no usable PEM certificate"), "{e}");

        let half = TlsOptions {
            client_cert: Some("/x".into()),
            ..Default::default()
        };
        assert!(half.client_config().is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
