//! The HTTP client side: URL parsing, message framing, connections with k6's timings.

pub mod wire;
