//! Options of `-o cloudwatch`, validated before the run starts.
//!
//! `mode` picks the delivery: `api` (default) sends `PutMetricData` requests and needs a region
//! and credentials; `emf` writes Embedded Metric Format lines to a file or stdout and looks up
//! neither. The aggregation options (`namespace`, `dimensions`, `period`, `storageResolution`)
//! are shared; an option of the other mode is an error naming it, never silently ignored.

use std::time::Duration;

use loadrun_http_support::Url;
use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Values,
};

use crate::aggregate::AggregateConfig;
use crate::credentials::{Credentials, Sources};
use crate::datum::MAX_DIMENSIONS;
use crate::emf::encoder::{MAX_DIMENSION_NAME_CHARS, METADATA_MEMBER};
use crate::emf::{EmfConfig, Limits, Target};
use crate::encoder::{MAX_DATUMS_PER_REQUEST, MAX_REQUEST_BYTES};

pub const DEFAULT_DIMENSIONS: &str = "scenario,method,status,name";

/// `mode`'s environment variable (loadrun's `LOADRUN_<OUTPUT>_<OPTION>` naming).
pub const MODE_ENV: &str = "LOADRUN_CLOUDWATCH_MODE";
/// `emfPath`'s environment variable.
pub const EMF_PATH_ENV: &str = "LOADRUN_CLOUDWATCH_EMF_PATH";

/// Options that only mean something to `PutMetricData` (`mode=api`). Not declared with
/// `.modes()`: each refusal here names the other mode's use.
const API_ONLY: &[&str] = &[
    "endpoint",
    "region",
    "profile",
    "timeout",
    "gzip",
    "maxRequestBytes",
];

// endpoint, region and profile declare no env: the AWS variables rank below the plan table
// and the shared config file fills in after them, which `Sources` does (AWS SDK order).
#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("mode", Kind::Str).env(&[MODE_ENV]).default("api").doc("api: PutMetricData requests (needs credentials); emf: Embedded Metric Format JSON lines for the CloudWatch agent or Lambda (no credentials, no network)"),
    OptionSpec::new("emfPath", Kind::Str).env(&[EMF_PATH_ENV]).doc("emf: file the EMF lines go to (created or truncated at start); - (the default) is stdout"),
    OptionSpec::new("endpoint", Kind::Str).doc("api: CloudWatch endpoint (a bare -o cloudwatch=URL works too; else AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL, https://monitoring.{region}.amazonaws.com)"),
    OptionSpec::new("region", Kind::Str).empty_is_unset().doc("api: AWS region, also the SigV4 signing region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's config)"),
    OptionSpec::new("profile", Kind::Str).empty_is_unset().doc("api: profile in the shared credentials/config files (else AWS_PROFILE, default); credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN first"),
    OptionSpec::new("namespace", Kind::Str).default("k6").doc("CloudWatch namespace of every metric"),
    // `,` cannot be used inside `-o a=b,c=d`: `;` `|` and spaces separate too.
    OptionSpec::new("dimensions", Kind::List(',')).separators(";| \t").default(DEFAULT_DIMENSIONS).doc("tag keys sent as dimensions (at most 30); other tags are aggregated away"),
    OptionSpec::new("period", Kind::Duration).default_by("storageResolution", &[("60", "60s"), ("1", "1s")]).doc("aggregation period: samples of one metric and dimension set in one period become one datum"),
    OptionSpec::new("storageResolution", Kind::Enum(&["60", "1"])).default("60").doc("60 (standard) or 1 (high resolution, billed higher)"),
    OptionSpec::new("timeout", Kind::Duration).nonzero().default("10s").doc("api: HTTP request timeout"),
    OptionSpec::new("gzip", Kind::Bool).default("false").doc("api: gzip request bodies of 10 KiB and more (CloudWatch accepts them; moto cannot check their signatures, see the README)"),
    OptionSpec::new("maxRequestBytes", Kind::Int { min: 1024, max: MAX_REQUEST_BYTES as i64 }).default("1048576").doc("api: largest request body (the default is CloudWatch's limit)"),
];

/// The cloudwatch output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("cloudwatch", &[])
    .describe("Amazon CloudWatch PutMetricData (SigV4, per-period aggregation, percentiles for trends), or Embedded Metric Format lines (mode=emf)")
    .options(OPTIONS)
    .positional(Positional::Url("endpoint"));

