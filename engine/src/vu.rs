//! A virtual user: its HTTP client, cookie jar, variables and sample buffer, and the code that
//! runs one iteration of a flow and emits k6's metrics.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun_metrics::{LocalBuffer, Registry, Sample, SeriesId};

use crate::compile::{
    CBody, CExtract, CRequest, CSample, CStep, CTerm, CheckKind, Flow, Op, SampleSource,
    ScenarioRt, Source,
};
use crate::cookies::CookieJar;
use crate::http::head::{HeadWriter, INVALID_URL};
use crate::http::{Client, ClientShared, HttpError, Response, Timings, Url};
use crate::metrics::{Builtin, SystemTags};
use crate::template::Vars;

mod script;

/// Shared by every VU of the run.
pub struct Shared {
    pub registry: Arc<Registry>,
    pub builtin: Builtin,
    /// The plan's custom metrics, indexed by [`crate::compile::CSample::metric`].
    pub custom: Arc<[loadrun_metrics::MetricId]>,
    pub system_tags: SystemTags,
    pub client: Arc<ClientShared>,
    pub stats: Arc<crate::engine::Stats>,
    /// k6 warns once that a request stopped at the redirect limit; once per run here too.
    pub redirect_limit_warned: std::sync::atomic::AtomicBool,
    pub failing: crate::pace::FailingAtOnce,
    /// Runs instead of the scenarios' flows when set (a k6 script).
    pub script: Option<Arc<dyn crate::script::Script>>,
}

/// How a request ended: its last hop's timings and error, and that hop's URL when it is not
/// the request's own (a redirect was followed, or the URL was refused).
pub(crate) struct RequestEnd {
    pub timings: Timings,
    pub error: Option<HttpError>,
    pub moved_to: Option<String>,
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct HttpKey {
    request: u32,
    status: u16,
    error_code: u32,
    url: u64,
    tls: u8,
}

/// The series of the four end-of-iteration samples.
#[derive(Clone, Copy)]
struct IterSeries {
    iterations: SeriesId,
    iteration_duration: SeriesId,
    data_sent: SeriesId,
    data_received: SeriesId,
}

pub struct Vu {
    pub id: u64,
    pub iter: u64,
    /// The current iteration's number across the whole (distributed) test.
    pub iter_in_test: u64,
    pub scn: Arc<ScenarioRt>,
    shared: Arc<Shared>,
    client: Client,
    resp: Response,
    reqbuf: Vec<u8>,
    text: String,
    body: Vec<u8>,
    slots: Vec<Option<String>>,
    rows: Vec<usize>,
    jar: CookieJar,
    buf: LocalBuffer,
    /// The series of recent request outcomes, searched in order: a VU meets a handful, and a
    /// map per VU would cost more than the search.
    http_cache: Vec<(HttpKey, [SeriesId; 9])>,
    check_cache: Vec<Option<[SeriesId; 1]>>,
    group_cache: Vec<Option<SeriesId>>,
    sample_cache: Vec<Option<SeriesId>>,
    iter_series: Option<IterSeries>,
    clock: crate::clock::WallClock,
    /// See [`flush_while`].
    flush_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    sent: u64,
    received: u64,
    meta_vu: String,
    pace: crate::pace::Pace,
    script: Option<Box<script::ScriptState>>,
}

struct VarView<'a> {
    slots: &'a [Option<String>],
    rows: &'a [usize],
    flow: &'a Flow,
    vu: u64,
    iter: u64,
    iter_in_test: u64,
}

impl Vars for VarView<'_> {
    fn slot(&self, i: usize) -> Option<&str> {
        self.slots.get(i).and_then(|s| s.as_deref())
    }
    fn feed(&self, feed: usize, col: usize) -> Option<&str> {
        let row = *self.rows.get(feed)?;
        self.flow.feeds.get(feed)?.value(row, col)
    }
    fn vu(&self) -> u64 {
        self.vu
    }
    fn iter(&self) -> u64 {
        self.iter
    }
    fn iter_in_test(&self) -> u64 {
        self.iter_in_test
    }
}

