//! Serving a router over TCP with what `axum::serve` leaves to the application: `TCP_NODELAY`
//! on every connection, a timeout for reading each request head, a limit on open connections
//! (`503` beyond it), and graceful shutdown.
//!
//! ```no_run
//! # async fn run(router: axum::Router) -> std::io::Result<()> {
//! use wiregen_runtime::serve::{ServeConfig, serve};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! # drop(stop);
//! serve(listener, router, ServeConfig::default())
//!     .with_graceful_shutdown(async move {
//!         let _ = stopped.await;
//!     })
//!     .await
//! # }
//! ```
//!
//! **Why.** axum 0.8's `serve` leaves Nagle's algorithm on (small SSE frames and WebSocket
//! messages then wait for the peer's delayed ACK: about three times fewer deliveries were
//! measured), sets no header-read timeout (connections that never send a request stay open
//! forever: about a thousand of them use up a 1024-descriptor limit and the server stops
//! answering), and accepts connections without a bound.
//!
//! **Connections.** HTTP/1.1 (what `EventSource` and WebSocket upgrades use; HTTP/2 is not
//! offered), served by hyper with keep-alive. A connection has [`ServeConfig::header_read_timeout`]
//! to send each request head, also when idle between keep-alive requests; then it is closed.
//! At most [`ServeConfig::max_connections`] are served at once, WebSocket sessions included
//! (an upgraded connection keeps its place until it ends). Beyond that, a connection is
//! answered `503 Service Unavailable` with `Retry-After: 1` and closed, at most an eighth of
//! the limit (at least 16) at a time and each within 2 s; past that, it is closed at once.
//! Handlers can read the peer's address with `axum::extract::ConnectInfo<SocketAddr>`.
//!
//! **Shutdown.** Once the [`Serve::with_graceful_shutdown`] signal completes, no connection is
//! accepted, idle connections are closed, requests in progress finish, and responses still
//! streaming (SSE) after [`ServeConfig::shutdown_timeout`] are cut (their clients reconnect
//! elsewhere and resume with `Last-Event-ID`). Upgraded WebSocket sessions are not waited for.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use http::{Request, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// The longest a connection over the limit is kept to be told `503`.
const REJECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Settings of [`serve`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeConfig {
    /// How long a connection has to send a whole request head, from when the server starts
    /// waiting for it (right after accepting, and after each response on a kept-alive
    /// connection); then it is closed. Default 30 s; `None` waits forever (not advised).
    pub header_read_timeout: Option<Duration>,
    /// How many connections are served at once; more are answered `503` and closed. Default:
    /// three quarters of the process's open-file limit where there is one (768 under the
    /// common 1024), leaving descriptors for the listener, the `503`s and the application;
    /// else 10,000.
    pub max_connections: usize,
    /// Set `TCP_NODELAY` on every connection (default yes): frames go out when written rather
    /// than waiting to fill a segment.
    pub nodelay: bool,
    /// After the shutdown signal, how long responses still in progress (an SSE stream never
    /// ends by itself) may go on before their connections are closed. Default 10 s.
    pub shutdown_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_read_timeout: Some(Duration::from_secs(30)),
            max_connections: default_max_connections(),
            nodelay: true,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

impl ServeConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set [`header_read_timeout`](Self::header_read_timeout).
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Set [`max_connections`](Self::max_connections) (at least 1).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Set [`nodelay`](Self::nodelay).
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Set [`shutdown_timeout`](Self::shutdown_timeout).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

/// Three quarters of the soft open-file limit, where the platform has one.
fn default_max_connections() -> usize {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        if let Some(soft) = limit.current {
            let budget = usize::try_from(soft / 4 * 3).unwrap_or(usize::MAX);
            return budget.clamp(16, 1 << 20);
        }
    }
    10_000
}

/// Serve `router` on the connections `listener` accepts, with `config`; see the module docs.
/// Await the result (an [`IntoFuture`]); add a shutdown signal with
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown).
pub fn serve(listener: TcpListener, router: Router, config: ServeConfig) -> Serve {
    Serve {
        listener,
        router,
        config,
        signal: None,
    }
}

/// A server ready to run: await it (it runs until the shutdown signal, and then until the
/// connections it was serving have finished).
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    signal: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("config", &self.config)
            .field("graceful_shutdown", &self.signal.is_some())
            .finish_non_exhaustive()
    }
}

