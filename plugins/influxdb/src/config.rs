//! Options → [`Config`]: k6's URL form, k6's option and `K6_INFLUXDB_*` names, and ours.

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{basic_auth_header, Endpoint, HttpConfig, TlsOptions, Url};
use loadrun_plugin_api::{OptionDoc, Options, OutputInit, PluginError};

/// Which write API is spoken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    /// InfluxDB 1.x `/write` (and `/query` to create the database).
    V1 {
        db: String,
        retention: String,
        consistency: String,
        create_database: bool,
    },
    /// InfluxDB 2.x `/api/v2/write` (also InfluxDB 1.8+, VictoriaMetrics).
    V2 {
        organization: String,
        bucket: String,
    },
}

/// Timestamp precision: how many ns one unit holds, and its name in each API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Ns,
    Us,
    Ms,
    S,
    M,
    H,
}

impl Precision {
    pub fn parse(v: &str) -> Option<Self> {
        let v = v.trim();
        let v = v.strip_prefix('1').filter(|r| !r.is_empty()).unwrap_or(v);
        Some(match v {
            "" | "n" | "ns" => Precision::Ns,
            "u" | "us" | "µs" => Precision::Us,
            "ms" => Precision::Ms,
            "s" => Precision::S,
            "m" => Precision::M,
            "h" => Precision::H,
            _ => return None,
        })
    }

    pub fn ns_per_unit(self) -> i64 {
        match self {
            Precision::Ns => 1,
            Precision::Us => 1_000,
            Precision::Ms => 1_000_000,
            Precision::S => 1_000_000_000,
            Precision::M => 60_000_000_000,
            Precision::H => 3_600_000_000_000,
        }
    }

    fn v1_name(self) -> &'static str {
        match self {
            Precision::Ns => "ns",
            Precision::Us => "u",
            Precision::Ms => "ms",
            Precision::S => "s",
            Precision::M => "m",
            Precision::H => "h",
        }
    }

    fn v2_name(self) -> Option<&'static str> {
        match self {
            Precision::Ns => Some("ns"),
            Precision::Us => Some("us"),
            Precision::Ms => Some("ms"),
            Precision::S => Some("s"),
            Precision::M | Precision::H => None,
        }
    }
}

/// How a tag or metadata entry is written as a field (`name:int` in tagsAsFields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Int,
    Float,
    Bool,
}

/// One entry of tagsAsFields / metadataAsFields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub key: String,
    pub ty: FieldType,
}

impl FieldSpec {
    pub fn parse(entry: &str) -> Option<Self> {
        let (key, ty) = match entry.split_once(':') {
            Some((k, t)) => (
                k.trim(),
                match t.trim() {
                    "string" => FieldType::String,
                    "int" => FieldType::Int,
                    "float" => FieldType::Float,
                    "bool" => FieldType::Bool,
                    _ => return None,
                },
            ),
            None => (entry.trim(), FieldType::String),
        };
        (!key.is_empty()).then(|| FieldSpec {
            key: key.to_string(),
            ty,
        })
    }
}

/// Everything an [`crate::InfluxOutput`] needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: Api,
    /// `/write` or `/api/v2/write` with its query, credentials not included.
    pub write_url: Url,
    /// v1 `/query?q=CREATE DATABASE …`, when the database is to be created.
    pub create_url: Option<Url>,
    /// `Authorization` value (Basic for v1 user/password, Token for v2); never shown.
    pub authorization: Option<String>,
    pub precision: Precision,
    pub push_interval: Duration,
    pub concurrent_writes: u64,
    pub tags_as_fields: Vec<FieldSpec>,
    pub metadata_as_fields: Vec<FieldSpec>,
    pub max_batch_bytes: usize,
    pub max_batch_lines: usize,
    pub http: HttpConfig,
    /// Things to warn about once the host is there (ignored options).
    pub warnings: Vec<String>,
}

impl Config {
    /// The write endpoint as it may be shown.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.write_url)
    }
}

/// One option: its name, its environment names, its default and what it does.
struct Opt {
    name: &'static str,
    env: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
    secret: bool,
}

const fn opt(
    name: &'static str,
    env: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
) -> Opt {
    Opt {
        name,
        env,
        default,
        doc,
        secret: false,
    }
}

