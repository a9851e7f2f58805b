//! k6's compact end-of-test summary text (v1.1.0 layout, without colors).
//!
//! The layout follows k6's `summary.js` to the column, quirks included: the name column is as wide
//! as the widest `indent + name + displayed name`, which is why k6 pads so generously.

use std::cmp::Ordering;
use std::collections::HashMap;

use loadrun_metrics::{MetricType, ValueKind};

use crate::format::{self, js_number, width};
use crate::report::{CheckSummary, MetricSummary, PartSummary, Summary, ThresholdVerdict};
use crate::SummaryMode;

const INDENT: &str = "    ";

enum Item {
    Line(String),
    /// A bare line break between blocks.
    Break,
}

/// One row of a metrics table: what the width computation and the line need.
struct Row<'a> {
    name: String,
    metric_type: MetricType,
    contains: ValueKind,
    values: &'a std::collections::BTreeMap<String, f64>,
}

#[derive(Default)]
struct Info {
    max_name_width: usize,
    non_trend_values: HashMap<String, String>,
    non_trend_extras: HashMap<String, Vec<String>>,
    max_non_trend_len: usize,
    extra_max: Vec<usize>,
    trend_cols: HashMap<String, Vec<String>>,
    trend_col_max: Vec<usize>,
}

/// k6 shows a submetric `m{k:v}` as `  { k:v }` under its parent.
fn display_name(name: &str) -> String {
    let name = &format::escape_controls(name);
    match name.find('{') {
        Some(pos) => format!(
            "  {{ {} }}",
            name[pos + 1..]
                .strip_suffix('}')
                .unwrap_or(&name[pos + 1..])
        ),
        None => name.to_string(),
    }
}

fn humanize(v: f64, row: &Row, time_unit: Option<&str>) -> String {
    format::value(v, row.metric_type, row.contains, time_unit)
}

fn non_trend_values(row: &Row, time_unit: Option<&str>) -> Vec<String> {
    let get = |k: &str| row.values.get(k).copied().unwrap_or(0.0);
    match row.metric_type {
        MetricType::Counter => vec![
            humanize(get("count"), row, time_unit),
            format!("{}/s", humanize(get("rate"), row, time_unit)),
        ],
        MetricType::Gauge => vec![
            humanize(get("value"), row, time_unit),
            format!("min={}", humanize(get("min"), row, time_unit)),
            format!("max={}", humanize(get("max"), row, time_unit)),
        ],
        MetricType::Rate => vec![
            humanize(get("rate"), row, time_unit),
            format!(
                "{} out of {}",
                js_number(get("passes")),
                js_number(get("passes") + get("fails"))
            ),
        ],
        MetricType::Trend => vec!["[no data]".into()],
    }
}

fn compute_info(rows: &[Row], stats: &[String], time_unit: Option<&str>) -> Info {
    let mut info = Info {
        trend_col_max: vec![0; stats.len()],
        ..Default::default()
    };
    for row in rows {
        // k6 measures `name + displayName(name)` here (the name twice for plain metrics).
        let shown = format!("{INDENT}{}{}", row.name, display_name(&row.name));
        info.max_name_width = info.max_name_width.max(width(&shown));
        if row.metric_type == MetricType::Trend {
            let cols: Vec<String> = stats
                .iter()
                .map(|stat| {
                    let v = row.values.get(stat).copied().unwrap_or(0.0);
                    if stat == "count" {
                        js_number(v)
                    } else {
                        humanize(v, row, time_unit)
                    }
                })
                .collect();
            for (i, c) in cols.iter().enumerate() {
                info.trend_col_max[i] = info.trend_col_max[i].max(width(c));
            }
            info.trend_cols.insert(row.name.clone(), cols);
        } else {
            let mut values = non_trend_values(row, time_unit);
            let main = values.remove(0);
            info.max_non_trend_len = info.max_non_trend_len.max(width(&main));
            for (i, e) in values.iter().enumerate() {
                if info.extra_max.len() <= i {
                    info.extra_max.push(0);
                }
                info.extra_max[i] = info.extra_max[i].max(width(e));
            }
            info.non_trend_values.insert(row.name.clone(), main);
            info.non_trend_extras.insert(row.name.clone(), values);
        }
    }
    info
}

fn pad(s: &str, to: usize) -> String {
    format!("{s}{}", " ".repeat(to.saturating_sub(width(s))))
}

