//! An export the real receiver took whole and whose answer was lost: a proxy forwards the
//! request but not the answer, then either cuts the output's connection once the receiver
//! holds the request, or keeps the answer until the output's timeout ran out. Under delta
//! temporality the receiver adds up what it gets, so the export must not be sent again: its
//! samples are counted lost, once, loudly. Under cumulative temporality a copy cannot count
//! anything twice, and it is sent again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use loadrun_plugin_api::testkit::completed_outcome;
use loadrun_plugin_api::WriteStatus;

/// What becomes of the receiver's answers while the proxy is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lose {
    /// Kept back; once the receiver holds one more request, the output's connections are cut.
    Cut,
    /// Kept back: the output waits for them until its timeout.
    Late,
}

#[derive(Default)]
struct State {
    /// The fault and how many requests the receiver held when it was armed.
    armed: Option<(Lose, usize)>,
    /// The output's side of every connection, to cut.
    clients: Vec<TcpStream>,
}

/// A TCP proxy in front of one of the receiver's listeners (`base` is its read-back URL).
struct AnswerLoser {
    addr: String,
    state: Arc<Mutex<State>>,
}

impl AnswerLoser {
    fn new(target: String, base: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                st.lock().unwrap().clients.push(client.try_clone().unwrap());
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(Shutdown::Write);
                });
                let (mut s_in, mut c_out) = (server, client);
                let st = st.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    loop {
                        match s_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if st.lock().unwrap().armed.is_some() {
                                    continue;
                                }
                                if c_out.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    // The receiver closed: passed on unless the answer is being kept back.
                    if st.lock().unwrap().armed.is_none() {
                        let _ = c_out.shutdown(Shutdown::Write);
                    }
                });
            }
        });
        let st = state.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(10));
            let Some((Lose::Cut, held)) = st.lock().unwrap().armed else {
                continue;
            };
            let now = received(&base).len();
            if now > held {
                let mut s = st.lock().unwrap();
                for c in s.clients.drain(..) {
                    let _ = c.shutdown(Shutdown::Both);
                }
                s.armed = Some((Lose::Cut, now));
            }
        });
        AnswerLoser { addr, state }
    }

    fn arm(&self, lose: Lose, held: usize) {
        self.state.lock().unwrap().armed = Some((lose, held));
    }

    fn disarm(&self) {
        self.state.lock().unwrap().armed = None;
    }
}

/// Three exports of one iteration each; the second one's answer is lost. Returns the requests
/// the receiver holds and the host's record.
fn run(
    grpc: bool,
    lose: Lose,
    temporality: &str,
) -> Option<(
    usize,
    f64,
    Arc<loadrun_plugin_api::testkit::Recorded>,
    usize,
)> {
    let svc = receiver()?;
    let base = http_url(&svc);
    let target = if grpc {
        svc.var("OTLP_GRPC_ADDR").to_string()
    } else {
        base.trim_start_matches("http://").to_string()
    };
    let proxy = AnswerLoser::new(target, base.clone());
    let endpoint = if grpc {
        format!("protocol=grpc,endpoint=http://{}", proxy.addr)
    } else {
        format!("endpoint=http://{}", proxy.addr)
    };
    let (mut out, rec) = output(
        &format!("{endpoint},exportInterval=1h,temporality={temporality},timeout=500ms"),
        &[],
    );
    let mut run = K6Run::new();
    // The first export goes through: the connection is up and the receiver spoke on it.
    run.iteration(0, 1.0);
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    out.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(received(&base).len(), 1);
    // The second is taken, its answer lost.
    run.b.clear_samples();
    run.iteration(1, 1.0);
    let lost_samples = run.b.samples.len();
    assert_eq!(out.write(run.b.samples_only()), WriteStatus::Ok);
    proxy.arm(lose, 1);
    // Resending (the old behaviour) keeps retrying until this deadline, then fails.
    let _ = out.flush(Duration::from_secs(3));
    proxy.disarm();
    // The third goes through again.
    run.b.clear_samples();
    run.iteration(2, 1.0);
    assert_eq!(out.write(run.b.samples_only()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let iterations: Vec<f64> = of(&points(&base), "iterations")
        .iter()
        .map(|p| value(p))
        .collect();
    let held = match temporality {
        "delta" => iterations.iter().sum(),
        _ => iterations.last().copied().unwrap_or(0.0),
    };
    Some((received(&base).len(), held, rec, lost_samples))
}

fn the_lost_answer_is_not_sent_again(grpc: bool, lose: Lose) {
    let Some((requests, iterations, rec, lost)) = run(grpc, lose, "delta") else {
        return;
    };
    assert_eq!(
        requests, 3,
        "the export whose answer was lost was sent again"
    );
    // The receiver holds every iteration once, the second one included.
    assert_eq!(iterations, 3.0);
    assert_eq!(rec.counter("unconfirmed_requests"), 1);
    assert_eq!(rec.counter("samples_lost"), lost as u64);
    let warned: Vec<String> = rec
        .logs()
        .into_iter()
        .map(|(_, text)| text)
        .filter(|t| t.contains("not sent again"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("after the whole request was sent"),
        "{}",
        warned[0]
    );
}

#[test]
fn http_delta_cut_after_the_receiver_took_it() {
    the_lost_answer_is_not_sent_again(false, Lose::Cut);
}

#[test]
fn http_delta_answered_after_the_timeout() {
    the_lost_answer_is_not_sent_again(false, Lose::Late);
}

#[test]
fn grpc_delta_cut_after_the_receiver_took_it() {
    the_lost_answer_is_not_sent_again(true, Lose::Cut);
}

#[test]
fn grpc_delta_answered_after_the_timeout() {
    the_lost_answer_is_not_sent_again(true, Lose::Late);
}

#[test]
fn cumulative_points_are_sent_again_as_a_copy_counts_nothing_twice() {
    let Some((requests, last_total, rec, _)) = run(false, Lose::Cut, "cumulative") else {
        return;
    };
    assert!(requests >= 4, "the export was not sent again: {requests}");
    assert_eq!(last_total, 3.0);
    assert_eq!(rec.counter("unconfirmed_requests"), 0);
    assert_eq!(rec.counter("samples_lost"), 0);
}
