//! RFC 6455 strictness on both sides, against hand-written peers over raw TCP on 127.0.0.1: a
//! frame that breaks the protocol is answered with a Close 1002 (1007 for text that is not
//! UTF-8) before the connection ends, the code reaches the application, and a client's sends
//! fail from the moment it learns the connection ended.

mod ws_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::ws::client::{ClientConfig, ClientError, ConnectRequest, Event, connect};
use wiregen_runtime::ws::close_code::{INVALID_PAYLOAD, MESSAGE_TOO_BIG, PROTOCOL_ERROR};
use wiregen_runtime::ws::server::{
    Disconnect, Handler, InvalidPolicy, Outbound, ServerConfig, WebSocketUpgrade, upgrade,
};
use wiregen_runtime::ws::{DecodeError, Frame};
use ws_support::raw::RawClient;
use ws_support::{ToClient, ToServer};

/// Bounds every wait of these tests.
const DEADLINE: Duration = Duration::from_secs(10);

/// One crafted frame: the first header byte as given (FIN, RSV and opcode bits), the payload
/// length encoded as RFC 6455 section 5.2 says, masked with `mask` if given.
fn frame(first: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    match mask {
        Some(mask) => {
            out.extend_from_slice(&mask);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// The protocol violations both sides must answer with 1002 (or 1007), as bytes a peer sends
/// whose frames are masked (`Some`, a client) or not (`None`, a server).
fn violations(mask: Option<[u8; 4]>) -> Vec<(&'static str, Vec<u8>, u16)> {
    let mut fragmented_then_new = frame(0x01, mask, b"a");
    fragmented_then_new.extend(frame(0x81, mask, b"b"));
    let error = PROTOCOL_ERROR;
    vec![
        ("RSV1 set", frame(0xC1, mask, b"hi"), error),
        ("RSV3 set", frame(0x91, mask, b"hi"), error),
        ("unknown data opcode", frame(0x83, mask, b""), error),
        ("unknown control opcode", frame(0x8B, mask, b""), error),
        ("fragmented ping", frame(0x09, mask, b"p"), error),
        ("ping over 125 bytes", frame(0x89, mask, &[7; 126]), error),
        (
            "continuation without a start",
            frame(0x80, mask, b"x"),
            error,
        ),
        (
            "a new message in a fragmented one",
            fragmented_then_new,
            error,
        ),
        (
            "close with a 1-byte payload",
            frame(0x88, mask, &[3]),
            error,
        ),
        (
            "text not UTF-8",
            frame(0x81, mask, &[0xff, 0xfe]),
            INVALID_PAYLOAD,
        ),
    ]
}

/// A frame as a raw peer reads it: opcode and unmasked payload.
#[derive(Debug)]
struct Read {
    opcode: u8,
    payload: Vec<u8>,
}

/// Read one frame (masked or not) from `stream`; `None` at the end of the connection.
async fn read_frame(stream: &mut TcpStream) -> Option<Read> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await.ok()?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).await.ok()?;
            usize::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).await.ok()?;
            usize::try_from(u64::from_be_bytes(ext)).ok()?
        }
        n => usize::from(n),
    };
    let mask = if head[1] & 0x80 != 0 {
        let mut mask = [0u8; 4];
        stream.read_exact(&mut mask).await.ok()?;
        Some(mask)
    } else {
        None
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.ok()?;
    if let Some(mask) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Some(Read {
        opcode: head[0] & 0x0f,
        payload,
    })
}

fn close_code(frame: &Read) -> Option<u16> {
    (frame.opcode == 8 && frame.payload.len() >= 2)
        .then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]))
}

// ---- the server side ----------------------------------------------------------------------

struct Echo {
    out: Outbound<ToClient>,
    disconnects: tokio::sync::mpsc::UnboundedSender<Disconnect>,
}

