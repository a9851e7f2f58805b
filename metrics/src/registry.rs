//! Interning of metrics and series.

use std::collections::HashMap;

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

#[derive(Default)]
struct Inner {
    metrics: Vec<MetricDef>,
    metric_ids: HashMap<String, u32>,
    series: Vec<SeriesDef>,
    series_ids: HashMap<(u32, Pairs, Pairs), u32>,
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
        tags.sort();
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
        let key = (metric.0, tags, metadata);
        if let Some(id) = self.inner.read().series_ids.get(&key) {
            return SeriesId(*id);
        }
        let mut inner = self.inner.write();
        if let Some(id) = inner.series_ids.get(&key) {
            return SeriesId(*id);
        }
        let id = inner.series.len() as u32;
        inner.series.push(SeriesDef {
            id,
            metric: key.0,
            tags: key
                .1
                .iter()
                .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
                .collect(),
            metadata: key
                .2
                .iter()
                .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
                .collect(),
        });
        inner.series_ids.insert(key, id);
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
