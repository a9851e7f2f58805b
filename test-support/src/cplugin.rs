//! Building C-face plugins in tests, with the system's C compiler and the workspace's
//! `loadrun_plugin.h`.
//!
//! Without a compiler a test skips with a loud message, unless `LOADRUN_REQUIRE_SERVICES` is
//! set (as CI does), where it fails: `.ci/install-deps` installs one.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::artifacts::workspace_root;
use crate::services::services_required;

/// The folder holding `loadrun_plugin.h`.
pub fn header_dir() -> PathBuf {
    workspace_root().join("plugin-api").join("include")
}

/// The C compiler (`$CC`, else `cc`), or `None` after a loud SKIP line when there is none and
/// none is required.
pub fn c_compiler(test: &str) -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    match Command::new(&cc).arg("--version").output() {
        Ok(o) if o.status.success() => Some(cc),
        _ if services_required() => panic!("{test}: no C compiler ({cc}); run .ci/install-deps"),
        _ => {
            eprintln!(
                "\n=== SKIP {test}: no C compiler ({cc}). Run .ci/install-deps, or set \
                 LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n"
            );
            None
        }
    }
}

/// Compiles the C `source` into `dir/libout_NAME.so` against the workspace's header.
/// `None` when there is no compiler (see [`c_compiler`]); panics if compiling fails.
pub fn build(test: &str, dir: &Path, name: &str, source: &str) -> Option<PathBuf> {
    let cc = c_compiler(test)?;
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write the C source");
    let out = dir.join(format!("libout_{name}.so"));
    let o = Command::new(&cc)
        .args(["-std=c11", "-O2", "-Wall", "-Werror", "-shared", "-fPIC"])
        .arg("-I")
        .arg(header_dir())
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .expect("run the C compiler");
    assert!(
        o.status.success(),
        "compiling {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    Some(out)
}

/// Where the C template finds `loadrun_plugin.h`.
pub enum Header<'a> {
    /// This folder (`make LOADRUN_INCLUDE=...`).
    Dir(&'a Path),
    /// `pkg-config loadrun-plugin`, with `PKG_CONFIG_PATH` set to this folder if given, else
    /// where pkg-config looks by default (an installed package).
    PkgConfig(Option<&'a Path>),
}

/// Copies `examples/plugin-template-c` into `dir` (outside the workspace) and builds it
/// there with `make`, finding the header as `header` says. Returns the built
/// `libout_lines.so`; `None` when there is no compiler.
pub fn build_template(test: &str, dir: &Path, header: Header<'_>) -> Option<PathBuf> {
    c_compiler(test)?;
    let template = workspace_root().join("examples").join("plugin-template-c");
    for entry in std::fs::read_dir(&template).expect("read the C template") {
        let entry = entry.expect("read the C template");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy the template");
        }
    }
    let mut make = Command::new("make");
    make.current_dir(dir).arg("-s");
    match header {
        Header::Dir(include) => {
            make.arg(format!("LOADRUN_INCLUDE={}", include.display()));
        }
        Header::PkgConfig(Some(path)) => {
            make.env("PKG_CONFIG_PATH", path);
        }
        Header::PkgConfig(None) => {}
    }
    let o = make
        .output()
        .expect("run make (install it with .ci/install-deps)");
    assert!(
        o.status.success(),
        "make in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Some(dir.join("libout_lines.so"))
}

/// `tests/cplugins/null.c` (output `c-null`, which does nothing with each batch) built into
/// `dir`, for benchmarks; `None` when there is no compiler.
pub fn null_plugin(dir: &Path) -> Option<PathBuf> {
    let source = std::fs::read_to_string(workspace_root().join("tests/cplugins/null.c"))
        .expect("read tests/cplugins/null.c");
    build("c null plugin", dir, "cnull", &source)
}

/// The Go toolchain (`go`), or `None` after a loud SKIP line when there is none and none is
/// required (`.ci/install-deps` installs one).
pub fn go_tool(test: &str) -> Option<String> {
    let go = "go".to_string();
    match Command::new(&go).arg("version").output() {
        Ok(o) if o.status.success() => Some(go),
        _ if services_required() => panic!("{test}: no Go toolchain; run .ci/install-deps"),
        _ => {
            eprintln!(
                "\n=== SKIP {test}: no Go toolchain (go). Run .ci/install-deps, or set \
                 LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n"
            );
            None
        }
    }
}

/// Copies `examples/plugin-template-go` into `dir` (outside the workspace), points its
/// `replace` at the workspace's Go SDK and builds it with `go build -buildmode=c-shared`,
/// naming its outputs `name` and `name-null`. Returns `dir/libout_NAME.so`; `None` when there
/// is no Go toolchain. No module proxy is used: the SDK is the standard library only.
pub fn build_go_template(test: &str, dir: &Path, name: &str) -> Option<PathBuf> {
    let template = workspace_root().join("examples").join("plugin-template-go");
    build_go(
        test,
        &template,
        dir,
        name,
        &format!("-X main.outputName={name}"),
    )
}

/// [`build_go_template`] for any Go plugin module in `src` (e.g. under `tests/goplugins/`).
pub fn build_go(test: &str, src: &Path, dir: &Path, name: &str, ldflags: &str) -> Option<PathBuf> {
    let go = go_tool(test)?;
    for entry in std::fs::read_dir(src).expect("read the Go plugin's folder") {
        let entry = entry.expect("read the Go plugin's folder");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy the plugin");
        }
    }
    let sdk = workspace_root().join("plugin-api").join("go");
    let out = dir.join(format!("libout_{}.so", name.replace('-', "_")));
    let run = |args: &[&str]| {
        let o = Command::new(&go)
            .args(args)
            .current_dir(dir)
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("run go");
        assert!(
            o.status.success(),
            "go {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "mod",
        "edit",
        &format!(
            "-replace=github.com/loadrun/loadrun/plugin-api/go={}",
            sdk.display()
        ),
    ]);
    run(&[
        "build",
        "-buildmode=c-shared",
        "-ldflags",
        ldflags,
        "-o",
        out.to_str().expect("a UTF-8 path"),
        ".",
    ]);
    Some(out)
}
