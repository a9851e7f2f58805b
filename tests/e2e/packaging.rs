//! `scripts/package.sh`: the tarballs and .deb packages it builds, installed the way a distro
//! would, are what `loadrun plugins list` finds.
//!
//! The packages are built once per test run (in the profile the tests use, so the build is
//! mostly fresh) into `target/e2e-packaging/`. With `LOADRUN_TEST_DPKG_INSTALL=1` (CI, as root)
//! the .debs are also installed into the machine with `dpkg -i` and removed afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use loadrun_test_support::cplugin::{self, Header};
use loadrun_test_support::{loadrun_bin, workspace_root};

/// Plugin package suffixes, as scripts/package.sh ships them.
const PLUGINS: [&str; 11] = [
    "statsd",
    "datadog",
    "netdata",
    "influxdb",
    "prometheus",
    "grafana-cloud",
    "timescaledb",
    "cloudwatch",
    "newrelic",
    "cloud",
    "opentelemetry",
];

fn lib_name(plugin: &str) -> String {
    format!("libout_{}.so", plugin.replace('-', "_"))
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The dist folder, built once for every test in this module.
fn dist() -> &'static Path {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        // The profile folder the tests use (target/debug unless LOADRUN_TEST_PROFILE says).
        let profile_dir = loadrun_bin().parent().unwrap().to_path_buf();
        let out = profile_dir.parent().unwrap().join("e2e-packaging");
        let _ = std::fs::remove_dir_all(&out);
        let profile = profile_dir
            .file_name()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "debug".into());
        run(Command::new("bash")
            .arg(workspace_root().join("scripts/package.sh"))
            .args(["--profile", &profile, "--out"])
            .arg(&out)
            .current_dir(workspace_root()));
        out
    })
}

/// The one file in `dist()` whose name starts with `prefix` and ends with `suffix`.
fn artifact(prefix: &str, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dist())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{prefix}*{suffix} in {}: {found:?}",
        dist().display()
    );
    found[0].clone()
}

fn deb(package: &str) -> PathBuf {
    artifact(&format!("{package}_"), ".deb")
}

fn deb_field(deb: &Path, field: &str) -> String {
    stdout(&run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(field)))
        .trim()
        .to_string()
}

/// The upstream version a package was built from (`0.1.0` of `0.1.0-1`).
fn upstream_version(deb: &Path) -> String {
    let v = deb_field(deb, "Version");
    v.rsplit_once('-').map(|(u, _)| u.to_string()).unwrap_or(v)
}

fn all_debs() -> Vec<PathBuf> {
    let mut debs = vec![deb("loadrun")];
    debs.extend(PLUGINS.iter().map(|p| deb(&format!("loadrun-plugin-{p}"))));
    debs
}

/// Asserts `plugins list` output shows every packaged plugin from `dir` with the version its
/// package carries.
fn assert_lists_every_plugin(list: &str, dir: &Path) {
    for p in PLUGINS {
        let file = dir.join(lib_name(p));
        let version = upstream_version(&deb(&format!("loadrun-plugin-{p}")));
        let line = list
            .lines()
            .find(|l| l.trim_end().ends_with(file.to_str().unwrap()))
            .unwrap_or_else(|| panic!("{} not listed:\n{list}", file.display()));
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cols[1],
            format!("out_{}", p.replace('-', "_")),
            "plugin name: {line}"
        );
        assert_eq!(
            cols[2], version,
            "plugin version vs package version: {line}"
        );
        assert!(cols[4].split(',').any(|o| o == p), "output {p}: {line}");
    }
    assert!(
        !list.contains("skipped:"),
        "a packaged plugin was skipped:\n{list}"
    );
}

