//! The web dashboard's options: `-o web-dashboard[=key=value,...]`, the plan's
//! `[outputs.web-dashboard]` table and the environment (`K6_WEB_DASHBOARD_*`, as k6 names them).
//! Declared once in [`OUTPUT`]; the SDK merges and checks them.

use std::path::PathBuf;
use std::time::Duration;

use loadrun_plugin_api::{DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Values};

/// The most points a run keeps per chart: the period is stretched past it (k6's dashboard
/// keeps the same bound), so the kept event stream stays bounded whatever the run's length.
pub const MAX_POINTS: u64 = 2880;

#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("host", Kind::Str).env(&["K6_WEB_DASHBOARD_HOST"]).default("127.0.0.1").doc("address to listen on; the default is loopback only, `0.0.0.0` or an interface's address exposes the dashboard (and the test's URLs) to the network"),
    OptionSpec::new("port", Kind::Int { min: -1, max: 65535 }).env(&["K6_WEB_DASHBOARD_PORT"]).default("5665").doc("port to listen on; 0 picks a free one, -1 serves nothing (export and record still work)"),
    OptionSpec::new("period", Kind::Duration).env(&["K6_WEB_DASHBOARD_PERIOD"]).default("10s").at_least("100ms").doc("how often a snapshot is taken; stretched so a run keeps at most 2880 points"),
    OptionSpec::new("open", Kind::Bool).env(&["K6_WEB_DASHBOARD_OPEN"]).default("false").doc("open the page in the browser (xdg-open) at start"),
    OptionSpec::new("export", Kind::Str).env(&["K6_WEB_DASHBOARD_EXPORT"]).empty_is_unset().doc("write the self-contained HTML report to this file at the end of the run; a .gz name gzips it"),
    OptionSpec::new("record", Kind::Str).env(&["K6_WEB_DASHBOARD_RECORD"]).empty_is_unset().doc("write every event as NDJSON to this file (`loadrun report` rebuilds the report from it); a .gz name gzips it"),
    OptionSpec::new("tags", Kind::List(',')).env(&["K6_WEB_DASHBOARD_TAGS"]).doc("more tags to group request metrics by, besides name, status, scenario, group and error_code"),
    OptionSpec::new("linger", Kind::Bool).env(&["LOADRUN_WEB_DASHBOARD_LINGER"]).default("false").doc("keep serving after the test until Ctrl-C (otherwise the server stops with the test, open browser tabs or not)"),
    OptionSpec::new("topN", Kind::Int { min: 1, max: 1000 }).aliases(&["top_n"]).env(&["LOADRUN_WEB_DASHBOARD_TOP_N"]).default("20").doc("series kept per grouping tag, by request count; the rest are summed as `other`"),
];

/// The web dashboard, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("web-dashboard", &[])
    .describe("live charts in the browser (SSE) and a self-contained HTML report")
    .options(OPTIONS);

/// The tags request metrics are always grouped by.
pub const DEFAULT_GROUP_BY: [&str; 5] = ["name", "status", "scenario", "group", "error_code"];

/// Whether and where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `port=-1`: no server.
    Off,
    /// Host and port (0: any free port).
    On { host: String, port: u16 },
}

/// Everything the dashboard needs to know, resolved and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardConfig {
    pub listen: Listen,
    /// As given; [`DashboardConfig::effective_period`] stretches it for long runs.
    pub period: Duration,
    pub open: bool,
    pub export: Option<PathBuf>,
    pub record: Option<PathBuf>,
    /// The grouping tags: the defaults, then `tags` (without repeats).
    pub group_by: Vec<String>,
    pub linger: bool,
    pub top_n: usize,
}

impl DashboardConfig {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let port = v.int("port")?;
        let listen = match u16::try_from(port) {
            Ok(port) => Listen::On {
                host: v.string("host")?,
                port,
            },
            Err(_) => Listen::Off,
        };
        let mut group_by: Vec<String> = DEFAULT_GROUP_BY.iter().map(|s| s.to_string()).collect();
        for t in v.opt::<Vec<String>>("tags")?.unwrap_or_default() {
            let t = t.trim().to_string();
            if !t.is_empty() && !group_by.contains(&t) {
                group_by.push(t);
            }
        }
        Ok(Self {
            listen,
            period: v.duration("period")?,
            open: v.bool("open")?,
            export: v.opt::<String>("export")?.map(PathBuf::from),
            record: v.opt::<String>("record")?.map(PathBuf::from),
            group_by,
            linger: v.bool("linger")?,
            top_n: usize::try_from(v.int("topN")?).unwrap_or(20),
        })
    }

    /// The period actually used: the one given, or longer so that a run of `planned` keeps at
    /// most [`MAX_POINTS`] snapshots.
    pub fn effective_period(&self, planned: Option<Duration>) -> Duration {
        stretched_period(self.period, planned)
    }
}

