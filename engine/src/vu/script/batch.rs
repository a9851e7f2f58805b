//! `http.batch`: a script's requests run concurrently, at most k6's `batch` at once and
//! `batchPerHost` to one host. Each runs on a lane: a VU of its own (client, connection,
//! buffers) kept by the script's VU for its later batches, so the single request's path is
//! untouched. Every request records its samples as a single request does.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use parking_lot::Mutex;

use crate::compile::Flow;
use crate::cookies::CookieJar;
use crate::http::Url;
use crate::script::{BatchCall, ScriptRequest, ScriptResponse, VU_JAR};
use crate::vu::Vu;

/// A lane's sample buffer: a batch is a handful of requests, flushed when it ends.
const LANE_BUFFER: usize = 256;

/// The lanes a VU has used for its batches.
#[derive(Default)]
pub(crate) struct Lanes(Vec<Vu>);

/// One request for a lane, with the copy of its jar it runs with.
struct Job {
    index: usize,
    id: u32,
    jar_id: u32,
    before: CookieJar,
    request: ScriptRequest,
}

/// What a lane did for one request: its response and its jar's copy afterwards.
struct Done {
    index: usize,
    jar_id: u32,
    before: CookieJar,
    after: CookieJar,
    response: ScriptResponse,
}

/// How a batch's requests are run: `hosts` holds each host's requests in order; each lane
/// takes turns at the hosts in its list, taking that host's next request while there is one.
/// A host is in at most `per_host` lanes' lists and there are at most `limit` lanes, so no more
/// than `per_host` requests to a host, nor `limit` in all, are under way at once; within those
/// limits a lane that is done takes the next request, as k6's workers do.
#[derive(Debug, PartialEq)]
struct Plan {
    hosts: Vec<Vec<usize>>,
    lanes: Vec<Vec<usize>>,
}

fn plan(urls: &[&str], limit: usize, per_host: usize) -> Plan {
    let mut keys: Vec<String> = Vec::new();
    let mut hosts: Vec<Vec<usize>> = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        // A URL that does not parse fails on its own; it is its own host.
        let key = match Url::parse(url) {
            Ok(u) => format!("{}:{}", u.host, u.port),
            Err(_) => (*url).to_string(),
        };
        match keys.iter().position(|k| *k == key) {
            Some(h) => hosts[h].push(i),
            None => {
                keys.push(key);
                hosts.push(vec![i]);
            }
        }
    }
    // A slot is one request to its host under way at a time.
    let mut slots: Vec<usize> = Vec::new();
    for (h, list) in hosts.iter().enumerate() {
        let n = if per_host == 0 {
            list.len()
        } else {
            per_host.min(list.len())
        };
        slots.extend(std::iter::repeat_n(h, n));
    }
    let n = limit.max(1).min(slots.len());
    let mut lanes: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, h) in slots.into_iter().enumerate() {
        lanes[k % n].push(h);
    }
    Plan { hosts, lanes }
}

