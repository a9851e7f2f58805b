//! Settings shared by every StatsD-speaking output. Each plugin fills them from its own option
//! names and environment variables; nothing here reads options itself.

use std::collections::BTreeSet;
use std::time::Duration;

use loadrun_plugin_api::{Options, PluginError};

/// How the lines travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Datagrams of at most `buffer_size` bytes; fire and forget.
    Udp,
    /// A newline-delimited stream, reconnected with backoff.
    Tcp,
}

impl Protocol {
    pub fn parse(options: &Options, name: &str, env: &[&str]) -> Result<Self, PluginError> {
        let v = options.get_or(name, env, "udp");
        match v.trim().to_ascii_lowercase().as_str() {
            "udp" => Ok(Protocol::Udp),
            "tcp" => Ok(Protocol::Tcp),
            _ => Err(options.invalid(name, &v, "udp or tcp")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        }
    }
}

/// How samples of a rate metric that carry a `check` tag are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksAs {
    /// k6's way: counters `check.<name>.pass` / `check.<name>.fail`, name made safe.
    K6,
    /// One counter named after the metric (`checks`) with tags `check:<name>` and
    /// `result:pass|fail`, so dashboards can wildcard and sum (k6#1403).
    Tag,
}

impl ChecksAs {
    pub fn parse(options: &Options, name: &str, env: &[&str]) -> Result<Self, PluginError> {
        let v = options.get_or(name, env, "k6");
        match v.trim().to_ascii_lowercase().as_str() {
            "k6" => Ok(ChecksAs::K6),
            "tag" | "tags" => Ok(ChecksAs::Tag),
            _ => Err(options.invalid(name, &v, "k6 or tag")),
        }
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

/// Parses a `key:value,key:value` tag list (`;` and spaces also separate, as in `DD_TAGS`). A tag without a
/// colon gets an empty value, which DogStatsD sends as a bare `key`.
pub fn parse_tag_list(text: &str) -> Vec<(String, String)> {
    split_list(text)
        .into_iter()
        .map(|t| match t.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t.to_string(), String::new()),
        })
        .collect()
}

/// Reads `bufferSize`, within bounds.
pub fn parse_buffer_size(
    options: &Options,
    name: &str,
    env: &[&str],
    protocol: Protocol,
) -> Result<usize, PluginError> {
    let v = options.get_u64(name, env, DEFAULT_BUFFER_SIZE as u64)?;
    let max = match protocol {
        Protocol::Udp => MAX_UDP_PAYLOAD as u64,
        Protocol::Tcp => 16 * 1024 * 1024,
    };
    if v < MIN_BUFFER_SIZE as u64 || v > max {
        return Err(options.invalid(
            name,
            &v.to_string(),
            &format!(
                "a size in bytes between {MIN_BUFFER_SIZE} and {max} \
                 (k6 counted lines per datagram here; loadrun packs by bytes)"
            ),
        ));
    }
    Ok(v as usize)
}

/// Splits a list option on `,`, `;` or whitespace. `;` exists because a `-o` argument is itself
/// split on commas: `-o statsd=tagBlocklist=vu;iter;url`.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', ';', ' ', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An [`loadrun_plugin_api::OptionDoc`] in one line.
pub fn doc(
    name: &str,
    env: &str,
    default: &str,
    description: &str,
) -> loadrun_plugin_api::OptionDoc {
    loadrun_plugin_api::OptionDoc {
        name: name.into(),
        env: env.into(),
        default: default.into(),
        description: description.into(),
        secret: false,
    }
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
