//! Secrets never reach the user's screen or files: one run with every plugin's secret options
//! set, pointed at servers that refuse (401/403/500) or are not there, so every error path
//! prints; then `loadrun plugins info` for each plugin with the secret env vars set. No secret,
//! nor its base64 (Basic auth), may appear in stdout, stderr, the run's files or the summary.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use loadrun_test_support::recorder::{Recorder, Response};
use loadrun_test_support::{loadrun_bin, plugin_path};

use crate::support::loud_run;

/// Distinctive strings, each used as exactly one secret option.
const SECRETS: &[(&str, &str)] = &[
    ("influxdb URL password", "SeKrEtInfluxUrlPw7261"),
    ("influxdb password", "SeKrEtInfluxPw5508"),
    ("influxdb token", "SeKrEtInfluxToken3317"),
    ("prometheus password", "SeKrEtPromPw8840"),
    ("prometheus bearer token", "SeKrEtPromBearer1193"),
    ("prometheus sigv4 secret key", "SeKrEtPromSigV4Key3391"),
    ("prometheus sigv4 session token", "SeKrEtPromSigV4Tok7724"),
    ("grafana-cloud token", "SeKrEtGcToken6625"),
    ("datadog api key", "SeKrEtDdApiKey4471"),
    ("newrelic api key", "SeKrEtNrApiKey9034"),
    ("cloudwatch secret key", "SeKrEtCwSecretKey2290"),
    ("cloudwatch session token", "SeKrEtCwSessionTok5182"),
    ("timescaledb URL password", "SeKrEtPgUrlPw7740"),
    ("timescaledb password", "SeKrEtPgPw3068"),
    ("cloud token", "SeKrEtCloudToken6417"),
    (
        "opentelemetry Authorization header",
        "SeKrEtOtelAuthHdr8123",
    ),
    ("opentelemetry password", "SeKrEtOtelPw2954"),
];

/// Users that go with a password in Basic auth (`base64(user:password)`).
const USERS: &[&str] = &["secuser", "12345"];

fn secret(name: &str) -> &'static str {
    SECRETS.iter().find(|(n, _)| *n == name).unwrap().1
}

fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Every form of every secret that must not show: itself, its base64 (without padding, so it
/// also matches inside longer base64 text when aligned), and `base64(user:secret)`.
fn forbidden() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, s) in SECRETS {
        out.push((name.to_string(), s.to_string()));
        out.push((
            format!("{name} (base64)"),
            base64(s.as_bytes()).trim_end_matches('=').to_string(),
        ));
        for u in USERS {
            out.push((
                format!("{name} (Basic {u})"),
                base64(format!("{u}:{s}").as_bytes())
                    .trim_end_matches('=')
                    .to_string(),
            ));
        }
    }
    out
}

