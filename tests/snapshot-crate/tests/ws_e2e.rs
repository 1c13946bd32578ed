//! The generated pet store WebSocket server and client, end to end over 127.0.0.1: every
//! message of both channels in both directions, request/reply, broadcast to many clients and
//! isolation between auctions, the handshake's security, a table of malformed frames, and a
//! client too slow to keep up.

mod ws_support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::ws::client::{ClientConfig, Event, Receiver};
use wiregen_runtime::ws::server::{InvalidPolicy, ServerConfig};
use wiregen_runtime::ws::{Credential, close_code};
use wiregen_snapshots::petstore_asyncapi::client::{AuctionClient, SupportChatClient};
use wiregen_snapshots::petstore_asyncapi::types::{
    AgentMessage, AgentTyping, AuctionClientMessage, AuctionEnd, AuctionServerMessage, Bid,
    BidPlaced, ChatMessage, HistoryReply, HistoryRequest, Outbid, SupportChatClientMessage,
    SupportChatServerMessage, Typing, Watch,
};
use wiregen_snapshots::petstore_asyncapi::types::{AuctionParams, SupportChatParams};
use ws_support::{Store, TOKEN, sent_at, serve};

const WAIT: Duration = Duration::from_secs(10);

fn token() -> Credential {
    Credential::ApiKey(TOKEN.into())
}

async fn bidder(
    base: &str,
    auction: &str,
    user: &str,
) -> (AuctionClient, Receiver<AuctionServerMessage>) {
    let params = AuctionParams {
        auction_id: auction.into(),
        user_id: Some(user.into()),
    };
    AuctionClient::connect(base, &params, Some(&token()), ClientConfig::default())
        .await
        .expect("connects")
}

