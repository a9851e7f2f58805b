//! Options: the connection URL, its query, the `-o` pairs, the plan table and the environment,
//! declared once in [`OUTPUT`] (libpq's URL parameters too) and checked by the SDK or the host.
//!
//! The URL is parsed here rather than by `tokio-postgres`, because its query also carries our own
//! options (`pushInterval`, …) which the driver would reject, and because every message that
//! shows the URL must show it without the password ([`Config::safe_url`]).

use std::time::Duration;

use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Values,
};
use percent_encoding::percent_decode_str;

/// k6's default (`xk6-output-timescaledb`).
pub const DEFAULT_URL: &str = "postgresql://localhost/myk6timescaleDB";
pub const ENV_PUSH_INTERVAL: &str = "K6_TIMESCALEDB_PUSH_INTERVAL";
/// libpq's variable, so a password can stay off the command line.
pub const ENV_PASSWORD: &str = "PGPASSWORD";

const OPTIONS: &[OptionSpec] = &[
    // Kind::Str, not Url: a URL that fails the kind check is echoed in the error, password too.
    OptionSpec::new("url", Kind::Str)
        .query_options()
        .default(DEFAULT_URL)
        .doc("PostgreSQL URL (also the -o argument itself); its query may carry any option below"),
    OptionSpec::new("password", Kind::Str)
        .secret()
        .env(&[ENV_PASSWORD])
        .doc("password, when not in the URL"),
    OptionSpec::new("pushInterval", Kind::Duration)
        .env(&[ENV_PUSH_INTERVAL])
        .default("1s")
        .nonzero()
        .doc("how often buffered samples are written"),
    OptionSpec::new("batchSize", Kind::int_from(1))
        .default("10000")
        .doc("rows per COPY statement"),
    OptionSpec::new("maxBufferedSamples", Kind::int_from(1))
        .default("200000")
        .doc("samples held before a write is forced; beyond it the host queues (and drops, counted)"),
    OptionSpec::new("connections", Kind::Int { min: 1, max: 64 })
        .default("2")
        .doc("connections in the pool; chunks are copied concurrently"),
    OptionSpec::new("connectTimeout", Kind::Duration)
        .default("5s")
        .doc("per connection attempt (libpq connect_timeout in the URL also works)"),
    OptionSpec::new("writeTimeout", Kind::Duration)
        .default("30s")
        .doc("per COPY statement"),
    OptionSpec::new("sslmode", Kind::Enum(SslMode::WORDS))
        .synonyms(&[("allow", "prefer")])
        .default("prefer")
        .doc("TLS as libpq's sslmode, with rustls; allow is read as prefer"),
    OptionSpec::new("sslrootcert", Kind::Str)
        .doc("PEM file of CA certificates for verify-ca/verify-full (default: Mozilla roots)"),
    OptionSpec::new("hypertable", Kind::Enum(Hypertable::WORDS))
        .synonyms(&[("on", "true"), ("yes", "true"), ("off", "false"), ("no", "false")])
        .default("auto")
        .doc("auto: make samples a hypertable when the timescaledb extension is installed; true: require it; false: never"),
    OptionSpec::new("createExtension", Kind::Bool)
        .default("false")
        .doc("run CREATE EXTENSION IF NOT EXISTS timescaledb first"),
    OptionSpec::new("chunkInterval", Kind::Duration)
        .nonzero()
        .doc("hypertable chunk_time_interval (1d when not set)"),
    OptionSpec::new("compressAfter", Kind::Duration)
        .nonzero()
        .doc("TimescaleDB compression policy: compress chunks older than this (e.g. 7d)"),
    OptionSpec::new("retention", Kind::Duration)
        .nonzero()
        .doc("TimescaleDB retention policy: drop chunks older than this (e.g. 90d)"),
    // libpq's own URL parameters; given as options they win over the URL's parts.
    OptionSpec::new("connect_timeout", Kind::int_from(0))
        .doc("libpq: connection timeout in whole seconds (wins over connectTimeout)"),
    OptionSpec::new("application_name", Kind::Str)
        .default("loadrun")
        .doc("libpq: application_name reported to the server"),
    OptionSpec::new("options", Kind::Str)
        .doc("libpq: command-line options sent to the server at connection start"),
    OptionSpec::new("host", Kind::Str).doc("libpq: host (wins over the URL's)"),
    OptionSpec::new("port", Kind::Int { min: 0, max: 65535 }).doc("libpq: port (wins over the URL's)"),
    OptionSpec::new("user", Kind::Str).doc("libpq: user (wins over the URL's; default postgres)"),
    OptionSpec::new("dbname", Kind::Str).doc("libpq: database (wins over the URL's; default the user)"),
];

/// The timescaledb output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("timescaledb", &["postgresql"])
    .describe(
        "PostgreSQL / TimescaleDB via binary COPY, k6 xk6-output-timescaledb compatible tables",
    )
    .options(OPTIONS)
    .positional(Positional::Url("url"));

