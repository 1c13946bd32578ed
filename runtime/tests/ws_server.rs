//! The server half of WebSocket over real sockets on 127.0.0.1: typed dispatch, broadcast by
//! room with isolation, request/reply, invalid frames (error frame or close 1007/1003/1009),
//! the closing handshake, keep-alive and idle timeout, and a client too slow to keep up.

mod ws_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::ws::server::{
    Disconnect, Handler, Hub, InvalidPolicy, Outbound, ServerConfig, WebSocketUpgrade, upgrade,
};
use wiregen_runtime::ws::{DecodeError, close_code};
use ws_support::raw::RawClient;
use ws_support::{ToClient, ToServer};

struct App {
    config: Arc<ServerConfig>,
    hub: Hub<String, ToClient>,
    disconnects: tokio::sync::mpsc::UnboundedSender<Disconnect>,
}

struct Conn {
    room: String,
    hub: Hub<String, ToClient>,
    out: Outbound<ToClient>,
    _membership: wiregen_runtime::ws::server::Membership<String, ToClient>,
    disconnects: tokio::sync::mpsc::UnboundedSender<Disconnect>,
}

impl Handler<ToServer> for Conn {
    async fn on_message(&mut self, message: ToServer) {
        match message {
            ToServer::Bid { amount } => {
                let _ = self.hub.send(
                    &self.room,
                    &ToClient::BidPlaced {
                        amount,
                        room: self.room.clone(),
                    },
                );
            }
            ToServer::History { request_id, limit } => {
                let _ = self.out.send(&ToClient::History {
                    request_id,
                    count: limit,
                });
            }
        }
    }

    async fn on_invalid(&mut self, _error: DecodeError) -> InvalidPolicy {
        InvalidPolicy::ErrorFrame
    }

    async fn on_disconnect(self, reason: Disconnect) {
        let _ = self.disconnects.send(reason);
    }
}

/// A handler that leaves invalid frames to the configured policy.
struct ByPolicy(Conn, InvalidPolicy);

impl Handler<ToServer> for ByPolicy {
    async fn on_message(&mut self, message: ToServer) {
        self.0.on_message(message).await;
    }

    async fn on_invalid(&mut self, _error: DecodeError) -> InvalidPolicy {
        self.1
    }

    async fn on_disconnect(self, reason: Disconnect) {
        self.0.on_disconnect(reason).await;
    }
}

async fn room(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let out = Outbound::new(&app.config);
    let conn = Conn {
        _membership: app.hub.join(room.clone(), &out),
        room,
        hub: app.hub.clone(),
        out: out.clone(),
        disconnects: app.disconnects.clone(),
    };
    let policy = app.config.on_invalid;
    upgrade::<ToServer, ToClient, _>(ws, app.config.clone(), out, ByPolicy(conn, policy))
}

struct Server {
    addr: SocketAddr,
    hub: Hub<String, ToClient>,
    disconnects: tokio::sync::mpsc::UnboundedReceiver<Disconnect>,
}

/// How the test server takes connections: each hands the upgraded connection over as a stream
/// of another type.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// `axum::serve` (hyper-util's server, which reads ahead to tell HTTP/1 from HTTP/2).
    Axum,
    /// The runtime's `serve::serve` (hyper's HTTP/1 server, a connection limit).
    Runtime,
    /// hyper's HTTP/1 server over a stream type of the test's own, as a TLS layer would be.
    Wrapped,
}

/// A TCP stream of a type the runtime does not know.
struct Wrapped(tokio::net::TcpStream);

impl tokio::io::AsyncRead for Wrapped {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Wrapped {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

async fn serve(config: ServerConfig) -> Server {
    serve_on(config, Transport::Axum).await
}

async fn serve_on(config: ServerConfig, transport: Transport) -> Server {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let hub = Hub::new();
    let app = Arc::new(App {
        config: Arc::new(config),
        hub: hub.clone(),
        disconnects: tx,
    });
    let router = Router::new()
        .route("/rooms/{room}", axum::routing::get(room))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    match transport {
        Transport::Axum => {
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
        Transport::Runtime => {
            let serving = wiregen_runtime::serve::serve(
                listener,
                router,
                wiregen_runtime::serve::ServeConfig::default(),
            );
            tokio::spawn(async move { serving.await });
        }
        Transport::Wrapped => {
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let router = router.clone();
                    let service =
                        hyper::service::service_fn(move |request: axum::extract::Request<_>| {
                            let mut router = router.clone();
                            tower_service::Service::call(&mut router, request)
                        });
                    tokio::spawn(
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(Wrapped(tcp)), service)
                            .with_upgrades(),
                    );
                }
            });
        }
    }
    Server {
        addr,
        hub,
        disconnects: rx,
    }
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn client(addr: SocketAddr, room: &str) -> Client {
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/rooms/{room}"))
        .await
        .expect("connects");
    socket
}

