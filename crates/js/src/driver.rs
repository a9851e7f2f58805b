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

    pub(crate) fn spec(&self) -> &Arc<Spec> {
        &self.spec
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::task::{Context, Poll, Waker};

    use loadrun_engine::script::ScriptResponse;

    use super::*;

    /// The turn is ready when `next` returns (the script ran inline): no executor needed.
    fn turn(vu: &mut dyn ScriptVu, reply: Option<Reply>) -> Turn {
        let mut f = vu.next(reply);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(t) => t,
            Poll::Pending => panic!("a script turn was not ready at once"),
        }
    }

    fn script(dir: &tempfile::TempDir, source: &str) -> Arc<JsScript> {
        let path = dir.path().join("s.js");
        std::fs::write(&path, source).unwrap();
        let env = BTreeMap::new();
        let loaded = crate::load(&path, &env).unwrap();
        loaded.script(&loaded.plan, env).unwrap()
    }

    fn response(status: u16) -> Option<Reply> {
        Some(Reply::Response(Box::new(ScriptResponse {
            status,
            ..Default::default()
        })))
    }

    fn requested(t: &Turn) -> String {
        match &t.call {
            Call::Request(r) => r.url.clone(),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn interleaved_vus_moved_between_threads_keep_their_own_state_and_exception_lines() {
        let dir = tempfile::tempdir().unwrap();
        let js = script(
            &dir,
            "import http from 'k6/http';\nlet mine = 0;\nexport default function () {\n  mine = __VU * 10;\n  const r = http.get('http://127.0.0.1:9/' + __VU);\n  if (r.status !== 200 + __VU) throw new Error('vu ' + __VU + ' got ' + r.status);\n  http.get('http://127.0.0.1:9/again/' + mine);\n  throw new Error('end of vu ' + __VU + ' with ' + mine);\n}\n",
        );
        let mut a = js.vu(1, "default");
        let mut b = js.vu(2, "default");
        let info = |vu| IterInfo {
            vu,
            iter: 0,
            iter_in_test: 0,
        };
        a.begin(info(1));
        assert!(requested(&turn(&mut *a, None)).ends_with("/1"));
        b.begin(info(2));
        assert!(requested(&turn(&mut *b, None)).ends_with("/2"));
        // Each VU's coroutine goes on on another thread than the one it was suspended on,
        // while the other VU is suspended in the middle of its own call.
        let (mut a, t) = std::thread::spawn(move || {
            let t = turn(&mut *a, response(201));
            (a, t)
        })
        .join()
        .unwrap();
        assert!(requested(&t).ends_with("/again/10"));
        let (mut b, t) = std::thread::spawn(move || {
            let t = turn(&mut *b, response(202));
            (b, t)
        })
        .join()
        .unwrap();
        assert!(requested(&t).ends_with("/again/20"));
        assert!(matches!(turn(&mut *a, response(200)).call, Call::Done));
        assert!(matches!(turn(&mut *b, response(200)).call, Call::Done));
        let logged = js.spec.logged.lock().clone();
        for vu in [1, 2] {
            let line = format!("Error: end of vu {vu} with {vu}0 at ");
            let found = logged.iter().find(|l| l.starts_with(&line));
            let found = found.unwrap_or_else(|| panic!("{line:?} not in {logged:?}"));
            assert!(found.contains("s.js:8:"), "{found}");
        }
    }

    #[test]
    fn a_script_busy_without_a_call_yields_and_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let js = script(
            &dir,
            "import http from 'k6/http';\nexport default function () {\n  if (__ITER === 0) { while (true) {} }\n  http.get('http://127.0.0.1:9/second');\n}\n",
        );
        let mut vu = js.vu(1, "default");
        vu.begin(IterInfo {
            vu: 1,
            iter: 0,
            iter_in_test: 0,
        });
        let t = turn(&mut *vu, None);
        assert!(matches!(t.call, Call::Yield), "{:?}", t.call);
        // The engine lets the thread go and resumes it: the loop goes on.
        let t = turn(&mut *vu, Some(Reply::Slept));
        assert!(matches!(t.call, Call::Yield), "{:?}", t.call);
        vu.interrupt();
        assert!(
            js.spec.logged.lock().is_empty(),
            "an interruption is not logged"
        );
        // The VU is ready for its next iteration.
        vu.begin(IterInfo {
            vu: 1,
            iter: 1,
            iter_in_test: 1,
        });
        assert!(requested(&turn(&mut *vu, None)).ends_with("/second"));
    }

    #[test]
    fn deep_recursion_on_a_moved_coroutine_is_a_script_error() {
        let dir = tempfile::tempdir().unwrap();
        let js = script(
            &dir,
            "import http from 'k6/http';\nfunction down(n) { return down(n + 1) + 1; }\nexport default function () {\n  http.get('http://127.0.0.1:9/first');\n  down(0);\n}\n",
        );
        let mut vu = js.vu(1, "default");
        let info = |iter| IterInfo {
            vu: 1,
            iter,
            iter_in_test: iter,
        };
        vu.begin(info(0));
        assert!(requested(&turn(&mut *vu, None)).ends_with("/first"));
        // QuickJS's stack limit is the coroutine's, whichever thread resumes it.
        let mut vu = std::thread::spawn(move || {
            assert!(matches!(turn(&mut *vu, response(200)).call, Call::Done));
            vu
        })
        .join()
        .unwrap();
        let logged = js.spec.logged.lock().clone();
        assert!(
            logged
                .iter()
                .any(|l| l.contains("stack") && l.contains("s.js:2:")),
            "{logged:?}"
        );
        vu.begin(info(1));
        assert!(requested(&turn(&mut *vu, None)).ends_with("/first"));
    }
}
