//! Ctrl-C with every output enabled at once: the run ends with exit 105, prints the summary,
//! every output's counts add up, the files are complete (gzip included) and the network outputs
//! flushed what they reported as written. (A second Ctrl-C during a stuck drain:
//! `reliability::sigint::second_ctrl_c_exits_at_once`.)

use std::sync::Arc;
use std::time::Duration;

use loadrun_test_support::recorder::{Recorder, Request, Response};
use loadrun_test_support::Service;
use serde_json::Value;

use crate::reliability::harness::{self, built_plugin, sigint, Counts};
use crate::support::{get_json, http, url_encode};

/// k6's "interrupted by the user" exit code.
const EXIT_INTERRUPTED: i32 = 105;

fn start(name: &str, env: &[(&str, &str)]) -> Option<Arc<Service>> {
    Service::start(name, env).map(Arc::new)
}

fn cloud_answer(r: &Request) -> Response {
    match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/v1/tests") => Response::json(
            200,
            r#"{"reference_id":"4242","config":{"aggregationPeriod":"1s"}}"#,
        ),
        ("POST", p) if p.starts_with("/v2/metrics/") => Response::json(204, ""),
        _ => Response::json(200, "{}"),
    }
}

/// Each line of a JSON output parses, and the points are counted.
fn json_points(text: &str, file: &str) -> u64 {
    assert!(text.ends_with('\n'), "{file} ends mid-line");
    let mut points = 0;
    for l in text.lines() {
        let v: Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line in {file} {l:?}: {e}"));
        if v["type"] == "Point" {
            points += 1;
        }
    }
    points
}

/// Every CSV row has the header's columns; the rows are counted.
fn csv_rows(text: &str, file: &str) -> u64 {
    assert!(text.ends_with('\n'), "{file} ends mid-row");
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let cols = rdr.headers().map(|h| h.len()).unwrap_or(0);
    assert!(cols > 3, "{file} has no header: {text:.200}");
    let mut rows = 0;
    for r in rdr.records() {
        r.unwrap_or_else(|e| panic!("bad row in {file}: {e}"));
        rows += 1;
    }
    rows
}

