//! The generated pet store SSE server read by clients we did not write (headless Chromium's
//! `EventSource`, Node's `eventsource` package, `curl -N`), and the generated client reading
//! servers we did not write (Python's sse-starlette, which sends CRLF and
//! `text/event-stream; charset=utf-8`, and Node's express). Every peer is installed by
//! `scripts/install-peers`; a missing one fails the test, never skips it.

#[path = "../../peers/harness.rs"]
mod peers;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use peers::{Need, PETSTORE_EVENT_NAMES, Server, TIMEOUT, require};
use serde_json::Value;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::sse::SseEvent;
use wiregen_runtime::sse::broadcast::Broadcaster;
use wiregen_runtime::sse::client::{ClientConfig, ClientError, Received};
use wiregen_runtime::sse::server::{EventStream, ServerConfig};
use wiregen_snapshots::petstore_openapi::{client::Client, server, types};

/// `tests/peers/petstore-events.json` as (id, name, data): what the peer servers send, and
/// what the generated server below sends too.
fn petstore_events() -> Vec<(String, String, Value)> {
    let text = std::fs::read_to_string(peers::peers_dir().join("petstore-events.json"))
        .expect("tests/peers/petstore-events.json is readable");
    let events: Vec<Value> = serde_json::from_str(&text).expect("petstore-events.json is JSON");
    events
        .into_iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().expect("a string").to_owned();
            (field("id"), field("event"), e["data"].clone())
        })
        .collect()
}

/// The same events, typed.
fn typed_events() -> Vec<(types::StreamNotificationsEvent, String)> {
    petstore_events()
        .into_iter()
        .map(|(id, event, data)| {
            let typed = serde_json::from_value(serde_json::json!({"event": event, "data": data}))
                .expect("the peer events match the generated types");
            (typed, id)
        })
        .collect()
}

/// The pet store service a user would write: every event goes through a [`Broadcaster`], which
/// shows a new subscriber the recent history and replays what a resuming client missed;
/// streams stay open for live events.
#[derive(Clone)]
struct Store {
    hub: Broadcaster,
}

impl server::PetStore for Store {
    type Auth = ();

    fn stream_notifications(
        &self,
        request: types::StreamNotificationsRequest,
    ) -> impl Future<Output = Result<EventStream<types::StreamNotificationsEvent>, HttpError>> + Send
    {
        // A new subscriber sees the recent history first, a resuming one what it missed.
        let subscription = self
            .hub
            .subscribe_with_history(request.last_event_id.as_deref());
        std::future::ready(Ok(EventStream::from_frames(subscription)))
    }
}

/// The generated server on 127.0.0.1, with the pet store events already published, running
/// on its own thread until dropped.
struct Generated {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Generated {
    fn start(config: ServerConfig) -> Generated {
        let hub = Broadcaster::new(64, 64);
        for (event, id) in typed_events() {
            hub.send_event(&SseEvent::new(event).with_id(id))
                .expect("encodes");
        }
        let router = server::router_with_config(Store { hub }, config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                    let _ = stop.await;
                });
                // Open streams never end by themselves, so stop waiting for them on shutdown.
                let _ = tokio::time::timeout(TIMEOUT * 4, serve).await;
            });
            runtime.shutdown_timeout(Duration::from_millis(100));
        });
        Generated {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Generated {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        // Streams still open keep graceful shutdown waiting; the thread is not joined then.
        drop(self.thread.take());
    }
}