fn hash_str(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish() | 1
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Vu {
    pub fn new(
        id: u64,
        scn: Arc<ScenarioRt>,
        shared: Arc<Shared>,
        sender: &loadrun_metrics::SampleSender,
        buffer: usize,
    ) -> Self {
        let script = shared
            .script
            .as_ref()
            .map(|s| script::ScriptState::new(s.vu(id, &scn.name)));
        Self::build(id, scn, shared, sender, buffer, script)
    }

    fn build(
        id: u64,
        scn: Arc<ScenarioRt>,
        shared: Arc<Shared>,
        sender: &loadrun_metrics::SampleSender,
        buffer: usize,
        script: Option<Box<script::ScriptState>>,
    ) -> Self {
        let flow = scn.flow.clone();
        Self {
            script,
            id,
            iter: 0,
            iter_in_test: 0,
            client: Client::new(shared.client.clone()),
            resp: Response::default(),
            // Grown on first use to what the plan's requests need, not preallocated: at
            // thousands of VUs every byte held per VU counts.
            reqbuf: Vec::new(),
            text: String::new(),
            body: Vec::new(),
            slots: vec![None; flow.slots.len()],
            rows: vec![0; flow.feeds.len()],
            jar: CookieJar::default(),
            buf: sender.buffer(buffer),
            http_cache: Vec::new(),
            check_cache: vec![None; flow.checks.len()],
            group_cache: vec![None; flow.groups.len()],
            sample_cache: vec![None; flow.samples],
            iter_series: None,
            clock: crate::clock::WallClock::default(),
            flush_timer: None,
            sent: 0,
            received: 0,
            meta_vu: id.to_string(),
            pace: crate::pace::Pace::default(),
            scn,
            shared,
        }
    }

    fn metadata(&self) -> Vec<(&'static str, String)> {
        let mut m = Vec::new();
        if self.shared.system_tags.has("vu") {
            m.push(("vu", self.meta_vu.clone()));
        }
        if self.shared.system_tags.has("iter") {
            m.push(("iter", self.iter.to_string()));
        }
        m
    }

    fn series(&self, metric: loadrun_metrics::MetricId, tags: &[(&str, &str)]) -> SeriesId {
        let meta = self.metadata();
        let mut meta_ref: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
        meta_ref.extend(self.script_metadata());
        self.shared.registry.series(metric, tags, &meta_ref)
    }

    fn scenario_tags(&self) -> Vec<(&str, &str)> {
        if let Some(tags) = self.script_vu_tags() {
            return tags;
        }
        // k6 tags setup and teardown with no scenario.
        let lifecycle = self.script.as_ref().is_some_and(|s| s.lifecycle());
        self.scn
            .tags
            .iter()
            .filter(|(k, _)| !(lifecycle && k == "scenario"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Called after an iteration was cut short: the connection may hold half a response.
    pub fn interrupted(&mut self) {
        if let Some(s) = self.script.as_mut() {
            s.interrupt();
        }
        self.client.reset();
        self.buf.flush();
    }

    pub fn shared_stats(&self) -> &crate::engine::Stats {
        &self.shared.stats
    }

    /// Sends buffered samples now.
    pub fn flush(&mut self) {
        self.buf.flush();
    }

    /// How long this VU should wait before its next iteration: zero unless its iterations keep
    /// finishing at once without reaching a server (see [`crate::pace`]). Samples are flushed
    /// before a wait so they do not sit out the backoff.
    pub fn backoff(&mut self) -> Duration {
        let d = self.pace.after_iteration(&self.shared.failing);
        if !d.is_zero() {
            self.buf.flush();
        }
        d
    }

    /// Runs one iteration. `started` is when it was due (arrival-rate executors pass the
    /// scheduled time, so queueing shows in `iteration_duration`).
    pub async fn iteration(&mut self, started: Instant) {
        let flow = self.scn.flow.clone();
        if self.shared.system_tags.has("iter") {
            self.http_cache.clear();
            self.check_cache.iter_mut().for_each(|c| *c = None);
            self.group_cache.iter_mut().for_each(|c| *c = None);
            self.iter_series = None;
        }
        for s in self.slots.iter_mut() {
            *s = None;
        }
        for (i, f) in flow.feeds.iter().enumerate() {
            self.rows[i] = f.next_row(self.id);
        }
        self.sent = 0;
        self.received = 0;
        self.iter_in_test = self.scn.iter_numbers.next();
        self.pace.start_iteration();
        if self.script.is_some() {
            // Boxed: a future is as large as its largest branch, and a script's iteration
            // (its request, the turn and the reply) is about 1 KiB more than the steps'; inline,
            // every VU of a plan carried it (about 1 KiB per VU at 5,000 VUs). One allocation
            // per script iteration.
            Box::pin(self.script_iteration(&flow)).await;
        } else {
            self.run_steps(&flow, &flow.steps).await;
        }
        let end = Instant::now();
        let now = self.clock.unix_ns(end);
        let s = match self.iter_series {
            Some(s) => s,
            None => {
                let mut tags = self.scenario_tags();
                if self.shared.system_tags.has("group") {
                    tags.push(("group", ""));
                }
                let b = self.shared.builtin;
                let s = IterSeries {
                    iterations: self.series(b.iterations, &tags),
                    iteration_duration: self.series(b.iteration_duration, &tags),
                    data_sent: self.series(b.data_sent, &tags),
                    data_received: self.series(b.data_received, &tags),
                };
                self.iter_series = Some(s);
                s
            }
        };
        self.buf
            .push(Sample::new(s.data_sent.0, now, self.sent as f64));
        self.buf
            .push(Sample::new(s.data_received.0, now, self.received as f64));
        self.buf.push(Sample::new(
            s.iteration_duration.0,
            now,
            ms(end.saturating_duration_since(started)),
        ));
        self.buf.push(Sample::new(s.iterations.0, now, 1.0));
        self.iter += 1;
        self.shared.stats.iterations.fetch_add(1, Ordering::Relaxed);
        self.scn.progress.iterations.fetch_add(1, Ordering::Relaxed);
        self.buf.flush_if_older(FLUSH_AGE);
    }

    async fn run_steps(&mut self, flow: &Flow, steps: &[CStep]) {
        for step in steps {
            match step {
                CStep::Request(r) => {
                    self.request(flow, r).await;
                }
                CStep::Sleep { min, max } => {
                    let d = if max > min {
                        let span = (*max - *min).as_secs_f64();
                        *min + Duration::from_secs_f64(rand::random::<f64>() * span)
                    } else {
                        *min
                    };
                    // A think time would hold finished samples back from the outputs (and
                    // lose them to a SIGKILL): none waits longer than about a tick.
                    self.buf.flush_if_older(FLUSH_AGE.saturating_sub(d));
                    self.pace.slept(d);
                    tokio::time::sleep(d).await;
                }
                CStep::Group { id, steps } => self.group(flow, *id, steps).await,
            }
        }
    }

    /// A group's steps and its `group_duration`. Boxed because groups nest and a future cannot
    /// hold itself; only here, so an iteration without groups allocates (and copies) no future.
    fn group<'a>(
        &'a mut self,
        flow: &'a Flow,
        id: usize,
        steps: &'a [CStep],
    ) -> Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let start = Instant::now();
            self.run_steps(flow, steps).await;
            let elapsed = start.elapsed();
            let sid = match self.group_cache[id] {
                Some(s) => s,
                None => {
                    let mut tags = self.scenario_tags();
                    let path = flow.groups[id].clone();
                    if self.shared.system_tags.has("group") {
                        tags.push(("group", &path));
                    }
                    let s = self.series(self.shared.builtin.group_duration, &tags);
                    self.group_cache[id] = Some(s);
                    s
                }
            };
            self.buf
                .push(Sample::new(sid.0, loadrun_metrics::now_ns(), ms(elapsed)));
        })
    }

    fn render_url(&mut self, flow: &Flow, r: &CRequest) -> String {
        let view = VarView {
            slots: &self.slots,
            rows: &self.rows,
            flow,
            vu: self.id,
            iter: self.iter,
            iter_in_test: self.iter_in_test,
        };
        let mut url = String::with_capacity(64);
        r.url.render_into(&view, &mut url);
        let mut first = !url.contains('?');
        for (k, v) in &r.query {
            url.push(if first { '?' } else { '&' });
            first = false;
            crate::util::percent_encode_into(k, &mut url);
            url.push('=');
            let mut val = String::new();
            v.render_into(&view, &mut val);
            crate::util::percent_encode_into(&val, &mut url);
        }
        url
    }

    fn render_body(&mut self, flow: &Flow, r: &CRequest) {
        self.body.clear();
        let view = VarView {
            slots: &self.slots,
            rows: &self.rows,
            flow,
            vu: self.id,
            iter: self.iter,
            iter_in_test: self.iter_in_test,
        };
        match &r.body {
            CBody::None => {}
            CBody::Text(t) => {
                self.text.clear();
                t.render_into(&view, &mut self.text);
                self.body.extend_from_slice(self.text.as_bytes());
            }
            CBody::Bytes(b) => self.body.extend_from_slice(b),
            CBody::Form(pairs) => {
                let mut s = String::new();
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        s.push('&');
                    }
                    crate::util::percent_encode_into(k, &mut s);
                    s.push('=');
                    let mut val = String::new();
                    v.render_into(&view, &mut val);
                    crate::util::percent_encode_into(&val, &mut s);
                }
                self.body.extend_from_slice(s.as_bytes());
            }
        }
    }

    /// Writes the request into `reqbuf`; an error when a value would not be a valid request
    /// (an injection attempt among them): such a request is never sent.
    fn build_request(
        &mut self,
        flow: &Flow,
        r: &CRequest,
        method: &str,
        url: &Url,
        with_body: bool,
        first_hop: bool,
    ) -> Result<(), HttpError> {
        // The step's own URL, method and body, and no cookie to add: the same bytes as every
        // other request of this step, built once for all VUs.
        let fixed = r.fixed && first_hop && self.jar.is_empty();
        if let Some(bytes) = r.fixed_bytes.get().filter(|_| fixed) {
            self.reqbuf.clear();
            self.reqbuf.extend_from_slice(bytes);
            return Ok(());
        }
        self.write_request(flow, r, method, url, with_body)?;
        if fixed {
            let _ = r.fixed_bytes.set(self.reqbuf.clone());
        }
        Ok(())
    }

    fn write_request(
        &mut self,
        flow: &Flow,
        r: &CRequest,
        method: &str,
        url: &Url,
        with_body: bool,
    ) -> Result<(), HttpError> {
        let view = VarView {
            slots: &self.slots,
            rows: &self.rows,
            flow,
            vu: self.id,
            iter: self.iter,
            iter_in_test: self.iter_in_test,
        };
        let text = &mut self.text;
        let mut w = HeadWriter::start(&mut self.reqbuf, method, url)?;
        let mut has_ua = false;
        let mut has_accept = false;
        let mut has_auth = false;
        for (k, v) in &r.headers {
            has_ua |= k.eq_ignore_ascii_case("user-agent");
            has_accept |= k.eq_ignore_ascii_case("accept");
            has_auth |= k.eq_ignore_ascii_case("authorization");
            text.clear();
            v.render_into(&view, text);
            w.header(k, text)?;
        }
        if !has_ua {
            w.header("User-Agent", &r.user_agent)?;
        }
        if !has_accept {
            w.header("Accept", "*/*")?;
        }
        // Go's client sends a URL's userinfo as Basic auth unless the request sets its own.
        if let (Some(c), false) = (&url.credentials, has_auth) {
            w.header("Authorization", &c.basic_auth())?;
        }
        if !self.jar.is_empty() {
            text.clear();
            if self.jar.header_for(url, text) {
                w.header("Cookie", text)?;
            }
        }
        if with_body {
            w.finish_with_body(&self.body);
        } else {
            w.finish(matches!(method, "POST" | "PUT" | "PATCH"));
        }
        Ok(())
    }

    /// A request that was refused before it was sent: a failed request with k6's error code,
    /// logged once per step so a bad value repeated by every iteration does not flood the log.
    fn refused(
        &mut self,
        flow: &Flow,
        r: &CRequest,
        method: &str,
        url: &dyn fmt::Display,
        e: &HttpError,
    ) {
        if !r.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!("request not sent: {}", e.message);
        }
        self.shared.stats.not_sent.fetch_add(1, Ordering::Relaxed);
        self.resp.reset();
        self.record(r, method, url, 0, &Timings::default(), Some(e));
        self.checks_and_extracts(flow, r, true, &Timings::default());
    }

    async fn request(&mut self, flow: &Flow, r: &CRequest) -> RequestEnd {
        let mut url: std::borrow::Cow<'_, Url> = match &r.static_url {
            Some(u) => std::borrow::Cow::Borrowed(u),
            None => {
                let url_text = self.render_url(flow, r);
                match Url::parse(&url_text) {
                    Ok(u) => std::borrow::Cow::Owned(u),
                    Err(message) => {
                        let e = HttpError {
                            code: INVALID_URL,
                            message,
                        };
                        self.refused(flow, r, &r.method, &TagSafe(&url_text), &e);
                        return RequestEnd {
                            timings: Timings::default(),
                            error: Some(e),
                            moved_to: None,
                        };
                    }
                }
            }
        };
        // For the redirect-limit warning; kept only once a redirect is followed. Boxed: it lives
        // across the request's awaits, in every VU's future.
        let mut first_url: Option<Box<Url>> = None;
        self.render_body(flow, r);
        let mut method: &str = &r.method;
        let mut with_body = !matches!(r.body, CBody::None);
        let mut hops = 0u32;
        let mut last: (Timings, Result<(), HttpError>);
        loop {
            if let Err(e) = self.build_request(flow, r, method, &url, with_body, hops == 0) {
                self.refused(flow, r, method, &*url, &e);
                return RequestEnd {
                    timings: Timings::default(),
                    error: Some(e),
                    moved_to: (hops > 0).then(|| url.to_string()),
                };
            }
            let reqbuf = std::mem::take(&mut self.reqbuf);
            last = {
                // Pinned here so the request's (large) future is not copied into flush_while's.
                let send = std::pin::pin!(self.client.send(
                    &url,
                    &reqbuf,
                    method == "HEAD",
                    r.timeout,
                    &mut self.resp
                ));
                flush_while(&mut self.buf, &mut self.flush_timer, send).await
            };
            self.reqbuf = reqbuf;
            self.sent += self.resp.bytes_sent;
            self.received += self.resp.bytes_received;
            self.record(r, method, &*url, hops, &last.0, last.1.as_ref().err());
            if last.1.is_err() {
                break;
            }
            // Set-Cookie on every hop, redirects included.
            if self.resp.set_cookie {
                let cookies: Vec<String> = self
                    .resp
                    .headers("set-cookie")
                    .map(str::to_string)
                    .collect();
                for v in &cookies {
                    self.jar.store(&url, v);
                }
            }
            let status = self.resp.status;
            if matches!(status, 301 | 302 | 303 | 307 | 308) && hops < r.max_redirects {
                let next = self.resp.header("location").map(|l| url.join(l));
                match next {
                    Some(Ok(u)) => {
                        if first_url.is_none() {
                            first_url = Some(Box::new(url.as_ref().clone()));
                        }
                        url = std::borrow::Cow::Owned(u);
                        hops += 1;
                        if matches!(status, 301..=303) && method != "GET" && method != "HEAD" {
                            method = "GET";
                            with_body = false;
                        }
                        continue;
                    }
                    _ => break,
                }
            }
            if matches!(status, 301 | 302 | 303 | 307 | 308)
                && hops == r.max_redirects
                && r.warn_redirect_limit
                && self.resp.header("location").is_some()
                && !self
                    .shared
                    .redirect_limit_warned
                    .swap(true, Ordering::Relaxed)
            {
                let from = first_url.as_deref().unwrap_or(&url);
                tracing::warn!(
                    url = %from,
                    "Stopped after {hops} redirects and returned the redirection; set maxRedirects on the step or in the plan to silence this"
                );
            }
            break;
        }
        self.checks_and_extracts(flow, r, last.1.is_err(), &last.0);
        RequestEnd {
            timings: last.0,
            error: last.1.err(),
            moved_to: (hops > 0).then(|| url.to_string()),
        }
    }

    fn checks_and_extracts(&mut self, flow: &Flow, r: &CRequest, failed: bool, t: &Timings) {
        // The body is parsed as JSON at most once, for all checks and extractions.
        let mut doc: Option<Option<serde_json::Value>> = None;
        // Kept only for custom samples that record a check's result.
        let keep = r
            .samples
            .iter()
            .any(|s| matches!(s.source, SampleSource::Check(_)));
        let mut results: Vec<bool> = Vec::new();
        // Checks run as the response is in: they are stamped with its end, like its samples.
        let at = self.stamp(t);
        for c in &r.checks {
            let ok = !failed && self.check(&c.kind, t.duration(), &mut doc)
                || (failed && matches!(&c.kind, CheckKind::Status(list) if list.contains(&0)));
            self.record_check(flow, c.id, ok, at);
            if keep {
                results.push(ok);
            }
        }
        if !failed {
            for e in &r.extract {
                self.extract(e, &mut doc);
            }
        }
        for s in &r.samples {
            let value = match &s.source {
                SampleSource::Check(i) => results.get(*i).map(|ok| if *ok { 1.0 } else { 0.0 }),
                SampleSource::Value(terms) => self.sample_value(terms, t),
            };
            match value {
                Some(v) => self.record_sample(r, s, v),
                None => self.warn_unread_sample(flow, r, s),
            }
        }
    }

    /// The sum of the terms; `None` when an extracted variable is missing or not a number.
    fn sample_value(&self, terms: &[CTerm], t: &Timings) -> Option<f64> {
        use crate::plan::custom::Timing;
        let mut sum = 0.0;
        for term in terms {
            sum += match term {
                CTerm::Constant(c) => *c,
                CTerm::Timing(which) => ms(match which {
                    Timing::Duration => t.duration(),
                    Timing::Blocked => t.blocked,
                    Timing::Connecting => t.connecting,
                    Timing::TlsHandshaking => t.tls_handshaking,
                    Timing::Sending => t.sending,
                    Timing::Waiting => t.waiting,
                    Timing::Receiving => t.receiving,
                }),
                CTerm::Status => f64::from(self.resp.status),
                CTerm::BodySize => self.resp.body.len() as f64,
                CTerm::Slot(slot) => self
                    .slots
                    .get(*slot)?
                    .as_deref()?
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())?,
            };
        }
        Some(sum)
    }

    /// k6 would throw on `trend.add(NaN)`; here the sample is skipped and said once per step.
    fn warn_unread_sample(&self, flow: &Flow, r: &CRequest, s: &CSample) {
        if !r.sample_warned.swap(true, Ordering::Relaxed) {
            let vars: Vec<&str> = match &s.source {
                SampleSource::Value(terms) => terms
                    .iter()
                    .filter_map(|t| match t {
                        CTerm::Slot(i) => flow.slots.get(*i).map(String::as_str),
                        _ => None,
                    })
                    .collect(),
                SampleSource::Check(_) => Vec::new(),
            };
            let metric = self
                .shared
                .custom
                .get(s.metric)
                .and_then(|m| self.shared.registry.metric_def(*m))
                .map(|d| d.name.to_string())
                .unwrap_or_default();
            tracing::warn!(
                "no sample added to {metric}: the variable {} was not extracted or is not a number",
                vars.join(", ")
            );
        }
    }

    fn record_sample(&mut self, r: &CRequest, s: &CSample, value: f64) {
        let Some(&metric) = self.shared.custom.get(s.metric) else {
            return;
        };
        let sid = match self.sample_cache.get(s.id).copied().flatten() {
            Some(sid) => sid,
            None => {
                let mut tags: Vec<(&str, &str)> = s
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if self.shared.system_tags.has("group") {
                    tags.push(("group", &r.group));
                }
                tags.extend(self.scenario_tags());
                let sid = self.series(metric, &tags);
                if let Some(slot) = self.sample_cache.get_mut(s.id) {
                    *slot = Some(sid);
                }
                sid
            }
        };
        self.buf
            .push(Sample::new(sid.0, loadrun_metrics::now_ns(), value));
    }

    fn json<'d>(
        &self,
        doc: &'d mut Option<Option<serde_json::Value>>,
    ) -> Option<&'d serde_json::Value> {
        doc.get_or_insert_with(|| serde_json::from_slice(&self.resp.body).ok())
            .as_ref()
    }

    fn check(
        &self,
        kind: &CheckKind,
        duration: Duration,
        doc: &mut Option<Option<serde_json::Value>>,
    ) -> bool {
        match kind {
            CheckKind::Status(list) => list.contains(&self.resp.status),
            CheckKind::Duration(max) => duration < *max,
            CheckKind::Header(name, op) => {
                let v = self.resp.header(name);
                match op {
                    Op::Exists(want) => v.is_some() == *want,
                    _ => v.is_some_and(|v| op_text(op, v)),
                }
            }
            CheckKind::Body(op) => op_text(op, &self.resp.body_text()),
            CheckKind::Json(ptr, op) => {
                let found = self.json(doc).and_then(|d| d.pointer(ptr));
                match op {
                    Op::Exists(want) => found.is_some() == *want,
                    Op::Equals(v) => found.is_some_and(|f| json_equals(f, v)),
                    _ => found.is_some_and(|f| match f {
                        serde_json::Value::String(s) => op_text(op, s),
                        other => op_text(op, &other.to_string()),
                    }),
                }
            }
        }
    }

    fn extract(&mut self, e: &CExtract, doc: &mut Option<Option<serde_json::Value>>) {
        let value = match &e.source {
            Source::Header(h) => self.resp.header(h).map(str::to_string),
            Source::Json(p) => self.json(doc).and_then(|d| {
                d.pointer(p).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            }),
            Source::Regex(re, g) => {
                let text = self.resp.body_text();
                re.captures(&text)
                    .and_then(|c| c.get(*g))
                    .map(|m| m.as_str().to_string())
            }
        };
        if let Some(slot) = self.slots.get_mut(e.slot) {
            *slot = value;
        }
    }

    fn record_check(&mut self, flow: &Flow, id: usize, ok: bool, at: i64) {
        let sid = match self.check_cache[id] {
            Some([s]) => s,
            None => {
                let meta = &flow.checks[id];
                let mut tags: Vec<(&str, &str)> = meta
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let st = self.shared.system_tags;
                if st.has("check") {
                    tags.push(("check", &meta.name));
                }
                if st.has("group") {
                    tags.push(("group", &meta.group));
                }
                tags.extend(self.scenario_tags());
                let s = self.series(self.shared.builtin.checks, &tags);
                self.check_cache[id] = Some([s]);
                s
            }
        };
        self.buf
            .push(Sample::new(sid.0, at, if ok { 1.0 } else { 0.0 }));
    }

    /// The Unix time of a request's end (now for one never sent).
    fn stamp(&mut self, t: &Timings) -> i64 {
        match t.end {
            Some(end) => self.clock.unix_ns(end),
            None => loadrun_metrics::now_ns(),
        }
    }

    fn record(
        &mut self,
        r: &CRequest,
        method: &str,
        url: &dyn fmt::Display,
        hop: u32,
        t: &Timings,
        error: Option<&HttpError>,
    ) {
        let status = if error.is_some() { 0 } else { self.resp.status };
        let error_code = match error {
            Some(e) => e.code,
            None if status >= 400 => 1000 + u32::from(status),
            None => 0,
        };
        let url_hash = if r.name.is_some()
            || (hop == 0 && r.url.is_static() && r.query.iter().all(|q| q.1.is_static()))
        {
            0
        } else {
            hash_str(&url.to_string())
        };
        let key = HttpKey {
            request: r.id,
            status,
            error_code,
            url: url_hash ^ u64::from(hop > 0),
            tls: match self.resp.tls_version {
                None => 0,
                Some("tls1.2") => 2,
                Some(_) => 3,
            },
        };
        let expected = error.is_none()
            && match &r.expected {
                Some(list) => list.contains(&status),
                None => (200..400).contains(&status),
            };
        let ids = match self.http_cache.iter().find(|(k, _)| *k == key) {
            Some((_, ids)) => *ids,
            None => {
                let ids = self.intern_http(r, method, url, status, error_code, error, expected);
                // URLs that change with every iteration would grow the cache without end; the
                // registry still interns each series once, a miss costs only its look-up.
                if self.http_cache.len() >= HTTP_CACHE_LEN {
                    self.http_cache.clear();
                }
                if self.http_cache.capacity() == 0 {
                    // Most VUs of a plan meet one outcome: room for one, not the four a first
                    // push makes room for (about 160 B per VU).
                    self.http_cache.reserve_exact(1);
                }
                self.http_cache.push((key, ids));
                ids
            }
        };
        let at_once = error.is_some() && self.resp.bytes_sent == 0 && self.resp.bytes_received == 0;
        self.pace
            .request(error.filter(|_| at_once), &self.shared.failing);
        let now = self.stamp(t);
        let values = [
            1.0,
            ms(t.duration()),
            ms(t.blocked),
            ms(t.connecting),
            ms(t.tls_handshaking),
            ms(t.sending),
            ms(t.waiting),
            ms(t.receiving),
            if expected { 0.0 } else { 1.0 },
        ];
        // Without a response callback k6 records no `http_req_failed` (the last one).
        let recorded = if r.no_response_callback {
            Builtin::HTTP_REQ_FAILED
        } else {
            ids.len()
        };
        for (sid, v) in ids.iter().zip(values).take(recorded) {
            self.buf.push(Sample::new(sid.0, now, v));
        }
        self.shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    }

    #[allow(clippy::too_many_arguments)]
    fn intern_http(
        &self,
        r: &CRequest,
        method: &str,
        url: &dyn fmt::Display,
        status: u16,
        error_code: u32,
        error: Option<&HttpError>,
        expected: bool,
    ) -> [SeriesId; 9] {
        let st = self.shared.system_tags;
        let url_text = url.to_string();
        let name = r.name.clone().unwrap_or_else(|| url_text.clone());
        let status_text = status.to_string();
        let code_text = error_code.to_string();
        let mut tags: Vec<(&str, &str)> = r
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let proto = if self.resp.proto.is_empty() {
            "HTTP/1.1"
        } else {
            self.resp.proto
        };
        let pairs: [(&str, &str, bool); 11] = [
            ("proto", proto, error.is_none()),
            ("status", &status_text, true),
            ("method", method, true),
            // k6 (since v0.41) sets url to the name when a name is given.
            ("url", r.name.as_deref().unwrap_or(&url_text), true),
            ("name", &name, true),
            ("group", &r.group, true),
            (
                "expected_response",
                if expected { "true" } else { "false" },
                !r.no_response_callback,
            ),
            (
                "error",
                error.map(|e| e.message.as_str()).unwrap_or(""),
                error.is_some(),
            ),
            ("error_code", &code_text, error_code != 0),
            (
                "tls_version",
                self.resp.tls_version.unwrap_or(""),
                self.resp.tls_version.is_some(),
            ),
            ("scenario", "", false),
        ];
        for (k, v, present) in pairs {
            if present && st.has(k) {
                tags.push((k, v));
            }
        }
        tags.extend(self.scenario_tags());
        let b = self.shared.builtin.http();
        let mut out = [SeriesId(0); 9];
        for (i, m) in b.iter().enumerate() {
            // `http_req_failed` gets no sample without a response callback: not interned.
            if i == Builtin::HTTP_REQ_FAILED && r.no_response_callback {
                break;
            }
            out[i] = self.series(*m, &tags);
        }
        out
    }
}

