//! What a plugin should do with a batch after one HTTP exchange.
//!
//! The policy (the same for every HTTP output, so users learn it once):
//!
//! | answer | outcome | why |
//! |---|---|---|
//! | 2xx | `Delivered` | |
//! | 3xx | `Fatal` | redirects are not followed for writes: the configured URL is wrong, and the message names the `Location` |
//! | 401, 403, 407 | `Fatal` | credentials (the proxy's for 407) do not fix themselves; retrying only hammers the server |
//! | 404, 405 | `Fatal` | wrong URL or missing database/bucket: every later batch would fail too |
//! | 408, 425 | `Retry` | the server asks for it |
//! | 429 | `Retry`, `after_ms` from `Retry-After` (else `X-RateLimit-Reset`) | rate limited |
//! | 400, 413, 422, other 4xx | `Rejected` | this batch is bad (a parse error, too large, a type conflict); later ones may be fine, so drop it, count it, go on |
//! | 5xx | `Retry`, `after_ms` from `Retry-After` if sent | server trouble is usually passing |
//! | connect/read/timeout/DNS/TLS I/O errors | `Retry` (but see [`crate::HttpClient::post_once`]: no answer after the whole body went out is `Unconfirmed` there) | the network is usually passing |
//! | invalid URL or header, unknown scheme, bad proxy URL, proxy auth refused (CONNECT) | `Fatal` | configuration |
//! | TLS handshake failed on the protocol version (e.g. a TLS 1.2-only server, minimum 1.3) | `Fatal` (set by [`crate::HttpClient`], reason marked [`crate::TLS_VERSION_MISMATCH`]) | configuration of one side |
//! | the server's certificate is not trusted (unknown CA, another host name, expired) | `Fatal` (set by [`crate::HttpClient`], reason marked [`crate::UNTRUSTED_CERTIFICATE`], saying what to change) | the certificate or the CA option must change first |
//!
//! Every reason names the method and the [`Endpoint`] (never credentials), the status or the
//! transport error, and the server's message shortened to [`MAX_REASON_BODY`] characters (the
//! `error`/`message` member when the body is JSON).

use std::time::{Duration, SystemTime};

use crate::endpoint::Endpoint;

/// `Retry-After` values above this are capped: the host's stop deadline bounds waiting anyway,
/// and a mistaken "retry in a day" must not park an output for the rest of the run.
pub const MAX_RETRY_AFTER_MS: u64 = 600_000;

/// The most characters of a server's error body quoted in a reason.
pub const MAX_REASON_BODY: usize = 300;

/// The most bytes read from an error body (the rest is discarded unread).
pub(crate) const MAX_ERROR_BODY_READ: u64 = 16 * 1024;

/// What to do with the batch after one HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took it. `body` is the response body (bounded by
    /// [`crate::HttpConfig::max_response_bytes`]), for protocols that answer with data.
    Delivered { status: u16, body: String },
    /// Passing trouble: return `WriteStatus::Retry` and keep nothing of the batch.
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    /// The server refused this batch for good; later batches may succeed. Drop it, count it.
    Rejected { status: u16, reason: String },
    /// The output cannot go on (configuration, credentials).
    Fatal { reason: String },
}

impl Outcome {
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }

    /// The reason text of a failure; empty for `Delivered`.
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Delivered { .. } => "",
            Outcome::Retry { reason, .. }
            | Outcome::Rejected { reason, .. }
            | Outcome::Fatal { reason } => reason,
        }
    }
}

/// An HTTP answer as far as the policy needs it: read by [`crate::HttpClient`] (the body
/// bounded), classified here without any I/O.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub rate_limit_reset: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// Classifies an answer (see the module docs for the policy).
///
/// `what` is the request as it may be shown, e.g. `POST http://host:8086/write?db=k6`.
pub(crate) fn classify_answer(what: &str, answer: Answer) -> Outcome {
    let status = answer.status;
    let status_text = http_status_text(status);
    let retry_after = answer
        .retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
        .or_else(|| {
            answer
                .rate_limit_reset
                .as_deref()
                .and_then(parse_rate_limit_reset)
        });
    let location = answer.location.as_deref().map(Endpoint::from_text);
    if (200..300).contains(&status) {
        return Outcome::Delivered {
            status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        };
    }
    let body = server_message(&String::from_utf8_lossy(&answer.body));
    let mut reason = format!("{what}: HTTP {status}");
    if let Some(text) = status_text {
        reason.push(' ');
        reason.push_str(text);
    }
    if !body.is_empty() {
        reason.push_str(": ");
        reason.push_str(&body);
    }
    match status {
        300..=399 => {
            if let Some(loc) = location {
                reason.push_str(&format!(" (redirected to {loc}; use that URL)"));
            }
            Outcome::Fatal { reason }
        }
        401 | 403 => Outcome::Fatal {
            reason: format!("{reason} (check the credentials)"),
        },
        407 => Outcome::Fatal {
            reason: format!("{reason} (check the proxy's credentials)"),
        },
        404 | 405 => Outcome::Fatal { reason },
        408 | 425 | 429 => Outcome::Retry {
            after_ms: retry_after,
            reason,
        },
        400..=499 => Outcome::Rejected { status, reason },
        _ => Outcome::Retry {
            after_ms: retry_after,
            reason,
        },
    }
}

