//! Whether a plugin file may be loaded: loading runs its code with the user's rights (root's,
//! often, for a load generator on a server), so a file that someone else could have replaced is
//! refused, as ssh refuses such key files (its `StrictModes`).
//!
//! The rule, checked on the real path (symlinks resolved): the file and every folder up to `/`
//! must be owned by the user or root, and writable by no one else (group-writable is fine only
//! when the group is the user's own). A world-writable folder with the sticky bit (like `/tmp`)
//! is accepted above the plugin's own folder: there others cannot rename or delete the entries
//! they do not own, and the next folder down is checked for its own owner and mode. The plugin's
//! own folder may not be writable by others even if sticky, since anyone could then add files
//! next to it (which matters on a search path).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::PluginError;

const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

/// `--allow-insecure-plugins`, shared by `run` and `plugins list|info`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct TrustArgs {
    /// Load plugin files even when other users could have changed them (the file or a folder
    /// above it writable by others, or owned by someone else); each is loaded with a warning.
    #[arg(
        long = "allow-insecure-plugins",
        env = "LOADRUN_ALLOW_INSECURE_PLUGINS",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub allow_insecure_plugins: bool,
}

impl TrustArgs {
    pub fn policy(self) -> TrustPolicy {
        TrustPolicy {
            allow_insecure: self.allow_insecure_plugins,
        }
    }
}

/// What to do with a plugin file that fails [`check`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Load it anyway, with a warning.
    pub allow_insecure: bool,
}

