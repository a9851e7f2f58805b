//! The engine's side of a script: [`JsScript`] starts the worker threads and hands out VUs;
//! [`JsVu`] forwards an engine VU's turns to its coroutine on a worker.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use loadrun_engine::script::{
    Call, IterInfo, Lifecycle, Reply, Script, ScriptVu, Turn, TurnFuture,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::spec::Spec;
use crate::worker::{self, Msg, Role};

/// A k6 script ready to run on the engine.
pub struct JsScript {
    spec: Arc<Spec>,
    workers: Vec<crossbeam_channel::Sender<Msg>>,
    next_worker: AtomicUsize,
    next_key: AtomicU64,
}

impl JsScript {
    /// Starts one worker thread per core.
    pub(crate) fn start(spec: Arc<Spec>) -> Arc<Self> {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = crossbeam_channel::unbounded();
            let s = spec.clone();
            let started = std::thread::Builder::new()
                .name(format!("js-{i}"))
                .spawn(move || worker::run(s, rx));
            match started {
                Ok(_) => workers.push(tx),
                // Fewer workers still run every VU; none at all is reported by the first VU.
                Err(e) => tracing::warn!("cannot start a JavaScript worker thread: {e}"),
            }
        }
        Arc::new(Self {
            spec,
            workers,
            next_worker: AtomicUsize::new(0),
            next_key: AtomicU64::new(0),
        })
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
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = unbounded_channel();
        let cut = Arc::new(AtomicBool::new(false));
        let worker = if self.workers.is_empty() {
            None
        } else {
            let i = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.len();
            let w = self.workers[i].clone();
            let _ = w.send(Msg::Create {
                key,
                role,
                replies: tx,
                cut: cut.clone(),
            });
            Some(w)
        };
        Box::new(JsVu {
            spec: self.spec.clone(),
            key,
            cut,
            worker,
            replies: rx,
            epoch: 0,
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

/// One engine VU's link to its coroutine.
struct JsVu {
    spec: Arc<Spec>,
    key: u64,
    /// Tells the VU's runtime to stop the script (see [`crate::core::Core::cut`]).
    cut: Arc<AtomicBool>,
    worker: Option<crossbeam_channel::Sender<Msg>>,
    replies: UnboundedReceiver<(u64, Turn)>,
    /// The iteration under way; turns of an earlier, interrupted one are skipped.
    epoch: u64,
}

fn done() -> Turn {
    Turn {
        events: Vec::new(),
        call: Call::Done,
    }
}

impl ScriptVu for JsVu {
    fn begin(&mut self, info: IterInfo) {
        self.epoch += 1;
        if let Some(w) = &self.worker {
            let _ = w.send(Msg::Begin {
                key: self.key,
                info,
                epoch: self.epoch,
            });
        }
    }

    fn next(&mut self, reply: Option<Reply>) -> TurnFuture<'_> {
        Box::pin(async move {
            let Some(w) = &self.worker else {
                return done();
            };
            if let Some(reply) = reply {
                if w.send(Msg::Reply {
                    key: self.key,
                    reply,
                })
                .is_err()
                {
                    return done();
                }
            }
            loop {
                match self.replies.recv().await {
                    Some((epoch, turn)) if epoch == self.epoch => {
                        if matches!(turn.call, Call::Done) {
                            self.spec.shared.execution.stop_if_aborted();
                        }
                        return turn;
                    }
                    Some(_) => continue,
                    // The worker is gone (it panicked): the iteration ends.
                    None => return done(),
                }
            }
        })
    }

    fn interrupt(&mut self) {
        self.cut.store(true, Ordering::Relaxed);
        if let Some(w) = &self.worker {
            let _ = w.send(Msg::Interrupt { key: self.key });
        }
    }
}

impl Drop for JsVu {
    fn drop(&mut self) {
        if let Some(w) = &self.worker {
            let _ = w.send(Msg::Drop { key: self.key });
        }
    }
}
