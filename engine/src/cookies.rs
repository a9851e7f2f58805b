//! A per-VU cookie jar: enough of RFC 6265 for load tests (domain, path, expiry by Max-Age or
//! a past Expires; no public-suffix list).

use crate::http::Url;

#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
}

#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Records one `Set-Cookie` header received from `url`.
    pub fn store(&mut self, url: &Url, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let mut domain = url.host.clone();
        let mut host_only = true;
        let mut path = default_path(url.path());
        let mut expired = false;
        for attr in parts {
            let (k, v) = match attr.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (attr.trim(), ""),
            };
            if k.eq_ignore_ascii_case("domain") && !v.is_empty() {
                let d = v.trim_start_matches('.').to_ascii_lowercase();
                if url.host == d || url.host.ends_with(&format!(".{d}")) {
                    domain = d;
                    host_only = false;
                } else {
                    return; // a cookie for another site
                }
            } else if k.eq_ignore_ascii_case("path") && v.starts_with('/') {
                path = v.to_string();
            } else if k.eq_ignore_ascii_case("max-age") {
                if v.parse::<i64>().map(|n| n <= 0).unwrap_or(false) {
                    expired = true;
                }
            } else if k.eq_ignore_ascii_case("expires") && past_date(v) {
                expired = true;
            }
        }
        self.cookies
            .retain(|c| !(c.name == name && c.domain == domain && c.path == path));
        if !expired {
            self.cookies.push(Cookie {
                name: name.to_string(),
                value: value.trim().to_string(),
                domain,
                host_only,
                path,
            });
        }
    }

    /// The `Cookie` header value for a request to `url`, appended to `out`. Returns whether
    /// anything was added.
    pub fn header_for(&self, url: &Url, out: &mut String) -> bool {
        let path = url.path();
        let mut any = false;
        for c in &self.cookies {
            let domain_ok = if c.host_only {
                url.host == c.domain
            } else {
                url.host == c.domain || url.host.ends_with(&format!(".{}", c.domain))
            };
            let path_ok = path == c.path
                || (path.starts_with(&c.path)
                    && (c.path.ends_with('/') || path.as_bytes().get(c.path.len()) == Some(&b'/')));
            if domain_ok && path_ok {
                if any {
                    out.push_str("; ");
                }
                out.push_str(&c.name);
                out.push('=');
                out.push_str(&c.value);
                any = true;
            }
        }
        any
    }
}

fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}

/// Dates before 2000 are taken as "delete this cookie" (the common `Thu, 01 Jan 1970` idiom);
/// real expiry dates in the future are kept for the VU's lifetime.
fn past_date(v: &str) -> bool {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|p| p.len() == 4)
        .filter_map(|p| p.parse::<u32>().ok())
        .any(|y| y < 2000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_send_delete() {
        let u = Url::parse("http://a.example.com/x/y").unwrap();
        let mut j = CookieJar::default();
        j.store(&u, "s=1; Path=/");
        j.store(&u, "t=2; Domain=example.com; Path=/");
        j.store(&u, "other=3; Domain=evil.com");
        let mut h = String::new();
        assert!(j.header_for(&Url::parse("http://a.example.com/z").unwrap(), &mut h));
        assert_eq!(h, "s=1; t=2");
        let mut h = String::new();
        j.header_for(&Url::parse("http://b.example.com/").unwrap(), &mut h);
        assert_eq!(h, "t=2");
        j.store(&u, "s=; Max-Age=0; Path=/");
        let mut h = String::new();
        j.header_for(&u, &mut h);
        assert_eq!(h, "t=2");
    }
}