/// `max(period, planned / MAX_POINTS)`, in whole milliseconds.
pub fn stretched_period(period: Duration, planned: Option<Duration>) -> Duration {
    let floor = planned
        .map(|p| Duration::from_millis((p.as_millis() as u64).div_ceil(MAX_POINTS)))
        .unwrap_or_default();
    period.max(floor)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<DashboardConfig, PluginError> {
        DashboardConfig::from_init(&init("web-dashboard", arg, "", env))
    }

    #[test]
    fn defaults_listen_on_loopback_only() {
        let c = cfg(None, &[]).unwrap();
        assert_eq!(
            c.listen,
            Listen::On {
                host: "127.0.0.1".into(),
                port: 5665
            }
        );
        assert_eq!(c.period, Duration::from_secs(10));
        assert!(!c.open && !c.linger);
        assert_eq!(c.export, None);
        assert_eq!(c.record, None);
        assert_eq!(c.group_by, DEFAULT_GROUP_BY.to_vec());
        assert_eq!(c.top_n, 20);
    }

    #[test]
    fn arguments_and_k6_environment() {
        let c = cfg(
            Some("host=0.0.0.0,port=0,period=2s,open=true,export=r.html.gz,record=e.ndjson,tags=method"),
            &[],
        )
        .unwrap();
        assert_eq!(
            c.listen,
            Listen::On {
                host: "0.0.0.0".into(),
                port: 0
            }
        );
        assert_eq!(c.period, Duration::from_secs(2));
        assert!(c.open);
        assert_eq!(c.export, Some(PathBuf::from("r.html.gz")));
        assert_eq!(c.record, Some(PathBuf::from("e.ndjson")));
        assert_eq!(c.group_by.last().map(String::as_str), Some("method"));

        let env = [
            ("K6_WEB_DASHBOARD_HOST", "::1"),
            ("K6_WEB_DASHBOARD_PORT", "-1"),
            ("K6_WEB_DASHBOARD_PERIOD", "3s"),
            ("K6_WEB_DASHBOARD_OPEN", "true"),
            ("K6_WEB_DASHBOARD_EXPORT", "x.html"),
            ("K6_WEB_DASHBOARD_RECORD", "x.ndjson.gz"),
            ("K6_WEB_DASHBOARD_TAGS", "method,name,expected_response"),
        ];
        let c = cfg(None, &env).unwrap();
        assert_eq!(c.listen, Listen::Off);
        assert_eq!(c.period, Duration::from_secs(3));
        assert!(c.open);
        assert_eq!(c.export, Some(PathBuf::from("x.html")));
        assert_eq!(c.record, Some(PathBuf::from("x.ndjson.gz")));
        // `name` is a default already: not repeated.
        assert_eq!(&c.group_by[5..], ["method", "expected_response"]);
        // The argument wins over the environment.
        let c = cfg(Some("port=7000"), &env).unwrap();
        assert_eq!(
            c.listen,
            Listen::On {
                host: "::1".into(),
                port: 7000
            }
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = cfg(Some("port=70000"), &[]).err().unwrap().to_string();
        assert!(e.contains("port"), "{e}");
        let e = cfg(Some("port=-2"), &[]).err().unwrap().to_string();
        assert!(e.contains("port"), "{e}");
        let e = cfg(Some("period=0s"), &[]).err().unwrap().to_string();
        assert!(e.contains("period"), "{e}");
        let e = cfg(Some("prot=1"), &[]).err().unwrap().to_string();
        assert!(e.contains("prot"), "{e}");
        let e = cfg(None, &[("K6_WEB_DASHBOARD_OPEN", "maybe")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("K6_WEB_DASHBOARD_OPEN"), "{e}");
    }

    #[test]
    fn period_is_stretched_to_keep_at_most_max_points() {
        let ten = Duration::from_secs(10);
        // 10 minutes at 10 s: 60 points, unchanged.
        assert_eq!(stretched_period(ten, Some(Duration::from_secs(600))), ten);
        assert_eq!(stretched_period(ten, None), ten);
        // 24 hours: 86400 s / 2880 = 30 s.
        assert_eq!(
            stretched_period(ten, Some(Duration::from_secs(86_400))),
            Duration::from_secs(30)
        );
        // Rounded up, so the bound holds.
        let p = stretched_period(Duration::from_millis(100), Some(Duration::from_secs(1000)));
        assert!(1_000_000 / p.as_millis() as u64 <= MAX_POINTS, "{p:?}");
    }
}
