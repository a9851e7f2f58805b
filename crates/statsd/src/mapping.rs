//! k6's metric model onto StatsD metrics: names, checks and tags.
//!
//! | k6 type | StatsD | value |
//! |---|---|---|
//! | counter | `c` | the interval's sum, fractions kept (k6 truncated to an integer) |
//! | gauge | `g` | the interval's last value |
//! | rate with a `check` tag | `c` | `check.<name>.pass` / `.fail` counts (k6), or `checks` with `check`/`result` tags |
//! | other rate | `c` | the count of non-zero samples (k6's `int64(value)`, summed) |
//! | trend | `ms` (or `h`/`d`) | every value, or a sample with `|@rate` |

use std::collections::BTreeMap;

use loadrun_plugin_api::Catalog;

use crate::aggregate::{Agg, Cell, Trend, Variant};
use crate::config::{ChecksAs, MappingConfig};
use crate::escape::{escape_tag_key, escape_tag_value, safe_metric_name, safe_segment};

/// One StatsD metric of one interval, ready to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Namespace included, made safe.
    pub name: String,
    pub value: EntryValue,
    /// Escaped, sorted, deduplicated by key; empty when tags are off.
    pub tags: Vec<(String, String)>,
    /// How many samples were folded into it.
    pub samples: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntryValue {
    Count(f64),
    Gauge(f64),
    Trend(Trend),
}

/// The entries for one interval's cells, in series order.
pub fn entries(
    cfg: &MappingConfig,
    catalog: &Catalog,
    cells: BTreeMap<(u32, Variant), Cell>,
) -> Vec<Entry> {
    let mut out = Vec::with_capacity(cells.len());
    for ((series_id, variant), Cell { agg, samples }) in cells {
        let Some(series) = catalog.series(series_id) else {
            continue;
        };
        let Some(metric) = catalog.metric(series.metric) else {
            continue;
        };
        let base = cfg
            .renames
            .iter()
            .find(|(from, _)| *from == metric.name)
            .map_or(metric.name.as_str(), |(_, to)| to.as_str());
        let check = series.tag("check");
        let mut extra_tags: Vec<(&str, &str)> = Vec::new();
        let name = match (variant, check, cfg.checks_as) {
            (Variant::Pass | Variant::Fail, Some(check), ChecksAs::K6) => format!(
                "{}check.{}.{}",
                cfg.namespace,
                safe_segment(check),
                if variant == Variant::Pass {
                    "pass"
                } else {
                    "fail"
                }
            ),
            (Variant::Pass | Variant::Fail, Some(check), ChecksAs::Tag) => {
                extra_tags.push(("check", check));
                extra_tags.push((
                    "result",
                    if variant == Variant::Pass {
                        "pass"
                    } else {
                        "fail"
                    },
                ));
                format!("{}{}", cfg.namespace, base)
            }
            _ => format!("{}{}", cfg.namespace, base),
        };
        let tags = if cfg.enable_tags {
            build_tags(cfg, &series.tags, &extra_tags)
        } else {
            Vec::new()
        };
        let value = match agg {
            Agg::Count(v) => EntryValue::Count(v),
            Agg::Gauge(v) => EntryValue::Gauge(v),
            Agg::Trend(t) => EntryValue::Trend(t),
        };
        out.push(Entry {
            name: safe_metric_name(&name),
            value,
            tags,
            samples,
        });
    }
    out
}

/// Series tags minus empty and blocklisted ones, plus forced tags (which ignore the blocklist)
/// and global tags (which lose to a series tag of the same key); escaped and sorted.
fn build_tags(
    cfg: &MappingConfig,
    series_tags: &[(String, String)],
    forced: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &cfg.global_tags {
        tags.insert(escape_tag_key(k), escape_tag_value(v));
    }
    for (k, v) in series_tags {
        if v.is_empty() || cfg.tag_blocklist.contains(k) {
            continue;
        }
        tags.insert(escape_tag_key(k), escape_tag_value(v));
    }
    for (k, v) in forced {
        tags.insert(escape_tag_key(k), escape_tag_value(v));
    }
    tags.into_iter().collect()
}
