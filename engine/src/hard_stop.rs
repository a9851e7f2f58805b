//! A VU's wait for the hard stop (the end of `gracefulStop`), checked at every poll of its
//! iteration.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::sync::watch;

use crate::engine::HARD;

/// Registered with the stop's watch once for a VU's life rather than once per iteration:
/// `watch::Receiver::wait_for` takes the watch's read lock and its waiter list's mutex when it
/// starts, at every poll and when dropped, and an iteration is polled at every wake of its
/// requests (about 800 instructions a request). In between, a poll reads the watch's version
/// (one atomic load) and polls the wait only when it moved or the task's waker changed.
pub(crate) struct HardStop {
    wait: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// A receiver of its own, only to notice a change without a lock.
    seen: watch::Receiver<u8>,
    /// The waker `wait` was last polled with.
    waker: Option<Waker>,
    stopped: bool,
}

impl HardStop {
    pub(crate) fn new(stop: &watch::Receiver<u8>) -> Self {
        let mut rx = stop.clone();
        Self {
            // A closed watch (the engine gone) stops the VU, as the per-iteration wait did.
            // Unconstrained: `wait_for` is cooperative, and with the task's budget spent it
            // would return `Pending` without registering for the next change; `poll_stopped`
            // has marked the change seen by then, so it would not poll again, and the hard
            // stop would never wake the VU.
            wait: Box::pin(tokio::task::unconstrained(async move {
                let _ = rx.wait_for(|s| *s >= HARD).await;
            })),
            seen: stop.clone(),
            waker: None,
            stopped: false,
        }
    }

    /// Ready once the hard stop has been sent (or the watch closed).
    pub(crate) fn poll_stopped(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.stopped {
            return Poll::Ready(());
        }
        let registered = self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if registered && !self.seen.has_changed().unwrap_or(true) {
            return Poll::Pending;
        }
        // Marked seen before `wait` looks at the value: a send after this line moves the
        // version again, so the next poll looks too.
        drop(self.seen.borrow_and_update());
        if !registered {
            self.waker = Some(cx.waker().clone());
        }
        if self.wait.as_mut().poll(cx).is_ready() {
            self.stopped = true;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::GRACEFUL;
    use std::time::Duration;

    async fn poll_once(hard: &mut HardStop) -> bool {
        std::future::poll_fn(|cx| Poll::Ready(hard.poll_stopped(cx).is_ready())).await
    }

    #[tokio::test]
    async fn wakes_the_waiting_task_on_the_hard_stop_only() {
        let (tx, rx) = watch::channel(0u8);
        let mut hard = HardStop::new(&rx);
        assert!(!poll_once(&mut hard).await);
        let waiting = tokio::spawn(async move {
            std::future::poll_fn(|cx| hard.poll_stopped(cx)).await;
            hard
        });
        tx.send(GRACEFUL).unwrap();
        // One thread: each yield lets the spawned task run its wake-up.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "a graceful stop is not a hard one");
        tx.send(HARD).unwrap();
        let mut hard = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the hard stop woke the task")
            .unwrap();
        assert!(poll_once(&mut hard).await);
    }

    #[tokio::test]
    async fn a_vu_moved_to_another_task_is_still_woken() {
        let (tx, rx) = watch::channel(0u8);
        let mut hard = HardStop::new(&rx);
        assert!(!poll_once(&mut hard).await);
        let waiting = tokio::spawn(async move {
            std::future::poll_fn(|cx| hard.poll_stopped(cx)).await;
        });
        tokio::task::yield_now().await;
        tx.send(HARD).unwrap();
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the hard stop woke the task the VU moved to")
            .unwrap();
    }

    #[tokio::test]
    async fn a_spent_budget_does_not_lose_the_wait() {
        let (tx, rx) = watch::channel(0u8);
        let mut hard = HardStop::new(&rx);
        let waiting = tokio::spawn(async move {
            let mut burn = Box::pin(async {
                loop {
                    tokio::task::consume_budget().await;
                }
            });
            let mut first = true;
            std::future::poll_fn(|cx| {
                if first {
                    // Spends the task's whole budget, as an iteration whose requests fail at
                    // once does, before the VU first looks at the stop.
                    first = false;
                    let _ = burn.as_mut().poll(cx);
                }
                hard.poll_stopped(cx)
            })
            .await;
        });
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        tx.send(HARD).unwrap();
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the hard stop woke the task")
            .unwrap();
    }

    #[tokio::test]
    async fn a_closed_watch_stops() {
        let (tx, rx) = watch::channel(0u8);
        let mut hard = HardStop::new(&rx);
        assert!(!poll_once(&mut hard).await);
        drop(tx);
        assert!(poll_once(&mut hard).await);
    }
}
