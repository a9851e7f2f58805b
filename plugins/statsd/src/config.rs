//! Options of `-o statsd`, with k6's environment names.

use loadrun_plugin_api::{OptionDoc, Options, OutputInit, PluginError};
use loadrun_statsd::config::{doc, parse_buffer_size, split_list};
use loadrun_statsd::{ChecksAs, Protocol, StatsdConfig};

const KNOWN: &[&str] = &[
    "addr",
    "protocol",
    "namespace",
    "pushInterval",
    "bufferSize",
    "enableTags",
    "tagBlocklist",
    "checksAs",
    "maxTrendSamples",
];

pub fn option_docs() -> Vec<OptionDoc> {
    vec![
        doc("addr", "K6_STATSD_ADDR", "localhost:8125", "StatsD server host:port (a bare -o statsd=HOST:PORT works too)"),
        doc("protocol", "K6_STATSD_PROTOCOL", "udp", "udp or tcp (newline-delimited stream, reconnects with backoff)"),
        doc("namespace", "K6_STATSD_NAMESPACE", "k6.", "prefix of every metric name, trailing dot included"),
        doc("pushInterval", "K6_STATSD_PUSH_INTERVAL", "1s", "how often folded samples are sent"),
        doc("bufferSize", "K6_STATSD_BUFFER_SIZE", "1432", "largest datagram (UDP) or write (TCP) in bytes; lines are never split"),
        doc("enableTags", "K6_STATSD_ENABLE_TAGS", "false", "append DogStatsD |#key:value tags (sorted, escaped)"),
        doc("tagBlocklist", "K6_STATSD_TAG_BLOCKLIST", "vu,iter,url", "tag keys never sent (separate with , or ;)"),
        doc("checksAs", "K6_STATSD_CHECKS_AS", "k6", "k6: check.<name>.pass|fail counters; tag: one checks counter with check and result tags (needs enableTags)"),
        doc("maxTrendSamples", "K6_STATSD_MAX_TREND_SAMPLES", "1000", "trend values sent per series and interval before sampling with |@rate (0: no cap)"),
    ]
}

/// Reads the options of one `-o statsd` instance.
pub fn parse_config(init: &OutputInit) -> Result<StatsdConfig, PluginError> {
    let options = Options::from_init(init)?;
    options.reject_unknown(KNOWN)?;
    let mut cfg = StatsdConfig::new(options.output());
    // A positional argument can only come from `-o`, so it outranks env and plan.
    cfg.addr = match options.positional() {
        Some(p) => p.trim_start_matches("udp://").to_string(),
        None => options.get_or("addr", &["K6_STATSD_ADDR"], "localhost:8125"),
    };
    cfg.protocol = Protocol::parse(&options, "protocol", &["K6_STATSD_PROTOCOL"])?;
    if let Some(rest) = cfg.addr.strip_prefix("tcp://") {
        cfg.addr = rest.to_string();
        cfg.protocol = Protocol::Tcp;
    }
    if !loadrun_statsd::config::valid_addr(&cfg.addr) {
        return Err(options.invalid("addr", &cfg.addr, "host:port with a port number"));
    }
    cfg.mapping.namespace = options.get_or("namespace", &["K6_STATSD_NAMESPACE"], "k6.");
    cfg.push_interval = options.get_duration(
        "pushInterval",
        &["K6_STATSD_PUSH_INTERVAL"],
        std::time::Duration::from_secs(1),
    )?;
    if cfg.push_interval.is_zero() {
        return Err(options.invalid("pushInterval", "0", "a duration above zero"));
    }
    cfg.buffer_size = parse_buffer_size(
        &options,
        "bufferSize",
        &["K6_STATSD_BUFFER_SIZE"],
        cfg.protocol,
    )?;
    cfg.mapping.enable_tags = options.get_bool("enableTags", &["K6_STATSD_ENABLE_TAGS"], false)?;
    if let Some(list) = options.get("tagBlocklist", &["K6_STATSD_TAG_BLOCKLIST"]) {
        cfg.mapping.tag_blocklist = split_list(&list).into_iter().collect();
    }
    cfg.mapping.checks_as = ChecksAs::parse(&options, "checksAs", &["K6_STATSD_CHECKS_AS"])?;
    cfg.mapping.max_trend_samples =
        options.get_u64("maxTrendSamples", &["K6_STATSD_MAX_TREND_SAMPLES"], 1000)? as usize;
    cfg.mapping.validate(options.output())?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use loadrun_plugin_api::testkit::init;
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
        assert!(err("bogus=1").contains("unknown option"));
        assert!(err("addr=nohost").contains("host:port"));
        let e = err("addr=localhost:notaport");
        assert!(e.contains("addr") && e.contains("port number"), "{e}");
    }
}
