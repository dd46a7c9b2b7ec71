//! The client's TLS stream as hyper sees it. Three things on top of the
//! stream:
//!
//! - **Lingering close.** When the gateway closes a connection while the
//!   client is still sending (a 431 for a 1 MB header block, say), closing
//!   at once makes the kernel answer the unread bytes with a reset, and the
//!   client loses the response it was about to read. So after the TLS
//!   close, the read side is drained (bounded in time and bytes) before the
//!   socket goes.
//! - **Parking** ([`crate::gateway::conn`]): when hyper's connection ends
//!   only so that the connection can be parked, its shutdown is skipped.
//! - **Replay**: bytes a parked hyper connection had read but not parsed
//!   are read again first by the next one.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_rustls::server::TlsStream;

/// Longest drain after the close.
const LINGER: Duration = Duration::from_secs(1);
/// Most bytes drained after the close.
const LINGER_BYTES: usize = 4 << 20;

/// A verified client's TLS stream, boxed: async functions store their
/// arguments twice, and rustls' state is 1.2 KB.
pub type ClientTls = Box<TlsStream<TcpStream>>;

/// A client's TLS stream, see the module documentation.
pub struct ClientIo {
    inner: ClientTls,
    deadline: Option<Pin<Box<Sleep>>>,
    drained: usize,
    /// Read before the stream itself.
    pub replay: Bytes,
    /// While set, a shutdown only flushes.
    pub parking: Arc<AtomicBool>,
}

impl ClientIo {
    /// Wraps a stream.
    pub fn new(inner: ClientTls) -> Self {
        ClientIo {
            inner,
            deadline: None,
            drained: 0,
            replay: Bytes::new(),
            parking: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Waits until the client has sent something: bytes to replay,
    /// plaintext or a close rustls already holds, or new bytes on the
    /// socket. Errors are left for the next read to report.
    pub async fn client_sent(&mut self) {
        if !self.replay.is_empty() {
            return;
        }
        let (tcp, tls) = self.inner.get_mut();
        match tls.process_new_packets() {
            Ok(state) if state.plaintext_bytes_to_read() == 0 && !state.peer_has_closed() => {
                let _ = tcp.readable().await;
            }
            _ => {}
        }
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.replay.is_empty() {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
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

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.parking.load(Ordering::Relaxed) {
            return Pin::new(&mut self.inner).poll_flush(cx);
        }
        if self.deadline.is_none() {
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.deadline = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut scratch = [0u8; 16 * 1024];
        loop {
            if self.drained >= LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            if let Some(deadline) = self.deadline.as_mut()
                && deadline.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => self.drained += buf.filled().len(),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
