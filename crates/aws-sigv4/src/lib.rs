//! # loadrun-aws-sigv4
//!
//! AWS Signature Version 4 in its header form, shared by the loadrun outputs that talk to AWS:
//! `cloudwatch` (service `monitoring`) and `prometheus` remote write to Amazon Managed Service
//! for Prometheus (service `aps`). Written out rather than taken from the AWS SDK, which would
//! pull in an async runtime and hundreds of crates for one HMAC chain.
//!
//! - [`sign`] / [`sign_with_content_sha256`]: the headers to add to one request
//!   (`X-Amz-Date`, optionally `X-Amz-Content-Sha256`, `X-Amz-Security-Token`, `Authorization`).
//!   Sign every attempt again: the date is part of the signature.
//! - [`Credentials`]: a key pair and optional session token whose `Debug` shows no secret.
//! - [`UtcTime`]: the UTC instant the signature is made at, and AWS's date formats.
//! - [`uri_encode`], [`hex`], [`sha256_hex`]: the encodings SigV4 is built from.
//!
//! Checked against AWS's published SigV4 test-suite vectors, and against botocore for the
//! signed payload-hash header (see the tests in `sign.rs`).

mod credentials;
mod encode;
mod sign;
mod time;

pub use credentials::Credentials;
pub use encode::{hex, sha256_hex, uri_encode};
pub use sign::{sign, sign_with_content_sha256, Request, Signed};
pub use time::UtcTime;