loadrun_plugin_api::words! {
    /// libpq's `sslmode`. `allow` is read as `prefer` (both fall back to plain text).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SslMode {
        Disable = "disable",
        Prefer = "prefer",
        Require = "require",
        VerifyCa = "verify-ca",
        VerifyFull = "verify-full",
    }
}

loadrun_plugin_api::words! {
    /// Whether `samples` becomes a hypertable.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Hypertable {
        /// When the `timescaledb` extension is installed in the database.
        Auto = "auto",
        /// Always; an error at start if the extension is missing.
        On = "true",
        Off = "false",
    }
}

/// The resolved options of one output instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Never printed: a [`Secret`], and [`Config::redact`] scrubs it from messages.
    pub password: Option<Secret>,
    pub dbname: String,
    pub application_name: String,
    pub pg_options: Option<String>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    pub push_interval: Duration,
    pub batch_size: usize,
    pub max_buffered: usize,
    pub connections: usize,
    pub connect_timeout: Duration,
    pub write_timeout: Duration,
    pub create_extension: bool,
    pub hypertable: Hypertable,
    pub chunk_interval: Option<Duration>,
    pub compress_after: Option<Duration>,
    pub retention: Option<Duration>,
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let source = if v.is_positional("url") {
            "the -o argument"
        } else {
            "option url"
        };
        let url = parse_url_from(&v.string("url")?, source)?;
        let user = v
            .opt::<String>("user")?
            .or(url.user)
            .unwrap_or_else(|| "postgres".to_string());
        let connect_timeout = match v.opt::<u64>("connect_timeout")? {
            Some(secs) => Duration::from_secs(secs),
            None => v.duration("connectTimeout")?,
        };
        Ok(Config {
            host: v.opt("host")?.unwrap_or(url.host),
            port: v.opt("port")?.unwrap_or(url.port),
            dbname: v
                .opt::<String>("dbname")?
                .or(url.dbname)
                .unwrap_or_else(|| user.clone()),
            user,
            // The URL's password wins over PGPASSWORD, as with libpq.
            password: url
                .password
                .map(Secret::new)
                .or(v.secret("password")?)
                .filter(|p| !p.is_empty()),
            application_name: v.string("application_name")?,
            pg_options: v.opt("options")?,
            sslmode: v.get("sslmode")?,
            sslrootcert: v.opt("sslrootcert")?,
            push_interval: v.duration("pushInterval")?,
            batch_size: v.get("batchSize")?,
            max_buffered: v.get("maxBufferedSamples")?,
            connections: v.get("connections")?,
            connect_timeout,
            write_timeout: v.duration("writeTimeout")?,
            create_extension: v.bool("createExtension")?,
            hypertable: v.get("hypertable")?,
            chunk_interval: v.opt("chunkInterval")?,
            compress_after: v.opt("compressAfter")?,
            retention: v.opt("retention")?,
        })
    }

    /// The connection URL with the password masked, for messages.
    pub fn safe_url(&self) -> String {
        let auth = match &self.password {
            Some(_) => format!("{}:***@", self.user),
            None => format!("{}@", self.user),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("postgresql://{auth}{host}:{}/{}", self.port, self.dbname)
    }

    /// Removes the password from any text bound for a log or an error (a server or driver
    /// message could in principle echo it).
    pub fn redact(&self, text: &str) -> String {
        match &self.password {
            Some(p) => p.redact(text),
            None => text.to_string(),
        }
    }
}

/// The parts of a `postgres://` / `postgresql://` URL.
#[derive(Debug, Default, PartialEq)]
pub struct ParsedUrl {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    pub query: Vec<(String, String)>,
}

/// Parses a connection URL. Errors never contain the URL itself: it may hold a password.
pub fn parse_url(text: &str) -> Result<ParsedUrl, PluginError> {
    parse_url_from(text, "the connection URL")
}

