//! Interning of metrics and series.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use loadrun_plugin_api::abi::{KeyValue, MetricDef, SeriesDef, SubmetricDef};
use loadrun_plugin_api::{MetricType, ValueKind};
use parking_lot::RwLock;

/// A metric's index in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(pub u32);

/// A series' index in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u32);

type Pairs = Vec<(String, String)>;

/// k6's suggested limit of unique time series; past it, a run is warned once.
pub const SERIES_WARNING_LIMIT: usize = 100_000;

#[derive(Default)]
struct Inner {
    metrics: Vec<MetricDef>,
    metric_ids: HashMap<String, u32>,
    series: Vec<SeriesDef>,
    /// Series ids, found by hashing the tags held in `series`: the tags are stored once.
    series_ids: hashbrown::HashTable<u32>,
    hasher: RandomState,
    cardinality_warned: bool,
}

fn series_hash<'a>(
    hasher: &RandomState,
    metric: u32,
    tags: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    metadata: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> u64 {
    fn pairs<'a>(h: &mut impl Hasher, list: impl ExactSizeIterator<Item = (&'a str, &'a str)>) {
        list.len().hash(h);
        for (k, v) in list {
            k.hash(h);
            v.hash(h);
        }
    }
    let mut h = hasher.build_hasher();
    metric.hash(&mut h);
    pairs(&mut h, tags);
    pairs(&mut h, metadata);
    h.finish()
}

fn def_pairs(list: &[KeyValue]) -> impl ExactSizeIterator<Item = (&str, &str)> {
    list.iter().map(|kv| (kv.key.as_str(), kv.value.as_str()))
}

