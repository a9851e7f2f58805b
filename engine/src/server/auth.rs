//! httpbin's `/basic-auth/USER/PASSWD` and `/digest-auth/QOP/USER/PASSWD`: 200 with
//! `{"authenticated": true, "user": USER}` for the right credentials, else 401 with the
//! challenge, so a script's `auth` can be tested without another server.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::json;

use super::routes::{Request, Response};

const REALM: &str = "loadrun@test-server";

fn authorization(req: &Request) -> Option<&str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str())
}

fn authenticated(user: &str) -> Response {
    Response::json(200, &json!({ "authenticated": true, "user": user }))
}

pub fn basic(req: &Request, user: &str, password: &str) -> Response {
    let want = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let given = authorization(req).and_then(|v| v.strip_prefix("Basic "));
    if given.map(str::trim) == Some(want.as_str()) {
        return authenticated(user);
    }
    let mut r = Response::new(401);
    r.headers.push((
        "WWW-Authenticate".into(),
        "Basic realm=\"Fake Realm\"".into(),
    ));
    r
}

/// `qop` is `auth` or anything else for none (RFC 2069's form). The nonce is not remembered:
/// any nonce the client echoes is taken, which is all a load-test target needs.
pub fn digest(req: &Request, qop: &str, user: &str, password: &str) -> Response {
    let qop = (qop == "auth").then_some("auth");
    if let Some(fields) = authorization(req).and_then(|v| v.strip_prefix("Digest ")) {
        let f = |name: &str| field(fields, name);
        let ha1 = md5_hex(&format!("{user}:{REALM}:{password}"));
        let uri = f("uri").unwrap_or_default();
        let ha2 = md5_hex(&format!("{}:{uri}", req.method));
        let nonce = f("nonce").unwrap_or_default();
        let want = match qop {
            Some(q) => md5_hex(&format!(
                "{ha1}:{nonce}:{}:{}:{q}:{ha2}",
                f("nc").unwrap_or_default(),
                f("cnonce").unwrap_or_default()
            )),
            None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
        };
        if f("username").as_deref() == Some(user)
            && f("response").as_deref() == Some(want.as_str())
            && uri == req.target
        {
            return authenticated(user);
        }
    }
    let nonce = md5_hex(&format!("{:?}", std::time::SystemTime::now()));
    let mut challenge = format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\", opaque=\"0123456789abcdef\", algorithm=MD5, stale=FALSE");
    if let Some(q) = qop {
        challenge.push_str(&format!(", qop=\"{q}\""));
    }
    let mut r = Response::new(401);
    r.headers.push(("WWW-Authenticate".into(), challenge));
    r
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `name="value"` or `name=value` field of a Digest header.
fn field(fields: &str, name: &str) -> Option<String> {
    for part in split_fields(fields) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// Splits at commas outside quotes.
fn split_fields(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            target: "/digest-auth/auth/u/p".into(),
            headers: auth
                .map(|a| vec![("Authorization".to_string(), a.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
            host: "x".into(),
        }
    }

    #[test]
    fn digest_challenge_then_answer() {
        let r = digest(&req(None), "auth", "u", "p");
        assert_eq!(r.status, 401);
        let ha1 = md5_hex(&format!("u:{REALM}:p"));
        let ha2 = md5_hex("GET:/digest-auth/auth/u/p");
        let resp = md5_hex(&format!("{ha1}:n1:00000001:c1:auth:{ha2}"));
        let header = format!("Digest username=\"u\", realm=\"{REALM}\", nonce=\"n1\", uri=\"/digest-auth/auth/u/p\", qop=auth, nc=00000001, cnonce=\"c1\", response=\"{resp}\"");
        assert_eq!(digest(&req(Some(&header)), "auth", "u", "p").status, 200);
        assert_eq!(
            digest(&req(Some(&header)), "auth", "u", "other").status,
            401
        );
        assert_eq!(basic(&req(Some("Basic dTpw")), "u", "p").status, 200);
        assert_eq!(basic(&req(Some("Basic dTpx")), "u", "p").status, 401);
    }
}