fn gunzip(path: &std::path::Path) -> String {
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} does not decode: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ctrl_c_with_every_output_enabled() {
    let (influx, prom, pg, moto, otlp, statsd, netdata, vm) = std::thread::scope(|s| {
        let influx = s.spawn(|| start("influxdb", &[]));
        let prom = s.spawn(|| start("prometheus", &[]));
        let pg = s.spawn(|| start("postgres", &[]));
        let moto = s.spawn(|| start("moto", &[]));
        let otlp = s.spawn(|| start("otlp-receiver", &[]));
        let statsd = s.spawn(|| start("statsd", &[("STATSD_FLUSH_MS", "200")]));
        let netdata = s.spawn(|| start("netdata", &[]));
        let vm = s.spawn(|| start("victoriametrics", &[]));
        (
            influx.join().unwrap(),
            prom.join().unwrap(),
            pg.join().unwrap(),
            moto.join().unwrap(),
            otlp.join().unwrap(),
            statsd.join().unwrap(),
            netdata.join().unwrap(),
            vm.join().unwrap(),
        )
    });
    let newrelic = Recorder::start(|_| Response::json(202, r#"{"requestId":"1"}"#));
    let cloud = Recorder::start(cloud_answer);

    let mut plugins = Vec::new();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut args: Vec<String> = [
        "json=out.json",
        "json=out.json.gz",
        "csv=out.csv",
        "csv=out.csv.gz",
    ]
    .iter()
    .flat_map(|o| ["-o".to_string(), o.to_string()])
    .collect();
    args.extend(
        ["--tag", "rtest=intall", "--output-stop-timeout", "10s"]
            .iter()
            .map(|s| s.to_string()),
    );
    let mut add = |plugin: &str, out: String| match built_plugin(plugin) {
        Some(p) => {
            if !plugins.contains(&p) {
                plugins.push(p);
            }
            args.extend(["-o".to_string(), out]);
        }
        None => eprintln!("interrupt_all: SKIP {plugin}: not built"),
    };
    if let Some(s) = &influx {
        let url = s.var("INFLUXDB_URL");
        let (st, body) = http(
            "POST",
            &format!("{url}/query?q=CREATE%20DATABASE%20intall"),
            &[],
            b"",
        );
        assert_eq!(st, 200, "{body}");
        add(
            "influxdb",
            format!("influxdb=addr={url},db=intall,createDatabase=false,pushInterval=300ms"),
        );
    }
    if let Some(s) = &prom {
        add(
            "prometheus",
            format!(
                "prometheus=url={},pushInterval=300ms",
                s.var("PROMETHEUS_RW_URL")
            ),
        );
        add(
            "grafana_cloud",
            format!(
                "grafana-cloud=url={},instanceId=12345,token=glc_x,testId=intall,pushInterval=300ms",
                s.var("PROMETHEUS_RW_URL")
            ),
        );
    }
    if let Some(s) = &pg {
        let url = s.var("PG_URL");
        let (scheme_less, query) = url.split_once('?').unwrap_or((url, ""));
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        add(
            "timescaledb",
            format!(
                "timescaledb={}{q}",
                scheme_less.replacen("postgres://", "postgresql://", 1)
            ),
        );
    }
    if let Some(s) = &moto {
        add(
            "cloudwatch",
            format!(
                "cloudwatch=endpoint={},region=us-east-1,namespace=intall,period=1s,storageResolution=1",
                s.var("MOTO_URL")
            ),
        );
        env.extend([
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ]);
    }
    if let Some(s) = &otlp {
        add(
            "opentelemetry",
            format!(
                "opentelemetry=endpoint={},temporality=delta,exportInterval=300ms",
                s.var("OTLP_HTTP_URL")
            ),
        );
    }
    if let Some(s) = &statsd {
        add(
            "statsd",
            format!("statsd=addr={},pushInterval=200ms", s.var("STATSD_ADDR")),
        );
    }
    if let Some(s) = &netdata {
        add(
            "netdata",
            format!(
                "netdata=addr={},protocol=tcp,pushInterval=200ms",
                s.var("NETDATA_STATSD_ADDR")
            ),
        );
    }
    if let Some(s) = &vm {
        add(
            "datadog",
            format!(
                "datadog=transport=api,apiVersion=1,endpoint={}/datadog,pushInterval=300ms",
                s.var("VM_URL")
            ),
        );
        env.push(("DD_API_KEY".into(), "dd-not-a-real-key".into()));
    }
    add(
        "newrelic",
        format!(
            "newrelic=endpoint=http://{}/metric/v1,apiKey=NRAK-x,gzip=false,pushInterval=5s",
            newrelic.addr()
        ),
    );
    add(
        "cloud",
        format!(
            "cloud=host=http://{},token=k6cloud-x,aggregationPeriod=1s,aggregationWaitPeriod=0s,metricPushInterval=300ms,timeout=3s",
            cloud.addr()
        ),
    );

    let steps: Vec<harness::Step<'_>> = vec![(Duration::from_millis(2500), Box::new(sigint))];
    let run = harness::run("30s", &plugins, &args, &env, steps);
    println!(
        "ctrl-c with {} outputs: exit {:?} in {:.1}s, peak RSS {} MB\n{}",
        args.iter().filter(|a| *a == "-o").count(),
        run.code,
        run.wall.as_secs_f64(),
        run.peak_rss_kb / 1024,
        run.stderr
    );
    assert_eq!(run.code, Some(EXIT_INTERRUPTED), "stderr:\n{}", run.stderr);
    assert!(
        run.wall < Duration::from_secs(3 + 10 + 5),
        "took {:?}",
        run.wall
    );
    assert!(
        run.stdout.contains("http_reqs"),
        "no summary printed:\n{}",
        run.stdout
    );
    let outs = run.summary["outputs"]["outputs"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no summary export: {}", run.stdout));
    let expected = args.iter().filter(|a| *a == "-o").count();
    assert_eq!(outs.len(), expected, "an output is missing: {outs:?}");
    for o in &outs {
        let c = Counts::of(o);
        println!(
            "{}: received {} written {} dropped {} lost {}",
            o["name"], c.received, c.written, c.dropped, c.lost
        );
        assert!(c.received > 0, "{o}");
        assert!(c.add_up(), "counts do not add up: {o}");
        assert_eq!(
            c.dropped + c.lost,
            0,
            "an output lost samples at Ctrl-C: {o}"
        );
    }
    // Files: complete, and as many points/rows as their output wrote.
    let written = |name: &str| {
        outs.iter()
            .find(|o| o["name"] == name)
            .map(|o| Counts::of(o).written)
            .unwrap_or_else(|| panic!("no output {name} in {outs:?}"))
    };
    let dir = run.dir.path();
    let files = [
        ("json", "out.json"),
        ("json#2", "out.json.gz"),
        ("csv", "out.csv"),
        ("csv#2", "out.csv.gz"),
    ];
    for (name, file) in files {
        let path = dir.join(file);
        let text = if file.ends_with(".gz") {
            gunzip(&path)
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        let n = if name.starts_with("json") {
            json_points(&text, file)
        } else {
            csv_rows(&text, file)
        };
        assert_eq!(n, written(name), "{file} vs its output's written");
    }
    // Network outputs flushed: what the servers hold equals `written`.
    if let Some(s) = &influx {
        let w = written("influxdb");
        let v = get_json(
            &format!("{}/query", s.var("INFLUXDB_URL")),
            &[("db", "intall"), ("q", "SELECT count(\"value\") FROM /.*/")],
        );
        let held: u64 = v["results"][0]["series"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["values"][0][1].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(held, w, "influxdb holds {held}, written {w}");
    }
    if let Some(s) = &prom {
        let reqs = run.metric_count("http_reqs");
        let q = url_encode("sum(k6_http_reqs_total{rtest=\"intall\"})");
        let v = get_json(
            &format!("{}/api/v1/query?query={q}", s.var("PROMETHEUS_URL")),
            &[],
        );
        let held: f64 = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0.0);
        assert!(reqs > 0.0);
        // Both remote-write outputs send into the one server, the k6 series and the
        // grafana-cloud ones (told apart by testid); the k6 ones alone hold the full count.
        let k6 = url_encode("sum(k6_http_reqs_total{rtest=\"intall\",testid=\"\"})");
        let v2 = get_json(
            &format!("{}/api/v1/query?query={k6}", s.var("PROMETHEUS_URL")),
            &[],
        );
        let held_k6: f64 = v2["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0.0);
        println!(
            "prometheus holds {held} http_reqs in all, {held_k6} from prometheus; run made {reqs}"
        );
        assert_eq!(held_k6, reqs, "prometheus total vs the run's http_reqs");
    }
    assert!(
        !newrelic.accepted().is_empty(),
        "New Relic's 5 s window was not flushed at Ctrl-C"
    );
    assert!(
        cloud
            .accepted()
            .iter()
            .any(|r| r.path.starts_with("/v2/metrics/")),
        "cloud pushed no metrics"
    );
}
