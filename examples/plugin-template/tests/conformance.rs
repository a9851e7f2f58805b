//! Runs loadrun's conformance kit against the built plugin file.

use std::path::PathBuf;

use loadrun_plugin_api::testkit::Conformance;

fn built_plugin() -> PathBuf {
    // The test binary is target/<profile>/deps/conformance-*; the cdylib sits in target/<profile>.
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let in_deps = deps.join("libout_counts.so");
    if in_deps.exists() {
        return in_deps;
    }
    let so = deps.parent().unwrap().join("libout_counts.so");
    assert!(
        so.exists(),
        "{} is missing: run `cargo build` before `cargo test`",
        so.display()
    );
    so
}

#[test]
fn the_plugin_conforms() {
    let dir = std::env::temp_dir().join(format!("out-counts-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("counts.tsv");
    let read = file.clone();
    let report = Conformance::new(built_plugin(), "counts")
        .arg(&format!("file={}", file.display()))
        .invalid_arg("colour=blue", "colour")
        .invalid_arg("file=/nonexistent/dir/x.tsv", "/nonexistent/dir/x.tsv")
        .stored_samples(move || {
            let text = std::fs::read_to_string(&read).map_err(|e| e.to_string())?;
            Ok(text
                .lines()
                .filter_map(|l| l.strip_prefix("loadrun_conformance\t"))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum())
        })
        .run();
    println!("{report}");
    report.assert_passed();
}
