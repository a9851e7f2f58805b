//! loadrun's load engine: k6-style plans and executors, an HTTP/1.1 client with k6's timing
//! metrics, checks, extraction, data feeds, and a built-in httpbin-like test server.

pub mod http;
pub mod server;
pub mod util;
