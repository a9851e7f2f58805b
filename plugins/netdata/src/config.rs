//! Options of `-o netdata`. k6's docs recipe for Netdata is `-o output-statsd`, so the
//! `K6_STATSD_*` names work here too; `NETDATA_STATSD_ADDR` is ours.

use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Values,
};
use loadrun_statsd::config::{opt, read_mapping, read_statsd};
use loadrun_statsd::{MappingConfig, StatsdConfig};

#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    opt::ADDR.env(&["NETDATA_STATSD_ADDR", "K6_STATSD_ADDR"]).doc("Netdata StatsD host:port (a bare -o netdata=HOST:PORT works too)"),
    opt::PROTOCOL.env(&[]).doc("udp or tcp (Netdata listens on both)"),
    opt::NAMESPACE.doc("metric name prefix; the stock k6 app matches k6*"),
    opt::PUSH_INTERVAL.doc("how often folded samples are sent (Netdata charts per second)"),
    opt::BUFFER_SIZE.doc("largest datagram (UDP) or write (TCP) in bytes"),
    opt::ENABLE_TAGS.doc("append DogStatsD |#key:value tags"),
    opt::TAG_BLOCKLIST,
    opt::CHECKS_AS.doc("k6: check.<name>.pass|fail counters; tag: checks with check and result tags (needs enableTags)"),
    OptionSpec::new("stockNames", Kind::Bool).default("true").doc("send http_req_failed as k6.http_reqs_failed, the name Netdata's stock k6 chart uses"),
    opt::MAX_TREND_SAMPLES.doc("trend values per series and interval before sampling with |@rate (0: no cap)"),
];

pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("netdata", &[])
    .describe("Netdata's StatsD server, matching its stock k6 charts")
    .options(OPTIONS)
    .positional(Positional::Value("addr"));

pub fn parse_config(init: &OutputInit) -> Result<StatsdConfig, PluginError> {
    let v = Values::from_init(init, &OUTPUT)?;
    let mut mapping = MappingConfig {
        signed_gauge_is_delta: true,
        integer_counters: true,
        ..MappingConfig::default()
    };
    if v.bool("stockNames")? {
        mapping.renames = vec![("http_req_failed".into(), "http_reqs_failed".into())];
    }
    read_statsd(&v, read_mapping(&v, mapping)?, None)
}
