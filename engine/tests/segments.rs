//! Execution segments end to end, in-process: the same plan run whole and as the instances of a
//! sequence, each against the built-in server; the instances' iterations, added up, are the
//! whole run's, and their test-wide iteration numbers (`exec.scenario.iterationInTest`) never
//! repeat.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_engine::segment::{ExecutionSegmentSequence, ExecutionTuple};
use loadrun_engine::server::TestServer;
use loadrun_engine::EngineOptions;

mod common;

const PLAN: &str = r#"
[scenarios.shared]
executor = "shared-iterations"
vus = 5
iterations = 23
exec = "f"

[scenarios.pervu]
executor = "per-vu-iterations"
vus = 4
iterations = 3
exec = "f"

[scenarios.constant_rate]
executor = "constant-arrival-rate"
rate = 20
duration = "1s"
preAllocatedVUs = 4
maxVUs = 10
exec = "f"

[scenarios.ramping_rate]
executor = "ramping-arrival-rate"
startRate = 0
preAllocatedVUs = 3
maxVUs = 7
stages = [{ duration = "1s", target = 30 }]
exec = "f"

[[flows.f]]
url = "${TEST_SERVER}/get?n=${exec.scenario.iterationInTest}"
"#;

/// Per scenario: the test-wide iteration numbers its requests carried, and dropped iterations.
type Seen = BTreeMap<String, (Vec<u64>, u64)>;

fn run(server: &TestServer, tuple: Option<&ExecutionTuple>) -> Seen {
    let mut opts = EngineOptions::default();
    opts.env.insert("TEST_SERVER".into(), server.url());
    if let Some(t) = tuple {
        opts.execution_segment = Some(*t.segment());
        opts.execution_segment_sequence = Some(t.sequence().clone());
    }
    let (rows, _) = common::run_plan(
        PLAN,
        &opts,
        Duration::from_millis(50),
        Duration::from_secs(120),
    );
    let mut seen = Seen::new();
    for r in rows {
        let scenario = r.tags.get("scenario").cloned().unwrap_or_default();
        match r.metric.as_str() {
            "http_reqs" => {
                let url = &r.tags["url"];
                let n = url.rsplit_once("n=").unwrap().1.parse().unwrap();
                seen.entry(scenario).or_default().0.push(n);
            }
            "dropped_iterations" => seen.entry(scenario).or_default().1 += r.value as u64,
            _ => {}
        }
    }
    seen
}

#[test]
fn instances_together_run_the_whole_test_once() {
    let server = TestServer::start("127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let whole = run(&server, None);
    // 20/s for 1 s, and a ramp 0 to 30/s over 1 s.
    let scheduled = |s: &str| match s {
        "constant_rate" => 20,
        "ramping_rate" => 15,
        _ => 0,
    };
    // One process numbers its iterations 0, 1, 2, ...
    for (scenario, total) in [("shared", 23u64), ("pervu", 12)] {
        let mut w = whole[scenario].0.clone();
        w.sort_unstable();
        assert_eq!(w, (0..total).collect::<Vec<u64>>(), "whole, {scenario}");
    }
    for n in [2u64, 3] {
        let seq = ExecutionSegmentSequence::even(n).unwrap();
        let mut merged = Seen::new();
        for i in 0..n {
            let t = ExecutionTuple::instance(i, n).unwrap();
            assert_eq!(t.sequence(), &seq);
            for (scenario, (ns, dropped)) in run(&server, Some(&t)) {
                let m = merged.entry(scenario).or_default();
                m.0.extend(ns);
                m.1 += dropped;
            }
        }
        for (scenario, (ns, dropped)) in &mut merged {
            ns.sort_unstable();
            let mut unique = ns.clone();
            unique.dedup();
            assert_eq!(
                &unique, ns,
                "{n} instances, {scenario}: an iteration number twice"
            );
            match scenario.as_str() {
                // shared-iterations stripes its numbers by its VUs' share, as its iterations
                // are split: together the instances number 0..iterations.
                "shared" => {
                    assert_eq!(*ns, (0..23).collect::<Vec<u64>>(), "{n} instances, shared");
                    assert_eq!(whole["shared"].0.len(), 23);
                }
                // per-vu-iterations stripes its numbers by the segment while its VUs are
                // rounded: unique, as in k6, but not dense.
                "pervu" => {
                    assert_eq!(ns.len(), 12, "{n} instances, pervu");
                    assert_eq!(whole["pervu"].0.len(), 12);
                }
                other => {
                    let started = ns.len() as u64;
                    assert_eq!(
                        started + *dropped,
                        scheduled(other),
                        "{n} instances, {other}"
                    );
                    let (w, wd) = &whole[other];
                    assert_eq!(w.len() as u64 + wd, scheduled(other), "whole, {other}");
                }
            }
        }
        assert_eq!(merged.len(), 4, "{n} instances: {merged:?}");
    }
}

#[test]
fn plan_keys_select_the_segment_and_options_override_them() {
    use loadrun_engine::compile::execution_tuple;
    use loadrun_engine::plan::{parse_str, Format};
    let plan = parse_str(
        "executionSegment = \"1/3:2/3\"\nexecutionSegmentSequence = \"0,1/3,2/3,1\"\n",
        Format::Toml,
        "p.toml",
    )
    .unwrap();
    let t = execution_tuple(&plan, &EngineOptions::default()).unwrap();
    assert_eq!(t.to_string(), "1/3:2/3 in 0,1/3,2/3,1");
    let opts = EngineOptions {
        execution_segment: Some("2/3:1".parse().unwrap()),
        ..Default::default()
    };
    assert_eq!(
        execution_tuple(&plan, &opts).unwrap().to_string(),
        "2/3:1 in 0,1/3,2/3,1"
    );
    let bad = parse_str("executionSegment = \"1a5\"\n", Format::Toml, "p.toml").unwrap();
    let err = execution_tuple(&bad, &EngineOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("executionSegment \"1a5\": "), "{err}");
}

/// The VU-based executors: each instance allocates its share of the VUs, and the shares add up
/// to the whole test's.
#[test]
fn vu_executors_split_their_vus_exactly() {
    const VUS: &str = r#"
[scenarios.ramp]
executor = "ramping-vus"
startVUs = 0
stages = [{ duration = "600ms", target = 5 }]
gracefulRampDown = "0s"
exec = "f"

[scenarios.constant]
executor = "constant-vus"
vus = 4
duration = "600ms"
exec = "f"

[[flows.f]]
url = "${TEST_SERVER}/get"
[[flows.f]]
sleep = "50ms"
"#;
    let server = TestServer::start("127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let vus_max = |tuple: Option<&ExecutionTuple>| -> u64 {
        let mut opts = EngineOptions::default();
        opts.env.insert("TEST_SERVER".into(), server.url());
        if let Some(t) = tuple {
            opts.execution_segment = Some(*t.segment());
            opts.execution_segment_sequence = Some(t.sequence().clone());
        }
        let (rows, _) = common::run_plan(
            VUS,
            &opts,
            Duration::from_millis(50),
            Duration::from_secs(60),
        );
        rows.iter()
            .filter(|r| r.metric == "vus_max")
            .map(|r| r.value as u64)
            .max()
            .unwrap_or(0)
    };
    assert_eq!(vus_max(None), 9);
    for n in [2u64, 3, 4] {
        let total: u64 = (0..n)
            .map(|i| vus_max(Some(&ExecutionTuple::instance(i, n).unwrap())))
            .sum();
        assert_eq!(total, 9, "{n} instances");
    }
}
