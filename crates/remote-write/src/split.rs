//! Cuts one push into requests bounded in series count and in (uncompressed) bytes, so a
//! receiver's per-request limits (Mimir's, Grafana Cloud's) are never hit; k6 never splits.

use crate::proto::{encode_series_entry, snappy_compress, TimeSeries};

/// One compressed `WriteRequest`, ready to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub body: Vec<u8>,
    /// Series in it (for accounting).
    pub series: usize,
    /// Uncompressed size.
    pub raw_len: usize,
}

/// Encodes `series` into as few requests as the limits allow. A single series larger than
/// `max_bytes` still goes out, alone.
pub fn encode_requests(
    series: &[TimeSeries],
    max_series: usize,
    max_bytes: usize,
) -> Result<Vec<Request>, snap::Error> {
    let mut out = Vec::new();
    let mut raw = Vec::new();
    let mut count = 0usize;
    let mut entry = Vec::new();
    for ts in series {
        entry.clear();
        encode_series_entry(ts, &mut entry);
        if count > 0 && (count >= max_series.max(1) || raw.len() + entry.len() > max_bytes) {
            out.push(finish(&raw, count)?);
            raw.clear();
            count = 0;
        }
        raw.extend_from_slice(&entry);
        count += 1;
    }
    if count > 0 {
        out.push(finish(&raw, count)?);
    }
    Ok(out)
}

fn finish(raw: &[u8], series: usize) -> Result<Request, snap::Error> {
    Ok(Request {
        body: snappy_compress(raw)?,
        series,
        raw_len: raw.len(),
    })
}
