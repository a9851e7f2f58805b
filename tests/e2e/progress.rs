//! The live progress as a user sees it: plain lines on a pipe; on a terminal (a real pty, from
//! util-linux's `script`), a bar per scenario that ends full, logs that do not garble the bars,
//! and no colour under `NO_COLOR`. The terminal's bytes are replayed into a terminal emulator
//! (`vt100`) to read the screen the user is left with.

use std::path::Path;
use std::process::Command;

use loadrun_test_support::loadrun_bin;
use loadrun_test_support::services::services_required;

/// Two scenarios: one by time, one by iterations that starts later and logs a warning (its
/// request cannot be sent) while the bars are drawn.
const TWO_SCENARIOS: &str = r#"
testServer = true

[scenarios.steady]
executor = "constant-vus"
vus = 2
duration = "DURATION"
gracefulStop = "1s"

[scenarios.batch]
executor = "shared-iterations"
vus = 1
iterations = 3
startTime = "500ms"
exec = "refused"

[[steps]]
url = "${TEST_SERVER}/get"
[[steps]]
sleep = "50ms"

[[flows.refused]]
url = "ftp://nowhere/${__VU}"
"#;

fn write_plan(dir: &Path, duration: &str) -> std::path::PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(&path, TWO_SCENARIOS.replace("DURATION", duration)).unwrap();
    path
}

/// An SGR sequence (`ESC [ ... m`): colour or another text attribute.
fn has_sgr(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b["
            && bytes[i + 2..]
                .iter()
                .find(|b| !(b.is_ascii_digit() || **b == b';'))
                == Some(&b'm')
    })
}

#[test]
fn a_pipe_gets_plain_periodic_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Past 10 s, so one periodic block is written before the last.
    let plan = write_plan(dir.path(), "11s");
    let out = Command::new(loadrun_bin())
        .arg("run")
        .arg(&plan)
        .arg("--no-summary")
        .env_remove("NO_COLOR")
        .env_remove("LOADRUN_LOG")
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("\x1b["), "{stderr:?}");
    assert!(!stderr.contains('\r'), "{stderr:?}");
    assert!(stderr.contains("WARN request not sent"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let running = lines
        .iter()
        .position(|l| l.starts_with("running ("))
        .unwrap_or_else(|| panic!("no periodic line:\n{stderr}"));
    // The periodic block: the totals, then each scenario under it (in name order).
    assert!(lines[running].contains("/3 VUs"), "{stderr}");
    assert!(
        lines[running + 1].starts_with("batch  ✓ [ 100% ]"),
        "{stderr}"
    );
    assert!(lines[running + 2].starts_with("steady   [  "), "{stderr}");
    assert!(lines[running + 2].contains("2/2 VUs  1"), "{stderr}");
    // The last block: every scenario done and full.
    let done = lines
        .iter()
        .rposition(|l| l.starts_with("done ("))
        .unwrap_or_else(|| panic!("no done line:\n{stderr}"));
    assert!(
        lines[done + 1].starts_with("batch  ✓ [ 100% ] 0/1 VUs  ")
            && lines[done + 1].ends_with("/10m  3/3 shared iters"),
        "{stderr}"
    );
    assert_eq!(
        lines[done + 2],
        "steady ✓ [ 100% ] 0/2 VUs  11s",
        "{stderr}"
    );
}

/// Runs `loadrun ARGS` on a 120x60 pty; `None` when `script` is missing (and allowed to be).
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<(i32, Vec<u8>)> {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            !services_required(),
            "util-linux's `script` is needed for the terminal tests"
        );
        eprintln!("\n=== SKIP: no `script` (util-linux) to run loadrun on a terminal ===\n");
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!(
        "stty cols 120 rows 60; exec {}",
        quote(&loadrun_bin().display().to_string())
    );
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("LOADRUN_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Some((out.status.code().unwrap_or(-1), out.stdout))
}

/// The screen left after the run, one string per line.
fn screen(bytes: &[u8]) -> Vec<String> {
    let size = |n| std::num::NonZeroU16::new(n).unwrap();
    let mut term = vt100::Parser::new(size(60), size(120), 0);
    term.process(bytes);
    term.screen()
        .rows(0, 120)
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn a_terminal_gets_a_bar_per_scenario_that_ends_full() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "2s");
    let plan = plan.display().to_string();
    let Some((code, bytes)) = on_a_terminal(&["run", &plan, "--no-summary"], &[]) else {
        return;
    };
    let raw = String::from_utf8_lossy(&bytes);
    assert_eq!(code, 0, "{raw}");
    let lines = screen(&bytes);
    let shown = lines.join("\n");
    let full = format!("[{}]", "=".repeat(38));
    // Each scenario's bar once (redraws left no copies), full and ticked.
    let steady: Vec<&String> = lines.iter().filter(|l| l.starts_with("steady ")).collect();
    let batch: Vec<&String> = lines.iter().filter(|l| l.starts_with("batch ")).collect();
    assert_eq!(steady.len(), 1, "{shown}");
    assert_eq!(batch.len(), 1, "{shown}");
    assert_eq!(
        steady[0],
        &format!("steady ✓ {full} 0/2 VUs  2s"),
        "{shown}"
    );
    assert!(
        batch[0].starts_with(&format!("batch  ✓ {full} 0/1 VUs  "))
            && batch[0].ends_with("/10m  3/3 shared iters"),
        "{shown}"
    );
    // Above the bars, the totals; the warning logged while they were drawn is whole, on its
    // own line above them.
    let done = lines.iter().position(|l| l.starts_with("done (")).unwrap();
    let batch_at = lines.iter().position(|l| l.starts_with("batch ")).unwrap();
    assert_eq!(batch_at, done + 1, "{shown}");
    let warns: Vec<(usize, &String)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("WARN"))
        .collect();
    assert_eq!(warns.len(), 1, "{shown}");
    assert!(
        warns[0].1.starts_with(" WARN request not sent") && warns[0].0 < done,
        "{shown}"
    );
    // The bars were drawn as the run went, not only at the end.
    assert!(raw.matches("steady").count() > 3, "{raw:?}");
    // On a terminal the warning is in colour: what the NO_COLOR test checks is there.
    assert!(has_sgr(&bytes), "{raw:?}");
}

