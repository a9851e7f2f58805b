//! The HTTP request builder on hostile input: a method, a URL, a redirect Location, header
//! names and values, and a value "extracted from a response" that lands in the URL, a header
//! and a cookie, as the VU builds them. Every request either is refused or is bytes that parse
//! back (httparse) to exactly the request asked for, with only what RFC 9110 allows on the
//! wire: the method and header names are tokens, the target visible ASCII, header values
//! field-vchar / SP / HTAB. Nothing else reaches the socket.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadrun_engine::http::head::HeadWriter;
use loadrun_engine::http::Url;

/// RFC 9110 tchar, written out here apart from the builder's own check.
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(tchar)
}

/// field-vchar (VCHAR, obs-text), SP, HTAB.
fn field_value(s: &str) -> bool {
    s.bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
}

fn check(method: &str, url: &Url, headers: &[(&str, String)]) {
    let authority = url.authority();
    assert!(
        url.path_query.starts_with('/')
            && url.path_query.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "a parsed URL has a target that is not visible ASCII: {:?}",
        url.path_query
    );
    assert!(
        authority.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "a parsed URL has a host that is not visible ASCII: {authority:?}"
    );
    let mut buf = Vec::new();
    let Ok(mut w) = HeadWriter::start(&mut buf, method, url) else {
        assert!(!token(method), "a valid method was refused: {method:?}");
        return;
    };
    assert!(token(method), "an invalid method was written: {method:?}");
    for (name, value) in headers {
        if w.header(name, value).is_err() {
            assert!(
                !token(name) || !field_value(value),
                "a valid header was refused: {name:?}: {value:?}"
            );
            return;
        }
        assert!(token(name), "an invalid header name was written: {name:?}");
        assert!(
            field_value(value),
            "an invalid value was written: {value:?}"
        );
    }
    w.finish(false);

    let mut parsed = [httparse::EMPTY_HEADER; 16];
    let mut req = httparse::Request::new(&mut parsed);
    let n = match req.parse(&buf) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "unparsable request {other:?}: {:?}",
            String::from_utf8_lossy(&buf)
        ),
    };
    assert_eq!(n, buf.len(), "bytes after the head: a second request?");
    assert_eq!(req.method, Some(method));
    assert_eq!(req.path, Some(url.path_query.as_str()));
    assert_eq!(req.version, Some(1));
    let mut want: Vec<(&str, &[u8])> = vec![("Host", authority.as_bytes())];
    for (name, value) in headers {
        want.push((name, value.trim_matches([' ', '\t']).as_bytes()));
    }
    let got: Vec<(&str, &[u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
    assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&buf));
}

fuzz_target!(|data: &[u8]| {
    // 0xFF never occurs in UTF-8: it separates the pieces, so any other byte can be in one.
    let pieces: Vec<&str> = data
        .split(|b| *b == 0xff)
        .map(|p| std::str::from_utf8(p).unwrap_or(""))
        .collect();
    let piece = |i: usize| pieces.get(i).copied().unwrap_or("");
    let (method, url_text, location, extracted) = (piece(0), piece(1), piece(2), piece(3));
    let mut headers: Vec<(&str, String)> = Vec::new();
    let mut i = 4;
    while i + 1 < pieces.len() && headers.len() < 6 {
        headers.push((pieces[i], pieces[i + 1].to_string()));
        i += 2;
    }
    headers.push(("X-Token", extracted.to_string()));
    headers.push(("Cookie", format!("t={extracted}")));

    let mut urls = Vec::new();
    for text in [
        url_text.to_string(),
        format!("http://127.0.0.1:8080/e?t={extracted}"),
        format!("https://{extracted}/"),
    ] {
        if let Ok(u) = Url::parse(&text) {
            urls.push(u);
        }
    }
    if let Ok(base) = Url::parse("http://127.0.0.1:8080/a/b") {
        if let Ok(u) = base.join(location) {
            urls.push(u);
        }
    }
    for url in &urls {
        let mut with_auth = headers.clone();
        if let Some(c) = &url.credentials {
            with_auth.push(("Authorization", c.basic_auth()));
        }
        check(method, url, &with_auth);
        check("GET", url, &[]);
    }
});