#[test]
fn tarballs_hold_the_binary_man_page_completions_and_each_plugin() {
    if !have("dpkg-deb") {
        eprintln!("SKIP: dpkg-deb is not installed; scripts/package.sh needs it");
        return;
    }
    let list = |tarball: &Path| -> Vec<String> {
        stdout(&run(Command::new("tar").arg("tzf").arg(tarball)))
            .lines()
            .map(String::from)
            .collect()
    };
    let host = artifact("loadrun-0", ".tar.gz");
    let top = host
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".tar.gz")
        .to_string();
    let files = list(&host);
    for f in [
        "bin/loadrun",
        "man/man1/loadrun.1.gz",
        "completions/loadrun.bash",
        "completions/_loadrun",
        "completions/loadrun.fish",
        "include/loadrun/loadrun_plugin.h",
        "share/pkgconfig/loadrun-plugin.pc",
        "README.md",
    ] {
        assert!(files.contains(&format!("{top}/{f}")), "{f} in {files:?}");
    }
    for p in PLUGINS {
        let tarball = artifact(&format!("loadrun-plugin-{p}-"), ".tar.gz");
        let top = tarball
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".tar.gz")
            .to_string();
        let files = list(&tarball);
        for f in [
            format!("lib/loadrun/plugins/{}", lib_name(p)),
            "README.md".to_string(),
        ] {
            assert!(files.contains(&format!("{top}/{f}")), "{f} in {files:?}");
        }
    }
}

