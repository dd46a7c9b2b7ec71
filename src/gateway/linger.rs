//! Lingering close. When the gateway closes a connection while the client
//! is still sending (a 431 for a 1 MB header block, say), closing at once
//! makes the kernel answer the unread bytes with a reset, and the client
//! loses the response it was about to read. So after the TLS close, the
//! read side is drained (bounded in time and bytes) before the socket goes.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Longest drain after the close.
const LINGER: Duration = Duration::from_secs(1);
/// Most bytes drained after the close.
const LINGER_BYTES: usize = 4 << 20;

/// An I/O stream whose shutdown lingers.
pub struct Linger<T> {
    inner: T,
    deadline: Option<Pin<Box<Sleep>>>,
    drained: usize,
}

impl<T> Linger<T> {
    /// Wraps a stream.
    pub fn new(inner: T) -> Self {
        Linger {
            inner,
            deadline: None,
            drained: 0,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Linger<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Linger<T> {
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
