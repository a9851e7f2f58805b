//! A per-VU cookie jar: enough of RFC 6265 for load tests (domain, path, expiry by Max-Age or
//! a past Expires; no public-suffix list).

use crate::http::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    /// Sent over HTTPS only.
    secure: bool,
}

/// A cookie a script's request adds to its jar's (k6's `params.cookies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCookie {
    pub name: String,
    pub value: String,
    /// The jar's cookies of the same name are not sent.
    pub replace: bool,
}

#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
    /// Sent before the jar's own while a script's request that set them is under way.
    request: Vec<RequestCookie>,
}

impl CookieJar {
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty() && self.request.is_empty()
    }

    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Applies to this jar what a copy of it went through from `before` to `after` (a request
    /// of a batch, run on a copy): the cookies it gained or changed are set, those it lost are
    /// removed.
    pub fn absorb(&mut self, before: &CookieJar, after: &CookieJar) {
        let same =
            |a: &Cookie, b: &Cookie| a.name == b.name && a.domain == b.domain && a.path == b.path;
        for b in &before.cookies {
            if !after.cookies.iter().any(|a| same(a, b)) {
                self.cookies.retain(|c| !same(c, b));
            }
        }
        for a in &after.cookies {
            if !before.cookies.contains(a) {
                self.cookies.retain(|c| !same(c, a));
                self.cookies.push(a.clone());
            }
        }
    }

    /// The cookies of the request under way (empty to end it).
    pub fn set_request_cookies(&mut self, cookies: Vec<RequestCookie>) {
        self.request = cookies;
    }

    /// The jar's cookies a request to `url` would send, as `(name, value)`.
    pub fn cookies_for(&self, url: &Url) -> Vec<(String, String)> {
        self.matching(url)
            .map(|c| (c.name.clone(), c.value.clone()))
            .collect()
    }

    /// Expires the cookie `name` of `url`'s host and default path, as Go's jar does for k6's
    /// `jar.delete(url, name)`; `jar.clear(url)` is this for every cookie `url` would send.
    pub fn delete(&mut self, url: &Url, name: &str) {
        self.store(url, &format!("{name}=; Max-Age=0"));
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
        let mut secure = false;
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
            } else if k.eq_ignore_ascii_case("secure") {
                secure = true;
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
                secure,
            });
        }
    }

    /// The `Cookie` header value for a request to `url`, appended to `out`. Returns whether
    /// anything was added.
    pub fn header_for(&self, url: &Url, out: &mut String) -> bool {
        let mut any = false;
        let mut add = |name: &str, value: &str| {
            if any {
                out.push_str("; ");
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
            any = true;
        };
        for c in &self.request {
            add(&c.name, &c.value);
        }
        for c in self.matching(url) {
            if !self.request.iter().any(|r| r.replace && r.name == c.name) {
                add(&c.name, &c.value);
            }
        }
        any
    }

    fn matching<'a>(&'a self, url: &'a Url) -> impl Iterator<Item = &'a Cookie> + 'a {
        let path = url.path();
        let https = url.scheme == crate::http::Scheme::Https;
        self.cookies.iter().filter(move |c| {
            let domain_ok = if c.host_only {
                url.host == c.domain
            } else {
                url.host == c.domain || url.host.ends_with(&format!(".{}", c.domain))
            };
            let path_ok = path == c.path
                || (path.starts_with(&c.path)
                    && (c.path.ends_with('/') || path.as_bytes().get(c.path.len()) == Some(&b'/')));
            domain_ok && path_ok && (https || !c.secure)
        })
    }
}

fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}

/// A date in a past year is taken as "delete this cookie" (the common `Thu, 01 Jan 1970`
/// idiom); later expiry dates are kept for the VU's lifetime.
fn past_date(v: &str) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Good to a day around New Year, which is all a load test needs.
    let this_year = 1970 + now / 31_556_952;
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|p| p.len() == 4)
        .filter_map(|p| p.parse::<u64>().ok())
        .any(|y| y < this_year)
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

    #[test]
    fn request_cookies_come_first_and_replace_by_name() {
        let u = Url::parse("http://a.example.com/").unwrap();
        let mut j = CookieJar::default();
        j.store(&u, "a=jar; Path=/");
        j.store(&u, "b=jar; Path=/");
        j.set_request_cookies(vec![
            RequestCookie {
                name: "a".into(),
                value: "req".into(),
                replace: true,
            },
            RequestCookie {
                name: "b".into(),
                value: "req".into(),
                replace: false,
            },
        ]);
        let mut h = String::new();
        j.header_for(&u, &mut h);
        assert_eq!(h, "a=req; b=req; b=jar");
        j.set_request_cookies(Vec::new());
        assert_eq!(
            j.cookies_for(&u),
            vec![("a".into(), "jar".into()), ("b".into(), "jar".into())]
        );
    }

    #[test]
    fn absorb_applies_what_a_copy_went_through() {
        let u = Url::parse("http://h/").unwrap();
        let mut j = CookieJar::default();
        j.store(&u, "keep=1; Path=/");
        j.store(&u, "gone=1; Path=/");
        let before = j.clone();
        let mut copy = j.clone();
        copy.store(&u, "gone=; Max-Age=0; Path=/");
        copy.store(&u, "new=2; Path=/");
        // Set on the jar itself meanwhile (another request of the batch).
        j.store(&u, "other=3; Path=/");
        j.absorb(&before, &copy);
        let mut h = String::new();
        j.header_for(&u, &mut h);
        assert_eq!(h, "keep=1; other=3; new=2");
    }

    #[test]
    fn secure_cookies_only_over_https_and_delete_by_default_path() {
        let u = Url::parse("https://h/x/y").unwrap();
        let mut j = CookieJar::default();
        j.store(&u, "s=1; Secure; Path=/");
        j.store(&u, "p=2");
        assert_eq!(
            j.cookies_for(&Url::parse("http://h/x/z").unwrap()),
            vec![("p".into(), "2".into())]
        );
        assert_eq!(j.cookies_for(&u).len(), 2);
        j.delete(&Url::parse("https://h/x/other").unwrap(), "p");
        assert_eq!(j.cookies_for(&u), vec![("s".into(), "1".into())]);
        j.store(&u, "e=1; Path=/; Expires=Thu, 01 Jan 2015 00:00:00 GMT");
        assert_eq!(j.cookies_for(&u).len(), 1);
    }
}
