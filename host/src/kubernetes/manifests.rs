//! The manifests of one distributed run: a ConfigMap with the plan and its data, an Indexed Job
//! whose pods each run one instance, and (with a shared claim) a Job that merges the results.

use serde_json::{json, Value};

use super::bundle::{Bundle, Content};

/// Where the plan and its data are mounted in every pod.
pub const PLAN_DIR: &str = "/plan";
/// Where every instance writes its `--result` file.
pub const RESULTS_DIR: &str = "/results";
/// The label that ties the pods of one run together (anti-affinity, `kubectl get -l`).
pub const RUN_LABEL: &str = "loadrun.io/run";
/// Each pod's working folder, so outputs given relative names (`-o json=out.json`) neither
/// collide between instances nor vanish with the pod.
pub const OUTPUT_DIR: &str = "/output";
/// The image's user (Dockerfile); the volumes are made writable for it.
const IMAGE_UID: u64 = 10001;
/// Written by the user (`kubectl exec`) once an emptyDir's results are copied out.
pub const COLLECTED_MARK: &str = "/results/.collected";

/// The Job controller's own annotation; read through the downward API so `$(...)` in `args`
/// expands on every Kubernetes version that has Indexed Jobs.
const INDEX_ANNOTATION: &str = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub namespace: Option<String>,
    pub image: String,
    pub instances: u32,
    /// RFC 3339, the same for every pod.
    pub start_at: String,
    pub outs: Vec<String>,
    pub anti_affinity: bool,
    /// A ReadWriteMany claim shared by the pods and the merge Job; else an emptyDir per pod.
    pub results_claim: Option<String>,
    /// emptyDir only: how long a finished pod waits for its result to be copied out.
    pub hold_secs: u64,
    /// With a claim: the unix second after which the merge stops waiting for instances.
    pub merge_by_unix_secs: u64,
}

/// Every manifest, in the order `kubectl apply` should create them.
pub fn build(bundle: &Bundle, s: &Settings) -> Vec<Value> {
    let mut docs = vec![config_map(bundle, s), run_job(bundle, s)];
    if s.results_claim.is_some() {
        docs.push(merge_job(s));
    }
    docs
}

fn metadata(s: &Settings, name: &str) -> Value {
    let mut m = json!({ "name": name, "labels": labels(s) });
    if let Some(ns) = &s.namespace {
        m["namespace"] = json!(ns);
    }
    m
}

fn labels(s: &Settings) -> Value {
    json!({ "app.kubernetes.io/name": "loadrun", RUN_LABEL: s.name })
}

fn config_map(bundle: &Bundle, s: &Settings) -> Value {
    let mut data = serde_json::Map::new();
    let mut binary = serde_json::Map::new();
    for e in &bundle.entries {
        match &e.content {
            Content::Text(t) => data.insert(e.key.clone(), json!(t)),
            Content::Binary(b) => {
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(b);
                binary.insert(e.key.clone(), json!(encoded))
            }
        };
    }
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(s, &s.name),
        "data": data,
    });
    if !binary.is_empty() {
        cm["binaryData"] = Value::Object(binary);
    }
    cm
}

fn plan_volume(bundle: &Bundle, s: &Settings) -> Value {
    let items: Vec<Value> = bundle
        .entries
        .iter()
        .map(|e| json!({ "key": e.key, "path": e.path }))
        .collect();
    json!({ "name": "plan", "configMap": { "name": s.name, "items": items } })
}

fn results_volume(s: &Settings) -> Value {
    match &s.results_claim {
        Some(claim) => {
            json!({ "name": "results", "persistentVolumeClaim": { "claimName": claim } })
        }
        None => json!({ "name": "results", "emptyDir": {} }),
    }
}

/// A claim outlives runs: each run keeps to its own folder on it, so the merge never picks up
/// an earlier run's files.
fn results_mount(s: &Settings) -> Value {
    let mut m = json!({ "name": "results", "mountPath": RESULTS_DIR });
    if s.results_claim.is_some() {
        m["subPath"] = json!(run_folder(s));
    }
    m
}

/// The instance's own folder beside the results, its working folder.
fn output_mount(s: &Settings) -> Value {
    let own = "output-$(JOB_COMPLETION_INDEX)";
    let expr = match s.results_claim {
        Some(_) => format!("{}/{own}", run_folder(s)),
        None => own.to_string(),
    };
    json!({ "name": "results", "mountPath": OUTPUT_DIR, "subPathExpr": expr })
}

/// The run's folder on the claim: its name and start instant, both fixed at generation.
pub fn run_folder(s: &Settings) -> String {
    let stamp: String = s.start_at.chars().filter(char::is_ascii_digit).collect();
    format!("{}-{stamp}", s.name)
}

