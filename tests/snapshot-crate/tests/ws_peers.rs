//! The generated pet store WebSocket server driven by clients we did not write (headless
//! Chromium's `WebSocket`, Node's `ws`, Python's `websockets`), and the generated client
//! against a server we did not write (Node's `ws`). Every peer is installed by
//! `scripts/install-peers`; a missing one fails the test, never skips it.

#[path = "../../peers/harness.rs"]
mod peers;
mod ws_support;

use std::process::Command;
use std::time::Duration;

use peers::{Need, Server, TIMEOUT, require};
use serde_json::{Value, json};
use wiregen_runtime::ws::Credential;
use wiregen_runtime::ws::client::{ClientConfig, Event};
use wiregen_runtime::ws::server::{InvalidPolicy, ServerConfig};
use wiregen_snapshots::petstore_asyncapi::client::{AuctionClient, SupportChatClient};
use wiregen_snapshots::petstore_asyncapi::types::{
    AgentMessage, AgentTyping, AuctionClientMessage, AuctionEnd, AuctionServerMessage, Bid,
    BidPlaced, ChatMessage, HistoryRequest, SupportChatClientMessage, SupportChatServerMessage,
    Typing, Watch,
};
use wiregen_snapshots::petstore_asyncapi::types::{AuctionParams, SupportChatParams};
use ws_support::{Store, TOKEN, serve};

/// One kind of client peer: how to start it with a URL, a frame count and frames to send.
#[derive(Clone, Copy, Debug)]
enum Peer {
    Chromium,
    NodeWs,
    PythonWebsockets,
}

impl Peer {
    fn command(self, url: &str, count: usize, sends: &[String]) -> Command {
        let (mut command, timeout) = match self {
            Peer::Chromium => (peers::node("browser-websocket.mjs"), "20000"),
            Peer::NodeWs => (peers::node("ws-client.mjs"), "15000"),
            Peer::PythonWebsockets => (peers::python("ws_client.py"), "15"),
        };
        command.arg(url).arg(count.to_string()).arg(timeout);
        for text in sends {
            command.arg("--send").arg(text);
        }
        command
    }

    fn need(self) -> Need {
        match self {
            Peer::Chromium => Need::Chromium,
            Peer::NodeWs => Need::Node,
            Peer::PythonWebsockets => Need::Python,
        }
    }
}

/// Run a peer to the end (off the async runtime, which serves it) and return its lines.
async fn run_peer(peer: Peer, url: String, count: usize, sends: Vec<Value>) -> Vec<Value> {
    require(&[peer.need()]);
    let sends: Vec<String> = sends.iter().map(Value::to_string).collect();
    let finished =
        tokio::task::spawn_blocking(move || peers::run(peer.command(&url, count, &sends), TIMEOUT))
            .await
            .expect("the peer task");
    finished.assert_success();
    finished.json_lines()
}

fn text_frames(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["type"] == "text")
        .map(|l| serde_json::from_str(l["data"].as_str().expect("text data")).expect("JSON frames"))
        .collect()
}

async fn auction_with(peer: Peer) {
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let url = format!("ws://{addr}/auctions/a-7?token={TOKEN}&userId={peer:?}");
    let lines = run_peer(
        peer,
        url,
        3,
        vec![
            json!({"type": "bid", "amount": 12.5}),
            json!({"type": "sell", "amount": 1}),
            json!({"type": "watch", "petId": 0}),
        ],
    )
    .await;
    let frames = text_frames(&lines);
    assert_eq!(
        frames,
        vec![
            json!({"type": "bid", "userId": format!("{peer:?}"), "amount": 12.5}),
            json!({"error": "unknown_tag", "message": "unknown message `type`: \"sell\""}),
            json!({"type": "auction-end", "winner": format!("{peer:?}")}),
        ],
        "{lines:?}"
    );
    if let Peer::Chromium = peer {
        // The page closed with 1000 and the closing handshake completed.
        let closed = lines.last().expect("a last line");
        assert_eq!(closed["type"], "closed", "{lines:?}");
        assert_eq!(closed["wasClean"], true, "{lines:?}");
    }
}

async fn chat_with(peer: Peer) {
    let addr = serve(Store::default(), ServerConfig::default()).await;
    let url = format!("ws://{addr}/support/chat?token={TOKEN}");
    let lines = run_peer(
        peer,
        url,
        3,
        vec![
            json!({"type": "message", "text": "hello"}),
            json!({"type": "typing", "isTyping": false}),
            json!({"type": "history", "requestId": "peer-1", "limit": 1}),
        ],
    )
    .await;
    let frames = text_frames(&lines);
    assert_eq!(frames.len(), 3, "{lines:?}");
    assert_eq!(frames[0]["type"], "message");
    assert_eq!(frames[0]["text"], "you said: hello");
    assert_eq!(frames[1], json!({"type": "typing", "isTyping": false}));
    assert_eq!(frames[2]["type"], "history");
    assert_eq!(frames[2]["requestId"], "peer-1");
    assert_eq!(frames[2]["messages"].as_array().map(Vec::len), Some(1));
}