async fn next<T: std::fmt::Debug>(receiver: &mut Receiver<T>) -> T {
    match tokio::time::timeout(WAIT, receiver.recv()).await {
        Ok(Some(Event::Message(message))) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn nothing_more<T: std::fmt::Debug>(receiver: &mut Receiver<T>) {
    if let Ok(event) = tokio::time::timeout(Duration::from_millis(200), receiver.recv()).await {
        panic!("expected nothing, got {event:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auction_message_both_ways() {
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let base = format!("ws://{addr}");
    let (alice, mut alice_rx) = bidder(&base, "a-1", "alice").await;
    let (bob, mut bob_rx) = bidder(&base, "a-1", "bob").await;

    alice
        .send(&AuctionClientMessage::Bid(Bid { amount: 100.0 }))
        .await
        .unwrap();
    let placed = AuctionServerMessage::BidPlaced(BidPlaced {
        user_id: "alice".into(),
        amount: 100.0,
    });
    assert_eq!(next(&mut alice_rx).await, placed);
    assert_eq!(next(&mut bob_rx).await, placed);

    bob.send(&AuctionClientMessage::Bid(Bid { amount: 150.5 }))
        .await
        .unwrap();
    assert_eq!(
        next(&mut alice_rx).await,
        AuctionServerMessage::Outbid(Outbid { new_amount: 150.5 })
    );
    let placed = AuctionServerMessage::BidPlaced(BidPlaced {
        user_id: "bob".into(),
        amount: 150.5,
    });
    assert_eq!(next(&mut alice_rx).await, placed);
    assert_eq!(next(&mut bob_rx).await, placed);

    alice
        .send(&AuctionClientMessage::Watch(Watch { pet_id: 0 }))
        .await
        .unwrap();
    let end = AuctionServerMessage::AuctionEnd(AuctionEnd {
        winner: Some("bob".into()),
    });
    assert_eq!(next(&mut alice_rx).await, end);
    assert_eq!(next(&mut bob_rx).await, end);
    // A watch of another pet is accepted silently.
    alice
        .send(&AuctionClientMessage::Watch(Watch { pet_id: 42 }))
        .await
        .unwrap();
    nothing_more(&mut alice_rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chat_message_both_ways_and_history_by_request_reply() {
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let (chat, mut rx) = SupportChatClient::connect(
        &format!("ws://{addr}"),
        &SupportChatParams {},
        Some(&token()),
        ClientConfig::default(),
    )
    .await
    .unwrap();
    chat.send(&SupportChatClientMessage::ChatMessage(ChatMessage {
        text: "Is Biscuit good with cats?".into(),
        client_msg_id: Some("c-17".into()),
    }))
    .await
    .unwrap();
    assert_eq!(
        next(&mut rx).await,
        SupportChatServerMessage::AgentMessage(AgentMessage {
            from: "agent-anna".into(),
            text: "you said: Is Biscuit good with cats?".into(),
            sent_at: sent_at(),
        })
    );
    chat.send(&SupportChatClientMessage::Typing(Typing {
        is_typing: true,
    }))
    .await
    .unwrap();
    assert_eq!(
        next(&mut rx).await,
        SupportChatServerMessage::AgentTyping(AgentTyping { is_typing: true })
    );

    // The client sets a correlation id; the server's reply carries it back.
    let reply = chat
        .request_history(HistoryRequest {
            request_id: String::new(),
            limit: Some(3),
        })
        .await
        .unwrap();
    assert_eq!(reply.messages.len(), 3);
    assert!(!reply.request_id.is_empty());
    // An id given by the caller is kept; concurrent calls each get their own reply.
    let calls = (0..10).map(|i| {
        let chat = chat.clone();
        async move {
            let reply: HistoryReply = chat
                .request_history(HistoryRequest {
                    request_id: format!("r-{i}"),
                    limit: Some(i),
                })
                .await
                .unwrap();
            assert_eq!(reply.request_id, format!("r-{i}"));
            assert_eq!(reply.messages.len(), i as usize);
        }
    });
    futures_util::future::join_all(calls).await;
    // Replies went to the calls, not to the stream.
    nothing_more(&mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_bidder_of_one_auction_and_no_other() {
    const BIDDERS: usize = 50;
    let store = Store::default();
    let addr = serve(store.clone(), ServerConfig::default()).await;
    let base = format!("ws://{addr}");
    let mut room = Vec::new();
    for i in 0..BIDDERS {
        room.push(bidder(&base, "a-1", &format!("u-{i}")).await);
    }
    let (other, mut other_rx) = bidder(&base, "a-2", "eve").await;
    for round in 1..=5 {
        let (client, _) = &room[round % BIDDERS];
        client
            .send(&AuctionClientMessage::Bid(Bid {
                amount: f64::from(round as u32) * 10.0,
            }))
            .await
            .unwrap();
        for (i, (_, rx)) in room.iter_mut().enumerate() {
            let mut got = next(rx).await;
            if matches!(got, AuctionServerMessage::Outbid(_)) {
                assert_eq!(
                    i,
                    (round - 1) % BIDDERS,
                    "only the previous leader is outbid"
                );
                got = next(rx).await;
            }
            assert_eq!(
                got,
                AuctionServerMessage::BidPlaced(BidPlaced {
                    user_id: format!("u-{}", round % BIDDERS),
                    amount: f64::from(round as u32) * 10.0,
                })
            );
        }
    }
    // Auction a-2 heard nothing of a-1, and its own bids stay in a-2.
    nothing_more(&mut other_rx).await;
    other
        .send(&AuctionClientMessage::Bid(Bid { amount: 1.0 }))
        .await
        .unwrap();
    assert!(matches!(
        next(&mut other_rx).await,
        AuctionServerMessage::BidPlaced(_)
    ));
    for (_, rx) in &mut room {
        nothing_more(rx).await;
    }
    assert_eq!(store.auctions.members(&"a-1".to_owned()), BIDDERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_needs_the_token() {
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let base = format!("ws://{addr}");
    let params = AuctionParams {
        auction_id: "a-1".into(),
        user_id: None,
    };
    for credential in [None, Some(Credential::ApiKey("wrong".into()))] {
        let error =
            AuctionClient::connect(&base, &params, credential.as_ref(), ClientConfig::default())
                .await
                .unwrap_err();
        assert_eq!(error.status(), Some(401), "{error}");
    }
    // The token travels as the `token` query parameter, beside `userId`.
    let request = AuctionClient::request(
        &base,
        &AuctionParams {
            auction_id: "a 1".into(),
            user_id: Some("u&1".into()),
        },
        Some(&token()),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("ws://{addr}/auctions/a%201?userId=u%261&token=let-me-in")
    );
}

type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw(addr: std::net::SocketAddr, path: &str) -> Raw {
    tokio_tungstenite::connect_async(format!("ws://{addr}{path}?token={TOKEN}"))
        .await
        .expect("connects")
        .0
}

async fn next_frame(socket: &mut Raw) -> Message {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(Some(Ok(message))) => return message,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// Bad frames: (frame, error kind in the error frame, close code when the policy is to close).
fn bad_frames() -> Vec<(Message, &'static str, u16)> {
    vec![
        (Message::text("{\"type\":\"bid\""), "invalid_json", 1007),
        (
            Message::text(r#"{"type":"bid","amount":"lots"}"#),
            "schema",
            1007,
        ),
        (Message::text(r#"{"type":"bid"}"#), "schema", 1007),
        (
            Message::text(r#"{"type":"outbid","newAmount":1}"#),
            "unknown_tag",
            1007,
        ),
        (Message::text(r#"{"amount":1}"#), "missing_tag", 1007),
        (Message::text("[]"), "missing_tag", 1007),
        (
            Message::binary(br#"{"type":"bid","amount":1}"#.to_vec()),
            "unexpected_binary",
            1003,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_error_frames_and_nobody_else_notices() {
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let (bystander, mut bystander_rx) = bidder(&format!("ws://{addr}"), "a-1", "bob").await;
    let mut offender = raw(addr, "/auctions/a-1").await;
    for (frame, kind, _) in bad_frames() {
        offender.send(frame).await.unwrap();
        let Message::Text(reply) = next_frame(&mut offender).await else {
            panic!("an error frame is text");
        };
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["error"], kind, "{reply}");
    }
    // The offender's connection still works, and so does everyone else's.
    offender
        .send(Message::text(r#"{"type":"bid","amount":5}"#))
        .await
        .unwrap();
    assert!(matches!(next_frame(&mut offender).await, Message::Text(_)));
    assert!(matches!(
        next(&mut bystander_rx).await,
        AuctionServerMessage::BidPlaced(_)
    ));
    bystander
        .send(&AuctionClientMessage::Bid(Bid { amount: 6.0 }))
        .await
        .unwrap();
    assert!(matches!(
        next(&mut bystander_rx).await,
        AuctionServerMessage::BidPlaced(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_with_1007_or_1003_when_configured() {
    let config = ServerConfig::default()
        .on_invalid(InvalidPolicy::Close)
        .max_message_size(4096);
    let addr = serve(Store::default(), config).await;
    let (_bystander, mut bystander_rx) = bidder(&format!("ws://{addr}"), "a-1", "bob").await;
    let mut cases = bad_frames();
    let oversize = format!(
        r#"{{"type":"bid","amount":1,"pad":"{}"}}"#,
        "x".repeat(8192)
    );
    cases.push((
        Message::text(oversize),
        "oversize",
        close_code::MESSAGE_TOO_BIG,
    ));
    for (frame, kind, code) in cases {
        let mut offender = raw(addr, "/auctions/a-1").await;
        offender.send(frame).await.unwrap();
        match next_frame(&mut offender).await {
            Message::Close(Some(close)) => assert_eq!(u16::from(close.code), code, "{kind}"),
            other => panic!("{kind}: expected a Close, got {other:?}"),
        }
        // The closing handshake completes: the stream ends.
        let ended = tokio::time::timeout(WAIT, async {
            while let Some(Ok(_)) = offender.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "{kind}: the connection ends");
    }
    // Invalid UTF-8 in a text frame cannot be sent with tungstenite; runtime/tests/ws_server.rs
    // covers it with a hand-written client. The server is still up for everyone:
    let (late, _late_rx) = bidder(&format!("ws://{addr}"), "a-1", "carol").await;
    late.send(&AuctionClientMessage::Bid(Bid { amount: 1.0 }))
        .await
        .unwrap();
    assert!(matches!(
        next(&mut bystander_rx).await,
        AuctionServerMessage::BidPlaced(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidder_that_stops_reading_is_dropped_at_the_queue_bound() {
    const CAPACITY: usize = 32;
    const MESSAGES: usize = 3000;
    let store = Store::default();
    let addr = serve(
        store.clone(),
        ServerConfig::default().queue_capacity(CAPACITY),
    )
    .await;
    let (_fast, mut fast_rx) = bidder(&format!("ws://{addr}"), "a-1", "fast").await;
    // The slow bidder: a tiny receive buffer, and it never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (slow, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/auctions/a-1?token={TOKEN}"), stream)
            .await
            .unwrap();
    let key = "a-1".to_owned();
    for _ in 0..200 {
        if store.auctions.members(&key) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.auctions.members(&key), 2);
    let big = AuctionServerMessage::BidPlaced(BidPlaced {
        user_id: "x".repeat(2048),
        amount: 1.0,
    });
    let reader = tokio::spawn(async move {
        for _ in 0..MESSAGES {
            next(&mut fast_rx).await;
        }
        fast_rx
    });
    let started = std::time::Instant::now();
    let mut overflowed = 0;
    let mut most_queued = 0;
    for i in 0..MESSAGES {
        let delivery = store.auctions.send(&key, &big).unwrap();
        overflowed += delivery.overflowed;
        most_queued = most_queued.max(delivery.queued);
        if i % 16 == 15 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    assert_eq!(
        overflowed, 1,
        "the slow bidder overflowed once and was dropped"
    );
    assert!(most_queued <= 2);
    let _fast_rx = reader.await.unwrap();
    assert_eq!(
        store.auctions.members(&key),
        1,
        "only the fast bidder is left"
    );
    drop(slow);
}

/// The whole HTTP response to an upgrade request for `target`, over a raw socket.
async fn raw_upgrade(addr: std::net::SocketAddr, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    // The refusal is short and ends the exchange; read until the body has arrived.
    while !String::from_utf8_lossy(&response).contains("}") {
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
            .await
            .expect("the server answers")
            .unwrap();
        if read == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_handshake_parameters_are_refused_before_the_channel_sees_them() {
    // A 60 KiB `userId` makes the request target longer than the default 8 KiB: 414.
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let huge = "u".repeat(60 * 1024);
    let response = raw_upgrade(addr, &format!("/auctions/a-1?userId={huge}&token={TOKEN}")).await;
    assert!(
        response.starts_with("HTTP/1.1 414"),
        "{}",
        &response[..100.min(response.len())]
    );
    // The generated client reports the status.
    let params = AuctionParams {
        auction_id: "a-1".into(),
        user_id: Some(huge.clone()),
    };
    let error = AuctionClient::connect(
        &format!("ws://{addr}"),
        &params,
        Some(&token()),
        ClientConfig::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status(), Some(414), "{error}");

    // Under a larger target limit, the parameter's own limit (4 KiB) answers 400, naming it.
    let limits = wiregen_runtime::request::RequestLimits::default().max_uri_length(128 * 1024);
    let addr = serve(
        Store::default(),
        ServerConfig::default().request_limits(limits),
    )
    .await;
    let long = "u".repeat(5 * 1024);
    let response = raw_upgrade(addr, &format!("/auctions/a-1?userId={long}&token={TOKEN}")).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(
        response.contains("parameter `userId` is 5120 bytes long; at most 4096 are accepted"),
        "{response}"
    );
    // A value within the limit still connects.
    let params = AuctionParams {
        auction_id: "a-1".into(),
        user_id: Some("u".repeat(1024)),
    };
    let connected = AuctionClient::connect(
        &format!("ws://{addr}"),
        &params,
        Some(&token()),
        ClientConfig::default(),
    )
    .await;
    assert!(connected.is_ok(), "{:?}", connected.err());
}