/// The resolved options of either mode.
#[derive(Debug, Clone)]
pub enum Settings {
    /// `mode=api`: `PutMetricData`.
    Api(Config),
    /// `mode=emf`: Embedded Metric Format lines.
    Emf(EmfConfig),
}

/// Everything a `PutMetricData` output instance needs, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The output's name, for messages.
    pub output: String,
    pub endpoint: Url,
    pub region: String,
    pub credentials: Credentials,
    pub namespace: String,
    pub aggregate: AggregateConfig,
    pub timeout: Duration,
    /// Gzip bodies of 10 KiB and more (as the AWS SDKs do for PutMetricData).
    pub gzip: bool,
    pub max_request_bytes: usize,
    pub max_datums_per_request: usize,
    /// Open aggregates held before everything is sent early (bounds memory).
    pub max_open: usize,
    /// Seconds a period is kept open after it ends, for samples that arrive late.
    pub grace_secs: i64,
}

/// An error naming the option, the bad value and what was expected.
fn invalid(v: &Values, name: &str, value: &str, expected: &str) -> PluginError {
    PluginError::new(format!(
        "{}: option {name}={value:?} is not valid: expected {expected}",
        v.output()
    ))
}

/// Resolves the options of either mode.
pub fn parse_settings(init: &OutputInit) -> Result<Settings, PluginError> {
    let out = init.output_name.as_str();
    // Every message of this output starts with its name, the SDK's unknown-key one included.
    let v = Values::from_init(init, &OUTPUT).map_err(|e| match e.message.starts_with(out) {
        true => e,
        false => PluginError::new(format!("{out}: {}", e.message)),
    })?;
    let mode = v.string("mode")?;
    match mode.trim().to_ascii_lowercase().as_str() {
        "api" => {
            if v.has("emfPath") {
                return Err(PluginError::new(format!(
                    "{}: option emfPath ({EMF_PATH_ENV}) is only used with mode=emf; set mode=emf \
                     ({MODE_ENV}=emf) or remove it",
                    v.output()
                )));
            }
            parse_api(init, &v).map(Settings::Api)
        }
        "emf" => parse_emf(&v).map(Settings::Emf),
        _ => Err(invalid(
            &v,
            "mode",
            &mode,
            "api (PutMetricData) or emf (Embedded Metric Format lines)",
        )),
    }
}

/// Resolves the options of `mode=api` (an error for `mode=emf`).
pub fn parse_config(init: &OutputInit) -> Result<Config, PluginError> {
    match parse_settings(init)? {
        Settings::Api(c) => Ok(c),
        Settings::Emf(c) => Err(PluginError::new(format!(
            "{}: mode=emf has no PutMetricData configuration",
            c.output
        ))),
    }
}

/// The options both modes share.
struct Common {
    namespace: String,
    aggregate: AggregateConfig,
}

fn parse_common(v: &Values) -> Result<Common, PluginError> {
    let namespace = v.string("namespace")?;
    validate_namespace(&namespace).map_err(|m| invalid(v, "namespace", &namespace, m))?;

    let dimensions = v.list("dimensions")?;
    let dims_text = dimensions.join(",");
    validate_dimensions(&dimensions).map_err(|m| invalid(v, "dimensions", &dims_text, &m))?;

    // "60" or "1", declared.
    let storage_resolution = v.string("storageResolution")?.parse().unwrap_or(60);
    let period = v.duration("period")?;
    if period.subsec_nanos() != 0 || period.as_secs() == 0 || period.as_secs() > 3600 {
        return Err(invalid(
            v,
            "period",
            &format!("{period:?}"),
            "whole seconds from 1s to 1h",
        ));
    }
    Ok(Common {
        namespace,
        aggregate: AggregateConfig {
            dimensions,
            period_secs: i64::try_from(period.as_secs()).unwrap_or(60),
            storage_resolution,
        },
    })
}

