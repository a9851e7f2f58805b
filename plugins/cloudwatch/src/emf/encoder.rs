//! Datums as CloudWatch Embedded Metric Format documents, one JSON object per line, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>:
//!
//! ```json
//! {"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"k6",
//!   "Dimensions":[["method","status"]],"Metrics":[{"Name":"http_reqs","Unit":"Count",
//!   "StorageResolution":60}]}]},"method":"GET","status":"200","http_reqs":42}
//! ```
//!
//! One document holds the datums of one period and one dimension set (its dimension values are
//! members of the root object, so they are shared by every metric in it), with one
//! `MetricDirective` whose single dimension set is the datum's dimension keys (`[[]]` for none:
//! the spec allows an empty set, and the schema wants at least one set).
//!
//! Values: counters and gauges are one number. Rates and trends are arrays of values, because
//! EMF has no `StatisticValues` and no `Counts`: CloudWatch computes SampleCount, Sum, Min,
//! Max and percentiles from the values themselves, so each sample is one value (a rate's are 0
//! and 1, a trend's the aggregation's distribution expanded by its counts). SampleCount, Sum,
//! Minimum and Maximum are therefore exactly what the API path sends.
//!
//! Limits kept: at most 100 metrics per document (`MetricDirective.Metrics`), at most 100 values
//! per array (longer arrays continue in further documents with the same timestamp and
//! dimensions, which CloudWatch aggregates as one), at most 30 dimension keys per set, dimension
//! values at most 1024 characters (the aggregation cuts them) and always strings, and documents
//! of at most 256 KiB (CloudWatch Logs' event limit; recent pages say 1 MB, the agent and older
//! pages 256 KB).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::datum::{Datum, DatumValue, MAX_DIMENSIONS};
use crate::time::UtcTime;

/// The spec's limit on `MetricDefinition`s per `MetricDirective` (and per document here).
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// The spec's limit on the members of a metric value array.
pub const MAX_VALUES_PER_ARRAY: usize = 100;
/// The spec's limit on dimension keys per dimension set.
pub const MAX_DIMENSIONS_PER_SET: usize = MAX_DIMENSIONS;
/// The published schema's limit on a dimension key (`DimensionReference`).
pub const MAX_DIMENSION_NAME_CHARS: usize = 250;
/// The largest document written (CloudWatch Logs' event size limit, conservatively).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The member of the root object that EMF reserves for its metadata.
pub const METADATA_MEMBER: &str = "_aws";

/// How documents are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub metrics_per_document: usize,
    pub values_per_array: usize,
    pub document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            metrics_per_document: MAX_METRICS_PER_DOCUMENT,
            values_per_array: MAX_VALUES_PER_ARRAY,
            document_bytes: MAX_DOCUMENT_BYTES,
        }
    }
}

/// One EMF document (one line, without its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub text: String,
    /// The samples folded into the values it carries (for the accounting of losses).
    pub samples: u64,
    /// Metrics it defines.
    pub metrics: usize,
}

/// A datum no document can carry, with the samples folded into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unencodable {
    #[error(
        "metric {name:?} has the name of one of its dimensions: EMF puts both in one JSON object \
         (rename the tag or drop it from dimensions)"
    )]
    NameIsADimension { name: String, samples: u64 },
    #[error("metric {name:?}: `_aws` is EMF's metadata member")]
    ReservedName { name: String, samples: u64 },
    #[error("metric {name:?} has {count} dimensions; EMF takes at most {MAX_DIMENSIONS_PER_SET}")]
    TooManyDimensions {
        name: String,
        count: usize,
        samples: u64,
    },
    #[error("metric {name:?} has no values to write")]
    NoValues { name: String, samples: u64 },
}

impl Unencodable {
    /// The samples lost with the datum.
    pub fn samples(&self) -> u64 {
        match self {
            Unencodable::NameIsADimension { samples, .. }
            | Unencodable::ReservedName { samples, .. }
            | Unencodable::TooManyDimensions { samples, .. }
            | Unencodable::NoValues { samples, .. } => *samples,
        }
    }
}

/// A period and the dimension values of its datums: one document set.
type GroupKey<'a> = (UtcTime, &'a [(String, String)]);
/// A group's datums in layers of distinct names (a name may appear twice in one period when
/// late samples were aggregated apart: each layer is its own document set).
type Layers<'a> = Vec<Vec<&'a Datum>>;

