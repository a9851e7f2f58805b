//! k6's modules, one file each. A module is JavaScript source over the natives of
//! [`crate::natives`] (the hidden global `__loadrun`); adding one is a file here and a line in
//! [`BUILTIN`].

mod crypto;
mod data;
mod encoding;
mod execution;
mod globals;
mod http;
mod k6;
mod k6_summary;
mod metrics;

pub use globals::SOURCE as GLOBALS;

/// The modules a script may import, by their k6 name.
const BUILTIN: [(&str, &str); 7] = [
    ("k6", k6::SOURCE),
    ("k6/crypto", crypto::SOURCE),
    ("k6/data", data::SOURCE),
    ("k6/encoding", encoding::SOURCE),
    ("k6/execution", execution::SOURCE),
    ("k6/http", http::SOURCE),
    ("k6/metrics", metrics::SOURCE),
];

/// k6 modules loadrun does not have yet, so their refusal says so rather than "unknown".
const NOT_YET: [&str; 8] = [
    "k6/ws",
    "k6/browser",
    "k6/experimental/browser",
    "k6/experimental/websockets",
    "k6/experimental/streams",
    "k6/experimental/fs",
    "k6/net/grpc",
    "k6/html",
];

/// The source of a built-in module.
pub fn source(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .or_else(|| k6_summary::source(name))
}

/// Why `name` cannot be imported, for the one-line refusal.
pub fn refusal(name: &str) -> String {
    let have: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    if NOT_YET.contains(&name) || name.starts_with("k6/") {
        format!(
            "module {name:?} is not supported by loadrun yet (supported: {})",
            have.join(", ")
        )
    } else if name.starts_with("http://") || name.starts_with("https://") {
        format!(
            "remote module {name:?} is not supported (loadrun makes no network imports): vendor it with `curl -fsSL -o vendor/{file} '{name}'` and import \"./vendor/{file}\" instead; built in: {}",
            k6_summary::urls().collect::<Vec<_>>().join(", "),
            file = vendored_name(name),
        )
    } else {
        format!(
            "unknown module {name:?}: import a file by a relative path (\"./{name}.js\") or one of {}",
            have.join(", ")
        )
    }
}

/// A file name for a vendored copy of a remote module: its last path segment, `.js` added
/// when it has no extension.
fn vendored_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("module");
    if last.contains('.') {
        last.to_string()
    } else {
        format!("{last}.js")
    }
}
