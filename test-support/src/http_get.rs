//! Reading back what a server holds over plain HTTP: a blocking `reqwest` client (the same
//! HTTP stack as the outputs).

use std::sync::{Arc, OnceLock};

/// The client, made once. Its TLS is set up here, with ring like the outputs', because the
/// outputs' `reqwest` (features unified in test builds) brings no provider of its own; it
/// trusts no root, as every server read back here speaks plain HTTP.
fn client() -> Result<&'static reqwest::blocking::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            reqwest::blocking::Client::builder()
                .tls_backend_preconfigured(tls)
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `GET url` with `query` pairs added (URL-encoded): the body, or why not (a transport error or
/// a status other than 2xx, with the body).
pub fn get_text(url: &str, query: &[(&str, &str)]) -> Result<String, String> {
    let mut full = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    // Not `parse_with_params`: with no pairs it leaves a bare `?`, a path some servers refuse.
    if !query.is_empty() {
        full.query_pairs_mut().extend_pairs(query);
    }
    text(client()?.get(full))
}

/// [`get_text`], read as JSON.
pub fn get_json(url: &str, query: &[(&str, &str)]) -> Result<serde_json::Value, String> {
    let body = get_text(url, query)?;
    serde_json::from_str(&body).map_err(|e| format!("{url}: {e}: {body}"))
}

/// `POST url` with an empty body: the answer's body, or why not.
pub fn post_empty(url: &str) -> Result<String, String> {
    text(client()?.post(url))
}

fn text(req: reqwest::blocking::RequestBuilder) -> Result<String, String> {
    let resp = req.send().map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.text().map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}