fn metric_line(row: &Row, info: &Info, stats: &[String]) -> String {
    let shown = display_name(&row.name);
    let dots = (info.max_name_width + 3).saturating_sub(width(&shown) + width(INDENT));
    let data = if row.metric_type == MetricType::Trend {
        let cols = info.trend_cols.get(&row.name).cloned().unwrap_or_default();
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                let stat = stats.get(i).map(String::as_str).unwrap_or("");
                pad(
                    &format!("{stat}={c}"),
                    stat.chars().count() + 1 + info.trend_col_max[i],
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        let main = info
            .non_trend_values
            .get(&row.name)
            .cloned()
            .unwrap_or_default();
        let extras = info
            .non_trend_extras
            .get(&row.name)
            .cloned()
            .unwrap_or_default();
        let mut out = pad(&main, info.max_non_trend_len);
        if extras.len() == 1 {
            out.push(' ');
            out.push_str(&extras[0]);
        } else if extras.len() > 1 {
            let parts: Vec<String> = extras
                .iter()
                .enumerate()
                .map(|(i, e)| pad(e, info.extra_max[i]))
                .collect();
            out.push(' ');
            out.push_str(&parts.join(" "));
        }
        out
    };
    format!("{INDENT}{shown}{}: {data}", ".".repeat(dots))
}

/// An approximation of JavaScript's `localeCompare` for metric names: case-insensitive first,
/// punctuation before digits before letters.
fn locale_cmp(a: &str, b: &str) -> Ordering {
    let key = |c: char| {
        let class = if c.is_alphabetic() {
            2
        } else if c.is_numeric() {
            1
        } else {
            0
        };
        (class, c.to_lowercase().next().unwrap_or(c))
    };
    a.chars()
        .map(key)
        .cmp(b.chars().map(key))
        .then_with(|| b.cmp(a))
}

/// k6's `sortMetricsByName`: by parent name, submetrics right after their parent.
fn sort_by_name(names: &mut [String]) {
    names.sort_by(|a, b| {
        let pa = a.split('{').next().unwrap_or(a);
        let pb = b.split('{').next().unwrap_or(b);
        locale_cmp(pa, pb).then_with(|| locale_cmp(&a[pa.len()..], &b[pb.len()..]))
    });
}

/// The summary sections k6's compact mode shows, in its order (custom first).
const SECTIONS: [&str; 8] = [
    "custom",
    "http",
    "execution",
    "network",
    "browser",
    "webvitals",
    "grpc",
    "websocket",
];

/// Whether a metric has a line in the totals (and in the machine-readable summary): k6 leaves
/// out `checks` (they get their own block) and `group_duration`, and in compact mode the
/// timing parts of `http_req_duration`.
pub(crate) fn shown_in_totals(metric: &str, mode: SummaryMode) -> bool {
    match metric {
        "checks" | "group_duration" => false,
        "http_req_blocked"
        | "http_req_connecting"
        | "http_req_receiving"
        | "http_req_sending"
        | "http_req_tls_handshaking"
        | "http_req_waiting" => mode == SummaryMode::Full,
        _ => true,
    }
}

fn section_of(metric: &str, mode: SummaryMode) -> Option<&'static str> {
    if !shown_in_totals(metric, mode) {
        return None;
    }
    Some(match metric {
        "http_reqs"
        | "http_req_failed"
        | "http_req_duration"
        | "http_req_blocked"
        | "http_req_connecting"
        | "http_req_receiving"
        | "http_req_sending"
        | "http_req_tls_handshaking"
        | "http_req_waiting" => "http",
        "vus" | "vus_max" | "iterations" | "iteration_duration" | "dropped_iterations" => {
            "execution"
        }
        "data_sent" | "data_received" => "network",
        m if m.starts_with("browser_web_vital_") => "webvitals",
        m if m.starts_with("browser_") => "browser",
        m if m.starts_with("grpc_") => "grpc",
        m if m.starts_with("ws_") => "websocket",
        _ => "custom",
    })
}

fn row(m: &MetricSummary) -> Row<'_> {
    Row {
        name: m.name.clone(),
        metric_type: m.metric_type,
        contains: m.contains,
        values: &m.values,
    }
}

fn threshold_value(
    m: &MetricSummary,
    v: &ThresholdVerdict,
    agg: &str,
    time_unit: Option<&str>,
) -> String {
    let Some(value) = v.value else {
        return "n/a".into();
    };
    let r = row(m);
    match m.metric_type {
        MetricType::Counter if agg != "count" => format!("{}/s", humanize(value, &r, time_unit)),
        _ => humanize(value, &r, time_unit),
    }
}

