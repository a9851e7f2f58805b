//! `http.batch`: a script's requests run concurrently, at most k6's `batch` at once and
//! `batchPerHost` to one host. Each runs on a lane: a VU of its own (client, connection,
//! buffers) kept by the script's VU for its later batches, so the single request's path is
//! untouched. Every request records its samples as a single request does.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

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

/// The requests in lanes: requests to one host are dealt to at most `per_host` chains, run one
/// after another; the chains are dealt to at most `limit` lanes. So no more than `per_host`
/// requests to a host, nor `limit` in all, are under way at once.
fn plan(urls: &[&str], limit: usize, per_host: usize) -> Vec<Vec<usize>> {
    let mut hosts: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        // A URL that does not parse fails on its own; it is its own host.
        let key = match Url::parse(url) {
            Ok(u) => format!("{}:{}", u.host, u.port),
            Err(_) => (*url).to_string(),
        };
        match hosts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(i),
            None => hosts.push((key, vec![i])),
        }
    }
    let mut chains: Vec<Vec<usize>> = Vec::new();
    for (_, list) in hosts {
        let n = if per_host == 0 {
            list.len()
        } else {
            per_host.min(list.len())
        };
        let first = chains.len();
        chains.extend((0..n).map(|_| Vec::new()));
        for (k, i) in list.into_iter().enumerate() {
            chains[first + k % n].push(i);
        }
    }
    let lanes = limit.max(1).min(chains.len());
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); lanes];
    for (c, chain) in chains.into_iter().enumerate() {
        out[c % lanes.max(1)].extend(chain);
    }
    out
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
        while lanes.len() < plan.len() {
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
        let mut work: Vec<Pin<Box<dyn Future<Output = Vec<Done>> + Send + '_>>> = Vec::new();
        for (lane, indexes) in lanes.iter_mut().zip(&plan) {
            let mine: Vec<Job> = indexes.iter().filter_map(|&i| jobs[i].take()).collect();
            lane.iter = self.iter;
            lane.iter_in_test = self.iter_in_test;
            work.push(Box::pin(lane.run_lane(flow, mine)));
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
    async fn run_lane(&mut self, flow: &Flow, jobs: Vec<Job>) -> Vec<Done> {
        let mut out = Vec::with_capacity(jobs.len());
        for mut job in jobs {
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
        // Two per host: a's four requests in two chains, b's two in two; four lanes.
        let p = plan(&urls, 20, 2);
        assert_eq!(p, vec![vec![0, 2], vec![1, 4], vec![3], vec![5]]);
        // At most three at once: the fourth chain joins the first lane.
        assert_eq!(plan(&urls, 3, 2), vec![vec![0, 2, 5], vec![1, 4], vec![3]]);
        // No per-host limit: one lane per request.
        assert_eq!(plan(&urls, 20, 0).len(), 6);
    }
}
