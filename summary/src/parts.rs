//! `--summary-mode full`'s parts: what each scenario's and each group's samples add up to, as
//! k6's summary output (`internal/output/summary`) files them.
//!
//! k6's rules, kept: a sample counts towards its scenario's part unless the scenario is
//! `default` (or it has none); a sample with a group counts towards that group only (not its
//! ancestors), and the group sits under the sample's scenario, or at the top for `default`.
//! The parts are added up at the end from the per-series accumulators, so full mode costs
//! nothing while the test runs.

use std::collections::HashSet;
use std::time::Duration;

use loadrun_metrics::Registry;
use loadrun_plugin_api::abi::KeyValue;

use crate::aggregator::{snapshot, SeriesFilter, State};
use crate::report::{checks_by_name, metric_summaries, PartSummary};
use crate::SummaryOptions;

const DEFAULT_SCENARIO: &str = "default";

fn tag<'a>(tags: &'a [KeyValue], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str())
}

fn scenario_of(tags: &[KeyValue]) -> &str {
    tag(tags, "scenario").unwrap_or(DEFAULT_SCENARIO)
}

fn group_of(tags: &[KeyValue]) -> &str {
    tag(tags, "group").unwrap_or("")
}

pub(crate) struct Parts<'a> {
    state: &'a State,
    registry: &'a Registry,
    opts: &'a SummaryOptions,
    duration: Duration,
    /// Each (scenario, group path) with samples, in order of the first.
    seen: Vec<(String, String)>,
}

impl<'a> Parts<'a> {
    pub(crate) fn new(
        state: &'a State,
        registry: &'a Registry,
        opts: &'a SummaryOptions,
        duration: Duration,
    ) -> Self {
        let seen = registry.with_defs(|_, series| {
            let mut unique: HashSet<(&str, &str)> = HashSet::new();
            let mut seen = Vec::new();
            for def in state.order.iter().filter_map(|&s| series.get(s as usize)) {
                let key = (scenario_of(&def.tags), group_of(&def.tags));
                if unique.insert(key) {
                    seen.push((key.0.to_string(), key.1.to_string()));
                }
            }
            seen
        });
        Parts {
            state,
            registry,
            opts,
            duration,
            seen,
        }
    }

    fn part(&self, name: &str, keep: SeriesFilter, groups: Vec<PartSummary>) -> PartSummary {
        let snap = snapshot(self.state, self.registry, &[], None, Some(keep));
        PartSummary {
            name: name.to_string(),
            metrics: metric_summaries(&snap, self.opts, self.duration, |_| false),
            checks: checks_by_name(&snap.checks),
            groups,
        }
    }

    /// Every scenario but `default`, sorted by name, each with its groups.
    pub(crate) fn scenarios(&self) -> Vec<PartSummary> {
        let mut names: Vec<&str> = self
            .seen
            .iter()
            .map(|(s, _)| s.as_str())
            .filter(|s| *s != DEFAULT_SCENARIO)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .map(|name| {
                let keep = |tags: &[KeyValue]| scenario_of(tags) == name;
                self.part(name, &keep, self.groups_under(name, ""))
            })
            .collect()
    }

    /// The `default` scenario's top-level groups.
    pub(crate) fn groups(&self) -> Vec<PartSummary> {
        self.groups_under(DEFAULT_SCENARIO, "")
    }

    /// The groups directly under `parent` (a path, `""` for the top) in `scenario`'s samples,
    /// in order of first appearance; a group seen only through a nested one is listed too.
    fn groups_under(&self, scenario: &str, parent: &str) -> Vec<PartSummary> {
        let prefix = format!("{parent}::");
        let mut children: Vec<String> = Vec::new();
        for (_, path) in self.seen.iter().filter(|(s, _)| s == scenario) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let child = match rest.find("::") {
                Some(end) => &rest[..end],
                None => rest,
            };
            let child_path = format!("{prefix}{child}");
            if !children.contains(&child_path) {
                children.push(child_path);
            }
        }
        children
            .into_iter()
            .map(|path| {
                let keep =
                    |tags: &[KeyValue]| scenario_of(tags) == scenario && group_of(tags) == path;
                let name = &path[prefix.len()..];
                self.part(name, &keep, self.groups_under(scenario, &path))
            })
            .collect()
    }
}
