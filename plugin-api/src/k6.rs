//! k6's vocabulary (v1.1), as the host uses it: plugins may rely on these names.
//!
//! The host tells an output which system tags are enabled in `TestMeta::extra` as
//! `{"systemTags": [...]}`; outputs that lay samples out by tag (a csv column per tag, say)
//! compare that list with these constants rather than keeping a copy of their own.

/// Every system tag k6 knows (`--system-tags`), in k6's declaration order: the default set
/// first, then the opt-in `iter`, `vu`, `ocsp_status` and `ip`.
pub const SYSTEM_TAG_NAMES: &[&str] = &[
    "proto",
    "subproto",
    "status",
    "method",
    "url",
    "name",
    "group",
    "check",
    "error",
    "error_code",
    "tls_version",
    "scenario",
    "service",
    "expected_response",
    "iter",
    "vu",
    "ocsp_status",
    "ip",
];

/// k6's default `--system-tags`: all of [`SYSTEM_TAG_NAMES`] but the four opt-in ones, which
/// k6 declares last.
pub const DEFAULT_SYSTEM_TAGS: &[&str] = SYSTEM_TAG_NAMES.split_at(SYSTEM_TAG_NAMES.len() - 4).0;

/// System tags that k6 attaches as sample metadata rather than as tags when they are enabled:
/// their values are unique per VU or iteration, too many to index (k6's `NonIndexableSystemTags`).
pub const NON_INDEXABLE_SYSTEM_TAGS: &[&str] = &["iter", "vu"];

/// k6's feature switches (k6 ≥ 2.1): `--features` / `K6_FEATURES=a,b`. Outputs read the
/// variable from their environment with [`feature_enabled`].
pub const FEATURES_ENV: &str = "K6_FEATURES";

/// Whether `name` (`native-histograms`) is in a `K6_FEATURES` value: comma-separated names,
/// compared without case and surrounding blanks.
pub fn feature_enabled(features: Option<&str>, name: &str) -> bool {
    features.is_some_and(|list| list.split(',').any(|f| f.trim().eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_a_comma_list() {
        assert!(feature_enabled(
            Some("merge-run-tags, Native-Histograms"),
            "native-histograms"
        ));
        assert!(!feature_enabled(
            Some("native-histogramsx"),
            "native-histograms"
        ));
        assert!(!feature_enabled(None, "native-histograms"));
    }

    #[test]
    fn default_set_is_k6s() {
        let opt_in: Vec<&str> = SYSTEM_TAG_NAMES
            .iter()
            .copied()
            .filter(|t| !DEFAULT_SYSTEM_TAGS.contains(t))
            .collect();
        assert_eq!(opt_in, ["iter", "vu", "ocsp_status", "ip"]);
        assert_eq!(DEFAULT_SYSTEM_TAGS.len(), 14);
        assert!(NON_INDEXABLE_SYSTEM_TAGS.iter().all(|t| opt_in.contains(t)));
    }
}
