//! Metric names and tags within Datadog's documented limit of 200 characters each.
//!
//! k6 values such as `url` or `name`, and check names in `k6.check.<name>.pass`, are often
//! longer. Cutting them at 200 would merge distinct series that share a long prefix (their
//! points would then overwrite each other in Datadog), so a long one keeps its first
//! characters and ends with a short hash of the whole text, which keeps series apart.

use loadrun_statsd::Entry;

/// Datadog's limit on one tag, in characters.
pub const MAX_TAG_CHARS: usize = 200;

/// Datadog's limit on a metric name, in characters.
pub const MAX_METRIC_CHARS: usize = 200;

/// The length of the `~` + 8 hex digit suffix that marks a shortened tag.
const SUFFIX_CHARS: usize = 9;

/// The entry's tags, in its (sorted) order, each within Datadog's limit.
pub fn tag_strings(e: &Entry) -> Vec<String> {
    e.tags
        .iter()
        .map(|(k, v)| {
            let tag = if v.is_empty() {
                k.clone()
            } else {
                format!("{k}:{v}")
            };
            within_limit(tag)
        })
        .collect()
}

/// `tag` unchanged when it fits, else its first characters and a hash of all of it.
pub fn within_limit(tag: String) -> String {
    if tag.chars().count() <= MAX_TAG_CHARS {
        return tag;
    }
    let head: String = tag.chars().take(MAX_TAG_CHARS - SUFFIX_CHARS).collect();
    format!("{head}~{:08x}", fnv1a32(tag.as_bytes()))
}

/// `name` + `suffix` (`.avg`, `.95percentile`, ...), with `name` shortened (`_` + a hash, to
/// stay within the metric name alphabet) when the whole would exceed Datadog's limit.
pub fn metric_name(name: &str, suffix: &str) -> String {
    let room = MAX_METRIC_CHARS.saturating_sub(suffix.len());
    if name.chars().count() <= room {
        return format!("{name}{suffix}");
    }
    let head: String = name
        .chars()
        .take(room.saturating_sub(SUFFIX_CHARS))
        .collect();
    format!("{head}_{:08x}{suffix}", fnv1a32(name.as_bytes()))
}

fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_are_unchanged() {
        let t = "url:https://example.com/a".to_string();
        assert_eq!(within_limit(t.clone()), t);
        let exact = "k".repeat(MAX_TAG_CHARS);
        assert_eq!(within_limit(exact.clone()), exact);
    }

    #[test]
    fn long_tags_fit_and_stay_distinct() {
        let base = format!("url:https://example.com/{}", "x".repeat(300));
        let (a, b) = (
            within_limit(format!("{base}/a")),
            within_limit(format!("{base}/b")),
        );
        assert_eq!(a.chars().count(), MAX_TAG_CHARS);
        assert_eq!(b.chars().count(), MAX_TAG_CHARS);
        assert_ne!(a, b);
        assert!(a.starts_with("url:https://example.com/xxx"));
        // Deterministic: the same tag maps to the same series in every interval.
        assert_eq!(a, within_limit(format!("{base}/a")));
    }

    #[test]
    fn long_metric_names_fit_with_their_suffix() {
        assert_eq!(metric_name("k6.http_reqs", ""), "k6.http_reqs");
        assert_eq!(metric_name("k6.x", ".avg"), "k6.x.avg");
        let long = format!("k6.check.{}", "a".repeat(300));
        for suffix in ["", ".pass", ".95percentile"] {
            let m = metric_name(&long, suffix);
            assert_eq!(m.chars().count(), MAX_METRIC_CHARS, "{m}");
            assert!(m.ends_with(suffix));
            assert!(m
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'));
        }
        assert_ne!(
            metric_name(&format!("{long}1"), ""),
            metric_name(&format!("{long}2"), "")
        );
    }

    #[test]
    fn multibyte_values_are_cut_on_character_boundaries() {
        let t = format!("name:{}", "é".repeat(400));
        let s = within_limit(t);
        assert_eq!(s.chars().count(), MAX_TAG_CHARS);
    }
}