#[test]
fn no_color_on_a_terminal_has_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "1s");
    let plan = plan.display().to_string();
    // The environment variable, and k6's flag.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 3] = [
        (&["run", &plan, "--no-summary"], &[("NO_COLOR", "1")]),
        (&["run", &plan, "--no-summary", "--no-color"], &[]),
        (&[&plan, "--no-color", "--no-summary"], &[]),
    ];
    for (args, env) in cases {
        let Some((code, bytes)) = on_a_terminal(args, env) else {
            return;
        };
        let raw = String::from_utf8_lossy(&bytes);
        assert_eq!(code, 0, "{args:?}: {raw}");
        assert!(raw.contains("WARN request not sent"), "{args:?}: {raw:?}");
        assert!(!has_sgr(&bytes), "{args:?}: {raw:?}");
        // Still bars (colour is not the terminal).
        assert!(
            screen(&bytes).iter().any(|l| l.starts_with("steady ✓ [")),
            "{args:?}: {raw:?}"
        );
    }
}

#[test]
fn quiet_shows_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "1s");
    let plan = plan.display().to_string();
    let Some((code, bytes)) = on_a_terminal(&["run", &plan, "--no-summary", "--quiet"], &[]) else {
        return;
    };
    let raw = String::from_utf8_lossy(&bytes);
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains("request not sent"), "{raw:?}");
    assert!(
        !raw.contains("steady") && !raw.contains("done ("),
        "{raw:?}"
    );
}

#[test]
fn a_scenario_name_cannot_send_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[scenarios.\"x\\u001b[31mred\"]\nexecutor = \"shared-iterations\"\niterations = 1\n[[steps]]\nsleep = \"1ms\"\n",
    )
    .unwrap();
    let out = Command::new(loadrun_bin())
        .arg("run")
        .arg(&plan)
        .arg("--no-summary")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    // In the banner and in the progress, escaped.
    assert!(stdout.contains("* x\\u{1b}[31mred: "), "{stdout}");
    assert!(stderr.contains("x\\u{1b}[31mred ✓ [ 100% ]"), "{stderr}");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "{stdout:?}\n{stderr:?}"
    );
}
