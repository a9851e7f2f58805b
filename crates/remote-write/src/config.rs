//! Options of the `prometheus` and `grafana-cloud` outputs, declared once each ([`PROMETHEUS`],
//! [`GRAFANA_CLOUD`]): names, k6's environment variables, defaults, kinds. The SDK (or the host)
//! merges and checks them; [`parse_config`] reads the checked values into an [`RwConfig`].

use std::time::Duration;

use loadrun_http_support::{Endpoint, SafeUrl, TlsNames, TlsOptions};
use loadrun_plugin_api::{
    options, DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Values,
};

use crate::headers::extra_headers;
use crate::naming::{parse_trend_stats, TrendStat};
use crate::proto::Label;
use crate::sigv4::{self, SigV4};

/// Which output the options are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `-o prometheus` / `experimental-prometheus-rw`: k6's options and defaults.
    Prometheus,
    /// `-o grafana-cloud`: a stack URL, instance id and token are required; a `testid` label.
    GrafanaCloud,
}

/// How requests authenticate. Its `Debug` never shows a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic {
        username: String,
        password: Secret,
    },
    Bearer(Secret),
    /// Every request attempt is signed (Amazon Managed Service for Prometheus).
    SigV4(SigV4),
}

/// Everything a remote-write output needs, validated.
#[derive(Debug, Clone)]
pub struct RwConfig {
    pub output: String,
    pub url: SafeUrl,
    pub push_interval: Duration,
    pub trend_stats: Vec<(TrendStat, String)>,
    /// `Some(schema)` when trends go out as native histograms.
    pub native_histogram_schema: Option<i32>,
    pub stale_markers: bool,
    pub auth: Auth,
    /// Extra request headers, in a stable order; their values may be credentials.
    pub headers: Vec<(String, Secret)>,
    pub tls: TlsOptions,
    pub timeout: Duration,
    pub max_series_per_request: usize,
    pub max_request_bytes: usize,
    pub metadata_as_labels: bool,
    pub extra_labels: Vec<Label>,
}

// Options both outputs have, in the order `plugins info` lists them.
#[rustfmt::skip]
const COMMON: &[OptionSpec] = &[
    OptionSpec::new("labels", Kind::Map('=')).env(&["K6_PROMETHEUS_RW_LABELS"]).doc("static labels on every series, k1=v1,k2=v2 (k6 2.3); a sample's tag of the same name wins"),
    OptionSpec::new("trendStats", Kind::List(',')).env(&["K6_PROMETHEUS_RW_TREND_STATS"]).default("p(99)").doc("trend statistics sent as series k6_<name>_<stat>: count, sum, min, max, avg, med, p(N)"),
    OptionSpec::new("trendAsNativeHistogram", Kind::Bool).env(&["K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"]).default("false").doc("send trends as native histograms k6_<name>_seconds (the server needs --enable-feature=native-histograms)"),
    OptionSpec::new("nativeHistogramSchema", Kind::Int { min: -4, max: 8 }).env(&["K6_PROMETHEUS_RW_NATIVE_HISTOGRAM_SCHEMA"]).default("3").doc("native-histogram resolution (3: buckets grow by 9 %, as k6)"),
    OptionSpec::new("staleMarkers", Kind::Bool).env(&["K6_PROMETHEUS_RW_STALE_MARKERS"]).default("false").doc("at the end, mark every series stale so it ends at once in queries"),
    // The `K6_PROMETHEUS_RW_HEADERS_<Name>` family is read in headers.rs: it adds to this map
    // whatever source gave it, which a declared env_prefix (one source among the others) cannot say.
    OptionSpec::new("headers", Kind::Map(':')).header_names().secret().env(&["K6_PROMETHEUS_RW_HTTP_HEADERS"]).doc("extra headers, k1:v1,k2:v2 (also K6_PROMETHEUS_RW_HEADERS_<Name>=value); they never remove the auth header"),
];