const ADDR: Opt = opt("addr", &["K6_INFLUXDB_ADDR"], "http://localhost:8086", "Server URL (the -o argument's URL takes precedence). A path before the database name is kept as a prefix.");
const DB: Opt = opt(
    "db",
    &["K6_INFLUXDB_DB"],
    "k6",
    "v1 database (the URL path gives it too).",
);
const USERNAME: Opt = opt(
    "username",
    &["K6_INFLUXDB_USERNAME"],
    "",
    "v1 user (URL userinfo gives it too).",
);
const PASSWORD: Opt = Opt {
    secret: true,
    ..opt(
        "password",
        &["K6_INFLUXDB_PASSWORD"],
        "",
        "v1 password (URL userinfo gives it too).",
    )
};
const INSECURE: Opt = opt(
    "insecure",
    &["K6_INFLUXDB_INSECURE"],
    "false",
    "Skip TLS certificate verification.",
);
const PAYLOAD_SIZE: Opt = opt(
    "payloadSize",
    &["K6_INFLUXDB_PAYLOAD_SIZE"],
    "",
    "k6's UDP payload size: accepted and ignored (UDP is not supported); see maxBatchBytes.",
);
const PRECISION: Opt = opt(
    "precision",
    &["K6_INFLUXDB_PRECISION"],
    "ns",
    "Timestamp precision: ns, u/us, ms, s (v1 also m, h); `1ms`-style durations work too.",
);
const RETENTION: Opt = opt(
    "retention",
    &["K6_INFLUXDB_RETENTION"],
    "",
    "v1 retention policy (`rp`).",
);
const CONSISTENCY: Opt = opt(
    "consistency",
    &["K6_INFLUXDB_CONSISTENCY"],
    "",
    "v1 write consistency (any, one, quorum, all; InfluxDB Enterprise).",
);
const PUSH_INTERVAL: Opt = opt(
    "pushInterval",
    &["K6_INFLUXDB_PUSH_INTERVAL"],
    "1s",
    "How often buffered points are written.",
);
const CONCURRENT_WRITES: Opt = opt(
    "concurrentWrites",
    &["K6_INFLUXDB_CONCURRENT_WRITES"],
    "4",
    "Accepted for k6 compatibility (must be > 0); requests are sent one at a time, in order.",
);
const TAGS_AS_FIELDS: Opt = opt(
    "tagsAsFields",
    &["K6_INFLUXDB_TAGS_AS_FIELDS"],
    "vu,iter,url",
    "Tags written as fields instead of tags, `name[:int|float|bool|string]`, comma-separated.",
);
const PROXY: Opt = opt(
    "proxy",
    &["K6_INFLUXDB_PROXY"],
    "",
    "HTTP proxy URL (http://[user:pass@]host:port).",
);
const ORGANIZATION: Opt = opt(
    "organization",
    &["K6_INFLUXDB_ORGANIZATION"],
    "",
    "v2 organization (`org` in the URL query); setting it selects v2.",
);
const BUCKET: Opt = opt(
    "bucket",
    &["K6_INFLUXDB_BUCKET"],
    "",
    "v2 bucket (the URL path gives it too); setting it selects v2.",
);
const TOKEN: Opt = Opt {
    secret: true,
    ..opt(
        "token",
        &["K6_INFLUXDB_TOKEN"],
        "",
        "v2 API token (`Authorization: Token …`); setting it selects v2.",
    )
};
const TIMEOUT: Opt = opt(
    "timeout",
    &["LOADRUN_INFLUXDB_TIMEOUT"],
    "10s",
    "The most one HTTP request may take (k6 has no timeout).",
);
const METADATA_AS_FIELDS: Opt = opt(
    "metadataAsFields",
    &["LOADRUN_INFLUXDB_METADATA_AS_FIELDS"],
    "vu:int,iter:int",
    "Sample metadata written as fields (k6 drops vu/iter); empty to disable.",
);
const GZIP: Opt = opt(
    "gzip",
    &["LOADRUN_INFLUXDB_GZIP"],
    "true",
    "gzip request bodies.",
);
const MAX_BATCH_BYTES: Opt = opt(
    "maxBatchBytes",
    &["LOADRUN_INFLUXDB_MAX_BATCH_BYTES"],
    "1048576",
    "Most uncompressed bytes per request; larger pushes are split.",
);
const MAX_BATCH_LINES: Opt = opt(
    "maxBatchLines",
    &["LOADRUN_INFLUXDB_MAX_BATCH_LINES"],
    "5000",
    "Most points per request; larger pushes are split.",
);
const CREATE_DATABASE: Opt = opt(
    "createDatabase",
    &["LOADRUN_INFLUXDB_CREATE_DATABASE"],
    "true",
    "v1: run CREATE DATABASE at start, as k6 does.",
);
const CA_FILE: Opt = opt(
    "caFile",
    &["LOADRUN_INFLUXDB_CA_FILE"],
    "",
    "PEM file of extra CA certificates to trust.",
);
const CLIENT_CERT: Opt = opt(
    "clientCert",
    &["LOADRUN_INFLUXDB_CLIENT_CERT"],
    "",
    "PEM client certificate (mutual TLS).",
);
const CLIENT_KEY: Opt = opt(
    "clientKey",
    &["LOADRUN_INFLUXDB_CLIENT_KEY"],
    "",
    "PEM key of clientCert.",
);

