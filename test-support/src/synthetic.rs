//! A synthetic sample source: k6-like metrics and series without the load engine, so the
//! output pipeline can be tested and measured on its own.

use loadrun_metrics::{MetricType, Registry, Sample, SampleSender, SeriesId, ValueKind};

/// The series a synthetic run writes to: `http_reqs`, `http_req_duration`, `checks`,
/// `data_sent` across `endpoints` URLs.
pub struct SyntheticSeries {
    pub series: Vec<(SeriesId, MetricType)>,
}

impl SyntheticSeries {
    /// Defines the metrics and `endpoints` × 4 series.
    pub fn define(registry: &Registry, endpoints: usize) -> Self {
        let reqs = registry.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        let dur = registry.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        let checks = registry.metric("checks", MetricType::Rate, ValueKind::Default);
        let sent = registry.metric("data_sent", MetricType::Counter, ValueKind::Data);
        let mut series = Vec::new();
        for i in 0..endpoints.max(1) {
            let url = format!("http://127.0.0.1:8080/item/{i}");
            let tags = [
                ("method", "GET"),
                ("name", url.as_str()),
                ("scenario", "default"),
                ("status", "200"),
                ("url", url.as_str()),
            ];
            series.push((registry.series(reqs, &tags, &[]), MetricType::Counter));
            series.push((registry.series(dur, &tags, &[]), MetricType::Trend));
            series.push((
                registry.series(
                    checks,
                    &[("check", "status is 200"), ("scenario", "default")],
                    &[],
                ),
                MetricType::Rate,
            ));
            series.push((
                registry.series(sent, &[("scenario", "default")], &[]),
                MetricType::Counter,
            ));
        }
        Self { series }
    }

    /// Sends `count` samples round-robin over the series, in chunks of `chunk`.
    pub fn emit(&self, sender: &SampleSender, count: usize, chunk: usize) {
        let mut buf = sender.buffer(chunk.max(1));
        let base = loadrun_metrics::now_ns();
        for i in 0..count {
            let (id, kind) = self.series[i % self.series.len()];
            let value = match kind {
                MetricType::Trend => 1.0 + (i % 97) as f64 / 10.0,
                MetricType::Rate => 1.0,
                _ => 1.0,
            };
            buf.push(Sample::new(id.0, base + i as i64, value));
        }
        buf.flush();
    }
}
