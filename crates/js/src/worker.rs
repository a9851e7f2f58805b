//! The JS worker threads. Each owns many VUs, each a stackful coroutine holding its QuickJS
//! runtime; a message resumes one VU until it makes its next call, which is sent back to the
//! engine VU that drives it. No thread waits for a request: a VU waiting for its response is
//! only a suspended coroutine.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult};
use loadrun_engine::script::{Call, IterInfo, Lifecycle, Reply, Turn};
use tokio::sync::mpsc::UnboundedSender;

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

pub(crate) enum Msg {
    Create {
        key: u64,
        role: Role,
        replies: UnboundedSender<(u64, Turn)>,
        cut: Arc<std::sync::atomic::AtomicBool>,
    },
    Begin {
        key: u64,
        info: IterInfo,
        epoch: u64,
    },
    Reply {
        key: u64,
        reply: Reply,
    },
    Interrupt {
        key: u64,
    },
    Drop {
        key: u64,
    },
}

type Co = Coroutine<Input, Output, (), DefaultStack>;

struct Slot {
    co: Co,
    replies: UnboundedSender<(u64, Turn)>,
    /// An iteration is under way (the coroutine is inside the script).
    busy: bool,
    finished: bool,
    epoch: u64,
}

impl Slot {
    /// Resumes the coroutine and passes its next call on.
    fn resume(&mut self, input: Input) {
        if self.finished {
            self.busy = false;
            let _ = self.replies.send((self.epoch, done(Vec::new())));
            return;
        }
        let turn = match self.co.resume(input) {
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
                self.finished = true;
                self.busy = false;
                done(Vec::new())
            }
        };
        let _ = self.replies.send((self.epoch, turn));
    }

    /// Ends the iteration under way: every call fails until the script returns.
    fn interrupt(&mut self) {
        while self.busy && !self.finished {
            match self.co.resume(Input::Interrupted) {
                CoroutineResult::Yield(out) => {
                    if matches!(out.call, Call::Done) {
                        self.busy = false;
                    }
                }
                CoroutineResult::Return(()) => self.finished = true,
            }
        }
    }
}

fn done(events: Vec<loadrun_engine::script::Event>) -> Turn {
    Turn {
        events,
        call: Call::Done,
    }
}

/// A worker thread's loop; it ends when every sender is gone.
pub(crate) fn run(spec: Arc<Spec>, rx: crossbeam_channel::Receiver<Msg>) {
    let mut slots: HashMap<u64, Slot> = HashMap::new();
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Create {
                key,
                role,
                replies,
                cut,
            } => match coroutine(spec.clone(), role, cut) {
                Ok(co) => {
                    slots.insert(
                        key,
                        Slot {
                            co,
                            replies,
                            busy: false,
                            finished: false,
                            epoch: 0,
                        },
                    );
                }
                Err(e) => {
                    spec.log_once(&format!("cannot start a VU: {e}"));
                }
            },
            Msg::Begin { key, info, epoch } => {
                if let Some(s) = slots.get_mut(&key) {
                    s.interrupt();
                    s.epoch = epoch;
                    s.busy = true;
                    s.resume(Input::Begin(info));
                }
            }
            Msg::Reply { key, reply } => {
                if let Some(s) = slots.get_mut(&key) {
                    if s.busy {
                        s.resume(Input::Reply(reply));
                    }
                }
            }
            Msg::Interrupt { key } => {
                if let Some(s) = slots.get_mut(&key) {
                    s.interrupt();
                }
            }
            Msg::Drop { key } => {
                if let Some(mut s) = slots.remove(&key) {
                    s.interrupt();
                    if !s.finished {
                        // The coroutine waits between iterations, in Rust frames only: it
                        // returns, dropping its runtime on its own stack.
                        let _ = s.co.resume(Input::Exit);
                    }
                }
            }
        }
    }
    // Every VU is gone with its driver; end the coroutines still parked the same way.
    for (_, mut s) in slots.drain() {
        s.interrupt();
        if !s.finished {
            let _ = s.co.resume(Input::Exit);
        }
    }
}

fn coroutine(
    spec: Arc<Spec>,
    role: Role,
    cut: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<Co> {
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
