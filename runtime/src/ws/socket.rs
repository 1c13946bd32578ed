//! The stream under a server connection.
//!
//! A connection asks tungstenite to read only when the stream has something new to read: once
//! tungstenite has found nothing, the connection waits for the stream to wake its reader,
//! because tungstenite prepares (and zeroes) its read buffer on every read, which a connection
//! busy writing broadcasts would otherwise pay after every write round. [`Gated`] notes those
//! wake-ups, whatever the stream (hyper's upgraded connection, over TCP or TLS).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite};

/// Any stream, noting whether it has woken its reader since its last read that found nothing.
pub(super) struct Gated<S> {
    io: S,
    signal: Arc<ReadSignal>,
    /// `signal` as a waker, made once: the stream keeps it, and every read passes the same one.
    waker: Waker,
}

/// Set when the stream wakes the reader; passes the wake-up on to whoever waits.
struct ReadSignal {
    woken: AtomicBool,
    waiting: AtomicWaker,
}

impl Wake for ReadSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.waiting.wake();
    }
}

impl<S> Gated<S> {
    pub(super) fn new(io: S) -> Self {
        let signal = Arc::new(ReadSignal {
            woken: AtomicBool::new(false),
            waiting: AtomicWaker::new(),
        });
        let waker = Waker::from(signal.clone());
        Gated { io, signal, waker }
    }

    /// Ready once the stream has woken its reader since the last read found nothing.
    pub(super) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.woken.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.signal.waiting.register(cx.waker());
        // A wake-up between the look above and the registration is not lost.
        if self.signal.woken.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Gated<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        // The stream wakes the signal, which wakes the caller's waker too.
        this.signal.waiting.register(cx.waker());
        this.signal.woken.store(false, Ordering::Release);
        let mut own = Context::from_waker(&this.waker);
        Pin::new(&mut this.io).poll_read(&mut own, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Gated<S> {
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

/// For a stream served as it is ([`serve_socket`](super::server::serve_socket)): ask
/// tungstenite every time.
pub(super) fn always_readable<S>(_: &S, _: &mut Context<'_>) -> Poll<()> {
    Poll::Ready(())
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadBuf};

    use super::*;

    #[tokio::test]
    async fn a_gated_stream_is_readable_again_only_once_its_peer_writes() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut gated = Gated::new(near);
        let mut buf = [0u8; 8];
        let read_waits = poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut buf);
            Poll::Ready(Pin::new(&mut gated).poll_read(cx, &mut buf).is_pending())
        })
        .await;
        assert!(read_waits, "nothing to read yet");
        assert!(
            poll_fn(|cx| Poll::Ready(gated.poll_readable(cx).is_pending())).await,
            "nothing has been written since that read"
        );
        far.write_all(b"bid").await.unwrap();
        tokio::time::timeout(
            Duration::from_secs(10),
            poll_fn(|cx| gated.poll_readable(cx)),
        )
        .await
        .expect("the write woke the reader");
        let n = gated.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"bid");
    }
}
