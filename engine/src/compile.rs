//! Turns a [`Plan`] into what the executors run: scenarios with their executor parameters, and
//! flows whose templates, checks and extractions are resolved once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use regex::Regex;

use crate::feed::FeedData;
use crate::plan::limits::{self, MAX_GROUP_DEPTH, MAX_VUS, SPLIT_HINT};
use crate::plan::{self, ExecutorKind, Plan};
use crate::template::{Part, Template, VarRef};
use crate::util::format_duration;

const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

/// Run-wide settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// `--env K=V`: highest precedence for `${K}`.
    pub env: BTreeMap<String, String>,
    /// `--tag K=V`: test-wide tags, over the plan's `tags`.
    pub tags: Vec<(String, String)>,
    /// `--system-tags`, over the plan's `systemTags`.
    pub system_tags: Option<Vec<String>>,
    pub insecure_skip_tls_verify: bool,
    /// `--http-version`, over the plan's `httpVersion`.
    pub http_version: Option<crate::http::HttpVersion>,
    /// Where relative paths in the plan (data feeds, body files) are resolved.
    pub base_dir: PathBuf,
    /// Look `${VAR}` up in the process environment too (on by default in the CLI).
    pub use_process_env: bool,
    /// `--execution-segment`, over the plan's `executionSegment`.
    pub execution_segment: Option<crate::segment::ExecutionSegment>,
    /// `--execution-segment-sequence`, over the plan's `executionSegmentSequence`.
    pub execution_segment_sequence: Option<crate::segment::ExecutionSegmentSequence>,
    /// The scenarios run a script's functions (see [`crate::script`]), not the plan's steps:
    /// a scenario's `exec` names a function, and no flow is compiled.
    pub script: bool,
}

/// How one scenario schedules iterations.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecSpec {
    SharedIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
    PerVuIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
    ConstantVus {
        vus: u64,
        duration: Duration,
    },
    RampingVus {
        start_vus: u64,
        stages: Vec<(Duration, u64)>,
        graceful_ramp_down: Duration,
    },
    /// Both arrival-rate executors: stages of (duration, rate/s at start, rate/s at end).
    ArrivalRate {
        stages: Vec<(Duration, f64, f64)>,
        pre_allocated: u64,
        max_vus: u64,
    },
}

impl ExecSpec {
    /// Most VUs the executor can use.
    pub fn max_vus(&self) -> u64 {
        match self {
            Self::SharedIterations { vus, .. }
            | Self::PerVuIterations { vus, .. }
            | Self::ConstantVus { vus, .. } => *vus,
            Self::RampingVus {
                start_vus, stages, ..
            } => stages
                .iter()
                .map(|s| s.1)
                .max()
                .unwrap_or(0)
                .max(*start_vus),
            Self::ArrivalRate { max_vus, .. } => *max_vus,
        }
    }

    /// The scheduled duration, without graceful stop.
    pub fn duration(&self) -> Duration {
        match self {
            Self::SharedIterations { max_duration, .. }
            | Self::PerVuIterations { max_duration, .. } => *max_duration,
            Self::ConstantVus { duration, .. } => *duration,
            Self::RampingVus { stages, .. } => stages.iter().map(|s| s.0).sum(),
            Self::ArrivalRate { stages, .. } => stages.iter().map(|s| s.0).sum(),
        }
    }
}

/// One scenario, ready to run.
#[derive(Debug)]
pub struct ScenarioRt {
    pub name: String,
    pub executor: ExecutorKind,
    pub exec: ExecSpec,
    pub start_time: Duration,
    pub graceful_stop: Duration,
    /// Test-wide tags, the scenario's tags and `scenario=NAME`.
    pub tags: Vec<(String, String)>,
    pub flow: Arc<Flow>,
    /// This instance's part of the scenario (`exec` is already its share).
    pub share: crate::partition::Share,
    /// Hands out the iterations' numbers: this instance's and the whole test's.
    pub iter_numbers: crate::partition::IterNumbers,
    /// Live counters for the progress display.
    pub progress: crate::progress::ScenarioProgress,
}

impl ScenarioRt {
    /// The most VUs this instance runs in the scenario (ramping-vus keeps the whole test's
    /// stages, so its share is taken here).
    pub fn max_vus(&self) -> u64 {
        match self.exec {
            ExecSpec::RampingVus { .. } => {
                let all = i64::try_from(self.exec.max_vus()).unwrap_or(i64::MAX);
                self.share.vus.scale(all).max(0) as u64
            }
            _ => self.exec.max_vus(),
        }
    }

    /// k6's one-line description, e.g. `10 looping VUs for 30s (gracefulStop: 30s)`.
    pub fn describe(&self) -> String {
        let g = format!("gracefulStop: {}", format_duration(self.graceful_stop));
        let start = if self.start_time.is_zero() {
            String::new()
        } else {
            format!(", startTime: {}", format_duration(self.start_time))
        };
        match &self.exec {
            ExecSpec::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => format!(
                "{iterations} iterations shared among {vus} VUs (maxDuration: {}, {g}{start})",
                format_duration(*max_duration)
            ),
            ExecSpec::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => format!(
                "{iterations} iterations for each of {vus} VUs (maxDuration: {}, {g}{start})",
                format_duration(*max_duration)
            ),
            ExecSpec::ConstantVus { vus, duration } => format!(
                "{vus} looping VUs for {} ({g}{start})",
                format_duration(*duration)
            ),
            ExecSpec::RampingVus { stages, .. } => format!(
                "Up to {} looping VUs for {} over {} stages (gracefulRampDown: 30s, {g}{start})",
                self.max_vus(),
                format_duration(self.exec.duration()),
                stages.len()
            ),
            ExecSpec::ArrivalRate {
                stages,
                pre_allocated,
                max_vus,
            } => {
                // This instance's share of the schedule: it starts the iterations it owns,
                // a fraction of them that follows its share of maxVUs.
                let share = self.share.iters.segment().length().to_f64();
                let peak = stages.iter().map(|s| s.1.max(s.2)).fold(0.0, f64::max) * share;
                format!(
                    "Up to {peak:.2} iterations/s for {} over {} stages (maxVUs: {pre_allocated}-{max_vus}, {g}{start})",
                    format_duration(self.exec.duration()),
                    stages.len()
                )
            }
        }
    }
}

