//! Which tags get a column of their own.
//!
//! The plugin cannot see the host's `--system-tags`; it reads them with
//! `TestMeta::system_tags_or_default` (k6's default set when the host does not say).

use loadrun_plugin_api::k6::{NON_INDEXABLE_SYSTEM_TAGS, SYSTEM_TAG_NAMES};

/// The csv columns for a set of enabled system tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Tag columns, alphabetical (k6's order).
    pub columns: Vec<String>,
    /// System tags that are switched off: as k6, left out of `extra_tags` too.
    pub ignored: Vec<String>,
}

impl Layout {
    /// As k6: every known system tag that is enabled and indexable gets a column, sorted; unknown
    /// names are ignored; known names that are not enabled are dropped wherever they appear.
    /// Enabled non-indexable tags (`vu`, `iter`) get no column: their values are in `metadata`.
    pub fn new(enabled: &[String]) -> Self {
        let on = |t: &&str| enabled.iter().any(|e| e == t);
        let mut known = SYSTEM_TAG_NAMES.to_vec();
        known.sort_unstable();
        let columns = known
            .iter()
            .filter(|t| on(t) && !NON_INDEXABLE_SYSTEM_TAGS.contains(t))
            .map(|s| s.to_string())
            .collect();
        let ignored = known
            .iter()
            .filter(|t| !on(t))
            .map(|s| s.to_string())
            .collect();
        Self { columns, ignored }
    }

    /// `metric_name,timestamp,metric_value,<columns>,extra_tags,metadata`
    pub fn header(&self) -> String {
        let mut h = String::from("metric_name,timestamp,metric_value");
        for c in &self.columns {
            h.push(',');
            h.push_str(c);
        }
        h.push_str(",extra_tags,metadata\n");
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadrun_plugin_api::k6::DEFAULT_SYSTEM_TAGS;

    #[test]
    fn k6_headers() {
        let default: Vec<String> = DEFAULT_SYSTEM_TAGS.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            Layout::new(&default).header(),
            "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata\n"
        );
        let reduced: Vec<String> = ["status", "method", "url", "vu", "nonsense"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let l = Layout::new(&reduced);
        assert_eq!(
            l.header(),
            "metric_name,timestamp,metric_value,method,status,url,extra_tags,metadata\n"
        );
        assert!(l.ignored.contains(&"group".to_string()));
        assert!(!l.ignored.contains(&"vu".to_string()));
    }
}