fn http_status_text(status: u16) -> Option<&'static str> {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

/// What kind of failure a request that got no answer met, in the words reasons use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request could not be made (a bad URL, header or proxy setting): configuration.
    Invalid,
    /// The proxy refused our credentials: configuration too.
    ProxyAuth,
    Dns,
    Connect,
    /// Broke off after the connection was made (reset, closed, bad framing).
    Network,
}

impl Failure {
    fn label(self) -> &'static str {
        match self {
            Failure::Invalid => "Invalid Request",
            Failure::ProxyAuth => "Proxy Unauthorized",
            Failure::Dns => "Dns Failed",
            Failure::Connect => "Connection Failed",
            Failure::Network => "Network Error",
        }
    }
}

/// Classifies a request that got no answer from its error chain. Never uses the error's own
/// `Display` of the URL: the caller passes errors stripped of it (`reqwest::Error::without_url`).
pub(crate) fn classify_transport(what: &str, err: &(dyn std::error::Error + 'static)) -> Outcome {
    let pieces = chain_pieces(err);
    let kind = failure_kind(err, &pieces);
    let mut chain = vec![kind.label().to_string()];
    chain.extend(pieces);
    let reason = format!("{what}: {}", without_repeats(&chain));
    match kind {
        Failure::Invalid | Failure::ProxyAuth => Outcome::Fatal { reason },
        _ => Outcome::Retry {
            after_ms: None,
            reason,
        },
    }
}

fn chain_pieces(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        pieces.push(e.to_string());
        next = e.source();
    }
    pieces
}

/// An error and its causes on one line, each part said once.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    without_repeats(&chain_pieces(err))
}

