//! `loadrun run`: plan → engine → collector (summary + outputs) → summary and exit code.
//!
//! Exit codes: 0 ok, 99 a threshold failed (or aborted the run), 104 a required output failed
//! (or an unwritable `--summary-export`, k6's invalid-config code),
//! 105 interrupted, 111 ready too late for `--start-at` (did not run), 255 any error before or
//! outside the test.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::std_types::{ROption, RVec};
use anyhow::Context;
use loadrun_engine::{Engine, EngineOptions};
use loadrun_plugin_api::abi::{KeyValue, RunOutcome, TestMeta, ThresholdDef};
use loadrun_plugin_api::EndReason;
use loadrun_summary::{
    Aggregator, RunInfo, SummaryMode, SummaryOptions, ThresholdSet, ThresholdSpec,
};

pub(crate) mod export;
mod handle_summary;
mod plan;
mod progress;
pub(crate) mod result;
mod segment;
mod signal;
mod start_at;

use crate::cli::RunArgs;
use crate::exit;
use crate::outputs::bundled::dashboard;
use crate::outputs::{AbortKind, OutputSet, OutputSpec, DEFAULT_STOP_TIMEOUT};
use crate::plugins::PluginSet;
use plan::Chosen;
use progress::Progress;

fn pairs(list: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .with_context(|| format!("{flag} {p:?}: expected NAME=VALUE"))
        })
        .collect()
}

fn summary_options(args: &RunArgs, chosen: &Chosen) -> anyhow::Result<SummaryOptions> {
    let mut o = SummaryOptions::default();
    if let Some(s) = args.opts.summary.summary_trend_stats.clone().or_else(|| {
        chosen
            .plan
            .summary_trend_stats
            .as_ref()
            .map(|v| v.join(","))
    }) {
        o.trend_stats = s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect();
    }
    o.time_unit = args
        .opts
        .summary
        .summary_time_unit
        .clone()
        .or_else(|| chosen.plan.summary_time_unit.clone());
    o.no_thresholds = args.opts.summary.no_thresholds;
    o.mode = args.opts.summary.mode();
    o.validate()?;
    Ok(o)
}

fn thresholds(chosen: &Chosen) -> anyhow::Result<ThresholdSet> {
    let mut table: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
    for (metric, list) in &chosen.plan.thresholds {
        let mut specs = Vec::new();
        for v in list {
            let spec: ThresholdSpec = serde_json::from_value(v.clone()).with_context(|| {
                format!(
                    "{}: thresholds.{metric}: expected \"p(95)<500\" or {{ threshold = \"...\", abortOnFail = true }}",
                    chosen.source
                )
            })?;
            specs.push(spec);
        }
        table.insert(metric.clone(), specs);
    }
    ThresholdSet::parse(&table).with_context(|| chosen.source.clone())
}

/// Starts the built-in test server when `needed` and no `TEST_SERVER` is given (by `--env` or
/// the environment), and puts its URL in `env`.
fn test_server(
    needed: bool,
    env: &mut BTreeMap<String, String>,
) -> anyhow::Result<Option<loadrun_engine::server::TestServer>> {
    if !needed || env.contains_key("TEST_SERVER") || std::env::var("TEST_SERVER").is_ok() {
        return Ok(None);
    }
    let s = loadrun_engine::server::TestServer::start(([127, 0, 0, 1], 0).into(), 1)
        .context("cannot start the built-in test server")?;
    env.insert("TEST_SERVER".into(), s.url());
    Ok(Some(s))
}

fn test_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Features loadrun knows (`--features`, `K6_FEATURES`); k6's others (`merge-run-tags`,
/// `freeze-env`) concern its script configuration and runtime, which loadrun does not have.
const KNOWN_FEATURES: [&str; 1] = ["native-histograms"];

/// `--features` reaches the outputs as `K6_FEATURES`, the variable k6's outputs read; an
/// unknown name is warned about, not an error, so a k6 command line keeps working.
fn export_features(features: Option<&str>) {
    let Some(list) = features else { return };
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !KNOWN_FEATURES.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            tracing::warn!(
                "--features {name}: not a feature loadrun has (known: {}); ignored",
                KNOWN_FEATURES.join(", ")
            );
        }
    }
    // Called first thing in `execute`, while the process has a single thread: no other
    // thread can be reading the environment.
    std::env::set_var(loadrun_plugin_api::k6::FEATURES_ENV, list);
}

