//! Several channels on one address (`tests/fixtures/asyncapi30_shared.yaml`) over 127.0.0.1:
//! `trades` and `orders` share the socket at `/stream`. One connection of the generated socket
//! client carries both channels' messages both ways, each inbound message reaching its own
//! channel's handler (request/reply included), with one `on_connect` per channel; a raw peer
//! sees the same, and a frame no channel knows gets the configured error frame on the same,
//! still working, socket. `quotes` reuses a tag, so it is left out of the socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::ws::client::ClientConfig;
use wiregen_runtime::ws::server::Outbound;
use wiregen_snapshots::asyncapi30_shared::client::{StreamSocketClient, TradesClient};
use wiregen_snapshots::asyncapi30_shared::server;
use wiregen_snapshots::asyncapi30_shared::types::{
    OrdersClientMessage, OrdersOrderFilled, OrdersOrderPlaced, OrdersPlaceOrder,
    OrdersServerMessage, QuotesServerMessage, TradesClientMessage, TradesServerMessage,
    TradesSubscribe, TradesTrade,
};
use wiregen_snapshots::asyncapi30_shared::types::{
    OrdersParams, QuotesParams, StreamSocketClientMessage, StreamSocketServerMessage, TradesParams,
};

const WAIT: Duration = Duration::from_secs(10);

/// How many connections each channel accepted.
#[derive(Default)]
struct Accepted {
    trades: AtomicUsize,
    orders: AtomicUsize,
    quotes: AtomicUsize,
}

/// Answers `subscribe` with a trade, `place_order` with a fill then its reply.
struct Exchange(Arc<Accepted>);

impl server::TradesChannel for Exchange {
    type Session = Outbound<TradesServerMessage>;

    async fn on_connect(
        &self,
        _params: TradesParams,
        outbound: Outbound<TradesServerMessage>,
    ) -> Result<Self::Session, HttpError> {
        self.0.trades.fetch_add(1, Ordering::SeqCst);
        Ok(outbound)
    }

    async fn on_message(&self, outbound: &mut Self::Session, message: TradesClientMessage) {
        match message {
            TradesClientMessage::Subscribe(TradesSubscribe { symbol }) => {
                let trade = TradesTrade { symbol, price: 1.5 };
                let _ = outbound.send(&TradesServerMessage::Trade(trade));
            }
        }
    }
}

impl server::OrdersChannel for Exchange {
    type Session = Outbound<OrdersServerMessage>;

    async fn on_connect(
        &self,
        _params: OrdersParams,
        outbound: Outbound<OrdersServerMessage>,
    ) -> Result<Self::Session, HttpError> {
        self.0.orders.fetch_add(1, Ordering::SeqCst);
        Ok(outbound)
    }

    async fn place_order(
        &self,
        outbound: &mut Self::Session,
        request: OrdersPlaceOrder,
    ) -> OrdersOrderPlaced {
        let order_id = format!("{}-{}", request.symbol, request.quantity);
        // Queued after the reply, which the handler queues when this returns: sent before it.
        let fill = OrdersOrderFilled {
            order_id: order_id.clone(),
        };
        let _ = outbound.send(&OrdersServerMessage::OrderFilled(fill));
        OrdersOrderPlaced {
            request_id: None,
            order_id,
        }
    }
}

impl server::QuotesChannel for Exchange {
    type Session = ();