/// A URL that could not be parsed, for the `url` tag: its password masked, and control
/// characters percent-encoded so no output line (CSV, InfluxDB line protocol, ...) is split.
struct TagSafe<'a>(&'a str);

impl fmt::Display for TagSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in crate::http::url::password_masked(self.0).chars() {
            if c.is_control() {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    write!(f, "%{byte:02X}")?;
                }
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// The most request outcomes (request, status, error, URL) a VU keeps the series of.
const HTTP_CACHE_LEN: usize = 32;

/// How long a finished sample may wait in a VU's buffer: about one collector tick.
pub const FLUSH_AGE: Duration = Duration::from_millis(100);

/// Awaits `fut` (a request), flushing `buf` once its oldest sample is [`FLUSH_AGE`] old, so a
/// slow response does not hold back the samples of the requests before it. `timer` is the
/// VU's, kept between requests: it stays registered with the runtime and is only moved.
async fn flush_while<F: std::future::Future>(
    buf: &mut LocalBuffer,
    timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    mut fut: Pin<&mut F>,
) -> F::Output {
    let Some(due) = buf
        .oldest()
        .map(|t| tokio::time::Instant::from_std(t + FLUSH_AGE))
    else {
        return fut.await;
    };
    let timer = match timer {
        Some(t) => {
            if t.deadline() != due || t.is_elapsed() {
                t.as_mut().reset(due);
            }
            t
        }
        None => timer.insert(Box::pin(tokio::time::sleep_until(due))),
    };
    let mut flushed = false;
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(cx) {
            return std::task::Poll::Ready(out);
        }
        if !flushed && timer.as_mut().poll(cx).is_ready() {
            buf.flush();
            flushed = true;
        }
        std::task::Poll::Pending
    })
    .await
}

fn op_text(op: &Op, text: &str) -> bool {
    match op {
        Op::Contains(s) => text.contains(s.as_str()),
        Op::Matches(re) => re.is_match(text),
        Op::Equals(v) => match v {
            serde_json::Value::String(s) => text == s,
            other => text == other.to_string().as_str(),
        },
        Op::Exists(want) => *want,
    }
}

fn json_equals(found: &serde_json::Value, want: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (found, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::TagSafe;

    #[test]
    fn an_unparsable_url_is_tagged_without_password_or_line_breaks() {
        assert_eq!(
            TagSafe("http://u:pw@h/a?t=x\r\nX-Evil: 1\0").to_string(),
            "http://u:***@h/a?t=x%0D%0AX-Evil: 1%00"
        );
    }
}