pub fn execute(args: RunArgs) -> anyhow::Result<u8> {
    export_features(args.features.as_deref());
    let mut env: BTreeMap<String, String> = pairs(&args.opts.env, "--env")?.into_iter().collect();
    // Started before the plan is read: a script's `options` may use `__ENV.TEST_SERVER`.
    let mut server = test_server(args.opts.test_server, &mut env)?;
    let chosen = plan::choose(&args, env.get("TEST_SERVER").map(String::as_str))?;
    let start_at = args
        .start_at
        .as_deref()
        .map(start_at::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let start_tolerance = match args.start_at_tolerance.as_deref() {
        Some(t) => loadrun_plugin_api::options::parse_duration(t).with_context(|| {
            format!("--start-at-tolerance {t:?}: expected a duration such as 1s or 500ms")
        })?,
        None => start_at::DEFAULT_TOLERANCE,
    };

    if server.is_none() {
        server = test_server(
            loadrun_engine::compile::uses_test_server(&chosen.plan),
            &mut env,
        )?;
    }
    let _server = server;

    let selected = segment::select(
        &args.opts.segment,
        std::env::var("JOB_COMPLETION_INDEX").ok().as_deref(),
    )?;
    let mut tags = pairs(&args.opts.tags, "--tag")?;
    // As k6-operator does, so that outputs keep the instances apart; a --tag of its own wins.
    if let Some(i) = selected.instance {
        if !tags.iter().any(|(k, _)| k == "instance_id") {
            tags.push(("instance_id".into(), i.to_string()));
        }
    }
    let opts = EngineOptions {
        env,
        tags,
        system_tags: args
            .opts
            .system_tags
            .as_ref()
            .map(|s| s.split(',').map(|x| x.trim().to_string()).collect()),
        insecure_skip_tls_verify: args.opts.insecure_skip_tls_verify,
        http_version: match args.opts.http_version.as_deref() {
            None => None,
            Some("auto") => Some(loadrun_engine::http::HttpVersion::Auto),
            Some("1.1") | Some("1") => Some(loadrun_engine::http::HttpVersion::Http1),
            Some("2") => Some(loadrun_engine::http::HttpVersion::Http2),
            Some(other) => anyhow::bail!("--http-version {other:?}: expected auto, 1.1 or 2"),
        },
        base_dir: chosen.base_dir.clone(),
        use_process_env: true,
        execution_segment: selected.segment,
        execution_segment_sequence: selected.sequence,
        script: chosen.script.is_some(),
    };
    let (share, whole_test) = result::Share::of(&chosen.plan, &opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", chosen.source))?;
    let registry = Arc::new(loadrun_metrics::Registry::new());
    let engine = Engine::new(&chosen.plan, &opts, registry.clone())
        .map_err(|e| anyhow::anyhow!("{}: {e}", chosen.source))?;
    let (engine, script) = match &chosen.script {
        Some(loaded) => {
            let extra: BTreeMap<String, String> = opts
                .env
                .get("TEST_SERVER")
                .map(|u| ("TEST_SERVER".to_string(), u.clone()))
                .into_iter()
                .collect();
            let env = plan::script_env(&args.opts.env, &extra)?;
            let script = loaded
                .script(&chosen.plan, env)
                .map_err(anyhow::Error::msg)?;
            let engine = engine.with_script(script.clone());
            script.attach(engine.control(), engine.scenarios().to_vec());
            (engine, Some(script))
        }
        None => (engine, None),
    };
    let thresholds = thresholds(&chosen)?;
    thresholds
        .register(&registry)
        .with_context(|| chosen.source.clone())?;
    let summary_opts = summary_options(&args, &chosen)?;
    let stop_timeout = match args.output_stop_timeout.as_deref() {
        Some(t) => {
            let d = loadrun_plugin_api::options::parse_duration(t).with_context(|| {
                format!("--output-stop-timeout {t:?}: expected a duration such as 30s")
            })?;
            // The deadline is computed from it after the run: past a bound, that overflows.
            if d > loadrun_engine::plan::limits::MAX_DURATION {
                anyhow::bail!(
                    "--output-stop-timeout {t:?} is longer than loadrun waits (limit {})",
                    loadrun_engine::plan::limits::max_duration_text()
                );
            }
            d
        }
        None => DEFAULT_STOP_TIMEOUT,
    };

    // Opened before the outputs, which then refuse to write the same file.
    let summary_file = match args.opts.summary.summary_export.as_deref() {
        Some(path) => match export::SummaryFile::open(path) {
            Ok(f) => Some(f),
            Err(message) => {
                crate::errln!("loadrun: error: {message}");
                return Ok(exit::ERROR);
            }
        },
        None => None,
    };

    let result_file = match args.result.as_deref() {
        Some(path) => match export::SummaryFile::open_for("--result", path) {
            Ok(f) => Some(f),
            Err(message) => {
                crate::errln!("loadrun: error: {message}");
                return Ok(exit::ERROR);
            }
        },
        None => None,
    };
    let distributed = start_at.is_some() || result_file.is_some() || !whole_test;
    if distributed && result::has_abort_on_fail(&thresholds) {
        tracing::warn!("{}", result::ABORT_ON_FAIL_WARNING);
    }

    // Outputs: every error here stops the run before anything is sent.
    let mut plugins = PluginSet::with_policy(&args.plugins, args.plugin_trust.policy())?;
    let out = dashboard::with_env(
        &args.out,
        std::env::var(dashboard::ENABLE_ENV).ok().as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let specs: Vec<OutputSpec> = out
        .iter()
        .map(|s| OutputSpec::parse(s))
        .collect::<Result<_, _>>()?;
    let test_meta = TestMeta {
        test_id: test_id().into(),
        plan_name: chosen.name.clone().into(),
        start_unix_ns: start_at.unwrap_or_else(loadrun_metrics::now_ns),
        planned_duration_ms: ROption::RSome(engine.max_duration().as_millis() as u64),
        max_vus: engine.max_vus(),
        thresholds: thresholds
            .entries
            .iter()
            .flat_map(|e| {
                e.thresholds.iter().map(move |t| ThresholdDef {
                    metric: e.key.as_str().into(),
                    source: t.source.as_str().into(),
                    abort_on_fail: t.abort_on_fail,
                })
            })
            .collect::<RVec<_>>(),
        tags: engine
            .test_tags()
            .iter()
            .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
            .collect(),
        // Outputs that lay out columns by system tag (CSV) need the enabled set; the web
        // dashboard shows the scenarios.
        extra: serde_json::json!({
            "systemTags": engine.system_tag_names(),
            "scenarios": dashboard::scenarios(&engine),
        })
        .to_string()
        .into(),
    };
    let mut outputs = OutputSet::build_placed(
        &specs,
        &mut plugins,
        &chosen.plan.outputs,
        &chosen.places,
        &test_meta,
        registry.clone(),
    )?;
    outputs.link_dashboard();
    outputs.start()?;

    let (aggregator, summary) = Aggregator::new(registry.clone(), thresholds);
    let collector = loadrun_metrics::Collector::spawn(
        registry.clone(),
        vec![Box::new(aggregator), outputs.consumer()],
        Duration::from_millis(100),
    )
    .context("cannot start the collector thread")?;

    if !args.quiet {
        print_banner(&chosen, &engine, outputs.shown_specs());
    }
    signal::install();
    if let Some(at) = start_at {
        let missed = match start_at::wait(at, start_tolerance, || signal::count() > 0) {
            start_at::Waited::Started => None,
            start_at::Waited::Late(by) => {
                crate::errln!(
                    "loadrun: error: --start-at {} had passed by {} when this instance was ready (tolerance {}); not running a shifted share",
                    start_at::show(at),
                    loadrun_engine::util::format_duration(by),
                    loadrun_engine::util::format_duration(start_tolerance)
                );
                Some((EndReason::Error, exit::START_MISSED))
            }
            start_at::Waited::Interrupted => Some((EndReason::Interrupted, exit::INTERRUPTED)),
        };
        if let Some((reason, code)) = missed {
            collector.finish();
            let outcome = RunOutcome {
                passed: false,
                reason,
                thresholds: RVec::new(),
                duration_ms: 0,
                extra: "{}".into(),
            };
            outputs.stop(&outcome, stop_timeout);
            return Ok(code);
        }
    }
    let run_start_ns = loadrun_metrics::now_ns();
    let control = engine.control();
    let sender = collector.sender();
    let abort = outputs.abort_signal();
    let mut progress = Progress::new(args.quiet, &engine);
    let started = Instant::now();

    let mut end_reason = EndReason::Completed;
    let mut output_failed = false;
    let mut abort_message: Option<String> = None;
    let result = std::thread::scope(|scope| -> anyhow::Result<loadrun_engine::RunResult> {
        // The engine says when it is done, so a short run ends at once rather than at the
        // next 50 ms check of signals, aborts and progress.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let runner = scope.spawn(move || {
            let result = engine.run(sender);
            drop(done_tx);
            result
        });
        let mut interrupted_seen = 0;
        let mut next_abort_check = Instant::now() + Duration::from_secs(1);
        while !runner.is_finished() {
            if let Err(std::sync::mpsc::RecvTimeoutError::Disconnected) =
                done_rx.recv_timeout(Duration::from_millis(50))
            {
                break;
            }
            let n = signal::count();
            if n > interrupted_seen {
                interrupted_seen = n;
                if end_reason == EndReason::Completed {
                    end_reason = EndReason::Interrupted;
                    // As k6 cancels its run context: iterations in flight are interrupted now
                    // rather than given gracefulStop (30 s by default, when Kubernetes kills
                    // after 30 s), so the outputs and the summary are complete in time.
                    progress.note(
                        "loadrun: stopping gracefully: interrupting running iterations and flushing the outputs (Ctrl-C again to exit at once)"
                    );
                    control.stop_now();
                }
            }
            if let Some((kind, reason)) = abort.get() {
                if end_reason == EndReason::Completed {
                    output_failed = kind == AbortKind::RequiredOutputFailed;
                    end_reason = if output_failed {
                        EndReason::Error
                    } else {
                        EndReason::OutputAbort
                    };
                    progress.note(&format!("loadrun: stopping: {reason}"));
                    abort_message = Some(reason);
                    control.stop_now();
                }
            }
            if Instant::now() >= next_abort_check {
                next_abort_check = Instant::now() + Duration::from_secs(1);
                if end_reason == EndReason::Completed {
                    if let Some(reason) = summary.abort_check(control.elapsed()) {
                        end_reason = EndReason::ThresholdAbort;
                        progress.note(&format!("loadrun: {reason}"));
                        abort_message = Some(reason);
                        control.stop_now();
                    }
                }
            }
            progress.tick(&control);
        }
        runner
            .join()
            .map_err(|_| anyhow::anyhow!("the load engine panicked"))?
            .context("cannot start the load engine")
    })?;
    progress.finish(&control, result.duration);

    collector.finish();
    let report = summary.finish_report(
        &summary_opts,
        &RunInfo {
            duration: result.duration,
        },
    );
    let thresholds_failed = !summary_opts.no_thresholds && report.thresholds_failed();
    let outcome = RunOutcome {
        passed: !thresholds_failed
            && matches!(end_reason, EndReason::Completed | EndReason::Interrupted),
        reason: end_reason,
        thresholds: report
            .threshold_verdicts()
            .into_iter()
            .map(
                |(metric, source, passed)| loadrun_plugin_api::abi::ThresholdVerdict {
                    metric: metric.into(),
                    source: source.into(),
                    passed,
                },
            )
            .collect(),
        duration_ms: started.elapsed().as_millis() as u64,
        // The dashboard's `stop` event carries the summary, so its report holds it.
        extra: if outputs.has_dashboard() {
            let text = format!("{}{}", report.render_text(), not_sent_text(result.not_sent));
            dashboard::outcome_extra(report.export_json(), &text).into()
        } else {
            "{}".into()
        },
    };
    let outputs_report = outputs.stop(&outcome, stop_timeout);

    if summary_opts.mode != SummaryMode::Disabled {
        let handled = match (&script, &chosen.script) {
            (Some(s), Some(loaded)) if loaded.has_handle_summary() => {
                let machine = args.opts.summary.new_machine_readable_summary.then(|| {
                    let script = crate::outputs::redact::url_password_masked(&chosen.source);
                    export::machine_readable(&report, &script, outcome.passed)
                });
                handle_summary::run(s, loaded, &report, machine)
            }
            _ => false,
        };
        if handled {
            // Not the summary, but what loadrun must still say: kept off stdout, which the
            // script's handleSummary owns.
            let notes = format!(
                "{}{}",
                not_sent_text(result.not_sent),
                outputs_report.render_text()
            );
            if !notes.trim().is_empty() {
                crate::errln!("{notes}");
            }
        } else {
            let mut text = report.render_text();
            text.push_str(&not_sent_text(result.not_sent));
            text.push_str(&outputs_report.render_text());
            crate::outln!("{text}");
        }
    }
    if let Some(file) = summary_file {
        let json = if args.opts.summary.new_machine_readable_summary {
            // The schema allows no other keys, so the outputs' counts are not in it.
            let script = crate::outputs::redact::url_password_masked(&chosen.source);
            export::machine_readable(&report, &script, outcome.passed)
        } else {
            let mut json = report.export_json();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("outputs".into(), outputs_report.to_json());
            }
            json
        };
        let body = serde_json::to_string_pretty(&json)?;
        let path = file.path().display().to_string();
        file.write(body.as_bytes())
            .with_context(|| format!("cannot write the summary export {path}"))?;
    }
    if let Some(file) = result_file {
        let facts = result::RunFacts {
            plan: &chosen.plan,
            source: &chosen.source,
            share,
            start_unix_ns: run_start_ns,
            end_unix_ns: run_start_ns
                .saturating_add(i64::try_from(result.duration.as_nanos()).unwrap_or(i64::MAX)),
            end_reason,
            summary_opts: &summary_opts,
        };
        let body = result::build(facts, &summary).to_json()?;
        let path = file.path().display().to_string();
        file.write(body.as_bytes())
            .with_context(|| format!("cannot write the result file {path}"))?;
    }
    if let Some(m) = abort_message {
        tracing::debug!("run ended early: {m}");
    }
    let interrupts = signal::count();
    out_web_dashboard::host_link::linger_until(|| signal::count() > interrupts);
    Ok(match end_reason {
        _ if output_failed => exit::OUTPUT_FAILED,
        _ if script.as_ref().is_some_and(|s| s.aborted()) => exit::SCRIPT_ABORTED,
        _ if result.setup_failed => exit::SCRIPT_EXCEPTION,
        EndReason::ThresholdAbort => exit::THRESHOLD_ABORT,
        _ if thresholds_failed => exit::THRESHOLDS_FAILED,
        EndReason::Interrupted => exit::INTERRUPTED,
        EndReason::Error => exit::ERROR,
        _ => exit::OK,
    })
}

