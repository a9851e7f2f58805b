//! `-o NAME=ARG` as loadrun shows it (the run banner): the values of options the plugin marks
//! secret, and passwords in URLs, replaced by `***`. Users put API keys and passwords in `-o`
//! arguments, and terminals, CI logs and screen shares are not the place for them.

use loadrun_plugin_api::options::percent_decode;

const MASK: &str = "***";

/// `NAME` or `NAME=ARG` with secrets masked; `secret(key)` says whether an option is secret.
pub fn redacted_spec(name: &str, arg: Option<&str>, secret: &dyn Fn(&str) -> bool) -> String {
    match arg {
        None => name.to_string(),
        Some(arg) => format!("{name}={}", redacted_arg(arg, secret)),
    }
}

fn redacted_arg(arg: &str, secret: &dyn Fn(&str) -> bool) -> String {
    // Split as the plugin will (quotes keep their commas), so a quoted secret is masked whole.
    // An unterminated quote fails the run later; until then, split on every comma.
    let pieces: Vec<(Option<String>, String)> = match loadrun_plugin_api::options::split_pieces(arg)
    {
        Ok(list) => list.into_iter().map(|p| (p.key, p.raw)).collect(),
        Err(_) => arg
            .split(',')
            .map(|p| (p.split_once('=').map(|(k, _)| k.to_string()), p.to_string()))
            .collect(),
    };
    let mut out: Vec<String> = Vec::new();
    // A piece without `=` continues the previous value (lists such as `tags=a,b`): it is
    // secret when that value was.
    let mut in_secret = false;
    for (key, raw) in pieces {
        match key {
            Some(key) if !key.contains(['/', ':', '?', ' ']) => {
                in_secret = secret(key.trim());
                let value = raw.get(key.len() + 1..).unwrap_or("");
                if in_secret {
                    out.push(format!("{key}={MASK}"));
                } else {
                    out.push(format!("{key}={}", url_masked(value, secret)));
                }
            }
            _ if in_secret => {}
            _ => out.push(url_masked(&raw, secret)),
        }
    }
    out.join(",")
}

/// A URL's password and the values of its secret query pairs masked (an output whose `-o`
/// argument is a URL reads its query pairs as options: `?token=...`). Keys are decoded as the
/// output decodes them, so `?tok%65n=...` is masked as the `token` it is.
fn url_masked(text: &str, secret: &dyn Fn(&str) -> bool) -> String {
    let text = url_password_masked(text);
    let Some((base, query)) = text.split_once('?') else {
        return text;
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if secret(&percent_decode(k)) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{base}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `scheme://user:password@host…` → `scheme://user:***@host…`; anything else unchanged.
pub fn url_password_masked(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_string();
    };
    let userinfo = &rest[..at];
    let Some(colon) = userinfo.find(':') else {
        return text.to_string();
    };
    format!(
        "{}{}:{MASK}{}",
        &text[..scheme_end + 3],
        &userinfo[..colon],
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(spec: &str) -> String {
        let (name, arg) = match spec.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (spec, None),
        };
        redacted_spec(name, arg, &|k| {
            ["password", "token", "apiKey", "sigV4SecretKey"].contains(&k)
        })
    }

    #[test]
    fn secret_options_are_masked_and_others_kept() {
        assert_eq!(shown("json=out.json"), "json=out.json");
        assert_eq!(shown("influxdb"), "influxdb");
        assert_eq!(
            shown("influxdb=url=http://h:8086,token=abc,bucket=b"),
            "influxdb=url=http://h:8086,token=***,bucket=b"
        );
        assert_eq!(
            shown("prometheus=sigV4Region=eu-west-1,sigV4SecretKey=s3cr3t,sigV4AccessKey=AKIA"),
            "prometheus=sigV4Region=eu-west-1,sigV4SecretKey=***,sigV4AccessKey=AKIA"
        );
    }

    #[test]
    fn a_secret_value_with_commas_is_masked_whole() {
        assert_eq!(
            shown("x=password=a,b,c,tags=t1,t2"),
            "x=password=***,tags=t1,t2"
        );
    }

    #[test]
    fn a_quoted_secret_is_masked_whole() {
        // The plugin reads `token` as `a,b=c`: none of it may show.
        assert_eq!(
            shown(r#"x=token="a,b=c",bucket='b,1'"#),
            "x=token=***,bucket='b,1'"
        );
    }

    #[test]
    fn secret_query_pairs_of_a_url_are_masked() {
        assert_eq!(
            shown("x=http://h:1/p?org=o&token=abc&b=1"),
            "x=http://h:1/p?org=o&token=***&b=1"
        );
        assert_eq!(
            shown("x=url=http://u:pw@h/?apiKey=k#f,queueSize=1"),
            "x=url=http://u:***@h/?apiKey=***#f,queueSize=1"
        );
    }

    #[test]
    fn an_escaped_secret_query_key_is_masked() {
        assert_eq!(
            shown("influxdb=http://h/db?tok%65n=abc&b=1"),
            "influxdb=http://h/db?tok%65n=***&b=1"
        );
        assert_eq!(
            shown("x=url=http://h/?api%4Bey=k,queueSize=1"),
            "x=url=http://h/?api%4Bey=***,queueSize=1"
        );
    }

    #[test]
    fn url_passwords_are_masked_in_positional_and_keyed_urls() {
        assert_eq!(
            shown("influxdb=http://user:pa:ss@127.0.0.1:8086/k6,queueSize=10"),
            "influxdb=http://user:***@127.0.0.1:8086/k6,queueSize=10"
        );
        assert_eq!(
            shown("timescaledb=url=postgresql://k6:pw@db/k6?sslmode=require"),
            "timescaledb=url=postgresql://k6:***@db/k6?sslmode=require"
        );
        // No password, or an @ after the authority: unchanged.
        assert_eq!(shown("x=url=http://user@h/a@b"), "x=url=http://user@h/a@b");
        assert_eq!(
            shown("x=url=http://h/p?u=a:b@c"),
            "x=url=http://h/p?u=a:b@c"
        );
    }
}
