//! Settings shared by every StatsD-speaking output, and the options they come from, declared
//! once in [`opt`] and read from checked [`Values`] by [`read_mapping`] and [`read_statsd`].

use std::collections::BTreeSet;
use std::time::Duration;

use loadrun_plugin_api::{Kind, OptionSpec, PluginError, Values};

loadrun_plugin_api::words! {
    /// How the lines travel: UDP datagrams of at most `buffer_size` bytes, fire and forget, or
    /// a TCP newline-delimited stream, reconnected with backoff.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Protocol { Udp = "udp", Tcp = "tcp" }
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        Self::WORDS[self as usize]
    }
}

loadrun_plugin_api::words! {
    /// How samples of a rate metric that carry a `check` tag are sent.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ChecksAs {
        /// k6's way: counters `check.<name>.pass` / `check.<name>.fail`, name made safe.
        K6 = "k6",
        /// One counter named after the metric (`checks`) with tags `check:<name>` and
        /// `result:pass|fail`, so dashboards can wildcard and sum (k6#1403).
        Tag = "tag",
    }
}

/// The StatsD type trends are sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendType {
    /// `|ms`, as k6 does for every trend.
    Timing,
    /// `|h`, DogStatsD's histogram (agent-side aggregation, same as timing in Datadog).
    Histogram,
    /// `|d`, DogStatsD's distribution (server-side percentiles across hosts).
    Distribution,
}

impl TrendType {
    pub fn suffix(self) -> &'static str {
        match self {
            TrendType::Timing => "ms",
            TrendType::Histogram => "h",
            TrendType::Distribution => "d",
        }
    }
}

/// How k6's metric model becomes StatsD names, values and tags.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// Prefix of every name, trailing dot included (k6: `k6.`).
    pub namespace: String,
    /// Append DogStatsD `|#k:v,...` tags.
    pub enable_tags: bool,
    /// Tag keys never sent.
    pub tag_blocklist: BTreeSet<String>,
    pub checks_as: ChecksAs,
    pub trend_type: TrendType,
    /// Tags added to every line (when tags are on), e.g. `env:prod`. A series tag of the same
    /// key wins.
    pub global_tags: Vec<(String, String)>,
    /// Plain StatsD reads a gauge value with a leading sign as a delta; when set, a negative
    /// gauge is sent as `name:0|g` then `name:-5|g` so it lands as an absolute value.
    /// DogStatsD has no relative gauges, so the datadog output leaves this off.
    pub signed_gauge_is_delta: bool,
    /// Metric names sent under another name (`from`, `to`), before the namespace is added.
    pub renames: Vec<(String, String)>,
    /// At most this many values of one trend series per push interval are sent individually;
    /// beyond it a uniform sample of this size is sent with `|@rate`. 0: no cap.
    pub max_trend_samples: usize,
    /// The server parses counter values as integers (Netdata 1.37 reads `0.25|c` as 0): send
    /// the whole part of each interval's sum and carry the fraction into the next interval, so
    /// the running total stays exact to within 1.
    pub integer_counters: bool,
}

