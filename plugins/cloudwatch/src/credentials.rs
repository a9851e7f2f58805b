//! AWS credentials and region from the standard sources, in the AWS CLI's order:
//! the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the
//! profile (`AWS_PROFILE`, default `default`) in the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) and the config file
//! (`AWS_CONFIG_FILE`, default `~/.aws/config`).
//!
//! SSO, assume-role, `credential_process` and instance-metadata credentials are not resolved:
//! they need the STS/SSO APIs or IMDS; `aws configure export-credentials --format env` turns any
//! of them into environment variables this output reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use loadrun_aws_sigv4::Credentials;

/// Why no credentials (or region) could be had. Never carries a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile \
         [{profile}] with aws_access_key_id/aws_secret_access_key in {credentials_file} \
         (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE){hint}"
    )]
    Missing {
        profile: String,
        credentials_file: String,
        hint: String,
    },
    #[error("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not (or the other way round)")]
    HalfEnv,
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
}

/// Where to look, from the environment handed to the plugin (not the process's own, so tests
/// and the host decide).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub env: BTreeMap<String, String>,
    /// `profile` option; outranks `AWS_PROFILE`.
    pub profile: Option<String>,
}

impl Sources {
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn profile(&self) -> String {
        self.profile
            .clone()
            .or_else(|| self.var("AWS_PROFILE").map(str::to_string))
            .unwrap_or_else(|| "default".to_string())
    }

    fn home_file(&self, var: &str, rel: &str) -> PathBuf {
        if let Some(p) = self.var(var) {
            return PathBuf::from(p);
        }
        let home = self.var("HOME").unwrap_or("~");
        PathBuf::from(home).join(".aws").join(rel)
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
    }

    pub fn config_file(&self) -> PathBuf {
        self.home_file("AWS_CONFIG_FILE", "config")
    }

    /// Resolves credentials: the environment first, then the profile's files.
    pub fn credentials(&self) -> Result<Credentials, CredentialsError> {
        match (
            self.var("AWS_ACCESS_KEY_ID"),
            self.var("AWS_SECRET_ACCESS_KEY"),
        ) {
            // An explicit profile option means the user wants that profile, not the env keys.
            (Some(id), Some(secret)) if self.profile.is_none() => {
                return Ok(Credentials::new(
                    id.trim(),
                    secret.trim(),
                    self.var("AWS_SESSION_TOKEN").map(str::trim),
                ))
            }
            (Some(_), None) | (None, Some(_)) if self.profile.is_none() => {
                return Err(CredentialsError::HalfEnv)
            }
            _ => {}
        }
        let profile = self.profile();
        let cred_path = self.credentials_file();
        let mut found = read_ini(&cred_path)?
            .and_then(|mut ini| ini.remove(&profile))
            .unwrap_or_default();
        // The config file may hold keys too, under `[profile NAME]` (or `[default]`).
        if let Some(mut ini) = read_ini(&self.config_file())? {
            if let Some(section) = ini.remove(&config_section(&profile)) {
                for (k, v) in section {
                    found.entry(k).or_insert(v);
                }
            }
        }
        match (
            found.get("aws_access_key_id"),
            found.get("aws_secret_access_key"),
        ) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(Credentials::new(
                    id,
                    secret,
                    found.get("aws_session_token").map(String::as_str),
                ))
            }
            _ => {
                let unsupported = [
                    "sso_session",
                    "sso_start_url",
                    "role_arn",
                    "credential_process",
                ]
                .iter()
                .find(|k| found.contains_key(**k));
                let hint = match unsupported {
                    Some(k) => format!(
                        "; the profile uses {k}, which this output does not resolve: run \
                         `eval $(aws configure export-credentials --profile {profile} --format env)` first"
                    ),
                    None => String::new(),
                };
                Err(CredentialsError::Missing {
                    profile,
                    credentials_file: cred_path.display().to_string(),
                    hint,
                })
            }
        }
    }

    /// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region` in the config
    /// file (the `region` option, checked by the caller, outranks all of these).
    pub fn region(&self) -> Result<Option<String>, CredentialsError> {
        if let Some(r) = self
            .var("AWS_REGION")
            .or_else(|| self.var("AWS_DEFAULT_REGION"))
        {
            return Ok(Some(r.trim().to_string()));
        }
        let profile = self.profile();
        Ok(read_ini(&self.config_file())?
            .and_then(|mut ini| ini.remove(&config_section(&profile)))
            .and_then(|mut s| s.remove("region"))
            .filter(|r| !r.is_empty()))
    }

    /// An endpoint from `AWS_ENDPOINT_URL_CLOUDWATCH`, then `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> Option<String> {
        self.var("AWS_ENDPOINT_URL_CLOUDWATCH")
            .or_else(|| self.var("AWS_ENDPOINT_URL"))
            .map(|s| s.trim().to_string())
    }
}

