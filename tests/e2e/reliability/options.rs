//! Bad options: each plugin refuses before the test starts, with one clear line that names the
//! option, and a non-zero exit.

use std::time::Duration;

use super::harness::{self, built_plugin};

/// (plugin file, -o value, what the error must name: the option, or `a|b` either of two, for
/// messages that quote the bad value instead). Required credentials are given so that only
/// the bad option is at fault.
const CASES: &[(&str, &str, &str)] = &[
    ("statsd", "statsd=addr=localhost:notaport", "option addr"),
    ("statsd", "statsd=pushInterval=soon", "pushInterval"),
    ("statsd", "statsd=bufferSize=-5", "bufferSize"),
    ("statsd", "statsd=bogusKey=1", "bogusKey"),
    ("netdata", "netdata=protocol=carrier-pigeon", "protocol"),
    ("netdata", "netdata=pushInterval=-1s", "pushInterval"),
    ("netdata", "netdata=bogusKey=1", "bogusKey"),
    ("datadog", "datadog=transport=carrier-pigeon", "transport"),
    (
        "datadog",
        "datadog=transport=api,apiKey=x,endpoint=ht tp://bad url",
        "endpoint",
    ),
    ("datadog", "datadog=bufferSize=-1", "bufferSize"),
    ("datadog", "datadog=bogusKey=1", "bogusKey"),
    (
        "influxdb",
        "influxdb=addr=ftp://localhost:8086,db=k6",
        "option addr must be an http(s) URL",
    ),
    (
        "influxdb",
        "influxdb=ftp://localhost:8086/k6",
        "the -o argument must be an http(s) URL",
    ),
    (
        "influxdb",
        "influxdb=addr=http://localhost:8086,pushInterval=soon",
        "pushInterval",
    ),
    (
        "influxdb",
        "influxdb=addr=http://localhost:8086,maxBatchLines=-1",
        "maxBatchLines",
    ),
    (
        "influxdb",
        "influxdb=addr=http://localhost:8086,bogusKey=1",
        "bogusKey",
    ),
    ("prometheus", "prometheus=url=not a url", "url"),
    ("prometheus", "prometheus=pushInterval=soon", "pushInterval"),
    (
        "prometheus",
        "prometheus=maxSeriesPerRequest=-1",
        "maxSeriesPerRequest",
    ),
    ("prometheus", "prometheus=bogusKey=1", "bogusKey"),
    (
        "grafana_cloud",
        "grafana-cloud=url=not a url,instanceId=1,token=t",
        "url",
    ),
    (
        "grafana_cloud",
        "grafana-cloud=url=http://h/api/prom/push,instanceId=1,token=t,pushInterval=soon",
        "pushInterval",
    ),
    (
        "grafana_cloud",
        "grafana-cloud=url=http://h/api/prom/push,instanceId=1,token=t,bogusKey=1",
        "bogusKey",
    ),
    (
        "timescaledb",
        "timescaledb=url=mysql://localhost/k6",
        "option url must be a postgresql:// URL",
    ),
    (
        "timescaledb",
        "timescaledb=url=postgresql://localhost/k6,pushInterval=soon",
        "pushInterval",
    ),
    (
        "timescaledb",
        "timescaledb=url=postgresql://localhost/k6,connections=-2",
        "connections",
    ),
    (
        "timescaledb",
        "timescaledb=url=postgresql://localhost/k6,bogusKey=1",
        "bogusKey",
    ),
    (
        "cloudwatch",
        "cloudwatch=endpoint=ftp://localhost,region=us-east-1",
        "endpoint",
    ),
    (
        "cloudwatch",
        "cloudwatch=region=us-east-1,period=-5s",
        "period",
    ),
    (
        "cloudwatch",
        "cloudwatch=region=us-east-1,maxRequestBytes=-1",
        "maxRequestBytes",
    ),
    (
        "cloudwatch",
        "cloudwatch=region=us-east-1,bogusKey=1",
        "bogusKey",
    ),
    (
        "newrelic",
        "newrelic=apiKey=x,endpoint=not a url",
        "endpoint",
    ),
    (
        "newrelic",
        "newrelic=apiKey=x,pushInterval=soon",
        "pushInterval",
    ),
    (
        "newrelic",
        "newrelic=apiKey=x,maxPayloadBytes=-1",
        "maxPayloadBytes",
    ),
    ("newrelic", "newrelic=apiKey=x,bogusKey=1", "bogusKey"),
    ("cloud", "cloud=token=x,host=not a url", "host"),
    (
        "cloud",
        "cloud=token=x,aggregationPeriod=-3",
        "aggregationPeriod",
    ),
    (
        "cloud",
        "cloud=token=x,metricPushConcurrency=-1",
        "metricPushConcurrency",
    ),
    ("cloud", "cloud=token=x,bogusKey=1", "bogusKey"),
    (
        "opentelemetry",
        "opentelemetry=endpoint=ftp://localhost:4318",
        "endpoint",
    ),
    (
        "opentelemetry",
        "opentelemetry=exportInterval=soon",
        "exportInterval",
    ),
    ("opentelemetry", "opentelemetry=bogusKey=1", "bogusKey"),
    // Host options, the same for every output.
    (
        "influxdb",
        "influxdb=addr=http://localhost:8086,retryMaxElapsed=soon",
        "retryMaxElapsed",
    ),
    (
        "influxdb",
        "influxdb=addr=http://localhost:8086,queueSize=-1",
        "queueSize",
    ),
];

