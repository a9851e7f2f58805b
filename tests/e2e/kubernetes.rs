//! `loadrun kubernetes`: the manifests it prints, checked against the Kubernetes API schema
//! (`kubernetes-validate`) and `yamllint`, and its refusals of bad input. No cluster is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use loadrun_test_support::services::services_required;
use loadrun_test_support::{loadrun_bin, workspace_root};
use serde_json::Value;

const START: &str = "2030-01-02T03:04:05Z";

const PLAN: &str = r#"
[data.users]
file = "data/users.csv"

[scenarios.main]
executor = "shared-iterations"
vus = 4
iterations = 100

[[steps]]
url = "http://target.example:8080/login"
file = "body.bin"

[thresholds]
http_req_duration = ["p(95)<500"]
"#;

fn plan_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    std::fs::write(dir.path().join("data/users.csv"), "name,pass\nann,x: y\n").unwrap();
    std::fs::write(dir.path().join("body.bin"), [0u8, 159, 146, 150, 255]).unwrap();
    dir
}

fn kubernetes(dir: &Path, args: &[&str]) -> Output {
    Command::new(loadrun_bin())
        .arg("kubernetes")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn generate(dir: &Path, args: &[&str]) -> String {
    let out = kubernetes(dir, args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn docs(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .filter(|d| {
            d.lines()
                .any(|l| !l.starts_with('#') && !l.trim().is_empty() && l != "---")
        })
        .map(|d| serde_yaml_ng::from_str::<Value>(d.trim_start_matches("---\n")).unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A tool from `.ci/install-deps`; `None` (after a loud SKIP) where it is missing and CI did
/// not ask for it.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !services_required(),
            "{name} is not installed (.ci/install-deps installs it)"
        );
        eprintln!(
            "\n=== SKIP: {name} is not installed; run .ci/install-deps, or set \
             LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n"
        );
    }
    found
}

/// Writes the manifests and checks them with kubernetes-validate (strict: an unknown field is
/// an error) and yamllint.
fn validate(yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, yaml).unwrap();
    if let Some(kv) = tool("kubernetes-validate") {
        let out = Command::new(kv)
            .arg("--strict")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubernetes-validate:\n{}{}\n{yaml}",
            stdout(&out),
            stderr(&out)
        );
        // It says which documents it checked: all of them.
        let checked = stdout(&out).matches("passed for resource").count();
        assert_eq!(checked, docs(yaml).len(), "{}", stdout(&out));
    }
    if let Some(yl) = tool("yamllint") {
        // Long lines are data (a shell step, a plan line); YAML has no better place for them.
        let out = Command::new(yl)
            .args([
                "--strict",
                "-d",
                "{extends: default, rules: {line-length: disable}}",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "yamllint:\n{}{}\n{yaml}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn manifests_with_a_claim_run_every_instance_and_merge() {
    let dir = plan_dir();
    let yaml = generate(
        dir.path(),
        &[
            "plan.toml",
            "--instances",
            "3",
            "--start-at",
            START,
            "--anti-affinity",
            "--results-claim",
            "loadrun-results",
            "--namespace",
            "load",
            "--image",
            "registry.example/loadrun:1.0",
            "-o",
            "json=out.json",
            "-o",
            "influxdb=http://influx:8086/k6",
            "-o",
            "csv=$(HOME)/a$$b.csv",
        ],
    );
    validate(&yaml);
    let docs = docs(&yaml);
    assert_eq!(docs.len(), 3, "{yaml}");
    let (cm, job, merge) = (&docs[0], &docs[1], &docs[2]);

    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "loadrun-plan");
    assert_eq!(cm["metadata"]["namespace"], "load");
    let data = cm["data"].as_object().unwrap();
    assert!(data.values().any(|v| v == PLAN), "{cm}");
    assert!(data.values().any(|v| v == "name,pass\nann,x: y\n"), "{cm}");
    // Not UTF-8: base64 in binaryData, byte for byte.
    assert_eq!(
        cm["binaryData"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap(),
        "AJ+Slv8="
    );

    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 3);
    assert_eq!(spec["parallelism"], 3);
    assert_eq!(spec["backoffLimit"], 0);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let term =
        &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(
        term["labelSelector"]["matchLabels"]["loadrun.io/run"],
        spec["template"]["metadata"]["labels"]["loadrun.io/run"]
    );
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.example/loadrun:1.0");
    let command = strings(&c["command"]);
    assert_eq!(command[..2], ["sh", "-c"]);
    // The exit mark comes after the run: the merge waits for it, not for the result file.
    assert!(
        command[2].starts_with("loadrun \"$@\"; rc=$?; echo \"$rc\" > /results/instance-$JOB_COMPLETION_INDEX.exit; exit \"$rc\""),
        "{}",
        command[2]
    );
    assert_eq!(
        strings(&c["args"]),
        [
            "run",
            "/plan/plan.toml",
            "--instance-index",
            "$(JOB_COMPLETION_INDEX)",
            "--instance-count",
            "3",
            "--start-at",
            "2030-01-02T03:04:05Z",
            "-o",
            "json=out.json",
            "-o",
            "influxdb=http://influx:8086/k6",
            "-o",
            // The kubelet reads this back as the user wrote it.
            "csv=$$(HOME)/a$$$$b.csv",
            "--result",
            "/results/instance-$(JOB_COMPLETION_INDEX).json",
        ]
    );
    assert_eq!(c["env"][0]["name"], "JOB_COMPLETION_INDEX");
    // The files land where the plan names them, relative to /plan.
    let items = &pod["volumes"][0]["configMap"]["items"];
    let paths: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["plan.toml", "data/users.csv", "body.bin"]);
    for i in items.as_array().unwrap() {
        let key = i["key"].as_str().unwrap();
        assert!(
            data.contains_key(key) || cm["binaryData"].get(key).is_some(),
            "{key}"
        );
    }
    assert_eq!(
        pod["volumes"][1]["persistentVolumeClaim"]["claimName"],
        "loadrun-results"
    );
    let run_folder = c["volumeMounts"][1]["subPath"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(run_folder, "loadrun-plan-20300102030405");

    assert_eq!(merge["kind"], "Job");
    assert_eq!(merge["metadata"]["name"], "loadrun-plan-merge");
    let mc = &merge["spec"]["template"]["spec"]["containers"][0];
    let script = strings(&mc["command"])[2].clone();
    assert!(
        script.starts_with("until [ \"$$(ls /results/instance-*.exit"),
        "{script}"
    );
    assert!(script.contains("-ge 3 ]"), "{script}");
    // It does not wait forever for a pod that died (see the test below).
    assert!(script.contains("if [ \"$$(date +%s)\" -ge "), "{script}");
    assert!(
        script.contains(
            "exec loadrun merge /results/instance-*.json --summary-export /results/summary.json"
        ),
        "{script}"
    );
    assert_eq!(mc["volumeMounts"][0]["subPath"], run_folder.as_str());
    // The merge pod is no generator: anti-affinity does not see it.
    assert!(merge["spec"]["template"]["metadata"]["labels"]
        .get("loadrun.io/run")
        .is_none());
}

#[test]
fn manifests_without_a_claim_keep_results_until_copied() {
    let dir = plan_dir();
    let yaml = generate(
        dir.path(),
        &[
            "plan.toml",
            "--instances",
            "1",
            "--start-at",
            START,
            "--hold",
            "10m",
        ],
    );
    validate(&yaml);
    let docs = docs(&yaml);
    assert_eq!(
        docs.len(),
        2,
        "no merge Job without a shared volume: {yaml}"
    );
    let pod = &docs[1]["spec"]["template"]["spec"];
    assert!(pod.get("affinity").is_none());
    assert_eq!(pod["volumes"][1]["emptyDir"], serde_json::json!({}));
    let c = &pod["containers"][0];
    let command = strings(&c["command"]);
    assert_eq!(command[..2], ["sh", "-c"]);
    assert!(
        command[2].starts_with("loadrun \"$@\"; rc=$?;"),
        "{}",
        command[2]
    );
    assert!(command[2].contains("-lt 600 ]"), "{}", command[2]);
    assert_eq!(strings(&c["args"])[0], "run");
    // The instructions to collect the results come with the manifests.
    assert!(yaml.contains("kubectl cp"), "{yaml}");
    assert!(
        yaml.contains("loadrun merge results/instance-*.json"),
        "{yaml}"
    );
}

#[test]
fn the_start_is_generation_time_plus_the_lead_time() {
    let dir = plan_dir();
    let before = SystemTime::now();
    let yaml = generate(
        dir.path(),
        &["plan.toml", "--instances", "2", "--lead-time", "90s"],
    );
    let after = SystemTime::now();
    let args = strings(&docs(&yaml)[1]["spec"]["template"]["spec"]["containers"][0]["args"]);
    let at = args[args.iter().position(|a| a == "--start-at").unwrap() + 1].clone();
    let at = parse_utc(&at);
    let lead = Duration::from_secs(90);
    // Rounded up to the whole second, never earlier than asked.
    assert!(at >= before + lead - Duration::from_secs(1), "{at:?}");
    assert!(at <= after + lead + Duration::from_secs(1), "{at:?}");
}

/// `YYYY-MM-DDTHH:MM:SSZ` to a time, by the days-from-civil formula.
fn parse_utc(s: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

/// Each refusal is one line that names the problem.
fn refused(dir: &Path, args: &[&str], expect: &str) {
    let out = kubernetes(dir, args);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert!(out.stdout.is_empty(), "{args:?} printed manifests anyway");
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(expect), "{args:?}: {err}");
}

#[test]
fn bad_input_gets_one_clear_line() {
    let dir = plan_dir();
    let d = dir.path();
    refused(
        d,
        &["plan.toml", "--instances", "0"],
        "--instances must be at least 1",
    );
    refused(
        d,
        &["plan.toml", "--instances", "2", "--name", "Bad_Name"],
        "--name \"Bad_Name\"",
    );
    refused(
        d,
        &["plan.toml", "--instances", "2", "--lead-time", "soon"],
        "--lead-time \"soon\"",
    );
    refused(
        d,
        &["plan.toml", "--instances", "2", "--merge-grace", "later"],
        "--merge-grace \"later\": not a duration",
    );
    refused(
        d,
        &["plan.toml", "--instances", "2", "--start-at", "tomorrow"],
        "--start-at \"tomorrow\": not an RFC 3339 time",
    );
    refused(
        d,
        &["missing.toml", "--instances", "2"],
        "cannot read the plan missing.toml",
    );

    std::fs::write(d.join("broken.toml"), "[scenarios.main\nexecutor = 1\n").unwrap();
    refused(d, &["broken.toml", "--instances", "2"], "broken.toml:1:");

    std::fs::write(
        d.join("nofeed.toml"),
        "[data.users]\nfile = \"absent.csv\"\n[[steps]]\nurl = \"http://t/\"\n",
    )
    .unwrap();
    refused(
        d,
        &["nofeed.toml", "--instances", "2"],
        "nofeed.toml: data file \"absent.csv\": cannot read",
    );

    std::fs::write(
        d.join("outside.toml"),
        "[data.users]\nfile = \"../users.csv\"\n[[steps]]\nurl = \"http://t/\"\n",
    )
    .unwrap();
    refused(
        d,
        &["outside.toml", "--instances", "2"],
        "is outside the plan's folder",
    );

    // Over the ConfigMap's 1 MiB with its data, though the plan itself is small.
    std::fs::write(d.join("big.csv"), "x\n".repeat(600 * 1024)).unwrap();
    std::fs::write(
        d.join("big.toml"),
        "[data.rows]\nfile = \"big.csv\"\n[[steps]]\nurl = \"http://t/\"\n",
    )
    .unwrap();
    refused(
        d,
        &["big.toml", "--instances", "2"],
        "more than a ConfigMap holds",
    );
}

#[test]
fn abort_on_fail_is_warned_about() {
    let dir = plan_dir();
    std::fs::write(
        dir.path().join("abort.toml"),
        "[[steps]]\nurl = \"http://t/\"\n[thresholds]\nhttp_req_failed = [{ threshold = \
         \"rate<0.01\", abortOnFail = true }]\n",
    )
    .unwrap();
    let out = kubernetes(dir.path(), &["abort.toml", "--instances", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("abortOnFail"), "{}", stderr(&out));
    let quiet = kubernetes(dir.path(), &["plan.toml", "--instances", "2"]);
    assert!(
        !stderr(&quiet).contains("abortOnFail"),
        "{}",
        stderr(&quiet)
    );
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(hadolint) = tool("hadolint") else {
        return;
    };
    let file = workspace_root().join("Dockerfile");
    let out = Command::new(hadolint).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains("/usr/lib/loadrun/plugins"),
        "plugins where loadrun looks"
    );
}

/// The kubelet's `$(VAR)` expansion of `command` and `args`, and the pod's mounts as folders.
struct LocalPod {
    plan_dir: PathBuf,
    results_dir: PathBuf,
    output_root: PathBuf,
}

impl LocalPod {
    fn expand(&self, s: &str, index: u32) -> String {
        s.replace("$(JOB_COMPLETION_INDEX)", &index.to_string())
            .replace("$$", "$")
            .replace("/plan/", &format!("{}/", self.plan_dir.display()))
            .replace("/results/", &format!("{}/", self.results_dir.display()))
    }

    fn command(&self, container: &Value, index: u32) -> Command {
        let mut all = strings(&container["command"]);
        if let Some(args) = container.get("args") {
            all.extend(strings(args));
        }
        let all: Vec<String> = all.iter().map(|a| self.expand(a, index)).collect();
        let mut cmd = Command::new(&all[0]);
        cmd.args(&all[1..]);
        let bin_dir = loadrun_bin().parent().unwrap().to_path_buf();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin_dir];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap())
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env_remove("TEST_SERVER");
        let own = self.output_root.join(format!("output-{index}"));
        std::fs::create_dir_all(&own).unwrap();
        cmd.current_dir(own);
        cmd
    }
}