/// The next text frame, decoded.
async fn next_message(socket: &mut Client) -> ToClient {
    let text = next_text(socket).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn next_text(socket: &mut Client) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame in time")
            .expect("not ended")
            .expect("no error");
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected text, got {other:?}"),
        }
    }
}

async fn wait_members(hub: &Hub<String, ToClient>, room: &str, count: usize) {
    for _ in 0..500 {
        if hub.members(&room.to_owned()) == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "room {room} never had {count} members (has {})",
        hub.members(&room.to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_member_of_one_room_only() {
    let server = serve(ServerConfig::default()).await;
    let mut room_a = Vec::new();
    for _ in 0..20 {
        room_a.push(client(server.addr, "a").await);
    }
    let mut room_b = client(server.addr, "b").await;
    wait_members(&server.hub, "a", 20).await;
    wait_members(&server.hub, "b", 1).await;

    room_a[0]
        .send(Message::text(r#"{"type":"bid","amount":10}"#))
        .await
        .unwrap();
    room_b
        .send(Message::text(r#"{"type":"bid","amount":99}"#))
        .await
        .unwrap();
    for socket in &mut room_a {
        assert_eq!(
            next_text(socket).await,
            r#"{"type":"bid","amount":10.0,"room":"a"}"#
        );
    }
    assert_eq!(
        next_text(&mut room_b).await,
        r#"{"type":"bid","amount":99.0,"room":"b"}"#
    );
    // Nothing else arrives in room b.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), room_b.next())
            .await
            .is_err()
    );

    // Members leave when their connection ends.
    for mut socket in room_a.drain(..10) {
        socket.close(None).await.unwrap();
        while socket.next().await.is_some() {}
    }
    wait_members(&server.hub, "a", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_to_the_asker_with_its_correlation_id() {
    let server = serve(ServerConfig::default()).await;
    let mut asker = client(server.addr, "a").await;
    let mut other = client(server.addr, "a").await;
    asker
        .send(Message::text(
            r#"{"type":"history","requestId":"r-7","limit":3}"#,
        ))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut asker).await,
        r#"{"type":"history","requestId":"r-7","count":3}"#
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), other.next())
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_frames_get_an_error_frame_and_the_connection_goes_on() {
    let server = serve(ServerConfig::default()).await;
    let mut offender = client(server.addr, "a").await;
    let mut bystander = client(server.addr, "a").await;
    wait_members(&server.hub, "a", 2).await;
    let table: [(Message, &str); 5] = [
        (Message::text("{nope"), "invalid_json"),
        (Message::text(r#"{"type":"bid","amount":"x"}"#), "schema"),
        (Message::text(r#"{"type":"sell"}"#), "unknown_tag"),
        (Message::text(r#"{"amount":1}"#), "missing_tag"),
        (Message::binary(vec![1u8, 2, 3]), "unexpected_binary"),
    ];
    for (frame, kind) in table {
        offender.send(frame).await.unwrap();
        let reply: serde_json::Value =
            serde_json::from_str(&next_text(&mut offender).await).unwrap();
        assert_eq!(reply["error"], kind);
    }
    // Both connections still work.
    offender
        .send(Message::text(r#"{"type":"bid","amount":5}"#))
        .await
        .unwrap();
    for socket in [&mut offender, &mut bystander] {
        assert_eq!(
            next_text(socket).await,
            r#"{"type":"bid","amount":5.0,"room":"a"}"#
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_frames_close_with_their_code_when_asked() {
    let mut server = serve(ServerConfig::default().on_invalid(InvalidPolicy::Close)).await;
    let mut bystander = client(server.addr, "a").await;
    let cases: [(u8, Vec<u8>, u16); 4] = [
        (1, b"{nope".to_vec(), close_code::INVALID_PAYLOAD),
        (
            1,
            br#"{"type":"sell"}"#.to_vec(),
            close_code::INVALID_PAYLOAD,
        ),
        (2, vec![0, 1, 2], close_code::UNSUPPORTED_DATA),
        // A text frame that is not UTF-8: rejected by the protocol layer itself.
        (1, vec![0xff, 0xfe, 0xfd], close_code::INVALID_PAYLOAD),
    ];
    for (opcode, payload, code) in cases {
        let mut raw = RawClient::connect(server.addr, "/rooms/a", None).await;
        raw.send(opcode, &payload).await;
        let close = raw.until_close().await.expect("a Close frame");
        assert_eq!(close.close_code(), Some(code), "{payload:?}");
        // Complete the handshake; the server then ends the connection.
        raw.send(8, &code.to_be_bytes()).await;
        assert!(raw.recv().await.is_none());
        assert_eq!(
            server.disconnects.recv().await,
            Some(Disconnect::ByServer(code))
        );
    }
    // Oversize: 1009.
    let small = serve(ServerConfig::default().max_message_size(1024)).await;
    let mut raw = RawClient::connect(small.addr, "/rooms/a", None).await;
    raw.send(
        1,
        format!(
            r#"{{"type":"bid","amount":1,"pad":"{}"}}"#,
            "x".repeat(4096)
        )
        .as_bytes(),
    )
    .await;
    let close = raw.until_close().await.expect("a Close frame");
    assert_eq!(close.close_code(), Some(close_code::MESSAGE_TOO_BIG));

    // The bystander never noticed.
    bystander
        .send(Message::text(r#"{"type":"bid","amount":1}"#))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut bystander).await,
        r#"{"type":"bid","amount":1.0,"room":"a"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_close_is_answered_and_the_stream_ends() {
    let mut server = serve(ServerConfig::default()).await;
    let mut raw = RawClient::connect(server.addr, "/rooms/a", None).await;
    raw.send(8, &1000u16.to_be_bytes()).await;
    let reply = raw
        .until_close()
        .await
        .expect("the server answers the Close");
    assert_eq!(reply.close_code(), Some(1000));
    assert!(
        raw.recv().await.is_none(),
        "then the server ends the connection"
    );
    assert_eq!(
        server.disconnects.recv().await,
        Some(Disconnect::ByPeer(Some(1000)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_pinged_then_closed_as_idle() {
    let config = ServerConfig::default().keep_alive(
        Some(Duration::from_millis(50)),
        Some(Duration::from_millis(200)),
    );
    let mut server = serve(config).await;
    let started = std::time::Instant::now();
    let mut raw = RawClient::connect(server.addr, "/rooms/a", None).await;
    let mut pings = 0;
    let close = loop {
        let frame = raw.recv().await.expect("frames until the close");
        match frame.opcode {
            9 => pings += 1,
            8 => break frame,
            other => panic!("unexpected opcode {other}"),
        }
    };
    assert!(pings >= 2, "{pings} pings");
    assert_eq!(close.close_code(), Some(close_code::GOING_AWAY));
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(raw);
    assert_eq!(
        server.disconnects.recv().await,
        Some(Disconnect::ByServer(close_code::GOING_AWAY))
    );

    // A client that answers pings stays.
    let mut polite = client(server.addr, "a").await;
    let keep = tokio::spawn(async move {
        // tungstenite answers pings while it reads.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(600);
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, polite.next()).await {}
        polite
    });
    let mut polite = keep.await.unwrap();
    polite
        .send(Message::text(r#"{"type":"bid","amount":2}"#))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut polite).await,
        r#"{"type":"bid","amount":2.0,"room":"a"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_its_queue_stays_bounded() {
    const CAPACITY: usize = 64;
    const MESSAGES: usize = 4000;
    let server = serve(ServerConfig::default().queue_capacity(CAPACITY)).await;
    let mut fast = client(server.addr, "a").await;
    let slow = RawClient::connect(server.addr, "/rooms/a", Some(4096)).await;
    wait_members(&server.hub, "a", 2).await;
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < MESSAGES {
            next_text(&mut fast).await;
            seen += 1;
        }
        (seen, fast)
    });
    let big = ToClient::BidPlaced {
        amount: 1.0,
        room: "x".repeat(1024),
    };
    let mut overflowed = 0;
    let started = std::time::Instant::now();
    for i in 0..MESSAGES {
        let delivery = server.hub.send(&"a".to_owned(), &big).unwrap();
        overflowed += delivery.overflowed;
        if i % 32 == 31 {
            // Let the fast reader keep up; the slow one never reads.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bounded in time"
        );
    }
    assert_eq!(overflowed, 1, "the slow client overflowed exactly once");
    let (seen, fast) = reader.await.unwrap();
    assert_eq!(seen, MESSAGES, "the fast client got everything");
    // The slow one was removed from the room; the fast one is still in it.
    wait_members(&server.hub, "a", 1).await;
    drop((slow, fast));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_behind_its_room_by_more_than_its_bound_gets_what_it_had_then_1008() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CAPACITY: usize = 32;
    const MESSAGES: usize = 4000;
    const WINDOW: usize = 8;
    // A long write timeout: the slow member's socket stays full until the test reads it.
    let config = ServerConfig::default()
        .queue_capacity(CAPACITY)
        .write_timeout(Duration::from_secs(120));
    let mut server = serve(config).await;
    let mut fast = client(server.addr, "a").await;
    // Never reads until the end, with a small receive buffer.
    let mut slow = RawClient::connect(server.addr, "/rooms/a", Some(4096)).await;
    wait_members(&server.hub, "a", 2).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let received = Arc::new(AtomicUsize::new(0));
    let reader = {
        let received = received.clone();
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                let text = next_text(&mut fast).await;
                let message: ToClient = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    message,
                    ToClient::BidPlaced {
                        amount: i as f64,
                        room: "x".repeat(1024)
                    },
                    "the fast member gets every frame, in order"
                );
                received.fetch_add(1, Ordering::Relaxed);
            }
            fast
        })
    };
    let mut overflowed = 0;
    for i in 0..MESSAGES {
        // Keep within a few frames of the fast member, so only the slow one falls behind.
        while i - received.load(Ordering::Relaxed) > WINDOW {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the fast member keeps up"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let big = ToClient::BidPlaced {
            amount: i as f64,
            room: "x".repeat(1024),
        };
        overflowed += server.hub.send(&"a".to_owned(), &big).unwrap().overflowed;
    }
    assert_eq!(overflowed, 1, "the slow member overflowed exactly once");
    let fast = tokio::time::timeout_at(deadline, reader)
        .await
        .expect("the fast member gets everything in time")
        .unwrap();
    assert_eq!(server.hub.members(&"a".to_owned()), 1);
    // The slow member gets a prefix of the frames, in order, then a Close with 1008.
    let mut got = 0;
    let close = loop {
        let frame = tokio::time::timeout_at(deadline, slow.recv())
            .await
            .expect("the slow member's frames in time")
            .expect("a Close before the end");
        match frame.opcode {
            1 => {
                let message: ToClient = serde_json::from_slice(&frame.payload).unwrap();
                assert!(
                    matches!(message, ToClient::BidPlaced { amount, .. } if amount == got as f64),
                    "frame {got} in order"
                );
                got += 1;
            }
            8 => break frame,
            _ => {}
        }
    };
    assert_eq!(close.close_code(), Some(close_code::POLICY_VIOLATION));
    assert!(got < MESSAGES - CAPACITY, "it fell behind ({got} frames)");
    let reason = tokio::time::timeout_at(deadline, server.disconnects.recv())
        .await
        .expect("the server reports the slow member's end");
    assert_eq!(
        reason,
        Some(Disconnect::ByServer(close_code::POLICY_VIOLATION))
    );
    drop(fast);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_messages_gets_its_broadcasts_and_answers_in_the_order_they_were_sent() {
    // Far more than the server reads in a row before it writes; the bound is not in question.
    const BIDS: usize = 500;
    let server = serve(ServerConfig::default().queue_capacity(4 * BIDS)).await;
    let mut socket = client(server.addr, "burst").await;
    let mut other = client(server.addr, "burst").await;
    wait_members(&server.hub, "burst", 2).await;
    for amount in 0..BIDS {
        let bid = serde_json::json!({"type": "bid", "amount": amount});
        socket.feed(Message::text(bid.to_string())).await.unwrap();
    }
    let history = serde_json::json!({"type": "history", "requestId": "after", "limit": 1});
    socket
        .feed(Message::text(history.to_string()))
        .await
        .unwrap();
    // One write: the whole burst reaches the server at once.
    socket.flush().await.unwrap();
    for amount in 0..BIDS {
        let expected = ToClient::BidPlaced {
            amount: amount as f64,
            room: "burst".into(),
        };
        let got = next_message(&mut socket).await;
        assert_eq!(got, expected, "the sender, broadcast {amount}");
        let got = next_message(&mut other).await;
        assert_eq!(got, expected, "the other member, broadcast {amount}");
    }
    let answer = next_message(&mut socket).await;
    assert_eq!(
        answer,
        ToClient::History {
            request_id: "after".into(),
            count: 1
        },
        "the direct answer comes after the broadcasts sent before it"
    );
}

/// Whatever server and stream hyper upgraded, a frame sent in the same packet as the handshake
/// is read, frames of every header size are written, and what a burst causes comes out in the
/// order it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_reads_early_frames_and_writes_frames_of_every_size_in_order() {
    const BIDS: usize = 300;
    for transport in [Transport::Axum, Transport::Runtime, Transport::Wrapped] {
        let config = ServerConfig::default()
            .queue_capacity(4 * BIDS)
            .max_message_size(1 << 20);
        let server = serve_on(config, transport).await;
        let early = serde_json::json!({"type": "history", "requestId": "early", "limit": 2});
        let early = early.to_string();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        let mut raw = RawClient::connect_sending(
            server.addr,
            "/rooms/sizes",
            socket,
            &[(1, early.as_bytes())],
        )
        .await;
        let answer = tokio::time::timeout(Duration::from_secs(5), raw.recv())
            .await
            .unwrap_or_else(|_| panic!("{transport:?}: no answer to the early frame"))
            .unwrap_or_else(|| panic!("{transport:?}: the connection ended"));
        let answer: ToClient = serde_json::from_slice(&answer.payload).unwrap();
        assert_eq!(
            answer,
            ToClient::History {
                request_id: "early".into(),
                count: 2
            },
            "{transport:?}"
        );
        // Payloads of 7-bit, 16-bit and 64-bit lengths, and the edges between them.
        for id_len in [90, 100, 200, 65_400, 65_535, 70_000] {
            let id = "x".repeat(id_len);
            let ask = serde_json::json!({"type": "history", "requestId": id, "limit": 1});
            raw.send(1, ask.to_string().as_bytes()).await;
            let frame = tokio::time::timeout(Duration::from_secs(5), raw.recv())
                .await
                .unwrap_or_else(|_| panic!("{transport:?}: no answer of {id_len}"))
                .unwrap_or_else(|| panic!("{transport:?}: ended at {id_len}"));
            assert_eq!(frame.opcode, 1, "{transport:?}: a text frame");
            let answer: ToClient = serde_json::from_slice(&frame.payload).unwrap();
            assert_eq!(
                answer,
                ToClient::History {
                    request_id: id,
                    count: 1
                },
                "{transport:?}: {id_len}"
            );
        }
        drop(raw);

        let mut socket = client(server.addr, "burst").await;
        let mut other = client(server.addr, "burst").await;
        wait_members(&server.hub, "burst", 2).await;
        for amount in 0..BIDS {
            let bid = serde_json::json!({"type": "bid", "amount": amount});
            socket.feed(Message::text(bid.to_string())).await.unwrap();
            if amount % 100 == 50 {
                let ask = serde_json::json!({"type": "history", "requestId": amount.to_string(), "limit": 1});
                socket.feed(Message::text(ask.to_string())).await.unwrap();
            }
        }
        socket.flush().await.unwrap();
        for amount in 0..BIDS {
            let expected = ToClient::BidPlaced {
                amount: amount as f64,
                room: "burst".into(),
            };
            let got = next_message(&mut socket).await;
            assert_eq!(
                got, expected,
                "{transport:?}: the sender, broadcast {amount}"
            );
            if amount % 100 == 50 {
                let got = next_message(&mut socket).await;
                let expected = ToClient::History {
                    request_id: amount.to_string(),
                    count: 1,
                };
                assert_eq!(
                    got, expected,
                    "{transport:?}: the answer after bid {amount}"
                );
            }
            let got = next_message(&mut other).await;
            assert_eq!(
                got, expected,
                "{transport:?}: the other member, broadcast {amount}"
            );
        }
    }
}
