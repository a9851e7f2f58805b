//! Options of `-o statsd`, with k6's environment names: the shared StatsD options, as declared
//! in `loadrun_statsd::config::opt`.

use loadrun_plugin_api::{DeclaredOutput, OptionSpec, OutputInit, PluginError, Positional, Values};
use loadrun_statsd::config::{opt, read_mapping, read_statsd};
use loadrun_statsd::{MappingConfig, StatsdConfig};

const OPTIONS: &[OptionSpec] = &[
    opt::ADDR,
    opt::PROTOCOL,
    opt::NAMESPACE,
    opt::PUSH_INTERVAL,
    opt::BUFFER_SIZE,
    opt::ENABLE_TAGS,
    opt::TAG_BLOCKLIST,
    opt::CHECKS_AS,
    opt::MAX_TREND_SAMPLES,
];

pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("statsd", &["output-statsd"])
    .describe("StatsD over UDP or TCP (DogStatsD tags optional), k6-compatible")
    .options(OPTIONS)
    .positional(Positional::Value("addr"));

/// Reads the options of one `-o statsd` instance.
pub fn parse_config(init: &OutputInit) -> Result<StatsdConfig, PluginError> {
    let v = Values::from_init(init, &OUTPUT)?;
    read_statsd(&v, read_mapping(&v, MappingConfig::default())?, None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use loadrun_plugin_api::testkit::init;
    use loadrun_statsd::{ChecksAs, Protocol};
    use std::time::Duration;

    #[test]
    fn defaults_are_k6s() {
        let c = parse_config(&init("statsd", None, "{}", &[])).unwrap();
        assert_eq!(c.addr, "localhost:8125");
        assert_eq!(c.protocol, Protocol::Udp);
        assert_eq!(c.mapping.namespace, "k6.");
        assert_eq!(c.push_interval, Duration::from_secs(1));
        assert_eq!(c.buffer_size, 1432);
        assert!(!c.mapping.enable_tags);
        let block: Vec<&str> = c.mapping.tag_blocklist.iter().map(String::as_str).collect();
        assert_eq!(block, ["iter", "url", "vu"]);
        assert_eq!(c.mapping.checks_as, ChecksAs::K6);
    }

    #[test]
    fn precedence_plan_then_env_then_arg() {
        let plan =
            r#"{"namespace":"plan.","addr":"plan:1","enableTags":true,"tagBlocklist":["a","b"]}"#;
        let env = [
            ("K6_STATSD_NAMESPACE", "env."),
            ("K6_STATSD_ADDR", "env:2"),
            ("K6_STATSD_PUSH_INTERVAL", "250ms"),
            ("K6_STATSD_TAG_BLOCKLIST", "vu,name"),
            ("K6_STATSD_BUFFER_SIZE", "512"),
        ];
        let c = parse_config(&init("statsd", None, plan, &[])).unwrap();
        assert_eq!(
            (c.mapping.namespace.as_str(), c.addr.as_str()),
            ("plan.", "plan:1")
        );
        assert!(c.mapping.enable_tags);
        let c = parse_config(&init("statsd", None, plan, &env)).unwrap();
        assert_eq!(
            (c.mapping.namespace.as_str(), c.addr.as_str()),
            ("env.", "env:2")
        );
        assert_eq!(c.push_interval, Duration::from_millis(250));
        assert_eq!(c.buffer_size, 512);
        assert!(c.mapping.tag_blocklist.contains("name") && !c.mapping.tag_blocklist.contains("a"));
        let arg = "namespace=arg.,addr=arg:3,tagBlocklist=x;y,protocol=tcp";
        let c = parse_config(&init("statsd", Some(arg), plan, &env)).unwrap();
        assert_eq!(
            (c.mapping.namespace.as_str(), c.addr.as_str()),
            ("arg.", "arg:3")
        );
        assert_eq!(c.protocol, Protocol::Tcp);
        let block: Vec<&str> = c.mapping.tag_blocklist.iter().map(String::as_str).collect();
        assert_eq!(block, ["x", "y"]);
        // A bare address as the -o argument outranks the environment.
        let c = parse_config(&init("statsd", Some("tcp://10.0.0.1:8125"), "{}", &env)).unwrap();
        assert_eq!(
            (c.addr.as_str(), c.protocol),
            ("10.0.0.1:8125", Protocol::Tcp)
        );
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let err = |arg: &str| {
            parse_config(&init("statsd", Some(arg), "{}", &[]))
                .err()
                .unwrap()
                .message
                .to_string()
        };
        assert!(err("bufferSize=20").contains("k6 counted lines"));
        assert!(err("checksAs=tag").contains("enableTags"));
        assert!(err("checksAs=maybe").contains("k6 or tag"));
        assert!(err("pushInterval=0").contains("pushInterval"));
        // The SDK words it "unknown key" (was "unknown option" when each plugin checked its own).
        assert!(err("bogus=1").contains("unknown key"));
        assert!(err("addr=nohost").contains("host:port"));
        let e = err("addr=localhost:notaport");
        assert!(e.contains("addr") && e.contains("port number"), "{e}");
    }
}
