//! `-o csv` (bundled) through the `loadrun` binary: one row per sample, so the rows must add up
//! to the run's summary export.

use std::path::Path;

use crate::support::{in_dir, quick_run};

/// (header, rows) of a csv file, every row as wide as the header.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(text.ends_with('\n'), "the csv ends mid-line");
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("a row under {header:?}: {e}"));
            r.iter().map(str::to_string).collect()
        })
        .collect();
    (header, rows)
}

fn count(rows: &[Vec<String>], metric: &str) -> f64 {
    rows.iter().filter(|r| r[0] == metric).count() as f64
}

fn gunzip(path: &Path) -> String {
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("run gzip");
    assert!(
        out.status.success(),
        "gzip -d {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn csv_rows_match_the_summary() {
    // Options on `-o` as in the README, the save interval from k6's environment variable.
    let run = quick_run(
        "/",
        2,
        "2s",
        &[],
        &[
            "--rate",
            "200",
            "-o",
            "csv=fileName=out.csv,timeFormat=unix_nano",
        ],
        &[("K6_CSV_SAVE_INTERVAL", "200ms")],
    );
    run.assert_clean();
    let (header, rows) = read_csv(&std::fs::read_to_string(in_dir(&run, "out.csv")).unwrap());
    assert_eq!(&header[..3], ["metric_name", "timestamp", "metric_value"]);
    assert_eq!(&header[header.len() - 2..], ["extra_tags", "metadata"]);
    assert!(run.metric("http_reqs", "count") > 0.0);
    assert_eq!(count(&rows, "http_reqs"), run.metric("http_reqs", "count"));
    assert_eq!(
        count(&rows, "http_req_duration"),
        run.metric("http_reqs", "count")
    );
    assert_eq!(
        count(&rows, "iterations"),
        run.metric("iterations", "count")
    );
    let sent: f64 = rows
        .iter()
        .filter(|r| r[0] == "data_sent")
        .map(|r| r[2].parse::<f64>().unwrap())
        .sum();
    assert_eq!(sent, run.metric("data_sent", "count"));
    assert_eq!(
        run.output_report("csv")["written"],
        run.output_report("csv")["received"]
    );

    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let req = rows.iter().find(|r| r[0] == "http_reqs").unwrap();
    assert!(
        req[1].len() >= 19 && req[1].bytes().all(|b| b.is_ascii_digit()),
        "unix_nano: {req:?}"
    );
    for (tag, want) in [
        ("method", "GET"),
        ("status", "200"),
        ("scenario", "default"),
        ("proto", "HTTP/1.1"),
    ] {
        assert_eq!(req[col(tag)], want, "{tag} in {req:?}");
    }
}

#[test]
fn a_gz_csv_is_readable_by_gzip() {
    let run = quick_run(
        "/",
        2,
        "1s",
        &[],
        &["--rate", "100", "-o", "csv=out.csv.gz"],
        &[],
    );
    run.assert_clean();
    let (_, rows) = read_csv(&gunzip(&in_dir(&run, "out.csv.gz")));
    assert_eq!(count(&rows, "http_reqs"), run.metric("http_reqs", "count"));
}

/// k6 writes one column per enabled system tag (the host passes them in the test's `extra`
/// JSON as `systemTags`); `vu` and `iter` are metadata, not columns.
#[test]
fn csv_columns_follow_system_tags() {
    let run = quick_run(
        "/",
        1,
        "1s",
        &[],
        &[
            "--rate",
            "20",
            "--system-tags",
            "status,method,vu",
            "-o",
            "csv=out.csv",
        ],
        &[],
    );
    run.assert_clean();
    let (header, rows) = read_csv(&std::fs::read_to_string(in_dir(&run, "out.csv")).unwrap());
    assert_eq!(
        header,
        [
            "metric_name",
            "timestamp",
            "metric_value",
            "method",
            "status",
            "extra_tags",
            "metadata"
        ]
    );
    let req = rows.iter().find(|r| r[0] == "http_reqs").unwrap();
    assert_eq!(&req[3..5], ["GET", "200"]);
    assert!(req[6].starts_with("vu="), "vu is metadata: {req:?}");
}

/// `loadrun run plan.toml ARGS` in a folder holding `plan`; (exit code, stderr).
fn run_plan(plan: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    let mut cmd = std::process::Command::new(loadrun_test_support::loadrun_bin());
    cmd.current_dir(dir.path())
        .args(["run", "plan.toml", "--quiet"])
        .args(args)
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        !dir.path().join("file.csv").exists(),
        "nothing may be written"
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A bad option value from each of the three sources is refused before the run with one line
/// naming the option, the value and where it came from.
#[test]
fn a_bad_option_names_its_source_in_one_line() {
    let steps = "iterations = 1\n[[steps]]\nurl = \"http://127.0.0.1:1/\"\n";
    let with_table =
        format!("{steps}\n[outputs.csv]\nfileName = \"t.csv\"\nsaveInterval = \"0s\"\n");
    let expected = "expected a duration such as 1s, 500ms or 1m30s above zero";
    for (plan, args, env, source) in [
        (
            with_table.as_str(),
            &["-o", "csv"][..],
            &[][..],
            "plan.toml [outputs.csv] line 7",
        ),
        (
            steps,
            &["-o", "csv"],
            &[("K6_CSV_SAVE_INTERVAL", "0s")],
            "env K6_CSV_SAVE_INTERVAL",
        ),
        (steps, &["-o", "csv=saveInterval=0s"], &[], "-o csv=..."),
    ] {
        let (code, err) = run_plan(plan, args, env);
        assert_ne!(code, Some(0), "{err}");
        assert_eq!(
            err.trim(),
            format!(
                "loadrun: error: csv: option saveInterval=\"0s\" from {source} is not valid: {expected}"
            ),
        );
    }
    // An unknown key, with a suggestion, and a value not in the enum.
    let (_, err) = run_plan(steps, &["-o", "csv=timeformat=unix"], &[]);
    assert_eq!(
        err.trim(),
        "loadrun: error: unknown key \"timeformat\" as argument for csv output; did you mean timeFormat?"
    );
    let (_, err) = run_plan(steps, &["-o", "csv"], &[("K6_CSV_TIME_FORMAT", "iso")]);
    assert!(
        err.trim().ends_with(
            "option timeFormat=\"iso\" from env K6_CSV_TIME_FORMAT is not valid: expected one of unix, unix_milli, unix_micro, unix_nano, rfc3339, rfc3339_nano"
        ),
        "{err}"
    );
}

/// The host's own options are checked by the same declaration machinery: a bad `whenFull`
/// names its source (the host options take no environment variable).
#[test]
fn a_bad_host_option_names_its_source_in_one_line() {
    let steps = "iterations = 1\n[[steps]]\nurl = \"http://127.0.0.1:1/\"\n";
    let with_table =
        format!("{steps}\n[outputs.csv]\nfileName = \"t.csv\"\nwhenFull = \"never\"\n");
    for (plan, args, source) in [
        (
            with_table.as_str(),
            &["-o", "csv"][..],
            "plan.toml [outputs.csv] line 7",
        ),
        (steps, &["-o", "csv=whenFull=never"][..], "-o csv=..."),
        (
            steps,
            &["-o", "csv=out.csv,whenFull=never"][..],
            "-o csv=...",
        ),
    ] {
        let (code, err) = run_plan(plan, args, &[]);
        assert_ne!(code, Some(0), "{err}");
        assert_eq!(
            err.trim(),
            format!(
                "loadrun: error: csv: option whenFull=\"never\" from {source} is not valid: expected one of drop_oldest, dropOldest, block"
            ),
        );
    }
}

/// `loadrun plugins info csv` lists the host options, generated from their declaration.
#[test]
fn plugins_info_lists_the_host_options() {
    let o = std::process::Command::new(loadrun_test_support::loadrun_bin())
        .args(["plugins", "info", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let block = text
        .split_once("\nhost options")
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("no host options block in {text}"));
    for (name, parts) in [
        ("queueSize", &["integer", "1000000"][..]),
        (
            "whenFull",
            &["drop_oldest|dropOldest|block", "drop_oldest"][..],
        ),
        ("retryInitial", &["duration", "100ms"][..]),
        ("retryMaxDelay", &["duration", "5s"][..]),
        ("retryMaxElapsed", &["duration", "30s"][..]),
        ("required", &["bool", "false"][..]),
        ("abortOnError", &["bool", "false"][..]),
    ] {
        let line = block
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {block}"));
        for part in parts {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
}

/// `loadrun plugins info csv` is generated from the output's declaration.
#[test]
fn plugins_info_shows_the_declaration() {
    let o = std::process::Command::new(loadrun_test_support::loadrun_bin())
        .args(["plugins", "info", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("-o csv=VALUE sets fileName"), "{text}");
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    let save = line("saveInterval");
    for part in [
        "duration",
        "1s",
        "K6_CSV_SAVE_INTERVAL",
        "also save_interval",
        "not zero",
    ] {
        assert!(save.contains(part), "{part} in {save}");
    }
    let time = line("timeFormat");
    assert!(
        time.contains("unix|unix_milli|unix_micro|unix_nano|rfc3339|rfc3339_nano"),
        "{time}"
    );
    assert!(line("fileName").contains("file.csv"), "{text}");
}