const ALL: &[&Opt] = &[
    &ADDR,
    &DB,
    &USERNAME,
    &PASSWORD,
    &INSECURE,
    &PAYLOAD_SIZE,
    &PRECISION,
    &RETENTION,
    &CONSISTENCY,
    &PUSH_INTERVAL,
    &CONCURRENT_WRITES,
    &TAGS_AS_FIELDS,
    &PROXY,
    &ORGANIZATION,
    &BUCKET,
    &TOKEN,
    &TIMEOUT,
    &METADATA_AS_FIELDS,
    &GZIP,
    &MAX_BATCH_BYTES,
    &MAX_BATCH_LINES,
    &CREATE_DATABASE,
    &CA_FILE,
    &CLIENT_CERT,
    &CLIENT_KEY,
];

/// Other spellings accepted in the URL query or plan table, mapped to the option name.
const ALIASES: &[(&str, &str)] = &[
    ("payload_size", "payloadSize"),
    ("org", "organization"),
    ("rp", "retention"),
    ("push_interval", "pushInterval"),
    ("concurrent_writes", "concurrentWrites"),
    ("tags_as_fields", "tagsAsFields"),
];

/// The option docs `loadrun plugins info` shows.
pub fn option_docs() -> Vec<OptionDoc> {
    ALL.iter()
        .map(|o| OptionDoc {
            name: o.name.into(),
            env: o.env.join(",").into(),
            default: o.default.into(),
            description: o.doc.into(),
            secret: o.secret,
        })
        .collect()
}

fn get(o: &Options, opt: &Opt) -> Option<String> {
    o.get(opt.name, opt.env)
}

