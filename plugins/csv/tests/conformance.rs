//! loadrun's conformance kit against the bundled csv output (in-process, as the host bundles
//! it), with the real file as the backend: one row per sample, none lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use out_csv::CsvPlugin;

#[test]
fn the_csv_output_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conformance.csv");
    let read = file.clone();
    let report = Conformance::in_process::<CsvPlugin>("csv")
        .arg(&format!("fileName={},saveInterval=100ms", file.display()))
        .invalid_arg("timeFormat=never", "timeFormat")
        .invalid_arg("saveInterval=soon", "saveInterval")
        .invalid_arg("colour=blue", "colour")
        .invalid_arg(
            &format!("{}/no/such/dir/x.csv", dir.path().display()),
            "no/such/dir",
        )
        .stored_samples(move || {
            // The constructor truncates the file, so every output starts from 0 rows.
            let text = std::fs::read_to_string(&read).map_err(|e| e.to_string())?;
            Ok(text
                .lines()
                .filter(|l| l.starts_with("loadrun_conformance,"))
                .count() as u64)
        })
        .deadlines(Duration::from_secs(5), Duration::from_secs(2))
        .run();
    println!("{report}");
    report.assert_passed();
}
