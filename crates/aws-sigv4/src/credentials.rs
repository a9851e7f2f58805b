//! AWS credentials: an access key id, its secret, and an optional session token.
//!
//! Where they come from is the caller's business (the `cloudwatch` output reads the standard
//! AWS sources, the `prometheus` output takes k6's `sigV4*` options).

use loadrun_plugin_api::Secret;

/// A key pair and optional session token. `Debug` never shows the secret or the token: they
/// are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
}

impl Credentials {
    /// An empty `session_token` counts as none.
    pub fn new(access_key_id: &str, secret_access_key: &str, session_token: Option<&str>) -> Self {
        Self {
            access_key_id: access_key_id.to_string(),
            secret_access_key: Secret::new(secret_access_key),
            session_token: session_token.filter(|t| !t.is_empty()).map(Secret::new),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose()
    }

    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(Secret::expose)
    }

    /// Replaces the secret and the token wherever they appear in `text` (server messages are
    /// quoted in errors, and nothing a server says may leak them).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in [Some(self.secret_access_key()), self.session_token()]
            .into_iter()
            .flatten()
        {
            if secret.len() >= 4 {
                out = out.replace(secret, "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_redact_hide_the_secrets() {
        let c = Credentials::new("AKIA1", "sekrit", Some("tokentok"));
        let dbg = format!("{c:?}");
        assert!(dbg.contains("AKIA1"), "{dbg}");
        assert!(
            !dbg.contains("sekrit") && !dbg.contains("tokentok"),
            "{dbg}"
        );
        assert_eq!(c.redact("x sekrit y tokentok"), "x *** y ***");
    }

    #[test]
    fn empty_token_is_none() {
        assert_eq!(Credentials::new("a", "b", Some("")).session_token(), None);
    }
}