/// A flow compiled for one scenario.
#[derive(Debug, Default)]
pub struct Flow {
    pub steps: Vec<CStep>,
    /// Names of the `extract` variables, by slot.
    pub slots: Vec<String>,
    pub feeds: Vec<Arc<FeedData>>,
    pub checks: Vec<CheckMeta>,
    /// Group paths (`::a::b`), by group id.
    pub groups: Vec<String>,
    pub requests: u32,
    /// How many custom-metric samples the flow's steps declare (see [`CSample::id`]).
    pub samples: usize,
}

/// A custom metric of the plan (`[metrics.NAME]`), defined when the engine is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMetric {
    pub name: String,
    pub metric_type: loadrun_metrics::MetricType,
    pub contains: loadrun_metrics::ValueKind,
}

/// A sample a request step adds to a custom metric after each response.
#[derive(Debug)]
pub struct CSample {
    /// Flow-wide number, for the VU's series cache.
    pub id: usize,
    /// Index into [`Compiled::custom`].
    pub metric: usize,
    pub source: SampleSource,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug)]
pub enum SampleSource {
    /// Terms added up.
    Value(Vec<CTerm>),
    /// The result of this step's check (index into its `checks`): 1 passed, 0 failed.
    Check(usize),
}

#[derive(Debug)]
pub enum CTerm {
    Constant(f64),
    Timing(plan::custom::Timing),
    Status,
    BodySize,
    /// An extracted variable (slot), read as a number.
    Slot(usize),
}

#[derive(Debug)]
pub struct CheckMeta {
    pub name: String,
    pub group: String,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug)]
pub enum CStep {
    Request(Box<CRequest>),
    Group { id: usize, steps: Vec<CStep> },
    Sleep { min: Duration, max: Duration },
}

#[derive(Debug)]
pub enum CBody {
    None,
    Text(Template),
    Bytes(Arc<Vec<u8>>),
    Form(Vec<(String, Template)>),
}

#[derive(Debug)]
pub struct CRequest {
    pub id: u32,
    pub group: String,
    pub method: String,
    pub url: Template,
    pub query: Vec<(String, Template)>,
    pub headers: Vec<(String, Template)>,
    pub body: CBody,
    pub timeout: Duration,
    pub tags: Vec<(String, String)>,
    pub name: Option<String>,
    pub checks: Vec<CCheck>,
    pub extract: Vec<CExtract>,
    pub samples: Vec<CSample>,
    pub expected: Option<Vec<u16>>,
    /// k6's `responseCallback: null` (scripts only): no `expected_response` tag and no
    /// `http_req_failed` sample.
    pub no_response_callback: bool,
    pub max_redirects: u32,
    /// Neither the step nor the plan set `max_redirects`: stopping at the default limit is
    /// warned about (k6 warns unless `redirects`/`maxRedirects` was set).
    pub warn_redirect_limit: bool,
    pub user_agent: Arc<str>,
    /// The parsed URL (query included) when it has no variables: no per-request parsing.
    pub static_url: Option<crate::http::Url>,
    /// Nothing in the request's bytes varies (URL, headers, body): see `fixed_bytes`.
    pub fixed: bool,
    /// The request's bytes when `fixed` and the VU has no cookie for it: written by the first
    /// VU that builds them and copied by every request after, instead of each request
    /// rendering and checking the same headers again.
    pub fixed_bytes: OnceLock<Vec<u8>>,
    /// Set once an invalid URL was reported, so the log is not flooded.
    pub warned: AtomicBool,
    /// Set once a custom sample could not be read (a variable not extracted or not a number).
    pub sample_warned: AtomicBool,
}

#[derive(Debug)]
pub enum Op {
    Contains(String),
    /// Shared: a `Regex` clone carries its own cache pool (about a kilobyte even unused).
    Matches(Arc<Regex>),
    Equals(serde_json::Value),
    Exists(bool),
}

#[derive(Debug)]
pub enum CheckKind {
    Status(Vec<u16>),
    Header(String, Op),
    Json(String, Op),
    Body(Op),
    Duration(Duration),
}

#[derive(Debug)]
pub struct CCheck {
    pub id: usize,
    pub kind: CheckKind,
}

#[derive(Debug)]
pub enum Source {
    Json(String),
    Regex(Arc<Regex>, usize),
    Header(String),
}

#[derive(Debug)]
pub struct CExtract {
    pub slot: usize,
    pub source: Source,
}

/// Errors found while compiling (the plan parsed, but does not make sense).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError(msg.into()))
}

/// Test-wide results of compiling.
#[derive(Debug)]
pub struct Compiled {
    pub scenarios: Vec<Arc<ScenarioRt>>,
    /// The plan's custom metrics, in name order.
    pub custom: Vec<CustomMetric>,
    pub test_tags: Vec<(String, String)>,
    pub system_tags: crate::metrics::SystemTags,
    pub insecure_skip_tls_verify: bool,
    pub http_version: crate::http::HttpVersion,
    /// The execution segment this process runs, within its sequence.
    pub segment: crate::segment::ExecutionTuple,
}

impl Compiled {
    /// The longest the run can take, graceful stops included.
    pub fn max_duration(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| scenario_end(s.start_time, &s.exec, s.graceful_stop))
            .max()
            .unwrap_or_default()
    }
}

/// When a scenario is over at the latest, from the start of the test.
fn scenario_end(start_time: Duration, exec: &ExecSpec, graceful_stop: Duration) -> Duration {
    start_time + exec.duration() + graceful_stop
}

/// The longest the whole plan can take, graceful stops included, from its scenarios alone:
/// for callers that plan a run elsewhere (`loadrun kubernetes`) without its variables, data
/// files or execution segment.
pub fn planned_duration(plan: &Plan) -> Result<Duration, CompileError> {
    let mut longest = Duration::ZERO;
    for (name, s) in scenario_specs(plan)? {
        let graceful = s
            .graceful_stop
            .map(|d| d.0)
            .unwrap_or(DEFAULT_GRACEFUL_STOP);
        let start = s.start_time.map(|d| d.0).unwrap_or_default();
        longest = longest.max(scenario_end(start, &exec_spec(&name, &s)?, graceful));
    }
    Ok(longest)
}

