//! The engine's side of a script: [`JsScript`] hands out VUs; [`JsVu`] runs an engine VU's
//! turns on its coroutine, inline in the engine VU's task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use loadrun_engine::script::{
    Call, IterInfo, Lifecycle, Reply, Script, ScriptVu, Turn, TurnFuture,
};

use crate::coroutine::{Role, VuCoroutine};
use crate::spec::Spec;

/// A k6 script ready to run on the engine.
pub struct JsScript {
    spec: Arc<Spec>,
}

impl JsScript {
    pub(crate) fn start(spec: Arc<Spec>) -> Arc<Self> {
        Arc::new(Self { spec })
    }

    /// `setup()` threw or did not start: the test did not run (k6 exits with an error).
    pub fn setup_failed(&self) -> bool {
        self.spec.setup_failed.load(Ordering::Relaxed)
    }

    /// Hands `k6/execution` the running test: the engine's control and scenarios.
    pub fn attach(
        &self,
        control: loadrun_engine::Control,
        scenarios: Vec<Arc<loadrun_engine::compile::ScenarioRt>>,
    ) {
        self.spec
            .shared
            .execution
            .attach(crate::natives::Run { control, scenarios });
    }

    /// The script called `exec.test.abort()` (k6 exits with 108).
    pub fn aborted(&self) -> bool {
        self.spec.shared.execution.aborted()
    }

    fn new_vu(&self, role: Role) -> Box<dyn ScriptVu> {
        let cut = Arc::new(AtomicBool::new(false));
        let co = match VuCoroutine::new(self.spec.clone(), role, cut.clone()) {
            Ok(co) => Some(co),
            Err(e) => {
                self.spec.log_once(&format!("cannot start a VU: {e}"));
                None
            }
        };
        Box::new(JsVu {
            co,
            cut,
            pending: None,
        })
    }
}

impl Script for JsScript {
    fn vu(&self, id: u64, scenario: &str) -> Box<dyn ScriptVu> {
        self.spec.shared.execution.vu_made(id, scenario);
        let (function, env) = match self.spec.scenarios.get(scenario) {
            Some((f, scenario_env)) if !scenario_env.is_empty() => {
                let mut env = self.spec.env.clone();
                env.extend(scenario_env.clone());
                (f.clone(), Arc::new(env))
            }
            Some((f, _)) => (f.clone(), Arc::new(self.spec.env.clone())),
            None => ("default".to_string(), Arc::new(self.spec.env.clone())),
        };
        self.new_vu(Role::Scenario { function, env })
    }

    fn lifecycle(&self, which: Lifecycle) -> Option<(Box<dyn ScriptVu>, std::time::Duration)> {
        let (present, timeout) = match which {
            Lifecycle::Setup => (self.spec.has_setup, self.spec.setup_timeout),
            Lifecycle::Teardown => (self.spec.has_teardown, self.spec.teardown_timeout),
        };
        present.then(|| (self.new_vu(Role::Lifecycle(which)), timeout))
    }

    fn setup_failed(&self) -> bool {
        JsScript::setup_failed(self)
    }
}

/// One engine VU's coroutine.
struct JsVu {
    /// `None` when its stack could not be made: every iteration ends at once.
    co: Option<VuCoroutine>,
    /// Tells the VU's runtime to stop the script (see [`crate::core::Core::cut`]).
    cut: Arc<AtomicBool>,
    /// The iteration [`ScriptVu::begin`] started, run by the next [`ScriptVu::next`].
    pending: Option<IterInfo>,
}

fn done() -> Turn {
    Turn {
        events: Vec::new(),
        call: Call::Done,
    }
}

impl ScriptVu for JsVu {
    fn begin(&mut self, info: IterInfo) {
        self.pending = Some(info);
    }

    fn next(&mut self, reply: Option<Reply>) -> TurnFuture<'_> {
        // The script runs here, in the engine VU's task, until its next call: the turn is
        // ready when the future is made.
        let turn = match (&mut self.co, self.pending.take(), reply) {
            (None, _, _) => done(),
            (Some(co), Some(info), _) => co.begin(info),
            (Some(co), None, Some(reply)) => co.reply(reply),
            (Some(_), None, None) => done(),
        };
        Box::pin(std::future::ready(turn))
    }

    fn interrupt(&mut self) {
        self.cut.store(true, Ordering::Relaxed);
        self.pending = None;
        if let Some(co) = &mut self.co {
            co.interrupt();
        }
    }
}
