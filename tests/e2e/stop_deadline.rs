//! The stop deadline reaches the plugins (API 1.2, `Host::stop_time_left`): an output blocked
//! in a request when the host begins stopping it gets out by the deadline, reports what it
//! could not deliver, and is not abandoned, whatever its own request timeout.

use std::time::Duration;

use loadrun_test_support::{plugin_path, Service};

use crate::reliability::harness::{self, Counts, Step};
use crate::reliability::proxy::{Mode, Proxy};
use crate::support::http;

const DURATION: Duration = Duration::from_secs(3);
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// Startup and the summary on a loaded 2-core machine: a bound that catches a hang (an output
/// waiting out its 10 s request timeout), not slowness.
const SLACK: Duration = Duration::from_secs(3);

#[test]
fn influxdb_blocked_on_a_blackhole_is_cut_at_the_stop_deadline_not_abandoned() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    let db = "stop_deadline";
    let (status, body) = http(
        "POST",
        &format!("{base}/query?q=CREATE%20DATABASE%20{db}"),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{body}");
    let upstream = base.trim_start_matches("http://").to_string();
    let proxy = Proxy::start(&upstream);
    // Accepted and read, never answered: the first push (after 1 s of samples the output has
    // answered `Ok` to) blocks in a request with the default 10 s timeout, until the stop.
    proxy.set(Mode::Blackhole);
    let args = vec![
        "-o".to_string(),
        format!(
            "influxdb=http://{}/{db}?createDatabase=false&pushInterval=1s",
            proxy.addr()
        ),
        "--output-stop-timeout".into(),
        format!("{}s", STOP_TIMEOUT.as_secs()),
    ];
    let steps: Vec<Step<'_>> = Vec::new();
    let run = harness::run(
        &format!("{}s", DURATION.as_secs()),
        &[plugin_path("influxdb")],
        &args,
        &[],
        steps,
    );
    drop(proxy);
    let report = run.report("influxdb");
    println!(
        "exit {:?} in {:.1}s\nreport: {report}\nstderr:\n{}",
        run.code,
        run.wall.as_secs_f64(),
        run.stderr
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.wall < DURATION + STOP_TIMEOUT + SLACK,
        "the run took {:?}",
        run.wall
    );
    assert!(!report.is_null(), "no influxdb report: {}", run.summary);
    assert_ne!(
        report["state"], "stop_timeout",
        "the output was abandoned at the deadline: {report}"
    );
    assert!(
        !run.stderr.contains("did not stop within"),
        "abandoned: {}",
        run.stderr
    );
    let c = Counts::of(&report);
    assert!(c.received > 0, "{report}");
    assert!(
        c.add_up(),
        "received {} != written {} + dropped {}: {report}",
        c.received,
        c.written,
        c.dropped
    );
    // Nothing got through the blackhole: what the output had answered `Ok` to was reported
    // lost from `flush`/`stop` (it reached them), the rest dropped by the host at shutdown.
    assert_eq!(c.written, 0, "{report}");
    assert!(
        report["dropped"]["lost"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(
        report["dropped"]["shutdown"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    // And the server agrees with `written`.
    let q = format!("{base}/query?db={db}&q=SELECT%20count(%22value%22)%20FROM%20%2F.*%2F");
    let (status, body) = http("GET", &q, &[], b"");
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("\"values\""),
        "the server holds points: {body}"
    );
}
