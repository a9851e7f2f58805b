//! The hook for a script that runs instead of a plan's steps (k6 JavaScript, `loadrun-js`).
//!
//! A script VU does not run on the engine's threads: it is driven one turn at a time. The
//! engine VU asks for its next [`Call`] (a request, a sleep, or the end of the iteration) and
//! answers it with a [`Reply`]; requests go through the engine's own HTTP client and every
//! sample is recorded by the engine VU, with the same names, types and tags as a plan's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{HttpError, Timings};

/// A request a script made, with every default already applied.
#[derive(Debug, Clone, Default)]
pub struct ScriptRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// The request's own tags (`params.tags`); `name` among them is the `name` tag.
    pub tags: Vec<(String, String)>,
    pub name: Option<String>,
    /// The `group` tag: `::a::b`, or empty outside any group.
    pub group: String,
    pub timeout: Duration,
    pub max_redirects: u32,
    /// Stopping at `max_redirects` is warned about unless the script set the limit.
    pub warn_redirect_limit: bool,
    pub user_agent: Arc<str>,
    /// The script reads the body (not `discardResponseBodies`, not `responseType: "none"`).
    pub want_body: bool,
    /// k6's `noConnectionReuse`: the connection is closed after the request.
    pub no_connection_reuse: bool,
    /// The statuses `http.expectedStatuses` made expected; `None` is k6's default, 200-399.
    pub expected: Option<Vec<u16>>,
    /// The cookie jar the request uses: [`VU_JAR`] or one made by `new http.CookieJar()`.
    pub jar: u32,
    /// `params.cookies`, sent with (or instead of) the jar's.
    pub cookies: Vec<crate::cookies::RequestCookie>,
    /// `responseCallback: null`: no `expected_response` tag and no `http_req_failed` sample.
    pub no_response_callback: bool,
}

/// The VU's own cookie jar (`http.cookieJar()`); other numbers are jars a script made.
pub const VU_JAR: u32 = 0;

/// An operation on one of the VU's cookie jars (k6's `CookieJar` methods).
#[derive(Debug, Clone)]
pub struct JarCall {
    pub jar: u32,
    pub url: String,
    pub op: JarOp,
}

#[derive(Debug, Clone)]
pub enum JarOp {
    /// `set(url, name, value, opts)`, as the `Set-Cookie` header it amounts to.
    Set { set_cookie: String },
    /// `cookiesForURL(url)`.
    CookiesFor,
    /// `clear(url)`.
    Clear,
    /// `delete(url, name)`.
    Delete { name: String },
}

/// What a script sees of a response.
#[derive(Debug, Clone, Default)]
pub struct ScriptResponse {
    /// 0 when the request failed.
    pub status: u16,
    pub proto: &'static str,
    /// The response head as received: the status line, then its fields (empty when the
    /// request failed). The script splits it only when it reads the headers.
    pub head: Vec<u8>,
    /// Empty unless [`ScriptRequest::want_body`].
    pub body: Vec<u8>,
    pub timings: Timings,
    pub error: Option<HttpError>,
    /// The URL of the last hop (after redirects).
    pub url: String,
}

/// A sample a script produced between two calls, recorded by the engine VU in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// `check()`: one `checks` sample per condition.
    Check {
        name: String,
        group: String,
        ok: bool,
        tags: Vec<(String, String)>,
    },
    /// A `group()` ended: `group_duration`.
    Group { path: String, ms: f64 },
    /// `metric.add(value, tags)` on a custom metric (index into the plan's custom metrics).
    Custom {
        metric: usize,
        value: f64,
        group: String,
        tags: Vec<(String, String)>,
    },
    /// k6's `exec.vu.tags`/`exec.vu.metrics.metadata` changed: every later sample of this VU
    /// carries `tags` in place of its scenario's tags (test-wide tags and `scenario` are among
    /// them unless deleted), and `metadata` besides the engine's own.
    VuTags {
        tags: Vec<(String, String)>,
        metadata: Vec<(String, String)>,
    },
}

/// What a script VU asks the engine for next.
#[derive(Debug)]
pub enum Call {
    Request(Box<ScriptRequest>),
    Sleep(Duration),
    Jar(Box<JarCall>),
    /// `http.batch`: the requests run concurrently.
    Batch(Box<BatchCall>),
    /// The script ran a while without a call: let the thread go, then resume it (answered
    /// with [`Reply::Slept`]).
    Yield,
    /// The iteration (or setup/teardown) is over.
    Done,
}

/// The engine's answer to a [`Call`].
#[derive(Debug)]
pub enum Reply {
    Response(Box<ScriptResponse>),
    Slept,
    /// The cookies of a [`JarOp::CookiesFor`] (empty for the others), or why the URL is
    /// refused.
    Jar(Result<Vec<(String, String)>, String>),
    /// A [`Call::Batch`]'s responses, in its requests' order.
    Batch(Vec<ScriptResponse>),
}

/// The requests of one `http.batch` call and k6's limits on how many run at once.
#[derive(Debug)]
pub struct BatchCall {
    pub requests: Vec<ScriptRequest>,
    /// k6's `batch`: at most this many at once (at least 1).
    pub limit: usize,
    /// k6's `batchPerHost`: at most this many at once to one host and port; 0 is no limit.
    pub per_host: usize,
}

/// One turn of a script VU: the samples it produced, then its next call.
pub struct Turn {
    pub events: Vec<Event>,
    pub call: Call,
}

/// Which iteration a script VU runs (k6's `__VU`, `__ITER`).
#[derive(Debug, Clone, Copy)]
pub struct IterInfo {
    pub vu: u64,
    pub iter: u64,
    pub iter_in_test: u64,
}

/// Which lifecycle function to run once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Setup,
    Teardown,
}

impl Lifecycle {
    /// k6's `group` tag on the samples of setup and teardown.
    pub fn group(self) -> &'static str {
        match self {
            Self::Setup => "::setup",
            Self::Teardown => "::teardown",
        }
    }
}

pub type TurnFuture<'a> = Pin<Box<dyn Future<Output = Turn> + Send + 'a>>;

/// A script: makes the per-VU state.
pub trait Script: Send + Sync {
    /// A VU of `scenario`; its iterations run the scenario's `exec` function.
    fn vu(&self, id: u64, scenario: &str) -> Box<dyn ScriptVu>;
    /// A VU that runs `setup()` or `teardown()` once, with its timeout; `None` when the
    /// script has no such function.
    fn lifecycle(&self, which: Lifecycle) -> Option<(Box<dyn ScriptVu>, Duration)>;
    /// `setup()` failed (it threw): the scenarios do not run, nor does `teardown()`.
    fn setup_failed(&self) -> bool;
}

/// One script VU.
pub trait ScriptVu: Send {
    /// Starts an iteration; the first [`ScriptVu::next`] (with no reply) runs it.
    fn begin(&mut self, info: IterInfo);
    /// Answers the previous call (none on the first turn) and waits for the next.
    fn next(&mut self, reply: Option<Reply>) -> TurnFuture<'_>;
    /// The iteration was cut short while a call was outstanding: the script is told to end it.
    fn interrupt(&mut self);
}
