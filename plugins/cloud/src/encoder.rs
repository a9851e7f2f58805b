//! Closed buckets → `MetricSet` payloads of at most `maxTimeSeriesInBatch` series each.

use std::collections::BTreeMap;

use loadrun_plugin_api::Catalog;

use crate::aggregate::Closed;
use crate::proto::{encode_metric_set, metric_type, MetricOut, SeriesOut};

/// k6 drops these label names: the service sets them itself.
pub fn reserved_label(name: &str) -> bool {
    name.starts_with("__") || name == "test_run_id"
}

/// Encoded payloads (uncompressed protobuf), and whether reserved labels were dropped.
pub struct Encoded {
    pub payloads: Vec<Payload>,
    pub dropped_reserved_labels: bool,
    /// Samples of series the catalog does not know, which are not sent.
    pub unsent_samples: u64,
}

pub struct Payload {
    pub protobuf: Vec<u8>,
    pub series: usize,
    /// The samples folded into its buckets.
    pub samples: u64,
}

/// Groups the series of `closed` by metric (metrics in id order, series in id order), cut into
/// sets of at most `max_series` series. Series the catalog does not know are skipped.
pub fn encode(
    closed: &BTreeMap<u32, Vec<Closed>>,
    catalog: &Catalog,
    test_run_id: &str,
    aggregation_period_s: u32,
    max_series: usize,
) -> Encoded {
    let mut ordered: Vec<(u32, u32)> = closed
        .keys()
        .filter_map(|&sid| catalog.series(sid).map(|s| (s.metric, sid)))
        .collect();
    ordered.sort_unstable();
    let mut dropped = false;
    let mut payloads = Vec::new();
    let total: u64 = closed.values().flatten().map(|c| c.samples).sum();
    let mut encoded = 0u64;
    for chunk in ordered.chunks(max_series.max(1)) {
        let mut metrics: Vec<MetricOut<'_>> = Vec::new();
        let mut samples = 0u64;
        for &(mid, sid) in chunk {
            let (Some(metric), Some(series), Some(values)) =
                (catalog.metric(mid), catalog.series(sid), closed.get(&sid))
            else {
                continue;
            };
            samples += values.iter().map(|c| c.samples).sum::<u64>();
            let labels: Vec<(&str, &str)> = series
                .tags
                .iter()
                .filter(|(k, _)| {
                    let reserved = reserved_label(k);
                    dropped |= reserved;
                    !reserved
                })
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let out = SeriesOut { labels, values };
            match metrics.last_mut() {
                Some(m) if m.name == metric.name => m.series.push(out),
                _ => metrics.push(MetricOut {
                    name: &metric.name,
                    metric_type: metric_type(metric.metric_type),
                    series: vec![out],
                }),
            }
        }
        let series: usize = metrics.iter().map(|m| m.series.len()).sum();
        if series > 0 {
            encoded += samples;
            payloads.push(Payload {
                protobuf: encode_metric_set(test_run_id, aggregation_period_s, &metrics),
                series,
                samples,
            });
        }
    }
    Encoded {
        payloads,
        dropped_reserved_labels: dropped,
        unsent_samples: total.saturating_sub(encoded),
    }
}
