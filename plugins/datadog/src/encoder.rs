//! One push interval's entries as request bodies for Datadog's series APIs, split below each
//! API's limits and compressed: [`v1`] (`POST /api/v1/series`) or [`v2`] (`POST /api/v2/series`,
//! and `POST /api/v1/distribution_points` for `trendsAs=distribution`). No I/O here.

pub mod v1;
pub mod v2;

use loadrun_statsd::Entry;

use crate::config::{ApiConfig, ApiVersion, TrendsAs};

pub use v2::Payload;

/// The bodies of one interval, and the samples of series too large to send even alone.
#[derive(Debug, Default)]
pub struct Encoded {
    pub payloads: Vec<Payload>,
    pub oversized: u64,
}

/// Encodes `entries` (stamped `ts`, counts per `interval_s`) the way `cfg` asks.
pub fn encode(cfg: &ApiConfig, entries: &[Entry], ts: i64, interval_s: u64) -> Encoded {
    match cfg.api_version {
        ApiVersion::V1 => encode_v1(cfg, entries, ts, interval_s),
        ApiVersion::V2 => encode_v2(cfg, entries, ts, interval_s),
    }
}

fn encode_v1(cfg: &ApiConfig, entries: &[Entry], ts: i64, interval_s: u64) -> Encoded {
    let all = v1::series_counted(entries, &cfg.host, ts, interval_s);
    let payloads = v1::bodies_counted(all, cfg.max_body_bytes)
        .into_iter()
        .map(|(body, samples)| {
            // A body that cannot be compressed still goes, uncompressed.
            let (body, encoding) = match cfg.gzip {
                true => {
                    loadrun_http_support::gzip(&body).map_or((body, None), |z| (z, Some("gzip")))
                }
                false => (body, None),
            };
            Payload {
                url: cfg.url.clone(),
                encoding,
                body,
                samples,
            }
        })
        .collect();
    Encoded {
        payloads,
        oversized: 0,
    }
}

fn encode_v2(cfg: &ApiConfig, entries: &[Entry], ts: i64, interval_s: u64) -> Encoded {
    let dist = cfg.trends_as == TrendsAs::Distribution;
    let (series, dists) = v2::series_v2(entries, &cfg.host, ts, interval_s, dist);
    let (gzip, deflate) = match cfg.gzip {
        true => (v2::Compression::Gzip, v2::Compression::Deflate),
        false => (v2::Compression::None, v2::Compression::None),
    };
    let (mut payloads, mut oversized) = v2::payloads(series, &cfg.url, gzip, v2::V2_LIMITS);
    if !dists.is_empty() {
        let url = format!("{}/api/v1/distribution_points", cfg.base_url);
        // The distribution points API documents deflate only.
        let (more, over) = v2::payloads(dists, &url, deflate, v2::V2_LIMITS);
        payloads.extend(more);
        oversized += over;
    }
    Encoded {
        payloads,
        oversized,
    }
}
