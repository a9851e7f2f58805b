//! Just enough URL handling for HTTP requests: scheme, host, port, credentials, path and query.
//!
//! Everything that leaves here is safe to put on a request line or in a Host header: control
//! characters are refused (they would let a URL built from a response inject headers or a
//! second request) and the other bytes a request target cannot carry are percent-encoded.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

/// `user:password` from the URL, percent-decoded; sent as Basic auth as k6 (Go) does.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    // A URL may be logged with `{:?}`; the password must not be.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({:?}, ***)", self.user)
    }
}

impl Credentials {
    /// The `Authorization` header value.
    pub fn basic_auth(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Without brackets for IPv6 literals.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`: visible ASCII only (see [`request_target`]).
    pub path_query: String,
    /// Userinfo of the URL; never part of its text form (tags, messages).
    pub credentials: Option<Credentials>,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        // Only blanks are trimmed: a CR or LF at either end is as much an injection as one in
        // the middle, and is refused below.
        let t = text.trim_matches([' ', '\t']);
        // Messages show the URL without its password.
        let shown = Masked(t);
        let (scheme, rest) = if let Some(r) = strip_prefix_ci(t, "http://") {
            (Scheme::Http, r)
        } else if let Some(r) = strip_prefix_ci(t, "https://") {
            (Scheme::Https, r)
        } else {
            return Err(format!(
                "unsupported URL {shown:?}: it must start with http:// or https://"
            ));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let path_query = request_target(rest[end..].split('#').next().unwrap_or(""))
            .map_err(|e| format!("invalid URL {shown:?}: {e}"))?;
        let (credentials, authority) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(credentials(userinfo)), host),
            None => (None, authority),
        };
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6
                .find(']')
                .ok_or_else(|| format!("invalid URL {shown:?}: unclosed IPv6 bracket"))?;
            let host = &v6[..close];
            let port = match v6[close + 1..].strip_prefix(':') {
                Some(p) => parse_port(p, shown)?,
                None if v6[close + 1..].is_empty() => default_port,
                None => {
                    return Err(format!(
                        "invalid URL {shown:?}: text after the IPv6 bracket"
                    ))
                }
            };
            if !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":.%-_~".contains(&b))
            {
                return Err(format!("invalid URL {shown:?}: invalid IPv6 host"));
            }
            (host.to_string(), port)
        } else {
            let (h, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, parse_port(p, shown)?),
                None => (authority, default_port),
            };
            if let Some(bad) = h.chars().find(|c| !is_host_char(*c)) {
                return Err(format!(
                    "invalid URL {shown:?}: invalid character {bad:?} in host name"
                ));
            }
            (h.to_string(), port)
        };
        if host.is_empty() {
            return Err(format!("invalid URL {shown:?}: no host"));
        }
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path_query,
            credentials,
        })
    }

    pub fn default_port(&self) -> bool {
        matches!(
            (self.scheme, self.port),
            (Scheme::Http, 80) | (Scheme::Https, 443)
        )
    }

    /// `host[:port]` for the Host header.
    pub fn authority(&self) -> String {
        let mut out = Vec::with_capacity(self.host.len() + 8);
        self.write_authority(&mut out);
        // Only `host` (a `String`), ASCII brackets, a colon and digits were written.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Appends [`Url::authority`] to `out` without allocating: it goes into every request head.
    pub fn write_authority(&self, out: &mut Vec<u8>) {
        let bracket = self.host.contains(':');
        if bracket {
            out.push(b'[');
        }
        out.extend_from_slice(self.host.as_bytes());
        if bracket {
            out.push(b']');
        }
        if !self.default_port() {
            out.push(b':');
            let mut digits = [0u8; 5];
            let mut n = self.port;
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            out.extend_from_slice(&digits[i..]);
        }
    }

    pub fn path(&self) -> &str {
        self.path_query.split('?').next().unwrap_or("/")
    }

    /// Resolves a `Location` header against this URL.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        let l = location.trim();
        if strip_prefix_ci(l, "http://").is_some() || strip_prefix_ci(l, "https://").is_some() {
            return Url::parse(l);
        }
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        if let Some(rest) = l.strip_prefix("//") {
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let mut u = self.clone();
        let target = if l.starts_with('/') {
            l.to_string()
        } else if l.starts_with('?') {
            format!("{}{}", self.path(), l)
        } else {
            let base = self.path();
            let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
            format!("{dir}{l}")
        };
        u.path_query = request_target(target.split('#').next().unwrap_or(""))
            .map_err(|e| format!("invalid redirect Location {l:?}: {e}"))?;
        Ok(u)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}{}", self.authority(), self.path_query)
    }
}

/// Host names are ASCII (international names in punycode): RFC 3986 reg-name characters.
fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=%".contains(c)
}

/// A URL text for messages: formats as [`password_masked`] (only when an error is made).
#[derive(Clone, Copy)]
struct Masked<'a>(&'a str);

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&password_masked(self.0), f)
    }
}

/// `scheme://user:password@host…` → `scheme://user:***@host…`.
pub(crate) fn password_masked(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!(
                "{}{user}:***{}",
                &text[..scheme_end + 3],
                &rest[userinfo.len()..]
            )
        }
        _ => text.to_string(),
    }
}

