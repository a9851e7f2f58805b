//! Reading back what a server holds over plain HTTP: a blocking `reqwest` client (the same
//! HTTP stack as the outputs, without TLS).

use std::sync::OnceLock;

fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::blocking::Client::new)
}

/// `GET url` with `query` pairs added (URL-encoded): the body, or why not (a transport error or
/// a status other than 2xx, with the body).
pub fn get_text(url: &str, query: &[(&str, &str)]) -> Result<String, String> {
    let full = reqwest::Url::parse_with_params(url, query).map_err(|e| format!("{url}: {e}"))?;
    text(client().get(full))
}

/// [`get_text`], read as JSON.
pub fn get_json(url: &str, query: &[(&str, &str)]) -> Result<serde_json::Value, String> {
    let body = get_text(url, query)?;
    serde_json::from_str(&body).map_err(|e| format!("{url}: {e}: {body}"))
}

/// `POST url` with an empty body: the answer's body, or why not.
pub fn post_empty(url: &str) -> Result<String, String> {
    text(client().post(url))
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
