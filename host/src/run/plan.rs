//! Which plan a run uses: a file, `./loadrun.toml`, or quick mode (`--url`), with the
//! `--vus/--duration/--iterations/--rate` overrides applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use loadrun_engine::plan::limits::{self, MAX_VUS, SPLIT_HINT};
use loadrun_engine::plan::{self, Dur, ExecutorKind, Plan, Scenario};
use loadrun_engine::util::parse_duration;

use crate::cli::RunArgs;

/// The plan to run, where relative paths resolve, and its display name.
pub struct Chosen {
    pub plan: Plan,
    pub base_dir: PathBuf,
    pub name: String,
    pub source: String,
    /// Where the plan's output options were written, for option errors.
    pub places: crate::outputs::PlanPlaces,
    /// A k6 script: its options are `plan`; it runs instead of the plan's steps.
    pub script: Option<loadrun_js::Loaded>,
}

/// `test_server` is the built-in test server's URL when it was started for this run.
pub fn choose(args: &RunArgs, test_server: Option<&str>) -> anyhow::Result<Chosen> {
    if let Some(url) = &args.opts.url {
        if args.plan.is_some() {
            bail!("give either a plan or --url, not both");
        }
        let mut plan = quick_plan(args, url)?;
        apply_overrides(&mut plan, args)?;
        return Ok(Chosen {
            plan,
            base_dir: PathBuf::from("."),
            name: "quick".into(),
            source: url.clone(),
            places: Default::default(),
            script: None,
        });
    }
    let path = match &args.plan {
        Some(p) => p.clone(),
        None => {
            let default = PathBuf::from("loadrun.toml");
            // Only a missing name means "no plan": a dangling link or a symlink loop is a
            // plan the user meant, and load_file reports its real error.
            if default.symlink_metadata().is_err() {
                bail!(
                    "nothing to run: give a plan (`loadrun run plan.toml`), or a URL \
                     (`loadrun run --url http://localhost:8080/ -u 10 -d 30s`), or put a \
                     loadrun.toml in this folder (see examples/loadrun.toml)"
                );
            }
            if !args.quiet {
                crate::errln!("loadrun: no plan given; using ./loadrun.toml");
            }
            default
        }
    };
    if loadrun_js::is_script(&path) {
        return choose_script(args, path, test_server);
    }
    let (mut plan, base_dir) = plan::load_file(&path)?;
    apply_overrides(&mut plan, args)?;
    select_scenarios(&mut plan, &args.opts.scenarios)?;
    let source = path.display().to_string();
    // Read again for the lines of the output options only (load_file checked its size).
    let places = crate::outputs::PlanPlaces::from_file(
        &source,
        &std::fs::read_to_string(&path).unwrap_or_default(),
    );
    Ok(Chosen {
        plan,
        base_dir,
        name: plan_name(&path),
        source,
        places,
        script: None,
    })
}

/// A k6 script: its init code runs once here, for its options, with the `__ENV` the VUs will
/// see (the process environment, the test server's URL, `--env`).
fn choose_script(
    args: &RunArgs,
    path: PathBuf,
    test_server: Option<&str>,
) -> anyhow::Result<Chosen> {
    let extra: BTreeMap<String, String> = test_server
        .map(|u| ("TEST_SERVER".to_string(), u.to_string()))
        .into_iter()
        .collect();
    let env = script_env(&args.opts.env, &extra)?;
    let loaded = loadrun_js::load(&path, &env).map_err(anyhow::Error::msg)?;
    let mut plan = loaded.plan.clone();
    apply_overrides(&mut plan, args)?;
    select_scenarios(&mut plan, &args.opts.scenarios)?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Chosen {
        plan,
        base_dir,
        name: plan_name(&path),
        source: path.display().to_string(),
        places: Default::default(),
        script: Some(loaded),
    })
}

/// A script's `__ENV`: the process environment, then `extra` (the test server's URL), then
/// `--env` (k6's order).
pub fn script_env(
    flags: &[String],
    extra: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    env.extend(extra.clone());
    for pair in flags {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("--env {pair:?}: expected KEY=VALUE"))?;
        env.insert(k.to_string(), v.to_string());
    }
    Ok(env)
}

fn plan_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into())
}

