//! One push interval's folded samples to payloads: map k6's model onto StatsD entries, make
//! counters whole when the server reads integers, encode the lines and pack them for the
//! protocol. Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};

use crate::aggregate::{Cell, Variant};
use crate::config::{Protocol, StatsdConfig};
use crate::line::encode_counted;
use crate::mapping::{entries, Entry, EntryValue};
use crate::packer::{pack_datagrams, pack_stream, Packed};
use loadrun_plugin_api::Catalog;

/// What one interval became.
pub struct Encoded {
    pub packed: Packed,
    /// Samples folded but not mapped to any entry (lost).
    pub unmapped: u64,
}

/// Keeps what must carry from one interval to the next.
#[derive(Default)]
pub struct Encoder {
    /// Fractions of counters not yet sent, by name and tags (`integer_counters`).
    carry: HashMap<(String, Vec<(String, String)>), f64>,
}

impl Encoder {
    pub fn encode(
        &mut self,
        cfg: &StatsdConfig,
        catalog: &Catalog,
        cells: BTreeMap<(u32, Variant), Cell>,
    ) -> Encoded {
        let folded: u64 = cells.values().map(|c| c.samples).sum();
        let mut entries = entries(&cfg.mapping, catalog, cells);
        let mapped: u64 = entries.iter().map(|e| e.samples).sum();
        if cfg.mapping.integer_counters {
            self.whole_counters(&mut entries);
        }
        let units = encode_counted(&cfg.mapping, &entries);
        let packed = match cfg.protocol {
            Protocol::Udp => pack_datagrams(units, cfg.buffer_size),
            Protocol::Tcp => pack_stream(units, cfg.buffer_size),
        };
        Encoded {
            packed,
            unmapped: folded.saturating_sub(mapped),
        }
    }

    /// Rounds counter entries down to whole numbers, carrying fractions to the next interval.
    fn whole_counters(&mut self, entries: &mut [Entry]) {
        for e in entries.iter_mut() {
            if let EntryValue::Count(v) = &mut e.value {
                let key = (e.name.clone(), e.tags.clone());
                let total = *v + self.carry.get(&key).copied().unwrap_or(0.0);
                // The epsilon keeps 0.3 * 4 = 1.2000000000000002 - 0.2... from losing a unit.
                let whole = (total + 1e-9).floor();
                self.carry.insert(key, total - whole);
                *v = whole;
            }
        }
        // A counter whose whole part is 0 this interval is still sent as `:0|c`, as k6 sends
        // `http_req_failed:0|c`: it keeps the metric alive on the server.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregator;
    use loadrun_plugin_api::testkit::BatchBuilder;
    use loadrun_plugin_api::{MetricType, ValueKind};

    /// One interval of a counter that grew by `v`, as the encoder sees it.
    fn interval(enc: &mut Encoder, cfg: &StatsdConfig, v: f64) -> Vec<String> {
        let mut b = BatchBuilder::new();
        let m = b.metric("data_sent", MetricType::Counter, ValueKind::Default);
        let s = b.series(m, &[], &[]);
        b.sample(s, 1, v);
        let mut cat = Catalog::new();
        cat.absorb(&b.batch());
        let mut agg = Aggregator::new(cfg.mapping.max_trend_samples);
        for s in &b.samples {
            agg.add(&cat, s);
        }
        let out = enc.encode(cfg, &cat, agg.drain());
        assert_eq!(out.unmapped, 0);
        out.packed.payloads
    }

    #[test]
    fn integer_counters_carry_fractions_across_intervals() {
        let mut cfg = StatsdConfig::new("netdata");
        cfg.mapping.integer_counters = true;
        let mut enc = Encoder::default();
        let sent: Vec<Vec<String>> = (0..4).map(|_| interval(&mut enc, &cfg, 0.3)).collect();
        assert_eq!(
            sent,
            [
                ["k6.data_sent:0|c"],
                ["k6.data_sent:0|c"],
                ["k6.data_sent:0|c"],
                ["k6.data_sent:1|c"]
            ]
        );
    }

    #[test]
    fn fractions_are_sent_as_is_by_default() {
        let cfg = StatsdConfig::new("statsd");
        let mut enc = Encoder::default();
        assert_eq!(interval(&mut enc, &cfg, 0.3), ["k6.data_sent:0.3|c"]);
    }
}
