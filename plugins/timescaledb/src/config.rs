//! Options: the connection URL, its query, the `-o` pairs, the plan table and the environment.
//!
//! The URL is parsed here rather than by `tokio-postgres`, because its query also carries our own
//! options (`pushInterval`, …) which the driver would reject, and because every message that
//! shows the URL must show it without the password ([`Config::safe_url`]).

use std::time::Duration;

use loadrun_plugin_api::abi::{OutputInit, PluginError};
use loadrun_plugin_api::options::{parse_duration, Options};
use percent_encoding::percent_decode_str;

/// k6's default (`xk6-output-timescaledb`).
pub const DEFAULT_URL: &str = "postgresql://localhost/myk6timescaleDB";
pub const ENV_PUSH_INTERVAL: &str = "K6_TIMESCALEDB_PUSH_INTERVAL";
/// libpq's variable, so a password can stay off the command line.
pub const ENV_PASSWORD: &str = "PGPASSWORD";

/// Every option name accepted in the `-o` pairs, the URL query and the plan table.
pub const KNOWN: &[&str] = &[
    "url",
    "pushInterval",
    "batchSize",
    "maxBufferedSamples",
    "connections",
    "connectTimeout",
    "writeTimeout",
    "sslmode",
    "sslrootcert",
    "password",
    "createExtension",
    "hypertable",
    "chunkInterval",
    "compressAfter",
    "retention",
    // libpq parameters that may appear in the URL query.
    "connect_timeout",
    "application_name",
    "options",
    "host",
    "port",
    "user",
    "dbname",
];

