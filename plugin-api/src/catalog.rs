//! A plugin-side record of the metrics and series the host has defined so far.
//!
//! Batches carry only new definitions; an output that needs names and tags for every sample keeps
//! a [`Catalog`] and calls [`Catalog::absorb`] at the top of each `write`.

use crate::abi::{Batch, MetricType, Sample, ValueKind};

/// A metric as the catalog keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    pub id: u32,
    pub name: String,
    pub metric_type: MetricType,
    pub contains: ValueKind,
    pub thresholds: Vec<String>,
    pub submetrics: Vec<Submetric>,
}

/// A submetric as the catalog keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Submetric {
    pub name: String,
    pub suffix: String,
    pub tags: Vec<(String, String)>,
}

/// A series as the catalog keeps it: tags and metadata sorted by key.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    pub id: u32,
    pub metric: u32,
    pub tags: Vec<(String, String)>,
    pub metadata: Vec<(String, String)>,
}

impl SeriesInfo {
    /// The value of a tag, if the series has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.tags[i].1.as_str())
    }
}

/// Every definition received so far, indexed by id.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    metrics: Vec<Option<MetricInfo>>,
    series: Vec<Option<SeriesInfo>>,
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the batch's definitions (repeated definitions are harmless).
    pub fn absorb(&mut self, batch: &Batch<'_>) {
        for m in batch.metrics.iter() {
            let slot = slot(&mut self.metrics, m.id);
            if slot.is_none() {
                *slot = Some(MetricInfo {
                    id: m.id,
                    name: m.name.to_string(),
                    metric_type: m.metric_type,
                    contains: m.contains,
                    thresholds: m.thresholds.iter().map(|t| t.to_string()).collect(),
                    submetrics: m
                        .submetrics
                        .iter()
                        .map(|s| Submetric {
                            name: s.name.to_string(),
                            suffix: s.suffix.to_string(),
                            tags: s
                                .tags
                                .iter()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect(),
                        })
                        .collect(),
                });
            }
        }
        for s in batch.series.iter() {
            let slot = slot(&mut self.series, s.id);
            if slot.is_none() {
                *slot = Some(SeriesInfo {
                    id: s.id,
                    metric: s.metric,
                    tags: s
                        .tags
                        .iter()
                        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                        .collect(),
                    metadata: s
                        .metadata
                        .iter()
                        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                        .collect(),
                });
            }
        }
    }

    pub fn metric(&self, id: u32) -> Option<&MetricInfo> {
        self.metrics.get(id as usize).and_then(Option::as_ref)
    }

    pub fn series(&self, id: u32) -> Option<&SeriesInfo> {
        self.series.get(id as usize).and_then(Option::as_ref)
    }

    /// The series and metric of a sample; `None` if the host broke the contract.
    pub fn resolve(&self, sample: &Sample) -> Option<(&MetricInfo, &SeriesInfo)> {
        let series = self.series(sample.series)?;
        let metric = self.metric(series.metric)?;
        Some((metric, series))
    }

    pub fn metrics(&self) -> impl Iterator<Item = &MetricInfo> {
        self.metrics.iter().flatten()
    }

    pub fn all_series(&self) -> impl Iterator<Item = &SeriesInfo> {
        self.series.iter().flatten()
    }
}

fn slot<T>(v: &mut Vec<Option<T>>, id: u32) -> &mut Option<T> {
    let i = id as usize;
    if v.len() <= i {
        v.resize_with(i + 1, || None);
    }
    &mut v[i]
}