fn owned_pairs(list: &[(String, String)]) -> impl ExactSizeIterator<Item = (&str, &str)> {
    list.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

fn same_pairs(def: &[KeyValue], pairs: &[(String, String)]) -> bool {
    def.len() == pairs.len()
        && def
            .iter()
            .zip(pairs)
            .all(|(kv, (k, v))| kv.key.as_str() == k && kv.value.as_str() == v)
}

/// Every metric and series of a run. Ids are dense and assigned in order, so "everything defined
/// since id N" is a range.
#[derive(Default)]
pub struct Registry {
    inner: RwLock<Inner>,
}

/// Definitions copied out of the registry.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub metrics: Vec<MetricDef>,
    pub series: Vec<SeriesDef>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines a metric, or returns the existing one with that name.
    pub fn metric(&self, name: &str, metric_type: MetricType, contains: ValueKind) -> MetricId {
        if let Some(id) = self.inner.read().metric_ids.get(name) {
            return MetricId(*id);
        }
        let mut inner = self.inner.write();
        if let Some(id) = inner.metric_ids.get(name) {
            return MetricId(*id);
        }
        let id = inner.metrics.len() as u32;
        inner.metrics.push(MetricDef {
            id,
            name: name.into(),
            metric_type,
            contains,
            thresholds: Default::default(),
            submetrics: Default::default(),
        });
        inner.metric_ids.insert(name.to_string(), id);
        MetricId(id)
    }

    /// Looks a metric up by name.
    pub fn metric_by_name(&self, name: &str) -> Option<MetricId> {
        self.inner
            .read()
            .metric_ids
            .get(name)
            .copied()
            .map(MetricId)
    }

    /// Attaches a threshold source (e.g. `p(95)<500`) to a metric. Call before the run starts,
    /// so outputs see it with the metric's definition.
    pub fn add_threshold(&self, metric: MetricId, source: &str) {
        let mut inner = self.inner.write();
        if let Some(m) = inner.metrics.get_mut(metric.0 as usize) {
            m.thresholds.push(source.into());
        }
    }

    /// Declares a submetric (`metric{k:v}`) of a metric. Tags are sorted here.
    pub fn add_submetric(&self, metric: MetricId, tags: &[(String, String)]) {
        let mut tags: Pairs = tags.to_vec();
        tags.sort();
        let suffix = tags
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut inner = self.inner.write();
        if let Some(m) = inner.metrics.get_mut(metric.0 as usize) {
            if m.submetrics.iter().any(|s| s.suffix.as_str() == suffix) {
                return;
            }
            let name = format!("{}{{{}}}", m.name, suffix);
            m.submetrics.push(SubmetricDef {
                name: name.into(),
                suffix: suffix.into(),
                tags: tags
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
                    .collect(),
            });
        }
    }

    /// Interns a series. `tags` and `metadata` need not be sorted.
    pub fn series(
        &self,
        metric: MetricId,
        tags: &[(&str, &str)],
        metadata: &[(&str, &str)],
    ) -> SeriesId {
        let mut tags: Pairs = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Stable, by key only: of two tags with one key, the one given first stays, so a
        // request's own tags win over the VU's and the scenario's (given after them), as in k6.
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        tags.dedup_by(|a, b| a.0 == b.0);
        let mut metadata: Pairs = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        metadata.sort();
        self.series_owned(metric, tags, metadata)
    }

    /// Interns a series from sorted, owned pairs.
    pub fn series_owned(&self, metric: MetricId, tags: Pairs, metadata: Pairs) -> SeriesId {
        let find = |inner: &Inner, hash: u64| {
            inner
                .series_ids
                .find(hash, |&id| {
                    let def = &inner.series[id as usize];
                    def.metric == metric.0
                        && same_pairs(&def.tags, &tags)
                        && same_pairs(&def.metadata, &metadata)
                })
                .copied()
        };
        let hash = {
            let inner = self.inner.read();
            let hash = series_hash(
                &inner.hasher,
                metric.0,
                owned_pairs(&tags),
                owned_pairs(&metadata),
            );
            if let Some(id) = find(&inner, hash) {
                return SeriesId(id);
            }
            hash
        };
        let mut inner = self.inner.write();
        if let Some(id) = find(&inner, hash) {
            return SeriesId(id);
        }
        let id = inner.series.len() as u32;
        inner.series.push(SeriesDef {
            id,
            metric: metric.0,
            tags: tags
                .iter()
                .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
                .collect(),
            metadata: metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
                .collect(),
        });
        let Inner {
            series,
            series_ids,
            hasher,
            ..
        } = &mut *inner;
        series_ids.insert_unique(hash, id, |&i| {
            let d = &series[i as usize];
            series_hash(hasher, d.metric, def_pairs(&d.tags), def_pairs(&d.metadata))
        });
        if series.len() > SERIES_WARNING_LIMIT && !inner.cardinality_warned {
            inner.cardinality_warned = true;
            let n = inner.series.len();
            // k6's wording (metrics/engine/ingester.go), with loadrun's way to group URLs.
            tracing::warn!(
                "The test has generated metrics with {n} unique time series, which is higher than the suggested limit of {SERIES_WARNING_LIMIT} and could cause high memory usage. Consider not using high-cardinality values like unique IDs as metric tags or, if you need them in the URL, set the step's `name` (the name tag) to group URLs."
            );
        }
        SeriesId(id)
    }

    /// How many metrics and series are defined.
    pub fn counts(&self) -> (u32, u32) {
        let inner = self.inner.read();
        (inner.metrics.len() as u32, inner.series.len() as u32)
    }

    /// Copies of the definitions with ids in `[metrics_from, metrics_to)` and `[series_from, series_to)`.
    pub fn snapshot_range(
        &self,
        metrics: std::ops::Range<u32>,
        series: std::ops::Range<u32>,
    ) -> Snapshot {
        let inner = self.inner.read();
        let m_end = (metrics.end as usize).min(inner.metrics.len());
        let s_end = (series.end as usize).min(inner.series.len());
        Snapshot {
            metrics: inner.metrics[(metrics.start as usize).min(m_end)..m_end].to_vec(),
            series: inner.series[(series.start as usize).min(s_end)..s_end].to_vec(),
        }
    }

    /// A copy of one metric's definition.
    pub fn metric_def(&self, id: MetricId) -> Option<MetricDef> {
        self.inner.read().metrics.get(id.0 as usize).cloned()
    }

    /// A copy of one series' definition.
    pub fn series_def(&self, id: SeriesId) -> Option<SeriesDef> {
        self.inner.read().series.get(id.0 as usize).cloned()
    }

    /// The metric a series belongs to.
    pub fn metric_of(&self, id: SeriesId) -> Option<MetricId> {
        self.inner
            .read()
            .series
            .get(id.0 as usize)
            .map(|s| MetricId(s.metric))
    }

    /// Runs `f` over all definitions under one read lock (no copies).
    pub fn with_defs<R>(&self, f: impl FnOnce(&[MetricDef], &[SeriesDef]) -> R) -> R {
        let inner = self.inner.read();
        f(&inner.metrics, &inner.series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_order_insensitive() {
        let r = Registry::new();
        let m = r.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let a = r.series(m, &[("b", "2"), ("a", "1")], &[]);
        let b = r.series(m, &[("a", "1"), ("b", "2")], &[]);
        assert_eq!(a, b);
        let c = r.series(m, &[("a", "1")], &[("vu", "1")]);
        assert_ne!(a, c);
        assert_eq!(r.counts(), (1, 2));
        let snap = r.snapshot_range(0..1, 1..2);
        assert_eq!(snap.series.len(), 1);
        assert_eq!(snap.series[0].metadata[0].key.as_str(), "vu");
    }

    #[test]
    fn many_series_are_interned_once_and_warned_about_once() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let r = Registry::new();
        let m = r.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..SERIES_WARNING_LIMIT + 50 {
                let url = format!("http://h/{i}");
                let a = r.series(m, &[("url", &url), ("method", "GET")], &[]);
                assert_eq!(r.series(m, &[("method", "GET"), ("url", &url)], &[]), a);
            }
        });
        assert_eq!(r.counts(), (1, SERIES_WARNING_LIMIT as u32 + 50));
        let log =
            String::from_utf8_lossy(&buf.0.lock().unwrap_or_else(|p| p.into_inner())).to_string();
        assert_eq!(log.matches("unique time series").count(), 1, "{log}");
        assert!(
            log.contains("The test has generated metrics with 100001 unique time series, which is higher than the suggested limit of 100000"),
            "{log}"
        );
    }

    #[test]
    fn submetric_names_follow_k6() {
        let r = Registry::new();
        let m = r.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        r.add_submetric(m, &[("expected_response".into(), "true".into())]);
        r.add_submetric(m, &[("expected_response".into(), "true".into())]);
        let def = r.metric_def(m).unwrap_or_else(|| panic!("defined"));
        assert_eq!(def.submetrics.len(), 1);
        assert_eq!(
            def.submetrics[0].name.as_str(),
            "http_req_duration{expected_response:true}"
        );
    }
}