/// Encodes `datums` into documents, handed to `emit` in order (by time, then dimensions, then
/// metric name). Returns the datums that cannot be encoded, which the caller must report.
pub fn encode(
    namespace: &str,
    datums: &[Datum],
    limits: Limits,
    mut emit: impl FnMut(Document),
) -> Vec<Unencodable> {
    let mut refused = Vec::new();
    let mut groups: BTreeMap<GroupKey<'_>, Layers<'_>> = BTreeMap::new();
    for d in datums {
        if let Some(why) = unencodable(d) {
            refused.push(why);
            continue;
        }
        let layers = groups
            .entry((d.timestamp, d.dimensions.as_slice()))
            .or_default();
        match layers
            .iter_mut()
            .find(|l| l.iter().all(|x| x.metric_name != d.metric_name))
        {
            Some(layer) => layer.push(d),
            None => layers.push(vec![d]),
        }
    }
    let limits = Limits {
        metrics_per_document: limits.metrics_per_document.max(1),
        values_per_array: limits.values_per_array.max(1),
        document_bytes: limits.document_bytes,
    };
    for ((time, dimensions), layers) in groups {
        let frame = Frame::new(namespace, time, dimensions);
        for mut layer in layers {
            layer.sort_by(|a, b| a.metric_name.cmp(&b.metric_name));
            encode_group(&frame, &layer, limits, &mut emit);
        }
    }
    refused
}

fn unencodable(d: &Datum) -> Option<Unencodable> {
    let (name, samples) = (d.metric_name.clone(), d.samples);
    if d.metric_name == METADATA_MEMBER {
        return Some(Unencodable::ReservedName { name, samples });
    }
    if d.dimensions.iter().any(|(k, _)| *k == d.metric_name) {
        return Some(Unencodable::NameIsADimension { name, samples });
    }
    if d.dimensions.len() > MAX_DIMENSIONS_PER_SET {
        let count = d.dimensions.len();
        return Some(Unencodable::TooManyDimensions {
            name,
            count,
            samples,
        });
    }
    let empty = match &d.value {
        DatumValue::Value(_) => false,
        DatumValue::Stats { count, .. } => as_count(*count) == 0,
        DatumValue::Distribution { counts, .. } => counts.iter().all(|c| as_count(*c) == 0),
    };
    if empty {
        return Some(Unencodable::NoValues { name, samples });
    }
    None
}

/// What every document of one (time, dimensions) group shares.
struct Frame {
    /// `{"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":…,"Dimensions":[[…]],"Metrics":[`
    head: String,
    /// `]}]},"dim":"value",…` (closes the metadata, then the dimension members).
    middle: String,
}

impl Frame {
    fn new(namespace: &str, time: UtcTime, dimensions: &[(String, String)]) -> Self {
        let mut head = String::with_capacity(160);
        let _ = write!(
            head,
            "{{\"{METADATA_MEMBER}\":{{\"Timestamp\":{},\"CloudWatchMetrics\":[{{\"Namespace\":",
            time.unix_secs().saturating_mul(1000)
        );
        push_json_str(&mut head, namespace);
        head.push_str(",\"Dimensions\":[[");
        for (i, (k, _)) in dimensions.iter().enumerate() {
            if i > 0 {
                head.push(',');
            }
            push_json_str(&mut head, k);
        }
        head.push_str("]],\"Metrics\":[");
        let mut middle = String::from("]}]}");
        for (k, v) in dimensions {
            middle.push(',');
            push_json_str(&mut middle, k);
            middle.push(':');
            push_json_str(&mut middle, v);
        }
        Self { head, middle }
    }
}

/// One metric's part of one document.
struct Entry {
    /// `{"Name":…,"Unit":…,"StorageResolution":…}`
    definition: String,
    /// `"name":value` or `"name":[v,…]`
    member: String,
    samples: u64,
}

/// Builds one document from its entries.
struct Builder<'f> {
    frame: &'f Frame,
    definitions: String,
    members: String,
    metrics: usize,
    samples: u64,
}

impl<'f> Builder<'f> {
    fn new(frame: &'f Frame) -> Self {
        Self {
            frame,
            definitions: String::new(),
            members: String::new(),
            metrics: 0,
            samples: 0,
        }
    }

    /// The document's length with `e` added.
    fn len_with(&self, e: &Entry) -> usize {
        let sep = usize::from(self.metrics > 0);
        self.frame.head.len()
            + self.definitions.len()
            + sep
            + e.definition.len()
            + self.frame.middle.len()
            + self.members.len()
            + 1
            + e.member.len()
            + 1
    }

    fn add(&mut self, e: Entry) {
        if self.metrics > 0 {
            self.definitions.push(',');
        }
        self.definitions.push_str(&e.definition);
        self.members.push(',');
        self.members.push_str(&e.member);
        self.metrics += 1;
        self.samples += e.samples;
    }

    fn finish(self) -> Document {
        let f = self.frame;
        let mut text = String::with_capacity(
            f.head.len() + self.definitions.len() + f.middle.len() + self.members.len() + 1,
        );
        text.push_str(&f.head);
        text.push_str(&self.definitions);
        text.push_str(&f.middle);
        text.push_str(&self.members);
        text.push('}');
        Document {
            text,
            samples: self.samples,
            metrics: self.metrics,
        }
    }
}

