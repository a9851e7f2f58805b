//! The influxdb output's options: k6's URL form (`-o influxdb=http://user:pass@host:8086/db?opt=v`),
//! k6's option and `K6_INFLUXDB_*` names (an option without its own variable is read from
//! `K6_INFLUXDB_<NAME>`, k6's rule), and ours (`LOADRUN_INFLUXDB_*`). Declared once in
//! [`OUTPUT`]; the SDK (or the host) merges and checks them, and [`Config::from_init`] turns the
//! checked values, plus what the URL's userinfo and path say, into the write request.

use std::time::Duration;

use crate::encoder::{FieldSpec, FieldType, Precision};
use loadrun_http_support::{basic_auth_header, tls_files, Endpoint, HttpConfig, TlsOptions, Url};
use loadrun_plugin_api::{
    options, DeclaredOutput, Items, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret,
    Values,
};

const OWN: &[OptionSpec] = &[
    OptionSpec::new("addr", Kind::Str)
        .default("http://localhost:8086")
        .doc("Server URL (the -o argument's URL takes precedence). A path before the database name is kept as a prefix."),
    OptionSpec::new("db", Kind::Str)
        .empty_is_unset()
        .default("k6")
        .doc("v1 database (the URL path gives it too)."),
    OptionSpec::new("username", Kind::Str)
        .doc("v1 user (URL userinfo gives it too)."),
    OptionSpec::new("password", Kind::Str)
        .secret()
        .doc("v1 password (URL userinfo gives it too)."),
    OptionSpec::new("insecure", Kind::Bool)
        .default("false")
        .doc("Skip TLS certificate verification."),
    OptionSpec::new("payloadSize", Kind::Str)
        .aliases(&["payload_size"])
        .doc("k6's UDP payload size: accepted and ignored (UDP is not supported); see maxBatchBytes."),
    OptionSpec::new("precision", Kind::Enum(Precision::WORDS))
        // k6's `1ms`-style durations, and InfluxDB v1's `n` and `u`.
        .synonyms(&[
            ("", "ns"), ("n", "ns"), ("1n", "ns"), ("1ns", "ns"), ("u", "us"), ("1u", "us"),
            ("1us", "us"), ("µs", "us"), ("1µs", "us"), ("1ms", "ms"), ("1s", "s"), ("1m", "m"),
            ("1h", "h"),
        ])
        .default("ns")
        .doc("Timestamp precision (m and h: v1 only)."),
    OptionSpec::new("retention", Kind::Str)
        .aliases(&["rp"])
        .empty_is_unset()
        .doc("v1 retention policy (`rp`)."),
    OptionSpec::new("consistency", Kind::Str)
        .empty_is_unset()
        .doc("v1 write consistency (any, one, quorum, all; InfluxDB Enterprise)."),
    OptionSpec::new("pushInterval", Kind::Duration)
        .aliases(&["push_interval"])
        .default("1s")
        .doc("How often buffered points are written."),
    OptionSpec::new("concurrentWrites", Kind::int_from(1))
        .aliases(&["concurrent_writes"])
        .default("4")
        .doc("Accepted for k6 compatibility (must be > 0); requests are sent one at a time, in order."),
    OptionSpec::new("tagsAsFields", Kind::Map(':'))
        .items(Items::OneOf(FieldType::WORDS))
        .bare("string")
        .aliases(&["tags_as_fields"])
        .default("vu,iter,url")
        .doc("Tags written as fields instead of tags, `name[:type]` (a URL query may repeat it)."),
    OptionSpec::new("proxy", Kind::Str)
        .empty_is_unset()
        .doc("HTTP proxy URL (http://[user:pass@]host:port)."),
    OptionSpec::new("organization", Kind::Str)
        .aliases(&["org"])
        .empty_is_unset()
        .doc("v2 organization (`org` in the URL query); setting it selects v2."),
    OptionSpec::new("bucket", Kind::Str)
        .empty_is_unset()
        .doc("v2 bucket (the URL path gives it too); setting it selects v2."),
    OptionSpec::new("token", Kind::Str)
        .secret()
        .empty_is_unset()
        .doc("v2 API token (`Authorization: Token …`); setting it selects v2."),
    OptionSpec::new("timeout", Kind::Duration)
        .env(&["LOADRUN_INFLUXDB_TIMEOUT"])
        .default("10s")
        .nonzero()
        .doc("The most one HTTP request may take (k6 has no timeout)."),
    OptionSpec::new("metadataAsFields", Kind::Map(':'))
        .items(Items::OneOf(FieldType::WORDS))
        .bare("string")
        .env(&["LOADRUN_INFLUXDB_METADATA_AS_FIELDS"])
        .default("vu:int,iter:int")
        .doc("Sample metadata written as fields (k6 drops vu/iter); empty to disable."),
    OptionSpec::new("gzip", Kind::Bool)
        .env(&["LOADRUN_INFLUXDB_GZIP"])
        .default("true")
        .doc("gzip request bodies."),
    OptionSpec::new("maxBatchBytes", Kind::int_from(1024))
        .env(&["LOADRUN_INFLUXDB_MAX_BATCH_BYTES"])
        .default("1048576")
        .doc("Most uncompressed bytes per request; larger pushes are split."),
    OptionSpec::new("maxBatchLines", Kind::int_from(1))
        .env(&["LOADRUN_INFLUXDB_MAX_BATCH_LINES"])
        .default("5000")
        .doc("Most points per request; larger pushes are split."),
    OptionSpec::new("createDatabase", Kind::Bool)
        .env(&["LOADRUN_INFLUXDB_CREATE_DATABASE"])
        .default("true")
        .doc("v1: run CREATE DATABASE at start, as k6 does."),
];

