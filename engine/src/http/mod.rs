//! The HTTP client side: URL parsing, message framing, connections with k6's timings.

pub mod client;
pub mod head;
pub mod tls;
pub mod url;
pub mod wire;

pub use client::{Client, ClientShared, HttpError, HttpVersion, Response, Timings};
pub use url::{Scheme, Url};
