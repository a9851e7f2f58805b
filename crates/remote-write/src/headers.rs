//! The extra request headers of a remote-write output: the `headers` option (`k1:v1,k2:v2`, or
//! a table in the plan) and k6's `K6_PROMETHEUS_RW_HEADERS_<Name>=value` variables, a family of
//! names no option declaration can list. Values may be credentials: they are [`Secret`]s.

use loadrun_plugin_api::spec::is_header_name;
use loadrun_plugin_api::Secret;

use crate::sigv4;

const ENV_PREFIX: &str = "K6_PROMETHEUS_RW_HEADERS_";

/// The `headers` option's pairs (names checked by the declaration), then the environment's by
/// name. With SigV4 signing no header may be one the signature sets. The error is one line
/// naming the option or variable.
pub fn extra_headers<'a>(
    mut headers: Vec<(String, Secret)>,
    env: impl Iterator<Item = (&'a str, &'a str)>,
    sigv4: bool,
) -> Result<Vec<(String, Secret)>, String> {
    let mut from_env: Vec<(String, Secret)> = env
        .filter_map(|(k, v)| Some((k.strip_prefix(ENV_PREFIX)?.to_string(), v.into())))
        .collect();
    from_env.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, value) in from_env {
        if !is_header_name(&k) {
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
