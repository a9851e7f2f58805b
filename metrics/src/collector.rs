//! The collector thread and the buffers that feed it.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use crate::registry::Registry;
use crate::Sample;

/// Something that sees every sample of the run, on the collector thread.
pub trait SampleConsumer: Send {
    /// A chunk of samples, in arrival order per producer.
    fn consume(&mut self, registry: &Registry, samples: &[Sample]);
    /// Called about every tick interval, and once more before `finish`.
    fn tick(&mut self, registry: &Registry) {
        let _ = registry;
    }
    /// No more samples will come.
    fn finish(&mut self, registry: &Registry) {
        let _ = registry;
    }
}

enum Message {
    Samples(Vec<Sample>),
    Flush(Sender<()>),
    Shutdown,
}

/// A clonable handle to send samples to the collector. (A "sink", in this workspace, is only
/// where an output writes its bytes, as in `loadrun-file-sink`.)
#[derive(Clone)]
pub struct SampleSender {
    tx: Sender<Message>,
}

impl SampleSender {
    /// Sends a chunk. Blocks only if the collector is more than its channel capacity behind.
    pub fn send(&self, samples: Vec<Sample>) {
        if !samples.is_empty() {
            // A closed channel means the run is over; late samples have nowhere to go.
            let _ = self.tx.send(Message::Samples(samples));
        }
    }

    /// A VU-local buffer flushing to this sender every `capacity` samples.
    pub fn buffer(&self, capacity: usize) -> LocalBuffer {
        LocalBuffer {
            buf: Vec::new(),
            capacity,
            next: MIN_CHUNK.min(capacity),
            sender: self.clone(),
            since: Instant::now(),
        }
    }