impl Summary {
    fn render_thresholds(&self) -> Vec<Item> {
        let time_unit = self.options.time_unit.as_deref();
        let mut names: Vec<String> = Vec::new();
        for t in &self.thresholds {
            if !names.contains(&t.metric) {
                names.push(t.metric.clone());
            }
        }
        sort_by_name(&mut names);
        let mut items = Vec::new();
        for name in &names {
            let parent = name.split('{').next().unwrap_or(name);
            let nested = parent.len() < name.len() && names.iter().any(|n| n == parent);
            let indent = if nested { "      " } else { INDENT };
            let shown = if nested {
                &name[parent.len()..]
            } else {
                name.as_str()
            };
            items.push(Item::Line(format!(
                "{indent}{}",
                format::escape_controls(shown)
            )));
            let Some(m) = self.metric(name) else { continue };
            for v in self.thresholds.iter().filter(|t| t.metric == *name) {
                let mark = if v.passed { "✓" } else { "✗" };
                let agg = v
                    .source
                    .split(['=', '>', '<', '!'])
                    .next()
                    .unwrap_or("")
                    .trim();
                let value = threshold_value(m, v, agg, time_unit);
                items.push(Item::Line(format!(
                    "{indent}{mark} '{}' {}={value}",
                    format::escape_controls(v.source.trim()),
                    format::escape_controls(agg)
                )));
            }
            items.push(Item::Break);
        }
        items
    }

    fn render_checks(&self) -> Vec<Item> {
        let Some(checks) = self.metric("checks").filter(|m| m.observed) else {
            return Vec::new();
        };
        let passes = checks.values.get("passes").copied().unwrap_or(0.0);
        let fails = checks.values.get("fails").copied().unwrap_or(0.0);
        self.checks_block(passes, fails, &self.checks)
    }

    /// The checks_total/succeeded/failed lines and one line per check.
    fn checks_block(&self, passes: f64, fails: f64, list: &[CheckSummary]) -> Vec<Item> {
        let total = passes + fails;
        let secs = self.duration.as_secs_f64();
        let ratio = |x: f64| if total > 0.0 { x / total } else { 0.0 };
        let table = [
            (
                "checks_total",
                MetricType::Counter,
                [
                    ("count", total),
                    ("rate", if secs > 0.0 { total / secs } else { 0.0 }),
                ]
                .to_vec(),
            ),
            (
                "checks_succeeded",
                MetricType::Rate,
                [
                    ("rate", ratio(passes)),
                    ("passes", passes),
                    ("fails", fails),
                ]
                .to_vec(),
            ),
            // k6 swaps passes and fails here, so the line reads "<failed> out of <total>".
            (
                "checks_failed",
                MetricType::Rate,
                [("rate", ratio(fails)), ("passes", fails), ("fails", passes)].to_vec(),
            ),
        ];
        let values: Vec<std::collections::BTreeMap<String, f64>> = table
            .iter()
            .map(|(_, _, v)| v.iter().map(|(k, x)| (k.to_string(), *x)).collect())
            .collect();
        let rows: Vec<Row> = table
            .iter()
            .zip(values.iter())
            .map(|((name, t, _), v)| Row {
                name: name.to_string(),
                metric_type: *t,
                contains: ValueKind::Default,
                values: v,
            })
            .collect();
        let stats = &self.options.trend_stats;
        let info = compute_info(&rows, stats, self.options.time_unit.as_deref());
        let mut items: Vec<Item> = rows
            .iter()
            .map(|r| Item::Line(metric_line(r, &info, stats)))
            .collect();
        items.push(Item::Break);
        for c in list {
            let name = format::escape_controls(&c.name);
            if c.fails == 0 {
                items.push(Item::Line(format!("{INDENT}✓ {name}")));
            } else {
                let pct = (100 * c.passes) / (c.passes + c.fails);
                items.push(Item::Line(format!(
                    "{INDENT}✗ {name}\n      ↳  {pct}% — ✓ {} / ✗ {}",
                    c.passes, c.fails
                )));
            }
        }
        items.push(Item::Break);
        items
    }

    fn render_metrics(&self) -> Vec<Item> {
        let info = self.metrics_info();
        self.metrics_block(self.metrics.iter(), &info)
    }

    /// Name and value widths over every metric line of the report, so that the colons of the
    /// totals and of full mode's parts line up (as k6 ≥ 1.2 aligns them).
    fn metrics_info(&self) -> Info {
        let mode = self.options.mode;
        let mut all: Vec<&MetricSummary> = self.metrics.iter().collect();
        let mut stack: Vec<&PartSummary> = self.scenarios.iter().chain(&self.groups).collect();
        while let Some(part) = stack.pop() {
            all.extend(part.metrics.iter());
            stack.extend(part.groups.iter());
        }
        let rows: Vec<Row> = all
            .into_iter()
            .filter(|m| m.observed)
            .filter(|m| section_of(m.parent.as_deref().unwrap_or(&m.name), mode).is_some())
            .map(row)
            .collect();
        compute_info(
            &rows,
            &self.options.trend_stats,
            self.options.time_unit.as_deref(),
        )
    }

