//! Ctrl-C: the run ends, outputs drain, the summary is written, counts add up, files are
//! complete; a second Ctrl-C exits at once.

use std::time::Duration;

use loadrun_test_support::recorder::{Recorder, Response};

use super::harness::{self, built_plugin, sigint, Counts};
use super::proxy::{Mode, Proxy};
use super::targets::http;

#[test]
fn ctrl_c_mid_run_drains_every_output() {
    let Some(influx) = loadrun_test_support::Service::start("influxdb", &[]) else {
        return;
    };
    let iaddr = influx
        .var("INFLUXDB_URL")
        .trim_start_matches("http://")
        .to_string();
    let (st, _) = http(&iaddr, "POST", "/query", "q=CREATE%20DATABASE%20sigint");
    assert_eq!(st, 200);
    let nr = Recorder::start(|_| Response::json(202, "{}"));
    let mut plugins = vec![];
    let mut args: Vec<String> = vec![
        "-o".into(),
        "json=out.json".into(),
        "-o".into(),
        "csv=out.csv".into(),
    ];
    for (p, out) in [
        (
            "influxdb",
            format!(
                "influxdb=addr=http://{iaddr},db=sigint,createDatabase=false,pushInterval=300ms"
            ),
        ),
        (
            "newrelic",
            format!(
                "newrelic=endpoint=http://{}/metric/v1,apiKey=x,gzip=false,pushInterval=5s",
                nr.addr()
            ),
        ),
        (
            "statsd",
            "statsd=addr=127.0.0.1:9,pushInterval=300ms".to_string(),
        ),
    ] {
        if let Some(path) = built_plugin(p) {
            plugins.push(path);
            args.extend(["-o".into(), out]);
        }
    }
    args.extend(["--output-stop-timeout".into(), "5s".into()]);
    let steps: Vec<harness::Step<'_>> = vec![(Duration::from_millis(2500), Box::new(sigint))];
    let run = harness::run("30s", &plugins, &args, &[], steps);
    println!(
        "ctrl-c run: exit {:?} in {:.1}s, peak RSS {} MB\n{}",
        run.code,
        run.wall.as_secs_f64(),
        run.peak_rss_kb / 1024,
        run.stderr
    );
    assert!(
        run.wall < Duration::from_secs(2 + 5 + 7),
        "took {:?}",
        run.wall
    );
    assert!(run.code.is_some(), "killed by a signal");
    let outs = run.summary["outputs"]["outputs"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no summary export: {}", run.stdout));
    assert!(outs.len() >= 2, "{outs:?}");
    for o in &outs {
        let c = Counts::of(o);
        println!(
            "{}: received {} written {} dropped {} lost {}",
            o["name"], c.received, c.written, c.dropped, c.lost
        );
        assert!(c.received > 0, "{o}");
        assert!(c.add_up(), "counts do not add up: {o}");
        if o["name"] != "statsd" {
            assert_eq!(
                c.dropped + c.lost,
                0,
                "an output lost samples at Ctrl-C: {o}"
            );
        }
    }
    assert!(
        run.stdout.contains("http_reqs"),
        "no summary printed: {}",
        run.stdout
    );
    // Files are complete: every JSON line parses, every CSV row has the header's columns.
    let json = std::fs::read_to_string(run.dir.path().join("out.json")).unwrap();
    let json_points = json.lines().filter(|l| l.contains("\"Point\"")).count() as u64;
    for l in json.lines() {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("torn JSON line {l:?}: {e}"));
    }
    let csv = std::fs::read_to_string(run.dir.path().join("out.csv")).unwrap();
    let cols = csv.lines().next().unwrap().split(',').count();
    let rows = csv.lines().skip(1).count() as u64;
    assert!(csv.ends_with('\n'), "CSV ends mid-row");
    for l in csv.lines() {
        assert!(l.split(',').count() >= cols, "short CSV row {l:?}");
    }
    let received = |name: &str| {
        outs.iter()
            .find(|o| o["name"] == name)
            .map(|o| Counts::of(o).written)
    };
    if let Some(w) = received("json") {
        assert_eq!(json_points, w, "JSON points vs written");
    }
    if let Some(w) = received("csv") {
        assert_eq!(rows, w, "CSV rows vs written");
    }
    // InfluxDB holds what it was told it got.
    if let Some(w) = received("influxdb") {
        let (_, body) = http(
            &iaddr,
            "GET",
            "/query?db=sigint&q=SELECT%20count(%22value%22)%20FROM%20%2F.*%2F",
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let n: u64 = v["results"][0]["series"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["values"][0][1].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(n, w, "influxdb holds {n}, written {w}");
    }
    if received("newrelic").is_some() {
        assert!(
            !nr.accepted().is_empty(),
            "New Relic's 5 s window was not flushed at Ctrl-C"
        );
    }
}

#[test]
fn second_ctrl_c_exits_at_once() {
    let Some(p) = built_plugin("influxdb") else {
        return;
    };
    // A blackhole keeps the drain busy for the whole stop timeout, unless a second Ctrl-C.
    let proxy = Proxy::start("127.0.0.1:9");
    proxy.set(Mode::Blackhole);
    let args = vec![
        "-o".to_string(),
        "json=out.json".to_string(),
        "-o".to_string(),
        format!(
            "influxdb=addr=http://{},db=k6,createDatabase=false,pushInterval=200ms",
            proxy.addr()
        ),
        "--output-stop-timeout".into(),
        "60s".into(),
    ];
    let steps: Vec<harness::Step<'_>> = vec![
        (Duration::from_millis(1500), Box::new(sigint)),
        (Duration::from_millis(2500), Box::new(sigint)),
    ];
    let run = harness::run("30s", &[p], &args, &[], steps);
    println!(
        "double ctrl-c: exit {:?} in {:.1}s\n{}",
        run.code,
        run.wall.as_secs_f64(),
        run.stderr
    );
    assert!(
        run.wall < Duration::from_secs(5),
        "the second Ctrl-C did not exit at once: {:?}",
        run.wall
    );
    assert!(run.code.is_some(), "killed by a signal rather than exiting");
}