fn quick_plan(args: &RunArgs, url: &str) -> anyhow::Result<Plan> {
    let mut headers = BTreeMap::new();
    for h in &args.opts.headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?}: expected \"Name: value\""))?;
        headers.insert(k.trim().to_string(), v.trim().to_string());
    }
    let body = match args.opts.body.as_deref() {
        Some(b) if b.starts_with('@') => Some(
            std::fs::read_to_string(&b[1..])
                .with_context(|| format!("--body: cannot read {}", &b[1..]))?,
        ),
        other => other.map(str::to_string),
    };
    let step = plan::Step {
        url: Some(url.to_string()),
        method: args.opts.method.clone(),
        headers,
        body,
        ..Default::default()
    };
    Ok(Plan {
        steps: vec![step],
        ..Default::default()
    })
}

/// `--scenario NAME`: keeps only the named scenarios, with everything they declare (k6 2.3).
/// A plan without `[scenarios]` has the one scenario `default`.
fn select_scenarios(plan: &mut Plan, names: &[String]) -> anyhow::Result<()> {
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let available: Vec<&str> = if plan.scenarios.is_empty() {
        vec!["default"]
    } else {
        plan.scenarios.keys().map(String::as_str).collect()
    };
    if let Some(missing) = names.iter().find(|n| !available.contains(n)) {
        bail!(
            "--scenario {missing:?}: the plan has no such scenario; available: {}",
            available.join(", ")
        );
    }
    plan.scenarios
        .retain(|name, _| names.contains(&name.as_str()));
    Ok(())
}

fn duration_arg(text: &str, flag: &str) -> anyhow::Result<Dur> {
    let d = parse_duration(text).with_context(|| {
        format!("{flag} {text:?}: expected a duration such as 30s, 1m30s or 500ms")
    })?;
    if d > limits::MAX_DURATION {
        bail!(
            "{flag} {text:?} is longer than loadrun runs (limit {})",
            limits::max_duration_text()
        );
    }
    Ok(Dur(d))
}

/// k6's rule: --vus/--duration/--iterations on the command line replace the plan's scenarios
/// with the shortcut one. --rate makes it a constant-arrival-rate scenario.
fn apply_overrides(plan: &mut Plan, args: &RunArgs) -> anyhow::Result<()> {
    let duration = args
        .opts
        .duration
        .as_deref()
        .map(|d| duration_arg(d, "--duration"))
        .transpose()?;
    if let Some(vus) = args.opts.vus.filter(|v| *v > MAX_VUS) {
        bail!("--vus {vus} is more than loadrun can run in one process (limit {MAX_VUS}); {SPLIT_HINT}");
    }
    if let Some(rate) = args.opts.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            bail!("--rate must be a positive number of iterations per second");
        }
        if args.opts.iterations.is_some() {
            bail!("--rate and --iterations do not go together (an arrival rate runs for a --duration)");
        }
        let pre = args
            .opts
            .vus
            .unwrap_or_else(|| (rate / 100.0).ceil().clamp(10.0, 1000.0) as u64);
        plan.scenarios.clear();
        plan.vus = None;
        plan.duration = None;
        plan.iterations = None;
        plan.stages.clear();
        plan.scenarios.insert(
            "default".into(),
            Scenario {
                executor: ExecutorKind::ConstantArrivalRate,
                exec: None,
                vus: None,
                iterations: None,
                duration: Some(duration.unwrap_or(Dur(std::time::Duration::from_secs(30)))),
                max_duration: None,
                start_vus: None,
                stages: Vec::new(),
                graceful_ramp_down: None,
                rate: Some(rate),
                start_rate: None,
                time_unit: None,
                pre_allocated_vus: Some(pre),
                // Room to grow, within what one process runs.
                max_vus: Some(pre.max(1000).max(pre * 10).min(MAX_VUS.max(pre))),
                start_time: None,
                graceful_stop: None,
                tags: BTreeMap::new(),
                env: BTreeMap::new(),
            },
        );
        return Ok(());
    }
    if args.opts.vus.is_some() || duration.is_some() || args.opts.iterations.is_some() {
        plan.scenarios.clear();
        plan.stages.clear();
        if args.opts.vus.is_some() {
            plan.vus = args.opts.vus;
        }
        if duration.is_some() {
            plan.duration = duration;
        }
        if args.opts.iterations.is_some() {
            plan.iterations = args.opts.iterations;
        }
    }
    Ok(())
}