impl Handler<ToServer> for Echo {
    async fn on_message(&mut self, message: ToServer) {
        if let ToServer::Bid { amount } = message {
            let _ = self.out.send(&ToClient::BidPlaced {
                amount,
                room: "echo".into(),
            });
        }
    }

    async fn on_invalid(&mut self, _error: DecodeError) -> InvalidPolicy {
        InvalidPolicy::ErrorFrame
    }

    async fn on_disconnect(self, reason: Disconnect) {
        let _ = self.disconnects.send(reason);
    }
}

type Disconnects = tokio::sync::mpsc::UnboundedSender<Disconnect>;

async fn endpoint(
    State((config, disconnects)): State<(Arc<ServerConfig>, Disconnects)>,
    ws: WebSocketUpgrade,
) -> Response {
    let out = Outbound::new(&config);
    let echo = Echo {
        out: out.clone(),
        disconnects,
    };
    upgrade::<ToServer, ToClient, _>(ws, config, out, echo)
}

async fn echo_server() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Disconnect>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let router = Router::new()
        .route("/ws", axum::routing::get(endpoint))
        .with_state((Arc::new(ServerConfig::default()), tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_protocol_errors_with_a_close() {
    let (addr, mut disconnects) = echo_server().await;
    let (mut bystander, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let mut cases = violations(Some([0x12, 0x34, 0x56, 0x78]));
    cases.push((
        "an unmasked frame from a client",
        frame(0x81, None, br#"{"type":"bid","amount":1}"#),
        PROTOCOL_ERROR,
    ));
    for (what, bytes, code) in cases {
        let mut raw = RawClient::connect(addr, "/ws", None).await;
        raw.stream.write_all(&bytes).await.unwrap();
        let close = tokio::time::timeout(DEADLINE, read_frame(&mut raw.stream))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer in time"))
            .unwrap_or_else(|| panic!("{what}: the connection ended without a Close"));
        assert_eq!(close_code(&close), Some(code), "{what}: {close:?}");
        // Then the server ends the connection.
        let end = tokio::time::timeout(DEADLINE, read_frame(&mut raw.stream)).await;
        assert!(matches!(end, Ok(None)), "{what}: {end:?}");
        let reason = tokio::time::timeout(DEADLINE, disconnects.recv()).await;
        assert_eq!(
            reason,
            Ok(Some(Disconnect::ByServer(code))),
            "{what}: what the handler learns"
        );
    }
    // Another connection never noticed.
    bystander
        .send(Message::text(r#"{"type":"bid","amount":2}"#))
        .await
        .unwrap();
    let reply = tokio::time::timeout(DEADLINE, bystander.next())
        .await
        .expect("a reply in time")
        .expect("not ended")
        .expect("no error");
    assert_eq!(
        reply.into_text().unwrap().as_str(),
        r#"{"type":"bid","amount":2.0,"room":"echo"}"#
    );
}

// ---- the client side ----------------------------------------------------------------------

/// Accept one WebSocket connection (the handshake by tungstenite), then hand over the raw TCP
/// stream: what a server that breaks the protocol writes goes around the library.
async fn accept_raw(listener: &tokio::net::TcpListener) -> TcpStream {
    let (tcp, _) = listener.accept().await.unwrap();
    let socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
    socket.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_answers_protocol_errors_with_a_close_and_reports_its_code() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cases = violations(None);
    cases.push((
        "a masked frame from a server",
        frame(0x81, Some([1, 2, 3, 4]), b"{}"),
        PROTOCOL_ERROR,
    ));
    for (what, bytes, code) in cases {
        let connecting = connect::<ToServer, ToClient>(
            ConnectRequest::new(format!("ws://{addr}/ws")),
            ClientConfig::default(),
        );
        let (mut tcp, connected) = tokio::join!(accept_raw(&listener), connecting);
        let (sender, mut receiver) = connected.unwrap();
        tcp.write_all(&bytes).await.unwrap();
        let close = tokio::time::timeout(DEADLINE, read_frame(&mut tcp))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer in time"))
            .unwrap_or_else(|| panic!("{what}: the connection ended without a Close"));
        assert_eq!(close_code(&close), Some(code), "{what}: {close:?}");
        // The client waits for the server to end the connection.
        drop(tcp);
        let event = tokio::time::timeout(DEADLINE, receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: no event in time"));
        assert!(
            matches!(event, Some(Event::Disconnected(Some(c))) if c == code),
            "{what}: {event:?}"
        );
        // From the moment the end is known, nothing is accepted.
        let sent = sender.send(&ToServer::Bid { amount: 1.0 }).await;
        assert!(matches!(sent, Err(ClientError::Closed)), "{what}: {sent:?}");
        let sent = sender.send_frame(Frame::text("{}")).await;
        assert!(matches!(sent, Err(ClientError::Closed)), "{what}: {sent:?}");
        let end = tokio::time::timeout(DEADLINE, receiver.recv()).await;
        assert!(matches!(end, Ok(None)), "{what}: {end:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_closes_with_1009_on_a_message_over_its_limit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connecting = connect::<ToServer, ToClient>(
        ConnectRequest::new(format!("ws://{addr}/ws")),
        ClientConfig::default().max_message_size(64),
    );
    let (mut tcp, connected) = tokio::join!(accept_raw(&listener), connecting);
    let (_sender, mut receiver) = connected.unwrap();
    tcp.write_all(&frame(0x81, None, &[b'x'; 100]))
        .await
        .unwrap();
    let close = tokio::time::timeout(DEADLINE, read_frame(&mut tcp))
        .await
        .expect("an answer in time")
        .expect("a Close, not the end");
    assert_eq!(close_code(&close), Some(MESSAGE_TOO_BIG), "{close:?}");
    drop(tcp);
    let event = tokio::time::timeout(DEADLINE, receiver.recv()).await;
    assert!(
        matches!(event, Ok(Some(Event::Disconnected(Some(MESSAGE_TOO_BIG))))),
        "{event:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_fail_as_soon_as_a_closed_connection_is_reported() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Many rounds: the end and the send race each other in every one.
    for round in 0..50 {
        let connecting = connect::<ToServer, ToClient>(
            ConnectRequest::new(format!("ws://{addr}/ws")),
            ClientConfig::default(),
        );
        let (mut tcp, connected) = tokio::join!(accept_raw(&listener), connecting);
        let (sender, mut receiver) = connected.unwrap();
        // A server Close 1012, then the end of the connection.
        tcp.write_all(&frame(0x88, None, &1012u16.to_be_bytes()))
            .await
            .unwrap();
        let sending = {
            let sender = sender.clone();
            tokio::spawn(async move {
                // Sends until one fails; each Ok came before the end was reported.
                let mut accepted = 0u32;
                while sender.send(&ToServer::Bid { amount: 1.0 }).await.is_ok() {
                    accepted += 1;
                    tokio::task::yield_now().await;
                    assert!(accepted < 1_000_000, "sends never failed");
                }
            })
        };
        // The client's frames, then its answer to the Close.
        let answer = tokio::time::timeout(DEADLINE, async {
            loop {
                match read_frame(&mut tcp).await {
                    Some(frame) if frame.opcode == 8 => break close_code(&frame),
                    Some(_) => {}
                    None => break None,
                }
            }
        })
        .await;
        assert_eq!(answer, Ok(Some(1012)), "round {round}");
        drop(tcp);
        let event = tokio::time::timeout(DEADLINE, receiver.recv()).await;
        assert!(
            matches!(event, Ok(Some(Event::Disconnected(Some(1012))))),
            "round {round}: {event:?}"
        );
        let sent = sender.send(&ToServer::Bid { amount: 2.0 }).await;
        assert!(
            matches!(sent, Err(ClientError::Closed)),
            "round {round}: a send after the end was reported: {sent:?}"
        );
        tokio::time::timeout(DEADLINE, sending)
            .await
            .expect("the sending task ends")
            .unwrap();
    }
}
