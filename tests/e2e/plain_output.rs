//! What reaches a pipe or a log file is plain text: no colour codes in the logs, and no raw
//! control characters from plan names in the summary.

use std::process::Command;

use loadrun_test_support::loadrun_bin;

fn run_plan(plan: &str, env: &[(&str, &str)]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, plan).unwrap();
    let mut cmd = Command::new(loadrun_bin());
    cmd.current_dir(dir.path())
        .arg("run")
        .arg(&path)
        .env_remove("NO_COLOR")
        .env_remove("LOADRUN_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run loadrun");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    // A URL that cannot be requested is not sent, with a WARN log line.
    let plan = "iterations = 1\n[[steps]]\nurl = \"ftp://x/${__VU}\"\n";
    let (_, stderr) = run_plan(plan, &[]);
    assert!(stderr.contains("WARN request not sent"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    let (_, stderr) = run_plan(plan, &[("LOADRUN_LOG", "debug")]);
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

#[test]
fn summary_escapes_control_characters_in_names() {
    let plan = r#"
testServer = true
iterations = 1
[[steps]]
url = "${TEST_SERVER}/get"
checks = [
  { status = 200, name = "ok\nFAKE ✓ forged line\u001b[31m red\u0000" },
  { status = 201, name = "bad\r\n    ✓ also forged" },
]
"#;
    let (stdout, stderr) = run_plan(plan, &[]);
    assert!(
        stdout.contains("✓ ok\\nFAKE ✓ forged line\\u{1b}[31m red\\0"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("✗ bad\\r\\n    ✓ also forged"), "{stdout}");
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\0') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(
        stdout
            .lines()
            .all(|l| !l.starts_with("FAKE") && l.trim() != "✓ also forged"),
        "{stdout}"
    );
}

/// `loadrun run … | head -1`: the reader is gone before the banner is written. `println!`
/// panicked there (exit 101) and the summary export was never written.
#[test]
fn a_reader_that_goes_away_ends_nothing_early() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "iterations = 3\n[[steps]]\nurl = \"ftp://x/${__VU}\"\n",
    )
    .unwrap();
    let export = dir.path().join("summary.json");
    for closed in ["stdout", "stderr", "both"] {
        let _ = std::fs::remove_file(&export);
        let mut cmd = Command::new(loadrun_bin());
        cmd.current_dir(dir.path())
            .arg("run")
            .arg(&plan)
            .arg("--summary-export")
            .arg(&export)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .env_remove("LOADRUN_LOG");
        let mut child = cmd.spawn().expect("run loadrun");
        // Closing the read ends before loadrun writes: its writes get EPIPE.
        if closed != "stderr" {
            drop(child.stdout.take());
        }
        if closed != "stdout" {
            drop(child.stderr.take());
        }
        let status = child.wait_with_output().expect("wait for loadrun").status;
        // 0: the requests were refused before sending, which fails no threshold.
        assert_eq!(status.code(), Some(0), "{closed} closed: {status:?}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
        assert_eq!(
            json["metrics"]["iterations"]["count"], 3,
            "{closed} closed: {json}"
        );
    }
}