/// With the close policy, an invalid frame closes the peer's connection with 1007.
async fn closed_with_1007(peer: Peer) {
    let config = ServerConfig::default().on_invalid(InvalidPolicy::Close);
    let addr = serve(Store::default(), config).await;
    let url = format!("ws://{addr}/auctions/a-7?token={TOKEN}");
    let lines = run_peer(peer, url, 1, vec![json!({"type": "bid", "amount": "many"})]).await;
    let close = lines.last().expect("a close line");
    assert_eq!(close["type"], "close", "{lines:?}");
    assert_eq!(close["code"], 1007, "{lines:?}");
    if let Peer::Chromium = peer {
        assert_eq!(close["wasClean"], true, "{lines:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_websocket_talks_to_the_generated_server() {
    auction_with(Peer::Chromium).await;
    chat_with(Peer::Chromium).await;
    closed_with_1007(Peer::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_talks_to_the_generated_server() {
    auction_with(Peer::NodeWs).await;
    chat_with(Peer::NodeWs).await;
    closed_with_1007(Peer::NodeWs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_talks_to_the_generated_server() {
    auction_with(Peer::PythonWebsockets).await;
    chat_with(Peer::PythonWebsockets).await;
    closed_with_1007(Peer::PythonWebsockets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_talks_to_a_node_ws_server() {
    require(&[Need::Node]);
    let server = tokio::task::spawn_blocking(|| Server::start(peers::node("ws-server.mjs")))
        .await
        .unwrap();
    let base = format!("ws://127.0.0.1:{}", server.port);
    let token = Credential::ApiKey(TOKEN.into());
    let wait = Duration::from_secs(10);

    let (auction, mut events) = AuctionClient::connect(
        &base,
        &AuctionParams {
            auction_id: "a-9".into(),
            user_id: Some("rust".into()),
        },
        Some(&token),
        ClientConfig::default(),
    )
    .await
    .expect("connects to the node server");
    auction
        .send(&AuctionClientMessage::Bid(Bid { amount: 99.0 }))
        .await
        .unwrap();
    auction
        .send(&AuctionClientMessage::Watch(Watch { pet_id: 1 }))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        match tokio::time::timeout(wait, events.recv()).await {
            Ok(Some(Event::Message(message))) => got.push(format!("{message:?}")),
            Ok(Some(Event::Invalid(error))) => got.push(format!("invalid {}", error.kind())),
            other => panic!("{other:?} after {got:?}"),
        }
    }
    assert_eq!(
        got,
        vec![
            format!(
                "{:?}",
                AuctionServerMessage::BidPlaced(BidPlaced {
                    user_id: "rust".into(),
                    amount: 99.0
                })
            ),
            format!(
                "{:?}",
                AuctionServerMessage::AuctionEnd(AuctionEnd {
                    winner: Some("rust".into())
                })
            ),
            // `{"type":"mystery"}` is no message of the spec: a typed error, and the stream goes on.
            "invalid unknown_tag".to_owned(),
        ]
    );

    let (chat, mut chat_events) = SupportChatClient::connect(
        &base,
        &SupportChatParams {},
        Some(&token),
        ClientConfig::default(),
    )
    .await
    .unwrap();
    chat.send(&SupportChatClientMessage::ChatMessage(ChatMessage {
        text: "hi".into(),
        client_msg_id: None,
    }))
    .await
    .unwrap();
    chat.send(&SupportChatClientMessage::Typing(Typing {
        is_typing: true,
    }))
    .await
    .unwrap();
    let reply = chat
        .request_history(HistoryRequest {
            request_id: String::new(),
            limit: Some(2),
        })
        .await
        .expect("the node server answers the history request");
    assert_eq!(reply.messages.len(), 2);
    assert!(!reply.request_id.is_empty());
    match tokio::time::timeout(wait, chat_events.next_message()).await {
        Ok(Some(SupportChatServerMessage::AgentMessage(AgentMessage { from, text, .. }))) => {
            assert_eq!(
                (from.as_str(), text.as_str()),
                ("agent-node", "node heard: hi")
            );
        }
        other => panic!("{other:?}"),
    }
    match tokio::time::timeout(wait, chat_events.next_message()).await {
        Ok(Some(SupportChatServerMessage::AgentTyping(AgentTyping { is_typing }))) => {
            assert!(is_typing)
        }
        other => panic!("{other:?}"),
    }

    // Without the token the node server refuses the upgrade.
    let refused = AuctionClient::connect(
        &base,
        &AuctionParams {
            auction_id: "a-9".into(),
            user_id: None,
        },
        None,
        ClientConfig::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status(), Some(401));
    drop(server);
}
