//! Driving the csv output in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use file_sink::fixtures::outcome;
use loadrun_plugin_api::testkit::{init, started, BatchBuilder, Recorded};
use loadrun_plugin_api::{OutputInit, WriteStatus};
use out_csv::CsvPlugin;

/// An init for `-o csv=ARG` with the given system tags (None: the host said nothing).
pub fn csv_init(arg: &str, system_tags: Option<&[&str]>) -> OutputInit {
    let mut i = init("csv", Some(arg), "", &[]);
    if let Some(tags) = system_tags {
        i.test.extra = serde_json::json!({ "systemTags": tags }).to_string().into();
    }
    i
}

/// Runs the batches (definitions with the first) through a csv output and stops it.
pub fn run_csv(init: OutputInit, b: &BatchBuilder) -> Arc<Recorded> {
    let (mut out, rec) = started::<CsvPlugin>(init);
    let (first, rest) = b.samples.split_at(b.samples.len() / 2);
    let mut one = b.clone();
    one.samples = first.to_vec();
    assert_eq!(out.write(one.batch()), WriteStatus::Ok);
    let mut two = b.clone();
    two.samples = rest.to_vec();
    assert_eq!(out.write(two.samples_only()), WriteStatus::Ok);
    out.stop(&outcome(), Duration::from_secs(5)).unwrap();
    rec
}