fn supports_distributed_runs() -> bool {
    let help = |args: &[&str]| {
        let out = Command::new(loadrun_bin()).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    help(&["run", "--help"]).contains("--instance-index")
        && help(&["--help"])
            .lines()
            .any(|l| l.trim_start().starts_with("merge "))
}

/// The pods' own commands, run here as the kubelet would run them (the ConfigMap's items as
/// files, the claim as a folder): three instances and the merge add up to the plan's count.
#[test]
fn the_pods_commands_run_the_whole_test_locally() {
    if !supports_distributed_runs() {
        eprintln!(
            "\n=== SKIP: this loadrun has no --instance-index or merge yet (issue 21, \
             items 2 to 4); the manifests are checked by the other tests. ===\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("data")).unwrap();
    std::fs::write(
        src.join("plan.toml"),
        "[data.users]\nfile = \"data/users.csv\"\n\n[scenarios.main]\n\
         executor = \"shared-iterations\"\nvus = 3\niterations = 31\n\n\
         [[steps]]\nurl = \"${TEST_SERVER}/get?user=${users.name}\"\n",
    )
    .unwrap();
    std::fs::write(src.join("data/users.csv"), "name\nann\nbob\n").unwrap();
    let summary = run_pods_locally(dir.path(), &src, "plan.toml");
    assert_eq!(summary["metrics"]["iterations"]["count"], 31, "{summary}");
}

/// Generates the manifests of `plan` (in `src`) for 3 instances and a claim, runs the pods'
/// commands here as the kubelet would, and returns the merge's summary.
fn run_pods_locally(root: &Path, src: &Path, plan: &str) -> Value {
    let yaml = generate(
        src,
        &[
            plan,
            "--instances",
            "3",
            "--lead-time",
            "3s",
            "--results-claim",
            "shared",
        ],
    );
    let docs = docs(&yaml);
    let (cm, job, merge) = (&docs[0], &docs[1], &docs[2]);
    let pod_spec = &job["spec"]["template"]["spec"];
    let container = &pod_spec["containers"][0];
    let sub_path = container["volumeMounts"][1]["subPath"].as_str().unwrap();
    let pod = LocalPod {
        plan_dir: root.join("plan"),
        results_dir: root.join("claim").join(sub_path),
        output_root: root.join("claim").join(sub_path),
    };
    std::fs::create_dir_all(&pod.results_dir).unwrap();
    for item in pod_spec["volumes"][0]["configMap"]["items"]
        .as_array()
        .unwrap()
    {
        let file = pod.plan_dir.join(item["path"].as_str().unwrap());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            file,
            cm["data"][item["key"].as_str().unwrap()].as_str().unwrap(),
        )
        .unwrap();
    }

    let children: Vec<_> = (0..3)
        .map(|i| {
            pod.command(container, i)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "instance {i}: {}", stderr(&out));
        let mark = pod.results_dir.join(format!("instance-{i}.exit"));
        assert_eq!(std::fs::read_to_string(mark).unwrap(), "0\n");
    }

    let merge_container = &merge["spec"]["template"]["spec"]["containers"][0];
    let out = pod.command(merge_container, 0).output().unwrap();
    assert!(
        out.status.success(),
        "merge: {}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&std::fs::read_to_string(pod.results_dir.join("summary.json")).unwrap())
        .unwrap()
}

/// A k6 script goes to the pods with its imports and the files it `open()`s, under their
/// folders, and each instance runs its share of it.
#[test]
fn a_k6_script_runs_on_the_pods_with_what_it_imports_and_opens() {
    if !supports_distributed_runs() {
        eprintln!("\n=== SKIP: this loadrun has no --instance-index or merge yet. ===\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("lib")).unwrap();
    std::fs::create_dir_all(src.join("data")).unwrap();
    // The pods reach their target by its address; here a test server stands for it.
    let server = loadrun_engine::server::TestServer::start(([127, 0, 0, 1], 0).into(), 1).unwrap();
    std::fs::write(
        src.join("test.js"),
        format!(
            "import http from 'k6/http';\nimport {{ check }} from 'k6';\nimport {{ users }} from './lib/users.js';\n\
             export const options = {{ scenarios: {{ main: {{ executor: 'shared-iterations', vus: 3, iterations: 31 }} }} }};\n\
             export default function () {{\n  const r = http.get(`{}/get?user=${{users[__ITER % users.length]}}`);\n  check(r, {{ 'ok': (x) => x.status === 200 }});\n}}\n",
            server.url()
        ),
    )
    .unwrap();
    std::fs::write(
        src.join("lib/users.js"),
        "export const users = open('../data/users.csv').split('\\n').slice(1).filter(Boolean);\n",
    )
    .unwrap();
    std::fs::write(src.join("data/users.csv"), "name\nann\nbob\n").unwrap();
    // Not read by the script: it stays out of the ConfigMap.
    std::fs::write(src.join("data/unused.csv"), "x\n").unwrap();
    let yaml = generate(&src, &["test.js", "--instances", "3"]);
    validate(&yaml);
    let cm = &docs(&yaml)[0];
    let mut shipped: Vec<String> = cm["data"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().lines().next().unwrap_or("").to_string())
        .collect();
    shipped.sort();
    assert_eq!(
        shipped.len(),
        3,
        "the script, its module and its data: {yaml}"
    );
    assert!(shipped.contains(&"name".to_string()), "{shipped:?}");
    assert!(!shipped.contains(&"x".to_string()), "{shipped:?}");
    let summary = run_pods_locally(dir.path(), &src, "test.js");
    assert_eq!(summary["metrics"]["iterations"]["count"], 31, "{summary}");
    assert_eq!(summary["metrics"]["checks"]["passes"], 31, "{summary}");

    // A file above the script's folder has no place in the pod.
    std::fs::write(dir.path().join("secret.csv"), "x\n").unwrap();
    std::fs::write(
        src.join("outside.js"),
        "const s = open('../secret.csv');\nexport default function () {}\n",
    )
    .unwrap();
    refused(
        &src,
        &["outside.js", "--instances", "2"],
        "is outside the script's folder",
    );
}

/// A pod that died leaves no exit mark: past the planned end plus `--merge-grace` the merge
/// stops waiting for it and merges what there is, naming the missing share, instead of
/// waiting forever. The start is in the past here, so that moment has come already.
#[test]
fn the_merge_stops_waiting_for_an_instance_that_never_finished() {
    if !supports_distributed_runs() {
        eprintln!("\n=== SKIP: this loadrun has no --instance-index or merge yet ===\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let plan = src.join("plan.toml");
    std::fs::write(
        &plan,
        "[scenarios.main]\nexecutor = \"shared-iterations\"\nvus = 3\niterations = 30\n\n\
         [[steps]]\nurl = \"${TEST_SERVER}/get\"\n",
    )
    .unwrap();
    let yaml = generate(
        &src,
        &[
            "plan.toml",
            "--instances",
            "3",
            "--start-at",
            "2020-01-02T03:04:05Z",
            "--merge-grace",
            "1s",
            "--results-claim",
            "shared",
        ],
    );
    let docs = docs(&yaml);
    let merge = &docs[2];
    let results = dir.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    // Instances 0 and 1 finish; instance 2's pod "died" before writing anything.
    for i in 0..2 {
        let out = Command::new(loadrun_bin())
            .current_dir(&src)
            .args([
                "run",
                "plan.toml",
                "--test-server",
                "--quiet",
                "--no-summary",
            ])
            .args(["--instance-index", &i.to_string(), "--instance-count", "3"])
            .arg("--result")
            .arg(results.join(format!("instance-{i}.json")))
            .output()
            .unwrap();
        assert!(out.status.success(), "instance {i}: {}", stderr(&out));
        std::fs::write(results.join(format!("instance-{i}.exit")), "0\n").unwrap();
    }
    let pod = LocalPod {
        plan_dir: dir.path().join("plan"),
        results_dir: results.clone(),
        output_root: dir.path().join("out"),
    };
    let merge_container = &merge["spec"]["template"]["spec"]["containers"][0];
    let out = pod.command(merge_container, 0).output().unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(
        !out.status.success(),
        "a merge with a missing share must fail: {so}{se}"
    );
    assert!(
        so.contains("2 of 3 instances finished by the planned end plus --merge-grace"),
        "{so}"
    );
    assert!(
        se.contains("missing 2/3:1"),
        "the missing share is named: {se}"
    );
}
