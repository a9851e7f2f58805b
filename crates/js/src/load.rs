//! Reading a script once before the run: its init code runs in a probe runtime, which gives
//! the options, the custom metrics it declares and the functions it exports.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use loadrun_engine::plan::{MetricDecl, MetricName, Plan};

use crate::core::Core;
use crate::options::{self, ScriptOptions};
use crate::spec::{RequestDefaults, Spec};

/// Extensions loadrun runs as a k6 script.
const JS_EXTENSIONS: [&str; 3] = ["js", "mjs", "cjs"];
/// TypeScript, which k6 runs and loadrun does not yet.
const TS_EXTENSIONS: [&str; 3] = ["ts", "mts", "cts"];
/// Larger scripts are refused (a bundle of this size is already unusual).
const MAX_SCRIPT_BYTES: u64 = 16 << 20;

/// Whether `path` names a k6 script (JavaScript or TypeScript) rather than a plan.
pub fn is_script(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        JS_EXTENSIONS
            .iter()
            .chain(TS_EXTENSIONS.iter())
            .any(|s| e.eq_ignore_ascii_case(s))
    })
}

/// A script read and probed.
pub struct Loaded {
    /// The options as the engine's plan (the CLI's overrides are applied to it afterwards).
    pub plan: Plan,
    path: String,
    source: String,
    bytecode: std::collections::HashMap<String, Box<[u8]>>,
    functions: Vec<String>,
    defaults: RequestDefaults,
    setup_timeout: std::time::Duration,
    teardown_timeout: std::time::Duration,
    handle_summary_timeout: std::time::Duration,
    shared: Arc<crate::natives::Shared>,
}

/// Reads `path` and runs its init code once; `env` is its `__ENV`. The error is one line.
pub fn load(path: &Path, env: &BTreeMap<String, String>) -> Result<Loaded, String> {
    let shown = path.display().to_string();
    if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| TS_EXTENSIONS.iter().any(|s| e.eq_ignore_ascii_case(s)))
    {
        return Err(format!(
            "{shown}: TypeScript scripts are not supported by loadrun yet; run the JavaScript k6 would build from it"
        ));
    }
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read the script {shown}: {e}"))?;
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(format!(
            "{shown}: the script is {} bytes, more than loadrun reads (limit {MAX_SCRIPT_BYTES})",
            meta.len()
        ));
    }
    let source = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the script {shown}: {e}"))?;
    let shared = Arc::new(crate::natives::Shared::default());
    let probe = Arc::new(Spec {
        path: shown.clone(),
        source: source.clone(),
        bytecode: Default::default(),
        env: env.clone(),
        scenarios: Default::default(),
        defaults: RequestDefaults::default(),
        metrics: Vec::new(),
        setup_timeout: Default::default(),
        teardown_timeout: Default::default(),
        has_setup: false,
        has_teardown: false,
        setup_data: Default::default(),
        setup_failed: Default::default(),
        logged: Default::default(),
        shared: shared.clone(),
    });
    let core = Rc::new(Core::new(probe, String::new(), Default::default()));
    let compiled: crate::vm::Compiled = Default::default();
    let vm = crate::vm::Vm::new(&core, env, Some(compiled.clone()))?;
    let (options_json, functions) = vm.exports(&shown)?;
    shared.execution.set_options(options_json.as_deref());
    let ScriptOptions {
        mut plan,
        defaults,
        setup_timeout,
        teardown_timeout,
        handle_summary_timeout,
    } = options::convert(options_json.as_deref(), &shown).map_err(|e| e.to_string())?;
    for m in core.declared.borrow().iter() {
        let decl = serde_json::json!({ "type": m.kind, "time": m.time });
        let name: MetricName = serde_json::from_value(serde_json::Value::String(m.name.clone()))
            .map_err(|e| format!("{shown}: {e}"))?;
        let decl: MetricDecl = serde_json::from_value(decl).map_err(|e| format!("{shown}: {e}"))?;
        plan.metrics.insert(name, decl);
    }
    let bytecode = compiled
        .borrow_mut()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_boxed_slice()))
        .collect();
    Ok(Loaded {
        plan,
        bytecode,
        path: shown,
        source,
        functions,
        defaults,
        setup_timeout,
        teardown_timeout,
        handle_summary_timeout,
        shared,
    })
}

impl Loaded {
    /// Whether the script exports `handleSummary` (run by [`crate::JsScript::handle_summary`]).
    pub fn has_handle_summary(&self) -> bool {
        self.functions.iter().any(|f| f == "handleSummary")
    }

    /// `handleSummaryTimeout` (k6's default 2 minutes).
    pub fn handle_summary_timeout(&self) -> std::time::Duration {
        self.handle_summary_timeout
    }

    /// The script for the engine, for `plan` (the options with the CLI's overrides) and the
    /// VUs' `__ENV`. An error when a scenario's `exec` names no exported function.
    pub fn script(
        &self,
        plan: &Plan,
        env: BTreeMap<String, String>,
    ) -> Result<Arc<crate::driver::JsScript>, String> {
        let scenarios = options::scenario_functions(plan);
        for (name, (f, _)) in &scenarios {
            if !self.functions.iter().any(|x| x == f) {
                return Err(if f == "default" {
                    format!(
                        "{}: scenario {name} runs the default function, but the script has no `export default function`",
                        self.path
                    )
                } else {
                    format!(
                        "{}: options.scenarios.{name}.exec: the script exports no function {f:?}",
                        self.path
                    )
                });
            }
        }
        let spec = Spec {
            path: self.path.clone(),
            source: self.source.clone(),
            bytecode: self.bytecode.clone(),
            env,
            scenarios: scenarios.into_iter().collect(),
            defaults: self.defaults.clone(),
            metrics: plan
                .metrics
                .keys()
                .map(|k| k.as_str().to_string())
                .collect(),
            setup_timeout: self.setup_timeout,
            teardown_timeout: self.teardown_timeout,
            has_setup: self.functions.iter().any(|f| f == "setup"),
            has_teardown: self.functions.iter().any(|f| f == "teardown"),
            setup_data: Default::default(),
            setup_failed: Default::default(),
            logged: Default::default(),
            shared: self.shared.clone(),
        };
        Ok(crate::driver::JsScript::start(Arc::new(spec)))
    }
}