/// The plan's scenarios, or the one its top-level shortcuts make.
fn scenario_specs(plan: &Plan) -> Result<Vec<(String, plan::Scenario)>, CompileError> {
    if plan.scenarios.is_empty() {
        return Ok(vec![("default".to_string(), shortcut_scenario(plan))]);
    }
    if plan.vus.is_some()
        || plan.duration.is_some()
        || plan.iterations.is_some()
        || !plan.stages.is_empty()
    {
        return err("the top-level vus/duration/iterations/stages shortcuts cannot be combined with [scenarios]; move them into a scenario");
    }
    Ok(plan
        .scenarios
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// The segment and sequence this process runs: the options', else the plan's.
pub fn execution_tuple(
    plan: &Plan,
    opts: &EngineOptions,
) -> Result<crate::segment::ExecutionTuple, CompileError> {
    use crate::segment::{ExecutionSegment, ExecutionSegmentSequence, ExecutionTuple};
    let segment = match (&opts.execution_segment, &plan.execution_segment) {
        (Some(s), _) => *s,
        (None, Some(text)) => text
            .parse::<ExecutionSegment>()
            .map_err(|e| CompileError(format!("executionSegment {text:?}: {e}")))?,
        (None, None) => ExecutionSegment::FULL,
    };
    let sequence = match (
        &opts.execution_segment_sequence,
        &plan.execution_segment_sequence,
    ) {
        (Some(s), _) => s.clone(),
        (None, Some(text)) => text
            .parse::<ExecutionSegmentSequence>()
            .map_err(|e| CompileError(format!("executionSegmentSequence {text:?}: {e}")))?,
        (None, None) => ExecutionSegmentSequence::default(),
    };
    let tuple = ExecutionTuple::new(segment, &sequence)
        .map_err(|e| CompileError(format!("execution segment {segment}: {e}")))?;
    // Without a sequence each instance fills in its own around its segment; uneven ones
    // (0:1/3 beside 1/3:2/3) then stripe differently and can run the same iterations.
    let lengths: Vec<_> = tuple
        .sequence()
        .segments()
        .iter()
        .map(|s| s.length())
        .collect();
    if sequence.is_empty() && lengths.windows(2).any(|w| w[0] != w[1]) {
        tracing::warn!(
            "execution segment {segment} without a sequence is striped within {}; give every instance the same --execution-segment-sequence",
            tuple.sequence()
        );
    }
    Ok(tuple)
}

/// Compiles `plan`.
pub fn compile(plan: &Plan, opts: &EngineOptions) -> Result<Compiled, CompileError> {
    let mut test_tags: BTreeMap<String, String> = plan.tags.clone();
    for (k, v) in &opts.tags {
        test_tags.insert(k.clone(), v.clone());
    }
    let test_tags: Vec<(String, String)> = test_tags.into_iter().collect();
    if let Some(ua) = &plan.user_agent {
        if !crate::http::head::is_field_value(ua) {
            return Err(CompileError(
                "userAgent has a control character (CR, LF, NUL, ...); a header value cannot carry one"
                    .into(),
            ));
        }
    }
    let system_tags = match opts.system_tags.as_ref().or(plan.system_tags.as_ref()) {
        Some(list) => crate::metrics::SystemTags::from_names(list.iter().map(String::as_str)),
        None => crate::metrics::SystemTags::default(),
    };

    let mut feeds = Vec::new();
    for (name, f) in &plan.data {
        let path = resolve_path(&opts.base_dir, &f.file);
        feeds.push(Arc::new(
            FeedData::load(name, &path, f.mode).map_err(CompileError)?,
        ));
    }

    let scenario_specs = scenario_specs(plan)?;

    let custom: Vec<CustomMetric> = plan
        .metrics
        .iter()
        .map(|(name, decl)| custom_metric(name, decl))
        .collect();
    let segment = execution_tuple(plan, opts)?;
    let regexes = Regexes::default();
    let mut scenarios = Vec::new();
    for (name, s) in scenario_specs {
        let whole = exec_spec(&name, &s)?;
        let Some((exec, share)) = crate::partition::partition(&whole, &segment) else {
            tracing::info!(scenario = %name, segment = %segment, "no work for this execution segment in the scenario");
            continue;
        };
        let flow = if opts.script {
            Flow::default()
        } else {
            let steps: &[plan::Step] = match &s.exec {
                None => &plan.steps,
                Some(f) => match plan.flows.get(f) {
                    Some(steps) => steps,
                    None => {
                        return err(format!(
                        "scenarios.{name}.exec: no flow named {f:?} (define it as [[flows.{f}]])"
                    ))
                    }
                },
            };
            if steps.is_empty() {
                return err(match &s.exec {
                    None => format!("scenario {name}: the plan has no [[steps]] to run"),
                    Some(f) => format!("scenario {name}: flow {f:?} has no steps"),
                });
            }
            let env = Env {
                cli: &opts.env,
                scenario: &s.env,
                plan: &plan.env,
                process: opts.use_process_env,
            };
            let ctx = FlowCtx {
                regexes: &regexes,
                env,
                feeds: &feeds,
                base_dir: &opts.base_dir,
                timeout: plan.timeout.map(|d| d.0).unwrap_or(DEFAULT_TIMEOUT),
                max_redirects: plan.max_redirects.unwrap_or(10),
                max_redirects_set: plan.max_redirects.is_some(),
                user_agent: Arc::from(
                    plan.user_agent
                        .clone()
                        .unwrap_or_else(|| format!("loadrun/{}", env!("CARGO_PKG_VERSION")))
                        .as_str(),
                ),
                custom: &custom,
            };
            compile_flow(steps, &ctx).map_err(|e| {
                CompileError(format!(
                    "{}: {e}",
                    match &s.exec {
                        None => "steps".to_string(),
                        Some(f) => format!("flows.{f}"),
                    }
                ))
            })?
        };
        let mut tags: BTreeMap<String, String> = test_tags.iter().cloned().collect();
        for (k, v) in &s.tags {
            tags.insert(k.clone(), v.clone());
        }
        if system_tags.has("scenario") {
            tags.insert("scenario".into(), name.clone());
        }
        let rt = ScenarioRt {
            name: name.clone(),
            executor: s.executor,
            exec,
            start_time: s.start_time.map(|d| d.0).unwrap_or_default(),
            graceful_stop: s
                .graceful_stop
                .map(|d| d.0)
                .unwrap_or(DEFAULT_GRACEFUL_STOP),
            tags: tags.into_iter().collect(),
            flow: Arc::new(flow),
            iter_numbers: crate::partition::IterNumbers::new(&share),
            share,
            progress: Default::default(),
        };
        check_schedule(&rt)?;
        scenarios.push(Arc::new(rt));
    }
    check_total_vus(&scenarios)?;
    // VU ids are global across scenarios, so every scenario's VUs count against a unique feed.
    let max_vus: u64 = scenarios.iter().map(|s| s.max_vus()).sum();
    for feed in &feeds {
        feed.check_vus(max_vus).map_err(CompileError)?;
    }
    Ok(Compiled {
        scenarios,
        custom,
        test_tags,
        system_tags,
        insecure_skip_tls_verify: plan.insecure_skip_tls_verify || opts.insecure_skip_tls_verify,
        http_version: opts.http_version.unwrap_or(match plan.http_version {
            None | Some(plan::HttpVersionOpt::Auto) => crate::http::HttpVersion::Auto,
            Some(plan::HttpVersionOpt::Http1) => crate::http::HttpVersion::Http1,
            Some(plan::HttpVersionOpt::Http2) => crate::http::HttpVersion::Http2,
        }),
        segment,
    })
}

/// Refuses a scenario whose whole schedule (startTime, duration or stages, gracefulRampDown,
/// gracefulStop) is past [`limits::MAX_DURATION`]; each part alone was bounded when parsed.
fn check_schedule(s: &ScenarioRt) -> Result<(), CompileError> {
    let ramp_down = match &s.exec {
        ExecSpec::RampingVus {
            graceful_ramp_down, ..
        } => *graceful_ramp_down,
        _ => Duration::ZERO,
    };
    let parts = [s.start_time, ramp_down, s.graceful_stop];
    let stages: Vec<Duration> = match &s.exec {
        ExecSpec::RampingVus { stages, .. } => stages.iter().map(|st| st.0).collect(),
        ExecSpec::ArrivalRate { stages, .. } => stages.iter().map(|st| st.0).collect(),
        other => vec![other.duration()],
    };
    let total = parts
        .iter()
        .chain(stages.iter())
        .try_fold(Duration::ZERO, |acc, d| acc.checked_add(*d));
    match total {
        Some(t) if t <= limits::MAX_DURATION => Ok(()),
        _ => err(format!(
            "scenario {:?}: startTime, duration or stages, gracefulRampDown and gracefulStop add up to more than loadrun runs (limit {})",
            s.name,
            limits::max_duration_text()
        )),
    }
}

/// Refuses plans whose scenarios together need more VUs than one process holds (summed as
/// k6's `vus_max` is, since the engine allocates them all).
fn check_total_vus(scenarios: &[Arc<ScenarioRt>]) -> Result<(), CompileError> {
    if scenarios.len() < 2 {
        return Ok(());
    }
    let total = scenarios
        .iter()
        .fold(0u64, |acc, s| acc.saturating_add(s.max_vus()));
    if total > MAX_VUS {
        return err(format!(
            "the scenarios together use up to {total} VUs, more than loadrun can run in one process (limit {MAX_VUS}); {SPLIT_HINT}"
        ));
    }
    Ok(())
}

/// k6's rules for the shortcut options: stages → ramping-vus; duration → constant-vus;
/// iterations → shared-iterations; nothing → one iteration of one VU.
fn shortcut_scenario(plan: &Plan) -> plan::Scenario {
    let base = plan::Scenario {
        executor: ExecutorKind::PerVuIterations,
        exec: None,
        vus: plan.vus,
        iterations: None,
        duration: None,
        max_duration: None,
        start_vus: None,
        stages: Vec::new(),
        graceful_ramp_down: None,
        rate: None,
        start_rate: None,
        time_unit: None,
        pre_allocated_vus: None,
        max_vus: None,
        start_time: None,
        graceful_stop: None,
        tags: BTreeMap::new(),
        env: BTreeMap::new(),
    };
    if !plan.stages.is_empty() {
        plan::Scenario {
            executor: ExecutorKind::RampingVus,
            start_vus: Some(plan.vus.unwrap_or(1)),
            stages: plan.stages.clone(),
            vus: None,
            ..base
        }
    } else if let Some(iterations) = plan.iterations {
        plan::Scenario {
            executor: ExecutorKind::SharedIterations,
            iterations: Some(iterations),
            max_duration: plan.duration,
            ..base
        }
    } else if let Some(d) = plan.duration {
        plan::Scenario {
            executor: ExecutorKind::ConstantVus,
            duration: Some(d),
            ..base
        }
    } else {
        plan::Scenario {
            iterations: Some(1),
            ..base
        }
    }
}

fn exec_spec(name: &str, s: &plan::Scenario) -> Result<ExecSpec, CompileError> {
    let need = |what: &str| {
        CompileError(format!(
            "scenarios.{name}: {} needs `{what}`",
            s.executor.name()
        ))
    };
    let reject = |field: &str, present: bool| -> Result<(), CompileError> {
        if present {
            err(format!(
                "scenarios.{name}: `{field}` does not apply to the {} executor",
                s.executor.name()
            ))
        } else {
            Ok(())
        }
    };
    let positive = |field: &str, v: u64| -> Result<u64, CompileError> {
        if v == 0 {
            err(format!("scenarios.{name}.{field} must be greater than 0"))
        } else {
            Ok(v)
        }
    };
    let runnable = |field: &str, v: u64| -> Result<u64, CompileError> {
        if v > MAX_VUS {
            err(format!(
                "scenario {name:?}: {field} = {v} is more than loadrun can run in one process (limit {MAX_VUS}); {SPLIT_HINT}"
            ))
        } else {
            Ok(v)
        }
    };
    let arrival_fields = s.rate.is_some()
        || s.start_rate.is_some()
        || s.time_unit.is_some()
        || s.pre_allocated_vus.is_some()
        || s.max_vus.is_some();
    use ExecutorKind::*;
    let spec = match s.executor {
        SharedIterations | PerVuIterations => {
            reject("duration", s.duration.is_some())?;
            reject("stages", !s.stages.is_empty())?;
            reject("rate/timeUnit/preAllocatedVUs/maxVUs", arrival_fields)?;
            let vus = runnable("vus", positive("vus", s.vus.unwrap_or(1))?)?;
            let iterations = positive("iterations", s.iterations.unwrap_or(1))?;
            if vus.checked_mul(iterations).is_none() {
                return err(format!(
                    "scenario {name:?}: {vus} VUs × {iterations} iterations overflows a 64-bit count"
                ));
            }
            let max_duration = s.max_duration.map(|d| d.0).unwrap_or(DEFAULT_MAX_DURATION);
            if s.executor == SharedIterations {
                if iterations < vus {
                    return err(format!(
                        "scenarios.{name}: {iterations} shared iterations cannot keep {vus} VUs busy; use at least as many iterations as VUs"
                    ));
                }
                ExecSpec::SharedIterations {
                    vus,
                    iterations,
                    max_duration,
                }
            } else {
                ExecSpec::PerVuIterations {
                    vus,
                    iterations,
                    max_duration,
                }
            }
        }
        ConstantVus => {
            reject("iterations", s.iterations.is_some())?;
            reject("stages", !s.stages.is_empty())?;
            reject("rate/timeUnit/preAllocatedVUs/maxVUs", arrival_fields)?;
            let duration = s.duration.ok_or_else(|| need("duration"))?.0;
            if duration.is_zero() {
                return err(format!("scenarios.{name}.duration must be greater than 0"));
            }
            ExecSpec::ConstantVus {
                vus: runnable("vus", positive("vus", s.vus.unwrap_or(1))?)?,
                duration,
            }
        }
        RampingVus => {
            reject("vus (use startVUs)", s.vus.is_some())?;
            reject("duration (use stages)", s.duration.is_some())?;
            reject("rate/timeUnit/preAllocatedVUs/maxVUs", arrival_fields)?;
            if s.stages.is_empty() {
                return Err(need("stages"));
            }
            runnable("startVUs", s.start_vus.unwrap_or(1))?;
            for (i, st) in s.stages.iter().enumerate() {
                runnable(&format!("stages[{i}].target"), st.target)?;
            }
            ExecSpec::RampingVus {
                start_vus: s.start_vus.unwrap_or(1),
                stages: s
                    .stages
                    .iter()
                    .map(|st| (st.duration.0, st.target))
                    .collect(),
                graceful_ramp_down: s
                    .graceful_ramp_down
                    .map(|d| d.0)
                    .unwrap_or(DEFAULT_GRACEFUL_STOP),
            }
        }
        ConstantArrivalRate | RampingArrivalRate => {
            reject("vus (use preAllocatedVUs)", s.vus.is_some())?;
            reject("iterations", s.iterations.is_some())?;
            let unit = s.time_unit.map(|d| d.0).unwrap_or(Duration::from_secs(1));
            if unit.is_zero() {
                return err(format!("scenarios.{name}.timeUnit must be greater than 0"));
            }
            let per_sec = |r: f64| r / unit.as_secs_f64();
            let pre = runnable(
                "preAllocatedVUs",
                s.pre_allocated_vus.ok_or_else(|| need("preAllocatedVUs"))?,
            )?;
            let max_vus = runnable("maxVUs", s.max_vus.unwrap_or(pre))?;
            if max_vus < pre {
                // k6's wording (lib/executor/*_arrival_rate.go).
                return err(format!(
                    "scenarios.{name}: maxVUs can't be less than preAllocatedVUs ({max_vus} < {pre})"
                ));
            }
            if max_vus == 0 {
                return err(format!(
                    "scenarios.{name}: preAllocatedVUs or maxVUs must be greater than 0"
                ));
            }
            let stages = if s.executor == ConstantArrivalRate {
                reject("stages", !s.stages.is_empty())?;
                let rate = s.rate.ok_or_else(|| need("rate"))?;
                let duration = s.duration.ok_or_else(|| need("duration"))?.0;
                if !(rate > 0.0 && rate.is_finite()) || duration.is_zero() {
                    return err(format!(
                        "scenarios.{name}: rate and duration must be greater than 0"
                    ));
                }
                vec![(duration, per_sec(rate), per_sec(rate))]
            } else {
                reject("rate (use startRate and stages)", s.rate.is_some())?;
                reject("duration (use stages)", s.duration.is_some())?;
                if s.stages.is_empty() {
                    return Err(need("stages"));
                }
                let mut from = per_sec(s.start_rate.unwrap_or(0.0));
                let mut out = Vec::new();
                for st in &s.stages {
                    let to = per_sec(st.target as f64);
                    out.push((st.duration.0, from, to));
                    from = to;
                }
                out
            };
            let scheduled: f64 = stages
                .iter()
                .map(|(d, r0, r1)| (r0 + r1) / 2.0 * d.as_secs_f64())
                .sum();
            if scheduled.is_nan() || scheduled > limits::MAX_SCHEDULED_ITERATIONS {
                return err(format!(
                    "scenario {name:?}: its schedule starts {scheduled:e} iterations, more than loadrun can count (limit 2^53 = {}); lower the rate or the duration",
                    limits::MAX_SCHEDULED_ITERATIONS
                ));
            }
            ExecSpec::ArrivalRate {
                stages,
                pre_allocated: pre,
                max_vus,
            }
        }
    };
    Ok(spec)
}

fn resolve_path(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

#[derive(Clone, Copy)]
struct Env<'a> {
    cli: &'a BTreeMap<String, String>,
    scenario: &'a BTreeMap<String, String>,
    plan: &'a BTreeMap<String, String>,
    process: bool,
}

impl Env<'_> {
    /// `--env` > scenario `env` > process environment > plan `env`.
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.cli.get(name).or_else(|| self.scenario.get(name)) {
            return Some(v.clone());
        }
        if self.process {
            if let Ok(v) = std::env::var(name) {
                return Some(v);
            }
        }
        self.plan.get(name).cloned()
    }
}

