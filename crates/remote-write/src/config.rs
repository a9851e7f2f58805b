//! Options of the `prometheus` and `grafana-cloud` outputs: names, k6's environment variables,
//! defaults, validation. One table drives both parsing and `loadrun plugins info`.

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{TlsOptions, TlsVersion, Url};
use loadrun_plugin_api::{OptionDoc, Options, OutputInit, PluginError};

use crate::naming::{parse_trend_stats, TrendStat};
use crate::proto::Label;
use crate::sigv4::{self, SigV4};

/// The oldest TLS version accepted by default: 1.3, as k6 from v1.2 on. Every current
/// remote-write receiver that serves HTTPS (Prometheus and Mimir built with Go ≥ 1.13, Amazon
/// Managed Service for Prometheus, Grafana Cloud) speaks it; a server that only speaks 1.2 is
/// a clear error naming `tlsMinimumVersion`, which relaxes it.
pub const DEFAULT_TLS_MIN_VERSION: TlsVersion = TlsVersion::Tls13;

/// Which output the options are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `-o prometheus` / `experimental-prometheus-rw`: k6's options and defaults.
    Prometheus,
    /// `-o grafana-cloud`: a stack URL, instance id and token are required; a `testid` label.
    GrafanaCloud,
}

/// How requests authenticate. Its `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer(String),
    /// Every request attempt is signed (Amazon Managed Service for Prometheus).
    SigV4(SigV4),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::SigV4(s) => write!(
                f,
                "SigV4({}, {}, ***)",
                s.region,
                s.credentials.access_key_id()
            ),
        }
    }
}

/// Everything a remote-write output needs, validated.
#[derive(Debug, Clone)]
pub struct RwConfig {
    pub output: String,
    pub url: Url,
    pub push_interval: Duration,
    pub trend_stats: Vec<(TrendStat, String)>,
    /// `Some(schema)` when trends go out as native histograms.
    pub native_histogram_schema: Option<i32>,
    pub stale_markers: bool,
    pub auth: Auth,
    /// Extra request headers, in a stable order. May hold secrets: never logged.
    pub headers: Vec<(String, String)>,
    pub tls: TlsOptions,
    pub timeout: Duration,
    pub max_series_per_request: usize,
    pub max_request_bytes: usize,
    pub metadata_as_labels: bool,
    pub extra_labels: Vec<Label>,
}

/// One option: its name, the environment variables that set it (first wins), its default.
#[derive(Debug, Clone)]
pub struct OptSpec {
    pub name: &'static str,
    pub env: Vec<&'static str>,
    pub default: &'static str,
    pub description: &'static str,
    pub secret: bool,
}

const P: &str = "K6_PROMETHEUS_RW_";

