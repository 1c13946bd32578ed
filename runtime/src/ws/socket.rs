//! The stream under a server connection.
//!
//! hyper hands an upgraded connection over as a boxed stream; when that is a TCP stream (the
//! runtime's `serve::serve`, or hyper's HTTP/1 server over a `TcpStream`), the connection takes
//! it back out, so that it can wait for the socket to become readable rather than ask
//! tungstenite to read, which prepares (and zeroes) its read buffer every time. Any other
//! stream (`axum::serve`, which reads ahead to tell HTTP/1 from HTTP/2, or TLS) is served as it
//! is, asking tungstenite every time.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

/// For a stream that cannot say whether it has something to read: ask tungstenite every time.
pub(super) fn always_readable<S>(_: &S, _: &mut Context<'_>) -> Poll<()> {
    Poll::Ready(())
}

/// A TCP stream an upgrade was served on, with what hyper had read past the handshake.
///
/// After tungstenite has found nothing to read, the connection waits for the socket itself to
/// become readable before asking it again: tungstenite prepares (and zeroes) its read buffer on
/// every read, which a connection busy writing broadcasts would otherwise pay after every round.
pub(super) struct Direct<T> {
    io: T,
    unread: bytes::Bytes,
}

/// A TCP stream that can tell whether it has something to read.
pub(super) trait ReadReady: AsyncRead + AsyncWrite + Unpin {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>;
}

impl ReadReady for tokio::net::TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }
}

impl ReadReady for crate::serve::Counted {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        crate::serve::Counted::poll_read_ready(self, cx)
    }
}

impl<T: ReadReady> Direct<T> {
    pub(super) fn new(io: T, unread: bytes::Bytes) -> Self {
        // An empty view would still keep hyper's whole read buffer alive.
        let unread = if unread.is_empty() {
            bytes::Bytes::new()
        } else {
            unread
        };
        Direct { io, unread }
    }

    /// Ready when there is something to read, or an error that a read will report.
    pub(super) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.unread.is_empty() {
            self.io.poll_read_ready(cx).map(|_| ())
        } else {
            Poll::Ready(())
        }
    }
}

impl<T: ReadReady> AsyncRead for Direct<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.unread.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.unread.len().min(buf.remaining());
        buf.put_slice(&this.unread.split_to(n));
        if this.unread.is_empty() {
            this.unread = bytes::Bytes::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: ReadReady> AsyncWrite for Direct<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
