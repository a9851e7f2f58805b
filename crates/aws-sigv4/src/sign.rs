//! The signature itself: canonical request, string to sign, signing key, `Authorization`.
//!
//! Non-S3 rules: the path is normalised (`.`/`..`, doubled slashes) and each segment encoded
//! again, as AWS's test suite and botocore do for every service but S3.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::credentials::Credentials;
use crate::encode::{hex, percent_decode, sha256_hex, uri_encode};
use crate::time::UtcTime;

type HmacSha256 = Hmac<Sha256>;

/// One request to sign. `headers` must include `host` (exactly as the HTTP client will send
/// it: `host` or `host:port` for a non-default port); `x-amz-date` (and the session token and
/// payload hash, when asked for) are added by [`sign`]. Every header given is signed, so give
/// only those sent unchanged (not `User-Agent`, `Content-Length` or hop-by-hop headers).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent (already percent-encoded), e.g. `/`.
    pub path: &'a str,
    /// The query string as sent, without `?`; may be empty.
    pub query: &'a str,
    pub headers: Vec<(String, String)>,
    /// The body exactly as sent (compressed, if it is sent compressed).
    pub body: &'a [u8],
}

/// What [`sign`] adds to the request: every header to send besides the caller's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `X-Amz-Date`, `X-Amz-Content-Sha256` (with [`sign_with_content_sha256`]),
    /// `X-Amz-Security-Token` (if any) and `Authorization`.
    pub headers: Vec<(String, String)>,
    /// The canonical request, for tests and debugging; holds no secret.
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
}

/// Signs `req` for `region`/`service` at `now`.
pub fn sign(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: UtcTime,
) -> Signed {
    sign_request(req, creds, region, service, now, false)
}

/// As [`sign`], and also sends and signs `X-Amz-Content-Sha256` (the body's SHA-256), which
/// lets the receiver check the body before it recomputes the signature (S3 requires it;
/// other services such as Amazon Managed Service for Prometheus accept it).
pub fn sign_with_content_sha256(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: UtcTime,
) -> Signed {
    sign_request(req, creds, region, service, now, true)
}

fn sign_request(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: UtcTime,
    content_sha256_header: bool,
) -> Signed {
    let amz_date = now.amz_date();
    let day = &amz_date[..8];
    let payload_hash = sha256_hex(req.body);
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), canonical_value(v)))
        .collect();
    headers.push(("x-amz-date".into(), amz_date.clone()));
    let mut extra = vec![("X-Amz-Date".to_string(), amz_date.clone())];
    if content_sha256_header {
        headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
        extra.push(("X-Amz-Content-Sha256".to_string(), payload_hash.clone()));
    }
    if let Some(token) = creds.session_token() {
        headers.push(("x-amz-security-token".into(), token.to_string()));
        extra.push(("X-Amz-Security-Token".to_string(), token.to_string()));
    }
    // A stable sort: repeated header names keep the order given, then join with commas.
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        match merged.last_mut() {
            Some((lk, lv)) if *lk == k => {
                lv.push(',');
                lv.push_str(&v);
            }
            _ => merged.push((k, v)),
        }
    }
    let signed_headers = merged
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = merged.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_path(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        payload_hash,
    );
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = signing_key(creds.secret_access_key(), day, region, service);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    extra.push((
        "Authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id()
        ),
    ));
    Signed {
        headers: extra,
        canonical_request,
        string_to_sign,
        signature,
    }
}

