//! Writes an HTTP/1.1 request head and refuses what RFC 9110 does not allow in one: a method or
//! header name that is not a token, a target that is not visible ASCII, a header value with a
//! control character. A CR or LF there would end the line, so whoever controls the value (a
//! response whose data was extracted, a data feed, an environment variable) could add headers
//! or a whole second request. Such a request is not sent; it fails with k6's error code, as
//! Go's client (and so k6) refuses it.

use super::client::HttpError;
use super::url::Url;

/// k6's code for a request whose URL is invalid.
pub const INVALID_URL: u32 = 1020;
/// k6's generic code: what Go's `net/http: invalid header field ...` errors map to in k6.
pub const INVALID_REQUEST: u32 = 1000;

/// RFC 9110 `token`: what a method and a header name are made of.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 `field-value` without its surrounding blanks: field-vchar (visible ASCII and
/// obs-text), SP and HTAB.
pub fn is_field_value(s: &str) -> bool {
    field_value_problem(s).is_none()
}

/// Why `s` cannot be a header value (see [`is_field_value`]), for a message; `None` if it can.
/// The one copy of the rule: the client refuses to send such a value, and the test server
/// refuses to echo one back (response splitting).
pub fn field_value_problem(s: &str) -> Option<&'static str> {
    let bad = s
        .bytes()
        .find(|&b| !(b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80))?;
    Some(match bad {
        b'\r' | b'\n' => "contains CR or LF, which cannot go in a header",
        0 => "contains NUL, which cannot go in a header",
        _ => "contains a control character, which cannot go in a header",
    })
}

/// A request target in origin form: `/` then visible ASCII, no spaces.
pub fn is_origin_form(s: &str) -> bool {
    s.starts_with('/') && s.bytes().all(|b| b.is_ascii_graphic())
}

fn invalid_url(what: &str, url: &Url) -> HttpError {
    HttpError {
        code: INVALID_URL,
        message: format!("invalid URL \"{url}\": {what}"),
    }
}

