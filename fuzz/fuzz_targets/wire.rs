//! The HTTP/1.1 response framing on hostile bytes: a stream of (pipelined) responses decoded
//! as the client does, once in a single read and once cut into reads at offsets the input
//! chooses. Nothing panics, the two decodings are identical (how bytes arrive never changes
//! what a response is), no response takes more bytes than there are, and no kept body is
//! larger than the limit.
#![no_main]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use loadrun_engine::http::wire::{read_body, read_head, response_framing, InBuf};
use tokio::io::{AsyncRead, ReadBuf};

const LIMIT: usize = 256;

/// A connection whose reads return the wire `step` bytes at a time (all of it if 0).
struct Pieces<'a> {
    wire: &'a [u8],
    pos: usize,
    steps: &'a [u8],
    read: usize,
}

impl AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let step = match self.steps {
            [] => usize::MAX,
            steps => usize::from(steps[self.read % steps.len()]).max(1),
        };
        self.read += 1;
        let end = self
            .wire
            .len()
            .min(self.pos.saturating_add(step))
            .min(self.pos + buf.remaining());
        buf.put_slice(&self.wire[self.pos..end]);
        self.pos = end;
        Poll::Ready(Ok(()))
    }
}

#[derive(Debug, PartialEq)]
struct Decoded {
    responses: Vec<(u16, Vec<u8>, u64)>,
    error: Option<String>,
}

async fn decode(r: &mut Pieces<'_>, head_mask: u8) -> Decoded {
    let mut inb = InBuf::new(16);
    let mut responses = Vec::new();
    let error = loop {
        let head_len = match read_head(r, &mut inb).await {
            Ok(Some(n)) => n,
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        };
        let mut hbuf = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut hbuf);
        if !matches!(
            parsed.parse(&inb.available()[..head_len]),
            Ok(httparse::Status::Complete(_))
        ) {
            break Some("malformed head".into());
        }
        let status = parsed.code.unwrap_or(0);
        let head_request = head_mask & (1 << (responses.len() % 8)) != 0;
        let framing = match response_framing(parsed.headers, status, head_request) {
            Ok(f) => f,
            Err(e) => break Some(e.to_string()),
        };
        inb.consume(head_len);
        let mut body = Vec::new();
        match read_body(r, &mut inb, framing, &mut body, LIMIT).await {
            Ok(n) => responses.push((status, body, head_len as u64 + n)),
            Err(e) => break Some(e.to_string()),
        }
    };
    Decoded { responses, error }
}

fuzz_target!(|data: &[u8]| {
    // [head mask] [number of step bytes] [steps...] [wire...]
    let [head_mask, n_steps, rest @ ..] = data else {
        return;
    };
    let n_steps = usize::from(*n_steps % 8).min(rest.len());
    let (steps, wire) = rest.split_at(n_steps);
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let whole = rt.block_on(decode(
        &mut Pieces { wire, pos: 0, steps: &[], read: 0 },
        *head_mask,
    ));
    let cut = rt.block_on(decode(
        &mut Pieces { wire, pos: 0, steps, read: 0 },
        *head_mask,
    ));
    assert_eq!(whole, cut, "the decoding depends on how the bytes arrived");
    let taken: u64 = whole.responses.iter().map(|r| r.2).sum();
    assert!(taken <= wire.len() as u64, "{taken} bytes taken of {}", wire.len());
    for (_, body, n) in &whole.responses {
        assert!(body.len() <= LIMIT && body.len() as u64 <= *n);
    }
});