/// `mode=emf`: no region, endpoint or credentials are looked up (not even in the environment).
fn parse_emf(v: &Values) -> Result<EmfConfig, PluginError> {
    let out = v.output().to_string();
    if v.is_positional("endpoint") {
        return Err(PluginError::new(format!(
            "{out}: the bare -o {out}=URL form sets a PutMetricData endpoint, which mode=emf does \
             not use; name the file with emfPath=FILE"
        )));
    }
    if let Some(name) = API_ONLY.iter().find(|n| v.is_set(n)) {
        return Err(PluginError::new(format!(
            "{out}: option {name} is only used with mode=api (PutMetricData); mode=emf writes \
             EMF lines to emfPath and sends nothing: remove {name}"
        )));
    }
    let common = parse_common(v)?;
    let dims_text = common.aggregate.dimensions.join(",");
    for d in &common.aggregate.dimensions {
        if d == METADATA_MEMBER {
            return Err(invalid(
                v,
                "dimensions",
                &dims_text,
                "tag keys other than _aws (EMF's metadata member)",
            ));
        }
        if d.chars().count() > MAX_DIMENSION_NAME_CHARS || d.chars().any(char::is_control) {
            return Err(invalid(
                v,
                "dimensions",
                &dims_text,
                "tag keys of at most 250 characters without control characters (EMF's limit)",
            ));
        }
    }
    Ok(EmfConfig {
        output: out,
        target: Target::from_option(v.opt::<String>("emfPath")?.as_deref()),
        namespace: common.namespace,
        aggregate: common.aggregate,
        limits: Limits::default(),
        max_open: 50_000,
        grace_secs: 2,
    })
}

fn parse_api(init: &OutputInit, v: &Values) -> Result<Config, PluginError> {
    let out = v.output().to_string();
    // Options first: a bad one must be named as such before any file is read.
    let Common {
        namespace,
        aggregate,
    } = parse_common(v)?;
    let err = |m: String| PluginError::new(format!("{out}: {m}"));

    let sources = Sources {
        env: init
            .env
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect(),
        profile: v.opt("profile")?,
    };

    let explicit_endpoint = v
        .opt::<String>("endpoint")?
        .or_else(|| sources.endpoint())
        .filter(|e| !e.trim().is_empty());
    let region = match v.opt::<String>("region")? {
        Some(r) => Some(r.trim().to_string()),
        None => sources.region().map_err(|e| err(e.to_string()))?,
    };
    let region =
        match (region, &explicit_endpoint) {
            (Some(r), _) => r,
            // Emulators (moto, LocalStack) take any region; their own default is us-east-1.
            (None, Some(_)) => "us-east-1".to_string(),
            (None, None) => return Err(err(
                "no AWS region: set region=..., AWS_REGION, or region in the profile's config file"
                    .into(),
            )),
        };
    if !region
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(invalid(
            v,
            "region",
            &region,
            "a region name such as eu-west-1",
        ));
    }
    let endpoint_text = explicit_endpoint.unwrap_or_else(|| default_endpoint(&region));
    let endpoint = Url::parse(endpoint_text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| invalid(v, "endpoint", &endpoint_text, "an http(s) URL"))?;
    if !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(err(
            "the endpoint URL must not hold credentials (use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)"
                .into(),
        ));
    }

    // Last: a bad option must be named as such even where no credentials are set up yet.
    let credentials = sources.credentials().map_err(|e| err(e.to_string()))?;

    Ok(Config {
        output: out.clone(),
        endpoint,
        region,
        credentials,
        namespace,
        aggregate,
        timeout: v.duration("timeout")?,
        gzip: v.bool("gzip")?,
        max_request_bytes: v.get("maxRequestBytes")?,
        max_datums_per_request: MAX_DATUMS_PER_REQUEST,
        max_open: 50_000,
        grace_secs: 2,
    })
}

fn default_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://monitoring.{region}.{suffix}/")
}

fn validate_namespace(ns: &str) -> Result<(), &'static str> {
    let ok_chars = ns
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
    if ns.is_empty() || ns.len() > 255 || !ok_chars {
        return Err("1 to 255 characters from A-Z a-z 0-9 . - _ / # : and space");
    }
    if ns.starts_with("AWS/") {
        return Err("a namespace not starting with AWS/ (reserved for AWS services)");
    }
    Ok(())
}