fn assert_no_secret(what: &str, text: &str) {
    for (name, form) in forbidden() {
        assert!(
            !text.contains(&form),
            "{name} leaked in {what}:\n{}",
            text.lines()
                .filter(|l| l.contains(&form))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Each plugin with its secrets, against a server that refuses or a closed port; `(plugin,
/// -o argument)`.
fn outputs(rec: &str, closed: u16) -> Vec<(&'static str, String)> {
    vec![
        (
            "influxdb",
            format!(
                "influxdb=http://secuser:{}@127.0.0.1:{closed}/k6",
                secret("influxdb URL password")
            ),
        ),
        (
            "influxdb",
            format!(
                "influxdb=addr=http://{rec},db=k6,username=secuser,password={},createDatabase=false,pushInterval=200ms",
                secret("influxdb password")
            ),
        ),
        (
            "influxdb",
            format!(
                "influxdb=addr=http://{rec},organization=org,bucket=b,token={},pushInterval=200ms",
                secret("influxdb token")
            ),
        ),
        (
            "prometheus",
            format!(
                "prometheus=url=http://{rec}/api/v1/write,username=secuser,password={},pushInterval=200ms",
                secret("prometheus password")
            ),
        ),
        (
            "prometheus",
            format!(
                "prometheus=url=http://{rec}/api/v1/write,bearerToken={},pushInterval=200ms",
                secret("prometheus bearer token")
            ),
        ),
        (
            "prometheus",
            format!(
                "prometheus=url=http://{rec}/api/v1/write,sigV4Region=us-east-1,sigV4AccessKey=AKIDSECRETSTEST,sigV4SecretKey={},sigV4SessionToken={},pushInterval=200ms",
                secret("prometheus sigv4 secret key"),
                secret("prometheus sigv4 session token")
            ),
        ),
        (
            "grafana_cloud",
            format!(
                "grafana-cloud=url=http://{rec}/api/prom/push,instanceId=12345,token={},pushInterval=200ms",
                secret("grafana-cloud token")
            ),
        ),
        (
            "datadog",
            format!(
                "datadog=transport=api,endpoint=http://{rec},apiKey={},pushInterval=200ms",
                secret("datadog api key")
            ),
        ),
        (
            "newrelic",
            format!(
                "newrelic=endpoint=http://{rec}/metric/v1,apiKey={},pushInterval=200ms",
                secret("newrelic api key")
            ),
        ),
        (
            "cloudwatch",
            format!("cloudwatch=endpoint=http://{rec},region=us-east-1,timeout=1s,period=1s"),
        ),
        (
            "timescaledb",
            format!(
                "timescaledb=url=postgresql://secuser:{}@127.0.0.1:{closed}/k6,connectTimeout=1s",
                secret("timescaledb URL password")
            ),
        ),
        (
            "timescaledb",
            format!(
                "timescaledb=url=postgresql://secuser@127.0.0.1:{closed}/k6,password={},connectTimeout=1s",
                secret("timescaledb password")
            ),
        ),
        (
            "cloud",
            format!(
                "cloud=host=http://{rec},token={},timeout=1s",
                secret("cloud token")
            ),
        ),
        (
            "opentelemetry",
            format!(
                "opentelemetry=endpoint=http://{rec},headers=Authorization=Bearer%20{},exportInterval=200ms,timeout=1s",
                secret("opentelemetry Authorization header")
            ),
        ),
        (
            "opentelemetry",
            format!(
                "opentelemetry=endpoint=http://{rec},username=secuser,password={},exportInterval=200ms,timeout=1s",
                secret("opentelemetry password")
            ),
        ),
        ("statsd", format!("statsd=addr=127.0.0.1:{closed}")),
    ]
}

fn secret_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "AKIDSECRETSTEST".to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            secret("cloudwatch secret key").to_string(),
        ),
        (
            "AWS_SESSION_TOKEN",
            secret("cloudwatch session token").to_string(),
        ),
        ("AWS_CONFIG_FILE", "/nonexistent".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_string()),
        ("LOADRUN_LOG", "debug".to_string()),
        ("NO_COLOR", "1".to_string()),
    ]
}

