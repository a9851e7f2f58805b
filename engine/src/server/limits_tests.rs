//! The server's limits, seen as raw bytes on the wire by a plain blocking socket client.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{Limits, TestServer};

fn server(limits: Limits) -> TestServer {
    TestServer::start_with("127.0.0.1:0".parse().unwrap(), 1, limits).unwrap()
}

fn connect(srv: &TestServer) -> TcpStream {
    let s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Everything the server sends until it closes (bounded by the read timeout).
fn exchange(srv: &TestServer, req: &[u8]) -> Vec<u8> {
    let mut s = connect(srv);
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// One response off a keep-alive connection: its head and its body.
fn read_response(s: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok((head, body))
}

fn header_lines(resp: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(resp);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n").map(str::to_string).collect()
}

fn assert_refused_without_injection(resp: &[u8]) {
    let text = String::from_utf8_lossy(resp);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text:?}");
    // Not anywhere in the bytes: a split response could put it in the body of a second one.
    assert!(!text.contains("X-Evil"), "{text:?}");
    assert!(
        header_lines(resp)
            .iter()
            .all(|l| !l.starts_with("Set-Cookie") && !l.starts_with("Location")),
        "{text:?}"
    );
}

#[test]
fn redirect_to_does_not_split_the_response() {
    let srv = server(Limits::default());
    for url in [
        "%0d%0aX-Evil:%201",
        "/a%0aX-Evil:%201",
        "/a%0dX-Evil:1",
        "/a%00X-Evil",
    ] {
        let req =
            format!("GET /redirect-to?url={url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let resp = exchange(&srv, req.as_bytes());
        assert_refused_without_injection(&resp);
    }
    // A good one still redirects.
    let resp = exchange(
        &srv,
        b"GET /redirect-to?url=%2Fget%3Fa%3D1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        header_lines(&resp).contains(&"Location: /get?a=1".to_string()),
        "{:?}",
        String::from_utf8_lossy(&resp)
    );
}

#[test]
fn cookies_do_not_split_the_response_or_add_attributes() {
    let srv = server(Limits::default());
    for q in [
        "set?a=b%0d%0aX-Evil:%201",
        "set?a%0d%0aX-Evil:%201=b",
        "set?a=b%0aX-Evil",
        "set?a=b%3B%20Domain%3Devil.example",
        "delete?a%0d%0aX-Evil:%201",
    ] {
        let req = format!("GET /cookies/{q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let resp = exchange(&srv, req.as_bytes());
        assert_refused_without_injection(&resp);
        assert!(!String::from_utf8_lossy(&resp).contains("evil.example"));
    }
    let resp = exchange(
        &srv,
        b"GET /cookies/set?a=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(header_lines(&resp).contains(&"Set-Cookie: a=b; Path=/".to_string()));
}

fn short_timeouts() -> Limits {
    Limits {
        head_timeout: Duration::from_millis(400),
        ..Limits::default()
    }
}

#[test]
fn a_half_sent_head_is_cut_off() {
    let srv = server(short_timeouts());
    let mut s = connect(&srv);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut out = Vec::new();
    // Without a head timeout this read waits for the 20 s read timeout and fails.
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text:?}");
}

#[test]
fn a_trickled_head_is_cut_off() {
    let srv = server(short_timeouts());
    let mut s = connect(&srv);
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let mut closed = false;
    // One byte every 100 ms never completes a head; the server must give up on it.
    for b in b"GET /".iter().chain(std::iter::repeat(&b'a')).take(200) {
        if s.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let mut chunk = [0u8; 512];
        match s.read(&mut chunk) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "still open after {:?}", started.elapsed());
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408 "),
        "{text:?}"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let srv = server(Limits {
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    let mut s = connect(&srv);
    s.write_all(b"GET /get HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (head, _) = read_response(&mut s).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn an_over_cap_body_gets_413_unread() {
    let srv = server(Limits {
        max_body: 1024,
        ..Limits::default()
    });
    // Announced as 100 MB and never sent: the answer cannot wait for it.
    let resp = exchange(
        &srv,
        b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nsome of it",
    );
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text:?}");
    assert!(text.contains("limit of 1024 bytes"), "{text:?}");

    let chunk = "x".repeat(2000);
    let req = format!(
        "POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let text = String::from_utf8_lossy(&exchange(&srv, req.as_bytes())).into_owned();
    assert!(text.starts_with("HTTP/1.1 413 "), "{text:?}");

    // At the cap is fine.
    let body = "y".repeat(1024);
    let req = format!(
        "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n{body}"
    );
    let text = String::from_utf8_lossy(&exchange(&srv, req.as_bytes())).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 "), "{}", &text[..100]);
}

/// The echo's body length for a POST of `body` with `ctype`.
fn echo_len(srv: &TestServer, ctype: &str, body: &[u8]) -> usize {
    let mut s = connect(srv);
    let head = format!(
        "POST /post HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let (head, resp) = read_response(&mut s).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    if ctype.contains("json") {
        assert_eq!(
            v["json"],
            serde_json::from_slice::<serde_json::Value>(body).unwrap()
        );
    }
    resp.len()
}

#[test]
fn echo_does_not_amplify() {
    let srv = server(Limits::default());
    let n = 256 * 1024;
    let bound = 3 * n + 4096;
    // Control bytes, each escaped as \u00XX in both `data` and `form`, made the echo 12 times
    // the body.
    let ctl = vec![1u8; n];
    let got = echo_len(&srv, "application/x-www-form-urlencoded", &ctl);
    assert!(got <= bound, "{got} bytes for a {n}-byte body");
    let got = echo_len(&srv, "application/octet-stream", &[0xffu8; 1024 * 256]);
    assert!(got <= bound, "{got} bytes for a {n}-byte body");
    // Pretty-printing a deep document indented every element.
    let depth = 100;
    let mut json = "[".repeat(depth);
    json.push_str(&"1,".repeat((n - 2 * depth) / 2 - 1));
    json.push('1');
    json.push_str(&"]".repeat(depth));
    let got = echo_len(&srv, "application/json", json.as_bytes());
    assert!(
        got <= 3 * json.len() + 4096,
        "{got} bytes for a {}-byte body",
        json.len()
    );
}

#[test]
fn excess_connections_wait_for_a_free_slot() {
    let srv = server(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    let mut a = connect(&srv);
    a.write_all(b"GET /get HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut a)
        .unwrap()
        .0
        .starts_with("HTTP/1.1 200 "));

    let mut b = connect(&srv);
    b.write_all(b"GET /get HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    b.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut one = [0u8; 1];
    match b.read(&mut one) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a second connection was served past the cap: {other:?}"),
    }
    drop(a);
    b.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (head, _) = read_response(&mut b).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
}

#[test]
fn bytes_are_streamed_in_pattern() {
    let srv = server(Limits::default());
    let n = 3 * 65520 + 7;
    let resp = exchange(
        &srv,
        format!("GET /bytes/{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let body = &resp[at..];
    assert_eq!(body.len(), n);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == b'a' + (i % 26) as u8));
    let head = exchange(
        &srv,
        b"HEAD /bytes/100 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(String::from_utf8_lossy(&head)
        .ends_with("Content-Length: 100\r\nConnection: close\r\n\r\n"));
}
