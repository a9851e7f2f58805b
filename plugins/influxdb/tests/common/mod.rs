//! Test helpers: a recording HTTP responder (for the status codes a real InfluxDB never
//! sends, and to see the exact requests), and shortcuts to drive the output in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::Arc;

use loadrun_plugin_api::testkit::{self, Recorded};
use loadrun_plugin_api::{Output, Plugin};
use loadrun_test_support::recorder::Recorder;

/// One request as received (`line` is the request line, `text()` the gunzipped body).
pub use loadrun_test_support::recorder::Exchange as Received;
/// A canned answer.
pub use loadrun_test_support::recorder::Response as Reply;

/// Answers each request with the next queued reply (204, InfluxDB's "written", when the queue is
/// empty) and records it.
pub struct Responder {
    pub url: String,
    server: Recorder,
}

impl Responder {
    pub fn start() -> Responder {
        Self::start_on("127.0.0.1:0")
    }

    /// On a given address (to bring a "down" server up on the port the output already uses).
    pub fn start_on(addr: &str) -> Responder {
        let server = Recorder::start_on(addr, |_| Reply::new(204));
        Responder {
            url: server.url(),
            server,
        }
    }

    pub fn push(&self, reply: Reply) {
        self.server.queue(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.server.received()
    }

    pub fn writes(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.line.contains("/write"))
            .collect()
    }
}

/// Builds the output for `-o influxdb=ARG` with the given environment.
pub fn output(arg: &str, env: &[(&str, &str)]) -> Box<dyn Output> {
    let init = testkit::init("influxdb", Some(arg), "{}", env);
    match out_influxdb::InfluxPlugin::new_output(init) {
        Ok(o) => o,
        Err(e) => panic!("new_output: {e}"),
    }
}

/// The output, started with a recording host.
pub fn started(arg: &str, env: &[(&str, &str)]) -> (Box<dyn Output>, Arc<Recorded>) {
    testkit::started::<out_influxdb::InfluxPlugin>(testkit::init("influxdb", Some(arg), "{}", env))
}

/// A loopback port with nothing listening on it.
pub fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A server that accepts connections and never answers.
pub fn blackhole() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    url
}