/// A user's text in `args`: the kubelet would expand a `$(NAME)` in it and turn `$$` into `$`.
fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// `loadrun run`'s arguments for one pod; `$(JOB_COMPLETION_INDEX)` is expanded by the kubelet.
pub fn run_args(bundle: &Bundle, s: &Settings) -> Vec<String> {
    let mut args = vec![
        "run".to_string(),
        format!("{PLAN_DIR}/{}", literal(bundle.plan_file())),
        "--instance-index".into(),
        "$(JOB_COMPLETION_INDEX)".into(),
        "--instance-count".into(),
        s.instances.to_string(),
        "--start-at".into(),
        s.start_at.clone(),
    ];
    for o in &s.outs {
        args.push("-o".into());
        args.push(literal(o));
    }
    args.push("--result".into());
    args.push(format!(
        "{RESULTS_DIR}/instance-$(JOB_COMPLETION_INDEX).json"
    ));
    args
}

/// Kept in `args` by the kubelet's `$(...)` expansion; `$$` is its escape for a literal `$`.
/// The shell sees its own variable `$JOB_COMPLETION_INDEX`, which the container has too.
const EXIT_MARK: &str = "/results/instance-$JOB_COMPLETION_INDEX.exit";

/// Runs loadrun with the pod's arguments and records its exit code beside the result: the
/// result file exists from the start of the run, the mark only once the run is over.
fn run_script(s: &Settings) -> String {
    let record = format!("loadrun \"$@\"; rc=$?; echo \"$rc\" > {EXIT_MARK}");
    match &s.results_claim {
        Some(_) => format!("{record}; exit \"$rc\""),
        // Without a shared claim the result dies with the pod: the pod keeps its exit code and
        // waits (bounded) until someone has copied the files out and left the mark.
        None => format!(
            "{record}; \
             echo \"loadrun exited $rc; waiting up to {hold}s for {RESULTS_DIR} to be copied \
             (then: kubectl exec $$(hostname) -- touch {COLLECTED_MARK})\" >&2; \
             i=0; while [ ! -e {COLLECTED_MARK} ] && [ \"$i\" -lt {hold} ]; do \
             sleep 1; i=$$((i + 1)); done; exit \"$rc\"",
            hold = s.hold_secs
        ),
    }
}

fn run_job(bundle: &Bundle, s: &Settings) -> Value {
    let mut container = json!({
        "name": "loadrun",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "env": [{
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": { "fieldRef": { "fieldPath": INDEX_ANNOTATION } },
        }],
        "volumeMounts": [
            { "name": "plan", "mountPath": PLAN_DIR, "readOnly": true },
            results_mount(s),
            output_mount(s),
        ],
        "workingDir": OUTPUT_DIR,
    });
    container["command"] = json!(["sh", "-c", run_script(s), "loadrun"]);
    container["args"] = json!(run_args(bundle, s));
    let mut pod = json!({
        "restartPolicy": "Never",
        "securityContext": { "fsGroup": IMAGE_UID },
        "containers": [container],
        "volumes": [plan_volume(bundle, s), results_volume(s)],
    });
    if s.anti_affinity {
        pod["affinity"] = json!({
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": { "matchLabels": { RUN_LABEL: s.name } },
                    "topologyKey": "kubernetes.io/hostname",
                }],
            },
        });
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(s, &s.name),
        "spec": {
            "completionMode": "Indexed",
            "completions": s.instances,
            "parallelism": s.instances,
            // A restarted instance would run its share again, late and twice.
            "backoffLimit": 0,
            "template": {
                "metadata": { "labels": labels(s) },
                "spec": pod,
            },
        },
    })
}

/// Waits until every instance has finished (its exit mark), shows their exit codes, then
/// merges: its log is the whole test's summary, its exit code the threshold verdict. An
/// instance that failed left no result, and the merge names the segment that is missing. A
/// pod that died leaves no mark at all: past the planned end plus `--merge-grace` the merge
/// stops waiting for it, rather than wait forever.
pub fn merge_script(s: &Settings) -> String {
    format!(
        "until [ \"$$(ls {RESULTS_DIR}/instance-*.exit 2>/dev/null | wc -l)\" -ge {n} ]; do \
         if [ \"$$(date +%s)\" -ge {by} ]; then \
         echo \"loadrun merge: $$(ls {RESULTS_DIR}/instance-*.exit 2>/dev/null | wc -l) of {n} \
         instances finished by the planned end plus --merge-grace; merging what there is\"; break; fi; \
         sleep 2; done; grep -H . {RESULTS_DIR}/instance-*.exit; \
         exec loadrun merge {RESULTS_DIR}/instance-*.json --summary-export {RESULTS_DIR}/summary.json",
        n = s.instances,
        by = s.merge_by_unix_secs,
    )
}

fn merge_job(s: &Settings) -> Value {
    let merge_name = format!("{}-merge", s.name);
    let mut meta = metadata(s, &merge_name);
    // Not a generator: the run's anti-affinity must not count it.
    meta["labels"] = json!({ "app.kubernetes.io/name": "loadrun", "loadrun.io/merge": s.name });
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": { "labels": { "app.kubernetes.io/name": "loadrun", "loadrun.io/merge": s.name } },
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": { "fsGroup": IMAGE_UID },
                    "containers": [{
                        "name": "merge",
                        "image": s.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", merge_script(s)],
                        "volumeMounts": [results_mount(s)],
                    }],
                    "volumes": [results_volume(s)],
                },
            },
        },
    })
}