fn validate_dimensions(dims: &[String]) -> Result<(), String> {
    if dims.len() > MAX_DIMENSIONS {
        return Err(format!(
            "at most {MAX_DIMENSIONS} tag keys (CloudWatch's limit per metric), got {}",
            dims.len()
        ));
    }
    for (i, d) in dims.iter().enumerate() {
        if d.len() > 255 || !d.is_ascii() || d.starts_with(':') {
            return Err(format!(
                "tag key {d:?}: dimension names are 1 to 255 ASCII characters, not starting with ':'"
            ));
        }
        if dims[..i].contains(d) {
            return Err(format!("tag key {d:?} is listed twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use loadrun_plugin_api::testkit::init;

    const CREDS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKIATEST"),
        ("AWS_SECRET_ACCESS_KEY", "topsecret"),
    ];

    fn with(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, PluginError> {
        let mut all = CREDS.to_vec();
        all.extend_from_slice(env);
        parse_config(&init("cloudwatch", arg, "", &all))
    }

    #[test]
    fn defaults() {
        let c = with(None, &[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(
            c.endpoint.as_str(),
            "https://monitoring.eu-west-1.amazonaws.com/"
        );
        assert_eq!(c.namespace, "k6");
        assert_eq!(
            c.aggregate.dimensions,
            vec!["scenario", "method", "status", "name"]
        );
        assert_eq!(c.aggregate.period_secs, 60);
        assert_eq!(c.aggregate.storage_resolution, 60);
        assert!(!format!("{c:?}").contains("topsecret"));
    }

    #[test]
    fn options_and_env() {
        let c = with(
            Some("namespace=load/test,dimensions=status|method,storageResolution=1,region=cn-north-1"),
            &[("AWS_REGION", "eu-west-1")],
        )
        .unwrap();
        assert_eq!(c.region, "cn-north-1");
        assert_eq!(
            c.endpoint.as_str(),
            "https://monitoring.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(c.aggregate.dimensions, vec!["status", "method"]);
        assert_eq!(c.aggregate.period_secs, 1);

        let c = with(None, &[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")]).unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.endpoint.as_str(), "http://127.0.0.1:5000/");
        let c = with(
            Some("http://127.0.0.1:6000"),
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:5001"),
            ],
        )
        .unwrap();
        assert_eq!(c.endpoint.port(), Some(6000));
        let c = with(
            None,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:5001"),
            ],
        )
        .unwrap();
        assert_eq!(c.endpoint.port(), Some(5001));
    }

    #[test]
    fn invalid_options_are_refused() {
        let region = [("AWS_REGION", "eu-west-1")];
        for (arg, needle) in [
            ("namespace=AWS/EC2", "namespace"),
            ("namespace=bad!", "namespace"),
            ("storageResolution=5", "storageResolution"),
            ("period=1500ms", "period"),
            ("period=0s", "period"),
            ("dimensions=a|a", "twice"),
            ("dimensions=:x", "dimension names"),
            ("maxRequestBytes=2000000", "maxRequestBytes"),
            // The SDK words it "unknown key" (was "unknown option" when the plugin checked).
            ("bogus=1", "unknown key"),
            ("endpoint=ftp://x", "endpoint"),
        ] {
            let e = with(Some(arg), &region).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
        let many = (0..31)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join("|");
        let e = with(Some(&format!("dimensions={many}")), &region)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 30"), "{e}");
        let e = with(None, &[]).unwrap_err().to_string();
        assert!(e.contains("no AWS region"), "{e}");
        let e = parse_config(&init(
            "cloudwatch",
            None,
            "",
            &[("AWS_REGION", "eu-west-1"), ("HOME", "/nonexistent")],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("no AWS credentials"), "{e}");
        // Options are checked before credentials are looked for.
        for (arg, name) in [
            ("period=-5s", "period"),
            ("maxRequestBytes=-1", "maxRequestBytes"),
            ("endpoint=ftp://localhost", "endpoint"),
        ] {
            let e = parse_config(&init(
                "cloudwatch",
                Some(arg),
                "",
                &[("AWS_REGION", "eu-west-1"), ("HOME", "/nonexistent")],
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains(name) && !e.contains("credentials"), "{e}");
        }
    }

    fn emf(arg: Option<&str>, plan: &str, env: &[(&str, &str)]) -> Result<EmfConfig, PluginError> {
        match parse_settings(&init("cloudwatch", arg, plan, env))? {
            Settings::Emf(c) => Ok(c),
            Settings::Api(c) => panic!("api mode: {c:?}"),
        }
    }

    #[test]
    fn emf_mode_needs_no_credentials_and_looks_none_up() {
        // Sources that break the API path: half the key pair, unreadable shared files.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let broken = [
            ("AWS_ACCESS_KEY_ID", "AKIAHALF"),
            ("AWS_CONFIG_FILE", d),
            ("AWS_SHARED_CREDENTIALS_FILE", d),
            ("AWS_PROFILE", "nope"),
            ("HOME", "/nonexistent"),
        ];
        assert!(parse_settings(&init("cloudwatch", None, "", &broken)).is_err());
        let c = emf(
            Some("mode=emf,emfPath=/tmp/emf.log,namespace=lt,dimensions=status|method,storageResolution=1"),
            "",
            &broken,
        )
        .unwrap();
        assert_eq!(c.target, Target::File("/tmp/emf.log".into()));
        assert_eq!(c.namespace, "lt");
        assert_eq!(c.aggregate.dimensions, vec!["status", "method"]);
        assert_eq!(
            (c.aggregate.period_secs, c.aggregate.storage_resolution),
            (1, 1)
        );
        assert_eq!(c.limits, Limits::default());
        // The API's environment variables are common in shells and CI: ignored, not refused.
        let aws_env = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_PROFILE", "x"),
        ];
        let c = emf(Some("mode=emf"), "", &aws_env).unwrap();
        assert_eq!(c.target, Target::Stdout, "no emfPath: stdout");
        assert_eq!(
            c.aggregate.dimensions,
            vec!["scenario", "method", "status", "name"]
        );
        assert_eq!(c.aggregate.period_secs, 60);
        // loadrun's environment names, and the plan table.
        let c = emf(
            None,
            "",
            &[(MODE_ENV, "EMF"), (EMF_PATH_ENV, "/var/log/loadrun.emf")],
        )
        .unwrap();
        assert_eq!(c.target, Target::File("/var/log/loadrun.emf".into()));
        let c = emf(None, r#"{"mode": "emf", "emfPath": "-"}"#, &[]).unwrap();
        assert_eq!(c.target, Target::Stdout);
        // The -o argument outranks the environment.
        let e = parse_settings(&init(
            "cloudwatch",
            Some("mode=api"),
            "",
            &[(MODE_ENV, "emf")],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("no AWS region"), "{e}");
    }

    #[test]
    fn options_of_the_other_mode_are_refused_by_name() {
        let api_env = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIATEST"),
            ("AWS_SECRET_ACCESS_KEY", "topsecret"),
        ];
        for (arg, needle) in [
            ("mode=bogus", "option mode=\"bogus\" is not valid"),
            (
                "mode=emf,endpoint=http://127.0.0.1:5000",
                "option endpoint is only used with mode=api",
            ),
            ("mode=emf,region=eu-west-1", "option region"),
            ("mode=emf,profile=dev", "option profile"),
            ("mode=emf,timeout=5s", "option timeout"),
            ("mode=emf,gzip=true", "option gzip"),
            ("mode=emf,maxRequestBytes=4096", "option maxRequestBytes"),
            ("emfPath=out.log", "option emfPath"),
            ("mode=api,emfPath=out.log", "option emfPath"),
            ("mode=emf,dimensions=status|_aws", "dimensions"),
            ("mode=emf,period=0s", "period"),
            ("mode=emf,namespace=AWS/EC2", "namespace"),
            ("mode=emf,storageResolution=5", "storageResolution"),
            ("mode=emf,colour=blue", "unknown key"),
        ] {
            let e = parse_settings(&init("cloudwatch", Some(arg), "", &api_env))
                .err()
                .unwrap_or_else(|| panic!("{arg} accepted"))
                .to_string();
            assert!(e.contains(needle), "{arg}: {e}");
            assert!(e.starts_with("cloudwatch: "), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let long = "k".repeat(251);
        let e = emf(Some(&format!("mode=emf,dimensions={long}")), "", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 250 characters"), "{e}");
        // An API-only option in the plan table, and the bare URL form.
        let e = emf(None, r#"{"mode":"emf","endpoint":"http://x"}"#, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("option endpoint"), "{e}");
        let e = emf(Some("http://127.0.0.1:5000"), "", &[(MODE_ENV, "emf")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bare -o cloudwatch=URL"), "{e}");
        // emfPath from the environment in api mode: named with its variable.
        let mut env = api_env.to_vec();
        env.push((EMF_PATH_ENV, "out.log"));
        let e = parse_settings(&init("cloudwatch", None, "", &env))
            .unwrap_err()
            .to_string();
        assert!(e.contains(EMF_PATH_ENV) && e.contains("mode=emf"), "{e}");
        // parse_config is the API's alone.
        let e = parse_config(&init("cloudwatch", Some("mode=emf"), "", &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mode=emf"), "{e}");
    }
}
