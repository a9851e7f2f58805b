//! The plan schema (serde). Unknown keys are errors, so a typo is reported with its position.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::limits;

/// A duration written as `"30s"`, `"1m30s"`, `"500ms"` or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\", \"1m30s\" or \"500ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                let d = crate::util::parse_duration(v).ok_or_else(|| {
                    E::custom(format!(
                        "invalid duration {v:?}, expected a duration such as \"30s\", \"1m30s\" or \"500ms\""
                    ))
                })?;
                bounded(d, v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                let s = u64::try_from(v).map_err(|_| E::custom("a duration cannot be negative"))?;
                self.visit_u64(s)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                bounded(Duration::from_secs(v), &format!("{v}s"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(E::custom(
                        "a duration must be a non-negative number of seconds",
                    ));
                }
                // Past u64 seconds there is no Duration at all; report it as too long.
                let d = Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX);
                bounded(d, &format!("{v}s"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Refuses durations past [`limits::MAX_DURATION`]: they are typos, and the scheduler's clock
/// arithmetic would overflow on the largest ones.
fn bounded<E: de::Error>(d: Duration, written: &str) -> Result<Dur, E> {
    if d > limits::MAX_DURATION {
        Err(E::custom(format!(
            "duration {written} is longer than loadrun accepts (limit {})",
            limits::max_duration_text()
        )))
    } else {
        Ok(Dur(d))
    }
}

/// k6's executors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    SharedIterations,
    PerVuIterations,
    ConstantVus,
    RampingVus,
    ConstantArrivalRate,
    RampingArrivalRate,
}

impl ExecutorKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::SharedIterations => "shared-iterations",
            Self::PerVuIterations => "per-vu-iterations",
            Self::ConstantVus => "constant-vus",
            Self::RampingVus => "ramping-vus",
            Self::ConstantArrivalRate => "constant-arrival-rate",
            Self::RampingArrivalRate => "ramping-arrival-rate",
        }
    }
}

/// The plan's `httpVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HttpVersionOpt {
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "1.1")]
    Http1,
    #[serde(rename = "2")]
    Http2,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stage {
    pub duration: Dur,
    pub target: u64,
}

/// One `[scenarios.NAME]` table. Which fields apply depends on `executor` (checked when the
/// plan is compiled).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub executor: ExecutorKind,
    /// The flow to run: a `[flows.NAME]` name; default: the top-level `steps`.
    pub exec: Option<String>,
    pub vus: Option<u64>,
    pub iterations: Option<u64>,
    pub duration: Option<Dur>,
    pub max_duration: Option<Dur>,
    #[serde(rename = "startVUs")]
    pub start_vus: Option<u64>,
    #[serde(default)]
    pub stages: Vec<Stage>,
    pub graceful_ramp_down: Option<Dur>,
    pub rate: Option<f64>,
    pub start_rate: Option<f64>,
    pub time_unit: Option<Dur>,
    #[serde(rename = "preAllocatedVUs")]
    pub pre_allocated_vus: Option<u64>,
    #[serde(rename = "maxVUs")]
    pub max_vus: Option<u64>,
    pub start_time: Option<Dur>,
    pub graceful_stop: Option<Dur>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// A number or a list of numbers (`status = 200`, `status = [200, 201]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(u16),
    Many(Vec<u16>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<u16> {
        match self {
            Self::One(v) => vec![*v],
            Self::Many(v) => v.clone(),
        }
    }
}

/// Think time: `sleep = "1s"` or a random range `sleep = ["1s", "3s"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Sleep {
    Range([Dur; 2]),
    Fixed(Dur),
}

/// A check on a response. Give one subject (`status`, `header`, `json`, `duration`, or none
/// for the body) and, for header/json/body, an operator (`contains`, `matches`, `equals`,
/// `exists`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    /// The `check` tag; a readable default is made from the condition.
    pub name: Option<String>,
    pub status: Option<OneOrMany>,
    pub header: Option<String>,
    /// A JSON pointer (RFC 6901) into the body, e.g. `/user/id`.
    pub json: Option<String>,
    pub contains: Option<String>,
    pub matches: Option<String>,
    pub equals: Option<serde_json::Value>,
    pub exists: Option<bool>,
    /// `http_req_duration` must be below this.
    pub duration: Option<Dur>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Puts a value from the response into a variable (`${var}` in later steps).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Extract {
    pub var: String,
    pub json: Option<String>,
    pub regex: Option<String>,
    /// Capture group of `regex` (default 1, or 0 when it has none).
    pub group: Option<usize>,
    pub header: Option<String>,
}

