//! A VU's iteration when it runs a script ([`crate::script`]): the script's calls are answered
//! with the same request and sample code as a plan's steps.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use loadrun_metrics::{Sample, SeriesId};

use super::{Vu, FLUSH_AGE};
use crate::compile::{CBody, CRequest, Flow};
use crate::http::Url;
use crate::script::{Call, Event, IterInfo, Reply, ScriptRequest, ScriptResponse, ScriptVu, Turn};
use crate::template::Template;

mod batch;
mod jar;

/// A script's extra tags on a sample (`params.tags`, `check(..., tags)`).
type Tags = Vec<(String, String)>;

/// A VU's script and the series it has used (the script's requests, checks and groups are
/// known only when they run, so their series are interned by what tags them).
pub(crate) struct ScriptState {
    vu: Box<dyn ScriptVu>,
    /// Runs setup or teardown, outside every scenario.
    lifecycle: Option<crate::script::Lifecycle>,
    /// Request ids by what tags a request (so [`Vu::record`]'s cache keeps them apart).
    requests: HashMap<String, u32>,
    checks: HashMap<(String, String, Tags), SeriesId>,
    groups: HashMap<String, SeriesId>,
    custom: HashMap<(usize, String, Tags), SeriesId>,
    /// `exec.vu.tags`, once the script changed them: they replace the scenario's tags.
    vu_tags: Option<Tags>,
    /// `exec.vu.metrics.metadata`.
    vu_metadata: Tags,
    jars: jar::Jars,
    batch: batch::Lanes,
}

impl ScriptState {
    pub(crate) fn new(vu: Box<dyn ScriptVu>) -> Box<Self> {
        Box::new(Self {
            vu,
            lifecycle: None,
            requests: HashMap::new(),
            checks: HashMap::new(),
            groups: HashMap::new(),
            custom: HashMap::new(),
            vu_tags: None,
            vu_metadata: Vec::new(),
            jars: jar::Jars::default(),
            batch: batch::Lanes::default(),
        })
    }

    pub(crate) fn lifecycle(&self) -> bool {
        self.lifecycle.is_some()
    }

    fn clear_series(&mut self) {
        self.checks.clear();
        self.groups.clear();
        self.custom.clear();
    }

    pub(crate) fn interrupt(&mut self) {
        self.vu.interrupt();
    }
}

