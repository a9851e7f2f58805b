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

/// Where distribution points go, under the API's base URL.
pub const DISTRIBUTION_POINTS_PATH: &str = "/api/v1/distribution_points";

fn encode_v2(cfg: &ApiConfig, entries: &[Entry], ts: i64, interval_s: u64) -> Encoded {
    let dist = cfg.trends_as == TrendsAs::Distribution;
    let (series, dists) = v2::series_v2(entries, &cfg.host, ts, interval_s, dist);
    let (gzip, deflate) = match cfg.gzip {
        true => (v2::Compression::Gzip, v2::Compression::Deflate),
        false => (v2::Compression::None, v2::Compression::None),
    };
    let (mut payloads, mut oversized) = v2::payloads(series, &cfg.url, gzip, v2::V2_LIMITS);
    if !dists.is_empty() {
        let url = format!("{}{DISTRIBUTION_POINTS_PATH}", cfg.base_url);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::Read as _;

    use loadrun_plugin_api::testkit::init;
    use loadrun_statsd::EntryValue;

    use super::*;
    use crate::config::{parse_config, DatadogConfig};

    fn cfg(arg: &str) -> ApiConfig {
        let init = init("datadog", Some(arg), "{}", &[("DD_API_KEY", "k")]);
        match parse_config(&init).unwrap() {
            DatadogConfig::Api(cfg) => *cfg,
            DatadogConfig::DogStatsd(_) => panic!("{arg} is not transport=api"),
        }
    }

    fn entry(name: &str, samples: u64) -> Entry {
        Entry {
            name: name.into(),
            value: EntryValue::Count(samples as f64),
            tags: vec![("method".into(), "GET".into())],
            samples,
        }
    }

    #[test]
    fn v1_bodies_are_gzipped_unless_asked_not_to_and_carry_their_samples() {
        let entries = [entry("k6.http_reqs", 3), entry("k6.iterations", 2)];
        let gz = encode(&cfg("transport=api,apiVersion=1,host=h"), &entries, 10, 10);
        let plain = encode(
            &cfg("transport=api,apiVersion=1,host=h,gzip=false"),
            &entries,
            10,
            10,
        );
        assert_eq!((gz.payloads.len(), plain.payloads.len()), (1, 1));
        let (gz, plain) = (&gz.payloads[0], &plain.payloads[0]);
        assert_eq!((gz.encoding, plain.encoding), (Some("gzip"), None));
        assert_eq!((gz.samples, plain.samples), (5, 5));
        assert!(gz.url.ends_with("/api/v1/series"), "{}", gz.url);
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&gz.body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, plain.body);
    }

    #[test]
    fn v2_bodies_go_to_the_v2_series_url() {
        let out = encode(
            &cfg("transport=api,host=h"),
            &[entry("k6.http_reqs", 4)],
            10,
            10,
        );
        assert_eq!(out.oversized, 0);
        assert_eq!(out.payloads.len(), 1);
        assert!(out.payloads[0].url.ends_with("/api/v2/series"));
        assert_eq!(out.payloads[0].samples, 4);
    }
}
