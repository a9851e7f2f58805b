//! One VU's QuickJS runtime: the script loaded as an ES module over k6's modules, and the
//! calls of its exported functions. Also used once by [`crate::load`] to read the options.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Context, Ctx, Error, Function, Module, Object, Persistent, Runtime, Value};

use crate::core::Core;

/// Most of a VU's native stack QuickJS may use: deep recursion in a script is a JS
/// `InternalError`, not a crash. The coroutine's stack is this plus room for the natives.
pub(crate) const JS_STACK: usize = 192 * 1024;

/// The module that could not be resolved, for the refusal's line.
type Unresolved = Rc<RefCell<Option<(String, String)>>>;

struct Resolve {
    unresolved: Unresolved,
}

impl Resolver for Resolve {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        if crate::modules::source(name).is_some() {
            return Ok(name.to_string());
        }
        if name.starts_with("./") || name.starts_with("../") || name.starts_with('/') {
            let dir = Path::new(base).parent().unwrap_or(Path::new(""));
            return Ok(normalize(&dir.join(name)).to_string_lossy().into_owned());
        }
        *self.unresolved.borrow_mut() = Some((base.to_string(), name.to_string()));
        Err(Error::new_resolving_message(
            base,
            name,
            crate::modules::refusal(name),
        ))
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system (the file may be a link): how a
/// module name is resolved, so whoever ships a script's files names them the same way.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Bytecode of every module the probe loaded, by module name: the VUs load it instead of
/// parsing their sources again (less time, and no parser garbage left in each runtime).
pub(crate) type Compiled = Rc<RefCell<BTreeMap<String, Vec<u8>>>>;

struct Load {
    spec: std::sync::Arc<crate::spec::Spec>,
    /// Set when probing: each module's bytecode is kept here.
    record: Option<Compiled>,
}

impl Load {
    fn declare<'js>(
        &self,
        ctx: &Ctx<'js>,
        name: &str,
        source: &str,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        if let Some(bytes) = self.spec.bytecode.get(name) {
            // SAFETY: the bytes were written by this process's QuickJS (the probe), and the
            // spec that holds them outlives every runtime that reads them.
            return unsafe { Module::load(ctx.clone(), bytes) };
        }
        let module = Module::declare(ctx.clone(), name, source)?;
        if let Some(record) = &self.record {
            record
                .borrow_mut()
                .insert(name.to_string(), module.write(Default::default())?);
        }
        Ok(module)
    }
}

impl Loader for Load {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        if let Some(src) = crate::modules::source(name) {
            return self.declare(ctx, name, src);
        }
        if self.spec.bytecode.contains_key(name) {
            return self.declare(ctx, name, "");
        }
        let mut text = std::fs::read_to_string(name)
            .map_err(|e| Error::new_loading_message(name, format!("cannot read {name}: {e}")))?;
        if crate::typescript::is_typescript(name) {
            text = crate::typescript::strip(name, text)
                .map_err(|e| Error::new_loading_message(name, e))?;
        }
        self.declare(ctx, name, &text)
    }
}

/// A VU's runtime. Fields drop in order: the saved values before their runtime.
pub(crate) struct Vm {
    exec: Option<Persistent<Function<'static>>>,
    data: Option<Persistent<Value<'static>>>,
    namespace: Persistent<Object<'static>>,
    ctx: Context,
    _rt: Runtime,
}