    /// The metric lines of `metrics`, by section in k6's order, in the columns of `widths`.
    fn metrics_block<'m>(
        &self,
        metrics: impl Iterator<Item = &'m MetricSummary>,
        widths: &Info,
    ) -> Vec<Item> {
        let stats = &self.options.trend_stats;
        let mut by_section: HashMap<&str, Vec<&MetricSummary>> = HashMap::new();
        for m in metrics.filter(|m| m.observed) {
            let parent = m.parent.as_deref().unwrap_or(&m.name);
            if let Some(section) = section_of(parent, self.options.mode) {
                by_section.entry(section).or_default().push(m);
            }
        }
        // Values by name are this block's (a scenario's http_reqs is not the total's); the
        // column widths are the whole report's.
        let rows: Vec<Row> = by_section.values().flatten().map(|m| row(m)).collect();
        let mut info = compute_info(&rows, stats, self.options.time_unit.as_deref());
        info.max_name_width = widths.max_name_width;
        info.max_non_trend_len = widths.max_non_trend_len;
        info.extra_max.clone_from(&widths.extra_max);
        info.trend_col_max.clone_from(&widths.trend_col_max);
        let info = &info;
        let mut items = Vec::new();
        for section in SECTIONS {
            let Some(metrics) = by_section.get(section) else {
                continue;
            };
            let mut names: Vec<String> = metrics.iter().map(|m| m.name.clone()).collect();
            sort_by_name(&mut names);
            items.push(Item::Line(format!("{INDENT}{}", section.to_uppercase())));
            for name in &names {
                if let Some(m) = metrics.iter().find(|m| m.name == *name) {
                    items.push(Item::Line(metric_line(&row(m), info, stats)));
                }
            }
            items.push(Item::Break);
        }
        items
    }

    /// A scenario's or group's checks, metrics and nested groups (`↳ GROUP: name`), each level
    /// indented two more columns, as k6's full mode nests them.
    fn part_items(&self, part: &PartSummary, info: &Info, depth: usize) -> Vec<Item> {
        let pad = "  ".repeat(depth);
        let passes: u64 = part.checks.iter().map(|c| c.passes).sum();
        let fails: u64 = part.checks.iter().map(|c| c.fails).sum();
        let mut items = Vec::new();
        if !part.checks.is_empty() {
            items.extend(self.checks_block(passes as f64, fails as f64, &part.checks));
        }
        items.extend(self.metrics_block(part.metrics.iter(), info));
        let mut items: Vec<Item> = items
            .into_iter()
            .map(|i| match i {
                Item::Line(l) => {
                    Item::Line(format!("{pad}{}", l.replace('\n', &format!("\n{pad}"))))
                }
                Item::Break => Item::Break,
            })
            .collect();
        for g in &part.groups {
            items.push(Item::Line(format!(
                "{pad}  ↳ GROUP: {} ",
                format::escape_controls(&g.name)
            )));
            items.push(Item::Break);
            items.extend(self.part_items(g, info, depth + 1));
        }
        items
    }

    /// k6's end-of-test summary, starting and ending with a line break as k6 prints it: compact,
    /// or with full mode's every timing metric and `GROUP:`/`SCENARIO:` sections.
    pub fn render_text(&self) -> String {
        let mut sections: Vec<(String, Vec<Item>)> = Vec::new();
        if !self.thresholds.is_empty() {
            sections.push(("THRESHOLDS".into(), self.render_thresholds()));
        }
        let mut totals = self.render_checks();
        totals.extend(self.render_metrics());
        sections.push(("TOTAL RESULTS".into(), totals));
        let info = self.metrics_info();
        for g in &self.groups {
            let title = format!("GROUP: {}", format::escape_controls(&g.name));
            sections.push((title, self.part_items(g, &info, 0)));
        }
        for sc in &self.scenarios {
            let title = format!("SCENARIO: {}", format::escape_controls(&sc.name));
            sections.push((title, self.part_items(sc, &info, 0)));
        }

        let mut out = String::new();
        for (title, items) in sections {
            out.push('\n');
            out.push_str(&format!("  █ {title} \n"));
            for item in items.into_iter().chain([Item::Break]) {
                match item {
                    Item::Break => out.push('\n'),
                    Item::Line(line) => {
                        out.push('\n');
                        out.push_str(&line);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_like_k6() {
        let mut names: Vec<String> = [
            "http_reqs",
            "http_req_failed",
            "http_req_duration{expected_response:true}",
            "http_req_duration",
            "Zeta",
            "alpha",
        ]
        .map(String::from)
        .to_vec();
        sort_by_name(&mut names);
        assert_eq!(
            names,
            [
                "alpha",
                "http_req_duration",
                "http_req_duration{expected_response:true}",
                "http_req_failed",
                "http_reqs",
                "Zeta"
            ]
        );
    }

    #[test]
    fn submetric_display_names() {
        assert_eq!(
            display_name("http_req_duration{expected_response:true}"),
            "  { expected_response:true }"
        );
        assert_eq!(display_name("vus"), "vus");
    }
}
