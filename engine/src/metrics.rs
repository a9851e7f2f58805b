//! k6's built-in metrics (names, types, `contains`) and the system-tag switches.

use loadrun_metrics::{MetricId, MetricType, Registry, ValueKind};

pub use loadrun_plugin_api::k6::{DEFAULT_SYSTEM_TAGS, SYSTEM_TAG_NAMES};

/// Every built-in metric, defined once per run.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub http_reqs: MetricId,
    pub http_req_duration: MetricId,
    pub http_req_blocked: MetricId,
    pub http_req_connecting: MetricId,
    pub http_req_tls_handshaking: MetricId,
    pub http_req_sending: MetricId,
    pub http_req_waiting: MetricId,
    pub http_req_receiving: MetricId,
    pub http_req_failed: MetricId,
    pub iterations: MetricId,
    pub iteration_duration: MetricId,
    pub vus: MetricId,
    pub vus_max: MetricId,
    pub checks: MetricId,
    pub data_sent: MetricId,
    pub data_received: MetricId,
    pub dropped_iterations: MetricId,
    pub group_duration: MetricId,
}

impl Builtin {
    pub fn define(r: &Registry) -> Self {
        use MetricType::*;
        use ValueKind::*;
        Self {
            http_reqs: r.metric("http_reqs", Counter, Default),
            http_req_duration: r.metric("http_req_duration", Trend, Time),
            http_req_blocked: r.metric("http_req_blocked", Trend, Time),
            http_req_connecting: r.metric("http_req_connecting", Trend, Time),
            http_req_tls_handshaking: r.metric("http_req_tls_handshaking", Trend, Time),
            http_req_sending: r.metric("http_req_sending", Trend, Time),
            http_req_waiting: r.metric("http_req_waiting", Trend, Time),
            http_req_receiving: r.metric("http_req_receiving", Trend, Time),
            http_req_failed: r.metric("http_req_failed", Rate, Default),
            iterations: r.metric("iterations", Counter, Default),
            iteration_duration: r.metric("iteration_duration", Trend, Time),
            vus: r.metric("vus", Gauge, Default),
            vus_max: r.metric("vus_max", Gauge, Default),
            checks: r.metric("checks", Rate, Default),
            data_sent: r.metric("data_sent", Counter, Data),
            data_received: r.metric("data_received", Counter, Data),
            dropped_iterations: r.metric("dropped_iterations", Counter, Default),
            group_duration: r.metric("group_duration", Trend, Time),
        }
    }

    /// The nine per-request metrics, in the order [`crate::vu`] emits them.
    /// Index of `http_req_failed` in [`Self::http`], the last: a request without a response
    /// callback records every metric before it and not this one.
    pub const HTTP_REQ_FAILED: usize = 8;

    pub fn http(&self) -> [MetricId; 9] {
        [
            self.http_reqs,
            self.http_req_duration,
            self.http_req_blocked,
            self.http_req_connecting,
            self.http_req_tls_handshaking,
            self.http_req_sending,
            self.http_req_waiting,
            self.http_req_receiving,
            self.http_req_failed,
        ]
    }
}

/// Which system tags are attached (k6's `--system-tags`). A tag's bit is its index in
/// [`SYSTEM_TAG_NAMES`], which is k6's own bit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemTags(u32);

impl Default for SystemTags {
    fn default() -> Self {
        Self::from_names(DEFAULT_SYSTEM_TAGS.iter().copied())
    }
}

impl SystemTags {
    /// Unknown names are ignored, as k6 does.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut bits = 0;
        for n in names {
            if let Some(i) = SYSTEM_TAG_NAMES.iter().position(|k| *k == n.trim()) {
                bits |= 1 << i;
            }
        }
        Self(bits)
    }

    pub fn has(&self, name: &str) -> bool {
        SYSTEM_TAG_NAMES
            .iter()
            .position(|k| *k == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_tags() {
        let d = SystemTags::default();
        assert!(d.has("status") && !d.has("vu"));
        let s = SystemTags::from_names(["vu", "iter", "bogus", "url"]);
        assert!(s.has("vu") && s.has("url") && !s.has("status"));
    }

    #[test]
    fn builtins_have_k6_types() {
        let r = Registry::new();
        let b = Builtin::define(&r);
        let d = r.metric_def(b.http_req_duration).unwrap();
        assert_eq!(
            (d.metric_type, d.contains),
            (MetricType::Trend, ValueKind::Time)
        );
        let d = r.metric_def(b.data_sent).unwrap();
        assert_eq!(
            (d.metric_type, d.contains),
            (MetricType::Counter, ValueKind::Data)
        );
        assert_eq!(r.counts().0, 18);
    }

    #[test]
    fn custom_metric_names_are_refused_for_every_builtin() {
        let r = Registry::new();
        Builtin::define(&r);
        let defined: Vec<String> =
            r.with_defs(|m, _| m.iter().map(|d| d.name.to_string()).collect());
        let mut listed: Vec<String> = crate::plan::custom::BUILTIN_METRICS
            .iter()
            .map(|s| s.to_string())
            .collect();
        listed.sort();
        let mut defined_sorted = defined.clone();
        defined_sorted.sort();
        assert_eq!(defined_sorted, listed);
    }
}