impl Vm {
    /// Creates the runtime and runs the script's init code. The error is one line. `record`
    /// (the probe) receives the bytecode of every module.
    pub fn new(
        core: &Rc<Core>,
        env: &BTreeMap<String, String>,
        record: Option<Compiled>,
    ) -> Result<Self, String> {
        let spec = &core.spec;
        let rt = Runtime::new().map_err(|e| format!("cannot create a JavaScript runtime: {e}"))?;
        rt.set_max_stack_size(JS_STACK);
        let c = core.clone();
        rt.set_interrupt_handler(Some(Box::new(move || c.yield_now())));
        let unresolved: Unresolved = Rc::default();
        let recording = record.clone();
        rt.set_loader(
            Resolve {
                unresolved: unresolved.clone(),
            },
            Load {
                spec: spec.clone(),
                record,
            },
        );
        let main = Load {
            spec: spec.clone(),
            record: None,
        };
        let ctx =
            Context::full(&rt).map_err(|e| format!("cannot create a JavaScript context: {e}"))?;
        let namespace = ctx.with(|ctx| -> Result<_, String> {
            let js = |e: Error| describe_error(&ctx, e, &unresolved, &spec.path);
            crate::natives::install(&ctx, core, env).map_err(js)?;
            let module = match &recording {
                Some(r) => {
                    let m = Module::declare(ctx.clone(), spec.path.as_str(), spec.source.as_str())
                        .map_err(js)?;
                    let bytes = m.write(Default::default()).map_err(js)?;
                    r.borrow_mut().insert(spec.path.clone(), bytes);
                    m
                }
                None => main.declare(&ctx, &spec.path, &spec.source).map_err(js)?,
            };
            let (module, promise) = module.eval().map_err(js)?;
            promise.finish::<()>().map_err(js)?;
            let ns = module.namespace().map_err(js)?;
            Ok(Persistent::save(&ctx, ns))
        })?;
        Ok(Self {
            exec: None,
            data: None,
            namespace,
            ctx,
            _rt: rt,
        })
    }

    /// `export const options` as JSON, and the names of the exported functions.
    pub fn exports(&self, path: &str) -> Result<(Option<String>, Vec<String>), String> {
        self.ctx.with(|ctx| {
            let none: Unresolved = Rc::default();
            let js = |e: Error| describe_error(&ctx, e, &none, path);
            let ns = self.namespace.clone().restore(&ctx).map_err(js)?;
            let mut functions = Vec::new();
            let mut options = None;
            for key in ns.keys::<String>() {
                let key = key.map_err(js)?;
                let v: Value = ns.get(key.as_str()).map_err(js)?;
                if key == "options" {
                    options = ctx
                        .json_stringify(v)
                        .map_err(js)?
                        .and_then(|s| s.to_string().ok());
                } else if v.is_function() {
                    functions.push(key);
                }
            }
            Ok((options, functions))
        })
    }

    /// Runs `f` in this runtime with the script's exports; an error is one line.
    pub fn with_exports<R>(
        &self,
        path: &str,
        f: impl for<'js> FnOnce(&Ctx<'js>, Object<'js>) -> rquickjs::Result<R>,
    ) -> Result<R, String> {
        self.ctx.with(|ctx| {
            let none: Unresolved = Rc::default();
            let ns = self
                .namespace
                .clone()
                .restore(&ctx)
                .map_err(|e| describe_error(&ctx, e, &none, path))?;
            f(&ctx, ns).map_err(|e| describe_error(&ctx, e, &none, path))
        })
    }

    /// Sets `__VU` and `__ITER` for the next call.
    pub fn set_iteration(&self, info: loadrun_engine::script::IterInfo) {
        self.ctx.with(|ctx| {
            let g = ctx.globals();
            let _ = g.set("__VU", info.vu as f64);
            let _ = g.set("__ITER", info.iter as f64);
        });
    }

