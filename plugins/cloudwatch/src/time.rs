//! UTC instants for SigV4 dates and CloudWatch timestamps: the shared `loadrun-aws-sigv4`
//! crate's [`UtcTime`] (the signer takes the same type).

pub use loadrun_aws_sigv4::UtcTime;
