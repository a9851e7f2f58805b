//! The TLS options HTTP outputs share, declared once: [`tls_files!`](crate::tls_files) is the
//! group an output includes in its table (`options![OWN, tls_files!("LOADRUN_X")]`), and
//! [`TlsOptions::from_values`] reads them back, so each output declares and reads its TLS
//! settings in one line each.

use std::path::PathBuf;

use loadrun_plugin_api::{PluginError, Secret, Values};

use crate::{basic_auth_header, TlsOptions, TlsVersion};

/// The `Authorization` value of HTTP Basic credentials from a user option and a password
/// option; `None` when neither is given.
pub fn basic_auth(v: &Values, user: &str, password: &str) -> Result<Option<Secret>, PluginError> {
    let user: Option<String> = v.opt(user)?;
    let password = v.secret(password)?;
    Ok((user.is_some() || password.is_some()).then(|| {
        Secret::new(basic_auth_header(
            user.as_deref().unwrap_or(""),
            password.as_ref().map_or("", Secret::expose),
        ))
    }))
}

/// The option names an output's TLS settings go by (k6's outputs each named them their own
/// way; the names stay as users know them). An empty name: the output has no such option.
#[derive(Debug, Clone, Copy)]
pub struct TlsNames {
    pub skip_verify: &'static str,
    pub ca_file: &'static str,
    pub client_cert: &'static str,
    pub client_key: &'static str,
    pub min_version: &'static str,
}

impl TlsNames {
    /// The names of [`tls_files!`](crate::tls_files), `insecure` and `tlsMinimumVersion`.
    pub const LOADRUN: TlsNames = TlsNames {
        skip_verify: "insecure",
        ca_file: "caFile",
        client_cert: "clientCert",
        client_key: "clientKey",
        min_version: "tlsMinimumVersion",
    };
}

impl TlsOptions {
    /// The TLS settings among an output's checked options, by [`TlsNames::LOADRUN`]'s names.
    pub fn from_values(v: &Values) -> Result<Self, PluginError> {
        Self::from_values_named(v, &TlsNames::LOADRUN)
    }

    /// The TLS settings among an output's checked options; an option it does not declare keeps
    /// its default. A certificate without its key (or the reverse) is an error naming both.
    pub fn from_values_named(v: &Values, names: &TlsNames) -> Result<Self, PluginError> {
        let path = |name: &str| -> Result<Option<PathBuf>, PluginError> {
            let text: Option<String> = v.opt(name)?;
            Ok(text.filter(|t| !t.trim().is_empty()).map(PathBuf::from))
        };
        let min_version = match v.opt::<String>(names.min_version)? {
            Some(text) => text.parse::<TlsVersion>().map_err(|e| {
                PluginError::new(format!("{}: option {}: {e}", v.output(), names.min_version))
            })?,
            None => TlsVersion::default(),
        };
        let tls = TlsOptions {
            insecure_skip_verify: v.opt(names.skip_verify)?.unwrap_or(false),
            ca_file: path(names.ca_file)?,
            client_cert: path(names.client_cert)?,
            client_key: path(names.client_key)?,
            min_version,
        };
        if tls.client_cert.is_some() != tls.client_key.is_some() {
            return Err(PluginError::new(format!(
                "{}: {} and {} go together",
                v.output(),
                names.client_cert,
                names.client_key
            )));
        }
        Ok(tls)
    }
}

/// The CA file and client certificate options of an HTTP output, their variables named
/// `<PREFIX>_CA_FILE`, `<PREFIX>_CLIENT_CERT` and `<PREFIX>_CLIENT_KEY`; an empty value is
/// not set. Read back with [`TlsOptions::from_values`].
#[macro_export]
macro_rules! tls_files {
    ($prefix:literal) => {
        [
            $crate::__spec::OptionSpec::new("caFile", $crate::__spec::Kind::Str)
                .env(&[concat!($prefix, "_CA_FILE")])
                .empty_is_unset()
                .doc("PEM file of extra CA certificates to trust (a TLS-inspecting proxy)."),
            $crate::__spec::OptionSpec::new("clientCert", $crate::__spec::Kind::Str)
                .env(&[concat!($prefix, "_CLIENT_CERT")])
                .empty_is_unset()
                .doc("PEM client certificate (mutual TLS)."),
            $crate::__spec::OptionSpec::new("clientKey", $crate::__spec::Kind::Str)
                .env(&[concat!($prefix, "_CLIENT_KEY")])
                .empty_is_unset()
                .doc("PEM key of clientCert."),
        ]
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use loadrun_plugin_api::values::RawOptions;
    use loadrun_plugin_api::{options, DeclaredOutput, Kind, OptionSpec};

    use super::*;

    const OWN: &[OptionSpec] = &[
        OptionSpec::new("insecure", Kind::Bool).default("false"),
        OptionSpec::new("tlsMinimumVersion", Kind::Str).default("1.2"),
    ];
    const OPTIONS: &[OptionSpec] = options![OWN, crate::tls_files!("LOADRUN_X")];
    const DECL: DeclaredOutput = DeclaredOutput::new("x", &[]).options(OPTIONS);

    fn values(arg: &str, env: &[(&str, &str)]) -> Result<TlsOptions, String> {
        let raw = RawOptions {
            output: "x".into(),
            arg: Some(arg.into()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..RawOptions::default()
        };
        let v = Values::resolve(&DECL, &raw).map_err(|e| e.to_string())?;
        TlsOptions::from_values(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn declared_once_read_in_one_line() {
        let tls = values(
            "insecure=true,tlsMinimumVersion=1.3,clientKey=k.pem",
            &[
                ("LOADRUN_X_CLIENT_CERT", "c.pem"),
                ("LOADRUN_X_CA_FILE", ""),
            ],
        )
        .unwrap();
        assert!(tls.insecure_skip_verify);
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert_eq!(tls.client_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(tls.ca_file, None);
        let e = values("clientKey=k.pem", &[]).unwrap_err();
        assert_eq!(e, "x: clientCert and clientKey go together");
        assert!(values("tlsMinimumVersion=1.1", &[]).is_err());
    }
}