const OPTIONS: &[OptionSpec] = options![OWN, tls_files!("LOADRUN_INFLUXDB")];

/// The influxdb output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("influxdb", &["xk6-influxdb"])
    .describe("InfluxDB 1.x /write or 2.x /api/v2/write (line protocol, k6-compatible)")
    .options(OPTIONS)
    .env_prefix("K6_INFLUXDB_")
    .positional(Positional::Url("addr"));

/// Which write API is spoken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    /// InfluxDB 1.x `/write` (and `/query` to create the database).
    V1 { db: String },
    /// InfluxDB 2.x `/api/v2/write` (also InfluxDB 1.8+, VictoriaMetrics).
    V2 {
        organization: String,
        bucket: String,
    },
}

/// Everything an [`crate::InfluxOutput`] needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: Api,
    /// `/write` or `/api/v2/write` with its query, credentials not included.
    pub write_url: Url,
    /// v1 `/query?q=CREATE DATABASE …`, when the database is to be created.
    pub create_url: Option<Url>,
    /// `Authorization` value (Basic for v1 user/password, Token for v2).
    pub authorization: Option<Secret>,
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

fn err(output: &str, msg: impl std::fmt::Display) -> PluginError {
    PluginError::new(format!("{output}: {msg}"))
}

impl Config {
    /// The write endpoint as it may be shown.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.write_url)
    }

    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let out = v.output().to_string();
        // The -o URL, scheme://[user:pass@]host:port[/prefix]/name[?options]: its query pairs
        // are options already; its userinfo and last path segment are read here.
        let from_arg = v.is_positional("addr");
        let source = ["option addr", "the -o argument"][usize::from(from_arg)];
        let addr = v.string("addr")?;
        let mut base = Url::parse(&addr).map_err(|e| {
            let shown = Endpoint::from_text(&addr);
            err(&out, format!("{source} {shown} is not a URL: {e}"))
        })?;
        let why = match base.scheme() {
            "http" | "https" => String::new(),
            "udp" => ": udp:// (k6's UDP client) is not supported".to_string(),
            s => format!(", not {s}://"),
        };
        if !why.is_empty() {
            return Err(err(&out, format!("{source} must be an http(s) URL{why}")));
        }
        let (url_user, url_pass) = (
            Some(decode(base.username())).filter(|u| !u.is_empty()),
            base.password().map(decode),
        );
        let _ = base.set_username("");
        let _ = base.set_password(None);
        let segments = |f: fn(&str) -> String| -> Vec<String> {
            let s = base.path_segments().into_iter().flatten();
            s.filter(|p| !p.is_empty()).map(f).collect()
        };
        // The -o URL's last segment names the database or bucket; an addr option's whole path
        // is a prefix.
        let (mut prefix, mut url_path) = match from_arg {
            true => (Vec::new(), segments(decode)),
            false => (segments(str::to_string), Vec::new()),
        };

        let organization: Option<String> = v.opt("organization")?;
        let (bucket, token) = (v.opt::<String>("bucket")?, v.secret("token")?);
        let precision: Precision = v.get("precision")?;

        let (api, authorization, write_path, mut query_out) = if organization.is_some()
            || bucket.is_some()
            || token.is_some()
        {
            let bucket = match bucket {
                    Some(b) => b,
                    None => url_path.pop().ok_or_else(|| {
                        err(&out, "InfluxDB v2 needs a bucket: set bucket (K6_INFLUXDB_BUCKET) or put it in the URL path")
                    })?,
                };
            let p = precision.v2().ok_or_else(|| {
                let msg = format!(
                    "option precision={:?} is not valid: expected ns, us, ms or s for InfluxDB v2",
                    precision.v1()
                );
                err(&out, msg)
            })?;
            let auth = token.map(|t| Secret::new(format!("Token {}", t.expose())));
            let organization = organization.unwrap_or_default();
            let query = vec![
                ("org", organization.clone()),
                ("bucket", bucket.clone()),
                ("precision", p.to_string()),
            ];
            let api = Api::V2 {
                organization,
                bucket,
            };
            (api, auth, ["api", "v2", "write"].as_slice(), query)
        } else {
            let db = url_path.pop().map_or_else(|| v.string("db"), Ok)?;
            let user = v.opt::<String>("username")?;
            let pass = v.secret("password")?.map(|p| p.expose().to_string());
            // A user given as an option takes the password option alone with it.
            let pass = if user.is_some() {
                pass
            } else {
                pass.or(url_pass)
            };
            let (user, pass) = (
                user.or(url_user).unwrap_or_default(),
                pass.unwrap_or_default(),
            );
            let auth = (!user.is_empty() || !pass.is_empty())
                .then(|| Secret::new(basic_auth_header(&user, &pass)));
            let query = vec![("db", db.clone()), ("precision", precision.v1().into())];
            (Api::V1 { db }, auth, ["write"].as_slice(), query)
        };
        if matches!(api, Api::V1 { .. }) {
            for (name, key) in [("retention", "rp"), ("consistency", "consistency")] {
                query_out.extend(v.opt::<String>(name)?.map(|t| (key, t)));
            }
        }
        prefix.append(&mut url_path);

        let url_at = |tail: &[&str], query: &[(&str, String)]| -> Url {
            let mut u = base.clone();
            if let Ok(mut segs) = u.path_segments_mut() {
                segs.clear()
                    .extend(prefix.iter().map(String::as_str))
                    .extend(tail);
            }
            u.query_pairs_mut().clear().extend_pairs(query);
            u
        };
        let write_url = url_at(write_path, &query_out);
        let create_url = match &api {
            Api::V1 { db } if v.bool("createDatabase")? => {
                let db = db.replace('\\', "\\\\").replace('"', "\\\"");
                let q = [("q", format!("CREATE DATABASE \"{db}\""))];
                Some(url_at(&["query"], &q))
            }
            _ => None,
        };

        let timeout = v.duration("timeout")?;
        let http = HttpConfig {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            user_agent: format!("loadrun-influxdb/{}", env!("CARGO_PKG_VERSION")),
            gzip: v.bool("gzip")?,
            tls: TlsOptions::from_values(&v)?,
            proxy: v.opt("proxy")?,
            max_response_bytes: 64 * 1024,
        };
        let warnings = v.opt::<String>("payloadSize")?.map(|p| {
            format!(
                "payloadSize={p} is ignored: it sizes k6's UDP packets, and this output speaks HTTP \
                 (requests are bounded by maxBatchBytes/maxBatchLines)"
            )
        });
        let fields = |name: &str| -> Result<Vec<FieldSpec>, PluginError> {
            let entries: Vec<(String, String)> = v.get(name)?;
            let spec = |(key, ty): (String, String)| {
                Some(FieldSpec {
                    key,
                    ty: FieldType::from_word(&ty)?,
                })
            };
            Ok(entries.into_iter().filter_map(spec).collect())
        };

        Ok(Config {
            api,
            write_url,
            create_url,
            authorization,
            precision,
            push_interval: v.duration("pushInterval")?,
            concurrent_writes: v.get("concurrentWrites")?,
            tags_as_fields: fields("tagsAsFields")?,
            metadata_as_fields: fields("metadataAsFields")?,
            max_batch_bytes: v.get("maxBatchBytes")?,
            max_batch_lines: v.get("maxBatchLines")?,
            http,
            warnings: warnings.into_iter().collect(),
        })
    }
}

/// `%XX` escapes decoded (a `+` stays a plus: these are URL userinfo and path parts, not a
/// form); bytes that are not UTF-8 become U+FFFD.
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
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
        assert_eq!(
            c.authorization.as_ref().map(Secret::expose),
            Some("Basic dTpw")
        );
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
            c.authorization.as_ref().map(Secret::expose),
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
        assert_eq!(
            c.authorization.as_ref().map(Secret::expose),
            Some("Token tok123")
        );
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
        assert!(e.contains("unknown key \"bogus\""), "{e}");
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
