//! The bounded queue between the fan-out and one output's worker.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::fanout::BatchData;
use super::spec::WhenFull;

struct State {
    items: VecDeque<Arc<BatchData>>,
    samples: usize,
    closed: bool,
}

/// Batches waiting for one output, bounded in samples.
pub struct OutputQueue {
    state: Mutex<State>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
    when_full: WhenFull,
}

/// What `pop` returns.
pub enum Popped {
    Batch(Arc<BatchData>),
    /// Closed and empty: the run is over.
    Closed,
    /// The deadline passed.
    TimedOut,
}

impl OutputQueue {
    pub fn new(capacity: usize, when_full: WhenFull) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                samples: 0,
                closed: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity: capacity.max(1),
            when_full,
        }
    }

    /// Queues a batch; returns the number of samples dropped to make room.
    pub fn push(&self, batch: Arc<BatchData>) -> u64 {
        let n = batch.samples.len();
        let mut st = self.state.lock();
        let mut dropped = 0u64;
        if st.closed {
            return n as u64;
        }
        match self.when_full {
            WhenFull::DropOldest => {
                while st.samples + n > self.capacity && !st.items.is_empty() {
                    if let Some(old) = st.items.pop_front() {
                        st.samples -= old.samples.len();
                        dropped += old.samples.len() as u64;
                    }
                }
            }
            WhenFull::Block => {
                while st.samples + n > self.capacity && !st.items.is_empty() && !st.closed {
                    self.not_full.wait(&mut st);
                }
            }
        }
        st.samples += n;
        st.items.push_back(batch);
        drop(st);
        self.not_empty.notify_one();
        dropped
    }

    /// Takes the next batch, waiting until one comes, the queue closes, or `deadline`.
    pub fn pop(&self, deadline: Option<Instant>) -> Popped {
        let mut st = self.state.lock();
        loop {
            if let Some(b) = st.items.pop_front() {
                st.samples -= b.samples.len();
                drop(st);
                self.not_full.notify_all();
                return Popped::Batch(b);
            }
            if st.closed {
                return Popped::Closed;
            }
            match deadline {
                Some(d) => {
                    if self.not_empty.wait_until(&mut st, d).timed_out() && st.items.is_empty() {
                        return Popped::TimedOut;
                    }
                }
                None => self.not_empty.wait(&mut st),
            }
        }
    }

    /// No more batches will be pushed; the worker drains what is left.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    /// Empties the queue; returns the samples it held.
    pub fn discard_all(&self) -> u64 {
        let mut st = self.state.lock();
        let n = st.samples as u64;
        st.items.clear();
        st.samples = 0;
        drop(st);
        self.not_full.notify_all();
        n
    }
}
