//! A lagging member of a room with large broadcasts, over real sockets on 127.0.0.1: its
//! outbound queue is bounded in bytes (not only in frames), it is closed with 1008 once over
//! the bound, and the member that keeps up gets every message.

mod ws_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::ws::DecodeError;
use wiregen_runtime::ws::server::{
    Disconnect, Handler, Hub, InvalidPolicy, Membership, Outbound, ServerConfig, WebSocketUpgrade,
    upgrade,
};
use ws_support::raw::RawClient;
use ws_support::{ToClient, ToServer};

struct App {
    config: Arc<ServerConfig>,
    hub: Hub<String, ToClient>,
    /// Every connection's queue, for the test to watch.
    outbounds: Mutex<Vec<Outbound<ToClient>>>,
}

struct Member {
    _membership: Membership<String, ToClient>,
}

impl Handler<ToServer> for Member {
    async fn on_message(&mut self, _message: ToServer) {}

    async fn on_invalid(&mut self, _error: DecodeError) -> InvalidPolicy {
        InvalidPolicy::Ignore
    }

    async fn on_disconnect(self, _reason: Disconnect) {}
}

async fn room(State(app): State<Arc<App>>, ws: WebSocketUpgrade) -> Response {
    let out = Outbound::new(&app.config);
    app.outbounds.lock().unwrap().push(out.clone());
    let member = Member {
        _membership: app.hub.join("room".to_owned(), &out),
    };
    upgrade::<ToServer, ToClient, _>(ws, app.config.clone(), out, member)
}

async fn serve(config: ServerConfig) -> (SocketAddr, Arc<App>) {
    let app = Arc::new(App {
        config: Arc::new(config),
        hub: Hub::new(),
        outbounds: Mutex::default(),
    });
    let router = Router::new()
        .route("/room", axum::routing::get(room))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, app)
}

async fn until(what: &str, deadline: tokio::time::Instant, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}: timed out");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_member_is_bounded_in_bytes_and_closed_with_1008() {
    const MESSAGES: usize = 400;
    const WINDOW: usize = 4;
    let config = ServerConfig::default();
    let bound = config.queue_bytes;
    assert_eq!(bound, 1024 * 1024, "the default");
    let (addr, app) = serve(config).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);

    let (mut fast, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/room"))
        .await
        .unwrap();
    // Never reads, with a small receive buffer.
    let slow = RawClient::connect(addr, "/room", Some(4096)).await;
    until("both joined", deadline, || {
        app.hub.members(&"room".into()) == 2
    })
    .await;

    let received = Arc::new(AtomicUsize::new(0));
    let reader = {
        let received = received.clone();
        tokio::spawn(async move {
            while received.load(Ordering::Relaxed) < MESSAGES {
                match fast.next().await {
                    Some(Ok(Message::Text(_))) => {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Ok(_)) => {}
                    other => panic!("the fast member lost its connection: {other:?}"),
                }
            }
            fast
        })
    };

    // 60 KiB each: 256 of them (the frame bound) would be 15 MB.
    let big = ToClient::BidPlaced {
        amount: 1.0,
        room: "x".repeat(60 * 1024),
    };
    let mut overflowed = 0;
    let mut most_queued = (0, 0);
    for sent in 0..MESSAGES {
        // Keep within a few messages of the fast member, so only the slow one lags.
        until("the fast member keeps up", deadline, || {
            sent - received.load(Ordering::Relaxed) <= WINDOW
        })
        .await;
        let delivery = app.hub.send(&"room".into(), &big).unwrap();
        overflowed += delivery.overflowed;
        for out in app.outbounds.lock().unwrap().iter() {
            assert!(
                out.queued_bytes() <= bound,
                "{} bytes queued",
                out.queued_bytes()
            );
            most_queued = most_queued.max((out.queued_bytes(), out.queued()));
        }
    }
    assert_eq!(overflowed, 1, "the slow member overflowed exactly once");
    let (bytes, frames) = most_queued;
    assert!(
        bytes > bound / 2 && frames < 256,
        "the byte bound closed it ({bytes} bytes in {frames} frames)"
    );
    let fast = tokio::time::timeout_at(deadline, reader)
        .await
        .expect("the fast member gets everything in time")
        .unwrap();
    assert_eq!(received.load(Ordering::Relaxed), MESSAGES);
    // The slow member left the room; its queue is closed and empty.
    assert_eq!(app.hub.members(&"room".into()), 1);
    let closed: Vec<_> = app
        .outbounds
        .lock()
        .unwrap()
        .iter()
        .filter(|out| out.is_closed())
        .map(|out| (out.queued(), out.queued_bytes()))
        .collect();
    assert_eq!(closed, [(0, 0)]);
    drop((slow, fast));
}
