//! A VU's coroutine: the stackful coroutine holding the VU's QuickJS runtime, resumed inline by
//! the engine VU task that owns it. A blocking call (`http.get`, `sleep`) suspends it and hands
//! the call to that task, which answers it with the engine's client and resumes it: no thread
//! waits for a request and no message crosses threads.

use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult};
use loadrun_engine::script::{Call, Lifecycle, Turn};

use crate::core::{Core, Input, Output};
use crate::spec::Spec;

/// The coroutine's stack: QuickJS's limit plus room for the natives and the Rust frames
/// between them. Only the pages a VU touches take memory.
const STACK: usize = crate::vm::JS_STACK + 64 * 1024;

/// What a VU runs.
#[derive(Clone)]
pub(crate) enum Role {
    /// Iterations of a scenario's function, with the scenario's `env` over the script's.
    Scenario {
        function: String,
        env: Arc<std::collections::BTreeMap<String, String>>,
    },
    Lifecycle(Lifecycle),
}

type Co = Coroutine<Input, Output, (), DefaultStack>;

/// One VU's coroutine and where its iteration is.
pub(crate) struct VuCoroutine {
    co: Co,
    /// An iteration is under way (the coroutine is inside the script).
    busy: bool,
}

// SAFETY: a coroutine may move between threads when nothing on its stack is tied to the thread
// it was suspended on (corosensei's `Send` section). What a VU's stack holds while suspended:
// - its QuickJS runtime and context, and the `Rc<Core>` the natives share: made on this stack,
//   owned by this VU alone (no runtime, context, value or `Rc` is shared with another VU), and
//   QuickJS keeps no thread-local state;
// - the frames of `Core::suspend` and of the natives that call it, and of the interrupt
//   handler's yield: none holds a thread-local or a lock guard across the switch (`Core::suspend`
//   and `Core::yield_now` are not inlined, so no thread-local address is kept across it).
// Every resume takes `&mut self`, so the coroutine never runs on two threads at once.
unsafe impl Send for VuCoroutine {}

impl VuCoroutine {
    pub(crate) fn new(spec: Arc<Spec>, role: Role, cut: Arc<AtomicBool>) -> std::io::Result<Self> {
        Ok(Self {
            co: coroutine(spec, role, cut)?,
            busy: false,
        })
    }

    /// Starts an iteration (ending one still under way) and runs it to its first call.
    pub(crate) fn begin(&mut self, info: loadrun_engine::script::IterInfo) -> Turn {
        self.interrupt();
        self.busy = true;
        self.resume(Input::Begin(info))
    }

    /// Answers the pending call and runs the script to its next one.
    pub(crate) fn reply(&mut self, reply: loadrun_engine::script::Reply) -> Turn {
        if !self.busy {
            return done(Vec::new());
        }
        self.resume(Input::Reply(reply))
    }

    /// The coroutine returned, or a panic went through it (resuming it then would panic again;
    /// the panic itself went on to the engine VU's task).
    fn finished(&self) -> bool {
        self.co.done()
    }

    fn resume(&mut self, input: Input) -> Turn {
        if self.finished() {
            self.busy = false;
            return done(Vec::new());
        }
        match self.co.resume(input) {
            CoroutineResult::Yield(out) => {
                if matches!(out.call, Call::Done) {
                    self.busy = false;
                }
                Turn {
                    events: out.events,
                    call: out.call,
                }
            }
            CoroutineResult::Return(()) => {
                self.busy = false;
                done(Vec::new())
            }
        }
    }

    /// Ends the iteration under way: every call fails until the script returns.
    pub(crate) fn interrupt(&mut self) {
        while self.busy && !self.finished() {
            match self.co.resume(Input::Interrupted) {
                CoroutineResult::Yield(out) => {
                    if matches!(out.call, Call::Done) {
                        self.busy = false;
                    }
                }
                CoroutineResult::Return(()) => self.busy = false,
            }
        }
    }
}

impl Drop for VuCoroutine {
    fn drop(&mut self) {
        self.interrupt();
        if !self.finished() {
            // The coroutine waits between iterations, in Rust frames only: it returns,
            // dropping its runtime on its own stack (rather than being force-unwound).
            let _ = self.co.resume(Input::Exit);
        }
    }
}

fn done(events: Vec<loadrun_engine::script::Event>) -> Turn {
    Turn {
        events,
        call: Call::Done,
    }
}

fn coroutine(spec: Arc<Spec>, role: Role, cut: Arc<AtomicBool>) -> std::io::Result<Co> {
    let stack = DefaultStack::new(STACK)?;
    Ok(Coroutine::with_stack(stack, move |y, first: Input| {
        let base_group = match &role {
            Role::Lifecycle(l) => l.group().to_string(),
            Role::Scenario { .. } => String::new(),
        };
        let core = Rc::new(Core::new(spec.clone(), base_group, cut));
        core.set_yielder(y);
        let (function, env, keep) = match &role {
            Role::Scenario { function, env } => (function.clone(), env.clone(), false),
            Role::Lifecycle(l) => (
                match l {
                    Lifecycle::Setup => "setup".to_string(),
                    Lifecycle::Teardown => "teardown".to_string(),
                },
                Arc::new(spec.env.clone()),
                *l == Lifecycle::Setup,
            ),
        };
        let mut vm = match crate::vm::Vm::new(&core, &env, None) {
            Ok(vm) => Some(vm),
            Err(e) => {
                spec.log_once(&e);
                if matches!(role, Role::Lifecycle(Lifecycle::Setup)) {
                    spec.setup_failed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                None
            }
        };
        let mut input = first;
        loop {
            match input {
                Input::Begin(info) => {
                    core.begin(info);
                    if let Some(vm) = vm.as_mut() {
                        vm.set_iteration(info);
                        match vm.call(&core, &function, keep) {
                            Ok(data) => {
                                if keep {
                                    *spec.setup_data.lock() = data;
                                }
                            }
                            Err(e) => {
                                if matches!(role, Role::Lifecycle(Lifecycle::Setup)) {
                                    spec.setup_failed
                                        .store(true, std::sync::atomic::Ordering::Relaxed);
                                }
                                // After `test.abort()` the abort was logged where it was
                                // called; its exception (and what the stop cut) is not news.
                                if !core.interrupted() && !spec.shared.execution.aborted() {
                                    spec.log_once(&e);
                                }
                            }
                        }
                    }
                    input = y.suspend(Output {
                        events: core.take_events(),
                        call: Call::Done,
                    });
                }
                Input::Exit => return,
                Input::Reply(_) | Input::Interrupted => {
                    input = y.suspend(Output {
                        events: core.take_events(),
                        call: Call::Done,
                    });
                }
            }
        }
    }))
}
