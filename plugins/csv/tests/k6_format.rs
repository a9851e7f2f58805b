//! Our csv output against the csv real k6 v1.1 wrote. k6 wrote its json and csv files from the
//! same run, so replaying k6's json through our csv output must give k6's csv (with
//! `extra_tags` sorted, where k6's order is random).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{csv_init, run_csv};
use file_sink::fixtures::{fixture, replay_k6_json};
use out_csv::decode::{decode_pairs, read_records};

fn ours(json_fixture: &str, system_tags: Option<&[&str]>, extra_arg: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let b = replay_k6_json(&fixture(json_fixture));
    run_csv(
        csv_init(
            &format!("fileName={}{extra_arg}", path.display()),
            system_tags,
        ),
        &b,
    );
    std::fs::read_to_string(&path).unwrap()
}

/// Compares two csv files field by field; `extra_tags` as sets of pairs.
fn assert_same_as_k6(k6: &str, ours: &str, label: &str) {
    let (k, o) = (read_records(k6).unwrap(), read_records(ours).unwrap());
    assert_eq!(k[0], o[0], "{label}: header");
    assert_eq!(k.len(), o.len(), "{label}: row count");
    let extra = k[0].iter().position(|c| c == "extra_tags").unwrap();
    for (i, (kr, or)) in k.iter().zip(&o).enumerate().skip(1) {
        assert_eq!(kr.len(), or.len(), "{label} row {i}");
        for (c, (kf, of)) in kr.iter().zip(or).enumerate() {
            if c == extra {
                let mut kp = decode_pairs(kf).unwrap();
                kp.sort();
                let op = decode_pairs(of).unwrap();
                assert_eq!(kp, op, "{label} row {i}: extra_tags (ours must be sorted)");
            } else {
                assert_eq!(kf, of, "{label} row {i} column {}", k[0][c]);
            }
        }
    }
}

#[test]
fn default_system_tags_match_k6() {
    let k6 = fixture("k6-output.csv");
    // The host passing k6's default set, and saying nothing, must be the same.
    let default = loadrun_plugin_api::DEFAULT_SYSTEM_TAGS;
    assert_same_as_k6(
        &k6,
        &ours("k6-output.json", Some(default), ""),
        "explicit default",
    );
    assert_same_as_k6(&k6, &ours("k6-output.json", None, ""), "no systemTags");
}

#[test]
fn reduced_system_tags_and_metadata_match_k6() {
    let k6 = fixture("k6-output-metadata.csv");
    let ours = ours(
        "k6-output-metadata.json",
        Some(&["status", "method", "url"]),
        "",
    );
    // One extra tag per row, so even k6's order is determined: byte for byte.
    assert_eq!(k6, ours);
}

#[test]
fn same_structure_under_one_reader() {
    for (json, csv, tags) in [
        ("k6-output.json", "k6-output.csv", None),
        (
            "k6-output-metadata.json",
            "k6-output-metadata.csv",
            Some(&["status", "method", "url"][..]),
        ),
    ] {
        for (label, text) in [("k6", fixture(csv)), ("ours", ours(json, tags, ""))] {
            let records = read_records(&text).unwrap();
            let header = &records[0];
            assert_eq!(&header[..3], ["metric_name", "timestamp", "metric_value"]);
            assert_eq!(&header[header.len() - 2..], ["extra_tags", "metadata"]);
            let tag_columns = &header[3..header.len() - 2];
            assert!(
                tag_columns.windows(2).all(|w| w[0] < w[1]),
                "{label}: columns sorted"
            );
            for r in &records[1..] {
                assert_eq!(r.len(), header.len(), "{label} {csv}: {r:?}");
                assert!(is_metric_name(&r[0]), "{label}: {}", r[0]);
                assert!(
                    r[1].len() == 10 && r[1].bytes().all(|b| b.is_ascii_digit()),
                    "{label}: {}",
                    r[1]
                );
                assert!(is_percent_f(&r[2]), "{label}: {}", r[2]);
                decode_pairs(&r[header.len() - 2]).unwrap();
                decode_pairs(&r[header.len() - 1]).unwrap();
            }
        }
    }
}

#[test]
fn time_formats() {
    let formats = [
        ("unix", "1795608192"),
        ("unix_milli", "1795608192767"),
        ("unix_micro", "1795608192767829"),
        ("unix_nano", "1795608192767829582"),
        ("rfc3339", "2026-11-25T12:03:12Z"),
        ("rfc3339_nano", "2026-11-25T12:03:12.767829582Z"),
    ];
    for (format, first) in formats {
        let text = ours("k6-output.json", None, &format!(",timeFormat={format}"));
        let records = read_records(&text).unwrap();
        assert_eq!(records[1][1], first, "{format}");
        for r in &records[1..] {
            let t = &r[1];
            let ok = match format {
                "rfc3339" => t.len() == 20 && t.ends_with('Z'),
                "rfc3339_nano" => t.ends_with('Z') && !t.trim_end_matches('Z').ends_with('0'),
                _ => t.len() == first.len() && t.bytes().all(|b| b.is_ascii_digit()),
            };
            assert!(ok, "{format}: {t}");
        }
    }
}

fn is_metric_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Go's `%f`: `-?\d+\.\d{6}`
fn is_percent_f(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    match s.split_once('.') {
        Some((i, f)) => {
            !i.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
                && f.len() == 6
                && f.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}
