//! Just enough URL handling for HTTP requests: scheme, host, port, path and query.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Without brackets for IPv6 literals.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path_query: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let t = text.trim();
        let (scheme, rest) = if let Some(r) = strip_prefix_ci(t, "http://") {
            (Scheme::Http, r)
        } else if let Some(r) = strip_prefix_ci(t, "https://") {
            (Scheme::Https, r)
        } else {
            return Err(format!(
                "unsupported URL {t:?}: it must start with http:// or https://"
            ));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let mut path_query = rest[end..].split('#').next().unwrap_or("").to_string();
        if path_query.is_empty() || path_query.starts_with('?') {
            path_query.insert(0, '/');
        }
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6
                .find(']')
                .ok_or_else(|| format!("invalid URL {t:?}: unclosed IPv6 bracket"))?;
            let host = &v6[..close];
            let port = match v6[close + 1..].strip_prefix(':') {
                Some(p) => parse_port(p, t)?,
                None => default_port,
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), parse_port(p, t)?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(format!("invalid URL {t:?}: no host"));
        }
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path_query,
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
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
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
        if l.starts_with('/') {
            u.path_query = l.to_string();
        } else if l.starts_with('?') {
            u.path_query = format!("{}{}", self.path(), l);
        } else {
            let base = self.path();
            let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
            u.path_query = format!("{dir}{l}");
        }
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

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

fn parse_port(p: &str, url: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .map_err(|_| format!("invalid URL {url:?}: bad port {p:?}"))
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
}
