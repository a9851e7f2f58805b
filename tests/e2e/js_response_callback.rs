//! `responseCallback: null` and `http.setResponseCallback(null)`: the requests record no
//! `expected_response` tag and no `http_req_failed` sample, as k6 1.1 records them (the corpus
//! test compares `no_callback.js` with k6's own output too).

use std::process::Command;

use loadrun_engine::server::TestServer;
use loadrun_test_support::{loadrun_bin, workspace_root};
use serde_json::Value;

/// (metric, name tag, expected_response tag) of every point of the run's JSON output.
fn points(json_lines: &str) -> Vec<(String, String, Option<String>)> {
    json_lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "Point")
        .map(|v| {
            let tags = &v["data"]["tags"];
            (
                v["metric"].as_str().unwrap_or_default().to_string(),
                tags["name"].as_str().unwrap_or_default().to_string(),
                tags["expected_response"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_null_response_callback_records_no_expected_response_and_no_http_req_failed() {
    let server = TestServer::start(([127, 0, 0, 1], 0).into(), 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = workspace_root().join("tests/k6-scripts/no_callback.js");
    let out = Command::new(loadrun_bin())
        .arg("run")
        .arg("-q")
        .arg(&script)
        .args(["-o", "json=out.json", "--summary-export", "export.json"])
        .current_dir(dir.path())
        .env("TEST_SERVER", server.url())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let points = points(&std::fs::read_to_string(dir.path().join("out.json")).unwrap());
    let count = |metric: &str, name: &str| {
        points
            .iter()
            .filter(|(m, n, _)| m == metric && n == name)
            .count()
    };
    for name in ["param-null", "vu-null"] {
        assert_eq!(count("http_reqs", name), 2, "{name}: {points:?}");
        assert_eq!(count("http_req_failed", name), 0, "{name}: {points:?}");
        assert!(
            points
                .iter()
                .filter(|(_, n, _)| n == name)
                .all(|(_, _, e)| e.is_none()),
            "{name}: {points:?}"
        );
    }
    for (name, expected) in [("judged-404", "false"), ("param-back", "true")] {
        assert_eq!(count("http_req_failed", name), 2, "{name}: {points:?}");
        assert!(
            points
                .iter()
                .filter(|(m, n, _)| m == "http_reqs" && n == name)
                .all(|(_, _, e)| e.as_deref() == Some(expected)),
            "{name}: {points:?}"
        );
    }
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("export.json")).unwrap())
            .unwrap();
    // Four judged requests, two of them failed; the four without a callback are not counted.
    let failed = &export["metrics"]["http_req_failed"];
    assert_eq!(
        (failed["passes"].as_u64(), failed["fails"].as_u64()),
        (Some(2), Some(2)),
        "{export}"
    );
    assert_eq!(
        export["root_group"]["checks"]["statuses as asked"]["passes"],
        2
    );
}
