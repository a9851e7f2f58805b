//! Line protocol, point for point as k6 writes it:
//!
//! ```text
//! http_reqs,expected_response=true,group=::g1,method=GET,status=200 url="http://x/",value=1 1795608256902267372
//! ```
//!
//! - measurement = metric name; tags sorted by key, empty values dropped (k6's root `group`);
//! - fields sorted by key: `value` (a float) plus the tags named in tagsAsFields (removed from
//!   the tags) and the metadata named in metadataAsFields, typed as asked (`i` suffix for int,
//!   quoted strings); a typed value that does not parse is left out, as k6 does;
//! - timestamp in the configured precision (ns by default).
//!
//! Escaping (InfluxDB's rules): measurement `,` and space; tag keys, tag values and field keys
//! `,` `=` and space; string field values `"` and `\`. Line protocol cannot carry a line break
//! outside a string field, so CR/LF in names and tags become spaces (escaped), and in string
//! values they are written as `\n`/`\r`. Samples with NaN or infinite values are skipped:
//! InfluxDB rejects the whole request over one of them.
//!
//! The part of a line that depends only on the series is built once per series and cached.
//! Timestamps go through [`PointKeys`] so that two points never share a key on the server.

use std::io::Write;

use loadrun_plugin_api::{MetricInfo, SeriesInfo};

use crate::point_keys::{Claim, PointKeys};

loadrun_plugin_api::words! {
    /// Timestamp precision, by InfluxDB v2's names (v1 also takes `m` and `h`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd)]
    pub enum Precision {
        Ns = "ns",
        Us = "us",
        Ms = "ms",
        S = "s",
        M = "m",
        H = "h",
    }
}

impl Precision {
    pub fn ns_per_unit(self) -> i64 {
        [
            1,
            1_000,
            1_000_000,
            1_000_000_000,
            60_000_000_000,
            3_600_000_000_000,
        ][self as usize]
    }

    /// The `/write` query's name (v1 says `u` for microseconds).
    pub fn v1(self) -> &'static str {
        match self {
            Self::Us => "u",
            other => other.word(),
        }
    }

    /// The `/api/v2/write` query's name; v2 has no minutes or hours.
    pub fn v2(self) -> Option<&'static str> {
        (self <= Self::S).then_some(self.word())
    }
}

loadrun_plugin_api::words! {
    /// How a tag or metadata entry is written as a field (`name:int` in tagsAsFields).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum FieldType {
        String = "string",
        Int = "int",
        Float = "float",
        Bool = "bool",
    }
}

/// One entry of tagsAsFields / metadataAsFields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub key: String,
    pub ty: FieldType,
}

impl FieldSpec {
    /// `name` or `name:type`, as declared.
    pub fn parse(entry: &str) -> Option<Self> {
        let (key, ty) = entry.split_once(':').unwrap_or((entry, "string"));
        let (key, ty) = (key.trim().to_string(), FieldType::from_word(ty.trim())?);
        (!key.is_empty()).then_some(FieldSpec { key, ty })
    }
}

/// The cached, series-dependent parts of a line.
#[derive(Debug, Clone)]
struct SeriesLine {
    /// `measurement,tag=v,...` + ` `
    head: String,
    /// Fields sorting before `value`, each followed by `,`.
    before_value: String,
    /// Fields sorting after `value`, each preceded by `,`.
    after_value: String,
    /// The series as InfluxDB keys it (tags moved to fields no longer tell series apart).
    key: u64,
}

/// What [`LineEncoder::encode`] did with a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// One line written.
    Line,
    /// One line written, but an earlier point of its series has the same timestamp at this
    /// precision: the server will keep only one of the two.
    Overwrites,
    /// Nothing written: NaN or infinite values cannot be stored.
    Skipped,
}