/// The JSON lines of eventsource-client.mjs or browser-eventsource.mjs, as (id, name, data).
fn peer_lines(finished: &peers::Finished) -> Vec<(String, String, Value)> {
    finished.assert_success();
    finished
        .json_lines()
        .iter()
        .map(|line| {
            let field = |name: &str| {
                line[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {name} in {line}"))
                    .to_owned()
            };
            let data = serde_json::from_str(&field("data"))
                .unwrap_or_else(|e| panic!("data is not JSON ({e}): {line}"));
            (field("lastEventId"), field("type"), data)
        })
        .collect()
}

#[test]
fn chromium_eventsource_reads_the_generated_server() {
    require(&[Need::Chromium]);
    let server = Generated::start(ServerConfig::default());
    let expected = petstore_events();
    let mut command = peers::node("browser-eventsource.mjs");
    command
        .arg(server.url("/v1/pets/notifications?userId=u-1001"))
        .args([
            &expected.len().to_string(),
            "20000",
            "--events",
            PETSTORE_EVENT_NAMES,
        ]);
    let finished = peers::run(command, TIMEOUT);
    assert_eq!(peer_lines(&finished), expected, "{}", finished.transcript());
}

#[test]
fn node_eventsource_reads_and_resumes_from_the_generated_server() {
    require(&[Need::Node]);
    let server = Generated::start(ServerConfig::default());
    let expected = petstore_events();

    let mut command = peers::node("eventsource-client.mjs");
    command.arg(server.url("/v1/pets/notifications")).args([
        &expected.len().to_string(),
        "20000",
        "--events",
        PETSTORE_EVENT_NAMES,
    ]);
    let finished = peers::run(command, TIMEOUT);
    assert_eq!(peer_lines(&finished), expected, "{}", finished.transcript());

    // The client closes after 2 events and reopens with Last-Event-ID, twice: the generated
    // server's replay gives it the rest, nothing twice.
    let mut command = peers::node("eventsource-client.mjs");
    command.arg(server.url("/v1/pets/notifications")).args([
        &expected.len().to_string(),
        "20000",
        "--events",
        PETSTORE_EVENT_NAMES,
        "--reconnect-after",
        "2",
    ]);
    let finished = peers::run(command, TIMEOUT);
    assert_eq!(peer_lines(&finished), expected, "{}", finished.transcript());

    // Resuming from an id: only what came after it.
    let mut command = peers::node("eventsource-client.mjs");
    command.arg(server.url("/v1/pets/notifications")).args([
        "2",
        "20000",
        "--events",
        PETSTORE_EVENT_NAMES,
        "--last-event-id",
        "4",
    ]);
    let finished = peers::run(command, TIMEOUT);
    assert_eq!(
        peer_lines(&finished),
        expected[4..].to_vec(),
        "{}",
        finished.transcript()
    );
}

#[test]
fn curl_reads_the_generated_server_with_its_headers_and_keep_alives() {
    require(&[Need::Curl]);
    let server =
        Generated::start(ServerConfig::default().with_keep_alive(Some(Duration::from_millis(100))));
    // `curl -N` with the response head, for a bounded time: the stream itself never ends.
    let mut command = std::process::Command::new("curl");
    command.args(["-sS", "-N", "-i", "--max-time", "1.5"]);
    command.arg(server.url("/v1/pets/notifications"));
    let finished = peers::run(command, TIMEOUT);
    // 28: the --max-time we asked for ended it.
    assert_eq!(
        finished.status.code(),
        Some(28),
        "{}",
        finished.transcript()
    );
    let text = finished.stdout.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").expect("a response head");
    let head = head.to_ascii_lowercase();
    for header in [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "x-accel-buffering: no",
    ] {
        assert!(
            head.lines().any(|l| l.trim() == header),
            "no `{header}` in:\n{head}"
        );
    }
    let mut expected = String::new();
    for (id, name, data) in petstore_events() {
        expected.push_str(&format!("event: {name}\nid: {id}\ndata: {data}\n\n"));
    }
    let events: String = body.split(": keep-alive\n\n").collect();
    assert_eq!(
        canonical(&events),
        canonical(&expected),
        "the stream, as curl read it:\n{body}"
    );
    let keep_alives = body.matches(": keep-alive\n\n").count();
    assert!(
        keep_alives >= 3,
        "{keep_alives} keep-alive comments in 1.5 s at 100 ms:\n{body}"
    );
}

/// The events of a stream as (field lines sorted within each event), so field order does not
/// matter, with JSON data compared by value.
fn canonical(text: &str) -> Vec<Vec<String>> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut lines: Vec<String> = block
                .lines()
                .map(|line| match line.strip_prefix("data: ") {
                    Some(data) => format!(
                        "data: {}",
                        serde_json::from_str::<Value>(data).expect("JSON data")
                    ),
                    None => line.to_owned(),
                })
                .collect();
            lines.sort();
            lines
        })
        .collect()
}

/// A client configuration that reconnects quickly.
fn quick() -> ClientConfig {
    ClientConfig {
        initial_retry: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..ClientConfig::default()
    }
}

/// The generated client against a third-party pet store server: every event, typed; resuming
/// from an id; an undeclared event as `Unknown`; a broken payload as an error item.
fn generated_client_against(server: &Server) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let expected = typed_events();
        let take = |client: Client, request: types::StreamNotificationsRequest, n: usize| async move {
            tokio::time::timeout(
                TIMEOUT,
                client
                    .stream_notifications(&request)
                    .take(n)
                    .collect::<Vec<_>>(),
            )
            .await
            .expect("the events arrive in time")
        };
        let events =
            |items: Vec<Result<Received<types::StreamNotificationsEvent>, ClientError>>| {
                items
                    .into_iter()
                    .map(|item| match item {
                        Ok(Received::Event { event, id }) => (event, id.unwrap_or_default()),
                        other => panic!("expected a pet store event, got {other:?}"),
                    })
                    .collect::<Vec<_>>()
            };

        let client = Client::with_config(server.url(""), quick());
        let items = take(client, Default::default(), expected.len()).await;
        assert_eq!(events(items), expected, "{}", server.log_text());

        let client = Client::with_config(server.url(""), quick());
        let request = types::StreamNotificationsRequest {
            user_id: None,
            last_event_id: Some("4".to_owned()),
        };
        let items = take(client, request, 2).await;
        assert_eq!(events(items), expected[4..].to_vec());

        let client = Client::with_config(server.url("/unknown"), quick());
        let items = take(client, Default::default(), 3).await;
        assert!(matches!(items[0], Ok(Received::Event { .. })), "{items:?}");
        match &items[1] {
            Ok(Received::Unknown { event, .. }) => assert_eq!(event, "pet-teleported"),
            other => panic!("expected the undeclared event, got {other:?}"),
        }
        assert!(matches!(items[2], Ok(Received::Event { .. })), "{items:?}");

        let client = Client::with_config(server.url("/malformed"), quick());
        let items = take(client, Default::default(), 3).await;
        assert!(matches!(items[0], Ok(Received::Event { .. })), "{items:?}");
        assert!(
            matches!(&items[1], Err(ClientError::Decode { event, .. }) if event == "adoption"),
            "{items:?}"
        );
        assert!(matches!(items[2], Ok(Received::Event { .. })), "{items:?}");
    });
}

#[test]
fn generated_client_reads_sse_starlette() {
    require(&[Need::Python]);
    let server = Server::start(peers::python("sse_starlette_server.py"));
    generated_client_against(&server);
}

#[test]
fn generated_client_reads_express() {
    require(&[Need::Node]);
    let server = Server::start(peers::node("express-sse-server.mjs"));
    generated_client_against(&server);
}
