//! Shared by the test files: what Prometheus holds of the conformance counter, and the test
//! proxy's counts (`tests/services/prw-proxy.py`).
#![allow(dead_code)] // each test file uses its own part

use std::time::{SystemTime, UNIX_EPOCH};

/// How many counts `k6_loadrun_conformance_total` holds over every output instance.
///
/// Each instance's counter starts again from 0 on the same series, so the latest value is only
/// the last instance's total. Summing the increases between raw samples, with a drop read as
/// a restart (as PromQL's `increase` does), counts every instance's samples exactly once. It
/// needs each instance's first push to be below the previous instance's total, which a short
/// `pushInterval` gives (a push per 1000-sample batch).
pub fn stored(base: &str) -> Result<u64, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let body = ureq::get(&format!("{base}/api/v1/query"))
        .query("query", "k6_loadrun_conformance_total[1h]")
        .query("time", &(now + 60).to_string())
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let mut total = 0.0;
    for series in v["data"]["result"].as_array().ok_or(body.clone())? {
        let mut prev = 0.0;
        for point in series["values"].as_array().ok_or(body.clone())? {
            let x: f64 = point[1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or(body.clone())?;
            total += if x < prev { x } else { x - prev };
            prev = x;
        }
    }
    Ok(total as u64)
}

/// The proxy's counts: `accepted`, `rejected`, `reasons`, `signed_headers`, `tls_failures`.
/// Only for plain-HTTP proxies (the test's HTTP client has no TLS).
pub fn proxy_stats(stats_url: &str) -> serde_json::Value {
    let body = get_text(ureq::get(stats_url)).unwrap_or_else(|e| panic!("GET {stats_url}: {e}"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{stats_url}: {e}: {body}"))
}

/// The value of the one series `q` returns (none: `None`).
pub fn single(base: &str, q: &str) -> Option<f64> {
    let body = get_text(ureq::get(&format!("{base}/api/v1/query")).query("query", q))
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

fn get_text(req: ureq::Request) -> Result<String, String> {
    req.call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())
}