/// Encodes samples into line protocol.
#[derive(Debug, Clone)]
pub struct LineEncoder {
    tags_as_fields: Vec<FieldSpec>,
    metadata_as_fields: Vec<FieldSpec>,
    precision: Precision,
    cache: Vec<Option<SeriesLine>>,
    keys: PointKeys,
}

impl LineEncoder {
    pub fn new(
        tags_as_fields: Vec<FieldSpec>,
        metadata_as_fields: Vec<FieldSpec>,
        precision: Precision,
    ) -> Self {
        Self {
            tags_as_fields,
            metadata_as_fields,
            precision,
            cache: Vec::new(),
            keys: PointKeys::new(precision.ns_per_unit()),
        }
    }

    /// Starts encoding a batch that may be handed back (see [`LineEncoder::give_back`]).
    pub fn begin_batch(&mut self) {
        self.keys.begin();
    }

    /// The batch begun last will be encoded again: its timestamps are free again, so the second
    /// encoding writes the same lines.
    pub fn give_back(&mut self) {
        self.keys.rollback();
    }

    /// Appends one line (with its `\n`) to `out`, unless the value cannot be stored.
    pub fn encode(
        &mut self,
        out: &mut Vec<u8>,
        metric: &MetricInfo,
        series: &SeriesInfo,
        time_ns: i64,
        value: f64,
    ) -> Encoded {
        if !value.is_finite() {
            return Encoded::Skipped;
        }
        let i = series.id as usize;
        if self.cache.len() <= i {
            self.cache.resize_with(i + 1, || None);
        }
        let line = match &mut self.cache[i] {
            Some(l) => l,
            slot @ None => slot.insert(series_line(
                &self.tags_as_fields,
                &self.metadata_as_fields,
                metric,
                series,
            )),
        };
        out.extend_from_slice(line.head.as_bytes());
        out.extend_from_slice(line.before_value.as_bytes());
        out.extend_from_slice(b"value=");
        push_float(out, value);
        out.extend_from_slice(line.after_value.as_bytes());
        out.push(b' ');
        let ts = time_ns.div_euclid(self.precision.ns_per_unit());
        let (ts, encoded) = match self.keys.claim(line.key, ts) {
            Claim::At(ts) => (ts, Encoded::Line),
            Claim::Overwrites(ts) => (ts, Encoded::Overwrites),
        };
        let _ = write!(out, "{ts}");
        out.push(b'\n');
        encoded
    }
}

fn series_line(
    tags_as_fields: &[FieldSpec],
    metadata_as_fields: &[FieldSpec],
    metric: &MetricInfo,
    series: &SeriesInfo,
) -> SeriesLine {
    let mut head = String::with_capacity(128);
    escape_into(&mut head, &metric.name, &[',', ' ']);
    let mut fields: Vec<(String, String)> = Vec::new();
    for (k, v) in &series.tags {
        if k.is_empty() {
            continue;
        }
        if let Some(spec) = tags_as_fields.iter().find(|s| s.key == *k) {
            if let Some(fv) = field_value(spec.ty, v) {
                fields.push((k.clone(), fv));
            }
            continue;
        }
        if v.is_empty() {
            continue;
        }
        head.push(',');
        escape_into(&mut head, k, &[',', '=', ' ']);
        head.push('=');
        escape_into(&mut head, v, &[',', '=', ' ']);
    }
    head.push(' ');
    for (k, v) in &series.metadata {
        if k.is_empty() || fields.iter().any(|(fk, _)| fk == k) {
            continue;
        }
        if let Some(spec) = metadata_as_fields.iter().find(|s| s.key == *k) {
            if let Some(fv) = field_value(spec.ty, v) {
                fields.push((k.clone(), fv));
            }
        }
    }
    fields.retain(|(k, _)| k != "value");
    fields.sort();
    let mut before_value = String::new();
    let mut after_value = String::new();
    for (k, v) in fields {
        let mut f = String::new();
        escape_into(&mut f, &k, &[',', '=', ' ']);
        f.push('=');
        f.push_str(&v);
        if k.as_str() < "value" {
            before_value.push_str(&f);
            before_value.push(',');
        } else {
            after_value.push(',');
            after_value.push_str(&f);
        }
    }
    SeriesLine {
        key: PointKeys::series_id(&head),
        head,
        before_value,
        after_value,
    }
}