/// Requests the engine refused to send are failed requests in `http_req_failed`, which does
/// not tell them from server errors; and their warning is logged once per step, so the count
/// is said here. Empty when there were none.
fn not_sent_text(not_sent: u64) -> String {
    match not_sent {
        0 => String::new(),
        n => format!(
            "  █ NOT SENT\n    ✗ {n} request{} refused before sending (an invalid URL or header value; the warnings name the first of each step)\n\n",
            if n == 1 { "" } else { "s" }
        ),
    }
}

fn print_banner(chosen: &Chosen, engine: &Engine, shown_outputs: &[String]) {
    let outputs = if shown_outputs.is_empty() {
        "-".to_string()
    } else {
        shown_outputs.join(", ")
    };
    let scenarios = engine.scenarios();
    crate::outln!("     execution: local");
    // A quick run's source is its URL, which may carry a password.
    crate::outln!(
        "          plan: {}",
        crate::outputs::redact::url_password_masked(&chosen.source)
    );
    crate::outln!("        output: {outputs}");
    crate::outln!();
    let segment = engine.segment();
    if !segment.is_whole() {
        crate::outln!("       segment: {segment}");
    }
    // As k6, the share of the test this instance runs, when it runs a part.
    let share = if segment.segment().is_full() {
        String::new()
    } else {
        format!("({:.2}%) ", segment.segment().length().to_f64() * 100.0)
    };
    crate::outln!(
        "     scenarios: {share}{} scenario{}, {} max VUs, {} max duration (incl. graceful stop):",
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" },
        engine.max_vus(),
        loadrun_engine::util::format_duration(engine.max_duration())
    );
    for s in scenarios {
        crate::outln!(
            "              * {}: {}",
            loadrun_summary::format::escape_controls(&s.name),
            s.describe()
        );
    }
    crate::outln!();
}