#[rustfmt::skip]
const TRANSPORT: &[OptionSpec] = &[
    OptionSpec::new("insecureSkipTLSVerify", Kind::Bool).env(&["K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY"]).default("false").doc("accept any server certificate"),
    OptionSpec::new("clientCertificate", Kind::Str).empty_is_unset().env(&["K6_PROMETHEUS_RW_CLIENT_CERTIFICATE"]).doc("PEM client certificate for mutual TLS"),
    OptionSpec::new("clientCertificateKey", Kind::Str).empty_is_unset().env(&["K6_PROMETHEUS_RW_CLIENT_CERTIFICATE_KEY"]).doc("PEM key of the client certificate"),
    OptionSpec::new("caCertificate", Kind::Str).empty_is_unset().env(&["K6_PROMETHEUS_RW_CA_CERTIFICATE"]).doc("PEM file of extra CA certificates to trust (loadrun only)"),
    // Str, not Enum: `TLSv1.2`, `tls1.3` and the like are accepted too. 1.3 by default, as k6
    // from v1.2 on: every current remote-write receiver that serves HTTPS (Prometheus and Mimir
    // built with Go >= 1.13, Amazon Managed Service for Prometheus, Grafana Cloud) speaks it; a
    // server that only speaks 1.2 is a clear error naming tlsMinimumVersion, which relaxes it.
    OptionSpec::new("tlsMinimumVersion", Kind::Str).empty_is_unset().env(&["K6_PROMETHEUS_RW_TLS_MINIMUM_VERSION"]).default("1.3").doc("oldest TLS version accepted for https:// URLs: 1.2 or 1.3 (k6 >= 1.2 defaults to 1.3 too)"),
    OptionSpec::new("timeout", Kind::Duration).env(&["K6_PROMETHEUS_RW_TIMEOUT"]).default("5s").nonzero().doc("the most one request may take (loadrun only)"),
    OptionSpec::new("maxSeriesPerRequest", Kind::int_from(0)).env(&["K6_PROMETHEUS_RW_MAX_SERIES_PER_REQUEST"]).default("2000").doc("a push with more series is split into several requests (loadrun only)"),
    OptionSpec::new("maxRequestBytes", Kind::Size).env(&["K6_PROMETHEUS_RW_MAX_REQUEST_BYTES"]).default("2097152").doc("a push bigger than this (uncompressed protobuf) is split; at least 1024 (loadrun only)"),
    OptionSpec::new("metadataAsLabels", Kind::Bool).env(&["K6_PROMETHEUS_RW_METADATA_AS_LABELS"]).default("false").doc("add k6's vu and iter metadata as labels: one series per VU and iteration, use only for short debugging runs (loadrun only)"),
];

/// The names the TLS options above go by (k6's).
const TLS_NAMES: TlsNames = TlsNames {
    skip_verify: "insecureSkipTLSVerify",
    ca_file: "caCertificate",
    client_cert: "clientCertificate",
    client_key: "clientCertificateKey",
    min_version: "tlsMinimumVersion",
};

#[rustfmt::skip]
const PROMETHEUS_OWN: &[OptionSpec] = &[
    OptionSpec::new("url", Kind::Url).env(&["K6_PROMETHEUS_RW_SERVER_URL"]).default("http://localhost:9090/api/v1/write").doc("remote-write endpoint (http:// or https://); also the bare `-o prometheus=URL` argument"),
    OptionSpec::new("pushInterval", Kind::Duration).env(&["K6_PROMETHEUS_RW_PUSH_INTERVAL"]).default("5s").at_least("1ms").doc("how often changed series are pushed"),
    OptionSpec::new("username", Kind::Str).empty_is_unset().env(&["K6_PROMETHEUS_RW_USERNAME"]).doc("Basic-auth user"),
    OptionSpec::new("password", Kind::Str).empty_is_unset().secret().env(&["K6_PROMETHEUS_RW_PASSWORD"]).doc("Basic-auth password"),
    OptionSpec::new("bearerToken", Kind::Str).empty_is_unset().secret().env(&["K6_PROMETHEUS_RW_BEARER_TOKEN"]).doc("sent as Authorization: Bearer (not with username/password)"),
];

