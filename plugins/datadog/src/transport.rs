//! `transport=api` over the shared HTTP client (`loadrun-http-support`): its timeouts, stop
//! deadline, hold after an unanswered request, TLS, proxy and answer classification (Retry-After
//! and Datadog's `X-RateLimit-Reset` included), plus Datadog's key header. Bodies arrive
//! compressed by the encoder (v2 splits on compressed sizes, and distribution points take deflate
//! only), so the client's own gzip is off.
//!
//! Resending after a timed-out answer: Datadog keeps the last value it gets for a series at
//! one timestamp (counts included), so a series body sent again overwrites what its first copy
//! wrote and is retried like any other. Distribution points are merged into the distribution
//! instead, so a second copy counts every value twice: a distribution body that went out whole
//! and got no answer in time is not sent again ([`HttpClient::post_once`]).

use std::time::Instant;

use loadrun_http_support::{Endpoint, HttpClient, Outcome, Unconfirmed, Url};
use loadrun_plugin_api::{Host, PluginError, Secret};

use crate::config::ApiConfig;
use crate::encoder::{Payload, DISTRIBUTION_POINTS_PATH};

pub struct SeriesApi {
    client: HttpClient,
    api_key: Secret,
}

impl SeriesApi {
    pub fn new(cfg: &ApiConfig) -> Result<Self, PluginError> {
        // Every body goes to one of these two: an unusable URL is a configuration error now,
        // not a fatal answer at the first push.
        for url in [&cfg.url, &cfg.base_url] {
            Url::parse(url).map_err(|e| {
                PluginError::new(format!(
                    "{}: invalid endpoint {}: {e}",
                    cfg.output,
                    Endpoint::from_text(url)
                ))
            })?;
        }
        let client = HttpClient::new(cfg.http.clone())
            .map_err(|e| PluginError::new(format!("{}: {e}", cfg.output)))?;
        Ok(Self {
            client,
            api_key: cfg.api_key.clone(),
        })
    }

    /// Requests made once the host is stopping the output end by its stop deadline.
    pub fn set_host(&self, host: &Host) {
        self.client.set_host(host);
    }

    /// Posts one body; `deadline` is given by `flush`/`stop`. `Err` only for a distribution
    /// body that went out whole and got no answer in time: it must not be sent again.
    pub fn post(
        &self,
        payload: &Payload,
        deadline: Option<Instant>,
    ) -> Result<Outcome, Unconfirmed> {
        let url = match Url::parse(&payload.url) {
            Ok(url) => url,
            Err(e) => {
                return Ok(Outcome::Fatal {
                    reason: format!("invalid URL {}: {e}", Endpoint::from_text(&payload.url)),
                })
            }
        };
        let mut headers = vec![
            ("DD-API-KEY", self.api_key.expose()),
            ("Content-Type", "application/json"),
        ];
        if let Some(encoding) = payload.encoding {
            headers.push(("Content-Encoding", encoding));
        }
        if url.path().ends_with(DISTRIBUTION_POINTS_PATH) {
            self.client
                .post_once(&url, &headers, &payload.body, deadline)
        } else {
            Ok(self.client.post(&url, &headers, &payload.body, deadline))
        }
    }
}