fn err(output: &str, msg: impl std::fmt::Display) -> PluginError {
    PluginError::new(format!("{output}: {msg}"))
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let mut o = Options::from_init(init)?;
        let out = o.output().to_string();

        // The -o URL: scheme://[user:pass@]host:port[/prefix]/name[?options]
        let mut url_user = None;
        let mut url_path = Vec::<String>::new();
        // Which of the user's words a bad address came from, for the error message.
        let source = if o.positional().is_some() {
            "the -o argument"
        } else {
            "option addr"
        };
        let base_text = match o.positional().map(str::to_string) {
            Some(arg) => {
                let mut url = Url::parse(&arg).map_err(|e| {
                    err(
                        &out,
                        format!(
                            "the -o argument {} is not a URL: {e}",
                            Endpoint::from_text(&arg)
                        ),
                    )
                })?;
                let mut query: Vec<(String, String)> = Vec::new();
                for (k, v) in url.query_pairs() {
                    let k = ALIASES
                        .iter()
                        .find(|(a, _)| *a == k)
                        .map_or(k.to_string(), |(_, n)| n.to_string());
                    match query.iter_mut().find(|(qk, _)| *qk == k) {
                        // k6 takes tagsAsFields repeated in the query.
                        Some((_, prev)) => {
                            prev.push(',');
                            prev.push_str(&v);
                        }
                        None => query.push((k, v.into_owned())),
                    }
                }
                for (k, v) in &query {
                    o.add_arg_pair(k, v);
                }
                if !url.username().is_empty() || url.password().is_some() {
                    url_user = Some((
                        decode(url.username()),
                        url.password().map(decode).unwrap_or_default(),
                    ));
                }
                url_path = url
                    .path_segments()
                    .map(|s| s.filter(|p| !p.is_empty()).map(decode).collect())
                    .unwrap_or_default();
                url.set_query(None);
                url.set_path("");
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            None => get(&o, &ADDR).unwrap_or_else(|| ADDR.default.to_string()),
        };
        // The snake_case aliases are mapped above for the URL query only; elsewhere the
        // documented names are the only ones, so a typo cannot be silently ignored.
        let known: Vec<&str> = ALL.iter().map(|o| o.name).collect();
        o.reject_unknown(&known)?;

        let mut base = Url::parse(&base_text).map_err(|e| {
            err(
                &out,
                format!(
                    "{source} {} is not a URL: {e}",
                    Endpoint::from_text(&base_text)
                ),
            )
        })?;
        match base.scheme() {
            "http" | "https" => {}
            "udp" => {
                return Err(err(
                    &out,
                    format!(
                    "{source} must be an http(s) URL: udp:// (k6's UDP client) is not supported"
                ),
                ))
            }
            s => {
                return Err(err(
                    &out,
                    format!("{source} must be an http(s) URL, not {s}://"),
                ))
            }
        }
        if url_user.is_none() && (!base.username().is_empty() || base.password().is_some()) {
            url_user = Some((
                decode(base.username()),
                base.password().map(decode).unwrap_or_default(),
            ));
        }
        let _ = base.set_username("");
        let _ = base.set_password(None);
        // An addr option may carry a path prefix too.
        let mut prefix: Vec<String> = base
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();

        let organization = get(&o, &ORGANIZATION).unwrap_or_default();
        let bucket_opt = get(&o, &BUCKET).filter(|b| !b.is_empty());
        let token = get(&o, &TOKEN).filter(|t| !t.is_empty());
        let v2 = !organization.is_empty() || bucket_opt.is_some() || token.is_some();

        let precision_text = get(&o, &PRECISION).unwrap_or_default();
        let precision = Precision::parse(&precision_text)
            .ok_or_else(|| o.invalid("precision", &precision_text, "ns, us, ms, s, m or h"))?;

        let (api, authorization, write_path, query) = if v2 {
            let bucket = match bucket_opt {
                Some(b) => {
                    prefix.append(&mut url_path);
                    b
                }
                None => url_path.pop().ok_or_else(|| {
                    err(&out, "InfluxDB v2 needs a bucket: set bucket (K6_INFLUXDB_BUCKET) or put it in the URL path")
                })?,
            };
            prefix.append(&mut url_path);
            let p = precision.v2_name().ok_or_else(|| {
                o.invalid(
                    "precision",
                    &precision_text,
                    "ns, us, ms or s for InfluxDB v2",
                )
            })?;
            let auth = token.map(|t| format!("Token {t}"));
            let query = vec![
                ("org", organization.clone()),
                ("bucket", bucket.clone()),
                ("precision", p.to_string()),
            ];
            (
                Api::V2 {
                    organization,
                    bucket,
                },
                auth,
                ["api", "v2", "write"].as_slice(),
                query,
            )
        } else {
            let db = match url_path.pop() {
                Some(db) => db,
                None => get(&o, &DB)
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| DB.default.to_string()),
            };
            prefix.append(&mut url_path);
            let user = get(&o, &USERNAME);
            let pass = get(&o, &PASSWORD);
            let (user, pass) = match (user, pass, url_user) {
                (Some(u), p, _) => (u, p.unwrap_or_default()),
                (None, Some(p), Some((u, _))) => (u, p),
                (None, None, Some((u, p))) => (u, p),
                (None, Some(p), None) => (String::new(), p),
                (None, None, None) => (String::new(), String::new()),
            };
            let auth =
                (!user.is_empty() || !pass.is_empty()).then(|| basic_auth_header(&user, &pass));
            let retention = get(&o, &RETENTION).unwrap_or_default();
            let consistency = get(&o, &CONSISTENCY).unwrap_or_default();
            let mut query = vec![
                ("db", db.clone()),
                ("precision", precision.v1_name().to_string()),
            ];
            if !retention.is_empty() {
                query.push(("rp", retention.clone()));
            }
            if !consistency.is_empty() {
                query.push(("consistency", consistency.clone()));
            }
            (
                Api::V1 {
                    db,
                    retention,
                    consistency,
                    create_database: o.get_bool(CREATE_DATABASE.name, CREATE_DATABASE.env, true)?,
                },
                auth,
                ["write"].as_slice(),
                query,
            )
        };

        let url_at = |tail: &[&str], query: &[(&str, String)]| -> Url {
            let mut u = base.clone();
            if let Ok(mut segs) = u.path_segments_mut() {
                segs.clear();
                segs.extend(prefix.iter().map(String::as_str));
                segs.extend(tail);
            }
            u.query_pairs_mut().clear().extend_pairs(query);
            u
        };
        let write_url = url_at(write_path, &query);
        let create_url = match &api {
            Api::V1 {
                db,
                create_database: true,
                ..
            } => Some(url_at(
                &["query"],
                &[(
                    "q",
                    format!(
                        "CREATE DATABASE \"{}\"",
                        db.replace('\\', "\\\\").replace('"', "\\\"")
                    ),
                )],
            )),
            _ => None,
        };

        let push_interval = o.get_duration(
            PUSH_INTERVAL.name,
            PUSH_INTERVAL.env,
            Duration::from_secs(1),
        )?;
        let concurrent_writes = o.get_u64(CONCURRENT_WRITES.name, CONCURRENT_WRITES.env, 4)?;
        if concurrent_writes == 0 {
            return Err(o.invalid("concurrentWrites", "0", "a number greater than 0"));
        }
        let tags_as_fields = field_specs(&o, &TAGS_AS_FIELDS)?;
        let metadata_as_fields = field_specs(&o, &METADATA_AS_FIELDS)?;
        let timeout = o.get_duration(TIMEOUT.name, TIMEOUT.env, Duration::from_secs(10))?;
        if timeout.is_zero() {
            return Err(o.invalid("timeout", "0", "a duration greater than 0"));
        }
        let max_batch_bytes = o.get_u64(MAX_BATCH_BYTES.name, MAX_BATCH_BYTES.env, 1 << 20)?;
        let max_batch_lines = o.get_u64(MAX_BATCH_LINES.name, MAX_BATCH_LINES.env, 5000)?;
        if max_batch_bytes < 1024 || max_batch_lines == 0 {
            return Err(err(
                &out,
                "maxBatchBytes must be at least 1024 and maxBatchLines at least 1",
            ));
        }

        let path = |opt: &Opt| get(&o, opt).filter(|p| !p.is_empty()).map(PathBuf::from);
        let http = HttpConfig {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            user_agent: format!("loadrun-influxdb/{}", env!("CARGO_PKG_VERSION")),
            gzip: o.get_bool(GZIP.name, GZIP.env, true)?,
            tls: TlsOptions {
                insecure_skip_verify: o.get_bool(INSECURE.name, INSECURE.env, false)?,
                ca_file: path(&CA_FILE),
                client_cert: path(&CLIENT_CERT),
                client_key: path(&CLIENT_KEY),
                ..TlsOptions::default()
            },
            proxy: get(&o, &PROXY).filter(|p| !p.is_empty()),
            max_response_bytes: 64 * 1024,
        };

        let mut warnings = Vec::new();
        if let Some(p) = get(&o, &PAYLOAD_SIZE) {
            warnings.push(format!(
                "payloadSize={p} is ignored: it sizes k6's UDP packets, and this output speaks HTTP \
                 (requests are bounded by maxBatchBytes/maxBatchLines)"
            ));
        }

        Ok(Config {
            api,
            write_url,
            create_url,
            authorization,
            precision,
            push_interval,
            concurrent_writes,
            tags_as_fields,
            metadata_as_fields,
            max_batch_bytes: usize::try_from(max_batch_bytes).unwrap_or(usize::MAX),
            max_batch_lines: usize::try_from(max_batch_lines).unwrap_or(usize::MAX),
            http,
            warnings,
        })
    }
}