impl Vu {
    /// Runs a batch's requests; the responses in the requests' order.
    pub(in crate::vu) async fn script_batch(
        &mut self,
        flow: &Flow,
        b: BatchCall,
    ) -> Vec<ScriptResponse> {
        let n = b.requests.len();
        // Setup and teardown run theirs one by one: a lane is a scenario's VU and would tag
        // its samples with the scenario, which k6 leaves off theirs.
        let lifecycle = self.script.as_ref().is_some_and(|s| s.lifecycle());
        if n <= 1 || b.limit <= 1 || lifecycle {
            let mut out = Vec::with_capacity(n);
            for r in b.requests {
                out.push(self.script_request(flow, r).await);
            }
            return out;
        }
        let urls: Vec<&str> = b.requests.iter().map(|r| r.url.as_str()).collect();
        let plan = plan(&urls, b.limit, b.per_host);
        let mut lanes = self
            .script
            .as_mut()
            .map(|s| std::mem::take(&mut s.batch.0))
            .unwrap_or_default();
        while lanes.len() < plan.lanes.len() {
            let lane = Vu::build(
                self.id,
                self.scn.clone(),
                self.shared.clone(),
                self.buf.sender(),
                LANE_BUFFER,
                None,
            );
            lanes.push(lane);
        }
        let mut jobs: Vec<Option<Job>> = Vec::with_capacity(n);
        for (index, mut request) in b.requests.into_iter().enumerate() {
            let id = self.script_request_id(&request);
            let jar_id = request.jar;
            let before = if jar_id == VU_JAR {
                self.jar.clone()
            } else {
                self.script
                    .as_ref()
                    .and_then(|s| s.jars.get(jar_id))
                    .unwrap_or_default()
            };
            request.jar = VU_JAR;
            jobs.push(Some(Job {
                index,
                id,
                jar_id,
                before,
                request,
            }));
        }
        let queues: Vec<Mutex<VecDeque<Job>>> = plan
            .hosts
            .iter()
            .map(|list| Mutex::new(list.iter().filter_map(|&i| jobs[i].take()).collect()))
            .collect();
        let mut work: Vec<Pin<Box<dyn Future<Output = Vec<Done>> + Send + '_>>> = Vec::new();
        for (lane, turns) in lanes.iter_mut().zip(&plan.lanes) {
            lane.iter = self.iter;
            lane.iter_in_test = self.iter_in_test;
            work.push(Box::pin(lane.run_lane(flow, turns, &queues)));
        }
        let results = join_all(work).await;
        let mut out: Vec<Option<ScriptResponse>> = (0..n).map(|_| None).collect();
        for done in results.into_iter().flatten() {
            if done.jar_id == VU_JAR {
                self.jar.absorb(&done.before, &done.after);
            } else if let Some(state) = self.script.as_mut() {
                state.jars.absorb(done.jar_id, &done.before, &done.after);
            }
            if let Some(slot) = out.get_mut(done.index) {
                *slot = Some(done.response);
            }
        }
        for lane in &mut lanes {
            self.sent += std::mem::take(&mut lane.sent);
            self.received += std::mem::take(&mut lane.received);
            lane.buf.flush();
        }
        if let Some(state) = self.script.as_mut() {
            state.batch.0 = lanes;
        }
        out.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// A lane's requests, one after another, each with its copy of its jar.
    async fn run_lane(
        &mut self,
        flow: &Flow,
        turns: &[usize],
        queues: &[Mutex<VecDeque<Job>>],
    ) -> Vec<Done> {
        let mut out = Vec::new();
        for &h in turns {
            let Some(queue) = queues.get(h) else {
                continue;
            };
            loop {
                let Some(mut job) = queue.lock().pop_front() else {
                    break;
                };
                let mut jar = job.before.clone();
                jar.set_request_cookies(std::mem::take(&mut job.request.cookies));
                self.jar = jar;
                let response = self.script_request_as(flow, job.request, job.id).await;
                let mut after = std::mem::take(&mut self.jar);
                after.set_request_cookies(Vec::new());
                out.push(Done {
                    index: job.index,
                    jar_id: job.jar_id,
                    before: job.before,
                    after,
                    response,
                });
            }
        }
        out
    }
}

/// Polls every future until all are done; their outputs in order.
async fn join_all<T>(mut futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = (0..futures.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::plan;

    #[test]
    fn lanes_keep_the_limits() {
        let urls = [
            "http://a/1",
            "http://a/2",
            "http://a/3",
            "http://b/1",
            "http://a/4",
            "http://b/2",
        ];
        // Two per host: two lanes take turns at a's queue, two at b's.
        let p = plan(&urls, 20, 2);
        assert_eq!(p.hosts, vec![vec![0, 1, 2, 4], vec![3, 5]]);
        assert_eq!(p.lanes, vec![vec![0], vec![0], vec![1], vec![1]]);
        // At most three at once: the fourth slot (b's second) goes to the first lane, after a.
        assert_eq!(plan(&urls, 3, 2).lanes, vec![vec![0, 1], vec![0], vec![1]]);
        // No per-host limit: one lane per request.
        assert_eq!(plan(&urls, 20, 0).lanes.len(), 6);
    }
}
