//! Shared by the test files: what Prometheus holds of the conformance counter, and the test
//! proxy's counts (`tests/services/prw-proxy.py`).
#![allow(dead_code)] // each test file uses its own part

use loadrun_test_support::http_get::get_text;
use loadrun_test_support::prometheus::counted_total;

/// How many counts `k6_loadrun_conformance_total` holds over every output instance.
pub fn stored(base: &str) -> Result<u64, String> {
    counted_total(base, "k6_loadrun_conformance_total")
}

/// The proxy's counts: `accepted`, `rejected`, `reasons`, `signed_headers`, `tls_failures`.
/// Only for plain-HTTP proxies (the test's HTTP client has no TLS).
pub fn proxy_stats(stats_url: &str) -> serde_json::Value {
    let body = get_text(stats_url, &[]).unwrap_or_else(|e| panic!("GET {stats_url}: {e}"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{stats_url}: {e}: {body}"))
}

/// The value of the one series `q` returns (none: `None`).
pub fn single(base: &str, q: &str) -> Option<f64> {
    let body = get_text(&format!("{base}/api/v1/query"), &[("query", q)])
        .unwrap_or_else(|e| panic!("query {q}: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{q}: {e}: {body}"));
    let result = v["data"]["result"].as_array()?;
    assert!(result.len() <= 1, "{q}: {body}");
    result
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|s| s.parse().ok())
}