/// libpq's `sslmode`. `allow` is read as `prefer` (both fall back to plain text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(v: &str) -> Option<Self> {
        Some(match v.trim() {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Whether `samples` becomes a hypertable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypertable {
    /// When the `timescaledb` extension is installed in the database.
    Auto,
    /// Always; an error at start if the extension is missing.
    On,
    Off,
}

/// The resolved options of one output instance.
#[derive(Clone, PartialEq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Never printed: `Debug` leaves it out and [`Config::redact`] scrubs it from messages.
    pub password: Option<String>,
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

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.safe_url())
            .field("sslmode", &self.sslmode)
            .field("push_interval", &self.push_interval)
            .field("batch_size", &self.batch_size)
            .field("max_buffered", &self.max_buffered)
            .field("connections", &self.connections)
            .field("hypertable", &self.hypertable)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let mut opts = Options::from_init(init)?;
        let (url, source) = match opts.positional() {
            Some(p) => (p.to_string(), "the -o argument"),
            None => (opts.get_or("url", &[], DEFAULT_URL), "option url"),
        };
        let parsed = parse_url_from(&url, source)?;
        for (k, v) in &parsed.query {
            opts.add_arg_pair(k, v);
        }
        opts.reject_unknown(KNOWN)?;
        let env_password = init
            .env
            .iter()
            .find(|kv| kv.key.as_str() == ENV_PASSWORD)
            .map(|kv| kv.value.to_string());
        Self::resolve(&opts, parsed, env_password)
    }

    fn resolve(
        opts: &Options,
        url: ParsedUrl,
        env_password: Option<String>,
    ) -> Result<Self, PluginError> {
        let host = opts.get("host", &[]).unwrap_or(url.host);
        let port = match opts.get("port", &[]) {
            Some(p) => p
                .trim()
                .parse()
                .map_err(|_| opts.invalid("port", &p, "a TCP port number"))?,
            None => url.port,
        };
        let user = opts
            .get("user", &[])
            .or(url.user)
            .unwrap_or_else(|| "postgres".to_string());
        let dbname = opts
            .get("dbname", &[])
            .or(url.dbname)
            .unwrap_or_else(|| user.clone());
        // The URL's password wins over PGPASSWORD, as with libpq.
        let password = url
            .password
            .or_else(|| opts.get("password", &[]))
            .or(env_password)
            .filter(|p| !p.is_empty());
        let sslmode_text = opts.get_or("sslmode", &[], "prefer");
        let sslmode = SslMode::parse(&sslmode_text).ok_or_else(|| {
            opts.invalid(
                "sslmode",
                &sslmode_text,
                "disable, allow, prefer, require, verify-ca or verify-full",
            )
        })?;
        let connect_timeout = match opts.get("connect_timeout", &[]) {
            // libpq's parameter is whole seconds.
            Some(secs) => Duration::from_secs(
                secs.trim()
                    .parse()
                    .map_err(|_| opts.invalid("connect_timeout", &secs, "whole seconds"))?,
            ),
            None => opts.get_duration("connectTimeout", &[], Duration::from_secs(5))?,
        };
        let push_interval =
            opts.get_duration("pushInterval", &[ENV_PUSH_INTERVAL], Duration::from_secs(1))?;
        if push_interval.is_zero() {
            return Err(opts.invalid("pushInterval", "0", "a duration above zero such as 1s"));
        }
        let batch_size = positive(opts, "batchSize", 10_000)?;
        let max_buffered = positive(opts, "maxBufferedSamples", 200_000)?;
        let connections = positive(opts, "connections", 2)?;
        if connections > 64 {
            return Err(opts.invalid("connections", &connections.to_string(), "1 to 64"));
        }
        let hypertable_text = opts.get_or("hypertable", &[], "auto");
        let hypertable = match hypertable_text.trim() {
            "auto" => Hypertable::Auto,
            "true" | "on" | "yes" => Hypertable::On,
            "false" | "off" | "no" => Hypertable::Off,
            _ => return Err(opts.invalid("hypertable", &hypertable_text, "auto, true or false")),
        };
        Ok(Config {
            host,
            port,
            user,
            password,
            dbname,
            application_name: opts.get_or("application_name", &[], "loadrun"),
            pg_options: opts.get("options", &[]),
            sslmode,
            sslrootcert: opts.get("sslrootcert", &[]),
            push_interval,
            batch_size,
            max_buffered,
            connections,
            connect_timeout,
            write_timeout: opts.get_duration("writeTimeout", &[], Duration::from_secs(30))?,
            create_extension: opts.get_bool("createExtension", &[], false)?,
            hypertable,
            chunk_interval: optional_duration(opts, "chunkInterval")?,
            compress_after: optional_duration(opts, "compressAfter")?,
            retention: optional_duration(opts, "retention")?,
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
            Some(p) if !p.is_empty() => {
                let encoded =
                    percent_encoding::utf8_percent_encode(p, percent_encoding::NON_ALPHANUMERIC)
                        .to_string();
                text.replace(p.as_str(), "***").replace(&encoded, "***")
            }
            _ => text.to_string(),
        }
    }
}

fn positive(opts: &Options, name: &str, default: u64) -> Result<usize, PluginError> {
    let v = opts.get_u64(name, &[], default)?;
    if v == 0 {
        return Err(opts.invalid(name, "0", "a whole number above zero"));
    }
    usize::try_from(v).map_err(|_| opts.invalid(name, &v.to_string(), "a smaller number"))
}

fn optional_duration(opts: &Options, name: &str) -> Result<Option<Duration>, PluginError> {
    match opts.get(name, &[]) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => parse_duration(&v)
            .filter(|d| !d.is_zero())
            .map(Some)
            .ok_or_else(|| opts.invalid(name, &v, "a duration such as 7d, 12h or 30m")),
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
        assert_eq!(c.password.as_deref(), Some("s3cr@t"));
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
        assert_eq!(c.password.as_deref(), Some("fromenv"));
        let c = cfg(
            Some("postgres://u:inurl@h/db"),
            "",
            &[(ENV_PASSWORD, "fromenv")],
        )
        .unwrap();
        assert_eq!(c.password.as_deref(), Some("inurl"));
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
