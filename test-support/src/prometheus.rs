//! What a Prometheus server holds, read back over its HTTP API.

use std::time::{SystemTime, UNIX_EPOCH};

/// How many counts the counter `selector` (e.g. `k6_loadrun_conformance_total`) holds over
/// every output instance.
///
/// Each instance's counter starts again from 0 on the same series, so the latest value is only
/// the last instance's total. Summing the increases between raw samples, with a drop read as
/// a restart (as PromQL's `increase` does), counts every instance's samples exactly once. It
/// needs each instance's first push to be below the previous instance's total, which a short
/// `pushInterval` gives (a push per 1000-sample batch).
pub fn counted_total(base: &str, selector: &str) -> Result<u64, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let body = crate::http_get::get_text(
        &format!("{base}/api/v1/query"),
        &[
            ("query", &format!("{selector}[1h]")),
            ("time", &(now + 60).to_string()),
        ],
    )?;
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
