//! `loadrun kubernetes PLAN --instances N`: the manifests that run one test on a cluster as an
//! Indexed Job, printed for `kubectl apply -f -`. Nothing here talks to a cluster.

mod bundle;
mod manifests;
mod script_bundle;
mod yaml;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use clap::Args;

pub use bundle::{BundleError, MAX_CONFIGMAP_BYTES};
pub use manifests::Settings;

/// The Job controller's limit on completions of an Indexed Job.
const MAX_INSTANCES: u32 = 100_000;
/// Room for `-merge` and for the pods' `NAME-INDEX-xxxxx` hostnames within 63 characters.
const MAX_NAME: usize = 40;

#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// The test plan (TOML or JSON) or k6 script (.js, .ts); it and the files it reads (data
    /// files; for a script its imports and `open()`s) go into a ConfigMap.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// How many pods (instances) share the test; each runs segment I/N.
    #[arg(long, value_name = "N")]
    pub instances: u32,

    /// The container image (see the Dockerfile).
    #[arg(long, value_name = "IMAGE", default_value = "loadrun:latest")]
    pub image: String,

    /// Time from now until the common start, for scheduling, image pulls and plugin loading.
    #[arg(long = "lead-time", value_name = "DURATION", default_value = "2m")]
    pub lead_time: String,

    /// The common start instant (RFC 3339) instead of now plus the lead time.
    #[arg(long = "start-at", value_name = "TIME", conflicts_with = "lead_time")]
    pub start_at: Option<String>,

    /// Output of every instance: NAME or NAME=ARG (repeatable), passed to `loadrun run -o`.
    #[arg(short = 'o', long = "out", value_name = "NAME[=ARG]")]
    pub out: Vec<String>,

    /// Put every generator on a different node (required pod anti-affinity).
    #[arg(long = "anti-affinity")]
    pub anti_affinity: bool,

    /// Namespace of the objects (default: kubectl's current one).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Name of the ConfigMap and Job (default: loadrun-PLAN).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A ReadWriteMany PersistentVolumeClaim for the results; adds a Job that merges them.
    /// Without it each pod keeps its result in an emptyDir until copied (`kubectl cp`).
    #[arg(long = "results-claim", value_name = "PVC")]
    pub results_claim: Option<String>,

    /// Without --results-claim: how long a finished pod waits for its result to be copied.
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub hold: String,

    /// With --results-claim: how long past the test's planned end (start, longest scenario
    /// with its graceful stop, output stop timeout) the merge waits for instances that have
    /// not finished (a pod that died) before it merges what there is and names what is missing.
    #[arg(long = "merge-grace", value_name = "DURATION", default_value = "5m")]
    pub merge_grace: String,
}

pub fn execute(args: KubernetesArgs) -> anyhow::Result<u8> {
    let settings = settings(&args, SystemTime::now())?;
    // A TOML error spans lines (the parser's hint); one line is what the user greps for.
    let bundle = bundle::collect(&args.plan).map_err(|e| {
        anyhow::anyhow!(e
            .to_string()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; "))
    })?;
    let settings = Settings {
        merge_by_unix_secs: merge_by(&args, &settings, &bundle)?,
        ..settings
    };
    let mut out = String::new();
    out.push_str(&header(&bundle, &settings));
    for doc in manifests::build(&bundle, &settings) {
        out.push_str(&yaml::document(&doc)?);
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing the manifests to stdout")?;
    if bundle
        .plan
        .thresholds
        .values()
        .flatten()
        .any(aborts_on_fail)
    {
        tracing::warn!(
            "the plan has abortOnFail thresholds: each instance stops only itself, on its own \
             share; the other instances run on (see docs/kubernetes.md)"
        );
    }
    Ok(crate::exit::OK)
}

/// The unix second after which the merge stops waiting: the common start, plus the longest
/// the plan can run, plus the outputs' stop timeout, plus `--merge-grace`.
fn merge_by(args: &KubernetesArgs, s: &Settings, bundle: &bundle::Bundle) -> anyhow::Result<u64> {
    let grace = loadrun_engine::util::parse_duration(&args.merge_grace).with_context(|| {
        format!(
            "--merge-grace {:?}: not a duration (e.g. 5m)",
            args.merge_grace
        )
    })?;
    let planned = loadrun_engine::compile::planned_duration(&bundle.plan)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.plan.display()))?;
    let start = humantime::parse_rfc3339_weak(&s.start_at)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default();
    let by = start + planned + crate::outputs::DEFAULT_STOP_TIMEOUT + grace;
    Ok(by.as_secs() + u64::from(by.subsec_nanos() > 0))
}

