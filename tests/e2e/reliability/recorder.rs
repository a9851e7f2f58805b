//! A recording HTTP server for outputs whose service does not run here (Datadog API, New Relic,
//! k6 Cloud): it keeps every request it answered 2xx, for read-back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Answer = dyn Fn(&Request) -> (u16, String) + Send + Sync;

pub struct Recorder {
    addr: String,
    stored: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    /// Answers each request with `answer(req)`; a 2xx request is stored.
    pub fn start(answer: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let stored = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let s = stored.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (s, a) = (s.clone(), answer.clone());
                std::thread::spawn(move || serve(c, &s, &*a));
            }
        });
        Recorder { addr, stored }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn stored(&self) -> Vec<Request> {
        self.stored.lock().unwrap().clone()
    }
}

fn serve(c: TcpStream, stored: &Mutex<Vec<Request>>, answer: &Answer) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut w = c;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut req = Request {
            method,
            path,
            headers,
            body: Vec::new(),
        };
        if req
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let mut size = String::new();
                if r.read_line(&mut size).unwrap_or(0) == 0 {
                    return;
                }
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0u8; n + 2];
                if r.read_exact(&mut chunk).is_err() {
                    return;
                }
                if n == 0 {
                    break;
                }
                req.body.extend_from_slice(&chunk[..n]);
            }
        } else {
            let n = req
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            req.body = vec![0u8; n];
            if r.read_exact(&mut req.body).is_err() {
                return;
            }
        }
        let (status, body) = answer(&req);
        if (200..300).contains(&status) {
            stored.lock().unwrap().push(req);
        }
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if w.write_all(head.as_bytes()).is_err() || w.write_all(body.as_bytes()).is_err() {
            return;
        }
    }
}
