//! loadrun's conformance kit against the bundled json output (in-process, as the host bundles
//! it), with the real file as the backend: one Point per sample, none lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use out_json::JsonPlugin;

#[test]
fn the_json_output_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conformance.json");
    let read = file.clone();
    let report = Conformance::in_process::<JsonPlugin>("json")
        .arg(&format!("file={},flushInterval=100ms", file.display()))
        .invalid_arg("flushInterval=soon", "flushInterval")
        .invalid_arg("jsonArray=maybe", "jsonArray")
        .invalid_arg("colour=blue", "colour")
        .invalid_arg(
            &format!("{}/no/such/dir/x.json", dir.path().display()),
            "no/such/dir",
        )
        .stored_samples(move || {
            // The constructor truncates the file, so every output starts from 0 records. A
            // record still being written (no newline yet) is not counted.
            let text = std::fs::read_to_string(&read).map_err(|e| e.to_string())?;
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            let mut points = 0;
            for line in complete.lines() {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
                if v["type"] == "Point" && v["metric"] == "loadrun_conformance" {
                    points += 1;
                }
            }
            Ok(points)
        })
        .deadlines(Duration::from_secs(5), Duration::from_secs(2))
        .run();
    println!("{report}");
    report.assert_passed();
}
