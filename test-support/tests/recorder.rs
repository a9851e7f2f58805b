//! The shared recording server, driven over plain TCP so each test sees exactly what went over
//! the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use loadrun_test_support::recorder::{Recorder, Response};

/// A client connection that reads whole answers (Content-Length framed).
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(rec: &Recorder) -> Client {
        let s = TcpStream::connect(rec.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Client {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    fn send(&mut self, raw: &[u8]) {
        self.writer.write_all(raw).unwrap();
    }

    /// (status line, headers lower-cased, body).
    fn answer(&mut self) -> (String, Vec<(String, String)>, String) {
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        (
            status.trim_end().to_string(),
            headers,
            String::from_utf8(body).unwrap(),
        )
    }

    /// Whether the server closed the connection (end of stream, nothing more).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(self.reader.read_to_end(&mut rest), Ok(0))
    }
}

fn post(path: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn echo() -> Recorder {
    Recorder::start(|req| {
        let mut r = Response::json(201, &format!("{{\"got\":{}}}", req.body.len()))
            .header("X-Path", &req.path);
        if req.path == "/bad" {
            r = r.problems(vec!["bad path".into()]);
        }
        r
    })
}

#[test]
fn a_request_round_trip_is_answered_by_the_handler_and_recorded() {
    let rec = echo();
    let mut c = Client::connect(&rec);
    c.send(&post("/write?db=x", "X-Key: k1\r\n", b"hello"));
    let (status, headers, body) = c.answer();
    assert_eq!(status, "HTTP/1.1 201 Created");
    assert!(headers.contains(&("x-path".into(), "/write?db=x".into())));
    assert!(headers.contains(&("content-type".into(), "application/json".into())));
    assert_eq!(body, r#"{"got":5}"#);

    let got = rec.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.line, "POST /write?db=x HTTP/1.1");
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/write?db=x")
    );
    assert_eq!(r.header("x-KEY"), Some("k1"), "names in any case");
    assert_eq!(r.headers[1], ("X-Key".into(), "k1".into()), "kept as sent");
    assert_eq!((r.wire_len, r.text()), (5, "hello".to_string()));
    assert_eq!(r.status, 201);
    assert!(r.problems.is_empty());
    assert_eq!(rec.accepted().len(), 1);
}

#[test]
fn the_handlers_problems_are_recorded_not_sent() {
    let rec = echo();
    let mut c = Client::connect(&rec);
    c.send(&post("/bad", "", b"{}"));
    let (_, _, body) = c.answer();
    assert_eq!(body, r#"{"got":2}"#);
    assert_eq!(rec.received()[0].problems, vec!["bad path".to_string()]);
}

#[test]
fn gzip_and_deflate_bodies_are_decoded_others_kept_as_sent() {
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    let text = "cpu value=1 1\n".repeat(100);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let mut zl = ZlibEncoder::new(Vec::new(), Compression::default());
    zl.write_all(text.as_bytes()).unwrap();
    let zl = zl.finish().unwrap();

    let rec = echo();
    let mut c = Client::connect(&rec);
    for (coding, body) in [
        ("gzip", &gz[..]),
        ("deflate", &zl[..]),
        ("snappy", b"\x05\x10hello"),
        ("gzip", b"not gzip"),
    ] {
        c.send(&post("/", &format!("Content-Encoding: {coding}\r\n"), body));
        c.answer();
    }
    let got = rec.received();
    assert_eq!((got[0].text(), got[0].wire_len), (text.clone(), gz.len()));
    assert!(got[0].wire_len < got[0].body.len());
    assert_eq!((got[1].text(), got[1].wire_len), (text, zl.len()));
    assert_eq!(got[2].body, b"\x05\x10hello", "left for the handler");
    assert!(got[2].decode_error.is_none());
    assert_eq!(got[3].body, b"not gzip");
    assert!(got[3].decode_error.is_some());
}

#[test]
fn a_chunked_body_is_reassembled() {
    let rec = echo();
    let mut c = Client::connect(&rec);
    c.send(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    assert_eq!(c.answer().2, r#"{"got":11}"#);
    // The connection is still usable after the trailer.
    c.send(&post("/after", "", b""));
    assert_eq!(c.answer().2, r#"{"got":0}"#);
    let got = rec.received();
    assert_eq!((got[0].text(), got[0].wire_len), ("hello world".into(), 11));
    assert_eq!(got[1].path, "/after");
}

#[test]
fn canned_answers_come_first_in_order_then_the_handler_again() {
    let rec = echo();
    rec.queue(
        Response::new(429)
            .header("Retry-After", "3")
            .body("slow down"),
    );
    rec.queue_raw("HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nboom");
    let mut c = Client::connect(&rec);
    c.send(&post("/1", "", b"a"));
    let (status, headers, body) = c.answer();
    assert_eq!(status, "HTTP/1.1 429 Too Many Requests");
    assert!(headers.contains(&("retry-after".into(), "3".into())));
    assert_eq!(body, "slow down");
    // A structured canned answer keeps the connection; the raw one closes it after itself.
    c.send(&post("/2", "", b"b"));
    assert_eq!(
        c.answer(),
        (
            "HTTP/1.1 500 Oops".into(),
            vec![("content-length".into(), "4".into())],
            "boom".into()
        )
    );
    assert!(c.closed(), "closed after a raw answer");

    let mut c = Client::connect(&rec);
    c.send(&post("/bad", "", b"c"));
    assert_eq!(c.answer().2, r#"{"got":1}"#);
    let got = rec.received();
    let statuses: Vec<u16> = got.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [429, 500, 201]);
    // The handler saw the canned-answered requests too (its checks cover every request).
    assert!(got[1].problems.is_empty() && got[2].problems == ["bad path"]);
    assert_eq!(rec.accepted().len(), 1);
}

#[test]
fn the_down_switch_answers_503_until_cleared() {
    let rec = echo();
    let mut c = Client::connect(&rec);
    rec.set_down(true);
    c.send(&post("/", "", b""));
    assert_eq!(c.answer().0, "HTTP/1.1 503 Service Unavailable");
    rec.set_down_answer(Response::json(503, r#"{"error":"down"}"#));
    c.send(&post("/", "", b""));
    assert_eq!(c.answer().2, r#"{"error":"down"}"#);
    // A canned answer still goes first.
    rec.queue(Response::new(500));
    c.send(&post("/", "", b""));
    assert_eq!(c.answer().0, "HTTP/1.1 500 Internal Server Error");
    rec.set_down(false);
    c.send(&post("/", "", b""));
    assert_eq!(c.answer().0, "HTTP/1.1 201 Created");
    let statuses: Vec<u16> = rec.received().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [503, 503, 500, 201]);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection_until_close_is_asked() {
    let rec = echo();
    let mut c = Client::connect(&rec);
    for i in 0..3 {
        c.send(&post(&format!("/{i}"), "", b"x"));
        assert_eq!(c.answer().0, "HTTP/1.1 201 Created");
    }
    // Two requests at once (pipelined) are answered in order.
    let mut two = post("/p1", "", b"");
    two.extend(post("/p2", "", b""));
    c.send(&two);
    c.answer();
    c.answer();
    c.send(&post("/last", "Connection: close\r\n", b""));
    c.answer();
    assert!(c.closed(), "closed after Connection: close");
    let paths: Vec<String> = rec.received().iter().map(|e| e.path.clone()).collect();
    assert_eq!(paths, ["/0", "/1", "/2", "/p1", "/p2", "/last"]);
}

#[test]
fn an_answer_saying_connection_close_closes() {
    let rec = Recorder::start(|_| Response::new(202).header("Connection", "close"));
    let mut c = Client::connect(&rec);
    c.send(&post("/", "", b""));
    assert_eq!(c.answer().0, "HTTP/1.1 202 Accepted");
    assert!(c.closed());
}

#[test]
fn dropping_the_recorder_stops_it_and_ends_open_connections() {
    let rec = echo();
    let addr = rec.addr().to_string();
    assert_eq!(rec.url(), format!("http://{addr}"));
    let mut c = Client::connect(&rec);
    c.send(&post("/", "", b""));
    c.answer();
    drop(rec);
    assert!(c.closed(), "the kept-alive connection ends");
    assert!(
        TcpStream::connect(&addr).is_err(),
        "nothing listens any more"
    );
}

#[test]
fn start_on_brings_a_server_up_on_a_given_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rec = Recorder::start_on(&format!("127.0.0.1:{port}"), |_| Response::new(204));
    assert_eq!(rec.addr(), format!("127.0.0.1:{port}"));
    let mut c = Client::connect(&rec);
    c.send(&post("/", "", b""));
    assert_eq!(c.answer().0, "HTTP/1.1 204 No Content");
}