/// Cases run with no AWS credentials anywhere: the bad option must still be what is named
/// (options are checked before credentials are looked for).
const WITHOUT_CREDENTIALS: &[(&str, &str, &str)] = &[
    (
        "cloudwatch",
        "cloudwatch=region=us-east-1,period=-5s",
        "period",
    ),
    (
        "cloudwatch",
        "cloudwatch=endpoint=ftp://localhost,region=us-east-1",
        "endpoint",
    ),
];

#[test]
fn bad_options_are_refused_before_the_test_with_one_clear_line() {
    let mut failed = Vec::new();
    let mut ran = std::collections::BTreeSet::new();
    let all: Vec<(&str, &str, &str, bool)> = CASES
        .iter()
        .map(|(p, o, w)| (*p, *o, *w, true))
        .chain(
            WITHOUT_CREDENTIALS
                .iter()
                .map(|(p, o, w)| (*p, *o, *w, false)),
        )
        .collect();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = all
            .chunks(all.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(plugin, out, word, aws)| {
                            let Some(p) = built_plugin(plugin) else {
                                return (*plugin, *out, *word, None);
                            };
                            let args = vec!["-o".to_string(), out.to_string()];
                            // 20 s planned: finishing fast proves the run never started.
                            let env: Vec<(String, String)> = if *aws {
                                [
                                    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                                    ("AWS_SECRET_ACCESS_KEY", "not-a-secret"),
                                ]
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .to_vec()
                            } else {
                                vec![]
                            };
                            (
                                *plugin,
                                *out,
                                *word,
                                Some(harness::run("20s", &[p], &args, &env, vec![])),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    for (plugin, out, word, run) in results {
        let Some(run) = run else {
            println!("SKIP {out}: libout_{plugin}.so not built");
            continue;
        };
        ran.insert(plugin);
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let named = lines
            .iter()
            .filter(|l| word.split('|').any(|w| l.contains(w)))
            .count();
        let mut why = Vec::new();
        if run.code == Some(0) || run.code.is_none() {
            why.push(format!("exit {:?}", run.code));
        }
        if run.wall > Duration::from_secs(10) {
            why.push(format!("took {:.1}s: the test ran", run.wall.as_secs_f64()));
        }
        if named != 1 {
            why.push(format!("{named} lines name {word:?}"));
        }
        if lines.len() > 2 {
            why.push(format!("{} lines of stderr", lines.len()));
        }
        println!(
            "{:<6} {out:<90} -> {}",
            if why.is_empty() { "ok" } else { "FAIL" },
            lines.first().unwrap_or(&"")
        );
        if !why.is_empty() {
            failed.push(format!(
                "-o {out}: {} | stderr: {}",
                why.join(", "),
                run.stderr.trim()
            ));
        }
    }
    println!("plugins checked: {ran:?}");
    assert!(
        failed.is_empty(),
        "{} bad-option cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
