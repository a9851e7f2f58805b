//! Sends one `PutMetricData` body: SigV4-signs it and classifies CloudWatch's answer.
//!
//! The HTTP policy is http-support's (see `loadrun_http_support::classify`), with CloudWatch's
//! own twists: throttling comes as HTTP 400 with the code `Throttling` (or
//! `ThrottlingException`), which is passing trouble, not a bad batch; and error bodies are AWS
//! XML, from which the code and message are quoted.
//!
//! No body is sent twice: PutMetricData has no idempotency key, and CloudWatch adds every
//! datum it gets into the period's statistics (a second copy doubles `SampleCount` and `Sum`).
//! So a body that went out whole and whose answer timed out is [`Sent::Unconfirmed`], not
//! retried ([`HttpClient::post_once`]); one that failed before it was all sent is retried.

use std::time::Instant;

use loadrun_http_support::{gzip, Endpoint, HttpClient, HttpConfig, Outcome, Url};
use loadrun_plugin_api::PluginError;

use crate::config::Config;
use crate::credentials::Credentials;
use crate::sigv4::{self, Request};
use crate::time::UtcTime;

/// Bodies from this size on are gzipped (the AWS SDKs' threshold for PutMetricData).
const GZIP_MIN_BYTES: usize = 10 * 1024;

const SERVICE: &str = "monitoring";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    /// This body is refused for good (e.g. `InvalidParameterValue`); later ones may pass.
    Rejected {
        status: u16,
        reason: String,
    },
    Fatal {
        reason: String,
    },
    /// Sent whole, never answered: CloudWatch may hold it. Not to be sent again.
    Unconfirmed {
        reason: String,
    },
}

pub struct Sender {
    client: HttpClient,
    url: Url,
    host: String,
    region: String,
    credentials: Credentials,
    gzip: bool,
}

impl Sender {
    /// See [`HttpClient::set_host`]: requests end by the host's stop deadline.
    pub fn set_host(&self, host: &loadrun_plugin_api::Host) {
        self.client.set_host(host);
    }

    pub fn new(cfg: &Config) -> Result<Self, PluginError> {
        let client = HttpClient::new(HttpConfig {
            timeout: cfg.timeout,
            // The signature covers the body as sent, so compression happens before signing.
            gzip: false,
            max_response_bytes: 64 * 1024,
            ..HttpConfig::default()
        })
        .map_err(|e| PluginError::new(format!("{}: {e}", cfg.output)))?;
        let host = match (cfg.endpoint.host_str(), cfg.endpoint.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(PluginError::new(format!(
                    "{}: the endpoint has no host",
                    cfg.output
                )))
            }
        };
        Ok(Self {
            client,
            url: cfg.endpoint.clone(),
            host,
            region: cfg.region.clone(),
            credentials: cfg.credentials.clone(),
            gzip: cfg.gzip,
        })
    }

    /// The endpoint as it may be shown.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.url)
    }

    pub fn send(&self, body: &str, deadline: Option<Instant>) -> Sent {
        let compressed = if self.gzip && body.len() >= GZIP_MIN_BYTES {
            gzip(body.as_bytes()).ok()
        } else {
            None
        };
        let payload: &[u8] = compressed.as_deref().unwrap_or(body.as_bytes());
        let mut headers = vec![
            ("Host".to_string(), self.host.clone()),
            ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
        ];
        if compressed.is_some() {
            headers.push(("Content-Encoding".to_string(), "gzip".to_string()));
        }
        let req = Request {
            method: "POST",
            path: self.url.path(),
            query: self.url.query().unwrap_or(""),
            headers,
            body: payload,
        };
        let signed = sigv4::sign(
            &req,
            &self.credentials,
            &self.region,
            SERVICE,
            UtcTime::now(),
        );
        // Host is set by the HTTP client from the URL, byte for byte what was signed.
        let mut send_headers: Vec<(&str, &str)> = req
            .headers
            .iter()
            .filter(|(k, _)| k != "Host")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        send_headers.extend(signed.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        match self
            .client
            .post_once(&self.url, &send_headers, payload, deadline)
        {
            Ok(outcome) => self.interpret(outcome),
            Err(unconfirmed) => Sent::Unconfirmed {
                reason: self.explain(&unconfirmed.reason),
            },
        }
    }

    fn interpret(&self, outcome: Outcome) -> Sent {
        match outcome {
            Outcome::Delivered { .. } => Sent::Delivered,
            Outcome::Retry { after_ms, reason } => Sent::Retry {
                after_ms,
                reason: self.explain(&reason),
            },
            Outcome::Rejected { status, reason } => {
                let code = aws_code(&reason);
                if code.is_some_and(|c| c.starts_with("Throttl") || c == "RequestLimitExceeded") {
                    Sent::Retry {
                        after_ms: None,
                        reason: self.explain(&reason),
                    }
                } else if code.is_some_and(|c| {
                    matches!(
                        c,
                        "InvalidClientTokenId"
                            | "UnrecognizedClientException"
                            | "MissingAuthenticationToken"
                            | "ExpiredToken"
                            | "IncompleteSignature"
                    )
                }) {
                    Sent::Fatal {
                        reason: format!("{} (check the AWS credentials)", self.explain(&reason)),
                    }
                } else {
                    Sent::Rejected {
                        status,
                        reason: self.explain(&reason),
                    }
                }
            }
            Outcome::Fatal { reason } => Sent::Fatal {
                reason: self.explain(&reason),
            },
        }
    }

    /// The reason with the AWS error code and message pulled out of the XML, and any trace of
    /// the secret removed.
    fn explain(&self, reason: &str) -> String {
        let text = match (aws_code(reason), xml_element(reason, "Message")) {
            (Some(code), message) => {
                let head = reason.split(": <").next().unwrap_or(reason);
                let tail = reason
                    .rfind(" (check the credentials)")
                    .map(|_| " (check the credentials)")
                    .unwrap_or("");
                match message {
                    Some(m) => format!(
                        "PutMetricData {head}: {code}: {m}{tail} [access key {}]",
                        self.credentials.access_key_id()
                    ),
                    None => format!(
                        "PutMetricData {head}: {code}{tail} [access key {}]",
                        self.credentials.access_key_id()
                    ),
                }
            }
            (None, _) => format!("PutMetricData {reason}"),
        };
        self.credentials.redact(&text)
    }
}