#[rustfmt::skip]
const SIGV4: &[OptionSpec] = &[
    OptionSpec::new(sigv4::REGION.0, Kind::Str).empty_is_unset().env(&[sigv4::REGION.1]).doc("AWS region to sign requests for (service aps, Amazon Managed Service for Prometheus); SigV4 needs region, access key and secret key together"),
    OptionSpec::new(sigv4::ACCESS_KEY.0, Kind::Str).empty_is_unset().env(&[sigv4::ACCESS_KEY.1]).doc("AWS access key id for SigV4 signing"),
    OptionSpec::new(sigv4::SECRET_KEY.0, Kind::Str).empty_is_unset().secret().env(&[sigv4::SECRET_KEY.1]).doc("AWS secret access key for SigV4 signing"),
    OptionSpec::new(sigv4::SESSION_TOKEN.0, Kind::Str).empty_is_unset().secret().env(&[sigv4::SESSION_TOKEN.1]).doc("AWS session token of temporary credentials, sent as X-Amz-Security-Token (loadrun only)"),
];

#[rustfmt::skip]
const GRAFANA_CLOUD_OWN: &[OptionSpec] = &[
    OptionSpec::new("url", Kind::Url).env(&["GRAFANA_CLOUD_PROMETHEUS_URL", "GCLOUD_HOSTED_METRICS_URL", "K6_PROMETHEUS_RW_SERVER_URL"]).doc("the stack's remote-write URL, https://prometheus-….grafana.net/api/prom/push (required)"),
    OptionSpec::new("instanceId", Kind::Str).empty_is_unset().env(&["GRAFANA_CLOUD_INSTANCE_ID", "GCLOUD_HOSTED_METRICS_ID", "K6_PROMETHEUS_RW_USERNAME"]).doc("the stack's Prometheus instance id (numeric), sent as the Basic-auth user (required)"),
    OptionSpec::new("token", Kind::Str).empty_is_unset().secret().env(&["GRAFANA_CLOUD_TOKEN", "GCLOUD_RW_API_KEY", "K6_PROMETHEUS_RW_PASSWORD"]).doc("an access-policy token with the metrics:write scope, sent as the Basic-auth password (required)"),
    // No declared default: it is the run's id, known only when the output is created.
    OptionSpec::new("testId", Kind::Str).env(&["GRAFANA_CLOUD_TEST_ID"]).doc("value of the `testid` label added to every series (unless a `testid` tag is set); default: the run's id; empty: no label"),
    OptionSpec::new("pushInterval", Kind::Duration).env(&["GRAFANA_CLOUD_PUSH_INTERVAL", "K6_PROMETHEUS_RW_PUSH_INTERVAL"]).default("15s").at_least("1ms").doc("how often changed series are pushed (Grafana Cloud bills data points per minute)"),
];

const PROMETHEUS_OPTIONS: &[OptionSpec] = options![PROMETHEUS_OWN, COMMON, TRANSPORT, SIGV4];
const GRAFANA_CLOUD_OPTIONS: &[OptionSpec] = options![GRAFANA_CLOUD_OWN, COMMON, TRANSPORT];

/// `-o prometheus`, as its plugin declares it.
pub const PROMETHEUS: DeclaredOutput =
    DeclaredOutput::new("prometheus", &["experimental-prometheus-rw"])
        .describe("Prometheus remote write 1.0 (protobuf + snappy), k6-compatible series")
        .options(PROMETHEUS_OPTIONS)
        .positional(Positional::Url("url"));

/// `-o grafana-cloud`, as its plugin declares it.
pub const GRAFANA_CLOUD: DeclaredOutput = DeclaredOutput::new("grafana-cloud", &[])
    .describe("Grafana Cloud Prometheus: remote write with instance id + access-policy token, testid label")
    .options(GRAFANA_CLOUD_OPTIONS)
    .positional(Positional::Url("url"));

/// The declaration of a flavor.
pub fn declared(flavor: Flavor) -> &'static DeclaredOutput {
    match flavor {
        Flavor::Prometheus => &PROMETHEUS,
        Flavor::GrafanaCloud => &GRAFANA_CLOUD,
    }
}