/// Compiled regexes by pattern. A compiled regex holds tens of kilobytes (Unicode classes),
/// and generated plans repeat the same few patterns on thousands of steps: they share one.
#[derive(Default)]
struct Regexes(std::cell::RefCell<std::collections::HashMap<String, Arc<Regex>>>);

impl Regexes {
    fn get(&self, pattern: &str) -> Result<Arc<Regex>, regex::Error> {
        if let Some(re) = self.0.borrow().get(pattern) {
            return Ok(re.clone());
        }
        let re = Arc::new(Regex::new(pattern)?);
        self.0.borrow_mut().insert(pattern.to_string(), re.clone());
        Ok(re)
    }
}

struct FlowCtx<'a> {
    regexes: &'a Regexes,
    env: Env<'a>,
    feeds: &'a [Arc<FeedData>],
    base_dir: &'a Path,
    timeout: Duration,
    max_redirects: u32,
    max_redirects_set: bool,
    user_agent: Arc<str>,
    custom: &'a [CustomMetric],
}

fn custom_metric(name: &plan::MetricName, decl: &plan::MetricDecl) -> CustomMetric {
    use loadrun_metrics::{MetricType, ValueKind};
    use plan::custom::CustomType;
    CustomMetric {
        name: name.as_str().to_string(),
        metric_type: match decl.metric_type {
            CustomType::Counter => MetricType::Counter,
            CustomType::Gauge => MetricType::Gauge,
            CustomType::Rate => MetricType::Rate,
            CustomType::Trend => MetricType::Trend,
        },
        contains: if decl.time {
            ValueKind::Time
        } else {
            ValueKind::Default
        },
    }
}