fn xml_element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let rest = &text[start..];
    let end = rest.find(&format!("</{name}>")).unwrap_or(rest.len());
    Some(rest[..end].trim()).filter(|s| !s.is_empty())
}

/// The `<Code>` of an AWS XML error, or the `__type` of a JSON one.
fn aws_code(text: &str) -> Option<&str> {
    xml_element(text, "Code").or_else(|| {
        let i = text.find("__type")?;
        let rest = &text[i..];
        let rest = rest.split_once(':')?.1.trim_start().strip_prefix('"')?;
        let code = rest.split('"').next()?;
        Some(code.rsplit('#').next().unwrap_or(code))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::time::Duration;

    fn sender() -> Sender {
        let init = loadrun_plugin_api::testkit::init(
            "cloudwatch",
            Some("endpoint=http://127.0.0.1:1"),
            "",
            &[
                ("AWS_ACCESS_KEY_ID", "AKIATEST"),
                ("AWS_SECRET_ACCESS_KEY", "verysecretkey"),
            ],
        );
        Sender::new(&crate::config::parse_config(&init).unwrap()).unwrap()
    }

    #[test]
    fn throttling_is_retried_and_invalid_data_rejected() {
        let s = sender();
        let throttled = Outcome::Rejected {
            status: 400,
            reason: "POST http://h/: HTTP 400 Bad Request: <ErrorResponse><Error><Type>Sender</Type>\
                     <Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
                .into(),
        };
        match s.interpret(throttled) {
            Sent::Retry { reason, .. } => {
                assert!(reason.contains("Throttling: Rate exceeded"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let json_throttle = Outcome::Rejected {
            status: 400,
            reason:
                r#"POST http://h/: HTTP 400: {"__type":"com.amazon.coral#ThrottlingException"}"#
                    .into(),
        };
        assert!(matches!(s.interpret(json_throttle), Sent::Retry { .. }));
        let invalid = Outcome::Rejected {
            status: 400,
            reason:
                "POST http://h/: HTTP 400 Bad Request: <Error><Code>InvalidParameterValue</Code>\
                     <Message>bad</Message></Error>"
                    .into(),
        };
        assert!(matches!(
            s.interpret(invalid),
            Sent::Rejected { status: 400, .. }
        ));
        let bad_token = Outcome::Rejected {
            status: 400,
            reason: "x: <Error><Code>ExpiredToken</Code></Error>".into(),
        };
        assert!(matches!(s.interpret(bad_token), Sent::Fatal { .. }));
    }

    #[test]
    fn signature_errors_are_clear_and_secret_free() {
        let s = sender();
        let o = Outcome::Fatal {
            reason: "POST http://h/: HTTP 403 Forbidden: <?xml version=\"1.0\"?><ErrorResponse><Error>\
                     <Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated \
                     does not match verysecretkey</Message></Error></ErrorResponse> (check the credentials)"
                .into(),
        };
        let Sent::Fatal { reason } = s.interpret(o) else {
            panic!()
        };
        assert_eq!(
            reason,
            "PutMetricData POST http://h/: HTTP 403 Forbidden: SignatureDoesNotMatch: The request \
             signature we calculated does not match *** (check the credentials) [access key AKIATEST]"
        );
    }

    #[test]
    fn unreachable_server_is_retry() {
        let s = sender();
        let r = s.send(
            "Action=PutMetricData",
            Some(Instant::now() + Duration::from_secs(2)),
        );
        assert!(matches!(r, Sent::Retry { .. }), "{r:?}");
    }
}
