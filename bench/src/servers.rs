//! The servers under test, each run in a child process of its own (`sse-fanout --serve KIND`):
//! the generated pet store server (in memory, and on the Redis backplane) and two hand-written
//! axum servers, all publishing the same
//! `order-placed` events under the control of the load generator (lines on stdin).
//!
//! Control protocol (shared with `express-fanout.mjs`): the server prints `port N` once it
//! listens on 127.0.0.1, then reads lines:
//! - `go RATE COUNT`: publish events (RATE per second, 0 = as fast as the window allows; stop
//!   after event number COUNT, 0 = no limit). The sequence number carries over between `go`s.
//! - `ack N`: events `0..N` reached every subscriber. At most `window` events are published
//!   beyond the last ack, so no subscriber can fall further behind than the broadcast buffer.
//! - `stop`: publish nothing more.
//!
//! End of stdin (the load generator went away) or the end of `--lifetime` exits the process.

use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use bytes::Bytes;
use petstore_generated::petstore_openapi::server::{self, PetStore};
use petstore_generated::petstore_openapi::types::StreamNotificationsRequest;
use petstore_generated::petstore_openapi::types::{OrderPlaced, StreamNotificationsEvent};
use tokio::sync::{Notify, broadcast, mpsc};
use wiregen_runtime::http::HttpError;
use wiregen_runtime::serve::ServeConfig;
use wiregen_runtime::sse::SseEvent;
use wiregen_runtime::sse::broadcast::Broadcaster;
use wiregen_runtime::sse::server::{EventStream, ServerConfig};

/// The path every server streams on: the pet store's notifications endpoint.
pub const PATH: &str = "/v1/pets/notifications";

/// Frames each subscriber may fall behind in the broadcast buffers (the window must be smaller).
pub const BROADCAST_CAPACITY: usize = 4096;

/// The servers written in Rust, run by this binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RustServer {
    /// The generated pet store server (`router_with_config`) fed by the runtime's `Broadcaster`.
    Generated,
    /// The same on the Redis backplane (`Broadcaster::redis`, the Redis of [`REDIS_URL_ENV`]):
    /// every event goes through a Redis Stream (`XADD`, then this instance's `XREAD`) before its
    /// subscribers get it.
    GeneratedRedis,
    /// Hand-written axum: each event encoded once, the `Bytes` shared by every subscriber.
    AxumOnce,
    /// Hand-written axum: each subscriber builds its own `axum::response::sse::Event`.
    AxumPerSubscriber,
}

