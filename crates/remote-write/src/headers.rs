//! The extra request headers of a remote-write output: the `headers` option (`k1:v1,k2:v2`, or
//! a table in the plan) and k6's `K6_PROMETHEUS_RW_HEADERS_<Name>=value` variables, a family of
//! names no option declaration can list. Values may be credentials: they are [`Secret`]s.

use loadrun_plugin_api::Secret;

use crate::sigv4;

const ENV_PREFIX: &str = "K6_PROMETHEUS_RW_HEADERS_";

/// The `headers` option's pairs, then the environment's by name. With SigV4 signing no header
/// may be one the signature sets. The error is one line naming the option or variable.
pub fn extra_headers<'a>(
    option: Option<&str>,
    env: impl Iterator<Item = (&'a str, &'a str)>,
    sigv4: bool,
) -> Result<Vec<(String, Secret)>, String> {
    let mut headers = match option {
        Some(text) => parse_headers(text).map_err(|m| format!("headers: {m}"))?,
        None => Vec::new(),
    };
    let mut from_env: Vec<(String, Secret)> = env
        .filter_map(|(k, v)| Some((k.strip_prefix(ENV_PREFIX)?.to_string(), v.into())))
        .collect();
    from_env.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, value) in from_env {
        if !valid_header_name(&k) {
            return Err(format!("{ENV_PREFIX}{k}: {k:?} is not a valid header name"));
        }
        headers.push((k, value));
    }
    let reserved = |k: &str| {
        sigv4::RESERVED_HEADERS
            .iter()
            .any(|r| k.eq_ignore_ascii_case(r))
    };
    match headers.iter().find(|(k, _)| sigv4 && reserved(k)) {
        Some((k, _)) => Err(format!(
            "headers: {k} is set by SigV4 signing (sigV4*) and cannot be an extra header"
        )),
        None => Ok(headers),
    }
}

/// `k1:v1,k2:v2`, or a JSON object (a plan table arrives as its JSON text).
fn parse_headers(text: &str) -> Result<Vec<(String, Secret)>, String> {
    let mut out = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            out.push((k, Secret::new(v)));
        }
    } else {
        for piece in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = piece
                .split_once(':')
                .ok_or_else(|| "expected name:value pairs separated by commas".to_string())?;
            out.push((k.trim().to_string(), Secret::new(v.trim())));
        }
    }
    match out.iter().find(|(k, _)| !valid_header_name(k)) {
        Some((k, _)) => Err(format!("{k:?} is not a valid header name")),
        None => Ok(out),
    }
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
