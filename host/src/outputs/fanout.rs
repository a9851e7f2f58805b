//! Cuts the collector's samples into batches and hands each batch to every output's queue.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use loadrun_metrics::{Registry, Sample, SampleConsumer};

use super::worker::WorkerShared;

/// One immutable batch shared by every output. Definitions are not copied in: each worker sends
/// its output the definitions it has not had yet, up to `metrics_end`/`series_end`.
pub struct BatchData {
    pub samples: Vec<Sample>,
    /// Metric ids below this are defined when the batch was cut.
    pub metrics_end: u32,
    /// Series ids below this are defined when the batch was cut.
    pub series_end: u32,
}

/// The collector-side end of the output pipeline.
pub struct Fanout {
    workers: Vec<Arc<WorkerShared>>,
    current: Vec<Sample>,
    batch_size: usize,
}

impl Fanout {
    pub fn new(workers: Vec<Arc<WorkerShared>>, batch_size: usize) -> Self {
        Self {
            workers,
            current: Vec::with_capacity(batch_size),
            batch_size: batch_size.max(1),
        }
    }

    /// Sends the current batch, even an empty one: every output then gets a `write` at least
    /// every tick and can pace its pushes without a timer thread of its own.
    fn cut(&mut self, registry: &Registry) {
        let (metrics_end, series_end) = registry.counts();
        let samples = std::mem::replace(&mut self.current, Vec::with_capacity(self.batch_size));
        let n = samples.len() as u64;
        let batch = Arc::new(BatchData {
            samples,
            metrics_end,
            series_end,
        });
        for w in &self.workers {
            w.stats.received.fetch_add(n, Relaxed);
            let dropped = w.queue.push(batch.clone());
            if dropped > 0 {
                w.stats.dropped_queue_full.fetch_add(dropped, Relaxed);
                w.warn_queue_full();
            }
        }
    }
}

impl SampleConsumer for Fanout {
    fn consume(&mut self, registry: &Registry, samples: &[Sample]) {
        let mut rest = samples;
        while !rest.is_empty() {
            let room = self.batch_size - self.current.len();
            let take = room.min(rest.len());
            self.current.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.current.len() >= self.batch_size {
                self.cut(registry);
            }
        }
    }

    fn tick(&mut self, registry: &Registry) {
        self.cut(registry);
    }

    fn finish(&mut self, registry: &Registry) {
        if !self.current.is_empty() {
            self.cut(registry);
        }
    }
}