/// The option table of a flavor.
pub fn option_specs(flavor: Flavor) -> &'static [OptionSpec] {
    declared(flavor).options
}

/// A text option trimmed (blanks are declared unset).
fn text(v: &Values, name: &str) -> Result<Option<String>, PluginError> {
    Ok(v.opt::<String>(name)?.map(|s| s.trim().to_string()))
}

/// A text option grafana-cloud needs (prometheus' has a default): when missing, an error saying
/// where to find it.
fn required(v: &Values, name: &str, missing: &str) -> Result<String, PluginError> {
    text(v, name)?.ok_or_else(|| PluginError::new(format!("{}: {missing}", v.output())))
}

/// Builds the configuration from the checked options (plan table < environment < `-o`
/// argument: a URL, `-o prometheus=http://host:9090/api/v1/write`, or `key=value` pairs where
/// a piece without `=` continues the previous value, so `trendStats=p(95),p(99),avg` works).
pub fn parse_config(init: &OutputInit, flavor: Flavor) -> Result<RwConfig, PluginError> {
    let v = Values::from_init(init, declared(flavor))?;
    let output = v.output().to_string();
    let err = |m: String| PluginError::new(format!("{output}: {m}"));

    let url_text = required(
        &v,
        "url",
        "the stack's remote-write URL is required: set GRAFANA_CLOUD_PROMETHEUS_URL or url= \
         (Grafana Cloud portal → your stack → Prometheus → Remote Write Endpoint)",
    )?;
    let url = Endpoint::parse_http("url", &url_text).map_err(err)?;
    let push_interval = v.duration("pushInterval")?;
    let trend_stats =
        parse_trend_stats(&v.list("trendStats")?).map_err(|m| err(format!("trendStats: {m}")))?;
    if trend_stats.is_empty() {
        return Err(err("trendStats is empty".into()));
    }
    let auth = auth(&v, flavor, &err)?;
    if matches!(auth, Auth::SigV4(_)) && (!url.username().is_empty() || url.password().is_some()) {
        return Err(err(
            "SigV4 signing (sigV4*) cannot be combined with user:password in the URL (Basic auth): \
             both set the Authorization header"
                .into(),
        ));
    }
    let env = init
        .env
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()));
    let sigv4 = matches!(auth, Auth::SigV4(_));
    let headers = v.opt("headers")?.unwrap_or_default();
    let headers = extra_headers(headers, env, sigv4).map_err(err)?;
    let tls = TlsOptions::from_values_named(&v, &TLS_NAMES)?;

    let mut extra_labels = Vec::new();
    let labels: Vec<(String, String)> = v.opt("labels")?.unwrap_or_default();
    for (name, value) in labels {
        let name = name.trim();
        if crate::naming::sanitize_label_name(name).as_deref() != Some(name) {
            return Err(err(format!(
                "labels: {name:?} is not a label name Prometheus accepts \
                 ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
            )));
        }
        extra_labels.push(Label::new(name, value));
    }
    if flavor == Flavor::GrafanaCloud {
        let id = match v.opt::<String>("testId")? {
            Some(id) => id.trim().to_string(),
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
        // Declared -4..=8, so it fits. `K6_FEATURES=native-histograms` is k6 2.1's switch; the
        // old variable stays its alias, as in k6.
        native_histogram_schema: (v.bool("trendAsNativeHistogram")?
            || loadrun_plugin_api::k6::feature_enabled(
                init.env_var(loadrun_plugin_api::k6::FEATURES_ENV),
                "native-histograms",
            ))
        .then_some(v.int("nativeHistogramSchema")? as i32),
        stale_markers: v.bool("staleMarkers")?,
        auth,
        headers,
        tls,
        timeout: v.duration("timeout")?,
        max_series_per_request: v.get::<usize>("maxSeriesPerRequest")?.max(1),
        max_request_bytes: v.get::<usize>("maxRequestBytes")?.max(1024),
        metadata_as_labels: v.bool("metadataAsLabels")?,
        extra_labels,
    })
}