/// One step of a flow: a request (has `url`), a group (has `group` and `steps`) or think time
/// (has `sleep`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    // Request.
    pub url: Option<String>,
    pub method: Option<String>,
    /// The `name` tag (k6 also puts it in `url` to keep the number of series down).
    pub name: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A raw body (`${VAR}` interpolated).
    pub body: Option<String>,
    /// A JSON body (string values are interpolated); sets `Content-Type: application/json`.
    pub json: Option<serde_json::Value>,
    /// A form body; sets `Content-Type: application/x-www-form-urlencoded`.
    pub form: Option<BTreeMap<String, String>>,
    /// A body read from a file (path relative to the plan).
    pub file: Option<String>,
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub extract: Vec<Extract>,
    /// Statuses that count as expected (`expected_response`, `http_req_failed`); default 200-399.
    pub expected_statuses: Option<Vec<u16>>,
    pub max_redirects: Option<u32>,
    /// Samples of custom metrics, after each response.
    #[serde(default)]
    pub metrics: Vec<super::MetricSample>,

    // Group.
    pub group: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,

    // Think time.
    pub sleep: Option<Sleep>,
}

/// A CSV data feed: `[data.users] file = "users.csv"`; columns are `${users.COLUMN}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Feed {
    pub file: String,
    #[serde(default)]
    pub mode: FeedMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FeedMode {
    /// One shared cursor: each iteration takes the next row, wrapping around.
    #[default]
    Sequential,
    /// A random row each iteration.
    Random,
    /// Each VU keeps its own row (VU n gets row n); a plan that can run more VUs than there
    /// are rows is refused when it is compiled.
    Unique,
}

/// The whole plan file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// Start the built-in test server in-process; its URL is `${TEST_SERVER}`. Also started
    /// when a step uses `${TEST_SERVER}` and nothing defines it.
    #[serde(default)]
    pub test_server: bool,
    /// Test-wide tags, on every sample.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Defaults for `${VAR}`; `--env` and the environment override them.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// k6 thresholds: `metric = ["p(95)<500", { threshold = "rate<0.01", abortOnFail = true }]`.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<serde_json::Value>>,
    pub system_tags: Option<Vec<String>>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
    pub max_redirects: Option<u32>,
    pub user_agent: Option<String>,
    /// `auto` (HTTP/2 when a TLS server offers it), `1.1`, or `2` (also h2c on cleartext).
    pub http_version: Option<HttpVersionOpt>,
    /// Default request timeout (k6: 60s).
    pub timeout: Option<Dur>,
    pub summary_trend_stats: Option<Vec<String>>,
    pub summary_time_unit: Option<String>,
    /// k6's `executionSegment` (`1/3:2/3`, `50%`, ...): the part of the test this process runs.
    pub execution_segment: Option<String>,
    /// k6's `executionSegmentSequence` (`0,1/3,2/3,1`): every instance's segment.
    pub execution_segment_sequence: Option<String>,

    // k6's shortcut options, used when there is no `[scenarios]` table.
    pub vus: Option<u64>,
    pub duration: Option<Dur>,
    pub iterations: Option<u64>,
    #[serde(default)]
    pub stages: Vec<Stage>,

    #[serde(default)]
    pub scenarios: BTreeMap<String, Scenario>,
    /// The default flow.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Named flows for scenarios' `exec`.
    #[serde(default)]
    pub flows: BTreeMap<String, Vec<Step>>,
    #[serde(default)]
    pub data: BTreeMap<String, Feed>,
    /// Output options, `[outputs.NAME]`, handed to the output as its plan table.
    #[serde(default)]
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Custom metrics, `[metrics.NAME]` (k6's `new Trend(NAME)` and the like).
    #[serde(default)]
    pub metrics: BTreeMap<super::MetricName, super::MetricDecl>,
}
