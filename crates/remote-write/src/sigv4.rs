//! AWS Signature Version 4 for remote write to Amazon Managed Service for Prometheus (k6's
//! `sigV4Region` / `sigV4AccessKey` / `sigV4SecretKey`, plus loadrun's `sigV4SessionToken`):
//! which option values make a signer, and the headers each request attempt carries.
//!
//! Every attempt is signed anew (a retry gets a fresh `X-Amz-Date`), over the exact snappy
//! body sent, with `X-Amz-Content-Sha256` sent and signed. Signed headers: `Host`, the
//! remote-write protocol headers and the user's extra headers (not `User-Agent`, which HTTP
//! stacks and proxies rewrite).

use loadrun_aws_sigv4::{sign_with_content_sha256, Credentials, Request, UtcTime};
use loadrun_http_support::Url;

/// The service requests are signed for: Amazon Managed Service for Prometheus.
pub const SERVICE: &str = "aps";

/// The option names, with the environment variables k6 reads for them.
pub const REGION: (&str, &str) = ("sigV4Region", "K6_PROMETHEUS_RW_SIGV4_REGION");
pub const ACCESS_KEY: (&str, &str) = ("sigV4AccessKey", "K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY");
pub const SECRET_KEY: (&str, &str) = ("sigV4SecretKey", "K6_PROMETHEUS_RW_SIGV4_SECRET_KEY");
/// Not a k6 option: temporary credentials (STS, SSO, an assumed role) need their token.
pub const SESSION_TOKEN: (&str, &str) =
    ("sigV4SessionToken", "K6_PROMETHEUS_RW_SIGV4_SESSION_TOKEN");

/// Headers SigV4 sets itself; a user header of one of these names would be signed twice.
pub const RESERVED_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
];

/// What signing needs. `Debug` shows the region and the access key id, never the secret key
/// or the session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4 {
    pub region: String,
    pub credentials: Credentials,
}

/// Why the `sigV4*` options do not make a signer. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4ConfigError {
    #[error(
        "AWS SigV4 signing needs sigV4Region, sigV4AccessKey and sigV4SecretKey together; \
         missing: {}",
        .0.join(", ")
    )]
    Partial(Vec<String>),
    #[error("sigV4Region {0:?} is not an AWS region name (like us-east-1)")]
    BadRegion(String),
}

/// The signer from the option values (empty ones already dropped): all three of region,
/// access key and secret key, or none of them and no session token.
pub fn from_options(
    region: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    session_token: Option<String>,
) -> Result<Option<SigV4>, SigV4ConfigError> {
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (region, access_key, secret_key, session_token) = (
        trimmed(region),
        trimmed(access_key),
        trimmed(secret_key),
        trimmed(session_token),
    );
    match (region, access_key, secret_key) {
        (Some(region), Some(key), Some(secret)) => {
            if !valid_region(&region) {
                return Err(SigV4ConfigError::BadRegion(region));
            }
            Ok(Some(SigV4 {
                region,
                credentials: Credentials::new(&key, &secret, session_token.as_deref()),
            }))
        }
        (None, None, None) if session_token.is_none() => Ok(None),
        (region, key, secret) => {
            let missing = [
                (region.is_none(), REGION),
                (key.is_none(), ACCESS_KEY),
                (secret.is_none(), SECRET_KEY),
            ]
            .into_iter()
            .filter(|(absent, _)| *absent)
            .map(|(_, (name, env))| format!("{name} ({env})"))
            .collect();
            Err(SigV4ConfigError::Partial(missing))
        }
    }
}

fn valid_region(region: &str) -> bool {
    region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.bytes().any(|b| b.is_ascii_lowercase())
}

/// Signs the requests of one output, all to the same URL.
#[derive(Debug, Clone)]
pub struct Signer {
    sig: SigV4,
    url: Url,
    /// `Host` exactly as the HTTP client sends it (with the port when not the default).
    host: String,
}

impl Signer {
    /// `None` when the URL has no host (it cannot be requested either).
    pub fn new(sig: SigV4, url: &Url) -> Option<Self> {
        let host = match (url.host_str()?, url.port()) {
            (h, Some(p)) => format!("{h}:{p}"),
            (h, None) => h.to_string(),
        };
        Some(Self {
            sig,
            url: url.clone(),
            host,
        })
    }

