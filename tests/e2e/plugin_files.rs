//! Plugin files that must not be loaded: damaged ones (loading a truncated shared object kills
//! the process with SIGBUS) and ones other users could have changed. And the search for an
//! output loads only the file that provides it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use loadrun_test_support::{loadrun_bin, plugin_path};

fn loadrun_in(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(loadrun_bin());
    cmd.args(args)
        .env_remove("LOADRUN_PLUGIN_PATH")
        .env_remove("LOADRUN_ALLOW_INSECURE_PLUGINS")
        .env_remove("LOADRUN_LOG")
        .env("XDG_DATA_HOME", "/nonexistent-xdg");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run loadrun")
}

fn loadrun(args: &[&str], env: &[(&str, &str)]) -> Output {
    loadrun_in(None, args, env)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Ended by itself (an exit code), not killed by a signal such as SIGBUS.
fn assert_exited(o: &Output, what: &str) {
    assert!(
        o.status.code().is_some(),
        "{what}: killed by a signal ({:?}); stderr: {}",
        o.status,
        stderr(o)
    );
    assert!(!stderr(o).contains("panicked"), "{what}: {}", stderr(o));
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The plugin files the dynamic loader opened, from its `LD_DEBUG=files` trace.
fn dlopened(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.contains("dynamically loaded by"))
        .filter_map(|l| {
            let start = l.find("file=")? + 5;
            let rest = &l[start..];
            Some(rest[..rest.find(' ')?].to_string())
        })
        .filter(|f| f.contains("libout_"))
        .collect()
}

/// stderr without the loader's trace lines (`  PID:\t...`).
fn messages(o: &Output) -> String {
    let is_trace = |l: &str| {
        let t = l.trim_start();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && t[digits..].starts_with(':')
    };
    stderr(o)
        .lines()
        .filter(|l| !is_trace(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the loadable segments of a shared object end in the file. In a debug build they are
/// the first third or so: the rest is debug info, which a cut there leaves loadable.
fn loaded_part_end(so: &[u8]) -> usize {
    use object::read::elf::{FileHeader, ProgramHeader};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(so).unwrap();
    let endian = header.endian().unwrap();
    header
        .program_headers(endian, so)
        .unwrap()
        .iter()
        .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD)
        .map(|ph| (ph.p_offset(endian) + ph.p_filesz(endian)) as usize)
        .max()
        .unwrap()
}

/// A plugin folder holding a copy of a real plugin cut in the middle of what `dlopen` maps
/// (a process that loads it dies of SIGBUS), next to good ones.
struct Shelf {
    dir: tempfile::TempDir,
}

impl Shelf {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read(plugin_path("statsd")).unwrap();
        let cut = loaded_part_end(&good) / 2;
        std::fs::write(dir.path().join("libout_statsd.so"), &good[..cut]).unwrap();
        for name in ["testbehave", "prometheus"] {
            std::fs::copy(
                plugin_path(name),
                dir.path().join(format!("libout_{name}.so")),
            )
            .unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn file(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("libout_{name}.so"))
            .to_str()
            .unwrap()
            .to_string()
    }

    fn env(&self) -> Vec<(&str, &str)> {
        vec![("LOADRUN_PLUGIN_PATH", self.path()), ("LD_DEBUG", "files")]
    }
}

fn quick_run(out: &str) -> Vec<String> {
    [
        "run",
        "--test-server",
        "--url",
        "${TEST_SERVER}/",
        "-u",
        "1",
        "-i",
        "1",
        "--no-summary",
        "-o",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

const TRUNCATED: &str = "not a complete shared object";

#[test]
fn plugins_list_reports_a_truncated_plugin_without_loading_it() {
    let shelf = Shelf::new();
    let o = loadrun(&["plugins", "list"], &shelf.env());
    assert_exited(&o, "plugins list");
    assert!(o.status.success(), "{}", messages(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains(&shelf.file("statsd")))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains(TRUNCATED)
            && line.contains("file has")
            && line.contains("rebuild or reinstall it"),
        "{line}"
    );
    // The declared plugins are listed from their declaration: none is loaded to list them.
    let behave = out
        .lines()
        .find(|l| l.contains(&shelf.file("testbehave")))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        behave.contains("tb-count") && behave.contains("declared"),
        "{behave}"
    );
    assert_eq!(dlopened(&o), Vec::<String>::new(), "{out}");
}

#[test]
fn a_mistyped_output_names_the_truncated_plugin_and_loads_none() {
    let shelf = Shelf::new();
    let o = loadrun(&args(&quick_run("typo")), &shelf.env());
    assert_exited(&o, "-o typo");
    assert!(!o.status.success());
    let err = messages(&o);
    assert!(err.contains("no plugin provides output \"typo\""), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains(&shelf.file("statsd")) && l.contains(TRUNCATED)),
        "{err}"
    );
    assert!(
        err.contains("tb-count") && err.contains("prometheus"),
        "{err}"
    );
    assert_eq!(dlopened(&o), Vec::<String>::new(), "{err}");
}

#[test]
fn the_truncated_plugin_asked_for_is_refused_in_one_line() {
    let shelf = Shelf::new();
    let o = loadrun(&args(&quick_run("statsd")), &shelf.env());
    assert_exited(&o, "-o statsd");
    assert!(!o.status.success());
    let err = messages(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&shelf.file("statsd")) && err.contains(TRUNCATED),
        "{err}"
    );
    assert_eq!(dlopened(&o), Vec::<String>::new());
}

/// k6's name for the Prometheus output is an alias, not a file name: it is found through the
/// declaration, and only that one file is loaded.
#[test]
fn a_k6_alias_loads_only_the_plugin_that_declares_it() {
    let shelf = Shelf::new();
    // A port nothing listens on: the run's pushes fail fast, which is not what is tested.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let mut env = shelf.env();
    env.push(("K6_PROMETHEUS_RW_SERVER_URL", &url));
    let o = loadrun(&args(&quick_run("experimental-prometheus-rw")), &env);
    assert_exited(&o, "-o experimental-prometheus-rw");
    let err = messages(&o);
    assert!(!err.contains("no plugin provides"), "{err}");
    assert!(!err.contains(TRUNCATED), "not relevant here: {err}");
    assert_eq!(dlopened(&o), vec![shelf.file("prometheus")], "{err}");

    let o = loadrun(&["plugins", "info", "experimental-prometheus-rw"], &env);
    assert!(o.status.success(), "{}", messages(&o));
    assert!(stdout(&o).contains("output prometheus"), "{}", stdout(&o));
    assert_eq!(dlopened(&o), vec![shelf.file("prometheus")]);
}

#[test]
fn a_bundled_output_loads_nothing_from_the_path() {
    let shelf = Shelf::new();
    let json = shelf.dir.path().join("out.json");
    let spec = format!("json={}", json.display());
    let o = loadrun(&args(&quick_run(&spec)), &shelf.env());
    assert_exited(&o, "-o json");
    assert!(o.status.success(), "{}", messages(&o));
    assert!(!messages(&o).contains(TRUNCATED), "{}", messages(&o));
    assert!(std::fs::metadata(&json).unwrap().len() > 0);
    assert_eq!(dlopened(&o), Vec::<String>::new());
}

#[test]
fn a_truncated_explicit_plugin_is_refused() {
    let shelf = Shelf::new();
    let o = loadrun(
        &["plugins", "list", "--plugin", &shelf.file("statsd")],
        &shelf.env(),
    );
    assert_exited(&o, "--plugin truncated");
    assert!(!o.status.success());
    let err = messages(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(TRUNCATED), "{err}");
    assert_eq!(dlopened(&o), Vec::<String>::new());
}

// ---- trust ----

fn private_copy(dir: &Path) -> PathBuf {
    let f = dir.join("libout_testbehave.so");
    std::fs::copy(plugin_path("testbehave"), &f).unwrap();
    chmod(&f, 0o755);
    f
}

#[test]
fn a_world_writable_plugin_file_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let f = private_copy(dir.path());
    chmod(&f, 0o666);
    let file = f.to_str().unwrap();
    let o = loadrun(&["plugins", "list", "--plugin", file], &[]);
    assert_exited(&o, "world-writable --plugin");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("refused")
            && err.contains("writable by other users")
            && err.contains(&format!("chmod o-w {file}"))
            && err.contains("--allow-insecure-plugins"),
        "{err}"
    );

    // On the search path, asked for by an output name, the same.
    let o = loadrun(
        &args(&quick_run("tb-null")),
        &[("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!("chmod o-w {file}")),
        "{}",
        stderr(&o)
    );

    // The opt-out loads it, saying what it does.
    for (flag, env) in [
        (Some("--allow-insecure-plugins"), None),
        (None, Some(("LOADRUN_ALLOW_INSECURE_PLUGINS", "1"))),
    ] {
        let mut a = vec!["plugins", "list", "--plugin", file];
        a.extend(flag);
        let o = loadrun(&a, &env.into_iter().collect::<Vec<_>>());
        assert!(o.status.success(), "{flag:?} {env:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("out_testbehave"), "{}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains("WARN") && err.contains("loading although") && err.contains(file),
            "{err}"
        );
    }
}

#[test]
fn a_plugin_in_a_world_writable_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let f = private_copy(&shared);
    // Sticky like /tmp or not: anyone can put a file next to the plugin.
    for mode in [0o777, 0o1777] {
        chmod(&shared, mode);
        let o = loadrun(
            &["plugins", "info", "tb-count"],
            &[("LOADRUN_PLUGIN_PATH", shared.to_str().unwrap())],
        );
        assert_exited(&o, "world-writable folder");
        assert!(!o.status.success(), "{mode:o}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains(f.to_str().unwrap())
                && err.contains(&format!(
                    "its folder {} is writable by other users",
                    shared.display()
                ))
                && err.contains(&format!("chmod o-w {}", shared.display())),
            "{mode:o}: {err}"
        );
        // `plugins list` shows it as refused rather than failing.
        let o = loadrun(
            &["plugins", "list"],
            &[("LOADRUN_PLUGIN_PATH", shared.to_str().unwrap())],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("skipped: plugin") && stdout(&o).contains("refused"),
            "{}",
            stdout(&o)
        );
    }
    let o = loadrun(
        &["plugins", "info", "tb-count", "--allow-insecure-plugins"],
        &[("LOADRUN_PLUGIN_PATH", shared.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("loading although its folder"),
        "{}",
        stderr(&o)
    );
    chmod(&shared, 0o700);
}

#[test]
fn relative_plugin_path_entries_are_ignored_with_a_warning() {
    let cwd = tempfile::tempdir().unwrap();
    private_copy(cwd.path());
    std::fs::create_dir(cwd.path().join("sub")).unwrap();
    private_copy(&cwd.path().join("sub"));
    let o = loadrun_in(
        Some(cwd.path()),
        &["plugins", "info", "tb-count"],
        &[("LOADRUN_PLUGIN_PATH", ".:sub")],
    );
    assert_exited(&o, "relative path");
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    for entry in [".", "sub"] {
        assert!(
            err.contains(&format!("LOADRUN_PLUGIN_PATH entry \"{entry}\" ignored"))
                && err.contains("use an absolute path"),
            "{entry}: {err}"
        );
    }
    assert!(
        err.contains("no plugin provides output \"tb-count\""),
        "{err}"
    );

    // An absolute entry beside them works.
    let abs = tempfile::tempdir().unwrap();
    private_copy(abs.path());
    let path = format!(".:sub:{}", abs.path().display());
    let o = loadrun_in(
        Some(cwd.path()),
        &["plugins", "info", "tb-count"],
        &[("LOADRUN_PLUGIN_PATH", &path)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(abs.path().to_str().unwrap()),
        "{}",
        stdout(&o)
    );
    let o = loadrun_in(
        Some(cwd.path()),
        &["plugins", "path"],
        &[("LOADRUN_PLUGIN_PATH", &path)],
    );
    let first = stdout(&o).lines().next().unwrap_or_default().to_string();
    assert!(
        first.starts_with(abs.path().to_str().unwrap()),
        "{}",
        stdout(&o)
    );
}

/// Builds from before the declaration (the 1.0.0 and 1.1.0 template in `tests/compat/`) are
/// found by their file name, or else by loading them, which is done only once no declaration
/// provides the name; a declared plugin beside them is not loaded for it.
#[test]
fn an_undeclared_old_build_is_found_by_file_name_or_by_loading_it() {
    let old =
        loadrun_test_support::workspace_root().join("tests/compat/libout_counts-api-1.1.0.so");
    for file_name in ["libout_counts.so", "libout_other_name.so"] {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(file_name);
        std::fs::copy(&old, &copy).unwrap();
        chmod(&copy, 0o755);
        std::fs::copy(
            plugin_path("testbehave"),
            dir.path().join("libout_testbehave.so"),
        )
        .unwrap();
        let env = [
            ("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap()),
            ("LD_DEBUG", "files"),
        ];
        let o = loadrun(&["plugins", "info", "counts"], &env);
        assert!(o.status.success(), "{file_name}: {}", messages(&o));
        assert!(stdout(&o).contains("output counts"), "{}", stdout(&o));
        assert_eq!(
            dlopened(&o),
            vec![copy.to_str().unwrap().to_string()],
            "{file_name}"
        );

        let o = loadrun(&["plugins", "list"], &env);
        assert!(o.status.success(), "{}", messages(&o));
        let out = stdout(&o);
        let line = out
            .lines()
            .find(|l| l.contains(file_name))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            line.contains("out_counts") && line.contains("1.1.0") && line.contains("loaded"),
            "{line}"
        );
    }
}

/// A plugin declaring another major API version is listed as unusable from its declaration,
/// without being loaded.
#[test]
fn plugins_list_refuses_a_declared_other_major_api_without_loading_it() {
    let so = loadrun_test_support::compat::template_built_against("2.0.0");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("libout_counts.so");
    std::fs::copy(&so, &copy).unwrap();
    chmod(&copy, 0o755);
    let env = [
        ("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap()),
        ("LD_DEBUG", "files"),
    ];
    let o = loadrun(&["plugins", "list"], &env);
    assert!(o.status.success(), "{}", messages(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("libout_counts.so"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("skipped") && line.contains("built against loadrun-plugin-api 2.0.0"),
        "{line}"
    );
    assert_eq!(dlopened(&o), Vec::<String>::new());
}

/// Every plugin of this workspace declares its outputs, and the declaration matches what the
/// plugin says once loaded (the host warns when they differ).
#[test]
fn every_workspace_plugin_declares_what_it_provides() {
    let dir = loadrun_test_support::artifacts::profile_dir();
    let env = [("LOADRUN_PLUGIN_PATH", dir.to_str().unwrap())];
    let o = loadrun(&["plugins", "list"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("skipped"), "{out}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.contains("/libout_"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(rows.len() >= 2, "{out}");
    for row in rows {
        let [_, plugin, _, _, outputs, found, file] = row[..] else {
            panic!("{row:?}")
        };
        assert_eq!(found, "declared", "{plugin} ({file}) declares no outputs");
        for output in outputs.split(',') {
            let o = loadrun(&["plugins", "info", output], &env);
            assert!(o.status.success(), "{output}: {}", stderr(&o));
            assert!(stdout(&o).contains(file), "{output}: {}", stdout(&o));
            assert!(!stderr(&o).contains("out of date"), "{}", stderr(&o));
        }
    }
}

/// A declaration that does not match the plugin: the file is loaded only for a name it really
/// provides, and the host says the declaration is out of date.
#[test]
fn a_declaration_out_of_step_with_the_plugin_is_caught() {
    let mut bytes = std::fs::read(plugin_path("testbehave")).unwrap();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let start = find(&bytes, b"{\"format\":1,\"plugin\":\"out_testbehave\"", 0).unwrap();
    let at = find(&bytes, b"\"tb-null\"", start).unwrap();
    bytes[at..at + 9].copy_from_slice(b"\"tb-nulx\"");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("libout_testbehave.so");
    std::fs::write(&f, &bytes).unwrap();
    chmod(&f, 0o755);
    let env = [("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())];

    let o = loadrun(&["plugins", "info", "tb-count"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("declares outputs") && err.contains("tb-nulx") && err.contains("out of date"),
        "{err}"
    );

    let o = loadrun(&["plugins", "info", "tb-nulx"], &env);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("does not provide output \"tb-nulx\""),
        "{}",
        stderr(&o)
    );
}

/// `plugins info PLUGIN-NAME` finds a plugin on the search path by the name it declares.
#[test]
fn plugins_info_finds_a_plugin_by_its_declared_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = private_copy(dir.path());
    let env = [("LOADRUN_PLUGIN_PATH", dir.path().to_str().unwrap())];
    let o = loadrun(&["plugins", "info", "out_testbehave"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("plugin:  out_testbehave") && out.contains(f.to_str().unwrap()),
        "{out}"
    );
}