    async fn on_connect(
        &self,
        _params: QuotesParams,
        _outbound: Outbound<QuotesServerMessage>,
    ) -> Result<(), HttpError> {
        self.0.quotes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn serve() -> (String, Arc<Accepted>) {
    let accepted = Arc::new(Accepted::default());
    let router = server::router(Exchange(accepted.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("ws://{addr}"), accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_connection_carries_both_channels_both_ways() {
    let (base, exchange) = serve().await;
    let request = TradesClient::request(&base, &TradesParams {}).unwrap();
    assert_eq!(request.url, format!("{base}/stream"));
    let (client, mut received) = StreamSocketClient::connect(request, ClientConfig::default())
        .await
        .expect("connects");

    // trades: client → server, then server → client.
    let subscribe = TradesSubscribe {
        symbol: "ACME".into(),
    };
    client
        .send(&StreamSocketClientMessage::Trades(
            TradesClientMessage::Subscribe(subscribe),
        ))
        .await
        .unwrap();
    let got = tokio::time::timeout(WAIT, received.next_message()).await;
    assert_eq!(
        got.ok().flatten(),
        Some(StreamSocketServerMessage::Trades(
            TradesServerMessage::Trade(TradesTrade {
                symbol: "ACME".into(),
                price: 1.5,
            })
        ))
    );

    // orders: a request/reply on the same connection, its correlation id matched, then the
    // fill the handler queued on its own view of the connection's queue.
    let place = OrdersPlaceOrder {
        request_id: None,
        symbol: "ACME".into(),
        quantity: 3,
    };
    let call = client.sender().call(StreamSocketClientMessage::Orders(
        OrdersClientMessage::PlaceOrder(place),
    ));
    let reply = tokio::time::timeout(WAIT, call)
        .await
        .expect("in time")
        .expect("a reply");
    match reply {
        StreamSocketServerMessage::Orders(OrdersServerMessage::OrderPlaced(placed)) => {
            assert_eq!(placed.order_id, "ACME-3");
            assert!(placed.request_id.is_some(), "the correlation id came back");
        }
        other => panic!("expected the order's reply, got {other:?}"),
    }
    let got = tokio::time::timeout(WAIT, received.next_message()).await;
    assert_eq!(
        got.ok().flatten(),
        Some(StreamSocketServerMessage::Orders(
            OrdersServerMessage::OrderFilled(OrdersOrderFilled {
                order_id: "ACME-3".into(),
            })
        ))
    );

    // One socket: each channel accepted one connection; `quotes` is not on it.
    assert_eq!(exchange.trades.load(Ordering::SeqCst), 1);
    assert_eq!(exchange.orders.load(Ordering::SeqCst), 1);
    assert_eq!(exchange.quotes.load(Ordering::SeqCst), 0);
    client.close().await.unwrap();
}

async fn next_text<S>(socket: &mut S) -> serde_json::Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_peer_sees_one_socket_and_typed_errors() {
    let (base, _exchange) = serve().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{base}/stream"))
        .await
        .expect("upgrades");
    let send = |text: &str| Message::Text(text.to_owned().into());

    socket
        .send(send(r#"{"type":"subscribe","symbol":"X"}"#))
        .await
        .unwrap();
    let trade = next_text(&mut socket).await;
    assert_eq!(trade["type"], "trade");
    assert_eq!(trade["symbol"], "X");

    socket
        .send(send(
            r#"{"type":"place_order","requestId":"r-1","symbol":"X","quantity":2}"#,
        ))
        .await
        .unwrap();
    let fill = next_text(&mut socket).await;
    assert_eq!(fill["type"], "order_filled");
    let placed = next_text(&mut socket).await;
    assert_eq!(placed["type"], "order_placed");
    assert_eq!(placed["requestId"], "r-1");
    assert_eq!(placed["orderId"], "X-2");

    // A tag no channel of the socket has (`quote` belongs to `quotes`, which is not on it).
    socket
        .send(send(r#"{"type":"quote","bid":1}"#))
        .await
        .unwrap();
    let error = next_text(&mut socket).await;
    assert_eq!(error["error"], "unknown_tag");
    // A known tag of the second channel with a wrong payload: that channel's schema error.
    socket
        .send(send(r#"{"type":"place_order","symbol":"X"}"#))
        .await
        .unwrap();
    let error = next_text(&mut socket).await;
    assert_eq!(error["error"], "schema");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("place_order"),
        "{error}"
    );

    // Still serving both channels.
    socket
        .send(send(r#"{"type":"subscribe","symbol":"Y"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await["symbol"], "Y");
}