fn config_section(profile: &str) -> String {
    if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    }
}

type Ini = BTreeMap<String, BTreeMap<String, String>>;

/// Reads an AWS-style INI file; `None` if it does not exist.
fn read_ini(path: &std::path::Path) -> Result<Option<Ini>, CredentialsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(parse_ini(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CredentialsError::Unreadable {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        }),
    }
}

fn parse_ini(text: &str) -> Ini {
    let mut ini = Ini::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            ini.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        // Indented lines continue a nested setting (`s3 =\n  max_concurrent_requests = 1`); the
        // keys read here are never nested, so skipping them is enough.
        if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            ini.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    ini
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn sources(env: &[(&str, &str)]) -> Sources {
        Sources {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            profile: None,
        }
    }

    #[test]
    fn env_credentials_win() {
        let s = sources(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "sekrit"),
            ("AWS_SESSION_TOKEN", "tokentok"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x"),
        ]);
        let c = s.credentials().unwrap();
        assert_eq!(c.access_key_id(), "AKIA1");
        assert_eq!(c.session_token(), Some("tokentok"));
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("sekrit") && !dbg.contains("tokentok"),
            "{dbg}"
        );
        assert_eq!(c.redact("x sekrit y tokentok"), "x *** y ***");
    }

    #[test]
    fn half_env_is_an_error() {
        let s = sources(&[("AWS_ACCESS_KEY_ID", "AKIA1")]);
        assert_eq!(s.credentials(), Err(CredentialsError::HalfEnv));
    }

    #[test]
    fn profiles_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let cred = dir.path().join("credentials");
        let conf = dir.path().join("config");
        std::fs::write(
            &cred,
            "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = defsecret\n\n\
             # comment\n[ci]\naws_access_key_id=AKIACI\naws_secret_access_key=cisecret\n\
             aws_session_token = citoken\n",
        )
        .unwrap();
        std::fs::write(
            &conf,
            "[default]\nregion = eu-west-1\n[profile ci]\nregion = ap-south-1\n\
             [profile sso]\nsso_session = corp\n",
        )
        .unwrap();
        let base = [
            ("AWS_SHARED_CREDENTIALS_FILE", cred.to_str().unwrap()),
            ("AWS_CONFIG_FILE", conf.to_str().unwrap()),
        ];
        let s = sources(&base);
        assert_eq!(s.credentials().unwrap().access_key_id(), "AKIADEF");
        assert_eq!(s.region().unwrap().as_deref(), Some("eu-west-1"));

        let mut env = base.to_vec();
        env.push(("AWS_PROFILE", "ci"));
        let s = sources(&env);
        let c = s.credentials().unwrap();
        assert_eq!(c.access_key_id(), "AKIACI");
        assert_eq!(c.session_token(), Some("citoken"));
        assert_eq!(s.region().unwrap().as_deref(), Some("ap-south-1"));

        env.push(("AWS_REGION", "us-west-2"));
        assert_eq!(
            sources(&env).region().unwrap().as_deref(),
            Some("us-west-2")
        );

        let mut s = sources(&base);
        s.profile = Some("sso".into());
        let e = s.credentials().unwrap_err().to_string();
        assert!(
            e.contains("sso_session") && e.contains("export-credentials"),
            "{e}"
        );

        s.profile = Some("nope".into());
        let e = s.credentials().unwrap_err().to_string();
        assert!(e.contains("[nope]"), "{e}");
        assert!(!e.contains("defsecret"), "{e}");
    }
}
