//! Which proxy a request goes through: the output's `proxy` option for every request, else the
//! environment's, as k6's outputs (Go's `http.ProxyFromEnvironment`) take it.
//!
//! The environment: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones (lower-case names
//! too), `ALL_PROXY` for both when those are not set, and `NO_PROXY` (hosts, domains,
//! `*`, IP ranges) for the ones that go direct. Like Go, requests to loopback (`localhost`,
//! `127.0.0.0/8`, `::1`) never go through an environment proxy: a local test server stays
//! reachable on a machine whose shell exports a company proxy.

use reqwest::{NoProxy, Proxy};

use crate::endpoint::Endpoint;
use crate::ConfigError;

/// Never through an environment proxy (Go's rule).
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";

/// The proxies for a client: `option` (an `http://[user:pass@]host:port` URL; its userinfo
/// becomes `Proxy-Authorization`) for every request, else the environment's.
pub(crate) fn proxies(option: Option<&str>) -> Result<Vec<Proxy>, ConfigError> {
    if let Some(url) = option.map(str::trim).filter(|u| !u.is_empty()) {
        return Ok(vec![Proxy::all(url).map_err(|e| invalid(url, "", e))?]);
    }
    from_env(|name| std::env::var(name).ok())
}

fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Vec<Proxy>, ConfigError> {
    let get = |upper: &str| {
        var(upper)
            .or_else(|| var(&upper.to_ascii_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let no_proxy = match get("NO_PROXY") {
        Some(list) => format!("{list},{LOOPBACK}"),
        None => LOOPBACK.to_string(),
    };
    let mut out = Vec::new();
    type Make = fn(&str) -> reqwest::Result<Proxy>;
    let by_scheme: [(&str, Make); 3] = [
        ("HTTPS_PROXY", |u| Proxy::https(u)),
        ("HTTP_PROXY", |u| Proxy::http(u)),
        ("ALL_PROXY", |u| Proxy::all(u)),
    ];
    for (name, make) in by_scheme {
        if let Some(url) = get(name) {
            let proxy = make(url.trim()).map_err(|e| invalid(&url, name, e))?;
            out.push(proxy.no_proxy(NoProxy::from_string(&no_proxy)));
        }
    }
    Ok(out)
}

fn invalid(url: &str, var: &str, e: reqwest::Error) -> ConfigError {
    let shown = Endpoint::from_text(url).to_string();
    let shown = if var.is_empty() {
        shown
    } else {
        format!("{shown} (from {var})")
    };
    ConfigError::Proxy(shown, crate::classify::error_chain(&e.without_url()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_names_one_proxy_per_scheme() {
        assert!(from_env(env(&[])).unwrap().is_empty());
        let both = from_env(env(&[
            ("https_proxy", "http://p:3128"),
            ("HTTP_PROXY", "http://q:3128"),
            ("NO_PROXY", ""),
        ]))
        .unwrap();
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn a_bad_proxy_url_names_its_variable_never_its_password() {
        let e = from_env(env(&[("HTTPS_PROXY", "http://u:hunter2@[::1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("HTTPS_PROXY") && !e.contains("hunter2"), "{e}");
        let e = proxies(Some("http://u:pw@[bad")).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid proxy URL") && !e.contains("pw@"),
            "{e}"
        );
    }
}