impl Serve {
    /// Stop accepting once `signal` completes, let requests in progress finish (streams for
    /// up to [`ServeConfig::shutdown_timeout`]), then return.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl IntoFuture for Serve {
    /// Never an error today: failed accepts (out of descriptors, a connection reset before it
    /// was accepted) are waited out and retried.
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// What every connection task shares.
struct Shared {
    router: Router,
    header_read_timeout: Option<Duration>,
    shutdown_timeout: Duration,
}

impl Serve {
    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            router,
            config,
            signal,
        } = self;
        let mut signal = signal.unwrap_or_else(|| Box::pin(std::future::pending()));
        let served = Arc::new(Semaphore::new(config.max_connections));
        let rejecting = Arc::new(Semaphore::new((config.max_connections / 8).max(16)));
        let shared = Arc::new(Shared {
            router,
            header_read_timeout: config.header_read_timeout,
            shutdown_timeout: config.shutdown_timeout,
        });
        // Every connection task holds a receiver: the sender says when to shut down and sees
        // when the last task is gone.
        let (shutdown, watching) = watch::channel(false);
        loop {
            let (tcp, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        accept_failed(&error).await;
                        continue;
                    }
                },
                () = &mut signal => break,
            };
            prepare(&tcp, &config);
            if let Ok(place) = served.clone().try_acquire_owned() {
                let io = Counted { tcp, _place: place };
                tokio::spawn(connection(io, remote, shared.clone(), watching.clone()));
            } else if let Ok(place) = rejecting.clone().try_acquire_owned() {
                tokio::spawn(reject(tcp, place, config.header_read_timeout));
            }
            // Else the connection is dropped, which closes it.
        }
        drop(listener);
        let _ = shutdown.send(true);
        drop(watching);
        // Each task ends within `shutdown_timeout` of the signal.
        shutdown.closed().await;
        Ok(())
    }
}

/// Set up an accepted socket as `config` asks.
fn prepare(tcp: &TcpStream, config: &ServeConfig) {
    if config.nodelay {
        // A socket that refuses it is served all the same.
        let _ = tcp.set_nodelay(true);
    }
}

/// After a failed accept: out of descriptors (or memory), wait for some to be freed before
/// trying again, rather than spinning; a connection that failed on its own is just skipped.
async fn accept_failed(error: &io::Error) {
    let per_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    );
    if !per_connection {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Serve one connection until it ends, or until `shutdown_timeout` after the shutdown signal.
async fn connection(
    io: Counted,
    remote: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = shared.router.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        let mut router = router.clone();
        // A router is always ready: no `poll_ready` needed.
        tower_service::Service::call(&mut router, request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.header_read_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        // Ended (or handed over to a WebSocket session), whether cleanly or not: a client
        // that went away is nothing to report.
        _ = connection.as_mut() => return,
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(shared.shutdown_timeout, connection).await;
}

/// Tell a connection over the limit `503` and close it.
async fn reject(
    tcp: TcpStream,
    place: OwnedSemaphorePermit,
    header_read_timeout: Option<Duration>,
) {
    let wait = header_read_timeout.map_or(REJECT_TIMEOUT, |t| t.min(REJECT_TIMEOUT));
    let service = hyper::service::service_fn(|_request: Request<Incoming>| async {
        let mut response = Response::new(Body::from(
            "the server is serving as many connections as it can; try again shortly\n",
        ));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        Ok::<_, Infallible>(response)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(wait)
        .keep_alive(false);
    let answering = builder.serve_connection(TokioIo::new(tcp), service);
    let _ = tokio::time::timeout(wait * 2, answering).await;
    drop(place);
}

/// A served connection's socket with its place under the limit, given back when the socket is
/// dropped: also when a WebSocket session took the socket over from hyper.
struct Counted {
    tcp: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limit_leaves_descriptors_free() {
        let limit = default_max_connections();
        assert!((16..=1 << 20).contains(&limit), "{limit}");
        #[cfg(unix)]
        if let Some(soft) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
            assert!((limit as u64) < soft.max(17), "{limit} of {soft}");
        }
    }

    #[tokio::test]
    async fn accepted_connections_get_nodelay_unless_asked_not_to() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for nodelay in [true, false] {
            let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
            let (tcp, _) = accepted.unwrap();
            prepare(&tcp, &ServeConfig::default().nodelay(nodelay));
            assert_eq!(tcp.nodelay().unwrap(), nodelay);
            drop(client);
        }
        assert!(ServeConfig::default().nodelay);
    }
}