    /// Calls the exported function `name` with the setup data (if any); an exception is
    /// returned as one line. `keep` asks for the function's return value as JSON.
    pub fn call(&mut self, core: &Core, name: &str, keep: bool) -> Result<Option<String>, String> {
        let path = &core.spec.path;
        let exec = &mut self.exec;
        let data = &mut self.data;
        let ns = &self.namespace;
        self.ctx.with(|ctx| {
            let none: Unresolved = Rc::default();
            let js = |e: Error| describe_error(&ctx, e, &none, path);
            let f = match exec.clone() {
                Some(f) => f.restore(&ctx).map_err(js)?,
                None => {
                    let ns = ns.clone().restore(&ctx).map_err(js)?;
                    let v: Value = ns.get(name).map_err(js)?;
                    let Some(f) = v.into_function() else {
                        return Err(format!("{path}: the script exports no function {name}()"));
                    };
                    *exec = Some(Persistent::save(&ctx, f.clone()));
                    f
                }
            };
            // Parsed once per VU: setup() has ended before any VU's first iteration.
            let arg: Value = match data.clone() {
                Some(d) => d.restore(&ctx).map_err(js)?,
                None => match core.spec.setup_data.lock().as_deref() {
                    Some(text) => {
                        let v = ctx.json_parse(text).map_err(js)?;
                        *data = Some(Persistent::save(&ctx, v.clone()));
                        v
                    }
                    None => Value::new_undefined(ctx.clone()),
                },
            };
            let out: Result<Value, Error> = f.call((arg,));
            let out = match out {
                Ok(v) => {
                    // An async function: its promise settles once the jobs have run.
                    while ctx.execute_pending_job() {}
                    match v.as_promise() {
                        Some(p) => p.finish::<Value>(),
                        None => Ok(v),
                    }
                }
                Err(e) => Err(e),
            };
            let v = out.map_err(js)?;
            if !keep || v.is_undefined() {
                return Ok(None);
            }
            let text = ctx.json_stringify(v).map_err(js)?;
            Ok(text.and_then(|s| s.to_string().ok()))
        })
    }
}

/// One line for a failed call: the exception's name, message and script location, or the
/// refusal of an unsupported import with the line that imports it.
pub(crate) fn describe_error(
    ctx: &Ctx<'_>,
    e: Error,
    unresolved: &Unresolved,
    main: &str,
) -> String {
    if let Some((base, name)) = unresolved.borrow_mut().take() {
        let line = import_line(&base, main, &name);
        return match line {
            Some(n) => format!("{base}:{n}: {}", crate::modules::refusal(&name)),
            None => format!("{base}: {}", crate::modules::refusal(&name)),
        };
    }
    if !e.is_exception() {
        return format!("{main}: {e}");
    }
    let v = ctx.catch();
    describe_exception(&v)
}

/// `Error: message at file:line:col`, as k6 logs an uncaught exception.
pub(crate) fn describe_exception(v: &Value<'_>) -> String {
    if let Some(ex) = v.as_exception() {
        let message = ex.message().unwrap_or_default();
        let name: String = ex.get("name").unwrap_or_else(|_| "Error".into());
        let head = if message.is_empty() {
            name
        } else {
            format!("{name}: {message}")
        };
        return match ex.stack().as_deref().and_then(first_location) {
            Some(at) => format!("{head} at {at}"),
            None => head,
        };
    }
    // A thrown value that is not an Error (`throw "x"`).
    let text = v
        .as_string()
        .and_then(|s| s.to_string().ok())
        .or_else(|| {
            v.ctx()
                .json_stringify(v.clone())
                .ok()
                .flatten()
                .and_then(|s| s.to_string().ok())
        })
        .unwrap_or_else(|| "an exception".into());
    format!("Uncaught {text}")
}

/// The first `file:line:col` of a QuickJS stack (the innermost script frame).
fn first_location(stack: &str) -> Option<String> {
    stack.lines().find_map(|l| {
        let l = l.trim().strip_prefix("at ")?;
        let loc = match (l.find('('), l.rfind(')')) {
            (Some(a), Some(b)) if b > a => &l[a + 1..b],
            _ => l,
        };
        // Frames of loadrun's own modules say nothing about the script.
        if loc.starts_with("k6") || loc.starts_with("<") || loc == "native" {
            return None;
        }
        let at = match l.find(" (") {
            Some(i) => format!("{loc} ({})", &l[..i]),
            None => loc.to_string(),
        };
        // A TypeScript file that had to be compiled: its own line, not the output's.
        Some(crate::typescript::original_location(&at))
    })
}

/// The line of `file` that imports `name` (1-based).
fn import_line(file: &str, main: &str, name: &str) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok().or_else(|| {
        if file == main {
            std::fs::read_to_string(main).ok()
        } else {
            None
        }
    })?;
    let quoted = [
        format!("\"{name}\""),
        format!("'{name}'"),
        format!("`{name}`"),
    ];
    text.lines()
        .position(|l| quoted.iter().any(|q| l.contains(q.as_str())))
        .map(|i| i + 1)
}
