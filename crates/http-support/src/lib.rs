//! # loadrun-http-support
//!
//! The HTTP plumbing every loadrun output plugin that talks HTTP shares, so they all behave the
//! same way towards a slow, failing or misconfigured server:
//!
//! - [`HttpClient`]: `reqwest` on a private tokio runtime, called blocking, with a connect
//!   timeout and a whole-request timeout (a stalled server can never hang a run) that, given the
//!   output's host ([`HttpClient::set_host`]), is also cut short by the host's stop deadline,
//!   TLS options ([`TlsOptions`]: skip-verify, extra CA file, client certificate, minimum
//!   [`TlsVersion`]), a proxy (the option's, else the environment's), pooled connections and
//!   gzip request bodies. [`HttpClient::post_once`] for backends that would count a resent
//!   body twice.
//! - [`Outcome`]: the ONE place where a response or a transport error is turned into what the
//!   plugin should do with the batch (see the `classify` module for the policy table).
//! - [`Endpoint`]: a URL as it may appear in logs and errors: no userinfo, secret-looking query
//!   values masked.
//! - [`split_lines`]: cuts a newline-separated body into requests bounded in bytes and lines.
//! - [`RejectLog`]: counts batches the server refused for good, and says why once per status.
//!
//! A plugin's `write` typically encodes the batch, sends each chunk with
//! [`HttpClient::post`], and maps the [`Outcome`]: `Delivered` → carry on, `Retry` →
//! `WriteStatus::Retry` (the host owns backoff), `Rejected` → count it with [`RejectLog`] and
//! carry on, `Fatal` → `WriteStatus::Fatal`.

mod body;
mod classify;
mod client;
mod connects;
mod endpoint;
mod options;
mod proxy;
mod reject;
mod split;
mod tls;
mod tls_version;
mod unconfirmed;

pub use classify::{parse_rate_limit_reset, parse_retry_after, Outcome, MAX_RETRY_AFTER_MS};
pub use client::{
    basic_auth_header, gzip, request_budget, stop_cap, Budget, HttpClient, HttpConfig, Unconfirmed,
    QUICK_FAILURE_HOLD, STOP_MARGIN,
};
pub use endpoint::{Endpoint, SafeUrl};
pub use options::{basic_auth, TlsNames};
pub use reject::RejectLog;
pub use split::{split_lines, LineChunks};
pub use tls::TlsOptions;
pub use tls_version::{InvalidTlsVersion, TlsVersion, TLS_VERSION_MISMATCH, UNTRUSTED_CERTIFICATE};
pub use unconfirmed::{UnconfirmedLog, COUNTER_UNCONFIRMED_REQUESTS};

/// For [`tls_files!`]; not part of the public API.
#[doc(hidden)]
pub mod __spec {
    pub use loadrun_plugin_api::{Kind, OptionSpec};
}

/// Re-exported so plugins parse URLs with the same crate the client uses.
pub use url::Url;

/// A configuration error found while building a client (bad CA file, bad proxy URL, ...).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {what} {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{what} {path} holds no usable PEM {expected}")]
    Pem {
        what: &'static str,
        path: String,
        expected: &'static str,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("invalid proxy URL {0}: {1}")]
    Proxy(String, String),
    #[error("cannot start the HTTP client's runtime: {0}")]
    Runtime(String),
    #[error("HTTP client setup failed: {0}")]
    Client(String),
}
