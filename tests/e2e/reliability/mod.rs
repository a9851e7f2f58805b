//! Reliability: every network output under server faults, bad input and interruption
//! (issue 15). A TCP proxy under the test's control sits between `loadrun` and each output's
//! real server (or a recording server where the service does not run here).
//!
//! `RELIAB_ONLY=influxdb,prometheus:dns` runs part of the table; `RELIAB_JOBS` sets how many
//! runs go side by side (default 4: the runs mostly wait).

// The run harness and the TCP proxy also serve `interrupt_all` and `stop_deadline`.
pub mod harness;
mod matrix;
mod options;
pub mod proxy;
mod runaway;
mod sigint;
mod targets;

use std::sync::Arc;

use loadrun_test_support::Service;

use matrix::Entry;
use targets::Recorders;

fn start(name: &str, env: &[(&str, &str)]) -> Option<Arc<Service>> {
    Service::start(name, env).map(Arc::new)
}

/// Every network output with its server (started side by side).
fn entries() -> Vec<Entry> {
    let (influx, prom, pg, moto, otlp, statsd, netdata) = std::thread::scope(|s| {
        let influx = s.spawn(|| start("influxdb", &[]));
        let prom = s.spawn(|| start("prometheus", &[]));
        let pg = s.spawn(|| start("postgres", &[]));
        let moto = s.spawn(|| start("moto", &[]));
        let otlp = s.spawn(|| start("otlp-receiver", &[]));
        let statsd = s.spawn(|| start("statsd", &[("STATSD_FLUSH_MS", "200")]));
        let statsd2 = s.spawn(|| start("statsd", &[("STATSD_FLUSH_MS", "200")]));
        let netdata = s.spawn(|| start("netdata", &[]));
        (
            influx.join().unwrap(),
            prom.join().unwrap(),
            pg.join().unwrap(),
            moto.join().unwrap(),
            otlp.join().unwrap(),
            statsd.join().unwrap().zip(statsd2.join().unwrap()),
            netdata.join().unwrap(),
        )
    });
    let mut v: Vec<Entry> = Vec::new();
    let mut add = |label: &'static str,
                   target: Option<Box<dyn targets::Target>>,
                   service: Option<Arc<Service>>| {
        match target {
            Some(target) => v.push(Entry {
                label,
                target,
                service,
            }),
            None => eprintln!("reliability: SKIP {label}: its server is not installed"),
        }
    };
    let killable = statsd.as_ref().map(|(_, k)| k.clone());
    add(
        "statsd",
        statsd.map(|(a, b)| Box::new(targets::Statsd(a, b)) as _),
        killable,
    );
    add(
        "netdata",
        netdata.map(|s| Box::new(targets::Netdata(s)) as _),
        None,
    );
    add(
        "datadog(dogstatsd)",
        Some(Box::new(targets::Dogstatsd)),
        None,
    );
    add(
        "datadog(api v1)",
        Some(Box::new(targets::DatadogApi(Recorders::default(), 1))),
        None,
    );
    add(
        "datadog(api v2)",
        Some(Box::new(targets::DatadogApi(Recorders::default(), 2))),
        None,
    );
    add(
        "influxdb",
        influx.map(|s| Box::new(targets::Influx(s)) as _),
        None,
    );
    add(
        "prometheus",
        prom.clone().map(|s| Box::new(targets::Prometheus(s)) as _),
        None,
    );
    add(
        "grafana-cloud",
        prom.map(|s| Box::new(targets::GrafanaCloud(s)) as _),
        None,
    );
    add(
        "timescaledb",
        pg.map(|s| Box::new(targets::Timescale(s)) as _),
        None,
    );
    add(
        "cloudwatch",
        moto.map(|s| Box::new(targets::CloudWatch(s)) as _),
        None,
    );
    add(
        "newrelic",
        Some(Box::new(targets::NewRelic(Recorders::default()))),
        None,
    );
    add(
        "cloud",
        Some(Box::new(targets::Cloud(Recorders::default()))),
        None,
    );
    add(
        "opentelemetry",
        otlp.map(|s| Box::new(targets::Otel(s)) as _),
        None,
    );
    v
}

#[test]
fn every_network_output_survives_every_fault() {
    let entries = entries();
    let jobs = std::env::var("RELIAB_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(4);
    let rows = matrix::run_all(&entries, jobs);
    let table = matrix::table(&rows);
    println!("\n{table}");
    let ran: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.skipped.is_none())
        .map(|r| r.label.as_str())
        .collect();
    let skipped: std::collections::BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.skipped.as_ref().map(|w| format!("{} ({w})", r.label)))
        .collect();
    println!("ran: {ran:?}\nskipped: {skipped:?}");
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.skipped.is_none() && !r.pass)
        .map(|r| format!("{} × {}: {}", r.label, r.fault.name(), r.notes.join("; ")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} cases failed:\n{}\n\n{table}",
        failed.len(),
        failed.join("\n")
    );
}
