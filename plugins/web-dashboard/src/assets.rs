//! The page's files, embedded at build time from `assets/` (see build.rs).

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// An embedded file by name (`dashboard.js`, `./dashboard.js`).
pub fn get(name: &str) -> Option<&'static [u8]> {
    let name = name.strip_prefix("./").unwrap_or(name);
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The Content-Type of an asset, by its extension.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