/// A request head being written into a buffer; every piece is checked before it is written.
pub struct HeadWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> HeadWriter<'a> {
    /// Clears `buf` and writes the request line and the Host header.
    pub fn start(buf: &'a mut Vec<u8>, method: &str, url: &Url) -> Result<Self, HttpError> {
        buf.clear();
        if !is_token(method) {
            return Err(HttpError {
                code: INVALID_REQUEST,
                message: format!("net/http: invalid method {method:?}"),
            });
        }
        // `Url` only hands out checked targets and hosts; checked again here because a bad
        // byte in either is an injection, whatever built the `Url`.
        if !is_origin_form(&url.path_query) {
            return Err(invalid_url("invalid character in the path or query", url));
        }
        for piece in [
            method.as_bytes(),
            b" ",
            url.path_query.as_bytes(),
            b" HTTP/1.1\r\nHost: ",
        ] {
            buf.extend_from_slice(piece);
        }
        let host_at = buf.len();
        url.write_authority(buf);
        if !buf[host_at..].iter().all(|b| b.is_ascii_graphic()) {
            buf.clear();
            return Err(invalid_url("invalid character in the host", url));
        }
        buf.extend_from_slice(b"\r\n");
        Ok(Self { buf })
    }

    /// Writes `name: value`; the value's surrounding blanks are dropped (as Go does), since a
    /// parser drops them too.
    pub fn header(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        if !is_token(name) {
            return Err(HttpError {
                code: INVALID_REQUEST,
                message: format!("net/http: invalid header field name {name:?}"),
            });
        }
        if !is_field_value(value) {
            return Err(HttpError {
                code: INVALID_REQUEST,
                message: format!("net/http: invalid header field value for {name:?}"),
            });
        }
        let value = value.trim_matches([' ', '\t']);
        for piece in [name.as_bytes(), b": ", value.as_bytes(), b"\r\n"] {
            self.buf.extend_from_slice(piece);
        }
        Ok(())
    }

    /// Ends the head with a Content-Length for `body` and appends it.
    pub fn finish_with_body(self, body: &[u8]) {
        self.buf.extend_from_slice(b"Content-Length: ");
        self.buf
            .extend_from_slice(body.len().to_string().as_bytes());
        self.buf.extend_from_slice(b"\r\n\r\n");
        self.buf.extend_from_slice(body);
    }

    /// Ends a head without a body; `zero_length` announces the empty body (POST/PUT/PATCH).
    pub fn finish(self, zero_length: bool) {
        if zero_length {
            self.buf.extend_from_slice(b"Content-Length: 0\r\n");
        }
        self.buf.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn parse(buf: &[u8]) -> (String, String, Vec<(String, String)>, usize) {
        let mut h = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut h);
        let n = match req.parse(buf).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("partial head"),
        };
        let headers = req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        (
            req.method.unwrap().to_string(),
            req.path.unwrap().to_string(),
            headers,
            n,
        )
    }

    #[test]
    fn tokens_and_values() {
        assert!(is_token("X-Request-Id"));
        assert!(is_token("PATCH"));
        assert!(!is_token(""));
        assert!(!is_token("X Evil"));
        assert!(!is_token("X:Evil"));
        assert!(!is_token("X\r\nEvil"));
        assert!(is_field_value("a b\tc ünï"));
        assert!(is_field_value(""));
        for bad in ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\0b", "a\x7fb", "a\x1bb"] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_value_says_why() {
        assert_eq!(field_value_problem("a b\tc ünï"), None);
        assert_eq!(
            field_value_problem("a\r\nX-Evil: 1"),
            Some("contains CR or LF, which cannot go in a header")
        );
        assert_eq!(
            field_value_problem("a\0"),
            Some("contains NUL, which cannot go in a header")
        );
        assert_eq!(
            field_value_problem("a\x7f"),
            Some("contains a control character, which cannot go in a header")
        );
    }

    #[test]
    fn refuses_crlf_and_nul_in_header_names_and_values() {
        let u = url("http://127.0.0.1:8080/a?b=1");
        let mut buf = Vec::new();
        for (name, value) in [
            ("X-Token", "abc\r\nX-Evil: 1\r\n\r\nGET /smuggled"),
            ("X-Token", "abc\nX-Evil: 1"),
            ("X-Token", "abc\0"),
            ("X-Evil: 1\r\nX-Token", "abc"),
            ("X Token", "abc"),
            ("", "abc"),
        ] {
            let mut w = HeadWriter::start(&mut buf, "GET", &u).unwrap();
            let e = w.header(name, value).unwrap_err();
            assert_eq!(e.code, INVALID_REQUEST, "{name:?}: {value:?}");
            assert!(e.message.starts_with("net/http: invalid header field"));
            assert!(!e.message.contains('\r') && !e.message.contains('\n'));
        }
    }

    #[test]
    fn refuses_an_invalid_method() {
        let u = url("http://127.0.0.1/");
        let mut buf = Vec::new();
        for m in ["GET / HTTP/1.1\r\nX: y\r\n\r\nGET", "GE T", "", "GET\0"] {
            let e = HeadWriter::start(&mut buf, m, &u).err().unwrap();
            assert_eq!(e.code, INVALID_REQUEST);
        }
    }

    #[test]
    fn a_url_built_by_hand_with_a_bad_target_is_refused() {
        let mut u = url("http://127.0.0.1/");
        u.path_query = "/e?t=abc\r\nX-Evil: 1".into();
        let mut buf = Vec::new();
        let e = HeadWriter::start(&mut buf, "GET", &u).err().unwrap();
        assert_eq!(e.code, INVALID_URL);
        let mut u = url("http://127.0.0.1/");
        u.host = "h\r\nx".into();
        let e = HeadWriter::start(&mut buf, "GET", &u).err().unwrap();
        assert_eq!(e.code, INVALID_URL);
    }

    #[test]
    fn what_is_written_parses_back_to_the_same_request() {
        let u = url("http://127.0.0.1:8080/a b/ü?q=\"x\"&r={1}");
        let mut buf = Vec::new();
        let mut w = HeadWriter::start(&mut buf, "POST", &u).unwrap();
        w.header("X-A", "  spaced\tvalue  ").unwrap();
        w.header("Cookie", "a=1; b=2").unwrap();
        w.finish_with_body(b"hello");
        let (method, path, headers, n) = parse(&buf);
        assert_eq!(method, "POST");
        assert_eq!(path, "/a%20b/%C3%BC?q=%22x%22&r=%7B1%7D");
        assert_eq!(
            headers,
            vec![
                ("Host".into(), "127.0.0.1:8080".into()),
                ("X-A".into(), "spaced\tvalue".into()),
                ("Cookie".into(), "a=1; b=2".into()),
                ("Content-Length".into(), "5".into()),
            ]
        );
        assert_eq!(&buf[n..], b"hello");
        // HTTP/2 re-reads this head into `http` types: the target must be a valid URI there.
        assert!(http::Uri::try_from(u.to_string()).is_ok());
    }
}
