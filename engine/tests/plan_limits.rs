//! Plans with impossible sizes are refused when compiled, with one line naming the field and
//! the limit, instead of exhausting memory once the run starts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loadrun_engine::compile::{compile, EngineOptions};
use loadrun_engine::plan::{parse_str, Format};

const STEPS: &str = "[[steps]]\nurl = \"http://127.0.0.1:1/\"\n";

fn compile_err(text: &str) -> String {
    let plan = parse_str(&format!("{text}\n{STEPS}"), Format::Toml, "plan.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    match compile(&plan, &EngineOptions::default()) {
        Ok(_) => panic!("compiled:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn compiles(text: &str) {
    let plan = parse_str(&format!("{text}\n{STEPS}"), Format::Toml, "plan.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = compile(&plan, &EngineOptions::default()) {
        panic!("{e}\n{text}");
    }
}

fn parse_err(text: &str) -> String {
    match parse_str(&format!("{text}\n{STEPS}"), Format::Toml, "plan.toml") {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn vus_past_one_process_are_refused_with_the_limit() {
    let e = compile_err(
        "[scenarios.x]\nexecutor = \"constant-vus\"\nvus = 100000000\nduration = \"1s\"",
    );
    assert_eq!(
        e,
        "scenario \"x\": vus = 100000000 is more than loadrun can run in one process (limit 1000000); split the test across machines"
    );
    // The shortcut options (and so `-u`) go through the same check.
    let e = compile_err("vus = 1000000000000\nduration = \"1s\"");
    assert!(e.contains("vus = 1000000000000 is more than"), "{e}");
    compiles("[scenarios.x]\nexecutor = \"constant-vus\"\nvus = 1000000\nduration = \"1s\"");
}

#[test]
fn ramping_targets_and_arrival_rate_pools_are_bounded() {
    let e = compile_err(
        "[scenarios.r]\nexecutor = \"ramping-vus\"\nstages = [{ duration = \"1s\", target = 10 }, { duration = \"1s\", target = 1000000000000 }]",
    );
    assert!(
        e.starts_with("scenario \"r\": stages[1].target = 1000000000000 is more than loadrun can run in one process (limit 1000000)"),
        "{e}"
    );
    let e = compile_err(
        "[scenarios.r]\nexecutor = \"ramping-vus\"\nstartVUs = 2000000\nstages = [{ duration = \"1s\", target = 1 }]",
    );
    assert!(e.contains("startVUs = 2000000 is more than"), "{e}");
    let arrival =
        "[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 10\nduration = \"1s\"\n";
    let e = compile_err(&format!("{arrival}preAllocatedVUs = 5000000"));
    assert!(e.contains("preAllocatedVUs = 5000000 is more than"), "{e}");
    let e = compile_err(&format!("{arrival}preAllocatedVUs = 1\nmaxVUs = 100000000"));
    assert!(e.contains("maxVUs = 100000000 is more than"), "{e}");
}

#[test]
fn max_vus_below_pre_allocated_is_refused_as_k6_does() {
    let e = compile_err(
        "[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 10\nduration = \"1s\"\npreAllocatedVUs = 10\nmaxVUs = 5",
    );
    assert_eq!(
        e,
        "scenarios.a: maxVUs can't be less than preAllocatedVUs (5 < 10)"
    );
    compiles(
        "[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 10\nduration = \"1s\"\npreAllocatedVUs = 10\nmaxVUs = 10",
    );
}

#[test]
fn scenarios_together_are_bounded_too() {
    let one = |n: &str| {
        format!("[scenarios.{n}]\nexecutor = \"constant-vus\"\nvus = 600000\nduration = \"1s\"\n")
    };
    let e = compile_err(&format!("{}{}", one("a"), one("b")));
    assert_eq!(
        e,
        "the scenarios together use up to 1200000 VUs, more than loadrun can run in one process (limit 1000000); split the test across machines"
    );
}

#[test]
fn iteration_counts_that_overflow_are_refused() {
    let e = compile_err(&format!(
        "[scenarios.p]\nexecutor = \"per-vu-iterations\"\nvus = 1000000\niterations = {}",
        u64::MAX / 2
    ));
    assert!(e.contains("overflows a 64-bit count"), "{e}");
}

#[test]
fn absurd_durations_are_refused() {
    // Past u64 seconds: Duration::from_secs_f64 used to panic here.
    let e = parse_err("[scenarios.x]\nexecutor = \"constant-vus\"\nduration = 1e30");
    assert!(
        e.contains("duration 1000000000000000000000000000000s is longer than loadrun accepts (limit 365 days)"),
        "{e}"
    );
    let e = parse_err("[scenarios.x]\nexecutor = \"constant-vus\"\nduration = \"100000000h\"");
    assert!(e.contains("limit 365 days"), "{e}");
    let e = compile_err(
        "[scenarios.x]\nexecutor = \"constant-vus\"\nduration = \"8000h\"\nstartTime = \"1000h\"",
    );
    assert!(
        e.starts_with("scenario \"x\": startTime, duration or stages, gracefulRampDown and gracefulStop add up to more than loadrun runs (limit 365 days)"),
        "{e}"
    );
}

#[test]
fn groups_nest_up_to_the_documented_depth() {
    let nest = |depth: usize| {
        let open: String = (0..depth).map(|_| r#"[{"group": "g", "steps": "#).collect();
        let close: String = (0..depth).map(|_| "}]").collect();
        format!(r#"{{"steps": {open}[{{"url": "http://127.0.0.1:1/"}}]{close}}}"#)
    };
    let plan = parse_str(&nest(32), Format::Json, "deep.json").unwrap();
    compile(&plan, &EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let plan = parse_str(&nest(33), Format::Json, "deep.json").unwrap();
    let e = compile(&plan, &EngineOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.ends_with("groups nest more than 32 levels deep, the most loadrun accepts"),
        "{e}"
    );
}

#[test]
fn arrival_schedules_past_exact_counting_are_refused() {
    // 1e300/s used to spin the scheduler forever, deaf to Ctrl-C's graceful stop.
    let e = compile_err(
        "[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 1e300\nduration = \"2s\"\npreAllocatedVUs = 1",
    );
    assert_eq!(
        e,
        "scenario \"a\": its schedule starts 2e300 iterations, more than loadrun can count (limit 2^53 = 9007199254740992); lower the rate or the duration"
    );
    let e = compile_err(
        "[scenarios.r]\nexecutor = \"ramping-arrival-rate\"\npreAllocatedVUs = 1\nstages = [{ duration = \"100000s\", target = 1000000000000 }]",
    );
    assert!(e.contains("its schedule starts 5e16 iterations"), "{e}");
    // Absurd but countable: they run, and what cannot start is counted as dropped.
    compiles(
        "[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 1\ntimeUnit = \"1ns\"\nduration = \"2s\"\npreAllocatedVUs = 1",
    );
    compiles(
        "[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 1e12\nduration = \"2s\"\npreAllocatedVUs = 1",
    );
}
