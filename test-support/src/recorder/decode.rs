//! Undoing the Content-Encodings the outputs here send compressed bodies with.

use std::io::Read;

/// The body with a gzip or deflate (zlib, RFC 9110 §8.4.1.2) coding undone, and why it could
/// not be. Other codings (none, identity, snappy…) and undecodable bodies are returned as sent.
pub(super) fn decode(encoding: Option<&str>, raw: Vec<u8>) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    let result = match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        Some("gzip") => flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out),
        Some("deflate") => flate2::read::ZlibDecoder::new(&raw[..]).read_to_end(&mut out),
        _ => return (raw, None),
    };
    match result {
        Ok(_) => (out, None),
        Err(e) => (raw, Some(e.to_string())),
    }
}