fn signing_key(secret: &str, day: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Trims and folds runs of spaces, as SigV4 asks of header values.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Non-S3 services normalise the path (`.`/`..`, doubled slashes) and encode each segment again.
fn canonical_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(
        &segments
            .iter()
            .map(|s| uri_encode(s))
            .collect::<Vec<_>>()
            .join("/"),
    );
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Query parameters sorted by name then value, each re-encoded the SigV4 way.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    // The credentials, region, service and time every vector of AWS's SigV4 test suite uses.
    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const HOST: (&str, &str) = ("Host", "example.amazonaws.com");

    fn suite_time() -> UtcTime {
        // 2015-08-30T12:36:00Z
        UtcTime::from_unix_secs(1_440_938_160)
    }

    fn request<'a>(
        method: &'a str,
        query: &'a str,
        headers: &[(&str, &str)],
        body: &'a [u8],
    ) -> Request<'a> {
        Request {
            method,
            path: "/",
            query,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    fn suite_sign(method: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Signed {
        let creds = Credentials::new(AKID, SECRET, None);
        sign(
            &request(method, query, headers, body),
            &creds,
            "us-east-1",
            "service",
            suite_time(),
        )
    }

    fn header<'a>(s: &'a Signed, name: &str) -> &'a str {
        s.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn suite_time_is_right() {
        assert_eq!(suite_time().amz_date(), "20150830T123600Z");
    }

    #[test]
    fn get_vanilla() {
        let s = suite_sign("GET", "", &[HOST], b"");
        assert_eq!(
            header(&s, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn post_vanilla() {
        let s = suite_sign("POST", "", &[HOST], b"");
        assert_eq!(
            s.signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn post_vanilla_query() {
        let s = suite_sign("POST", "Param1=value1", &[HOST], b"");
        assert_eq!(
            s.canonical_request,
            "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            s.signature,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let s = suite_sign("GET", "Param2=value2&Param1=value1", &[HOST], b"");
        assert_eq!(
            s.signature,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    /// The case PutMetricData is: a form body with a signed Content-Type.
    #[test]
    fn post_x_www_form_urlencoded() {
        let s = suite_sign(
            "POST",
            "",
            &[("Content-Type", "application/x-www-form-urlencoded"), HOST],
            b"Param1=value1",
        );
        assert_eq!(
            s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n\
             host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
        assert_eq!(
            s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"
        );
        assert_eq!(
            header(&s, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn session_token_is_signed_and_sent() {
        let req = request("POST", "", &[HOST], b"");
        let creds = Credentials::new(AKID, SECRET, Some("TOKEN"));
        let s = sign(&req, &creds, "us-east-1", "service", suite_time());
        assert!(s.canonical_request.contains("x-amz-security-token:TOKEN\n"));
        assert!(s
            .canonical_request
            .contains("host;x-amz-date;x-amz-security-token"));
        assert_eq!(header(&s, "X-Amz-Security-Token"), "TOKEN");
        assert!(!header(&s, "Authorization").contains(SECRET));
    }

    /// A remote-write request as the `prometheus` output signs it for Amazon Managed Service
    /// for Prometheus. The expected signature was computed with botocore 1.43
    /// (`SigV4Auth(Credentials(AKID, SECRET, "TOKEN"), "aps", "us-east-1")`, the same headers,
    /// `X-Amz-Content-Sha256` set), an implementation independent of this one.
    #[test]
    fn remote_write_with_payload_hash_matches_botocore() {
        let body: &[u8] = b"\x0a\x05hello";
        let req = Request {
            method: "POST",
            path: "/workspaces/ws-1234/api/v1/remote_write",
            query: "",
            headers: vec![
                (
                    "Host".into(),
                    "aps-workspaces.us-east-1.amazonaws.com".into(),
                ),
                ("Content-Encoding".into(), "snappy".into()),
                ("Content-Type".into(), "application/x-protobuf".into()),
                ("X-Prometheus-Remote-Write-Version".into(), "0.1.0".into()),
            ],
            body,
        };
        let creds = Credentials::new(AKID, SECRET, Some("TOKEN"));
        let s = sign_with_content_sha256(&req, &creds, "us-east-1", "aps", suite_time());
        let hash = sha256_hex(body);
        assert_eq!(header(&s, "X-Amz-Content-Sha256"), hash);
        assert!(
            s.canonical_request.ends_with(&format!(
                "content-encoding;content-type;host;x-amz-content-sha256;x-amz-date;\
                 x-amz-security-token;x-prometheus-remote-write-version\n{hash}"
            )),
            "{}",
            s.canonical_request
        );
        assert_eq!(s.signature, BOTOCORE_RW_SIGNATURE);
        let names: Vec<&str> = s.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "X-Amz-Date",
                "X-Amz-Content-Sha256",
                "X-Amz-Security-Token",
                "Authorization"
            ]
        );
    }

    const BOTOCORE_RW_SIGNATURE: &str =
        "212a01e1e2177a85e56cd88ce67f957ce80aa96d42d07cd302cf2ead0f09da1d";

    #[test]
    fn paths_and_queries() {
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_path("/a/./b/../c//d/"), "/a/c/d/");
        assert_eq!(canonical_path("/a b"), "/a%20b");
        assert_eq!(canonical_path("/a%20b"), "/a%2520b", "encoded again");
        assert_eq!(canonical_query("b=2&a=x%20y&a=1"), "a=1&a=x%20y&b=2");
    }

    /// Repeated header names: values joined with commas in the order given (the
    /// `get-header-value-order` case; the signature was computed with botocore 1.43).
    #[test]
    fn repeated_headers_keep_their_order() {
        let s = suite_sign(
            "GET",
            "",
            &[
                HOST,
                ("My-Header1", "value4"),
                ("My-Header1", "value1"),
                ("My-Header1", "value3"),
            ],
            b"",
        );
        assert!(
            s.canonical_request.contains(
                "my-header1:value4,value1,value3
"
            ),
            "{}",
            s.canonical_request
        );
        assert_eq!(
            s.signature,
            "4308aee29786bd01288955ced08fec4107b7a775176774808d7342b80eec106b"
        );
    }
}