fn spec(
    name: &'static str,
    env: &[&'static str],
    default: &'static str,
    description: &'static str,
) -> OptSpec {
    OptSpec {
        name,
        env: env.to_vec(),
        default,
        description,
        secret: false,
    }
}

/// The option table of a flavor.
pub fn option_specs(flavor: Flavor) -> Vec<OptSpec> {
    let gc = flavor == Flavor::GrafanaCloud;
    let mut v = Vec::new();
    if gc {
        v.push(spec(
            "url",
            &["GRAFANA_CLOUD_PROMETHEUS_URL", "GCLOUD_HOSTED_METRICS_URL", "K6_PROMETHEUS_RW_SERVER_URL"],
            "",
            "the stack's remote-write URL, https://prometheus-….grafana.net/api/prom/push (required)",
        ));
        v.push(spec(
            "instanceId",
            &[
                "GRAFANA_CLOUD_INSTANCE_ID",
                "GCLOUD_HOSTED_METRICS_ID",
                "K6_PROMETHEUS_RW_USERNAME",
            ],
            "",
            "the stack's Prometheus instance id (numeric), sent as the Basic-auth user (required)",
        ));
        v.push(OptSpec {
            secret: true,
            ..spec(
                "token",
                &["GRAFANA_CLOUD_TOKEN", "GCLOUD_RW_API_KEY", "K6_PROMETHEUS_RW_PASSWORD"],
                "",
                "an access-policy token with the metrics:write scope, sent as the Basic-auth password (required)",
            )
        });
        v.push(spec(
            "testId",
            &["GRAFANA_CLOUD_TEST_ID"],
            "the run's id",
            "value of the `testid` label added to every series (unless a `testid` tag is set); empty: no label",
        ));
        v.push(spec(
            "pushInterval",
            &[
                "GRAFANA_CLOUD_PUSH_INTERVAL",
                "K6_PROMETHEUS_RW_PUSH_INTERVAL",
            ],
            "15s",
            "how often changed series are pushed (Grafana Cloud bills data points per minute)",
        ));
    } else {
        v.push(spec(
            "url",
            &["K6_PROMETHEUS_RW_SERVER_URL"],
            "http://localhost:9090/api/v1/write",
            "remote-write endpoint",
        ));
        v.push(spec(
            "pushInterval",
            &["K6_PROMETHEUS_RW_PUSH_INTERVAL"],
            "5s",
            "how often changed series are pushed",
        ));
    }
    v.extend([
        spec("trendStats", &["K6_PROMETHEUS_RW_TREND_STATS"], "p(99)",
            "trend statistics sent as series k6_<name>_<stat>: count, sum, min, max, avg, med, p(N)"),
        spec("trendAsNativeHistogram", &["K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"], "false",
            "send trends as native histograms k6_<name>_seconds (the server needs --enable-feature=native-histograms)"),
        spec("nativeHistogramSchema", &["K6_PROMETHEUS_RW_NATIVE_HISTOGRAM_SCHEMA"], "3",
            "native-histogram resolution, -4..8 (3: buckets grow by 9 %, as k6)"),
        spec("staleMarkers", &["K6_PROMETHEUS_RW_STALE_MARKERS"], "false",
            "at the end, mark every series stale so it ends at once in queries"),
    ]);
    if !gc {
        v.push(spec(
            "username",
            &["K6_PROMETHEUS_RW_USERNAME"],
            "",
            "Basic-auth user",
        ));
        v.push(OptSpec {
            secret: true,
            ..spec(
                "password",
                &["K6_PROMETHEUS_RW_PASSWORD"],
                "",
                "Basic-auth password",
            )
        });
        v.push(OptSpec {
            secret: true,
            ..spec(
                "bearerToken",
                &["K6_PROMETHEUS_RW_BEARER_TOKEN"],
                "",
                "sent as Authorization: Bearer (not with username/password)",
            )
        });
    }
    v.push(OptSpec {
        secret: true,
        ..spec("headers", &["K6_PROMETHEUS_RW_HTTP_HEADERS"], "",
            "extra headers, k1:v1,k2:v2 (also K6_PROMETHEUS_RW_HEADERS_<Name>=value); they never remove the auth header")
    });
    v.extend([
        spec("insecureSkipTLSVerify", &["K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY"], "false",
            "accept any server certificate"),
        spec("clientCertificate", &["K6_PROMETHEUS_RW_CLIENT_CERTIFICATE"], "",
            "PEM client certificate for mutual TLS"),
        spec("clientCertificateKey", &["K6_PROMETHEUS_RW_CLIENT_CERTIFICATE_KEY"], "",
            "PEM key of the client certificate"),
        spec("caCertificate", &["K6_PROMETHEUS_RW_CA_CERTIFICATE"], "",
            "PEM file of extra CA certificates to trust (loadrun only)"),
        spec("tlsMinimumVersion", &["K6_PROMETHEUS_RW_TLS_MINIMUM_VERSION"], "1.3",
            "oldest TLS version accepted for https:// URLs: 1.2 or 1.3 (k6 >= 1.2 defaults to 1.3 too)"),
        spec("timeout", &["K6_PROMETHEUS_RW_TIMEOUT"], "5s",
            "the most one request may take (loadrun only)"),
        spec("maxSeriesPerRequest", &["K6_PROMETHEUS_RW_MAX_SERIES_PER_REQUEST"], "2000",
            "a push with more series is split into several requests (loadrun only)"),
        spec("maxRequestBytes", &["K6_PROMETHEUS_RW_MAX_REQUEST_BYTES"], "2097152",
            "a push bigger than this (uncompressed protobuf) is split (loadrun only)"),
        spec("metadataAsLabels", &["K6_PROMETHEUS_RW_METADATA_AS_LABELS"], "false",
            "add k6's vu and iter metadata as labels: one series per VU and iteration, use only for short debugging runs (loadrun only)"),
    ]);
    if !gc {
        let (region, key, secret, token) = (
            sigv4::REGION,
            sigv4::ACCESS_KEY,
            sigv4::SECRET_KEY,
            sigv4::SESSION_TOKEN,
        );
        v.extend([
            spec(region.0, &[region.1], "",
                "AWS region to sign requests for (service aps, Amazon Managed Service for Prometheus); SigV4 needs region, access key and secret key together"),
            spec(key.0, &[key.1], "", "AWS access key id for SigV4 signing"),
            OptSpec {
                secret: true,
                ..spec(secret.0, &[secret.1], "", "AWS secret access key for SigV4 signing")
            },
            OptSpec {
                secret: true,
                ..spec(token.0, &[token.1], "",
                    "AWS session token of temporary credentials, sent as X-Amz-Security-Token (loadrun only)")
            },
        ]);
    }
    v
}

/// The option docs `loadrun plugins info` shows.
pub fn option_docs(flavor: Flavor) -> Vec<OptionDoc> {
    option_specs(flavor)
        .into_iter()
        .map(|s| OptionDoc {
            name: s.name.into(),
            env: s.env.join(",").into(),
            default: s.default.into(),
            description: s.description.into(),
            secret: s.secret,
        })
        .collect()
}

struct Reader<'a> {
    opts: &'a Options,
    specs: Vec<OptSpec>,
}