    /// The headers to add to one attempt of a `POST` of `body` with `headers` (all signed):
    /// `X-Amz-Date`, `X-Amz-Content-Sha256`, `X-Amz-Security-Token` (with a session token) and
    /// `Authorization`.
    pub fn sign(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: UtcTime,
    ) -> Vec<(String, String)> {
        let mut signed_headers = Vec::with_capacity(headers.len() + 1);
        signed_headers.push(("Host".to_string(), self.host.clone()));
        signed_headers.extend(headers.iter().cloned());
        let req = Request {
            method: "POST",
            path: self.url.path(),
            query: self.url.query().unwrap_or(""),
            headers: signed_headers,
            body,
        };
        sign_with_content_sha256(&req, &self.sig.credentials, &self.sig.region, SERVICE, now)
            .headers
    }

    /// Who signs, for error messages: service, region and access key id (none is secret).
    pub fn describe(&self) -> String {
        format!(
            "SigV4-signed for service {SERVICE}, region {}, access key id {}",
            self.sig.region,
            self.sig.credentials.access_key_id()
        )
    }

    /// `text` with the secret key and the session token replaced (a server message quoted
    /// in an error must not leak them).
    pub fn redact(&self, text: &str) -> String {
        self.sig.credentials.redact(text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn all_three_or_none() {
        assert_eq!(from_options(None, None, None, None), Ok(None));
        let sig = from_options(s("eu-west-1"), s(" AKIA1 "), s("sekrit"), s("tok"))
            .unwrap()
            .unwrap();
        assert_eq!(sig.region, "eu-west-1");
        assert_eq!(sig.credentials.access_key_id(), "AKIA1");
        assert_eq!(sig.credentials.session_token(), Some("tok"));
        let dbg = format!("{sig:?}");
        assert!(!dbg.contains("sekrit") && !dbg.contains("tok\""), "{dbg}");

        let e = from_options(s("eu-west-1"), None, s("sekrit"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing: sigV4AccessKey (K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY)"),
            "{e}"
        );
        assert!(!e.contains("sekrit"), "{e}");
        let e = from_options(None, None, None, s("tok"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sigV4Region")
                && e.contains("sigV4AccessKey")
                && e.contains("sigV4SecretKey"),
            "{e}"
        );
        let e = from_options(s("EU West"), s("a"), s("b"), None).unwrap_err();
        assert_eq!(e, SigV4ConfigError::BadRegion("EU West".into()));
    }

    #[test]
    fn each_attempt_is_signed_over_its_body_and_time() {
        let sig = from_options(s("us-east-1"), s("AKIDEXAMPLE"), s("secret"), s("TOKEN"))
            .unwrap()
            .unwrap();
        let url = Url::parse(
            "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
        )
        .unwrap();
        let signer = Signer::new(sig, &url).unwrap();
        let headers = vec![("Content-Encoding".to_string(), "snappy".to_string())];
        let a = signer.sign(&headers, b"body", UtcTime::from_unix_secs(1_700_000_000));
        let b = signer.sign(&headers, b"body", UtcTime::from_unix_secs(1_700_000_001));
        let get = |h: &[(String, String)], k: &str| {
            h.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get(&a, "X-Amz-Date"), "20231114T221320Z");
        assert_eq!(get(&b, "X-Amz-Date"), "20231114T221321Z");
        assert_ne!(get(&a, "Authorization"), get(&b, "Authorization"));
        assert_eq!(
            get(&a, "X-Amz-Content-Sha256"),
            loadrun_aws_sigv4::sha256_hex(b"body")
        );
        assert_eq!(get(&a, "X-Amz-Security-Token"), "TOKEN");
        let auth = get(&a, "Authorization");
        assert!(
            auth.contains("/us-east-1/aps/aws4_request")
                && auth.contains(
                    "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
                ),
            "{auth}"
        );
        assert!(!auth.contains("secret"), "{auth}");
    }

    #[test]
    fn host_has_the_port_unless_default() {
        let sig = from_options(s("us-east-1"), s("a"), s("b"), None)
            .unwrap()
            .unwrap();
        let with_port = Signer::new(sig.clone(), &Url::parse("http://127.0.0.1:9090/x").unwrap());
        assert_eq!(with_port.unwrap().host, "127.0.0.1:9090");
        let default = Signer::new(sig, &Url::parse("https://h.example:443/x").unwrap());
        assert_eq!(default.unwrap().host, "h.example");
    }
}