/// A request step's `metrics` entries: the metric must be declared, a `check` must name one
/// of the step's checks, a `${variable}` one extracted in this flow.
fn compile_samples(
    s: &plan::Step,
    checks: &[String],
    ctx: &FlowCtx<'_>,
    flow: &mut Flow,
) -> Result<Vec<CSample>, String> {
    let mut out = Vec::new();
    for (i, m) in s.metrics.iter().enumerate() {
        let at = format!("metrics[{i}]");
        let Some(metric) = ctx.custom.iter().position(|c| c.name == m.metric) else {
            return Err(
                if crate::plan::custom::BUILTIN_METRICS.contains(&m.metric.as_str()) {
                    format!("{at}: {:?} is a built-in metric; samples can only be added to the plan's own [metrics]", m.metric)
                } else {
                    format!(
                    "{at}: no metric {:?} is declared; add [metrics.{}] with a type (counter, gauge, rate or trend)",
                    m.metric, m.metric
                )
                },
            );
        };
        let source = match (&m.value, &m.check) {
            (Some(v), None) => {
                let mut terms = Vec::new();
                for t in &v.0 {
                    use plan::custom::Term;
                    terms.push(match t {
                        Term::Constant(c) => CTerm::Constant(*c),
                        Term::Timing(t) => CTerm::Timing(*t),
                        Term::Status => CTerm::Status,
                        Term::BodySize => CTerm::BodySize,
                        Term::Var(name) => match flow.slots.iter().position(|v| v == name) {
                            Some(slot) => CTerm::Slot(slot),
                            None => {
                                return Err(format!(
                                    "{at}: ${{{name}}} is not a variable this flow extracts (`extract = [{{ var = \"{name}\", ... }}]`)"
                                ))
                            }
                        },
                    });
                }
                SampleSource::Value(terms)
            }
            (None, Some(name)) => match checks.iter().position(|c| c == name) {
                Some(index) => SampleSource::Check(index),
                None => {
                    return Err(format!(
                        "{at}: this step has no check named {name:?} (its checks: {})",
                        if checks.is_empty() {
                            "none".to_string()
                        } else {
                            checks.join(", ")
                        }
                    ));
                }
            },
            _ => return Err(format!("{at}: give exactly one of value, check")),
        };
        let id = flow.samples;
        flow.samples += 1;
        out.push(CSample {
            id,
            metric,
            source,
            tags: m.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
    }
    Ok(out)
}

fn collect_slots(steps: &[plan::Step], out: &mut Vec<String>) {
    for s in steps {
        for e in &s.extract {
            if !out.contains(&e.var) {
                out.push(e.var.clone());
            }
        }
        collect_slots(&s.steps, out);
    }
}

fn compile_flow(steps: &[plan::Step], ctx: &FlowCtx<'_>) -> Result<Flow, String> {
    let mut flow = Flow {
        feeds: ctx.feeds.to_vec(),
        ..Flow::default()
    };
    collect_slots(steps, &mut flow.slots);
    flow.steps = compile_steps(steps, "", "", 0, ctx, &mut flow)?;
    Ok(flow)
}

fn compile_steps(
    steps: &[plan::Step],
    group: &str,
    at: &str,
    depth: usize,
    ctx: &FlowCtx<'_>,
    flow: &mut Flow,
) -> Result<Vec<CStep>, String> {
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let kinds = [s.url.is_some(), s.group.is_some(), s.sleep.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if kinds != 1 {
            return Err(format!(
                "{here}: a step is a request (`url`), a group (`group` with `steps`) or think time (`sleep`): give exactly one of them"
            ));
        }
        if s.url.is_none() && !s.metrics.is_empty() {
            return Err(format!(
                "{here}: `metrics` adds samples after a response; put it on a request step"
            ));
        }
        if let Some(name) = &s.group {
            if name.contains("::") {
                return Err(format!("{here}: a group name cannot contain \"::\""));
            }
            if depth >= MAX_GROUP_DEPTH {
                return Err(format!(
                    "{here}: groups nest more than {MAX_GROUP_DEPTH} levels deep, the most loadrun accepts"
                ));
            }
            let path = format!("{group}::{name}");
            let id = flow.groups.len();
            flow.groups.push(path.clone());
            let inner = compile_steps(
                &s.steps,
                &path,
                &format!("{here}.steps"),
                depth + 1,
                ctx,
                flow,
            )?;
            out.push(CStep::Group { id, steps: inner });
        } else if let Some(sl) = &s.sleep {
            let (min, max) = match sl {
                plan::Sleep::Fixed(d) => (d.0, d.0),
                plan::Sleep::Range([a, b]) => (a.0.min(b.0), a.0.max(b.0)),
            };
            out.push(CStep::Sleep { min, max });
        } else {
            let r = compile_request(s, group, ctx, flow).map_err(|e| format!("{here}: {e}"))?;
            out.push(CStep::Request(Box::new(r)));
        }
    }
    Ok(out)
}

fn compile_request(
    s: &plan::Step,
    group: &str,
    ctx: &FlowCtx<'_>,
    flow: &mut Flow,
) -> Result<CRequest, String> {
    let slots = flow.slots.clone();
    let mut resolve = |name: &str| -> Result<Part, String> {
        if let Some(i) = slots.iter().position(|s| s == name) {
            return Ok(Part::Var(VarRef::Slot(i, ctx.env.get(name).map(Arc::from))));
        }
        match name {
            "__VU" => return Ok(Part::Var(VarRef::Vu)),
            "__ITER" => return Ok(Part::Var(VarRef::Iter)),
            "exec.scenario.iterationInTest" => return Ok(Part::Var(VarRef::IterInTest)),
            _ => {}
        }
        if let Some((feed, col)) = name.split_once('.') {
            if let Some(fi) = ctx.feeds.iter().position(|f| f.name == feed) {
                let f = &ctx.feeds[fi];
                return match f.column(col) {
                    Some(ci) => Ok(Part::Var(VarRef::Feed(fi, ci))),
                    None => Err(format!(
                        "data feed {feed} has no column {col:?} (columns: {})",
                        f.columns.join(", ")
                    )),
                };
            }
        }
        match ctx.env.get(name) {
            Some(v) => Ok(Part::Lit(v)),
            None => Err(format!(
                "unknown variable ${{{name}}}: set it with -e {name}=..., in the plan's [env], or extract it in an earlier step"
            )),
        }
    };
    let url_text = s.url.as_deref().unwrap_or("");
    let url = Template::compile(url_text, &mut resolve)?;
    if !literals_are(&url, |t| !t.contains(|c: char| c.is_ascii_control())) {
        return Err(format!(
            "url {url_text:?} has a control character (CR, LF, NUL, ...); a URL cannot carry one"
        ));
    }
    if let Some(u) = url.as_static() {
        crate::http::Url::parse(u)?;
    }
    let mut query = Vec::new();
    for (k, v) in &s.query {
        query.push((k.clone(), Template::compile(v, &mut resolve)?));
    }
    let mut headers = Vec::new();
    for (k, v) in &s.headers {
        if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("content-length") {
            return Err(format!("header {k:?} is set by loadrun"));
        }
        if !crate::http::head::is_token(k) {
            return Err(format!(
                "header name {k:?} is not valid: use letters, digits and !#$%&'*+-.^_`|~"
            ));
        }
        let value = Template::compile(v, &mut resolve)?;
        if !literals_are(&value, crate::http::head::is_field_value) {
            return Err(format!(
                "header {k:?}: the value has a control character (CR, LF, NUL, ...); a header value cannot carry one"
            ));
        }
        headers.push((k.clone(), value));
    }
    let has_ctype = s
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    let bodies = [
        s.body.is_some(),
        s.json.is_some(),
        s.form.is_some(),
        s.file.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if bodies > 1 {
        return Err("give at most one of body, json, form, file".into());
    }
    let body = if let Some(b) = &s.body {
        CBody::Text(Template::compile(b, &mut resolve)?)
    } else if let Some(j) = &s.json {
        if !has_ctype {
            headers.push(("Content-Type".into(), Template::literal("application/json")));
        }
        let text = serde_json::to_string(j).map_err(|e| e.to_string())?;
        CBody::Text(Template::compile(&text, &mut resolve)?)
    } else if let Some(f) = &s.form {
        if !has_ctype {
            headers.push((
                "Content-Type".into(),
                Template::literal("application/x-www-form-urlencoded"),
            ));
        }
        let mut pairs = Vec::new();
        for (k, v) in f {
            pairs.push((k.clone(), Template::compile(v, &mut resolve)?));
        }
        CBody::Form(pairs)
    } else if let Some(file) = &s.file {
        let path = resolve_path(ctx.base_dir, file);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read body file {}: {e}", path.display()))?;
        CBody::Bytes(Arc::new(bytes))
    } else {
        CBody::None
    };
    let method = match &s.method {
        Some(m) => {
            let m = m.trim().to_ascii_uppercase();
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("invalid method {m:?}"));
            }
            m
        }
        None if !matches!(body, CBody::None) => "POST".into(),
        None => "GET".into(),
    };

    let first_check = flow.checks.len();
    let mut checks = Vec::new();
    for (ci, c) in s.checks.iter().enumerate() {
        let (name, kind) =
            compile_check(c, ctx.regexes).map_err(|e| format!("checks[{ci}]: {e}"))?;
        let id = flow.checks.len();
        flow.checks.push(CheckMeta {
            name,
            group: group.to_string(),
            tags: c.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
        checks.push(CCheck { id, kind });
    }
    let mut extract = Vec::new();
    for (ei, e) in s.extract.iter().enumerate() {
        let n = [e.json.is_some(), e.regex.is_some(), e.header.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if n != 1 {
            return Err(format!(
                "extract[{ei}]: give exactly one of json, regex, header"
            ));
        }
        let source = if let Some(p) = &e.json {
            check_pointer(p).map_err(|m| format!("extract[{ei}]: {m}"))?;
            Source::Json(p.clone())
        } else if let Some(r) = &e.regex {
            let re = ctx
                .regexes
                .get(r)
                .map_err(|x| format!("extract[{ei}]: invalid regex: {x}"))?;
            let default = if re.captures_len() > 1 { 1 } else { 0 };
            let g = e.group.unwrap_or(default);
            if g >= re.captures_len() {
                return Err(format!("extract[{ei}]: the regex has no group {g}"));
            }
            Source::Regex(re, g)
        } else {
            Source::Header(e.header.clone().unwrap_or_default())
        };
        let slot = flow.slots.iter().position(|s| s == &e.var).unwrap_or(0);
        extract.push(CExtract { slot, source });
    }
    let check_names: Vec<String> = flow.checks[first_check..]
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let samples = compile_samples(s, &check_names, ctx, flow)?;
    let static_url = match url.as_static() {
        Some(u) if query.iter().all(|(_, v)| v.is_static()) => {
            let mut text = u.to_string();
            let mut first = !text.contains('?');
            for (k, v) in &query {
                text.push(if first { '?' } else { '&' });
                first = false;
                crate::util::percent_encode_into(k, &mut text);
                text.push('=');
                crate::util::percent_encode_into(v.as_static().unwrap_or(""), &mut text);
            }
            Some(crate::http::Url::parse(&text)?)
        }
        _ => None,
    };
    let id = flow.requests;
    flow.requests += 1;
    let fixed = static_url.is_some()
        && headers.iter().all(|(_, v)| v.is_static())
        && matches!(body, CBody::None | CBody::Bytes(_));
    Ok(CRequest {
        fixed,
        fixed_bytes: OnceLock::new(),
        static_url,
        id,
        group: group.to_string(),
        method,
        url,
        query,
        headers,
        body,
        timeout: s.timeout.map(|d| d.0).unwrap_or(ctx.timeout),
        tags: s.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        name: s.name.clone(),
        checks,
        extract,
        samples,
        expected: s.expected_statuses.clone(),
        no_response_callback: false,
        max_redirects: s.max_redirects.unwrap_or(ctx.max_redirects),
        warn_redirect_limit: s.max_redirects.is_none() && !ctx.max_redirects_set,
        user_agent: ctx.user_agent.clone(),
        warned: AtomicBool::new(false),
        sample_warned: AtomicBool::new(false),
    })
}

/// Whether every literal part of `t` (a static value, or the fixed text around its
/// variables) passes `ok`; the variables are checked when a request is built.
fn literals_are(t: &Template, ok: fn(&str) -> bool) -> bool {
    t.parts.iter().all(|p| match p {
        Part::Lit(s) => ok(s),
        Part::Var(_) => true,
    })
}

fn check_pointer(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "JSON pointer {p:?} must start with '/' (e.g. \"/user/id\")"
        ))
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compile_op(
    c: &plan::Check,
    allow_exists: bool,
    regexes: &Regexes,
) -> Result<(Op, String), String> {
    let n = [
        c.contains.is_some(),
        c.matches.is_some(),
        c.equals.is_some(),
        c.exists.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if n > 1 {
        return Err("give at most one of contains, matches, equals, exists".into());
    }
    if let Some(s) = &c.contains {
        Ok((Op::Contains(s.clone()), format!("contains {s}")))
    } else if let Some(m) = &c.matches {
        let re = regexes.get(m).map_err(|e| format!("invalid regex: {e}"))?;
        Ok((Op::Matches(re), format!("matches {m}")))
    } else if let Some(v) = &c.equals {
        Ok((Op::Equals(v.clone()), format!("is {}", value_text(v))))
    } else if let Some(e) = c.exists {
        if !allow_exists {
            return Err("`exists` applies to header and json checks".into());
        }
        Ok((
            Op::Exists(e),
            if e {
                "exists".into()
            } else {
                "is absent".into()
            },
        ))
    } else if allow_exists {
        Ok((Op::Exists(true), "exists".into()))
    } else {
        Err("a body check needs contains, matches or equals".into())
    }
}

fn compile_check(c: &plan::Check, regexes: &Regexes) -> Result<(String, CheckKind), String> {
    let subjects = [
        c.status.is_some(),
        c.header.is_some(),
        c.json.is_some(),
        c.duration.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if subjects > 1 {
        return Err(
            "a check has one subject: status, header, json, duration, or (none) the body".into(),
        );
    }
    let (auto, kind) = if let Some(st) = &c.status {
        if c.contains.is_some() || c.matches.is_some() || c.equals.is_some() || c.exists.is_some() {
            return Err("a status check takes only the status".into());
        }
        let list = st.to_vec();
        let text = list
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ");
        (format!("status is {text}"), CheckKind::Status(list))
    } else if let Some(h) = &c.header {
        let (op, text) = compile_op(c, true, regexes)?;
        (
            format!("header {h} {text}"),
            CheckKind::Header(h.clone(), op),
        )
    } else if let Some(p) = &c.json {
        check_pointer(p)?;
        let (op, text) = compile_op(c, true, regexes)?;
        (format!("json {p} {text}"), CheckKind::Json(p.clone(), op))
    } else if let Some(d) = c.duration {
        (
            format!("duration < {}", format_duration(d.0)),
            CheckKind::Duration(d.0),
        )
    } else {
        let (op, text) = compile_op(c, false, regexes)?;
        (format!("body {text}"), CheckKind::Body(op))
    };
    Ok((c.name.clone().unwrap_or(auto), kind))
}

/// Whether the plan refers to `${TEST_SERVER}` (so the built-in server should be started when
/// nothing else defines it).
pub fn uses_test_server(plan: &Plan) -> bool {
    fn in_steps(steps: &[plan::Step]) -> bool {
        steps.iter().any(|s| {
            let texts = s
                .url
                .iter()
                .chain(s.body.iter())
                .chain(s.headers.values())
                .chain(s.query.values());
            texts
                .flat_map(|t| crate::template::references(t))
                .any(|n| n == "TEST_SERVER")
                || s.json
                    .as_ref()
                    .is_some_and(|j| j.to_string().contains("${TEST_SERVER}"))
                || in_steps(&s.steps)
        })
    }
    plan.test_server || in_steps(&plan.steps) || plan.flows.values().any(|f| in_steps(f))
}