fn field_specs(o: &Options, opt: &Opt) -> Result<Vec<FieldSpec>, PluginError> {
    let list = o
        .get_list(opt.name, opt.env)
        .unwrap_or_else(|| opt.default.split(',').map(str::to_string).collect());
    list.iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            FieldSpec::parse(e)
                .ok_or_else(|| o.invalid(opt.name, e, "name or name:int|float|bool|string"))
        })
        .collect()
}

fn decode(s: &str) -> String {
    loadrun_http_support::Url::parse(&format!("http://h/?x={}", s.replace('+', "%2B")))
        .ok()
        .and_then(|u| u.query_pairs().next().map(|(_, v)| v.into_owned()))
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_init(&init("influxdb", arg, "{}", env)).map_err(|e| e.to_string())
    }

    fn ok(arg: Option<&str>, env: &[(&str, &str)]) -> Config {
        match cfg(arg, env) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn k6_v1_url_form() {
        let c = ok(Some("http://u:p@127.0.0.1:18086/mydb"), &[]);
        assert_eq!(
            c.write_url.as_str(),
            "http://127.0.0.1:18086/write?db=mydb&precision=ns"
        );
        assert_eq!(c.authorization.as_deref(), Some("Basic dTpw"));
        assert_eq!(
            c.create_url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:18086/query?q=CREATE+DATABASE+%22mydb%22")
        );
        assert_eq!(c.push_interval, Duration::from_secs(1));
        assert_eq!(c.concurrent_writes, 4);
        let tags: Vec<_> = c.tags_as_fields.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(tags, ["vu", "iter", "url"]);
        assert_eq!(c.metadata_as_fields.len(), 2);
        assert!(c.http.gzip);
        assert_eq!(c.http.timeout, Duration::from_secs(10));
    }

    #[test]
    fn url_query_options_and_a_path_prefix() {
        let c = ok(
            Some("https://h:8086/proxy/influx/my%20db?precision=ms&retention=autogen&consistency=one\
                  &tagsAsFields=vu:int&tagsAsFields=url&pushInterval=2s&concurrentWrites=2&insecure=true&payload_size=512"),
            &[],
        );
        assert_eq!(
            c.write_url.as_str(),
            "https://h:8086/proxy/influx/write?db=my+db&precision=ms&rp=autogen&consistency=one"
        );
        assert_eq!(c.precision, Precision::Ms);
        assert_eq!(c.push_interval, Duration::from_secs(2));
        assert_eq!(c.concurrent_writes, 2);
        assert!(c.http.tls.insecure_skip_verify);
        assert_eq!(
            c.tags_as_fields,
            vec![
                FieldSpec {
                    key: "vu".into(),
                    ty: FieldType::Int
                },
                FieldSpec {
                    key: "url".into(),
                    ty: FieldType::String
                }
            ]
        );
        assert_eq!(c.warnings.len(), 1, "payloadSize is ignored with a warning");
        assert!(c.authorization.is_none());
    }

    #[test]
    fn k6_environment_names() {
        let c = ok(
            None,
            &[
                ("K6_INFLUXDB_ADDR", "http://db.local:9999"),
                ("K6_INFLUXDB_DB", "loadtests"),
                ("K6_INFLUXDB_USERNAME", "admin"),
                ("K6_INFLUXDB_PASSWORD", "s3cret"),
                ("K6_INFLUXDB_PRECISION", "1s"),
                ("K6_INFLUXDB_RETENTION", "weekly"),
                ("K6_INFLUXDB_PUSH_INTERVAL", "500ms"),
                ("K6_INFLUXDB_CONCURRENT_WRITES", "1"),
                ("K6_INFLUXDB_TAGS_AS_FIELDS", "url,status:int"),
                ("K6_INFLUXDB_INSECURE", "true"),
                ("K6_INFLUXDB_PROXY", "http://proxy:3128"),
            ],
        );
        assert_eq!(
            c.write_url.as_str(),
            "http://db.local:9999/write?db=loadtests&precision=s&rp=weekly"
        );
        assert_eq!(
            c.authorization.as_deref(),
            Some(basic_auth_header("admin", "s3cret").as_str())
        );
        assert_eq!(c.push_interval, Duration::from_millis(500));
        assert_eq!(
            c.tags_as_fields[1],
            FieldSpec {
                key: "status".into(),
                ty: FieldType::Int
            }
        );
        assert_eq!(c.http.proxy.as_deref(), Some("http://proxy:3128"));
        // The -o URL beats the environment.
        let c = ok(
            Some("http://other:1/db2"),
            &[
                ("K6_INFLUXDB_ADDR", "http://db.local:9999"),
                ("K6_INFLUXDB_DB", "x"),
            ],
        );
        assert_eq!(
            c.write_url.as_str(),
            "http://other:1/write?db=db2&precision=ns"
        );
    }

    #[test]
    fn v2_by_org_bucket_or_token() {
        let c = ok(
            Some("http://h:8086?org=my%20org&bucket=k6"),
            &[("K6_INFLUXDB_TOKEN", "tok123")],
        );
        assert!(matches!(c.api, Api::V2 { .. }));
        assert_eq!(
            c.write_url.as_str(),
            "http://h:8086/api/v2/write?org=my+org&bucket=k6&precision=ns"
        );
        assert_eq!(c.authorization.as_deref(), Some("Token tok123"));
        assert!(c.create_url.is_none());
        // The bucket from the path, selected by the token alone; k6's v2 precision spelling.
        let c = ok(
            Some("http://h:8086/k6bucket"),
            &[("K6_INFLUXDB_TOKEN", "t"), ("K6_INFLUXDB_PRECISION", "1ms")],
        );
        assert_eq!(
            c.write_url.as_str(),
            "http://h:8086/api/v2/write?org=&bucket=k6bucket&precision=ms"
        );
        // The xk6-influxdb environment.
        let c = ok(
            Some("http://h:8086"),
            &[
                ("K6_INFLUXDB_ORGANIZATION", "o"),
                ("K6_INFLUXDB_BUCKET", "b"),
                ("K6_INFLUXDB_TOKEN", "t"),
            ],
        );
        assert_eq!(
            c.write_url.as_str(),
            "http://h:8086/api/v2/write?org=o&bucket=b&precision=ns"
        );
    }

    #[test]
    fn clear_errors_without_secrets() {
        let e = cfg(Some("http://u:hunter2@h/db?bogus=1"), &[]).unwrap_err();
        assert!(e.contains("unknown option \"bogus\""), "{e}");
        assert!(!e.contains("hunter2"));
        let e = cfg(Some("udp://h:8089"), &[]).unwrap_err();
        assert!(
            e.contains("udp:// (k6's UDP client) is not supported"),
            "{e}"
        );
        let e = cfg(Some("ftp://h:8086/k6"), &[]).unwrap_err();
        assert!(e.contains("the -o argument must be an http(s) URL"), "{e}");
        let e = cfg(None, &[("K6_INFLUXDB_ADDR", "ftp://h:8086")]).unwrap_err();
        assert!(e.contains("option addr must be an http(s) URL"), "{e}");
        let e = cfg(Some("http://h/db?precision=weeks"), &[]).unwrap_err();
        assert!(e.contains("precision"), "{e}");
        let e = cfg(Some("http://h/db?concurrentWrites=0"), &[]).unwrap_err();
        assert!(e.contains("concurrentWrites"), "{e}");
        let e = cfg(Some("http://h/db?tagsAsFields=vu:integer"), &[]).unwrap_err();
        assert!(e.contains("vu:integer"), "{e}");
        let e = cfg(
            Some("http://h:8086?org=o"),
            &[("K6_INFLUXDB_TOKEN", "tok-secret")],
        )
        .unwrap_err();
        assert!(e.contains("needs a bucket"), "{e}");
        assert!(!e.contains("tok-secret"));
        let e = cfg(Some("http://h:8086?bucket=b&precision=h"), &[]).unwrap_err();
        assert!(e.contains("for InfluxDB v2"), "{e}");
    }

    #[test]
    fn key_value_argument_form() {
        let c = ok(
            Some("addr=http://h:1,db=x,timeout=3s,metadataAsFields="),
            &[],
        );
        assert_eq!(c.write_url.as_str(), "http://h:1/write?db=x&precision=ns");
        assert_eq!(c.http.timeout, Duration::from_secs(3));
        assert!(c.metadata_as_fields.is_empty());
    }
}