/// A tag or metadata value as a typed field value; `None` if it does not parse.
fn field_value(ty: FieldType, v: &str) -> Option<String> {
    match ty {
        FieldType::String => {
            let mut s = String::with_capacity(v.len() + 2);
            s.push('"');
            for c in v.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    c => s.push(c),
                }
            }
            s.push('"');
            Some(s)
        }
        FieldType::Int => v.trim().parse::<i64>().ok().map(|n| format!("{n}i")),
        FieldType::Float => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| {
                let mut b = Vec::new();
                push_float(&mut b, f);
                String::from_utf8_lossy(&b).into_owned()
            }),
        FieldType::Bool => match v.trim() {
            "true" | "True" | "TRUE" | "t" | "T" | "1" => Some("true".into()),
            "false" | "False" | "FALSE" | "f" | "F" | "0" => Some("false".into()),
            _ => None,
        },
    }
}

/// Shortest round-tripping decimal, never an exponent (Go's `FormatFloat(v, 'f', -1, 64)`,
/// which is what k6's client writes).
fn push_float(out: &mut Vec<u8>, v: f64) {
    let _ = write!(out, "{v}");
}

fn escape_into(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        let c = if c == '\n' || c == '\r' { ' ' } else { c };
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    // A trailing backslash would escape the separator after it and corrupt the line, and
    // InfluxDB's parser refuses a doubled one there. An escaped space after it parses (checked
    // against InfluxDB 1.6): the stored value gains a trailing space instead of breaking.
    if s.ends_with('\\') {
        out.push_str("\\ ");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::{MetricType, ValueKind};

    fn metric(name: &str) -> MetricInfo {
        MetricInfo {
            id: 0,
            name: name.into(),
            metric_type: MetricType::Counter,
            contains: ValueKind::Default,
            thresholds: vec![],
            submetrics: vec![],
        }
    }

    fn series(id: u32, tags: &[(&str, &str)], metadata: &[(&str, &str)]) -> SeriesInfo {
        let kv = |v: &[(&str, &str)]| {
            let mut v: Vec<(String, String)> = v
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            v.sort();
            v
        };
        SeriesInfo {
            id,
            metric: 0,
            tags: kv(tags),
            metadata: kv(metadata),
        }
    }

    fn specs(list: &str) -> Vec<FieldSpec> {
        list.split(',').filter_map(FieldSpec::parse).collect()
    }

    fn line(enc: &mut LineEncoder, m: &MetricInfo, s: &SeriesInfo, t: i64, v: f64) -> String {
        let mut out = Vec::new();
        assert_eq!(enc.encode(&mut out, m, s, t, v), Encoded::Line);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaping() {
        let mut e = LineEncoder::new(specs("url,note"), vec![], Precision::Ns);
        let s = series(
            0,
            &[
                ("a key", "v,1=2 x"),
                ("b=k,", "line\nbreak"),
                ("url", "http://h/?q=\"a\\b\""),
                ("note", "two\nlines"),
            ],
            &[],
        );
        assert_eq!(
            line(&mut e, &metric("my metric,x=1"), &s, 5, 1.5),
            "my\\ metric\\,x=1,a\\ key=v\\,1\\=2\\ x,b\\=k\\,=line\\ break \
             note=\"two\\nlines\",url=\"http://h/?q=\\\"a\\\\b\\\"\",value=1.5 5\n"
        );
    }

    #[test]
    fn empty_tags_dropped_fields_typed_and_sorted() {
        let mut e = LineEncoder::new(
            specs("vu:int,iter:int,url,ok:bool,ratio:float,bad:int"),
            specs("vu:int,iter:int"),
            Precision::Ns,
        );
        let s = series(
            3,
            &[
                ("group", ""),
                ("scenario", "default"),
                ("ok", "true"),
                ("ratio", "0.25"),
                ("bad", "x"),
            ],
            &[("iter", "3"), ("vu", "1"), ("trace_id", "abc")],
        );
        assert_eq!(
            line(&mut e, &metric("iterations"), &s, 1_000, 1.0),
            "iterations,scenario=default iter=3i,ok=true,ratio=0.25,value=1,vu=1i 1000\n"
        );
    }

    #[test]
    fn a_trailing_backslash_cannot_eat_the_separator() {
        let mut e = LineEncoder::new(vec![], vec![], Precision::Ns);
        let s = series(0, &[("dir", "C:\\"), ("z", "1")], &[]);
        assert_eq!(
            line(&mut e, &metric("m\\"), &s, 1, 1.0),
            "m\\\\ ,dir=C:\\\\ ,z=1 value=1 1\n"
        );
    }

    #[test]
    fn a_tag_field_wins_over_metadata_and_value_stays_value() {
        let mut e = LineEncoder::new(specs("vu,value"), specs("vu:int"), Precision::Ns);
        let s = series(0, &[("vu", "7"), ("value", "x")], &[("vu", "1")]);
        assert_eq!(
            line(&mut e, &metric("m"), &s, 1, 2.0),
            "m value=2,vu=\"7\" 1\n"
        );
    }

    #[test]
    fn precision_and_numbers() {
        let mut e = LineEncoder::new(vec![], vec![], Precision::Ms);
        let s = series(0, &[], &[]);
        let m = metric("m");
        assert_eq!(
            line(&mut e, &m, &s, 1_795_608_256_902_267_372, 0.990672),
            "m value=0.990672 1795608256902\n"
        );
        assert_eq!(
            line(&mut e, &m, &s, 0, 1e21),
            "m value=1000000000000000000000 0\n"
        );
        // A fresh encoder: a second point at 0 ms would be a collision (tested below).
        let mut e = LineEncoder::new(vec![], vec![], Precision::Ms);
        assert_eq!(line(&mut e, &m, &s, 0, -0.000001), "m value=-0.000001 0\n");
        let mut out = Vec::new();
        assert_eq!(e.encode(&mut out, &m, &s, 0, f64::NAN), Encoded::Skipped);
        assert_eq!(
            e.encode(&mut out, &m, &s, 0, f64::INFINITY),
            Encoded::Skipped
        );
        assert!(out.is_empty());
    }

    #[test]
    fn points_the_server_would_key_alike_get_distinct_timestamps() {
        // Two series that differ only in a tag moved to a field are one series to InfluxDB.
        let mut e = LineEncoder::new(specs("url"), vec![], Precision::Ns);
        let a = series(0, &[("status", "200"), ("url", "http://a/")], &[]);
        let b = series(1, &[("status", "200"), ("url", "http://b/")], &[]);
        let m = metric("http_reqs");
        assert_eq!(
            line(&mut e, &m, &a, 7, 1.0),
            "http_reqs,status=200 url=\"http://a/\",value=1 7\n"
        );
        assert_eq!(
            line(&mut e, &m, &b, 7, 1.0),
            "http_reqs,status=200 url=\"http://b/\",value=1 8\n"
        );
        // At ms precision the point is not moved: the collision is reported.
        let mut e = LineEncoder::new(vec![], vec![], Precision::Ms);
        let mut out = Vec::new();
        assert_eq!(e.encode(&mut out, &m, &a, 7_000_000, 1.0), Encoded::Line);
        assert_eq!(
            e.encode(&mut out, &m, &a, 7_500_000, 1.0),
            Encoded::Overwrites
        );
        assert!(String::from_utf8_lossy(&out).ends_with(" 7\n"));
    }
}