impl RustServer {
    pub const ALL: [RustServer; 4] = [
        RustServer::Generated,
        RustServer::GeneratedRedis,
        RustServer::AxumOnce,
        RustServer::AxumPerSubscriber,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RustServer::Generated => "generated",
            RustServer::GeneratedRedis => "generated-redis",
            RustServer::AxumOnce => "axum-once",
            RustServer::AxumPerSubscriber => "axum-per-subscriber",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// The event every server publishes: an order, numbered by `orderId`, placed now (the load
/// generator measures latency from `placedAt`).
pub fn order(seq: u64) -> OrderPlaced {
    OrderPlaced {
        order_id: i64::try_from(seq).unwrap_or(i64::MAX),
        pet_id: 7,
        user_id: "u-1001".to_owned(),
        total: 149.5,
        placed_at: chrono::DateTime::<chrono::Utc>::from(SystemTime::now()).fixed_offset(),
    }
}

/// The generated trait, implemented as a user would: every subscriber gets a subscription to one
/// hub, resuming after its `Last-Event-ID`.
struct Notifications {
    hub: Broadcaster,
}

impl PetStore for Notifications {
    type Auth = ();

    async fn stream_notifications(
        &self,
        request: StreamNotificationsRequest,
    ) -> Result<EventStream<StreamNotificationsEvent>, HttpError> {
        let subscription = self.hub.subscribe(request.last_event_id.as_deref());
        Ok(EventStream::from_frames(subscription))
    }
}

/// The environment variable that gives `generated-redis` its Redis URL.
pub const REDIS_URL_ENV: &str = "WIREGEN_BENCH_REDIS";

/// The generated server on the Redis backplane. Events are published in order, many at a time
/// (`publish_all`: one pipeline of `XADD`s, one round trip).
async fn generated_redis() -> Result<(Router, Publish), String> {
    use wiregen_runtime::backplane::redis::{Redis, StreamConfig};
    let url = std::env::var(REDIS_URL_ENV)
        .map_err(|_| format!("generated-redis needs {REDIS_URL_ENV}=redis://HOST:PORT"))?;
    let redis = Redis::connect(&url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let hub = Broadcaster::redis(&redis, "sse-fanout", StreamConfig::new());
    hub.ready().await;
    let app =
        server::router_with_config(Notifications { hub: hub.clone() }, ServerConfig::default());
    let (queue, mut events) = mpsc::unbounded_channel::<SseEvent<StreamNotificationsEvent>>();
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while events.recv_many(&mut batch, 256).await > 0 {
            for result in hub.publish_all(&batch).await {
                if let Err(error) = result {
                    eprintln!("sse-fanout server: an event was not published: {error}");
                }
            }
            batch.clear();
        }
    });
    let publish = move |seq: u64| {
        let event = SseEvent::new(StreamNotificationsEvent::OrderPlaced(order(seq)));
        let _ = queue.send(event);
    };
    Ok((app, Box::new(publish)))
}

/// What publishes event number `seq` to every subscriber.
type Publish = Box<dyn FnMut(u64) + Send>;

fn generated() -> (Router, Publish) {
    let hub = Broadcaster::new(BROADCAST_CAPACITY, BROADCAST_CAPACITY);
    let app =
        server::router_with_config(Notifications { hub: hub.clone() }, ServerConfig::default());
    let publish = move |seq: u64| {
        let event = SseEvent::new(StreamNotificationsEvent::OrderPlaced(order(seq)))
            .with_id(seq.to_string());
        if let Err(error) = hub.send_event(&event) {
            eprintln!("sse-fanout server: cannot encode event {seq}: {error}");
        }
    };
    (app, Box::new(publish))
}

/// The fast hand-written baseline: one `text/event-stream` frame per event, encoded once into
/// `Bytes`, cloned (a reference count) into every subscriber's response body. No keep-alive.
fn axum_once() -> (Router, Publish) {
    let (sender, _) = broadcast::channel::<Bytes>(BROADCAST_CAPACITY);
    let app = Router::new()
        .route(PATH, get(once_handler))
        .with_state(sender.clone());
    let publish = move |seq: u64| {
        let mut frame = Vec::with_capacity(192);
        let _ = write!(frame, "event: order-placed\nid: {seq}\ndata: ");
        if serde_json::to_writer(&mut frame, &order(seq)).is_ok() {
            frame.extend_from_slice(b"\n\n");
            let _ = sender.send(Bytes::from(frame));
        }
    };
    (app, Box::new(publish))
}

async fn once_handler(State(sender): State<broadcast::Sender<Bytes>>) -> Response {
    let frames = futures_util::stream::unfold(sender.subscribe(), |mut receiver| async move {
        // Lagging behind or the sender gone ends the response.
        let frame = receiver.recv().await.ok()?;
        Some((Ok::<_, Infallible>(frame), receiver))
    });
    let mut response = Body::from_stream(frames).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The plain axum way: the typed event is shared, and every subscriber builds (and so
/// serializes) its own `sse::Event`; axum's default keep-alive.
fn axum_per_subscriber() -> (Router, Publish) {
    let (sender, _) = broadcast::channel::<Arc<(u64, OrderPlaced)>>(BROADCAST_CAPACITY);
    let app = Router::new()
        .route(PATH, get(per_subscriber_handler))
        .with_state(sender.clone());
    let publish = move |seq: u64| {
        let _ = sender.send(Arc::new((seq, order(seq))));
    };
    (app, Box::new(publish))
}

async fn per_subscriber_handler(
    State(sender): State<broadcast::Sender<Arc<(u64, OrderPlaced)>>>,
) -> Response {
    let events = futures_util::stream::unfold(sender.subscribe(), |mut receiver| async move {
        let shared = receiver.recv().await.ok()?;
        let (seq, order) = &*shared;
        let event = Event::default()
            .event("order-placed")
            .id(seq.to_string())
            .json_data(order)
            .ok()?;
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Commands from the load generator, read from stdin by a thread of their own.
enum Command {
    Go { rate: u64, count: u64 },
    Stop,
}

struct Acks {
    acked: AtomicU64,
    notify: Notify,
}

/// Serve `kind` until stdin closes or `lifetime` passes. Returns an error message on failure.
pub fn serve(kind: RustServer, window: u64, lifetime: Duration) -> Result<(), String> {
    // The default multi-threaded runtime, as `#[tokio::main]` makes it: one worker per CPU this
    // process may run on (one, when the bench pins it).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))?
            .port();
        let (app, publish) = match kind {
            RustServer::Generated => generated(),
            RustServer::GeneratedRedis => generated_redis().await?,
            RustServer::AxumOnce => axum_once(),
            RustServer::AxumPerSubscriber => axum_per_subscriber(),
        };
        let acks = Arc::new(Acks {
            acked: AtomicU64::new(0),
            notify: Notify::new(),
        });
        let (commands, received) = mpsc::unbounded_channel();
        read_control(Arc::clone(&acks), commands);
        tokio::spawn(publisher(acks, received, window, publish));
        tokio::spawn(async move {
            tokio::time::sleep(lifetime).await;
            eprintln!("sse-fanout server: lifetime is over, exiting");
            std::process::exit(0);
        });
        let mut stdout = std::io::stdout();
        writeln!(stdout, "port {port}")
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("cannot write the port: {e}"))?;
        let served = if matches!(kind, RustServer::Generated | RustServer::GeneratedRedis) {
            // As a user serves the generated router: the runtime's `serve` (TCP_NODELAY, a
            // header-read timeout), with a connection limit above the largest subscriber count
            // so that it serves as many as the hand-written servers do.
            let config = ServeConfig::default().max_connections(4096);
            wiregen_runtime::serve::serve(listener, app, config).await
        } else {
            // axum 0.8 leaves Nagle's algorithm on; every Rust server here turns it off.
            let listener = listener.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            axum::serve(listener, app).await
        };
        served.map_err(|e| format!("server failed: {e}"))
    })
}

/// Read control lines on a thread; end of stdin exits the process.
fn read_control(acks: Arc<Acks>, commands: mpsc::UnboundedSender<Command>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let words: Vec<&str> = line.split_whitespace().collect();
            let number = |at: usize| words.get(at).and_then(|w| w.parse::<u64>().ok());
            match words.first().copied() {
                Some("ack") => {
                    if let Some(n) = number(1) {
                        acks.acked.fetch_max(n, Ordering::Release);
                        acks.notify.notify_one();
                    }
                }
                Some("go") => {
                    let go = Command::Go {
                        rate: number(1).unwrap_or(0),
                        count: number(2).unwrap_or(0),
                    };
                    if commands.send(go).is_err() {
                        break;
                    }
                }
                Some("stop") => {
                    if commands.send(Command::Stop).is_err() {
                        break;
                    }
                }
                _ => eprintln!("sse-fanout server: unknown command {line:?}"),
            }
        }
        std::process::exit(0);
    });
}