    /// Waits until every chunk sent before this call has been consumed.
    pub fn barrier(&self) {
        let (tx, rx) = bounded(1);
        if self.tx.send(Message::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

/// The smallest capacity a [`LocalBuffer`] starts a chunk with after a flush.
const MIN_CHUNK: usize = 16;

/// A buffer owned by one producer (a VU, the engine's gauge ticker): pushing is a `Vec::push`.
pub struct LocalBuffer {
    buf: Vec<Sample>,
    capacity: usize,
    /// The capacity the next chunk is allocated with, at its first push: a buffer holds no
    /// memory while empty (a VU waiting on a slow server after a flush, thousands of them).
    next: usize,
    sender: SampleSender,
    since: Instant,
}

impl LocalBuffer {
    /// Where this buffer sends, for another buffer of the same owner.
    pub fn sender(&self) -> &SampleSender {
        &self.sender
    }

    #[inline]
    pub fn push(&mut self, sample: Sample) {
        if self.buf.is_empty() {
            self.since = Instant::now();
            self.buf.reserve_exact(self.next);
        }
        self.buf.push(sample);
        if self.buf.len() >= self.capacity {
            self.flush();
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if !self.buf.is_empty() {
            // The next chunk is sized like this one: a VU flushed by age (slow responses, many
            // VUs) holds a few dozen samples, not `capacity`, and thousands of VUs each
            // holding a full-size buffer would cost more than their connections.
            self.next = self
                .buf
                .len()
                .next_power_of_two()
                .clamp(MIN_CHUNK.min(self.capacity), self.capacity);
            self.sender.send(std::mem::take(&mut self.buf));
        }
    }

    /// Sends what is buffered if the oldest sample waited longer than `age`.
    pub fn flush_if_older(&mut self, age: Duration) {
        if !self.buf.is_empty() && self.since.elapsed() >= age {
            self.flush();
        }
    }

    /// When the oldest buffered sample was pushed, if any.
    pub fn oldest(&self) -> Option<Instant> {
        (!self.buf.is_empty()).then_some(self.since)
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl Drop for LocalBuffer {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Starts the collector thread.
pub struct Collector;

/// Owns the collector thread; [`CollectorHandle::finish`] ends it and returns the consumers.
pub struct CollectorHandle {
    sender: SampleSender,
    thread: Option<JoinHandle<Vec<Box<dyn SampleConsumer>>>>,
}

impl Collector {
    /// Spawns the collector with its consumers; `tick` paces [`SampleConsumer::tick`].
    pub fn spawn(
        registry: Arc<Registry>,
        consumers: Vec<Box<dyn SampleConsumer>>,
        tick: Duration,
    ) -> std::io::Result<CollectorHandle> {
        // Bounded so a collector that falls far behind pushes back on producers instead of
        // growing without limit.
        let (tx, rx) = bounded(4096);
        let thread = std::thread::Builder::new()
            .name("collector".into())
            .spawn(move || run(registry, consumers, rx, tick))?;
        Ok(CollectorHandle {
            sender: SampleSender { tx },
            thread: Some(thread),
        })
    }
}

impl CollectorHandle {
    pub fn sender(&self) -> SampleSender {
        self.sender.clone()
    }

    /// Consumes everything sent so far, calls `finish` on each consumer and returns them.
    pub fn finish(mut self) -> Vec<Box<dyn SampleConsumer>> {
        let _ = self.sender.tx.send(Message::Shutdown);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(consumers)) => consumers,
            _ => Vec::new(),
        }
    }
}

fn run(
    registry: Arc<Registry>,
    mut consumers: Vec<Box<dyn SampleConsumer>>,
    rx: Receiver<Message>,
    tick: Duration,
) -> Vec<Box<dyn SampleConsumer>> {
    let mut next_tick = Instant::now() + tick;
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Message::Samples(samples)) => {
                for c in consumers.iter_mut() {
                    c.consume(&registry, &samples);
                }
            }
            Ok(Message::Flush(done)) => {
                for c in consumers.iter_mut() {
                    c.tick(&registry);
                }
                let _ = done.send(());
            }
            Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= next_tick {
            for c in consumers.iter_mut() {
                c.tick(&registry);
            }
            next_tick = Instant::now() + tick;
        }
    }
    // Samples sent by producers that raced the shutdown message.
    while let Ok(Message::Samples(samples)) = rx.try_recv() {
        for c in consumers.iter_mut() {
            c.consume(&registry, &samples);
        }
    }
    for c in consumers.iter_mut() {
        c.tick(&registry);
        c.finish(&registry);
    }
    consumers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> (SampleSender, Receiver<Message>) {
        let (tx, rx) = bounded(64);
        (SampleSender { tx }, rx)
    }

    fn chunk(rx: &Receiver<Message>) -> Vec<Sample> {
        match rx.try_recv() {
            Ok(Message::Samples(s)) => s,
            _ => panic!("no chunk sent"),
        }
    }

    #[test]
    fn chunks_shrink_to_what_age_flushes_carry_and_grow_back() {
        let (sender, rx) = channel();
        let mut buf = sender.buffer(128);
        // Nothing is held before the first sample, nor between a flush and the next sample.
        assert_eq!(buf.buf.capacity(), 0);
        buf.push(Sample::new(1, 0, 1.0));
        assert_eq!(buf.buf.capacity(), MIN_CHUNK);
        for i in 1..14 {
            buf.push(Sample::new(1, i, 1.0));
        }
        buf.flush();
        assert_eq!(chunk(&rx).len(), 14);
        assert_eq!(buf.buf.capacity(), 0);
        buf.push(Sample::new(1, 0, 1.0));
        assert_eq!(buf.buf.capacity(), 16);
        // A fuller chunk grows the vector, then the next one starts at that size.
        for i in 1..40 {
            buf.push(Sample::new(1, i, 1.0));
        }
        buf.flush();
        assert_eq!(chunk(&rx).len(), 40);
        buf.push(Sample::new(1, 0, 1.0));
        assert_eq!(buf.buf.capacity(), 64);
        // Flushed at capacity: full-size chunks, never more than `capacity` per chunk.
        for i in 1..300 {
            buf.push(Sample::new(1, i, 1.0));
        }
        assert_eq!(chunk(&rx).len(), 128);
        assert_eq!(chunk(&rx).len(), 128);
        assert_eq!(buf.buf.capacity(), 128);
        assert_eq!(buf.len(), 44);
    }

    #[test]
    fn a_tiny_capacity_is_kept() {
        let (sender, rx) = channel();
        let mut buf = sender.buffer(4);
        for i in 0..4 {
            buf.push(Sample::new(1, i, 1.0));
        }
        assert_eq!(chunk(&rx).len(), 4);
        buf.push(Sample::new(1, 4, 1.0));
        assert_eq!(buf.buf.capacity(), 4);
    }
}