/// Runs `loadrun` with `outs` (plus JSON and gzip CSV files) and the secret env, without
/// `--quiet` (the banner repeats every `-o`), and checks that no secret shows in its stdout,
/// stderr or any file it left.
fn run_and_check(outs: &[(&'static str, String)]) -> crate::support::Run {
    let mut plugins: Vec<&str> = outs.iter().map(|(p, _)| *p).collect();
    plugins.dedup();
    let mut args: Vec<String> = vec![
        "-o".into(),
        "json=out.json".into(),
        "-o".into(),
        "csv=out.csv.gz".into(),
        "--output-stop-timeout".into(),
        "3s".into(),
    ];
    for (_, o) in outs {
        args.extend(["-o".to_string(), format!("{o},retryMaxElapsed=1s")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = secret_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = loud_run("/get", 2, "2s", &plugins, &args, &env);
    println!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        run.output.status.code(),
        run.stdout(),
        run.stderr()
    );
    assert_no_secret("stdout", &run.stdout());
    assert_no_secret("stderr", &run.stderr());
    for entry in std::fs::read_dir(run.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = if path.extension().is_some_and(|e| e == "gz") {
            gunzip(&path)
        } else {
            std::fs::read(&path).unwrap()
        };
        assert_no_secret(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        );
    }
    run
}

#[test]
fn no_secret_in_any_output() {
    // Refuses in turn with each status a misconfigured credential gets.
    let n = AtomicUsize::new(0);
    let rec = Recorder::start(move |_| {
        let status = [401, 403, 500][n.fetch_add(1, Ordering::Relaxed) % 3];
        Response::json(status, r#"{"error":"credentials refused"}"#)
    });
    let (at_start, running): (Vec<_>, Vec<_>) = outputs(rec.addr(), closed_port())
        .into_iter()
        .partition(|(p, _)| ["timescaledb", "cloud"].contains(p));
    let run = run_and_check(&running);
    // The banner listed the outputs (so the test looked where a leak would be), masked.
    assert!(
        run.stdout().contains("output: ") && run.stdout().contains("=***"),
        "no banner with masked options:\n{}",
        run.stdout()
    );
    let stderr = run.stderr();
    // The errors were printed (so the test looked where a leak would be).
    for needle in ["401", "403", "500", "refused"] {
        assert!(
            stderr.contains(needle),
            "no error mentioning {needle:?}:\n{stderr}"
        );
    }
    for file in ["summary.json", "out.json", "out.csv.gz"] {
        assert!(run.dir.path().join(file).exists(), "no {file}");
    }
    assert!(
        run.summary["outputs"]["outputs"]
            .as_array()
            .is_some_and(|a| a.len() >= running.len()),
        "summary export lacks the outputs: {}",
        run.summary
    );
    // An output whose server is down at start fails the run before it begins: one run each,
    // so every one of them prints its error.
    for out in at_start {
        let run = run_and_check(std::slice::from_ref(&out));
        assert!(
            run.stderr().contains("failed to start"),
            "{}: no start error:\n{}",
            out.1,
            run.stderr()
        );
    }
}

/// Decompresses with the system's gzip (the e2e crate has no gzip dependency).
fn gunzip(path: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "gzip -dc {}", path.display());
    out.stdout
}

#[test]
fn no_secret_in_plugins_info() {
    let mut env = secret_env();
    for (name, s) in SECRETS {
        // Every env name a plugin documents for a secret, set to some secret.
        let var = match *name {
            "influxdb password" => "K6_INFLUXDB_PASSWORD",
            "influxdb token" => "K6_INFLUXDB_TOKEN",
            "prometheus password" => "K6_PROMETHEUS_RW_PASSWORD",
            "prometheus bearer token" => "K6_PROMETHEUS_RW_BEARER_TOKEN",
            "prometheus sigv4 secret key" => "K6_PROMETHEUS_RW_SIGV4_SECRET_KEY",
            "prometheus sigv4 session token" => "K6_PROMETHEUS_RW_SIGV4_SESSION_TOKEN",
            "grafana-cloud token" => "GRAFANA_CLOUD_TOKEN",
            "datadog api key" => "DD_API_KEY",
            "newrelic api key" => "NEW_RELIC_API_KEY",
            "timescaledb password" => "PGPASSWORD",
            "cloud token" => "K6_CLOUD_TOKEN",
            "opentelemetry Authorization header" => "OTEL_EXPORTER_OTLP_HEADERS",
            "opentelemetry password" => "K6_OTEL_HTTP_EXPORTER_PASSWORD",
            _ => continue,
        };
        let value = if var == "OTEL_EXPORTER_OTLP_HEADERS" {
            format!("Authorization=Bearer%20{s}")
        } else {
            s.to_string()
        };
        env.push((var, value));
    }
    for p in [
        "influxdb",
        "prometheus",
        "grafana_cloud",
        "datadog",
        "newrelic",
        "cloudwatch",
        "timescaledb",
        "cloud",
        "opentelemetry",
        "statsd",
        "netdata",
    ] {
        let out = std::process::Command::new(loadrun_bin())
            .args(["plugins", "info"])
            .arg(plugin_path(p))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "plugins info {p}: {out:?}");
        assert!(stdout.contains("output "), "plugins info {p}: {stdout}");
        assert_no_secret(&format!("plugins info {p} stdout"), &stdout);
        assert_no_secret(
            &format!("plugins info {p} stderr"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }
}

/// A secret query key written percent-encoded is read by the output as the option it names
/// (`tok%65n` is `token`), so the banner must mask it too.
#[test]
fn escaped_secret_query_keys_are_masked() {
    const TOKEN: &str = "SeKrEtEscToken5521";
    const KEY: &str = "SeKrEtEscApiKey7310";
    let arg = format!("tb-secret=http://127.0.0.1:1/x?tok%65n={TOKEN}&count=2&api%4Bey={KEY}");
    let run = loud_run(
        "/get",
        1,
        "1s",
        &["testbehave"],
        &["-o", &arg],
        &[("NO_COLOR", "1")],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(
        run.stdout().contains("tok%65n=***&count=2&api%4Bey=***"),
        "the banner shows the output, masked:\n{}",
        run.stdout()
    );
    for (what, text) in [
        ("stdout", run.stdout()),
        ("stderr", run.stderr()),
        ("the summary", run.summary.to_string()),
    ] {
        for s in [TOKEN, KEY] {
            assert!(!text.contains(s), "{s} leaked in {what}:\n{text}");
        }
    }
}

/// An output that declares its options (API 1.3): the host masks every option declared
/// secret, by name, by alias and in a URL's query, in the banner; never shows a secret value
/// in an option error; and `plugins info` shows no secret default.
#[test]
fn declared_secrets_are_never_shown() {
    const TOKEN: &str = "SeKrEtDeclToken4410";
    const KEY: &str = "SeKrEtDeclApiKey9912";
    const PIN: &str = "SeKrEtDeclPin";
    let forms = |text: &str, what: &str| {
        for s in [TOKEN, KEY, PIN, "default-api-key"] {
            assert!(!text.contains(s), "{s} leaked in {what}:\n{text}");
        }
    };
    let arg = format!("tb-secret=http://127.0.0.1:1/x?token={TOKEN}&count=2,api_key={KEY}");
    let run = loud_run(
        "/get",
        1,
        "1s",
        &["testbehave"],
        &["-o", &arg],
        &[("NO_COLOR", "1")],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(
        run.stdout().contains("token=***") && run.stdout().contains("api_key=***"),
        "the banner shows the output, masked:\n{}",
        run.stdout()
    );
    forms(&run.stdout(), "stdout");
    forms(&run.stderr(), "stderr");
    forms(&run.summary.to_string(), "the summary");

    // A bad value of a secret, from each source: the option and source are named, not it.
    let bin = loadrun_bin();
    let plugin = plugin_path("testbehave");
    for (args, env, source) in [
        (
            vec!["-o".to_string(), format!("tb-secret=pin={PIN}")],
            vec![],
            "-o tb-secret=...",
        ),
        (
            vec!["-o".to_string(), "tb-secret".to_string()],
            vec![("TB_SECRET_PIN", PIN)],
            "env TB_SECRET_PIN",
        ),
    ] {
        let o = std::process::Command::new(&bin)
            .args(["run", "--url", "http://127.0.0.1:1/", "-d", "1s", "--quiet"])
            .arg("--plugin")
            .arg(&plugin)
            .args(&args)
            .envs(env)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert_eq!(
            err.trim(),
            format!(
                "loadrun: error: tb-secret: option pin from {source} is not valid: expected a whole number from 0 to 9999"
            )
        );
        forms(&err, "the option error");
    }

    let o = std::process::Command::new(&bin)
        .args(["plugins", "info", "tb-secret", "--plugin"])
        .arg(&plugin)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(
        info.contains("apiKey") && info.contains("(secret)"),
        "{info}"
    );
    forms(&info, "plugins info");
}