/// The credentials: grafana-cloud's instance id and token, or prometheus' Basic, Bearer or
/// SigV4 (one of them).
fn auth(
    v: &Values,
    flavor: Flavor,
    err: &dyn Fn(String) -> PluginError,
) -> Result<Auth, PluginError> {
    if flavor == Flavor::GrafanaCloud {
        let id = "the instance id is required: set GRAFANA_CLOUD_INSTANCE_ID or instanceId=";
        let token =
            "an access-policy token is required: set GRAFANA_CLOUD_TOKEN (metrics:write scope)";
        return Ok(Auth::Basic {
            username: required(v, "instanceId", id)?,
            password: required(v, "token", token)?.into(),
        });
    }
    let basic = match (
        // Kept as written, as before: only the token and the ids are trimmed.
        v.opt::<String>("username")?,
        v.opt::<String>("password")?,
        text(v, "bearerToken")?,
    ) {
        (None, None, None) => Auth::None,
        (None, None, Some(t)) => Auth::Bearer(t.into()),
        (u, p, None) => Auth::Basic {
            username: u.unwrap_or_default(),
            password: p.unwrap_or_default().into(),
        },
        _ => {
            return Err(err(
                "set either username/password or bearerToken, not both".into()
            ))
        }
    };
    let signer = sigv4::from_options(
        text(v, sigv4::REGION.0)?,
        text(v, sigv4::ACCESS_KEY.0)?,
        text(v, sigv4::SECRET_KEY.0)?,
        text(v, sigv4::SESSION_TOKEN.0)?,
    )
    .map_err(|e| err(e.to_string()))?;
    match (signer, basic) {
        (None, basic) => Ok(basic),
        (Some(sig), Auth::None) => Ok(Auth::SigV4(sig)),
        (Some(_), _) => Err(err(
            "SigV4 signing (sigV4*) cannot be combined with username/password or bearerToken: \
             both set the Authorization header; use one"
                .into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use loadrun_http_support::TlsVersion;
    use loadrun_plugin_api::testkit::init;

    #[test]
    fn static_labels_and_the_native_histograms_feature() {
        let env = [
            ("K6_PROMETHEUS_RW_LABELS", "environment=prod, server=srv1"),
            ("K6_FEATURES", "merge-run-tags,native-histograms"),
        ];
        let c = parse_config(&init("prometheus", None, "", &env), Flavor::Prometheus).unwrap();
        assert_eq!(
            c.extra_labels,
            [
                Label::new("environment", "prod"),
                Label::new("server", "srv1")
            ]
        );
        assert_eq!(c.native_histogram_schema, Some(3));
        // The -o argument's labels replace the environment's, as any option.
        let c = parse_config(
            &init("prometheus", Some("labels=team=perf"), "", &env),
            Flavor::Prometheus,
        )
        .unwrap();
        assert_eq!(c.extra_labels, [Label::new("team", "perf")]);
        for bad in ["__name__=x", "my-label=x", "1st=x"] {
            let e = parse_config(
                &init("prometheus", None, "", &[("K6_PROMETHEUS_RW_LABELS", bad)]),
                Flavor::Prometheus,
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("is not a label name Prometheus accepts"),
                "{bad}: {e}"
            );
        }
        let c = parse_config(
            &init("prometheus", None, "", &[("K6_FEATURES", "other")]),
            Flavor::Prometheus,
        )
        .unwrap();
        assert_eq!(c.native_histogram_schema, None);
    }

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
                .map(|(a, b)| (a.to_string(), Secret::from(b)))
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
        assert_eq!(c.headers, [("X-C".to_string(), Secret::from("3"))]);
    }

    #[test]
    fn rejects_bad_options() {
        let bad = |arg: &str, env: &[(&str, &str)]| {
            parse_config(&init("prometheus", Some(arg), "", env), Flavor::Prometheus)
                .err()
                .map(|e| e.message.to_string())
        };
        assert!(bad("nope=1", &[]).unwrap().contains("unknown key"));
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
            .iter()
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
