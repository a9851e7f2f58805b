//! A VU's state that the natives share: the coroutine to suspend, the samples made since the
//! last call, the group path, and whether the iteration was cut short.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corosensei::Yielder;
use loadrun_engine::script::{Call, Event, IterInfo, Reply};

use crate::spec::Spec;

/// What the driver passes into a VU's coroutine.
pub(crate) enum Input {
    Begin(IterInfo),
    Reply(Reply),
    /// The iteration was cut short: the pending call fails, and so does every later one.
    Interrupted,
    /// The VU is gone: its coroutine returns.
    Exit,
}

/// What a VU's coroutine hands back: the samples it made, then its call.
pub(crate) struct Output {
    pub events: Vec<Event>,
    pub call: Call,
}

/// Where natives are being called from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The script's top level (k6's init context): no requests, no checks.
    Init,
    /// An iteration, setup or teardown.
    Run,
}

/// A custom metric declared by `new Trend(...)` and friends while probing the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    pub name: String,
    pub kind: String,
    pub time: bool,
}

pub(crate) struct Core {
    pub spec: Arc<Spec>,
    yielder: Cell<*const Yielder<Input, Output>>,
    events: RefCell<Vec<Event>>,
    /// Group paths (`::a::b`) with their start, innermost last.
    groups: RefCell<Vec<(String, Instant)>>,
    /// The path outside any group: empty, or `::setup`/`::teardown`.
    pub base_group: String,
    interrupted: Cell<bool>,
    /// Set by the engine's side when it cuts the iteration short, read by QuickJS's interrupt
    /// handler too: a script busy in a loop that makes no call is stopped as well.
    pub cut: Arc<AtomicBool>,
    pub phase: Cell<Phase>,
    /// Custom metrics declared so far, when probing (VUs look names up in the spec).
    pub declared: RefCell<Vec<Declared>>,
    pub iter: Cell<Option<IterInfo>>,
    /// When the script last got the thread (the iteration began or a call returned).
    resumed: Cell<Instant>,
}

/// How long a script may run without a call before it lets the engine VU's thread go (see
/// [`Core::yield_now`]).
const SLICE: Duration = Duration::from_millis(10);

impl Core {
    pub fn new(spec: Arc<Spec>, base_group: String, cut: Arc<AtomicBool>) -> Self {
        Self {
            spec,
            yielder: Cell::new(std::ptr::null()),
            events: RefCell::new(Vec::new()),
            groups: RefCell::new(Vec::new()),
            base_group,
            interrupted: Cell::new(false),
            cut,
            phase: Cell::new(Phase::Init),
            declared: RefCell::new(Vec::new()),
            iter: Cell::new(None),
            resumed: Cell::new(Instant::now()),
        }
    }

    /// Set once by the coroutine that owns this VU; the yielder lives as long as it runs.
    pub fn set_yielder(&self, y: &Yielder<Input, Output>) {
        self.yielder.set(y as *const _);
    }

    pub fn begin(&self, info: IterInfo) {
        self.interrupted.set(false);
        self.cut.store(false, Ordering::Relaxed);
        self.groups.borrow_mut().clear();
        self.phase.set(Phase::Run);
        self.iter.set(Some(info));
        self.resumed.set(Instant::now());
    }

    pub fn interrupted(&self) -> bool {
        self.interrupted.get() || self.cut.load(Ordering::Relaxed)
    }

    pub fn push(&self, e: Event) {
        self.events.borrow_mut().push(e);
    }

    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.borrow_mut())
    }

    /// The `group` tag now.
    pub fn group(&self) -> String {
        match self.groups.borrow().last() {
            Some((p, _)) => p.clone(),
            None => self.base_group.clone(),
        }
    }

    pub fn enter_group(&self, name: &str) {
        let path = format!("{}::{name}", self.group());
        self.groups.borrow_mut().push((path, Instant::now()));
    }

    pub fn leave_group(&self) {
        if let Some((path, start)) = self.groups.borrow_mut().pop() {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            self.push(Event::Group { path, ms });
        }
    }

    /// Hands `call` to the driver and waits for its answer. An error when there is no driver
    /// (the init context, or a probe) or the iteration was cut short.
    ///
    /// Not inlined: the coroutine may resume on another thread, so no caller may keep a
    /// thread-local's address across this call (see [`crate::coroutine::VuCoroutine`]).
    #[inline(never)]
    pub fn suspend(&self, call: Call) -> Result<Reply, String> {
        if self.interrupted() {
            return Err("the iteration was interrupted".into());
        }
        let y = self.yielder.get();
        if y.is_null() && self.phase.get() == Phase::Run {
            // Only handleSummary's runtime runs code outside the init context with no driver.
            return Err("not supported in handleSummary() by loadrun yet".into());
        }
        if y.is_null() || self.phase.get() == Phase::Init {
            return Err("not allowed in the init context (the script's top level)".into());
        }
        let out = Output {
            events: self.take_events(),
            call,
        };
        // SAFETY: the pointer was set by the coroutine running this code, whose yielder
        // outlives every call made on its stack; natives run only on that stack.
        let input = unsafe { &*y }.suspend(out);
        self.resumed.set(Instant::now());
        match input {
            Input::Reply(r) => Ok(r),
            Input::Interrupted | Input::Exit | Input::Begin(_) => {
                self.interrupted.set(true);
                Err("the iteration was interrupted".into())
            }
        }
    }

    /// Called by QuickJS's interrupt handler (every few thousand operations): true stops the
    /// script. A VU runs inline in its engine task, so a script busy without a call for more
    /// than [`SLICE`] lets the thread go (a `Yield` turn): the engine's other VUs, its timers
    /// and the stop that may cut this iteration run meanwhile.
    #[inline(never)]
    pub fn yield_now(&self) -> bool {
        if self.interrupted() {
            return true;
        }
        let y = self.yielder.get();
        if y.is_null() || self.phase.get() == Phase::Init || self.resumed.get().elapsed() < SLICE {
            return false;
        }
        let out = Output {
            events: self.take_events(),
            call: Call::Yield,
        };
        // SAFETY: as in `suspend`: the interrupt handler runs on this VU's coroutine stack.
        let input = unsafe { &*y }.suspend(out);
        self.resumed.set(Instant::now());
        match input {
            Input::Reply(_) => false,
            Input::Interrupted | Input::Exit | Input::Begin(_) => {
                self.interrupted.set(true);
                true
            }
        }
    }
}
