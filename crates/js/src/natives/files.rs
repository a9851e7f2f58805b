//! `open(path, "b"?)`: a file next to the script, read at init only (as k6 allows).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use rquickjs::function::Opt;
use rquickjs::{ArrayBuffer, Coerced, Ctx, Exception, Function, IntoJs, Result, Value};

use crate::core::{Core, Phase};

/// k6's refusal of `open()` in VU code, word for word.
const NOT_IN_INIT: &str = "the \"open\" function is only available in the init stage (i.e. the global scope), see https://grafana.com/docs/k6/latest/using-k6/test-lifecycle/ for more information";

/// Installs the global `open`: a native called by the script itself, so that an error it
/// throws points at the script's line.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, core: &Rc<Core>) -> Result<()> {
    let c = core.clone();
    let f = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: Coerced<String>, mode: Opt<String>| {
            // The calling module is on the stack: k6 resolves the path from its directory.
            let stack: Option<String> = ctx.eval("new Error().stack").ok();
            open(&ctx, &c, &path.0, mode.0.as_deref(), stack.as_deref())
        },
    )?
    .with_name("open")?;
    ctx.globals().set("open", f)
}

fn open<'js>(
    ctx: &Ctx<'js>,
    core: &Core,
    path: &str,
    mode: Option<&str>,
    stack: Option<&str>,
) -> Result<Value<'js>> {
    if core.phase.get() != Phase::Init {
        return Err(Exception::throw_message(ctx, NOT_IN_INIT));
    }
    if path.is_empty() {
        return Err(Exception::throw_message(ctx, "open(): the path is empty"));
    }
    let caller = stack.and_then(calling_module);
    let base = caller.as_deref().unwrap_or(core.spec.path.as_str());
    let full = resolve(base, path);
    let bytes = core.spec.shared.file(full.clone()).map_err(|e| {
        Exception::throw_message(ctx, &format!("open(): cannot read {}: {e}", full.display()))
    })?;
    if mode == Some("b") {
        Ok(ArrayBuffer::new_copy(ctx.clone(), &*bytes)?.into_value())
    } else {
        String::from_utf8_lossy(&bytes).into_js(ctx)
    }
}

/// `path` relative to the directory of the module `base` (k6 resolves `open()` from the file
/// that calls it); `file://` URLs and absolute paths stand as they are.
fn resolve(base: &str, path: &str) -> PathBuf {
    let path = path.strip_prefix("file://").unwrap_or(path);
    let p = Path::new(path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    Path::new(base).parent().unwrap_or(Path::new("")).join(p)
}

/// The file of the innermost script frame of a QuickJS stack (`at f (file:line:col)`).
fn calling_module(stack: &str) -> Option<String> {
    stack.lines().find_map(|l| {
        let l = l.trim().strip_prefix("at ")?;
        let loc = match (l.find('('), l.rfind(')')) {
            (Some(a), Some(b)) if b > a => &l[a + 1..b],
            _ => l,
        };
        // `eval_script` is the `new Error()` above; `<...>` and `k6...` are loadrun's own.
        if loc.starts_with('<')
            || loc.starts_with("k6")
            || loc == "native"
            || loc.starts_with("eval_script")
        {
            return None;
        }
        // `file:line:col`, or `file:line`.
        let mut file = loc;
        for _ in 0..2 {
            match file.rsplit_once(':') {
                Some((f, n)) if n.bytes().all(|b| b.is_ascii_digit()) => file = f,
                _ => break,
            }
        }
        Some(file.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_relative_to_the_calling_module() {
        let stack = "    at <eval> (eval_script:1:1)\n    at open (native)\n    at <anonymous> (lib/data.js:3:14)\n";
        assert_eq!(calling_module(stack).as_deref(), Some("lib/data.js"));
        assert_eq!(
            resolve("lib/data.js", "./users.csv"),
            Path::new("lib/./users.csv")
        );
        assert_eq!(resolve("script.js", "/etc/hosts"), Path::new("/etc/hosts"));
        assert_eq!(
            resolve("s.js", "file:///etc/hosts"),
            Path::new("/etc/hosts")
        );
    }
}
