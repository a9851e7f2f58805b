//! Proxies from the environment, as k6's outputs (Go) take them: `HTTP_PROXY` for http URLs,
//! loopback always direct. A test binary of its own: it sets process-wide variables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loadrun_http_support::{HttpClient, HttpConfig, Outcome, Url};
use loadrun_test_support::recorder::{Recorder, Response};

/// A forward proxy answering 204 itself; records each request line.
fn proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = lines.clone();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            log.lock().unwrap().push(line.trim_end().to_string());
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let _ = c.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (addr, lines)
}

#[test]
fn http_proxy_from_the_environment_but_never_for_loopback() {
    let (addr, lines) = proxy();
    // This binary has this one test: nothing else reads the variables meanwhile.
    std::env::set_var("HTTP_PROXY", format!("http://{addr}"));
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    let c = HttpClient::new(HttpConfig {
        gzip: false,
        ..HttpConfig::default()
    })
    .unwrap();
    let soon = || Some(Instant::now() + Duration::from_secs(5));
    let far = Url::parse("http://metrics.invalid/write").unwrap();
    let o = c.post(&far, &[], b"x", soon());
    assert!(matches!(o, Outcome::Delivered { status: 204, .. }), "{o:?}");
    assert_eq!(
        *lines.lock().unwrap(),
        vec!["POST http://metrics.invalid/write HTTP/1.1".to_string()]
    );
    let local = Recorder::start(|_| Response::new(204));
    let near = Url::parse(&format!("{}/write", local.url())).unwrap();
    let o = c.post(&near, &[], b"x", soon());
    assert!(matches!(o, Outcome::Delivered { status: 204, .. }), "{o:?}");
    assert_eq!(local.received().len(), 1);
    assert_eq!(
        lines.lock().unwrap().len(),
        1,
        "loopback went through the proxy"
    );
}
