//! URLs as they may be shown to a user: never with credentials.

use std::fmt;

use url::Url;

/// Query keys whose values are masked when a URL is shown (compared case-insensitively).
const SECRET_QUERY_KEYS: &[&str] = &[
    "p",
    "password",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "sig",
    "signature",
    "auth",
    "authorization",
    "x-amz-signature",
    "x-amz-credential",
];

/// A URL for logs and errors: userinfo removed, secret-looking query values replaced by `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    pub fn new(url: &Url) -> Self {
        if url.cannot_be_a_base() {
            return Self::cut_userinfo(url.as_str());
        }
        let mut shown = url.clone();
        // Both only fail for cannot-be-a-base URLs, which have no userinfo to remove.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        if shown.query().is_some() {
            let pairs: Vec<(String, String)> = shown
                .query_pairs()
                .map(|(k, v)| {
                    let secret = SECRET_QUERY_KEYS.iter().any(|s| s.eq_ignore_ascii_case(&k));
                    let v = if secret && !v.is_empty() {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        Endpoint(shown.to_string())
    }

    /// Like [`Endpoint::new`] for text that may not be a URL (then only what looks like
    /// userinfo is cut).
    pub fn from_text(text: &str) -> Self {
        match Url::parse(text) {
            Ok(u) => Self::new(&u),
            Err(_) => Self::cut_userinfo(text),
        }
    }

    fn cut_userinfo(text: &str) -> Self {
        match (text.find("://"), text.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                Endpoint(format!("{}{}", &text[..s + 3], &text[at + 1..]))
            }
            (None, Some(at)) => Endpoint(text[at + 1..].to_string()),
            _ => Endpoint(text.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value of URL option `name` as an `http://` or `https://` URL; the error names the
    /// option and shows the URL as an `Endpoint`, never with its password.
    pub fn parse_http(name: &str, text: &str) -> Result<SafeUrl, String> {
        let url = Url::parse(text.trim())
            .map_err(|e| format!("{name} {} is not a valid URL: {e}", Self::from_text(text)))?;
        match url.scheme() {
            "http" | "https" => Ok(SafeUrl(url)),
            _ => Err(format!(
                "{name} {} must be an http:// or https:// URL",
                Self::new(&url)
            )),
        }
    }
}

/// A URL whose `Debug` shows it as an [`Endpoint`] (no password), so a config holding one can
/// derive `Debug`; otherwise it is the [`Url`] it derefs to.
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl(pub Url);

impl std::ops::Deref for SafeUrl {
    type Target = Url;
    fn deref(&self) -> &Url {
        &self.0
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", Endpoint::new(&self.0).as_str())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn strips_userinfo_and_masks_secret_query_values() {
        let u = Url::parse(
            "https://user:hunter2@db.example:8086/write?db=k6&p=hunter2&u=user&token=abc",
        )
        .unwrap();
        let e = Endpoint::new(&u).to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(!e.contains("abc"), "{e}");
        assert_eq!(
            e,
            "https://db.example:8086/write?db=k6&p=***&u=user&token=***"
        );
    }

    #[test]
    fn non_urls_lose_userinfo_too() {
        assert_eq!(
            Endpoint::from_text("http://a:b@[bad/x").as_str(),
            "http://[bad/x"
        );
        assert_eq!(Endpoint::from_text("a:b@h:1").as_str(), "h:1");
        assert_eq!(Endpoint::from_text("plain").as_str(), "plain");
    }

    #[test]
    fn http_urls_parse_and_never_show_a_password() {
        let url = Endpoint::parse_http("url", " https://u:pw1@h:1/p ").unwrap();
        assert_eq!(url.host_str(), Some("h"));
        assert_eq!(url.password(), Some("pw1"));
        assert_eq!(format!("{url:?}"), "\"https://h:1/p\"");
        let e = Endpoint::parse_http("url", "ftp://u:pw2@h/").unwrap_err();
        assert!(
            e.starts_with("url ftp://h/ must be") && !e.contains("pw2"),
            "{e}"
        );
        let e = Endpoint::parse_http("endpoint", "http://u:pw3@").unwrap_err();
        assert!(e.starts_with("endpoint ") && !e.contains("pw3"), "{e}");
        let http = crate::HttpConfig {
            proxy: Some("http://u:pw4@proxy:3128".into()),
            ..crate::HttpConfig::default()
        };
        let shown = format!("{http:?}");
        assert!(
            shown.contains("proxy:3128") && !shown.contains("pw4"),
            "{shown}"
        );
    }
}