impl Default for MappingConfig {
    fn default() -> Self {
        Self {
            namespace: "k6.".into(),
            enable_tags: false,
            tag_blocklist: ["vu", "iter", "url"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            checks_as: ChecksAs::K6,
            trend_type: TrendType::Timing,
            global_tags: Vec::new(),
            signed_gauge_is_delta: true,
            renames: Vec::new(),
            max_trend_samples: 1000,
            integer_counters: false,
        }
    }
}

impl MappingConfig {
    /// Fails on combinations that would silently lose information.
    pub fn validate(&self, output: &str) -> Result<(), PluginError> {
        if self.checks_as == ChecksAs::Tag && !self.enable_tags {
            return Err(PluginError::new(format!(
                "{output}: checksAs=tag sends the check name as a tag and needs enableTags=true"
            )));
        }
        Ok(())
    }
}

/// Everything a [`crate::StatsdOutput`] needs.
#[derive(Debug, Clone)]
pub struct StatsdConfig {
    /// The `-o` name, used in log lines and errors.
    pub output: String,
    /// `host:port`.
    pub addr: String,
    pub protocol: Protocol,
    pub push_interval: Duration,
    /// Maximum datagram payload (UDP) or write size (TCP), in bytes.
    pub buffer_size: usize,
    /// What is held while a TCP server is unreachable; the oldest is dropped beyond it.
    pub max_pending_bytes: usize,
    pub mapping: MappingConfig,
}

impl StatsdConfig {
    pub fn new(output: &str) -> Self {
        Self {
            output: output.to_string(),
            addr: "localhost:8125".into(),
            protocol: Protocol::Udp,
            push_interval: Duration::from_secs(1),
            buffer_size: DEFAULT_BUFFER_SIZE,
            max_pending_bytes: 8 * 1024 * 1024,
            mapping: MappingConfig::default(),
        }
    }
}

/// 1500-byte Ethernet MTU minus IPv6 (40) and UDP (8) headers, minus a margin for tunnels:
/// the usual safe DogStatsD payload, so datagrams are never fragmented.
pub const DEFAULT_BUFFER_SIZE: usize = 1432;

/// Smallest sensible datagram: a short line must always fit.
pub const MIN_BUFFER_SIZE: usize = 64;

/// The biggest UDP payload IPv4 can carry.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

const ANY_COUNT: Kind = Kind::Int {
    min: 0,
    max: u32::MAX as i64,
};

/// The options every StatsD-speaking output shares, declared once. A plugin puts them in its
/// own table and changes what differs (env names, defaults, docs) with the `const` builders.
#[rustfmt::skip]
pub mod opt {
    use super::*;

