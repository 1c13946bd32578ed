//! The opt-in unknown-message fallback (`x-wiregen-unknown-messages: true`,
//! `tests/fixtures/asyncapi30_unknown.yaml`) over 127.0.0.1: a frame with valid JSON and an
//! unknown tag reaches the handler as `Unknown(value)`, is sent back as it came, and the
//! connection goes on; a known message that does not match its schema is still an error.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::ws::MessageSet;
use wiregen_runtime::ws::client::{ClientConfig, Event, Receiver};
use wiregen_runtime::ws::server::{Outbound, ServerConfig};
use wiregen_snapshots::asyncapi30_unknown::client::GameClient;
use wiregen_snapshots::asyncapi30_unknown::server;
use wiregen_snapshots::asyncapi30_unknown::types::GameParams;
use wiregen_snapshots::asyncapi30_unknown::types::{
    GameClientMessage, GameMove, GameMoved, GameServerMessage, RulesAddRule, RulesClientMessage,
    RulesUnknown,
};

const WAIT: Duration = Duration::from_secs(10);

/// Answers a move with `moved`, and sends an unknown message back as it came.
struct Referee;

struct Player {
    game: String,
    outbound: Outbound<GameServerMessage>,
}

impl server::GameChannel for Referee {
    type Session = Player;

    async fn on_connect(
        &self,
        params: GameParams,
        outbound: Outbound<GameServerMessage>,
    ) -> Result<Player, HttpError> {
        Ok(Player {
            game: params.game_id,
            outbound,
        })
    }

    async fn on_message(&self, player: &mut Player, message: GameClientMessage) {
        let answer = match message {
            GameClientMessage::Move(GameMove { x, y }) => GameServerMessage::Moved(GameMoved {
                player: player.game.clone(),
                x,
                y,
            }),
            GameClientMessage::Unknown(value) => GameServerMessage::Unknown(value),
        };
        let _ = player.outbound.send(&answer);
    }
}

async fn serve() -> std::net::SocketAddr {
    let router = server::game_router(Arc::new(Referee), Arc::new(ServerConfig::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn next(receiver: &mut Receiver<GameServerMessage>) -> GameServerMessage {
    match tokio::time::timeout(WAIT, receiver.recv()).await {
        Ok(Some(Event::Message(message))) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tag_arrives_as_unknown_and_the_connection_goes_on() {
    let addr = serve().await;
    let params = GameParams {
        game_id: "g-1".into(),
    };
    let (client, mut rx) =
        GameClient::connect(&format!("ws://{addr}"), &params, ClientConfig::default())
            .await
            .expect("connects");

    // The generated client sends an `Unknown` as is; the server decodes it as `Unknown` and
    // sends it back; the client decodes the echo as `Unknown` too.
    let teleport = json!({"type": "teleport", "to": {"x": 9, "y": 9}, "note": "ünïcode"});
    client
        .send(&GameClientMessage::Unknown(teleport.clone()))
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, GameServerMessage::Unknown(teleport));

    // The connection goes on with known messages.
    client
        .send(&GameClientMessage::Move(GameMove { x: 1, y: 2 }))
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx).await,
        GameServerMessage::Moved(GameMoved {
            player: "g-1".into(),
            x: 1,
            y: 2
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_frames_unknown_is_accepted_malformed_is_still_an_error() {
    let addr = serve().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/games/g-2"))
        .await
        .expect("connects");
    let mut exchange = async |text: &str| -> serde_json::Value {
        socket.send(Message::text(text)).await.unwrap();
        loop {
            match tokio::time::timeout(WAIT, socket.next()).await {
                Ok(Some(Ok(Message::Text(reply)))) => {
                    return serde_json::from_str(reply.as_str()).unwrap();
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    };
    // Unknown tag: echoed as it came.
    assert_eq!(
        exchange(r#"{"type":"resign","why":[1,2]}"#).await,
        json!({"type": "resign", "why": [1, 2]})
    );
    // A known tag with the wrong schema, no tag, not JSON: still errors (the default policy
    // answers with an error frame and keeps the connection).
    assert_eq!(
        exchange(r#"{"type":"move","x":"left"}"#).await["error"],
        "schema"
    );
    assert_eq!(exchange(r#"{"x":1}"#).await["error"], "missing_tag");
    assert_eq!(exchange(r#"{"type":7}"#).await["error"], "missing_tag");
    assert_eq!(exchange("not json").await["error"], "invalid_json");
    // And it goes on.
    assert_eq!(
        exchange(r#"{"type":"move","x":3,"y":4}"#).await,
        json!({"type": "moved", "player": "g-2", "x": 3, "y": 4})
    );
}

#[test]
fn one_key_wrappers_fall_back_too() {
    let decode = |text: &str| RulesClientMessage::decode_text(text);
    assert_eq!(
        decode(r#"{"add_rule":{"name":"no-draws"}}"#).unwrap(),
        RulesClientMessage::AddRule(RulesAddRule {
            name: "no-draws".into()
        })
    );
    // A message named `unknown` is a message like any other; the catch-all is `Unknown2`.
    assert_eq!(
        decode(r#"{"unknown":{"reason":"r"}}"#).unwrap(),
        RulesClientMessage::Unknown(RulesUnknown {
            reason: Some("r".into())
        })
    );
    let other = json!({"drop_rule": {"name": "x"}});
    assert_eq!(
        decode(&other.to_string()).unwrap(),
        RulesClientMessage::Unknown2(other.clone())
    );
    let encoded = RulesClientMessage::Unknown2(other.clone())
        .encode()
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(encoded.payload()).unwrap();
    assert_eq!(sent, other);
    // A known key with a bad payload, or no single key, is not an unknown message.
    assert_eq!(
        decode(r#"{"add_rule":{"name":1}}"#).unwrap_err().kind(),
        "schema"
    );
    assert_eq!(decode(r#"{"a":{},"b":{}}"#).unwrap_err().kind(), "schema");
    assert_eq!(decode("[1").unwrap_err().kind(), "invalid_json");
}