fn failure_kind(err: &(dyn std::error::Error + 'static), pieces: &[String]) -> Failure {
    let said = |text: &str| pieces.iter().any(|p| p.contains(text));
    let reqwest = err.downcast_ref::<reqwest::Error>();
    if reqwest.is_some_and(reqwest::Error::is_builder) {
        return Failure::Invalid;
    }
    // hyper-util's CONNECT tunnel says so when the proxy answers 407.
    if said("proxy authorization required") {
        return Failure::ProxyAuth;
    }
    if said("dns error") {
        return Failure::Dns;
    }
    if reqwest.is_some_and(reqwest::Error::is_connect) {
        return Failure::Connect;
    }
    Failure::Network
}

/// Joins an error chain with ": ", leaving out the parts an outer error already said: HTTP
/// stacks repeat their kind and their cause in their own text, which gave lines like
/// "Network Error: Network Error: timed out: timed out".
fn without_repeats(chain: &[String]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for piece in chain {
        for part in piece.split(": ") {
            if !part.is_empty() && !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    parts.join(": ")
}

/// The useful part of an error body: the `error`/`message` member of a JSON object, else the
/// text, whitespace collapsed, cut to [`MAX_REASON_BODY`] characters.
fn server_message(body: &str) -> String {
    let picked = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["error", "message", "errors", "detail"]
                .iter()
                .find_map(|k| v.get(*k).map(json_text))
        })
        .unwrap_or_else(|| body.to_string());
    let collapsed = picked.split_whitespace().collect::<Vec<_>>().join(" ");
    shorten(&collapsed, MAX_REASON_BODY)
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// Parses `X-RateLimit-Reset` as Datadog sends it, seconds until the window resets, into
/// milliseconds capped at [`MAX_RETRY_AFTER_MS`]. Some APIs send a Unix time in that header
/// instead; a value of an hour or more is taken for one of those and ignored.
pub fn parse_rate_limit_reset(value: &str) -> Option<u64> {
    let secs = value.trim().parse::<f64>().ok()?;
    if !(secs.is_finite() && (0.0..3600.0).contains(&secs)) {
        return None;
    }
    Some(((secs * 1000.0) as u64).min(MAX_RETRY_AFTER_MS))
}

/// Parses `Retry-After` (delay-seconds or an HTTP date) into milliseconds from `now`, capped at
/// [`MAX_RETRY_AFTER_MS`]. A date in the past means "now" (0).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    let ms = if let Ok(secs) = value.parse::<u64>() {
        secs.saturating_mul(1000)
    } else if let Ok(secs) = value.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return None;
        }
        (secs * 1000.0).min(MAX_RETRY_AFTER_MS as f64) as u64
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    };
    Some(ms.min(MAX_RETRY_AFTER_MS))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_says_each_part_once() {
        let chain = [
            "Network Error".to_string(),
            "Network Error: Error encountered in the status line".to_string(),
            "timed out reading response".to_string(),
            "timed out reading response".to_string(),
        ];
        assert_eq!(
            without_repeats(&chain),
            "Network Error: Error encountered in the status line: timed out reading response"
        );
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.as_bytes().to_vec(),
            ..Answer::default()
        }
    }

    #[test]
    fn one_policy_for_every_status() {
        let w = "POST http://h/w";
        assert_eq!(
            classify_answer(w, answer(204, "")),
            Outcome::Delivered {
                status: 204,
                body: String::new()
            }
        );
        let o = classify_answer(w, answer(400, r#"{"error":"bad line"}"#));
        assert_eq!(
            o,
            Outcome::Rejected {
                status: 400,
                reason: "POST http://h/w: HTTP 400 Bad Request: bad line".into()
            }
        );
        for fatal in [301, 401, 403, 404, 405, 407] {
            let o = classify_answer(w, answer(fatal, ""));
            assert!(matches!(o, Outcome::Fatal { .. }), "{fatal}: {o:?}");
        }
        assert!(classify_answer(w, answer(407, ""))
            .reason()
            .contains("proxy's credentials"));
        let limited = Answer {
            retry_after: Some("2".into()),
            ..answer(429, "")
        };
        assert_eq!(
            classify_answer(w, limited),
            Outcome::Retry {
                after_ms: Some(2000),
                reason: "POST http://h/w: HTTP 429 Too Many Requests".into()
            }
        );
        let reset = Answer {
            rate_limit_reset: Some("3".into()),
            ..answer(503, "")
        };
        assert!(matches!(
            classify_answer(w, reset),
            Outcome::Retry {
                after_ms: Some(3000),
                ..
            }
        ));
        for again in [408, 425, 500, 599] {
            let o = classify_answer(w, answer(again, ""));
            assert!(matches!(o, Outcome::Retry { .. }), "{again}: {o:?}");
        }
        let moved = Answer {
            location: Some("https://u:pw@elsewhere/w".into()),
            ..answer(308, "")
        };
        let r = classify_answer(w, moved).reason().to_string();
        assert!(
            r.contains("redirected to https://elsewhere/w") && !r.contains("pw"),
            "{r}"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(3000));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0));
        assert_eq!(parse_retry_after("1.5", now), Some(1500));
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER_MS));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(7000));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(0));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn rate_limit_reset_is_a_delay_in_seconds_not_a_unix_time() {
        assert_eq!(parse_rate_limit_reset("2"), Some(2000));
        assert_eq!(parse_rate_limit_reset(" 0.5 "), Some(500));
        assert_eq!(parse_rate_limit_reset("1800"), Some(MAX_RETRY_AFTER_MS));
        assert_eq!(parse_rate_limit_reset("1765000000"), None);
        assert_eq!(parse_rate_limit_reset("-1"), None);
        assert_eq!(parse_rate_limit_reset("soon"), None);
    }

    #[test]
    fn server_messages_are_picked_and_shortened() {
        assert_eq!(
            server_message(r#"{"error":"unable to parse 'x': invalid field format"}"#),
            "unable to parse 'x': invalid field format"
        );
        assert_eq!(server_message("  a\n  b  "), "a b");
        let long = "x".repeat(1000);
        let s = server_message(&long);
        assert_eq!(s.chars().count(), MAX_REASON_BODY + 1);
        assert!(s.ends_with('…'));
    }
}
