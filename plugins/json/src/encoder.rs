//! Samples to k6's NDJSON records.
//!
//! A `Metric` record goes out just before a metric's first `Point`. Everything that depends on
//! the series alone is encoded once per series: a point costs its time and value.

use file_sink::time::Rfc3339;
use loadrun_plugin_api::{Catalog, MetricInfo, Sample};

use crate::filter::Filter;
use crate::gofmt::{write_float, write_string};

/// A series' point record around the time and value: `head` ends with `"time":"`, `tail` starts
/// with `,"tags":` and ends the line.
struct SeriesParts {
    metric: u32,
    wanted: bool,
    head: Box<[u8]>,
    tail: Box<[u8]>,
}

/// What became of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    Written,
    /// Left out by `include`/`exclude`.
    Filtered,
    /// The host never defined its series: a contract breach, skipped.
    Unknown,
}

pub struct Encoder {
    filter: Filter,
    array: bool,
    first_record: bool,
    rfc3339: Rfc3339,
    series: Vec<Option<SeriesParts>>,
    /// By metric id: its `Metric` record has been handed to the sink.
    declared: Vec<bool>,
    /// Metrics declared since the last flush: if that flush fails, they are declared again.
    pending_declared: Vec<u32>,
}

impl Encoder {
    pub fn new(filter: Filter, array: bool) -> Self {
        Self {
            filter,
            array,
            first_record: true,
            rfc3339: Rfc3339::new(),
            series: Vec::new(),
            declared: Vec::new(),
            pending_declared: Vec::new(),
        }
    }

    /// What the file starts with: `[` for array framing, else nothing.
    pub fn prologue(&self) -> &'static [u8] {
        if self.array {
            b"[\n"
        } else {
            b""
        }
    }

    /// What the file ends with: `]` for array framing, else nothing.
    pub fn epilogue(&self) -> &'static [u8] {
        if self.array {
            b"]\n"
        } else {
            b""
        }
    }

    #[inline]
    pub fn encode(&mut self, catalog: &Catalog, sample: &Sample, out: &mut Vec<u8>) -> Encoded {
        let idx = sample.series as usize;
        if !matches!(self.series.get(idx), Some(Some(_))) && !self.compile(catalog, sample.series) {
            return Encoded::Unknown;
        }
        let Some(Some(s)) = self.series.get(idx) else {
            return Encoded::Unknown;
        };
        if !s.wanted {
            return Encoded::Filtered;
        }
        let metric = s.metric;
        if !self.declared.get(metric as usize).copied().unwrap_or(false) {
            let Some(m) = catalog.metric(metric) else {
                return Encoded::Unknown;
            };
            self.record_start(out);
            metric_record(m, out);
            let i = metric as usize;
            if self.declared.len() <= i {
                self.declared.resize(i + 1, false);
            }
            self.declared[i] = true;
            self.pending_declared.push(metric);
        }
        self.record_start(out);
        let Some(Some(s)) = self.series.get(idx) else {
            return Encoded::Unknown;
        };
        // Room for the whole line at once; the time and value take at most 64 bytes.
        out.reserve(s.head.len() + s.tail.len() + 64);
        out.extend_from_slice(&s.head);
        self.rfc3339.write(out, sample.time_ns, true);
        out.extend_from_slice(b"\",\"value\":");
        write_float(sample.value, out);
        out.extend_from_slice(&s.tail);
        Encoded::Written
    }

    /// Call after each sink flush with its result.
    pub fn flushed(&mut self, ok: bool) {
        if !ok {
            for m in &self.pending_declared {
                if let Some(d) = self.declared.get_mut(*m as usize) {
                    *d = false;
                }
            }
        }
        self.pending_declared.clear();
    }

    fn record_start(&mut self, out: &mut Vec<u8>) {
        if self.array && !std::mem::take(&mut self.first_record) {
            out.push(b',');
        }
    }

    fn compile(&mut self, catalog: &Catalog, id: u32) -> bool {
        let Some((metric, series)) = catalog
            .series(id)
            .and_then(|s| Some((catalog.metric(s.metric)?, s)))
        else {
            return false;
        };
        let mut head = Vec::with_capacity(64);
        head.extend_from_slice(b"{\"metric\":");
        write_string(&metric.name, &mut head);
        head.extend_from_slice(b",\"type\":\"Point\",\"data\":{\"time\":\"");
        let mut tail = Vec::with_capacity(256);
        tail.extend_from_slice(b",\"tags\":");
        write_map(
            series.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &mut tail,
        );
        if !series.metadata.is_empty() {
            tail.extend_from_slice(b",\"metadata\":");
            write_map(
                series
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
                &mut tail,
            );
        }
        tail.extend_from_slice(b"}}\n");
        let idx = id as usize;
        if self.series.len() <= idx {
            self.series.resize_with(idx + 1, || None);
        }
        self.series[idx] = Some(SeriesParts {
            metric: metric.id,
            wanted: self.filter.wants(&metric.name),
            head: head.into_boxed_slice(),
            tail: tail.into_boxed_slice(),
        });
        true
    }
}

/// `{"type":"Metric","data":{"name":…,"type":…,"contains":…,"thresholds":[…],"submetrics":…},"metric":…}`
pub fn metric_record(m: &MetricInfo, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"type\":\"Metric\",\"data\":{\"name\":");
    write_string(&m.name, out);
    out.extend_from_slice(b",\"type\":\"");
    out.extend_from_slice(m.metric_type.as_str().as_bytes());
    out.extend_from_slice(b"\",\"contains\":\"");
    out.extend_from_slice(m.contains.as_str().as_bytes());
    out.extend_from_slice(b"\",\"thresholds\":[");
    for (i, t) in m.thresholds.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(t, out);
    }
    out.extend_from_slice(b"],\"submetrics\":");
    if m.submetrics.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        for (i, s) in m.submetrics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            write_string(&s.name, out);
            out.extend_from_slice(b",\"suffix\":");
            write_string(&s.suffix, out);
            out.extend_from_slice(b",\"tags\":");
            write_map(s.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), out);
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b"},\"metric\":");
    write_string(&m.name, out);
    out.extend_from_slice(b"}\n");
}

fn write_map<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(k, out);
        out.push(b':');
        write_string(v, out);
    }
    out.push(b'}');
}