#[test]
fn debs_installed_into_a_temporary_root_are_listed_by_the_installed_loadrun() {
    if !have("dpkg-deb") {
        eprintln!("SKIP: dpkg-deb is not installed; scripts/package.sh needs it");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    for d in all_debs() {
        run(Command::new("dpkg-deb").arg("-x").arg(&d).arg(root.path()));
    }
    let host_deb = deb("loadrun");
    assert_eq!(deb_field(&host_deb, "Package"), "loadrun");
    for p in PLUGINS {
        let d = deb(&format!("loadrun-plugin-{p}"));
        assert_eq!(deb_field(&d, "Package"), format!("loadrun-plugin-{p}"));
        assert_eq!(deb_field(&d, "Depends"), "libc6, libgcc-s1");
    }

    let usr = root.path().join("usr");
    for f in [
        "share/man/man1/loadrun.1.gz",
        "share/bash-completion/completions/loadrun",
        "share/zsh/vendor-completions/_loadrun",
        "share/fish/vendor_completions.d/loadrun.fish",
    ] {
        let p = usr.join(f);
        assert!(
            std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false),
            "{} missing or empty",
            p.display()
        );
    }
    let bash =
        std::fs::read_to_string(usr.join("share/bash-completion/completions/loadrun")).unwrap();
    assert!(
        bash.contains("plugins") && bash.contains("--plugin"),
        "{bash}"
    );
    if have("man") {
        let o = run(Command::new("man")
            .arg("-l")
            .arg(usr.join("share/man/man1/loadrun.1.gz"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100"));
        let page = stdout(&o);
        assert!(
            page.contains("NAME") && page.contains("--plugin") && page.contains("plugins"),
            "{page}"
        );
    } else {
        eprintln!("SKIP: man is not installed; not rendering the man page");
    }

    let plugins = usr.join("lib/loadrun/plugins");
    let xdg = tempfile::tempdir().unwrap();
    let o = run(Command::new(usr.join("bin/loadrun"))
        .args(["plugins", "list"])
        .env("LOADRUN_PLUGIN_PATH", &plugins)
        .env("XDG_DATA_HOME", xdg.path()));
    assert_lists_every_plugin(&stdout(&o), &plugins);
    // The installed host still carries the built-in outputs.
    let list = stdout(&o);
    assert!(
        list.contains("bundled-csv") && list.contains("bundled-json"),
        "{list}"
    );
    assert_builds_c_plugin_against(&usr, Some(&usr.join("share/pkgconfig")));
}

/// The C template, copied out of the workspace, builds with `make` against the header the
/// host package installed under `usr` (found with pkg-config, from `pc_path` or pkg-config's
/// default path), and the installed `loadrun` loads it.
fn assert_builds_c_plugin_against(usr: &Path, pc_path: Option<&Path>) {
    if !have("pkg-config") || !have("make") {
        assert!(
            !loadrun_test_support::services::services_required(),
            "pkg-config and make are required (.ci/install-deps installs them)"
        );
        eprintln!("SKIP: pkg-config or make is not installed; not building a C plugin");
        return;
    }
    let pkg_config = |what: &str| {
        let mut pc = Command::new("pkg-config");
        pc.args([what, "loadrun-plugin"]);
        if let Some(path) = pc_path {
            pc.env("PKG_CONFIG_PATH", path);
        }
        stdout(&run(&mut pc))
    };
    let flags = pkg_config("--cflags");
    let include = usr.join("include/loadrun");
    let canonical = include.canonicalize().unwrap();
    assert!(
        flags
            .split_whitespace()
            .filter_map(|f| f.strip_prefix("-I"))
            .any(|dir| Path::new(dir).canonicalize().ok().as_deref() == Some(&canonical)),
        "pkg-config does not point at {}: {flags}",
        include.display()
    );
    assert_eq!(pkg_config("--modversion").trim(), "1.0");
    let build = tempfile::tempdir().unwrap();
    let Some(lib) = cplugin::build_template(
        "packaging::c_plugin",
        build.path(),
        Header::PkgConfig(pc_path),
    ) else {
        return;
    };
    let xdg = tempfile::tempdir().unwrap();
    let o = run(Command::new(usr.join("bin/loadrun"))
        .args(["plugins", "info", "lines", "--plugin"])
        .arg(&lib)
        .env_remove("LOADRUN_PLUGIN_PATH")
        .env("XDG_DATA_HOME", xdg.path()));
    assert!(
        stdout(&o).contains("loadrun_plugin.h (C ABI 1.0)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn packaged_plugins_need_nothing_but_the_c_runtime() {
    if !have("dpkg-deb") || !have("objdump") {
        eprintln!("SKIP: dpkg-deb or objdump is not installed");
        return;
    }
    // What `Depends: libc6, libgcc-s1` covers.
    let allowed = |lib: &str| {
        [
            "libc.so.",
            "libgcc_s.so.",
            "libm.so.",
            "libpthread.so.",
            "libdl.so.",
            "librt.so.",
        ]
        .iter()
        .any(|p| lib.starts_with(p))
            || lib.starts_with("ld-linux")
    };
    let root = tempfile::tempdir().unwrap();
    for p in PLUGINS {
        run(Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb(&format!("loadrun-plugin-{p}")))
            .arg(root.path()));
        let so = root
            .path()
            .join("usr/lib/loadrun/plugins")
            .join(lib_name(p));
        let dump = stdout(&run(Command::new("objdump").arg("-p").arg(&so)));
        for line in dump
            .lines()
            .filter(|l| l.trim_start().starts_with("NEEDED"))
        {
            let lib = line.split_whitespace().nth(1).unwrap_or_default();
            assert!(allowed(lib), "{} needs {lib}", so.display());
        }
    }
}

/// Removes the packages it was given when dropped, so a failed test leaves the machine clean.
struct Installed(Vec<String>);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").arg("--purge").args(&self.0).output();
    }
}

#[test]
fn debs_install_into_the_machine_with_dpkg() {
    if std::env::var("LOADRUN_TEST_DPKG_INSTALL").as_deref() != Ok("1") {
        eprintln!("SKIP: set LOADRUN_TEST_DPKG_INSTALL=1 (as root) to dpkg -i the built packages");
        return;
    }
    let debs = all_debs();
    let names: Vec<String> = debs.iter().map(|d| deb_field(d, "Package")).collect();
    for n in &names {
        let o = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", n])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout) != "install ok installed",
            "{n} is already installed on this machine: not touching it"
        );
    }
    let _installed = Installed(names.clone());
    run(Command::new("dpkg").arg("-i").args(&debs));

    let xdg = tempfile::tempdir().unwrap();
    let o = run(Command::new("/usr/bin/loadrun")
        .args(["plugins", "list"])
        .env_remove("LOADRUN_PLUGIN_PATH")
        .env("XDG_DATA_HOME", xdg.path()));
    assert_lists_every_plugin(&stdout(&o), Path::new("/usr/lib/loadrun/plugins"));
    if have("man") {
        let o = run(Command::new("man")
            .args(["-w", "loadrun"])
            .env("MANPATH", "/usr/share/man"));
        assert!(
            stdout(&o).contains("/usr/share/man/man1/loadrun.1"),
            "{}",
            stdout(&o)
        );
    }

    assert!(Path::new("/usr/include/loadrun/loadrun_plugin.h").is_file());
    assert_builds_c_plugin_against(Path::new("/usr"), None);

    run(Command::new("dpkg").arg("-r").args(&names));
    for p in PLUGINS {
        let so = Path::new("/usr/lib/loadrun/plugins").join(lib_name(p));
        assert!(!so.exists(), "{} left behind by dpkg -r", so.display());
    }
    assert!(!Path::new("/usr/bin/loadrun").exists());
    assert!(!Path::new("/usr/include/loadrun/loadrun_plugin.h").exists());
}