impl Reader<'_> {
    fn env(&self, name: &str) -> Vec<&'static str> {
        self.specs
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.env.clone())
            .unwrap_or_default()
    }

    fn get(&self, name: &str) -> Option<String> {
        self.opts
            .get(name, &self.env(name))
            .filter(|v| !v.trim().is_empty())
    }

    fn bool(&self, name: &str, default: bool) -> Result<bool, PluginError> {
        self.opts.get_bool(name, &self.env(name), default)
    }

    fn u64(&self, name: &str, default: u64) -> Result<u64, PluginError> {
        self.opts.get_u64(name, &self.env(name), default)
    }

    fn duration(&self, name: &str, default: Duration) -> Result<Duration, PluginError> {
        self.opts.get_duration(name, &self.env(name), default)
    }
}

/// Builds the configuration from the plan table, the environment and the `-o` argument.
///
/// Unlike k6 (which ignores it) the `-o` argument is read: a URL
/// (`-o prometheus=http://host:9090/api/v1/write`) or `key=value` pairs; a comma inside a value
/// is kept when the next piece has no `=`, so `trendStats=p(95),p(99),avg` works there too.
pub fn parse_config(init: &OutputInit, flavor: Flavor) -> Result<RwConfig, PluginError> {
    let mut opts = Options::from_init(init)?;
    let output = opts.output().to_string();
    if let Some(pos) = opts.positional().map(str::to_string) {
        for (k, v) in lenient_pairs(&pos).ok_or_else(|| {
            PluginError::new(format!(
                "{output}: the -o argument must be a URL or key=value pairs, got {:?}",
                loadrun_http_support::Endpoint::from_text(&pos).as_str()
            ))
        })? {
            opts.add_arg_pair(&k, &v);
        }
    }
    let specs = option_specs(flavor);
    let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
    opts.reject_unknown(&known)?;
    let r = Reader { opts: &opts, specs };
    let err = |m: String| PluginError::new(format!("{output}: {m}"));

    let default_url = match flavor {
        Flavor::Prometheus => Some("http://localhost:9090/api/v1/write".to_string()),
        Flavor::GrafanaCloud => None,
    };
    let url_text = r.get("url").or(default_url).ok_or_else(|| {
        err(
            "the stack's remote-write URL is required: set GRAFANA_CLOUD_PROMETHEUS_URL or url= \
             (Grafana Cloud portal → your stack → Prometheus → Remote Write Endpoint)"
                .into(),
        )
    })?;
    let url = Url::parse(url_text.trim()).map_err(|e| {
        err(format!(
            "url {} is not a valid URL: {e}",
            loadrun_http_support::Endpoint::from_text(&url_text)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(format!(
            "url {} must be http:// or https://",
            loadrun_http_support::Endpoint::new(&url)
        )));
    }

    let default_interval = match flavor {
        Flavor::Prometheus => Duration::from_secs(5),
        Flavor::GrafanaCloud => Duration::from_secs(15),
    };
    let push_interval = r.duration("pushInterval", default_interval)?;
    if push_interval < Duration::from_millis(1) {
        return Err(err("pushInterval must be at least 1ms".into()));
    }

    let stats_list = r
        .get("trendStats")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .unwrap_or_else(|| vec!["p(99)".to_string()]);
    let trend_stats =
        parse_trend_stats(&stats_list).map_err(|m| err(format!("trendStats: {m}")))?;
    if trend_stats.is_empty() {
        return Err(err("trendStats is empty".into()));
    }
    let native = r.bool("trendAsNativeHistogram", false)?;
    let schema_text = r.get("nativeHistogramSchema").unwrap_or_else(|| "3".into());
    let schema: i32 = schema_text
        .trim()
        .parse()
        .ok()
        .filter(|s| (-4..=8).contains(s))
        .ok_or_else(|| {
            opts.invalid(
                "nativeHistogramSchema",
                &schema_text,
                "a whole number from -4 to 8",
            )
        })?;

    let auth = match flavor {
        Flavor::GrafanaCloud => {
            let username = r.get("instanceId").ok_or_else(|| {
                err(
                    "the instance id is required: set GRAFANA_CLOUD_INSTANCE_ID or instanceId="
                        .into(),
                )
            })?;
            let password = r.get("token").ok_or_else(|| {
                err("an access-policy token is required: set GRAFANA_CLOUD_TOKEN (metrics:write scope)".into())
            })?;
            Auth::Basic {
                username: username.trim().to_string(),
                password: password.trim().to_string(),
            }
        }
        Flavor::Prometheus => {
            let user = r.get("username");
            let pass = r.get("password");
            let bearer = r.get("bearerToken");
            match (user, pass, bearer) {
                (None, None, None) => Auth::None,
                (None, None, Some(t)) => Auth::Bearer(t.trim().to_string()),
                (u, p, None) => Auth::Basic {
                    username: u.unwrap_or_default(),
                    password: p.unwrap_or_default(),
                },
                _ => {
                    return Err(err(
                        "set either username/password or bearerToken, not both".into()
                    ))
                }
            }
        }
    };

    let auth =
        match (flavor, sigv4_options(&r).map_err(|e| err(e.to_string()))?) {
            (_, None) => auth,
            (Flavor::Prometheus, Some(sig)) if auth == Auth::None => Auth::SigV4(sig),
            (_, Some(_)) => return Err(err(
                "SigV4 signing (sigV4*) cannot be combined with username/password or bearerToken: \
                 both set the Authorization header; use one"
                    .into(),
            )),
        };
    if matches!(auth, Auth::SigV4(_)) && (!url.username().is_empty() || url.password().is_some()) {
        return Err(err(
            "SigV4 signing (sigV4*) cannot be combined with user:password in the URL (Basic auth): \
             both set the Authorization header"
                .into(),
        ));
    }

    let mut headers = Vec::new();
    if let Some(h) = r.get("headers") {
        headers.extend(parse_headers(&h).map_err(|m| err(format!("headers: {m}")))?);
    }
    let mut from_env: Vec<(String, String)> = init
        .env
        .iter()
        .filter_map(|kv| {
            let name = kv.key.as_str().strip_prefix(P)?.strip_prefix("HEADERS_")?;
            Some((name.to_string(), kv.value.to_string()))
        })
        .collect();
    from_env.sort();
    for (k, v) in from_env {
        if !valid_header_name(&k) {
            return Err(err(format!(
                "{P}HEADERS_{k}: {k:?} is not a valid header name"
            )));
        }
        headers.push((k, v));
    }
    if matches!(auth, Auth::SigV4(_)) {
        if let Some((k, _)) = headers.iter().find(|(k, _)| {
            sigv4::RESERVED_HEADERS
                .iter()
                .any(|r| k.eq_ignore_ascii_case(r))
        }) {
            return Err(err(format!(
                "headers: {k} is set by SigV4 signing (sigV4*) and cannot be an extra header"
            )));
        }
    }

    let path = |name: &str| r.get(name).map(|p| PathBuf::from(p.trim()));
    let min_version = match r.get("tlsMinimumVersion") {
        None => DEFAULT_TLS_MIN_VERSION,
        Some(v) => v
            .parse::<TlsVersion>()
            .map_err(|e| err(format!("tlsMinimumVersion: {e}")))?,
    };
    let tls = TlsOptions {
        insecure_skip_verify: r.bool("insecureSkipTLSVerify", false)?,
        ca_file: path("caCertificate"),
        client_cert: path("clientCertificate"),
        client_key: path("clientCertificateKey"),
        min_version,
    };
    if tls.client_cert.is_some() != tls.client_key.is_some() {
        return Err(err(
            "clientCertificate and clientCertificateKey go together".into(),
        ));
    }

    let timeout = r.duration("timeout", Duration::from_secs(5))?;
    if timeout.is_zero() {
        return Err(err("timeout must be more than 0".into()));
    }
    let max_series_per_request = r.u64("maxSeriesPerRequest", 2000)?.max(1) as usize;
    let max_request_bytes = r.u64("maxRequestBytes", 2 * 1024 * 1024)?.max(1024) as usize;
    let metadata_as_labels = r.bool("metadataAsLabels", false)?;

    let mut extra_labels = Vec::new();
    if flavor == Flavor::GrafanaCloud {
        let id = match opts.get("testId", &r.env("testId")) {
            Some(v) => v.trim().to_string(),
            None => init.test.test_id.to_string(),
        };
        if !id.is_empty() {
            extra_labels.push(Label::new("testid", id));
        }
    }

    Ok(RwConfig {
        output,
        url,
        push_interval,
        trend_stats,
        native_histogram_schema: native.then_some(schema),
        stale_markers: r.bool("staleMarkers", false)?,
        auth,
        headers,
        tls,
        timeout,
        max_series_per_request,
        max_request_bytes,
        metadata_as_labels,
        extra_labels,
    })
}

/// The signer the `sigV4*` options describe (none for `grafana-cloud`, which has no such
/// options).
fn sigv4_options(r: &Reader<'_>) -> Result<Option<SigV4>, sigv4::SigV4ConfigError> {
    sigv4::from_options(
        r.get(sigv4::REGION.0),
        r.get(sigv4::ACCESS_KEY.0),
        r.get(sigv4::SECRET_KEY.0),
        r.get(sigv4::SESSION_TOKEN.0),
    )
}

/// `key=value` pairs where a piece without `=` continues the previous value (so values may
/// hold commas); `None` when the first piece has no `=`.
fn lenient_pairs(arg: &str) -> Option<Vec<(String, String)>> {
    if arg.contains("://")
        && !arg.contains(',')
        && !arg.split_once("://").is_some_and(|(k, _)| k.contains('='))
    {
        return Some(vec![("url".into(), arg.into())]);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in arg.split(',') {
        match piece.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push((k.trim().to_string(), v.to_string()));
            }
            _ => {
                let last = out.last_mut()?;
                last.1.push(',');
                last.1.push_str(piece);
            }
        }
    }
    Some(out)
}

/// `k1:v1,k2:v2`, or a JSON object (from the plan table).
fn parse_headers(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            out.push((k, v));
        }
    } else {
        for piece in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = piece
                .split_once(':')
                .ok_or_else(|| "expected name:value pairs separated by commas".to_string())?;
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    for (k, _) in &out {
        if !valid_header_name(k) {
            return Err(format!("{k:?} is not a valid header name"));
        }
    }
    Ok(out)
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::init;

    #[test]
    fn defaults_are_k6s() {
        let c = parse_config(&init("prometheus", None, "", &[]), Flavor::Prometheus).unwrap();
        assert_eq!(c.url.as_str(), "http://localhost:9090/api/v1/write");
        assert_eq!(c.push_interval, Duration::from_secs(5));
        assert_eq!(c.trend_stats.len(), 1);
        assert_eq!(c.trend_stats[0].1, "p99");
        assert_eq!(c.native_histogram_schema, None);
        assert_eq!(c.auth, Auth::None);
    }

    #[test]
    fn arg_beats_env_and_keeps_commas() {
        let env = [
            (
                "K6_PROMETHEUS_RW_SERVER_URL",
                "http://env:9090/api/v1/write",
            ),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "10s"),
            ("K6_PROMETHEUS_RW_TREND_STATS", "avg"),
        ];
        let c = parse_config(
            &init(
                "prometheus",
                Some("url=http://arg:9090/api/v1/write,trendStats=p(95),p(99.9),count,pushInterval=1s"),
                "",
                &env,
            ),
            Flavor::Prometheus,
        )
        .unwrap();
        assert_eq!(c.url.host_str(), Some("arg"));
        assert_eq!(c.push_interval, Duration::from_secs(1));
        let s: Vec<_> = c.trend_stats.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(s, ["p95", "p999", "count"]);
        let c = parse_config(
            &init("prometheus", Some("https://h/api/v1/write"), "", &env),
            Flavor::Prometheus,
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "https://h/api/v1/write");
        assert_eq!(c.push_interval, Duration::from_secs(10));
    }

    #[test]
    fn headers_from_both_env_forms_and_auth_kept() {
        let env = [
            ("K6_PROMETHEUS_RW_USERNAME", "u"),
            ("K6_PROMETHEUS_RW_PASSWORD", "p"),
            ("K6_PROMETHEUS_RW_HTTP_HEADERS", "X-A:1, X-B:two"),
            ("K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID", "tenant"),
        ];
        let c = parse_config(&init("prometheus", None, "", &env), Flavor::Prometheus).unwrap();
        assert_eq!(
            c.headers,
            [("X-A", "1"), ("X-B", "two"), ("X-Scope-OrgID", "tenant")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(
            c.auth,
            Auth::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert!(!format!("{c:?}").contains("\"p\""));
        let c = parse_config(
            &init("prometheus", None, r#"{"headers":{"X-C":"3"}}"#, &[]),
            Flavor::Prometheus,
        )
        .unwrap();
        assert_eq!(c.headers, [("X-C".to_string(), "3".to_string())]);
    }

    #[test]
    fn rejects_bad_options() {
        let bad = |arg: &str, env: &[(&str, &str)]| {
            parse_config(&init("prometheus", Some(arg), "", env), Flavor::Prometheus)
                .err()
                .map(|e| e.message.to_string())
        };
        assert!(bad("nope=1", &[]).unwrap().contains("unknown option"));
        assert!(bad("trendStats=p(200)", &[])
            .unwrap()
            .contains("trendStats"));
        assert!(bad("nativeHistogramSchema=9", &[]).is_some());
        assert!(bad("url=ftp://x/", &[]).is_some());
        let both = bad("username=u,password=secret1,bearerToken=secret2", &[]).unwrap();
        assert!(!both.contains("secret"), "{both}");
        assert!(bad("clientCertificate=/x.pem", &[]).is_some());
    }

    #[test]
    fn sigv4_all_three_or_none() {
        let env = [
            ("K6_PROMETHEUS_RW_SIGV4_REGION", "eu-west-1"),
            ("K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY", "AKIAEXAMPLE"),
            ("K6_PROMETHEUS_RW_SIGV4_SECRET_KEY", "sekritKey123"),
        ];
        let c = parse_config(&init("prometheus", None, "", &env), Flavor::Prometheus).unwrap();
        let Auth::SigV4(sig) = &c.auth else {
            panic!("{:?}", c.auth)
        };
        assert_eq!(sig.region, "eu-west-1");
        assert_eq!(sig.credentials.access_key_id(), "AKIAEXAMPLE");
        assert_eq!(sig.credentials.session_token(), None);
        assert!(!format!("{c:?}").contains("sekrit"));
        // The plan table (JSON) and the session token.
        let c = parse_config(
            &init(
                "prometheus",
                None,
                r#"{"sigV4Region":"us-east-1","sigV4AccessKey":"AKIA2","sigV4SecretKey":"sekrit2","sigV4SessionToken":"tokentok"}"#,
                &[],
            ),
            Flavor::Prometheus,
        )
        .unwrap();
        let Auth::SigV4(sig) = &c.auth else {
            panic!("{:?}", c.auth)
        };
        assert_eq!(sig.credentials.session_token(), Some("tokentok"));
        assert!(!format!("{c:?}").contains("tokentok"));

        let bad = |arg: &str| {
            parse_config(&init("prometheus", Some(arg), "", &[]), Flavor::Prometheus)
                .err()
                .map(|e| e.message.to_string())
                .unwrap()
        };
        let e = bad("sigV4Region=eu-west-1");
        assert!(
            e.contains(
                "missing: sigV4AccessKey (K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY), sigV4SecretKey"
            ),
            "{e}"
        );
        let e = bad("sigV4SecretKey=sekrit3,sigV4AccessKey=AKIA");
        assert!(
            e.contains("missing: sigV4Region") && !e.contains("sekrit3"),
            "{e}"
        );
        let e = bad("sigV4SessionToken=tokentok");
        assert!(e.contains("sigV4Region") && !e.contains("tokentok"), "{e}");
        let all = "sigV4Region=eu-west-1,sigV4AccessKey=AKIA,sigV4SecretKey=sekrit4";
        for extra in [
            "bearerToken=tok5",
            "username=u,password=pw6",
            "password=pw6",
        ] {
            let e = bad(&format!("{all},{extra}"));
            assert!(
                e.contains("cannot be combined") && e.contains("Authorization"),
                "{e}"
            );
            assert!(
                !e.contains("sekrit4") && !e.contains("tok5") && !e.contains("pw6"),
                "{e}"
            );
        }
        let e = bad(&format!(
            "{all},url=https://u:pw7@aps.example/api/v1/remote_write"
        ));
        assert!(e.contains("URL") && !e.contains("pw7"), "{e}");
        let e = bad(&format!("{all},headers=Authorization:x"));
        assert!(e.contains("Authorization is set by SigV4"), "{e}");
        let e = bad(&format!("{all},headers=X-Amz-Date:x"));
        assert!(e.contains("X-Amz-Date"), "{e}");
        assert!(bad("sigV4Region=Europe,sigV4AccessKey=a,sigV4SecretKey=b").contains("region"));
        // grafana-cloud authenticates with its token: no SigV4 options there.
        let e = parse_config(
            &init("grafana-cloud", Some("sigV4Region=eu-west-1"), "", &[]),
            Flavor::GrafanaCloud,
        )
        .err()
        .unwrap();
        assert!(e.message.contains("sigV4Region"), "{e}");
    }

    #[test]
    fn tls_minimum_version() {
        let c = parse_config(&init("prometheus", None, "", &[]), Flavor::Prometheus).unwrap();
        assert_eq!(c.tls.min_version, TlsVersion::Tls13, "k6 >= 1.2's default");
        let env = [("K6_PROMETHEUS_RW_TLS_MINIMUM_VERSION", "1.2")];
        let c = parse_config(&init("prometheus", None, "", &env), Flavor::Prometheus).unwrap();
        assert_eq!(c.tls.min_version, TlsVersion::Tls12);
        let c = parse_config(
            &init("prometheus", Some("tlsMinimumVersion=1.3"), "", &env),
            Flavor::Prometheus,
        )
        .unwrap();
        assert_eq!(c.tls.min_version, TlsVersion::Tls13, "the -o argument wins");
        for bad in ["1.1", "1.4", "tls"] {
            let e = parse_config(
                &init(
                    "prometheus",
                    Some(&format!("tlsMinimumVersion={bad}")),
                    "",
                    &[],
                ),
                Flavor::Prometheus,
            )
            .err()
            .unwrap();
            assert!(
                e.message.contains("tlsMinimumVersion") && e.message.contains("1.2 or 1.3"),
                "{e}"
            );
        }
        let gc_env = [
            (
                "GRAFANA_CLOUD_PROMETHEUS_URL",
                "https://prometheus-prod-01.grafana.net/api/prom/push",
            ),
            ("GRAFANA_CLOUD_INSTANCE_ID", "1"),
            ("GRAFANA_CLOUD_TOKEN", "t"),
            ("K6_PROMETHEUS_RW_TLS_MINIMUM_VERSION", "TLSv1.2"),
        ];
        let c = parse_config(
            &init("grafana-cloud", None, "", &gc_env),
            Flavor::GrafanaCloud,
        )
        .unwrap();
        assert_eq!(c.tls.min_version, TlsVersion::Tls12);
    }

    #[test]
    fn secret_options_are_marked() {
        let secret: Vec<&str> = option_specs(Flavor::Prometheus)
            .into_iter()
            .filter(|s| s.secret)
            .map(|s| s.name)
            .collect();
        assert_eq!(
            secret,
            [
                "password",
                "bearerToken",
                "headers",
                "sigV4SecretKey",
                "sigV4SessionToken"
            ]
        );
        assert!(option_specs(Flavor::GrafanaCloud)
            .iter()
            .all(|s| !s.name.starts_with("sigV4")));
    }

    #[test]
    fn grafana_cloud_needs_stack_credentials() {
        let e = parse_config(&init("grafana-cloud", None, "", &[]), Flavor::GrafanaCloud)
            .err()
            .unwrap();
        assert!(e.message.contains("GRAFANA_CLOUD_PROMETHEUS_URL"), "{e}");
        let env = [
            (
                "GRAFANA_CLOUD_PROMETHEUS_URL",
                "https://prometheus-prod-01.grafana.net/api/prom/push",
            ),
            ("GRAFANA_CLOUD_INSTANCE_ID", "123456"),
            ("GRAFANA_CLOUD_TOKEN", "glc_secret"),
            ("K6_PROMETHEUS_RW_USERNAME", "ignored"),
        ];
        let c = parse_config(&init("grafana-cloud", None, "", &env), Flavor::GrafanaCloud).unwrap();
        assert_eq!(
            c.auth,
            Auth::Basic {
                username: "123456".into(),
                password: "glc_secret".into()
            }
        );
        assert_eq!(c.push_interval, Duration::from_secs(15));
        assert_eq!(c.extra_labels, [Label::new("testid", "test-run-1")]);
        let c = parse_config(
            &init("grafana-cloud", Some("testId="), "", &env),
            Flavor::GrafanaCloud,
        )
        .unwrap();
        assert!(c.extra_labels.is_empty());
    }
}
