//! Entries as StatsD text: `<name>:<value>|<type>[|@<rate>][|#<k:v>,...]`.
//!
//! Each returned unit is sent whole, in one datagram: a unit is one line, except a negative
//! gauge under plain StatsD, which is `name:0|g` then `name:-v|g` (a leading sign means "add").

use std::fmt::Write as _;

use crate::config::MappingConfig;
use crate::mapping::{Entry, EntryValue};

/// A number as StatsD servers parse it: the shortest text that reads back as the same f64,
/// never in exponent notation, `-0` as `0`.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

fn push_tags(out: &mut String, tags: &[(String, String)]) {
    if tags.is_empty() {
        return;
    }
    out.push_str("|#");
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        if !v.is_empty() {
            out.push(':');
            out.push_str(v);
        }
    }
}

fn line(name: &str, value: &str, ty: &str, rate: Option<f64>, tags: &[(String, String)]) -> String {
    let mut s = String::with_capacity(name.len() + value.len() + 16);
    s.push_str(name);
    s.push(':');
    s.push_str(value);
    s.push('|');
    s.push_str(ty);
    if let Some(r) = rate {
        let _ = write!(s, "|@{}", format_value(r));
    }
    push_tags(&mut s, tags);
    s
}

/// The units for one entry.
pub fn encode(cfg: &MappingConfig, entry: &Entry, out: &mut Vec<String>) {
    let name = entry.name.as_str();
    let tags = entry.tags.as_slice();
    match &entry.value {
        EntryValue::Count(v) => out.push(line(name, &format_value(*v), "c", None, tags)),
        EntryValue::Gauge(v) => {
            if *v < 0.0 && cfg.signed_gauge_is_delta {
                let reset = line(name, "0", "g", None, tags);
                let delta = line(name, &format_value(*v), "g", None, tags);
                out.push(format!("{reset}\n{delta}"));
            } else {
                out.push(line(name, &format_value(*v), "g", None, tags));
            }
        }
        EntryValue::Trend(t) => {
            let rate = t.sample_rate();
            let rate = (rate < 1.0).then_some(rate);
            let ty = cfg.trend_type.suffix();
            for v in &t.values {
                out.push(line(name, &format_value(*v), ty, rate, tags));
            }
        }
    }
}

/// Every unit of a list of entries.
pub fn encode_all(cfg: &MappingConfig, entries: &[Entry]) -> Vec<String> {
    let mut out = Vec::new();
    for e in entries {
        encode(cfg, e, &mut out);
    }
    out
}

/// Every unit of a list of entries, each with the number of samples it stands for: an entry's
/// samples are spread over its units (a trend's values) so they add up exactly, and a unit that
/// is lost converts back to samples.
pub fn encode_counted(cfg: &MappingConfig, entries: &[Entry]) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut units = Vec::new();
    for e in entries {
        units.clear();
        encode(cfg, e, &mut units);
        let k = units.len() as u64;
        if k == 0 {
            continue;
        }
        let (base, extra) = (e.samples / k, e.samples % k);
        for (i, u) in units.drain(..).enumerate() {
            out.push((u, base + u64::from((i as u64) < extra)));
        }
    }
    out
}
