//! `include` / `exclude`: which metrics are written. A name ending in `*` matches by prefix.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Filter {
    pub fn new(include: Vec<String>, exclude: Vec<String>) -> Self {
        Self { include, exclude }
    }

    /// Included (or no include list), and not excluded.
    pub fn wants(&self, metric: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| matches(p, metric)))
            && !self.exclude.iter().any(|p| matches(p, metric))
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_exclude_prefix() {
        let f = Filter::new(vec!["http_req*".into()], vec!["http_req_failed".into()]);
        assert!(f.wants("http_reqs"));
        assert!(f.wants("http_req_duration"));
        assert!(!f.wants("http_req_failed"));
        assert!(!f.wants("vus"));
        assert!(Filter::default().wants("vus"));
    }
}
