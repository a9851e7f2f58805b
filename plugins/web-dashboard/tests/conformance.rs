//! loadrun's conformance kit against the bundled web dashboard (in-process, as the host bundles
//! it): the ABI contract (lifecycle, threads, stop deadline, bad options), with no server
//! (`port=-1`) and a record file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use out_web_dashboard::DashboardPlugin;

#[test]
fn the_web_dashboard_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let report = Conformance::in_process::<DashboardPlugin>("web-dashboard")
        .arg(&format!("port=-1,period=100ms,record={}", record.display()))
        .invalid_arg("port=65536", "port")
        .invalid_arg("period=soon", "period")
        .invalid_arg("open=maybe", "open")
        .invalid_arg("colour=blue", "colour")
        .invalid_arg(
            &format!(
                "port=-1,record={}/no/such/dir/e.ndjson",
                dir.path().display()
            ),
            "no/such/dir",
        )
        .deadlines(Duration::from_secs(5), Duration::from_secs(2))
        .run();
    println!("{report}");
    report.assert_passed();
}