fn credentials(userinfo: &str) -> Credentials {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Credentials {
        user: crate::util::percent_decode(user, false),
        password: crate::util::percent_decode(password, false),
    }
}

/// The request target for a path and query: `/` first, control characters refused (they
/// could end the request line), and the other bytes RFC 9112 does not allow in a target
/// (space, non-ASCII, quote, `<`, `>`, backslash, `^`, backquote, `{`, `|`, `}`) percent-encoded,
/// as Go's client sends them.
pub fn request_target(path_query: &str) -> Result<String, String> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if let Some(c) = path_query.chars().find(|c| c.is_ascii_control()) {
        return Err(format!("invalid control character {c:?} in URL"));
    }
    let mut out = String::with_capacity(path_query.len() + 1);
    if !path_query.starts_with('/') {
        out.push('/');
    }
    for &b in path_query.as_bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    Ok(out)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Digits only: `str::parse` would also take a sign (`h:+80`), which Go's parser refuses.
fn parse_port(p: &str, url: Masked<'_>) -> Result<u16, String> {
    p.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| p.parse::<u16>().ok())
        .flatten()
        .ok_or_else(|| format!("invalid URL {url:?}: bad port {p:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins() {
        let u = Url::parse("http://Example.com:8080/a/b?x=1#frag").unwrap();
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, 8080);
        assert_eq!(u.path_query, "/a/b?x=1");
        assert_eq!(u.to_string(), "http://example.com:8080/a/b?x=1");
        assert_eq!(u.join("/c").unwrap().path_query, "/c");
        assert_eq!(u.join("c").unwrap().path_query, "/a/c");
        assert_eq!(u.join("https://h/z").unwrap().to_string(), "https://h/z");
        let s = Url::parse("https://[::1]/").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("::1", 443));
        assert_eq!(Url::parse("http://h?q").unwrap().path_query, "/?q");
        assert!(Url::parse("ftp://x").is_err());
    }

    #[test]
    fn the_authority_has_a_port_only_when_it_is_not_the_default() {
        for (text, authority) in [
            ("http://h/", "h"),
            ("http://h:80/", "h"),
            ("https://h:443/", "h"),
            ("https://h:80/", "h:80"),
            ("http://h:443/", "h:443"),
            ("http://h:0/", "h:0"),
            ("http://h:7/", "h:7"),
            ("http://h:10/", "h:10"),
            ("http://h:65535/", "h:65535"),
            ("http://[::1]/", "[::1]"),
            ("http://[::1]:8080/", "[::1]:8080"),
        ] {
            let u = Url::parse(text).unwrap();
            assert_eq!(u.authority(), authority, "{text}");
            let mut head = b"Host: ".to_vec();
            u.write_authority(&mut head);
            assert_eq!(head, format!("Host: {authority}").as_bytes(), "{text}");
        }
    }

    #[test]
    fn control_characters_are_refused_anywhere() {
        for bad in [
            "http://127.0.0.1/e?t=abc\r\nX-Evil: 1\r\n\r\nGET /smuggled",
            "http://127.0.0.1/a\nb",
            "http://127.0.0.1/a\0b",
            "http://127.0.0.1/a\x7f",
            "http://127.0.0.1/e?t=abc\r\n",
            "http://127.0.0.1\r\nX-Evil: 1/",
            "http://h\0st/",
            "http://h st/",
            "http://[::1\r\n]/",
            "http://[::1]x/",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert!(!e.contains('\r') && !e.contains('\n'), "{e}");
        }
        let u = Url::parse("http://127.0.0.1/").unwrap();
        assert!(u.join("/x\r\nX-Evil: 1").is_err());
        assert!(u.join("y\0").is_err());
    }

    #[test]
    fn bytes_a_target_cannot_carry_are_percent_encoded() {
        let u = Url::parse("http://h/a b/ü?q=\"<x>\"&r={1}|^`\\").unwrap();
        assert_eq!(
            u.path_query,
            "/a%20b/%C3%BC?q=%22%3Cx%3E%22&r=%7B1%7D%7C%5E%60%5C"
        );
        // Escapes already there are kept as they are.
        let u = Url::parse("http://h/a%20b?x=%2F").unwrap();
        assert_eq!(u.path_query, "/a%20b?x=%2F");
        let j = u.join("/c d").unwrap();
        assert_eq!(j.path_query, "/c%20d");
    }

    #[test]
    fn ports_are_digits_that_fit_sixteen_bits() {
        assert_eq!(Url::parse("http://h:0/").unwrap().port, 0);
        assert_eq!(Url::parse("http://h:65535/").unwrap().port, 65535);
        for bad in [
            "http://h:+80/",
            "http://h:-1/",
            "http://h:65536/",
            "http://h:8 0/",
            "http://h:/",
            "http://[::1]:x/",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert!(e.contains("bad port"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_text_form_parses_back_to_the_same_url() {
        for text in [
            "http://Example.com:8080/a/b?x=1#frag",
            "https://[::1]/",
            "https://[fe80::1%25eth0]:8443/x",
            "http://h:80//double//slash",
            "http://h?q",
            "http://u:p@h/a b/ü?\"<>\"",
            "http://h/%zz%20",
        ] {
            let u = Url::parse(text).unwrap();
            let again = Url::parse(&u.to_string()).unwrap();
            assert_eq!(again.credentials, None);
            assert_eq!(
                (again.scheme, &again.host, again.port),
                (u.scheme, &u.host, u.port)
            );
            assert_eq!(again.path_query, u.path_query, "{text}");
            for loc in ["../c?d#e", "?only", "//other:81/p", "", "x y"] {
                if let Ok(j) = u.join(loc) {
                    assert!(j.path_query.starts_with('/'), "{text} + {loc}");
                    assert_eq!(Url::parse(&j.to_string()).unwrap().path_query, j.path_query);
                }
            }
        }
    }

    #[test]
    fn credentials_are_percent_decoded_and_kept_out_of_the_text() {
        let u = Url::parse("http://us%65r:p%40ss:w@127.0.0.1:8080/x").unwrap();
        let c = u.credentials.clone().unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("user", "p@ss:w"));
        // base64("user:p@ss:w")
        assert_eq!(c.basic_auth(), "Basic dXNlcjpwQHNzOnc=");
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 8080));
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/x");
        assert!(!format!("{u:?}").contains("p@ss"));
        let e = Url::parse("http://user:s3cret@h/a\nb").unwrap_err();
        assert!(e.contains("user:***@h") && !e.contains("s3cret"), "{e}");
        let u = Url::parse("http://only@h/").unwrap();
        let c = u.credentials.unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("only", ""));
        // A relative redirect keeps the credentials (Go does the same).
        let u = Url::parse("http://a:b@h/x").unwrap();
        assert!(u.join("/y").unwrap().credentials.is_some());
        assert!(u.join("http://h/y").unwrap().credentials.is_none());
    }
}