impl TrustPolicy {
    /// `Ok` if `path` may be loaded: it passes [`check`], or the user allowed insecure plugins
    /// (then the reason is logged as a warning).
    pub fn admit(self, path: &Path) -> Result<(), PluginError> {
        match check(path) {
            Ok(()) => Ok(()),
            Err(PluginError::Untrusted { path, reason, .. }) if self.allow_insecure => {
                tracing::warn!(
                    "plugin {}: loading although {reason} (--allow-insecure-plugins)",
                    path.display()
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Checks the owner and mode of `path` and of every folder above its real path.
pub fn check(path: &Path) -> Result<(), PluginError> {
    let real = path.canonicalize().map_err(|e| PluginError::Other {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let user = Identity::current();
    let refuse = |reason: String, fix: String| PluginError::Untrusted {
        path: path.to_path_buf(),
        reason,
        fix,
    };

    let meta = stat(&real, path)?;
    if !user.may_own(meta.uid()) {
        return Err(refuse(
            format!(
                "the file is owned by uid {}, not by you (uid {}) or root",
                meta.uid(),
                user.uid
            ),
            format!("chown {} {}", user.uid, real.display()),
        ));
    }
    if let Some(who) = user.other_writers(&meta) {
        return Err(refuse(
            format!(
                "the file is writable by {} (mode {:04o})",
                who.describe(),
                meta.mode() & 0o7777
            ),
            format!("chmod {} {}", who.chmod(), real.display()),
        ));
    }

    let mut own_folder = true;
    for dir in real.ancestors().skip(1) {
        let meta = stat(dir, path)?;
        if !user.may_own(meta.uid()) {
            return Err(refuse(
                format!(
                    "the folder {} is owned by uid {}, not by you (uid {}) or root",
                    dir.display(),
                    meta.uid(),
                    user.uid
                ),
                "move the plugin to a folder you own".into(),
            ));
        }
        let sticky = meta.mode() & STICKY != 0;
        if let Some(who) = user.other_writers(&meta) {
            if own_folder || !sticky {
                return Err(refuse(
                    format!(
                        "{} {} is writable by {} (mode {:04o})",
                        if own_folder {
                            "its folder"
                        } else {
                            "the folder"
                        },
                        dir.display(),
                        who.describe(),
                        meta.mode() & 0o7777
                    ),
                    format!(
                        "chmod {} {}, or move the plugin to a folder only you can write",
                        who.chmod(),
                        dir.display()
                    ),
                ));
            }
        }
        own_folder = false;
    }
    Ok(())
}

fn stat(at: &Path, plugin: &Path) -> Result<std::fs::Metadata, PluginError> {
    std::fs::metadata(at).map_err(|e| PluginError::Other {
        path: plugin.to_path_buf(),
        reason: format!("cannot check {}: {e}", at.display()),
    })
}

/// Who besides the user may write a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writers {
    Group,
    Others,
    GroupAndOthers,
}

impl Writers {
    fn describe(self) -> &'static str {
        match self {
            Writers::Group => "its group",
            Writers::Others => "other users",
            Writers::GroupAndOthers => "its group and other users",
        }
    }

    fn chmod(self) -> &'static str {
        match self {
            Writers::Group => "g-w",
            Writers::Others => "o-w",
            Writers::GroupAndOthers => "go-w",
        }
    }
}

struct Identity {
    uid: u32,
    gid: u32,
}

impl Identity {
    fn current() -> Self {
        // SAFETY: geteuid and getegid have no preconditions and cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Self { uid, gid }
    }

    fn may_own(&self, owner: u32) -> bool {
        owner == self.uid || owner == 0
    }

    fn other_writers(&self, meta: &std::fs::Metadata) -> Option<Writers> {
        let mode = meta.mode();
        let group = mode & GROUP_WRITE != 0 && meta.gid() != self.gid;
        let others = mode & OTHER_WRITE != 0;
        match (group, others) {
            (false, false) => None,
            (true, false) => Some(Writers::Group),
            (false, true) => Some(Writers::Others),
            (true, true) => Some(Writers::GroupAndOthers),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_private_file_in_a_private_folder_under_tmp_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("libout_x.so");
        std::fs::write(&f, "x").unwrap();
        chmod(&f, 0o755);
        check(&f).unwrap();
    }

    #[test]
    fn a_world_writable_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("libout_x.so");
        std::fs::write(&f, "x").unwrap();
        chmod(&f, 0o666);
        let err = check(&f).unwrap_err().to_string();
        assert!(
            err.contains("writable by other users (mode 0666)") && err.contains("chmod o-w"),
            "{err}"
        );
        assert!(TrustPolicy {
            allow_insecure: true
        }
        .admit(&f)
        .is_ok());
    }

    /// Needs root, to give files away: skipped otherwise.
    #[test]
    fn a_file_of_another_user_or_writable_by_a_foreign_group_is_refused() {
        if Identity::current().uid != 0 {
            eprintln!("SKIP: not root, cannot chown");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("libout_x.so");
        std::fs::write(&f, "x").unwrap();
        chmod(&f, 0o755);
        std::os::unix::fs::chown(&f, Some(54321), None).unwrap();
        let err = check(&f).unwrap_err().to_string();
        assert!(
            err.contains("owned by uid 54321, not by you (uid 0) or root")
                && err.contains("chown 0"),
            "{err}"
        );

        std::os::unix::fs::chown(&f, Some(0), Some(54321)).unwrap();
        chmod(&f, 0o775);
        let err = check(&f).unwrap_err().to_string();
        assert!(
            err.contains("writable by its group (mode 0775)") && err.contains("chmod g-w"),
            "{err}"
        );
        // Group-writable by the user's own group is the user's business.
        std::os::unix::fs::chown(&f, None, Some(Identity::current().gid)).unwrap();
        check(&f).unwrap();
    }

    #[test]
    fn a_world_writable_folder_is_refused_even_when_sticky() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("shared");
        std::fs::create_dir(&sub).unwrap();
        let f = sub.join("libout_x.so");
        std::fs::write(&f, "x").unwrap();
        for mode in [0o777, 0o1777] {
            chmod(&sub, mode);
            let err = check(&f).unwrap_err().to_string();
            assert!(
                err.contains("its folder") && err.contains("chmod o-w"),
                "{mode:o}: {err}"
            );
        }
        // Above the plugin's own folder a sticky one is fine, a plain one is not.
        let inner = sub.join("mine");
        std::fs::create_dir(&inner).unwrap();
        let g = inner.join("libout_y.so");
        std::fs::write(&g, "y").unwrap();
        chmod(&sub, 0o1777);
        check(&g).unwrap();
        chmod(&sub, 0o777);
        let err = check(&g).unwrap_err().to_string();
        assert!(
            err.contains("the folder") && err.contains("shared"),
            "{err}"
        );
        chmod(&sub, 0o700);
    }
}
