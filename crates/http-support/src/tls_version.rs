//! The oldest TLS version a client accepts, and telling a handshake that failed on the version
//! from any other TLS failure.

use std::fmt;
use std::str::FromStr;

use rustls::{AlertDescription, PeerIncompatible, SupportedProtocolVersion};

/// The oldest TLS version an [`crate::HttpClient`] negotiates. rustls implements TLS 1.2 and
/// 1.3 only (with forward-secret AEAD suites only), so these are the two choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 or 1.3 (rustls' defaults).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

static TLS12_AND_UP: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

impl TlsVersion {
    /// `1.2` or `1.3`, as options spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }

    /// The versions a client with this minimum offers.
    pub(crate) fn protocol_versions(self) -> &'static [&'static SupportedProtocolVersion] {
        match self {
            TlsVersion::Tls12 => TLS12_AND_UP,
            TlsVersion::Tls13 => TLS13_ONLY,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS {}", self.as_str())
    }
}

/// A minimum TLS version that is not `1.2` or `1.3`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a supported minimum TLS version: expected 1.2 or 1.3{hint}", hint = old_hint(.0))]
pub struct InvalidTlsVersion(pub String);

fn old_hint(value: &str) -> &'static str {
    match normalise(value).as_str() {
        "1.0" | "1.1" | "1" => " (TLS 1.0 and 1.1 are obsolete and not implemented)",
        _ => "",
    }
}

/// `TLS1.2`, `tlsv1.2`, `TLS_1_2`, `1_2` → `1.2`.
fn normalise(value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_prefix("tls").unwrap_or(&v);
    let v = v.strip_prefix('v').unwrap_or(v);
    let v = v.trim_start_matches([' ', '_']);
    v.replace('_', ".")
}

impl FromStr for TlsVersion {
    type Err = InvalidTlsVersion;

    /// `1.2` or `1.3`; also `TLS1.2`, `TLSv1.3`, `TLS_1_2` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match normalise(s).as_str() {
            "1.2" => Ok(TlsVersion::Tls12),
            "1.3" => Ok(TlsVersion::Tls13),
            _ => Err(InvalidTlsVersion(s.to_string())),
        }
    }
}

/// Marks the reason of a request that failed because client and server share no TLS version
/// (the request is `Fatal`: retrying cannot help). Plugins may look for it to name their option.
pub const TLS_VERSION_MISMATCH: &str = "TLS version mismatch";

/// Whether `err` (or an error it wraps, through `std::io::Error` too) is a TLS handshake that
/// failed because client and server share no protocol version.
pub(crate) fn is_version_mismatch(err: &(dyn std::error::Error + 'static)) -> bool {
    tls_error(err).is_some_and(is_version_error)
}

/// The first rustls error in `err`'s chain. `io::Error::source` skips the error it wraps, and
/// HTTP stacks wrap rustls' `io::Error` in another one: each is looked inside explicitly.
fn tls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(tls) = tls_error(inner) {
                return Some(tls);
            }
        }
        next = e.source();
    }
    None
}

/// Marks the reason of a request that failed because this client does not trust the server's
/// certificate (the request is `Fatal`: the certificate or the CA setting must change first).
pub const UNTRUSTED_CERTIFICATE: &str = "untrusted server certificate";

/// What is wrong with the server's certificate, when `err` (or an error it wraps) is a TLS
/// handshake this client ended because it could not verify that certificate.
pub(crate) fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    match tls_error(err)? {
        rustls::Error::InvalidCertificate(c) => Some(describe_certificate_error(c)),
        _ => None,
    }
}

fn describe_certificate_error(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer => "it is not signed by a CA this client trusts: give the server's CA \
                             certificate with the output's CA option"
            .to_string(),
        C::NotValidForName | C::NotValidForNameContext { .. } => format!(
            "it is not valid for the host name in the URL ({c:?}): use a name the certificate \
             holds"
        ),
        C::Expired | C::ExpiredContext { .. } => format!("it has expired ({c:?})"),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            format!("it is not valid yet ({c:?}): check both clocks")
        }
        C::Revoked => "it is revoked".to_string(),
        other => format!("{other:?}"),
    }
}

fn is_version_error(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => true,
        rustls::Error::PeerIncompatible(p) => matches!(
            p,
            PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled
        ),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spellings_people_use() {
        for (text, want) in [
            ("1.2", TlsVersion::Tls12),
            (" 1.3 ", TlsVersion::Tls13),
            ("TLS1.2", TlsVersion::Tls12),
            ("tlsv1.3", TlsVersion::Tls13),
            ("TLS_1_3", TlsVersion::Tls13),
            ("TLS 1.2", TlsVersion::Tls12),
        ] {
            assert_eq!(text.parse::<TlsVersion>(), Ok(want), "{text}");
        }
        for bad in ["", "1.4", "1.1", "2", "latest"] {
            let e = bad.parse::<TlsVersion>().unwrap_err().to_string();
            assert!(e.contains("expected 1.2 or 1.3"), "{e}");
        }
        assert!("1.0"
            .parse::<TlsVersion>()
            .unwrap_err()
            .to_string()
            .contains("obsolete"));
        assert_eq!(TlsVersion::default(), TlsVersion::Tls12);
        assert_eq!(TlsVersion::Tls13.to_string(), "TLS 1.3");
        assert!(TlsVersion::Tls12 < TlsVersion::Tls13);
    }

    #[test]
    fn offered_versions() {
        assert_eq!(TlsVersion::Tls12.protocol_versions().len(), 2);
        let only = TlsVersion::Tls13.protocol_versions();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].version, rustls::ProtocolVersion::TLSv1_3);
    }

    #[test]
    fn recognises_certificate_failures_inside_io_errors() {
        let unknown = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let why = certificate_problem(&unknown).unwrap();
        assert!(why.contains("CA"), "{why}");
        let name = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        assert!(certificate_problem(&name).unwrap().contains("host name"));
        let alert = rustls::Error::AlertReceived(AlertDescription::ProtocolVersion);
        assert_eq!(certificate_problem(&alert), None);
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_problem(&plain), None);
    }

    #[test]
    fn recognises_version_failures_inside_io_errors() {
        let alert = rustls::Error::AlertReceived(AlertDescription::ProtocolVersion);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, alert);
        assert!(is_version_mismatch(&io));
        let other = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
        );
        assert!(!is_version_mismatch(&other));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!is_version_mismatch(&plain));
        // How reqwest's connector hands it over: an io::Error around rustls' io::Error.
        let twice = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
        ));
        assert!(is_version_mismatch(&twice));
        let disabled = rustls::Error::PeerIncompatible(
            PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig,
        );
        assert!(is_version_mismatch(&disabled));
    }
}
