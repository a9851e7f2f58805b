//! Options of `-o netdata`. k6's docs recipe for Netdata is `-o output-statsd`, so the
//! `K6_STATSD_*` names work here too; `NETDATA_STATSD_ADDR` is ours.

use std::time::Duration;

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
    "stockNames",
    "maxTrendSamples",
];

pub fn option_docs() -> Vec<OptionDoc> {
    vec![
        doc("addr", "NETDATA_STATSD_ADDR,K6_STATSD_ADDR", "localhost:8125", "Netdata StatsD host:port (a bare -o netdata=HOST:PORT works too)"),
        doc("protocol", "", "udp", "udp or tcp (Netdata listens on both)"),
        doc("namespace", "K6_STATSD_NAMESPACE", "k6.", "metric name prefix; the stock k6 app matches k6*"),
        doc("pushInterval", "K6_STATSD_PUSH_INTERVAL", "1s", "how often folded samples are sent (Netdata charts per second)"),
        doc("bufferSize", "K6_STATSD_BUFFER_SIZE", "1432", "largest datagram (UDP) or write (TCP) in bytes"),
        doc("enableTags", "K6_STATSD_ENABLE_TAGS", "false", "append DogStatsD |#key:value tags"),
        doc("tagBlocklist", "K6_STATSD_TAG_BLOCKLIST", "vu,iter,url", "tag keys never sent (separate with , or ;)"),
        doc("checksAs", "K6_STATSD_CHECKS_AS", "k6", "k6: check.<name>.pass|fail counters; tag: checks with check and result tags (needs enableTags)"),
        doc("stockNames", "", "true", "send http_req_failed as k6.http_reqs_failed, the name Netdata's stock k6 chart uses"),
        doc("maxTrendSamples", "K6_STATSD_MAX_TREND_SAMPLES", "1000", "trend values per series and interval before sampling with |@rate (0: no cap)"),
    ]
}

pub fn parse_config(init: &OutputInit) -> Result<StatsdConfig, PluginError> {
    let options = Options::from_init(init)?;
    options.reject_unknown(KNOWN)?;
    let mut cfg = StatsdConfig::new(options.output());
    cfg.addr = match options.positional() {
        Some(p) => p.trim_start_matches("udp://").to_string(),
        None => options.get_or(
            "addr",
            &["NETDATA_STATSD_ADDR", "K6_STATSD_ADDR"],
            "localhost:8125",
        ),
    };
    cfg.protocol = Protocol::parse(&options, "protocol", &[])?;
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
        Duration::from_secs(1),
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
    if options.get_bool("stockNames", &[], true)? {
        cfg.mapping.renames = vec![("http_req_failed".into(), "http_reqs_failed".into())];
    }
    cfg.mapping.max_trend_samples =
        options.get_u64("maxTrendSamples", &["K6_STATSD_MAX_TREND_SAMPLES"], 1000)? as usize;
    cfg.mapping.signed_gauge_is_delta = true;
    cfg.mapping.integer_counters = true;
    cfg.mapping.validate(options.output())?;
    Ok(cfg)
}