/// The publishing mode set by the last `go`.
struct Mode {
    rate: u64,
    count: u64,
    since: Instant,
    first: u64,
}

async fn publisher(
    acks: Arc<Acks>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    window: u64,
    mut publish: Publish,
) {
    let mut seq = 0u64;
    let mut mode: Option<Mode> = None;
    let apply = |command: Command, seq: u64| match command {
        Command::Go { rate, count } => Some(Mode {
            rate,
            count,
            since: Instant::now(),
            first: seq,
        }),
        Command::Stop => None,
    };
    loop {
        while let Ok(command) = commands.try_recv() {
            mode = apply(command, seq);
        }
        let Some(current) = &mode else {
            match commands.recv().await {
                Some(command) => mode = apply(command, seq),
                None => return,
            }
            continue;
        };
        let mut target = acks.acked.load(Ordering::Acquire) + window;
        if current.count > 0 {
            target = target.min(current.count);
        }
        if current.rate > 0 {
            let due = current.rate as f64 * current.since.elapsed().as_secs_f64();
            target = target.min(current.first + due as u64);
        }
        if seq < target {
            // A batch at a time, then let the connections run.
            let end = target.min(seq + 64);
            while seq < end {
                publish(seq);
                seq += 1;
            }
            tokio::task::yield_now().await;
            continue;
        }
        let paced = current.rate > 0;
        tokio::select! {
            () = acks.notify.notified() => {}
            command = commands.recv() => match command {
                Some(command) => mode = apply(command, seq),
                None => return,
            },
            () = tokio::time::sleep(Duration::from_millis(1)), if paced => {}
        }
    }
}
