//! `serve::serve` over real sockets on 127.0.0.1: silent connections (slowloris) are closed after
//! the header-read timeout while real requests are answered, connections over the limit get
//! `503` and are closed, WebSocket sessions count against the limit, handlers see the peer's
//! address, and graceful shutdown lets requests finish and cuts streams after its timeout.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::serve::{ServeConfig, serve};

/// Bounds every wait of these tests.
const DEADLINE: Duration = Duration::from_secs(20);

/// The test routes; `/slow` notifies `started` when its handler starts.
fn router(started: Arc<Notify>) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/slow",
            get(move || async move {
                started.notify_one();
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow"
            }),
        )
        .route(
            "/stream",
            get(|| async {
                let ticks = futures_util::stream::unfold(0u64, |n| async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((bytes::Bytes::from(format!("data: {n}\n\n")), n + 1))
                });
                wiregen_runtime::sse::server::sse_response(
                    ticks,
                    &wiregen_runtime::sse::server::ServerConfig::default(),
                )
            }),
        )
        .route(
            "/ws",
            get(|ws: axum::extract::ws::WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    // Echo until the client goes.
                    while let Some(Ok(message)) = socket.recv().await {
                        if socket.send(message).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        )
}

async fn start(config: ServeConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, router(Arc::default()), config).into_future());
    addr
}

/// One request on a new connection; the whole response as text, up to the end of the
/// connection (`Connection: close`).
async fn get_text(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut response))
        .await
        .unwrap_or_else(|_| panic!("no answer to GET {path} from {local} in time"))
        .unwrap();
    String::from_utf8(response).unwrap()
}

/// Wait until the server closes `tcp` (which is sent nothing); when that was.
async fn closed_by_server(mut tcp: TcpStream) -> Instant {
    let mut buffer = [0u8; 256];
    match tokio::time::timeout(DEADLINE, tcp.read(&mut buffer)).await {
        Err(_) => panic!("the server never closed a silent connection"),
        Ok(Ok(0) | Err(_)) => Instant::now(),
        Ok(Ok(n)) => panic!("a silent connection got {n} bytes"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_and_real_requests_still_answered() {
    const SILENT: usize = 200;
    let timeout = Duration::from_millis(600);
    let addr = start(
        ServeConfig::default()
            .header_read_timeout(Some(timeout))
            .max_connections(256),
    )
    .await;
    let started = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    // A head that never ends is cut off too.
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
    // A real request meanwhile is answered.
    let response = get_text(addr, "/hello").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hello"), "{response}");
    // Every silent connection is closed by the server, none before its timeout.
    let closing = silent.into_iter().chain([partial]).map(closed_by_server);
    let closed = futures_util::future::join_all(closing).await;
    let first = closed.iter().min().unwrap().duration_since(started);
    assert!(first >= timeout, "closed after {first:?}");
    // And the server goes on.
    let response = get_text(addr, "/hello").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_503_then_are_closed() {
    const LIMIT: usize = 8;
    let addr = start(
        ServeConfig::default()
            .header_read_timeout(Some(Duration::from_secs(30)))
            .max_connections(LIMIT),
    )
    .await;
    let mut silent = Vec::new();
    for _ in 0..LIMIT {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    // Connections are accepted in order: these come after the limit is reached.
    for _ in 0..3 {
        let response = get_text(addr, "/hello").await;
        assert!(
            response.starts_with("HTTP/1.1 503 Service Unavailable"),
            "{response}"
        );
        let lower = response.to_ascii_lowercase();
        assert!(lower.contains("retry-after: 1"), "{response}");
        assert!(lower.contains("connection: close"), "{response}");
    }
    // A place freed is taken again.
    silent.truncate(LIMIT - 2);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let response = get_text(addr, "/hello").await;
        if response.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(response.starts_with("HTTP/1.1 503"), "{response}");
        assert!(
            Instant::now() < deadline,
            "the freed places never came back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sessions_hold_their_place_under_the_limit() {
    let addr = start(ServeConfig::default().max_connections(2)).await;
    let (mut first, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let (mut second, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    for socket in [&mut first, &mut second] {
        socket.send(Message::text("ping")).await.unwrap();
        let echo = tokio::time::timeout(DEADLINE, socket.next()).await.unwrap();
        assert_eq!(echo.unwrap().unwrap(), Message::text("ping"));
    }
    // Two upgraded sessions fill the limit.
    let response = get_text(addr, "/hello").await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let deadline = Instant::now() + DEADLINE;
    while !get_text(addr, "/hello").await.starts_with("HTTP/1.1 200") {
        assert!(
            Instant::now() < deadline,
            "the session's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_the_peer_address() {
    let addr = start(ServeConfig::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    tcp.write_all(
        format!("GET /peer HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.ends_with(&local.to_string()), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_and_cuts_streams_after_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown_timeout = Duration::from_millis(500);
    let slow_started = Arc::new(Notify::new());
    let server = tokio::spawn(
        serve(
            listener,
            router(slow_started.clone()),
            ServeConfig::default().shutdown_timeout(shutdown_timeout),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .into_future(),
    );
    // A stream that is flowing, and a request in progress.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET /stream HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut first = [0u8; 64];
    let n = tokio::time::timeout(DEADLINE, stream.read(&mut first))
        .await
        .unwrap()
        .unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    let slow = tokio::spawn(get_text(addr, "/slow"));
    tokio::time::timeout(DEADLINE, slow_started.notified())
        .await
        .expect("the slow request reaches its handler");
    let stopping = Instant::now();
    stop.send(()).unwrap();

    let response = tokio::time::timeout(DEADLINE, slow)
        .await
        .expect("the request in progress finishes")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("slow"), "{response}");
    // The stream goes on until the shutdown timeout, then is cut.
    let cut = closed_after_data(stream).await.duration_since(stopping);
    assert!(cut >= shutdown_timeout, "cut {cut:?} after the signal");
    tokio::time::timeout(DEADLINE, server)
        .await
        .expect("the server returns")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() < DEADLINE);
    // Nothing is accepted any more.
    assert!(TcpStream::connect(addr).await.is_err());
}

/// Read until the server closes `tcp`; when that was.
async fn closed_after_data(mut tcp: TcpStream) -> Instant {
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(DEADLINE, tcp.read(&mut buffer)).await {
            Err(_) => panic!("the stream was never cut"),
            Ok(Ok(0) | Err(_)) => return Instant::now(),
            Ok(Ok(_)) => {}
        }
    }
}
