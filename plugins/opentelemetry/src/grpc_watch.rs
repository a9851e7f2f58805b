//! What the gRPC transport watches on its connections, to tell a request the receiver may
//! hold from one it cannot have (see `GrpcTransport::send`): when the request message was
//! handed to the connection ([`TrackedCodec`]), whether the receiver ever spoke on the
//! connection ([`Heard`]), and whether it closed the connection while no call ran ([`Probe`]).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::codec::{BufferSettings, Codec, EncodeBuf, Encoder};
use tonic::Status;

use crate::otlp::opentelemetry::proto::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};

/// Prost's codec, telling when the request message was taken: tonic encodes it only when the
/// HTTP/2 stream, its headers sent, asks for the body, and queues it on the connection at
/// once, as the HTTP client's tracked body tells for HTTP/1 (`post_once`). From then on the
/// receiver may hold the request whatever becomes of the answer.
pub(crate) struct TrackedCodec {
    pub(crate) handed: Arc<AtomicBool>,
}

pub(crate) struct TrackedEncoder {
    inner: tonic_prost::ProstEncoder<ExportMetricsServiceRequest>,
    handed: Arc<AtomicBool>,
}

impl Codec for TrackedCodec {
    type Encode = ExportMetricsServiceRequest;
    type Decode = ExportMetricsServiceResponse;
    type Encoder = TrackedEncoder;
    type Decoder = tonic_prost::ProstDecoder<ExportMetricsServiceResponse>;

    fn encoder(&mut self) -> TrackedEncoder {
        TrackedEncoder {
            inner: tonic_prost::ProstEncoder::default(),
            handed: Arc::clone(&self.handed),
        }
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

impl Encoder for TrackedEncoder {
    type Item = ExportMetricsServiceRequest;
    type Error = Status;

    fn encode(
        &mut self,
        item: ExportMetricsServiceRequest,
        dst: &mut EncodeBuf<'_>,
    ) -> Result<(), Status> {
        self.inner.encode(item, dst)?;
        self.handed.store(true, Ordering::Release);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// A connection that tells when the first bytes come in.
pub(crate) struct Heard<T> {
    pub(crate) inner: T,
    pub(crate) heard: Arc<AtomicBool>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Heard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Release);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Heard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A second handle on the newest connection's socket. The transport's runtime only runs
/// during a call, so a close the receiver sent while none ran is read by nobody: a request
/// sent then would be handed to a dead connection and look taken. Looked at before each call,
/// so that one goes on a new connection instead.
#[derive(Clone, Default)]
pub(crate) struct Probe {
    /// Shared by the connector's clones (tonic's channel calls a clone).
    socket: Arc<Mutex<Option<std::net::TcpStream>>>,
}

impl Probe {
    /// Keeps a handle on `tcp`'s socket (in place of the previous connection's).
    pub(crate) fn keep(&self, tcp: TcpStream) -> std::io::Result<TcpStream> {
        let std = tcp.into_std()?;
        if let Ok(mut socket) = self.socket.lock() {
            // Non-blocking, as the runtime's handle is: the flag is the socket's.
            *socket = std.try_clone().ok();
        }
        TcpStream::from_std(std)
    }

    /// The receiver closed (or reset) the connection.
    pub(crate) fn gone(&self) -> bool {
        let Ok(socket) = self.socket.lock() else {
            return false;
        };
        let Some(socket) = socket.as_ref() else {
            return false;
        };
        let mut byte = [0u8; 1];
        match socket.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        }
    }
}
