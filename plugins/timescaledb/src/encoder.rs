//! Row encoding for binary COPY: PostgreSQL's binary formats for `timestamptz` and `jsonb`, and
//! the per-series part of a row (metric, tags, metadata), built once per series.

use std::error::Error;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use loadrun_plugin_api::catalog::Catalog;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// A `timestamptz` in PostgreSQL's binary form (µs since 2000-01-01; it has no finer precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgTimestamp(pub i64);

impl PgTimestamp {
    pub fn from_unix_ns(ns: i64) -> Self {
        PgTimestamp(ns.div_euclid(1000).saturating_sub(PG_EPOCH_OFFSET_US))
    }
}

impl ToSql for PgTimestamp {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_i64(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::TIMESTAMPTZ | Type::TIMESTAMP)
    }

    to_sql_checked!();
}

/// JSON text sent as `jsonb` (a version byte, then the text) or `json`.
#[derive(Debug, Clone, Copy)]
pub struct Jsonb<'a>(pub &'a str);

impl ToSql for Jsonb<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if *ty == Type::JSONB {
            out.put_u8(1);
        }
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSONB | Type::JSON)
    }

    to_sql_checked!();
}

/// PostgreSQL rejects NUL in `text` and `\u0000` in `jsonb`; one bad tag must not fail a whole
/// COPY, so NUL becomes U+FFFD.
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A JSON object of string values, keys in the given (sorted) order.
pub fn json_object<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .into_iter()
        .map(|(k, v)| {
            (
                clean(k).into_owned(),
                serde_json::Value::String(clean(v).into_owned()),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The columns of a row that depend only on the series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub metric: String,
    pub metric_type: &'static str,
    pub contains: &'static str,
    pub tags: String,
    /// `None` when the series has no metadata (the column stays NULL).
    pub metadata: Option<String>,
}

/// [`SeriesRow`]s by series id, built on first use.
#[derive(Debug, Default)]
pub struct SeriesRows {
    rows: Vec<Option<Arc<SeriesRow>>>,
}

impl SeriesRows {
    /// Makes sure the row of `series` is built; `false` if the catalog does not know it.
    pub fn prepare(&mut self, catalog: &Catalog, series: u32) -> bool {
        let i = series as usize;
        if matches!(self.rows.get(i), Some(Some(_))) {
            return true;
        }
        let Some(s) = catalog.series(series) else {
            return false;
        };
        let Some(m) = catalog.metric(s.metric) else {
            return false;
        };
        let row = SeriesRow {
            // k6's column is varchar(128).
            metric: clean(&m.name).chars().take(128).collect(),
            metric_type: m.metric_type.as_str(),
            contains: m.contains.as_str(),
            tags: json_object(s.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            metadata: (!s.metadata.is_empty())
                .then(|| json_object(s.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
        };
        if self.rows.len() <= i {
            self.rows.resize_with(i + 1, || None);
        }
        self.rows[i] = Some(Arc::new(row));
        true
    }

    pub fn get(&self, series: u32) -> Option<&SeriesRow> {
        self.rows.get(series as usize).and_then(|r| r.as_deref())
    }
}

/// Splits a threshold's metric name `checks{mytag:hello}` into the name and its tag filter as
/// JSON (`None` without braces); the filter fills `thresholds.tags`, which k6 left empty.
pub fn threshold_tags(metric: &str) -> Option<String> {
    let open = metric.find('{')?;
    let inner = metric[open + 1..].strip_suffix('}')?;
    let pairs: Vec<(&str, &str)> = inner
        .split(',')
        .filter_map(|p| p.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches(|c| c == '"' || c == '\'')))
        .collect();
    Some(json_object(pairs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_postgres_epoch() {
        assert_eq!(PgTimestamp::from_unix_ns(946_684_800_000_000_000).0, 0);
        // 2023-11-14T22:13:20.123456789Z truncates to the microsecond.
        let t = PgTimestamp::from_unix_ns(1_700_000_000_123_456_789);
        assert_eq!(t.0, 1_700_000_000_123_456 - PG_EPOCH_OFFSET_US);
        assert_eq!(PgTimestamp::from_unix_ns(-1).0, -1 - PG_EPOCH_OFFSET_US);
    }

    #[test]
    fn jsonb_wire_format() {
        let mut b = BytesMut::new();
        Jsonb(r#"{"a":"b"}"#).to_sql(&Type::JSONB, &mut b).unwrap();
        assert_eq!(&b[..], b"\x01{\"a\":\"b\"}");
        let mut b = BytesMut::new();
        Jsonb("{}").to_sql(&Type::JSON, &mut b).unwrap();
        assert_eq!(&b[..], b"{}");
    }

    #[test]
    fn json_objects_are_escaped_and_nul_free() {
        let j = json_object([("url", "http://x/?q=\"1\""), ("bad", "a\0b")]);
        assert_eq!(j, r#"{"bad":"a�b","url":"http://x/?q=\"1\""}"#);
    }

    #[test]
    fn threshold_selectors() {
        assert_eq!(threshold_tags("http_req_duration"), None);
        assert_eq!(
            threshold_tags("checks{mytag:hello}").as_deref(),
            Some(r#"{"mytag":"hello"}"#)
        );
        assert_eq!(
            threshold_tags("http_req_duration{status:200, name:'x'}").as_deref(),
            Some(r#"{"name":"x","status":"200"}"#)
        );
    }
}
