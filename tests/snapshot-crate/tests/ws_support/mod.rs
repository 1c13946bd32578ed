//! The pet store WebSocket service a user would write on the generated traits, shared by the
//! WebSocket end-to-end and peer tests: auctions broadcast through a hub keyed by auction id,
//! support chat answers from an agent that echoes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use wiregen_runtime::http::HttpError;
use wiregen_runtime::ws::Credential;
use wiregen_runtime::ws::server::{Hub, Membership, Outbound, ServerConfig};
use wiregen_snapshots::petstore_asyncapi::server;
use wiregen_snapshots::petstore_asyncapi::types::{
    AgentMessage, AgentTyping, AuctionClientMessage, AuctionEnd, AuctionServerMessage, BidPlaced,
    ChatEntry, HistoryReply, HistoryRequest, Outbid, SupportChatClientMessage,
    SupportChatServerMessage,
};
use wiregen_snapshots::petstore_asyncapi::types::{AuctionParams, SupportChatParams};

/// The access token the service accepts (the spec's `token` query parameter).
pub const TOKEN: &str = "let-me-in";

/// The leader of an auction: user, amount, connection.
type Leader = (String, f64, Outbound<AuctionServerMessage>);

#[derive(Clone, Default)]
pub struct Store {
    pub auctions: Hub<String, AuctionServerMessage>,
    /// Per auction: the leading bidder, their amount and their connection.
    leaders: Arc<Mutex<HashMap<String, Leader>>>,
}

pub struct Bidder {
    auction: String,
    user: String,
    outbound: Outbound<AuctionServerMessage>,
    _room: Membership<String, AuctionServerMessage>,
}

fn check(credential: Option<Credential>) -> Result<(), HttpError> {
    match credential {
        Some(Credential::ApiKey(key)) if key == TOKEN => Ok(()),
        _ => Err(HttpError::new(401, "a valid `token` is required")),
    }
}

impl server::AuctionChannel for Store {
    type Session = Bidder;
    type Auth = ();

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        _params: &AuctionParams,
    ) -> Result<(), HttpError> {
        check(credential)
    }

    async fn on_connect(
        &self,
        params: AuctionParams,
        _auth: (),
        outbound: Outbound<AuctionServerMessage>,
    ) -> Result<Bidder, HttpError> {
        Ok(Bidder {
            _room: self.auctions.join(params.auction_id.clone(), &outbound),
            auction: params.auction_id,
            user: params.user_id.unwrap_or_else(|| "anonymous".into()),
            outbound,
        })
    }

    async fn on_message(&self, session: &mut Bidder, message: AuctionClientMessage) {
        match message {
            AuctionClientMessage::Bid(bid) => {
                let previous = {
                    let mut leaders = self.leaders.lock().unwrap();
                    let current = leaders.get(&session.auction).map_or(0.0, |l| l.1);
                    if bid.amount <= current {
                        return; // ignored, as the spec says
                    }
                    leaders.insert(
                        session.auction.clone(),
                        (session.user.clone(), bid.amount, session.outbound.clone()),
                    )
                };
                if let Some((user, _, outbound)) = previous
                    && user != session.user
                {
                    let _ = outbound.send(&AuctionServerMessage::Outbid(Outbid {
                        new_amount: bid.amount,
                    }));
                }
                let _ = self.auctions.send(
                    &session.auction,
                    &AuctionServerMessage::BidPlaced(BidPlaced {
                        user_id: session.user.clone(),
                        amount: bid.amount,
                    }),
                );
            }
            // Watching pet 0 closes this auction (a test hook).
            AuctionClientMessage::Watch(watch) if watch.pet_id == 0 => {
                let winner = self
                    .leaders
                    .lock()
                    .unwrap()
                    .remove(&session.auction)
                    .map(|l| l.0);
                let _ = self.auctions.send(
                    &session.auction,
                    &AuctionServerMessage::AuctionEnd(AuctionEnd { winner }),
                );
            }
            AuctionClientMessage::Watch(_) => {}
        }
    }
}

pub fn sent_at() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339("2026-11-24T10:02:00Z").unwrap()
}

impl server::SupportChatChannel for Store {
    type Session = Outbound<SupportChatServerMessage>;
    type Auth = ();

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        _params: &SupportChatParams,
    ) -> Result<(), HttpError> {
        check(credential)
    }

    async fn on_connect(
        &self,
        _params: SupportChatParams,
        _auth: (),
        outbound: Outbound<SupportChatServerMessage>,
    ) -> Result<Self::Session, HttpError> {
        Ok(outbound)
    }

    async fn on_message(&self, session: &mut Self::Session, message: SupportChatClientMessage) {
        let answer = match message {
            SupportChatClientMessage::ChatMessage(m) => {
                SupportChatServerMessage::AgentMessage(AgentMessage {
                    from: "agent-anna".into(),
                    text: format!("you said: {}", m.text),
                    sent_at: sent_at(),
                })
            }
            SupportChatClientMessage::Typing(t) => {
                SupportChatServerMessage::AgentTyping(AgentTyping {
                    is_typing: t.is_typing,
                })
            }
            SupportChatClientMessage::HistoryRequest(_) => {
                unreachable!("requests go to request_history")
            }
        };
        let _ = session.send(&answer);
    }

    async fn request_history(
        &self,
        _session: &mut Self::Session,
        request: HistoryRequest,
    ) -> HistoryReply {
        let count = request.limit.unwrap_or(2).max(0) as usize;
        HistoryReply {
            // The generated handler copies the request's id into the reply.
            request_id: String::new(),
            messages: (0..count)
                .map(|i| ChatEntry {
                    from: "u-1001".into(),
                    text: format!("message {i}"),
                    sent_at: sent_at(),
                })
                .collect(),
        }
    }
}

/// Serve the generated router on 127.0.0.1 with `config`.
pub async fn serve(store: Store, config: ServerConfig) -> SocketAddr {
    let router = server::router_with_config(store, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}