impl Vu {
    /// The VU's tags set by the script, when it set any (None costs the plan path nothing).
    pub(super) fn script_vu_tags(&self) -> Option<Vec<(&str, &str)>> {
        let tags = self.script.as_ref()?.vu_tags.as_ref()?;
        Some(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
    }

    pub(super) fn script_metadata(&self) -> impl Iterator<Item = (&str, &str)> {
        self.script
            .iter()
            .flat_map(|s| s.vu_metadata.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every series cached so far carries the old tags: they are interned again as used.
    fn set_vu_tags(&mut self, tags: Tags, metadata: Tags) {
        let Some(state) = self.script.as_mut() else {
            return;
        };
        state.vu_tags = Some(tags);
        state.vu_metadata = metadata;
        state.clear_series();
        self.http_cache.clear();
        self.check_cache.iter_mut().for_each(|c| *c = None);
        self.group_cache.iter_mut().for_each(|c| *c = None);
        self.sample_cache.iter_mut().for_each(|c| *c = None);
        self.iter_series = None;
    }

    /// A VU outside the scenarios (number 0) that runs `setup()` or `teardown()` as `vu`.
    pub fn for_lifecycle(
        which: crate::script::Lifecycle,
        scn: std::sync::Arc<crate::compile::ScenarioRt>,
        shared: std::sync::Arc<super::Shared>,
        sender: &loadrun_metrics::SampleSender,
        buffer: usize,
        vu: Box<dyn ScriptVu>,
    ) -> Self {
        let mut state = ScriptState::new(vu);
        state.lifecycle = Some(which);
        Self::build(0, scn, shared, sender, buffer, Some(state))
    }

    /// Runs the script's iteration (or setup/teardown) to its end.
    pub(super) async fn script_iteration(&mut self, flow: &Flow) {
        let info = IterInfo {
            vu: self.id,
            iter: self.iter,
            iter_in_test: self.iter_in_test,
        };
        let clear = self.shared.system_tags.has("iter");
        let Some(state) = self.script.as_mut() else {
            return;
        };
        if clear {
            state.clear_series();
        }
        state.vu.begin(info);
        self.reset_script_jars();
        let mut reply = None;
        loop {
            let Some(state) = self.script.as_mut() else {
                return;
            };
            let Turn { events, call } = state.vu.next(reply.take()).await;
            for e in events {
                self.script_event(e);
            }
            match call {
                Call::Done => return,
                Call::Sleep(d) => {
                    self.buf.flush_if_older(FLUSH_AGE.saturating_sub(d));
                    self.pace.slept(d);
                    tokio::time::sleep(d).await;
                    reply = Some(Reply::Slept);
                }
                Call::Yield => {
                    tokio::task::yield_now().await;
                    reply = Some(Reply::Slept);
                }
                Call::Request(r) => {
                    let resp = self.script_request(flow, *r).await;
                    reply = Some(Reply::Response(Box::new(resp)));
                }
                Call::Jar(j) => reply = Some(Reply::Jar(self.script_jar(*j))),
                Call::Batch(b) => {
                    let responses = self.script_batch(flow, *b).await;
                    reply = Some(Reply::Batch(responses));
                }
            }
        }
    }

    /// Runs `setup()`/`teardown()` as this VU; false when it did not finish in `timeout`.
    pub async fn script_once(&mut self, timeout: Duration) -> bool {
        let flow = self.scn.flow.clone();
        let done = tokio::time::timeout(timeout, self.script_iteration(&flow))
            .await
            .is_ok();
        if !done {
            self.interrupted();
        }
        // As k6: setup and teardown count their data, not as iterations.
        if let Some(which) = self.script.as_ref().and_then(|s| s.lifecycle) {
            let mut tags = self.scenario_tags();
            if self.shared.system_tags.has("group") {
                tags.push(("group", which.group()));
            }
            let b = self.shared.builtin;
            let sent = self.series(b.data_sent, &tags);
            let received = self.series(b.data_received, &tags);
            let now = loadrun_metrics::now_ns();
            self.buf.push(Sample::new(sent.0, now, self.sent as f64));
            self.buf
                .push(Sample::new(received.0, now, self.received as f64));
        }
        self.buf.flush();
        done
    }

    fn script_request_id(&mut self, r: &ScriptRequest) -> u32 {
        let Some(state) = self.script.as_mut() else {
            return 0;
        };
        let mut key = String::with_capacity(r.url.len() + 32);
        key.push_str(&r.method);
        key.push(' ');
        key.push_str(r.name.as_deref().unwrap_or(&r.url));
        key.push(' ');
        key.push_str(&r.group);
        for (k, v) in &r.tags {
            key.push('\0');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
        // The request's samples are interned once per id, expected_response among their tags.
        if let Some(list) = &r.expected {
            key.push('\0');
            for s in list {
                let _ = write!(key, "{s},");
            }
        }
        if r.no_response_callback {
            key.push_str("\0no-callback");
        }
        let next = state.requests.len() as u32;
        *state.requests.entry(key).or_insert(next)
    }

    async fn script_request(&mut self, flow: &Flow, r: ScriptRequest) -> ScriptResponse {
        let id = self.script_request_id(&r);
        self.script_request_as(flow, r, id).await
    }

    /// A request whose id the script's VU gave it (a batch's lanes have no script state).
    async fn script_request_as(
        &mut self,
        flow: &Flow,
        r: ScriptRequest,
        id: u32,
    ) -> ScriptResponse {
        let static_url = Url::parse(&r.url).ok();
        let creq = CRequest {
            // Built for this one call: there is no later request to reuse its bytes.
            fixed: false,
            fixed_bytes: std::sync::OnceLock::new(),
            id,
            group: r.group,
            method: r.method,
            url: Template::literal(&r.url),
            query: Vec::new(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Template::literal(v)))
                .collect(),
            body: match r.body {
                Some(b) => CBody::Bytes(std::sync::Arc::new(b)),
                None => CBody::None,
            },
            timeout: r.timeout,
            tags: r.tags,
            name: r.name,
            checks: Vec::new(),
            extract: Vec::new(),
            samples: Vec::new(),
            expected: r.expected,
            no_response_callback: r.no_response_callback,
            max_redirects: r.max_redirects,
            warn_redirect_limit: r.warn_redirect_limit,
            user_agent: r.user_agent,
            static_url,
            warned: AtomicBool::new(true),
            sample_warned: AtomicBool::new(false),
        };
        let saved = self.enter_request_jar(r.jar, r.cookies);
        let end = self.request(flow, &creq).await;
        self.leave_request_jar(r.jar, saved);
        let url = end.moved_to.unwrap_or(r.url);
        if r.no_connection_reuse {
            self.client.reset();
        }
        let failed = end.error.is_some();
        ScriptResponse {
            status: if failed { 0 } else { self.resp.status },
            proto: self.resp.proto,
            head: if failed {
                Vec::new()
            } else {
                self.resp.head.clone()
            },
            body: if r.want_body && !failed {
                std::mem::take(&mut self.resp.body)
            } else {
                Vec::new()
            },
            timings: end.timings,
            error: end.error,
            url,
        }
    }

    fn script_event(&mut self, e: Event) {
        let st = self.shared.system_tags;
        let now = loadrun_metrics::now_ns();
        match e {
            Event::VuTags { tags, metadata } => self.set_vu_tags(tags, metadata),
            Event::Check {
                name,
                group,
                ok,
                tags,
            } => {
                let key = (name, group, tags);
                let cached = self
                    .script
                    .as_ref()
                    .and_then(|s| s.checks.get(&key).copied());
                let sid = match cached {
                    Some(s) => s,
                    None => {
                        let (name, group, extra) = &key;
                        let mut tags: Vec<(&str, &str)> = extra
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        if st.has("check") {
                            tags.push(("check", name));
                        }
                        if st.has("group") {
                            tags.push(("group", group));
                        }
                        tags.extend(self.scenario_tags());
                        let s = self.series(self.shared.builtin.checks, &tags);
                        if let Some(state) = self.script.as_mut() {
                            state.checks.insert(key, s);
                        }
                        s
                    }
                };
                self.buf
                    .push(Sample::new(sid.0, now, if ok { 1.0 } else { 0.0 }));
            }
            Event::Group { path, ms } => {
                let cached = self
                    .script
                    .as_ref()
                    .and_then(|s| s.groups.get(&path).copied());
                let sid = match cached {
                    Some(s) => s,
                    None => {
                        let mut tags = self.scenario_tags();
                        if st.has("group") {
                            tags.push(("group", &path));
                        }
                        let s = self.series(self.shared.builtin.group_duration, &tags);
                        if let Some(state) = self.script.as_mut() {
                            state.groups.insert(path, s);
                        }
                        s
                    }
                };
                self.buf.push(Sample::new(sid.0, now, ms));
            }
            Event::Custom {
                metric,
                value,
                group,
                tags,
            } => {
                let Some(&id) = self.shared.custom.get(metric) else {
                    return;
                };
                let key = (metric, group, tags);
                let cached = self
                    .script
                    .as_ref()
                    .and_then(|s| s.custom.get(&key).copied());
                let sid = match cached {
                    Some(s) => s,
                    None => {
                        let (_, group, extra) = &key;
                        let mut tags: Vec<(&str, &str)> = extra
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        if st.has("group") {
                            tags.push(("group", group));
                        }
                        tags.extend(self.scenario_tags());
                        let s = self.series(id, &tags);
                        if let Some(state) = self.script.as_mut() {
                            state.custom.insert(key, s);
                        }
                        s
                    }
                };
                self.buf.push(Sample::new(sid.0, now, value));
            }
        }
    }
}