/// [`parse_url`], naming where the URL came from (`option url`, `the -o argument`) in errors.
pub fn parse_url_from(text: &str, source: &str) -> Result<ParsedUrl, PluginError> {
    let bad = |why: &str| {
        PluginError::new(format!(
            "timescaledb: {source} is not a valid connection URL: {why}"
        ))
    };
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(PluginError::new(format!(
            "timescaledb: {source} must be a postgresql:// URL \
             (postgresql://user:password@host:port/database), not {}://",
            url.scheme()
        )));
    }
    let decode = |s: &str| -> Result<String, PluginError> {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| bad("a part of it is not valid UTF-8 after percent-decoding"))
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(h) => decode(&h.to_string())?,
        None => "localhost".to_string(),
    };
    let user = (!url.username().is_empty())
        .then(|| decode(url.username()))
        .transpose()?;
    let password = url.password().map(decode).transpose()?;
    let path = url.path().trim_start_matches('/');
    if path.contains('/') {
        return Err(bad("the path must be just the database name"));
    }
    let dbname = (!path.is_empty()).then(|| decode(path)).transpose()?;
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Ok(ParsedUrl {
        host,
        port: url.port().unwrap_or(5432),
        user,
        password,
        dbname,
        query,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit;

    fn cfg(arg: Option<&str>, plan: &str, env: &[(&str, &str)]) -> Result<Config, PluginError> {
        Config::from_init(&testkit::init("timescaledb", arg, plan, env))
    }

    #[test]
    fn url_with_query_options() {
        let c = cfg(
            Some("postgresql://k6:s3cr%40t@db.example:6543/loadtests?sslmode=disable&pushInterval=250ms&batchSize=500"),
            "",
            &[],
        )
        .unwrap();
        assert_eq!(c.host, "db.example");
        assert_eq!(c.port, 6543);
        assert_eq!(c.user, "k6");
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("s3cr@t"));
        assert_eq!(c.dbname, "loadtests");
        assert_eq!(c.sslmode, SslMode::Disable);
        assert_eq!(c.push_interval, Duration::from_millis(250));
        assert_eq!(c.batch_size, 500);
        assert_eq!(c.connections, 2);
    }

    #[test]
    fn defaults_match_k6() {
        let c = cfg(None, "", &[]).unwrap();
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, 5432);
        assert_eq!(c.dbname, "myk6timescaleDB");
        assert_eq!(c.push_interval, Duration::from_secs(1));
        assert_eq!(c.sslmode, SslMode::Prefer);
        assert_eq!(c.hypertable, Hypertable::Auto);
    }

    #[test]
    fn precedence_plan_env_arg() {
        let plan = r#"{"url":"postgres://u@h1/db1","pushInterval":"5s","batchSize":7}"#;
        let c = cfg(None, plan, &[]).unwrap();
        assert_eq!(
            (c.host.as_str(), c.push_interval),
            ("h1", Duration::from_secs(5))
        );
        assert_eq!(c.batch_size, 7);
        let c = cfg(None, plan, &[(ENV_PUSH_INTERVAL, "3s")]).unwrap();
        assert_eq!(c.push_interval, Duration::from_secs(3));
        let c = cfg(
            Some("postgres://u@h2/db2?pushInterval=2s"),
            plan,
            &[(ENV_PUSH_INTERVAL, "3s")],
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.push_interval),
            ("h2", Duration::from_secs(2))
        );
        let c = cfg(Some("url=postgres://u@h3/db3,pushInterval=4s"), plan, &[]).unwrap();
        assert_eq!(
            (c.host.as_str(), c.push_interval),
            ("h3", Duration::from_secs(4))
        );
    }

    #[test]
    fn password_sources() {
        let c = cfg(Some("postgres://u@h/db"), "", &[(ENV_PASSWORD, "fromenv")]).unwrap();
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("fromenv"));
        let c = cfg(
            Some("postgres://u:inurl@h/db"),
            "",
            &[(ENV_PASSWORD, "fromenv")],
        )
        .unwrap();
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("inurl"));
    }

    #[test]
    fn password_never_shown() {
        let c = cfg(
            Some("postgres://u:hunter2xyz@h:1/db?sslmode=disable"),
            "",
            &[],
        )
        .unwrap();
        assert_eq!(c.safe_url(), "postgresql://u:***@h:1/db");
        assert!(!format!("{c:?}").contains("hunter2xyz"));
        assert_eq!(c.redact("auth hunter2xyz failed"), "auth *** failed");
        // Errors about a bad URL do not echo it.
        let e = cfg(Some("postgres://u:hunter2xyz@h:notaport/db"), "", &[]).unwrap_err();
        assert!(!e.message.contains("hunter2xyz"), "{e}");
        let e = cfg(Some("postgres://u:hunter2xyz@h/db?bogus=1"), "", &[]).unwrap_err();
        assert!(!e.message.contains("hunter2xyz"), "{e}");
        assert!(e.message.contains("bogus"), "{e}");
    }

    #[test]
    fn invalid_values_are_rejected() {
        for arg in [
            "postgres://u@h/db?sslmode=sometimes",
            "postgres://u@h/db?pushInterval=0s",
            "postgres://u@h/db?pushInterval=soon",
            "postgres://u@h/db?batchSize=0",
            "postgres://u@h/db?hypertable=maybe",
            "postgres://u@h/db?retention=forever",
            "mysql://u@h/db",
            "postgres://u@h/db/extra",
        ] {
            assert!(cfg(Some(arg), "", &[]).is_err(), "{arg} accepted");
        }
        let e = cfg(Some("mysql://u@h/db"), "", &[]).unwrap_err();
        assert!(
            e.message
                .contains("the -o argument must be a postgresql:// URL"),
            "{e}"
        );
    }

    #[test]
    fn libpq_parameters_and_ipv6() {
        let c = cfg(
            Some("postgresql://[::1]/db?connect_timeout=3&application_name=bench&sslmode=verify-full&retention=30d&compressAfter=7d"),
            "",
            &[],
        )
        .unwrap();
        assert_eq!(c.host, "::1");
        assert_eq!(c.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.application_name, "bench");
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert_eq!(c.retention, Some(Duration::from_secs(30 * 86400)));
        assert_eq!(c.compress_after, Some(Duration::from_secs(7 * 86400)));
        assert_eq!(c.safe_url(), "postgresql://postgres@[::1]:5432/db");
    }
}