fn aborts_on_fail(threshold: &serde_json::Value) -> bool {
    threshold
        .get("abortOnFail")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// Checks the flags; `now` is the generation time the lead time counts from.
pub fn settings(args: &KubernetesArgs, now: SystemTime) -> anyhow::Result<Settings> {
    if args.instances == 0 {
        bail!("--instances must be at least 1");
    }
    if args.instances > MAX_INSTANCES {
        bail!(
            "--instances {}: an Indexed Job runs at most {MAX_INSTANCES} pods",
            args.instances
        );
    }
    let start_at = match &args.start_at {
        Some(t) => {
            let at = humantime::parse_rfc3339_weak(t)
                .map_err(|e| anyhow::anyhow!("--start-at {t:?}: not an RFC 3339 time ({e})"))?;
            // Milliseconds only where given: `--start-at` of `run` takes either.
            let shown = humantime::format_rfc3339_millis(at).to_string();
            shown.replace(".000Z", "Z")
        }
        None => {
            let lead =
                loadrun_engine::util::parse_duration(&args.lead_time).with_context(|| {
                    format!(
                        "--lead-time {:?}: not a duration (e.g. 90s, 2m)",
                        args.lead_time
                    )
                })?;
            // Whole seconds, rounded up: the lead time is never shortened.
            let at = now + lead;
            let secs = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .unwrap_or(0);
            humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
                .to_string()
        }
    };
    let hold = loadrun_engine::util::parse_duration(&args.hold)
        .with_context(|| format!("--hold {:?}: not a duration (e.g. 30m)", args.hold))?;
    let name = match &args.name {
        Some(n) => {
            check_label("--name", n, MAX_NAME)?;
            n.clone()
        }
        None => default_name(&args.plan),
    };
    if let Some(ns) = &args.namespace {
        check_label("--namespace", ns, 63)?;
    }
    if let Some(claim) = &args.results_claim {
        check_subdomain("--results-claim", claim)?;
    }
    if args.image.is_empty() || args.image.chars().any(char::is_whitespace) {
        bail!("--image {:?}: not an image reference", args.image);
    }
    Ok(Settings {
        name,
        namespace: args.namespace.clone(),
        image: args.image.clone(),
        instances: args.instances,
        start_at,
        outs: args.out.clone(),
        anti_affinity: args.anti_affinity,
        results_claim: args.results_claim.clone(),
        hold_secs: hold.as_secs().max(1),
        merge_by_unix_secs: 0,
    })
}

/// `loadrun-` and the plan's stem, cut down to what a DNS label allows.
fn default_name(plan: &std::path::Path) -> String {
    let stem = plan
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut name = String::from("loadrun");
    let mut dash = true;
    for c in stem.chars() {
        if name.len() >= MAX_NAME {
            break;
        }
        if c.is_ascii_alphanumeric() {
            if dash {
                name.push('-');
            }
            name.push(c);
            dash = false;
        } else {
            dash = true;
        }
    }
    name
}

/// RFC 1123 label: what Kubernetes accepts for Job names and namespaces.
fn check_label(flag: &str, value: &str, max: usize) -> anyhow::Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        bail!(
            "{flag} {value:?}: use at most {max} lowercase letters, digits and '-', starting \
             and ending with a letter or digit"
        );
    }
    Ok(())
}

fn check_subdomain(flag: &str, value: &str) -> anyhow::Result<()> {
    if value.len() > 253
        || value
            .split('.')
            .any(|part| check_label(flag, part, 63).is_err())
    {
        bail!("{flag} {value:?}: not a valid object name (lowercase letters, digits, '-' and '.')");
    }
    Ok(())
}

/// How to run and collect it, as YAML comments above the manifests.
fn header(bundle: &bundle::Bundle, s: &Settings) -> String {
    let ns = s
        .namespace
        .as_ref()
        .map(|n| format!(" -n {n}"))
        .unwrap_or_default();
    let mut lines = vec![
        format!(
            "# loadrun: {} instances of {}, starting together at {}.",
            s.instances,
            bundle.plan_file(),
            s.start_at
        ),
        "# Apply before the start (an instance that starts late refuses to run):".into(),
        "#   loadrun kubernetes ... | kubectl apply -f -".into(),
        format!(
            "#   kubectl{ns} wait --for=condition=complete --timeout=-1s job/{}",
            s.name
        ),
    ];
    match &s.results_claim {
        Some(_) => {
            lines.push(format!(
                "# The Job {}-merge merges the results: its log is the whole test's summary,",
                s.name
            ));
            lines.push("# and it fails when a threshold fails:".into());
            lines.push(format!("#   kubectl{ns} logs -f job/{}-merge", s.name));
            lines.push(format!(
                "# Results and summary.json: folder {} on the claim.",
                manifests::run_folder(s)
            ));
        }
        None => {
            lines.push("# Each pod keeps its result until copied out; for every pod:".into());
            lines.push(format!(
                "#   for p in $(kubectl{ns} get pods -l {}={} -o name); do",
                manifests::RUN_LABEL,
                s.name
            ));
            lines.push(format!(
                "#     kubectl{ns} cp \"${{p#pod/}}:{}\" results/",
                manifests::RESULTS_DIR
            ));
            lines.push(format!(
                "#     kubectl{ns} exec \"${{p#pod/}}\" -- touch {}; done",
                manifests::COLLECTED_MARK
            ));
            lines.push("#   loadrun merge results/instance-*.json".into());
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