    pub const ADDR: OptionSpec = OptionSpec::new("addr", Kind::Str).env(&["K6_STATSD_ADDR"]).default("localhost:8125").doc("StatsD server host:port (a bare -o NAME=HOST:PORT or tcp://HOST:PORT works too)");
    pub const PROTOCOL: OptionSpec = OptionSpec::new("protocol", Kind::Enum(Protocol::WORDS)).ignore_case().env(&["K6_STATSD_PROTOCOL"]).default("udp").doc("udp or tcp (newline-delimited stream, reconnects with backoff)");
    pub const NAMESPACE: OptionSpec = OptionSpec::new("namespace", Kind::Str).env(&["K6_STATSD_NAMESPACE"]).default("k6.").doc("prefix of every metric name, trailing dot included");
    pub const PUSH_INTERVAL: OptionSpec = OptionSpec::new("pushInterval", Kind::Duration).env(&["K6_STATSD_PUSH_INTERVAL"]).default("1s").nonzero().doc("how often folded samples are sent");
    // Bounds depend on the protocol and the error names k6's other meaning: checked in
    // `read_statsd`, not by the kind.
    pub const BUFFER_SIZE: OptionSpec = OptionSpec::new("bufferSize", ANY_COUNT).env(&["K6_STATSD_BUFFER_SIZE"]).default("1432").doc("largest datagram (UDP) or write (TCP) in bytes; lines are never split");
    pub const ENABLE_TAGS: OptionSpec = OptionSpec::new("enableTags", Kind::Bool).env(&["K6_STATSD_ENABLE_TAGS"]).default("false").doc("append DogStatsD |#key:value tags (sorted, escaped)");
    // `;` too: a `-o` argument is itself split on commas (`-o statsd=tagBlocklist=vu;iter`).
    pub const TAG_BLOCKLIST: OptionSpec = OptionSpec::new("tagBlocklist", Kind::List(',')).separators("; \t").env(&["K6_STATSD_TAG_BLOCKLIST"]).default("vu,iter,url").doc("tag keys never sent (separate with , or ;)");
    pub const CHECKS_AS: OptionSpec = OptionSpec::new("checksAs", Kind::Str).env(&["K6_STATSD_CHECKS_AS"]).default("k6").doc("k6: check.<name>.pass|fail counters; tag: one checks counter with check and result tags (needs enableTags)");
    pub const MAX_TREND_SAMPLES: OptionSpec = OptionSpec::new("maxTrendSamples", ANY_COUNT).env(&["K6_STATSD_MAX_TREND_SAMPLES"]).default("1000").doc("trend values sent per series and interval before sampling with |@rate (0: no cap)");
}

/// An error naming the option, the bad value and what was expected.
pub fn invalid(v: &Values, name: &str, value: &str, expected: &str) -> PluginError {
    PluginError::new(format!(
        "{}: option {name}={value:?} is not valid: expected {expected}",
        v.output()
    ))
}

/// Reads the mapping options of [`opt`] that `v` declares over `base` (the plugin's defaults
/// for what it does not declare), then checks the combination.
pub fn read_mapping(v: &Values, mut base: MappingConfig) -> Result<MappingConfig, PluginError> {
    base.namespace = v.string("namespace")?;
    base.enable_tags = v.bool("enableTags")?;
    base.tag_blocklist = v.list("tagBlocklist")?.into_iter().collect();
    // Read here, not declared as an enum, so the error says "k6 or tag" as it always did; any
    // case, and "tags" is "tag".
    let checks = v.string("checksAs")?;
    let word = checks.trim().to_ascii_lowercase();
    let word = word
        .strip_suffix('s')
        .filter(|w| *w == "tag")
        .unwrap_or(&word);
    let at = ChecksAs::WORDS.iter().position(|w| *w == word);
    base.checks_as = at
        .and_then(|i| ChecksAs::ALL.get(i).copied())
        .ok_or_else(|| invalid(v, "checksAs", &checks, "k6 or tag"))?;
    base.max_trend_samples = v.get("maxTrendSamples")?;
    base.validate(v.output())?;
    Ok(base)
}

/// Reads the transport options of [`opt`]: `addr` (a `udp://` or `tcp://` prefix picks the
/// protocol; `fallback` when not given and declared without a default), `protocol` when
/// declared (else UDP), `pushInterval` and `bufferSize`.
pub fn read_statsd(
    v: &Values,
    mapping: MappingConfig,
    fallback: Option<String>,
) -> Result<StatsdConfig, PluginError> {
    let mut cfg = StatsdConfig::new(v.output());
    if v.has("protocol") {
        cfg.protocol = v.get("protocol")?;
    }
    let addr = v.opt::<String>("addr")?.or(fallback).unwrap_or(cfg.addr);
    cfg.addr = match addr.strip_prefix("tcp://") {
        Some(rest) => {
            cfg.protocol = Protocol::Tcp;
            rest.to_string()
        }
        None => addr.trim_start_matches("udp://").to_string(),
    };
    if !valid_addr(&cfg.addr) {
        return Err(invalid(
            v,
            "addr",
            &cfg.addr,
            "host:port with a port number",
        ));
    }
    cfg.push_interval = v.opt("pushInterval")?.unwrap_or(cfg.push_interval);
    let max = match cfg.protocol {
        Protocol::Udp => MAX_UDP_PAYLOAD,
        Protocol::Tcp => 16 * 1024 * 1024,
    };
    let size: usize = v.get("bufferSize")?;
    if !(MIN_BUFFER_SIZE..=max).contains(&size) {
        return Err(invalid(
            v,
            "bufferSize",
            &size.to_string(),
            &format!(
                "a size in bytes between {MIN_BUFFER_SIZE} and {max} \
                 (k6 counted lines per datagram here; loadrun packs by bytes)"
            ),
        ));
    }
    cfg.buffer_size = size;
    cfg.mapping = mapping;
    Ok(cfg)
}

/// Whether `addr` is `host:port` with a port number (1-65535); checked when the output is
/// created so a typo fails before the test, naming the option, not when the socket opens.
pub fn valid_addr(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

#[cfg(test)]
mod addr_tests {
    use super::valid_addr;

    #[test]
    fn host_and_port_number_required() {
        for ok in [
            "localhost:8125",
            "127.0.0.1:1",
            "[::1]:8125",
            "statsd.svc:65535",
        ] {
            assert!(valid_addr(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "localhost:notaport",
            ":8125",
            "h:0",
            "h:70000",
            "h:",
        ] {
            assert!(!valid_addr(bad), "{bad}");
        }
    }
}
