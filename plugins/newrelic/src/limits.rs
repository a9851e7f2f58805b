//! The published limits this output keeps to (see the README for the sources).

/// "1MB (10^6 bytes) maximum per POST". The docs do not say whether before or after
/// compression, so the uncompressed body is bounded, which satisfies both readings.
pub const MAX_PAYLOAD_BYTES: usize = 1_000_000;
/// "Max attributes per metric": 150 on the English page, 100 on an older translation; the
/// stricter figure is kept, common attributes included.
pub const MAX_ATTRIBUTES: usize = 100;
/// "Max metric attribute name length: 255 characters".
pub const MAX_NAME_CHARS: usize = 255;
/// "Max metric attribute value length: 4096 characters".
pub const MAX_VALUE_CHARS: usize = 4096;
/// "Metrics reported with a timestamp older than 48 hours ago or newer than 24 hours from the
/// time they are reported are dropped." One hour of margin each way, for the time a data
/// point may wait (push interval, retries) between here and New Relic.
pub const MAX_AGE_MS: i64 = 47 * 3600 * 1000;
pub const MAX_AHEAD_MS: i64 = 23 * 3600 * 1000;