/// Round `r` of a group puts the `r`-th chunk of every metric that has one into documents, as
/// few as the limits allow; rounds continue until every metric's values are out.
fn encode_group(frame: &Frame, layer: &[&Datum], limits: Limits, emit: &mut impl FnMut(Document)) {
    let mut cursors: Vec<Cursor> = layer
        .iter()
        .map(|d| Cursor::new(d, limits.values_per_array))
        .collect();
    loop {
        let mut doc = Builder::new(frame);
        let mut any = false;
        for c in &mut cursors {
            let Some(entry) = c.next_entry() else {
                continue;
            };
            any = true;
            if doc.metrics > 0
                && (doc.metrics >= limits.metrics_per_document
                    || doc.len_with(&entry) > limits.document_bytes)
            {
                emit(std::mem::replace(&mut doc, Builder::new(frame)).finish());
            }
            doc.add(entry);
        }
        if doc.metrics > 0 {
            emit(doc.finish());
        }
        if !any {
            return;
        }
    }
}

/// Walks one datum's values chunk by chunk.
struct Cursor {
    definition: String,
    name: String,
    values: Values,
    max: usize,
    /// Samples not yet attributed to a chunk.
    samples_left: u64,
}

enum Values {
    /// Counters and gauges: one number, once.
    One(Option<f64>),
    /// Rates and trends: (value, repeat) runs, walked in order.
    Runs {
        runs: Vec<(f64, u64)>,
        index: usize,
        used: u64,
    },
}

impl Cursor {
    fn new(d: &Datum, max: usize) -> Self {
        let mut definition = String::from("{\"Name\":");
        push_json_str(&mut definition, &d.metric_name);
        let _ = write!(
            definition,
            ",\"Unit\":\"{}\",\"StorageResolution\":{}}}",
            d.unit.as_str(),
            d.storage_resolution
        );
        let mut name = String::new();
        push_json_str(&mut name, &d.metric_name);
        let values = match &d.value {
            DatumValue::Value(v) => Values::One(Some(*v)),
            DatumValue::Stats { count, sum, .. } => {
                // A rate's samples are 0 (false) or 1 (true): Sum is how many were true.
                let total = as_count(*count);
                let trues = as_count(sum.round()).min(total);
                Values::Runs {
                    runs: [(0.0, total - trues), (1.0, trues)]
                        .into_iter()
                        .filter(|r| r.1 > 0)
                        .collect(),
                    index: 0,
                    used: 0,
                }
            }
            DatumValue::Distribution { values, counts } => Values::Runs {
                runs: values
                    .iter()
                    .zip(counts)
                    .map(|(v, c)| (*v, as_count(*c)))
                    .filter(|r| r.1 > 0)
                    .collect(),
                index: 0,
                used: 0,
            },
        };
        Self {
            definition,
            name,
            values,
            max,
            samples_left: d.samples,
        }
    }

    fn next_entry(&mut self) -> Option<Entry> {
        let mut member = self.name.clone();
        member.push(':');
        let (n, last) = match &mut self.values {
            Values::One(v) => {
                push_num(&mut member, v.take()?);
                (1, true)
            }
            Values::Runs { runs, index, used } => {
                if *index >= runs.len() {
                    return None;
                }
                member.push('[');
                let mut n = 0u64;
                while n < self.max as u64 && *index < runs.len() {
                    let (v, count) = runs[*index];
                    let take = (count - *used).min(self.max as u64 - n);
                    for _ in 0..take {
                        if n > 0 {
                            member.push(',');
                        }
                        push_num(&mut member, v);
                        n += 1;
                    }
                    *used += take;
                    if *used == count {
                        *index += 1;
                        *used = 0;
                    }
                }
                member.push(']');
                (n, *index >= runs.len())
            }
        };
        // Each value is one sample; whatever the values do not account for goes with the last.
        let samples = if last {
            self.samples_left
        } else {
            n.min(self.samples_left)
        };
        self.samples_left -= samples;
        Some(Entry {
            definition: self.definition.clone(),
            member,
            samples,
        })
    }
}

fn as_count(c: f64) -> u64 {
    if c.is_finite() && c > 0.0 {
        c as u64
    } else {
        0
    }
}

/// A finite number as JSON: shortest round-trip decimal, never an exponent, `-0` as `0`.
fn push_num(out: &mut String, v: f64) {
    if v == 0.0 || !v.is_finite() {
        out.push('0');
    } else {
        let _ = write!(out, "{v}");
    }
}

/// A JSON string literal (RFC 8259 escaping).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
