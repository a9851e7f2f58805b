//! A request body that tells when the connection has taken all of it.
//!
//! After a timeout that is what separates "the server never had this request" (safe to send
//! again) from "the server may have it and be slow to answer" (sending it again counts it
//! twice on a backend without an idempotency key; see [`crate::HttpClient::post_once`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// One chunk of bytes, with an exact length (so `Content-Length` is sent, not chunks). `handed`
/// becomes true when the HTTP stack takes the chunk: hyper does so only once the request head
/// is written and its buffer has room, and queues it on the connection at once (with an exact
/// length it never asks again after the last byte, so that cannot be the signal).
pub(crate) struct TrackedBody {
    data: Option<Bytes>,
    handed: Arc<AtomicBool>,
}

impl TrackedBody {
    pub(crate) fn new(data: Bytes, handed: Arc<AtomicBool>) -> Self {
        Self {
            data: Some(data),
            handed,
        }
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        this.handed.store(true, Ordering::Release);
        Poll::Ready(this.data.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body::Body as _;

    #[test]
    fn handed_once_the_bytes_are_taken() {
        let handed = Arc::new(AtomicBool::new(false));
        let mut body = TrackedBody::new(Bytes::from_static(b"abc"), handed.clone());
        assert_eq!(body.size_hint().exact(), Some(3));
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = std::task::Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        assert!(!handed.load(Ordering::Acquire));
        let first = Pin::new(&mut body).poll_frame(&mut cx);
        assert!(matches!(first, Poll::Ready(Some(Ok(_)))));
        assert!(handed.load(Ordering::Acquire));
        assert!(body.is_end_stream());
        assert!(matches!(
            Pin::new(&mut body).poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }
}
