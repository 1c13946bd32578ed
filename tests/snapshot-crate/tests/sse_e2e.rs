//! The generated SSE servers and clients of the snapshot fixtures, talking to each other over
//! real sockets on 127.0.0.1: every event variant of every fixture goes through the generated
//! router and comes out of the generated client equal; parameters, bodies, `Last-Event-ID`,
//! sentinels, JSON alternatives, undeclared events, undecodable payloads and error statuses
//! behave as documented; and a stream cut mid-event again and again by a proxy resumes with no
//! event lost and none repeated.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiregen_runtime::http::HttpError;
use wiregen_runtime::sse::broadcast::Broadcaster;
use wiregen_runtime::sse::client::{ClientConfig, ClientError, Received};
use wiregen_runtime::sse::server::EventStream;
use wiregen_runtime::sse::{EventSet, SseEvent};

use wiregen_snapshots::{json_payload, openapi30, openapi31, openapi32, petstore_openapi};

/// Every wait in this file is bounded by this.
const DEADLINE: Duration = Duration::from_secs(20);

// ---- harness --------------------------------------------------------------------------------

/// A router served on an ephemeral 127.0.0.1 port until the test ends.
struct Served {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    async fn start(router: axum::Router) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        Served { addr, task }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client configuration that reconnects quickly, so tests stay short.
fn quick() -> ClientConfig {
    ClientConfig {
        initial_retry: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        connect_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

/// Typed values from their JSON form: the event enums are adjacently tagged as
/// `{"event": name, "data": payload}`.
fn typed<E: DeserializeOwned>(values: Value) -> Vec<E> {
    serde_json::from_value(values).expect("the samples match the generated types")
}

/// The events, with ids `1..`: the stream a test server sends.
fn with_ids<E: EventSet + Clone + Send + 'static>(events: &[E]) -> EventStream<E> {
    let numbered: Vec<SseEvent<E>> = events
        .iter()
        .enumerate()
        .map(|(i, e)| SseEvent::new(e.clone()).with_id((i + 1).to_string()))
        .collect();
    EventStream::new(stream::iter(numbered))
}

/// The first `n` items of a client stream, within the deadline.
async fn take<E, S>(items: S, n: usize) -> Vec<Result<Received<E>, ClientError>>
where
    S: Stream<Item = Result<Received<E>, ClientError>>,
{
    tokio::time::timeout(DEADLINE, items.take(n).collect::<Vec<_>>())
        .await
        .expect("the items arrive within the deadline")
}

/// Every item of a client stream until it ends, within the deadline.
async fn all<E, S>(items: S) -> Vec<Result<Received<E>, ClientError>>
where
    S: Stream<Item = Result<Received<E>, ClientError>>,
{
    tokio::time::timeout(DEADLINE, items.collect::<Vec<_>>())
        .await
        .expect("the stream ends within the deadline")
}

/// The decoded events of `items` with their ids; panics on anything else.
fn events<E: std::fmt::Debug>(items: Vec<Result<Received<E>, ClientError>>) -> Vec<(E, String)> {
    items
        .into_iter()
        .map(|item| match item {
            Ok(Received::Event { event, id }) => (event, id.unwrap_or_default()),
            other => panic!("expected a declared event, got {other:?}"),
        })
        .collect()
}

/// `events` numbered as [`with_ids`] numbers them.
fn numbered<E: Clone>(events: &[E]) -> Vec<(E, String)> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.clone(), (i + 1).to_string()))
        .collect()
}

/// What a server saw, in order, as `Debug` text of the typed requests.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, request: &impl std::fmt::Debug) {
        self.0
            .lock()
            .expect("not poisoned")
            .push(format!("{request:?}"));
    }

    fn first(&self) -> String {
        self.0
            .lock()
            .expect("not poisoned")
            .first()
            .cloned()
            .expect("a request was served")
    }
}

fn ok<T>(value: T) -> impl Future<Output = Result<T, HttpError>> + Send
where
    T: Send,
{
    std::future::ready(Ok(value))
}

// ---- OpenAPI 3.0: params of every kind, a POST body, a unit event --------------------------

mod fixture30 {
    use super::*;
    use openapi30::types::{StreamQuotesEvent, WatchOrdersEvent};
    use openapi30::types::{StreamQuotesRequest, WatchOrdersRequest};

    pub fn quotes() -> Vec<StreamQuotesEvent> {
        typed(json!([
            {"event": "quote", "data": {
                "symbol": "ACME", "bid": 12.5, "ask": 12.75, "size": -3, "sequence": 9_007_199_254_740_993_i64,
                "at": "2026-11-24T10:00:00.123+01:00", "tradingDay": "2026-11-24",
                "quoteId": "5f0c6a4e-8a39-4c7e-9d0b-2f1e6c3a9b71", "interval": "",
                "venueNote": null}},
            {"event": "quote", "data": {
                "symbol": "line\nbreak\r\nand\rcr \u{1F600} \"quoted\"", "bid": 0.0, "ask": 1e-7, "size": 0,
                "sequence": 0, "at": "1999-12-31T23:59:59Z", "tradingDay": "1999-12-31",
                "quoteId": "00000000-0000-0000-0000-000000000000", "interval": "BATS-Y",
                "venueNote": "closing", "halted": true}},
            {"event": "trade", "data": {"at": "2026-11-24T10:00:01Z", "price": 12.6, "lastPrice": null}},
            {"event": "trade", "data": {"at": "2026-11-24T10:00:02Z", "price": 12.7, "lastPrice": 12.6}},
            {"event": "heartbeat"}
        ]))
    }

    pub fn orders() -> Vec<WatchOrdersEvent> {
        typed(json!([
            {"event": "message", "data": {"status": "filled", "orderId": 1, "fills": [{"price": 1.5, "quantity": 2}]}},
            {"event": "message", "data": {"status": "cancelled", "orderId": 2, "reason": "changed my mind"}},
            {"event": "message", "data": {"status": "cancelled", "orderId": 3}},
            {"event": "message", "data": {"status": "filled", "orderId": 4, "fills": []}}
        ]))
    }

    #[derive(Clone, Default)]
    pub struct Service(pub Seen);

    impl openapi30::server::FixtureForOpenApi30 for Service {
        fn stream_quotes(
            &self,
            request: StreamQuotesRequest,
        ) -> impl Future<Output = Result<EventStream<StreamQuotesEvent>, HttpError>> + Send
        {
            self.0.push(&request);
            ok(with_ids(&quotes()))
        }

        fn watch_orders(
            &self,
            request: WatchOrdersRequest,
        ) -> impl Future<Output = Result<EventStream<WatchOrdersEvent>, HttpError>> + Send {
            self.0.push(&request);
            ok(with_ids(&orders()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi30_every_event_and_every_kind_of_parameter() {
    let seen = Seen::default();
    let server = Served::start(openapi30::server::router(fixture30::Service(seen.clone()))).await;
    let client = openapi30::client::Client::with_config(server.base(), quick());

    let request = openapi30::types::StreamQuotesRequest {
        venue_id: "7d9f1c2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"
            .parse()
            .expect("a UUID"),
        // The empty enum value, as a query parameter.
        interval: Some(openapi30::types::Interval::Empty),
        depth: -17,
        x_client_tag: Some("tag, with; odd=chars ünïcode".to_owned()),
        last_event_id: Some("resume-from-here".to_owned()),
    };
    let quotes = fixture30::quotes();
    let received = take(client.stream_quotes(&request), quotes.len()).await;
    assert_eq!(events(received), numbered(&quotes));
    // The server saw exactly the typed request the client sent, Last-Event-ID included.
    assert_eq!(seen.first(), format!("{request:?}"));

    let body: openapi30::types::WatchRequest = serde_json::from_value(json!({
        "orderIds": [1, 2, 3],
        "labels": {"owner": "ops", "team": "blue", "x-y": "z"},
        "limits": {"ACME": 10.5},
        "accounts": {"name": "root", "children": [{"name": "leaf", "children": []}],
                     "parent": {"name": "above", "children": []}}
    }))
    .expect("a WatchRequest");
    let request = openapi30::types::WatchOrdersRequest { body };
    // A POST stream does not reconnect: it ends where the server's stream ends.
    let received = all(client.watch_orders(&request)).await;
    assert_eq!(events(received), numbered(&fixture30::orders()));
    let seen_all = seen.0.lock().expect("not poisoned").clone();
    assert_eq!(seen_all.len(), 2, "one connection per stream: {seen_all:?}");
    assert_eq!(seen_all[1], format!("{request:?}"));
}

// ---- OpenAPI 3.1: unions in events, raw text, a sentinel, a JSON alternative ----------------

mod fixture31 {
    use super::*;
    use openapi31::types::{
        Completion, CreateCompletionEvent, StreamNotificationsEvent, StreamShapesEvent,
        TailLogEvent,
    };
    use openapi31::types::{
        CreateCompletionRequest, StreamNotificationsRequest, StreamShapesRequest, TailLogRequest,
    };

    pub fn shapes() -> Vec<StreamShapesEvent> {
        typed(json!([
            {"event": "message", "data": {"kind": "circle", "radius": 1.5}},
            {"event": "message", "data": {"kind": "square", "side": 2.0}},
            {"event": "message", "data": {"kind": "empty"}}
        ]))
    }

    /// Raw text lines, as sent; [`log_received`] is what SSE can carry of them.
    pub fn log() -> Vec<TailLogEvent> {
        [
            "plain",
            "",
            "crlf\r\ninside",
            "cr\ronly",
            "lf\nand trailing\n",
            " leading space",
            "ünï 😀",
        ]
        .into_iter()
        .map(|line| TailLogEvent::Message(line.to_owned()))
        .collect()
    }

    /// SSE data lines are joined with LF, whatever line ending split them.
    pub fn log_received() -> Vec<TailLogEvent> {
        [
            "plain",
            "",
            "crlf\ninside",
            "cr\nonly",
            "lf\nand trailing\n",
            " leading space",
            "ünï 😀",
        ]
        .into_iter()
        .map(|line| TailLogEvent::Message(line.to_owned()))
        .collect()
    }

    pub fn chunks() -> Vec<CreateCompletionEvent> {
        typed(json!([
            {"event": "message", "data": {"id": "c1", "delta": "Hel", "index": 0}},
            {"event": "message", "data": {"id": "c1", "delta": "lo"}},
            {"event": "message", "data": {"id": "c1", "delta": "[DONE] is only the end marker alone"}}
        ]))
    }

    pub fn notifications() -> Vec<StreamNotificationsEvent> {
        typed(json!([
            {"event": "message", "data": {"channel": "Email", "address": "a@example.org", "subject": null}},
            {"event": "message", "data": {"channel": "Email", "address": "b@example.org", "subject": "hi"}},
            {"event": "message", "data": {"channel": "Email", "address": "c@example.org"}},
            {"event": "message", "data": {"channel": "Sms", "number": "+4612345"}}
        ]))
    }

    #[derive(Clone, Default)]
    pub struct Service(pub Seen);

    impl openapi31::server::FixtureForOpenApi31 for Service {
        fn stream_shapes(
            &self,
            _: StreamShapesRequest,
        ) -> impl Future<Output = Result<EventStream<StreamShapesEvent>, HttpError>> + Send
        {
            ok(with_ids(&shapes()))
        }

        fn tail_log(
            &self,
            _: TailLogRequest,
        ) -> impl Future<Output = Result<EventStream<TailLogEvent>, HttpError>> + Send {
            ok(with_ids(&log()))
        }

        fn create_completion(
            &self,
            request: CreateCompletionRequest,
        ) -> impl Future<Output = Result<EventStream<CreateCompletionEvent>, HttpError>> + Send
        {
            self.0.push(&request);
            ok(with_ids(&chunks()))
        }

        fn create_completion_json(
            &self,
            request: CreateCompletionRequest,
        ) -> impl Future<Output = Result<Completion, HttpError>> + Send {
            self.0.push(&request);
            ok(Completion {
                id: "c1".to_owned(),
                text: format!("echo: {}", request.body.prompt),
                finished_at: None,
            })
        }

        fn stream_notifications(
            &self,
            _: StreamNotificationsRequest,
        ) -> impl Future<Output = Result<EventStream<StreamNotificationsEvent>, HttpError>> + Send
        {
            ok(with_ids(&notifications()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi31_unions_text_sentinel_and_json_alternative() {
    let seen = Seen::default();
    let server = Served::start(openapi31::server::router(fixture31::Service(seen.clone()))).await;
    let client = openapi31::client::Client::with_config(server.base(), quick());

    let shapes = fixture31::shapes();
    let received = take(client.stream_shapes(&Default::default()), shapes.len()).await;
    assert_eq!(events(received), numbered(&shapes));

    let expected = fixture31::log_received();
    let received = take(client.tail_log(&Default::default()), expected.len()).await;
    assert_eq!(events(received), numbered(&expected));

    let notifications = fixture31::notifications();
    let received = take(
        client.stream_notifications(&Default::default()),
        notifications.len(),
    )
    .await;
    assert_eq!(events(received), numbered(&notifications));

    // The sentinel ends the stream: no error, no reconnection, and the marker is not an item.
    let body: openapi31::types::CompletionRequest =
        serde_json::from_value(json!({"prompt": "Hello", "stop": null, "temperature": 0.5}))
            .expect("a CompletionRequest");
    let request = openapi31::types::CreateCompletionRequest { body };
    let received = all(client.create_completion(&request)).await;
    assert_eq!(events(received), numbered(&fixture31::chunks()));

    // The same endpoint, as one JSON document.
    let completion = tokio::time::timeout(DEADLINE, client.create_completion_json(&request))
        .await
        .expect("answered within the deadline")
        .expect("a completion");
    assert_eq!(completion.text, "echo: Hello");
    let seen_all = seen.0.lock().expect("not poisoned").clone();
    assert_eq!(
        seen_all,
        vec![format!("{request:?}"), format!("{request:?}")]
    );
}

// ---- OpenAPI 3.2 (itemSchema): a path parameter, text and JSON events, nullable fields -----

mod fixture32 {
    use super::*;
    use openapi32::types::{FollowBuildEvent, FollowPricesEvent, FollowTicksEvent};
    use openapi32::types::{FollowBuildRequest, FollowPricesRequest, FollowTicksRequest};

    pub fn build() -> Vec<FollowBuildEvent> {
        typed(json!([
            {"event": "step-started", "data": {"step": "compile", "startedAt": "2026-11-24T09:00:00Z"}},
            {"event": "log", "data": "{\"looks\": \"like JSON but is text\"}"},
            {"event": "step-finished", "data": {"step": "compile", "outcome": "success", "durationMs": 1234}},
            {"event": "step-finished", "data": {"step": "lint", "outcome": "skipped"}}
        ]))
    }

    pub fn prices() -> Vec<FollowPricesEvent> {
        typed(json!([
            {"event": "price", "data": {"symbol": "ACME", "price": 1.25}},
            {"event": "correction", "data": {"symbol": "ACME", "price": 1.2}}
        ]))
    }

    pub fn ticks() -> Vec<FollowTicksEvent> {
        typed(json!([
            {"event": "message", "data": {"seq": 1}},
            {"event": "message", "data": {"seq": 2, "note": null}},
            {"event": "message", "data": {"seq": 3, "note": "late"}}
        ]))
    }

    #[derive(Clone, Default)]
    pub struct Service(pub Seen);

    impl openapi32::server::FixtureForOpenApi32 for Service {
        fn follow_build(
            &self,
            request: FollowBuildRequest,
        ) -> impl Future<Output = Result<EventStream<FollowBuildEvent>, HttpError>> + Send {
            self.0.push(&request);
            ok(with_ids(&build()))
        }

        fn follow_prices(
            &self,
            _: FollowPricesRequest,
        ) -> impl Future<Output = Result<EventStream<FollowPricesEvent>, HttpError>> + Send
        {
            ok(with_ids(&prices()))
        }

        fn follow_ticks(
            &self,
            _: FollowTicksRequest,
        ) -> impl Future<Output = Result<EventStream<FollowTicksEvent>, HttpError>> + Send {
            ok(with_ids(&ticks()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi32_item_schema_streams() {
    let seen = Seen::default();
    let server = Served::start(openapi32::server::router(fixture32::Service(seen.clone()))).await;
    let client = openapi32::client::Client::with_config(server.base(), quick());

    let request = openapi32::types::FollowBuildRequest {
        build_id: -42,
        last_event_id: None,
    };
    let build = fixture32::build();
    let received = take(client.follow_build(&request), build.len()).await;
    assert_eq!(events(received), numbered(&build));
    assert_eq!(seen.first(), format!("{request:?}"));

    let prices = fixture32::prices();
    let received = take(client.follow_prices(&Default::default()), prices.len()).await;
    assert_eq!(events(received), numbered(&prices));

    let ticks = fixture32::ticks();
    let received = take(client.follow_ticks(&Default::default()), ticks.len()).await;
    assert_eq!(events(received), numbered(&ticks));
}

// ---- a JSON spec: a query parameter, and an error status ----------------------------------

mod fixture_json {
    use super::*;
    use json_payload::types::CountUpEvent;
    use json_payload::types::CountUpRequest;

    pub fn counts(from: i64) -> Vec<CountUpEvent> {
        typed(json!([
            {"event": "message", "data": {"value": from}},
            {"event": "message", "data": {"value": from + 1, "unit": "apples"}},
            {"event": "message", "data": {"value": from + 2, "unit": "pears"}}
        ]))
    }

    pub struct Service;

    impl json_payload::server::FixtureWrittenAsJson for Service {
        fn count_up(
            &self,
            request: CountUpRequest,
        ) -> impl Future<Output = Result<EventStream<CountUpEvent>, HttpError>> + Send {
            std::future::ready(match request.from {
                Some(from) if from < 0 => Err(HttpError::new(422, "`from` must not be negative")),
                from => Ok(with_ids(&counts(from.unwrap_or(0)))),
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_spec_query_parameter_and_error_status() {
    let server = Served::start(json_payload::server::router(fixture_json::Service)).await;
    let client = json_payload::client::Client::with_config(server.base(), quick());

    let expected = fixture_json::counts(40);
    let received = take(
        client.count_up(&json_payload::types::CountUpRequest { from: Some(40) }),
        3,
    )
    .await;
    assert_eq!(events(received), numbered(&expected));

    // An error status is one typed error item, then the end: no reconnection loop.
    let items = all(client.count_up(&json_payload::types::CountUpRequest { from: Some(-1) })).await;
    assert_eq!(items.len(), 1, "{items:?}");
    match &items[0] {
        Err(ClientError::Status { status, body }) => {
            assert_eq!(status.as_u16(), 422);
            assert!(body.contains("must not be negative"), "{body}");
        }
        other => panic!("expected a 422 status error, got {other:?}"),
    }
}

// ---- the pet store: every event, undeclared events, bad payloads -------------------------

mod petstore {
    use super::*;
    use petstore_openapi::types::StreamNotificationsEvent;
    use petstore_openapi::types::StreamNotificationsRequest;

    pub fn all_events() -> Vec<StreamNotificationsEvent> {
        typed(json!([
            {"event": "adoption", "data": {"petId": 42, "petName": "Biscuit", "userId": "u-1001"}},
            {"event": "status-change", "data": {"petId": 42, "status": "ADOPTED"}},
            {"event": "status-change", "data": {"petId": 7, "status": "PENDING"}},
            {"event": "status-change", "data": {"petId": 8, "status": "AVAILABLE"}},
            {"event": "order-placed", "data": {"orderId": 5001, "petId": 7, "userId": "u-1001", "total": 149.5, "placedAt": "2026-11-24T10:00:00Z"}},
            {"event": "order-shipped", "data": {"orderId": 5001, "carrier": "PostNord", "trackingNumber": "PN123456789SE"}},
            {"event": "order-shipped", "data": {"orderId": 5002, "carrier": "Store courier"}},
            {"event": "order-delivered", "data": {"orderId": 5001, "deliveredAt": "2026-11-26T15:30:00+01:00"}}
        ]))
    }

    /// A hand-made frame: an event the spec does not declare, or a payload that does not decode.
    pub fn raw(id: usize, event: &str, data: &str) -> bytes::Bytes {
        bytes::Bytes::from(format!("id: {id}\nevent: {event}\ndata: {data}\n\n"))
    }

    /// Sends declared events, with an undeclared one and a broken one between them.
    #[derive(Clone, Default)]
    pub struct Mixed(pub Seen);

    impl petstore_openapi::server::PetStore for Mixed {
        type Auth = ();

        fn stream_notifications(
            &self,
            request: StreamNotificationsRequest,
        ) -> impl Future<Output = Result<EventStream<StreamNotificationsEvent>, HttpError>> + Send
        {
            self.0.push(&request);
            let events = all_events();
            let mut frames = Vec::new();
            for (i, event) in events.iter().enumerate() {
                let frame = SseEvent::new(event.clone()).with_id((i + 1).to_string());
                frames.push(frame.encode().expect("encodes"));
                if i == 1 {
                    frames.push(raw(100, "vaccination", "{\"petId\": 42}"));
                }
                if i == 3 {
                    frames.push(raw(101, "adoption", "{\"petId\": \"not a number\"}"));
                }
            }
            ok(EventStream::from_frames(stream::iter(frames)))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petstore_undeclared_events_and_bad_payloads_do_not_end_the_stream() {
    let seen = Seen::default();
    let server = Served::start(petstore_openapi::server::router(petstore::Mixed(
        seen.clone(),
    )))
    .await;
    let client = petstore_openapi::client::Client::with_config(server.base(), quick());
    let request = petstore_openapi::types::StreamNotificationsRequest {
        user_id: Some("u-1001".to_owned()),
        last_event_id: None,
    };
    let events = petstore::all_events();
    let items = take(client.stream_notifications(&request), events.len() + 2).await;
    assert_eq!(seen.first(), format!("{request:?}"));

    let mut declared = Vec::new();
    let mut unknown = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match item {
            Ok(Received::Event { event, id }) => declared.push((event, id.unwrap_or_default())),
            Ok(Received::Unknown { event, data, id }) => unknown.push((event, data, id)),
            Ok(gap @ Received::Gap { .. }) => panic!("no gap is expected here: {gap:?}"),
            Err(error) => errors.push(error),
        }
    }
    assert_eq!(declared, numbered(&events));
    assert_eq!(
        unknown,
        vec![(
            "vaccination".to_owned(),
            "{\"petId\": 42}".to_owned(),
            Some("100".to_owned())
        )]
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    match &errors[0] {
        ClientError::Decode { event, data, .. } => {
            assert_eq!(event, "adoption");
            assert!(data.contains("not a number"), "{data}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

// ---- resume: a proxy cuts the stream mid-event, again and again -----------------------------

/// Publishes numbered events into a [`Broadcaster`] and serves subscriptions that resume from
/// `Last-Event-ID`, the way a real pet store server would.
#[derive(Clone)]
struct Resuming {
    hub: Broadcaster,
    connections: Arc<AtomicUsize>,
}

impl petstore_openapi::server::PetStore for Resuming {
    type Auth = ();

    fn stream_notifications(
        &self,
        request: petstore_openapi::types::StreamNotificationsRequest,
    ) -> impl Future<
        Output = Result<EventStream<petstore_openapi::types::StreamNotificationsEvent>, HttpError>,
    > + Send {
        self.connections.fetch_add(1, Ordering::SeqCst);
        let subscription = self.hub.subscribe(request.last_event_id.as_deref());
        ok(EventStream::from_frames(subscription))
    }
}

/// The pet store event with sequence number `n`, cycling through every variant.
fn nth_event(n: usize) -> petstore_openapi::types::StreamNotificationsEvent {
    let all = petstore::all_events();
    let mut event = all[n % all.len()].clone();
    // Make every event unique, so a duplicate could not hide as an equal neighbour.
    use petstore_openapi::types::StreamNotificationsEvent as E;
    match &mut event {
        E::Adoption(a) => a.pet_id = n as i64,
        E::StatusChange(s) => s.pet_id = n as i64,
        E::OrderPlaced(o) => o.order_id = n as i64,
        E::OrderShipped(o) => o.order_id = n as i64,
        E::OrderDelivered(o) => o.order_id = n as i64,
    }
    event
}

/// A TCP proxy on 127.0.0.1 to `upstream` that closes its `i`-th connection after forwarding
/// `budgets[i]` bytes of the response (connections past the list are not cut). Counts cuts.
async fn cutting_proxy(
    upstream: SocketAddr,
    budgets: Vec<usize>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let addr = listener.local_addr().expect("proxy address");
    let cuts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&cuts);
    tokio::spawn(async move {
        for index in 0.. {
            let Ok((mut downstream, _)) = listener.accept().await else {
                return;
            };
            let budget = budgets.get(index).copied();
            let cuts = Arc::clone(&counted);
            tokio::spawn(async move {
                let Ok(mut upstream) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut down_read, mut down_write) = downstream.split();
                let (mut up_read, mut up_write) = upstream.split();
                let requests = tokio::io::copy(&mut down_read, &mut up_write);
                let responses = async {
                    let mut left = budget.unwrap_or(usize::MAX);
                    let mut buffer = vec![0_u8; 4096];
                    while left > 0 {
                        let n = match up_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n.min(left),
                        };
                        if down_write.write_all(&buffer[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                    cuts.fetch_add(1, Ordering::SeqCst);
                };
                tokio::select! {
                    _ = requests => {}
                    () = responses => {}
                }
                // Dropping both sockets here cuts the connection, mid-event more often than not.
            });
        }
    });
    (addr, cuts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_many_cuts_loses_and_repeats_nothing() {
    const EVENTS: usize = 400;
    let hub = Broadcaster::new(EVENTS * 2, EVENTS * 2);
    let connections = Arc::new(AtomicUsize::new(0));
    let service = Resuming {
        hub: hub.clone(),
        connections: Arc::clone(&connections),
    };
    let server = Served::start(petstore_openapi::server::router(service)).await;
    // Cut points from a fixed sequence: some inside the response head, most inside events. The
    // first connection carries whole events before its cut: a client that has seen no id yet
    // has no place to resume from (it reconnects for live events, as EventSource does), so a
    // cut before its first event would lose what was published meanwhile, whatever the server.
    let budgets: Vec<usize> = (0..40)
        .map(|i| {
            if i == 0 {
                2000
            } else {
                150 + (i * 7919) % 2400
            }
        })
        .collect();
    let cut_count = budgets.len();
    let (proxy, cuts) = cutting_proxy(server.addr, budgets).await;

    let publisher = tokio::spawn(async move {
        // A first subscription without Last-Event-ID gets live events only: start once it is
        // there, so that every event is owed to the client.
        let waiting = async {
            while hub.subscriber_count() == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        tokio::time::timeout(DEADLINE, waiting)
            .await
            .expect("the client subscribes");
        for n in 1..=EVENTS {
            let event = SseEvent::new(nth_event(n)).with_id(n.to_string());
            hub.send_event(&event).expect("encodes");
            if n % 4 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });

    let client = petstore_openapi::client::Client::with_config(format!("http://{proxy}"), quick());
    let mut stream = client.stream_notifications(&Default::default());
    let mut items = Vec::new();
    while items.len() < EVENTS {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break,
            Err(_) => panic!(
                "stalled after {} items (last {:?}), {} cuts, {} connections",
                items.len(),
                items.last(),
                cuts.load(Ordering::SeqCst),
                connections.load(Ordering::SeqCst)
            ),
        }
    }
    publisher.await.expect("the publisher finished");

    let received: Vec<(usize, petstore_openapi::types::StreamNotificationsEvent)> = items
        .into_iter()
        .map(|item| match item {
            Ok(Received::Event { event, id }) => {
                (id.expect("an id").parse().expect("a numeric id"), event)
            }
            other => panic!("a cut connection must not surface as an item: {other:?}"),
        })
        .collect();
    let ids: Vec<usize> = received.iter().map(|(id, _)| *id).collect();
    let expected: Vec<usize> = (1..=EVENTS).collect();
    assert_eq!(
        ids, expected,
        "events lost or repeated across reconnections"
    );
    for (id, event) in &received {
        assert_eq!(*event, nth_event(*id), "event {id} changed on the way");
    }
    let cuts = cuts.load(Ordering::SeqCst);
    assert!(
        cuts >= cut_count / 2,
        "only {cuts} of {cut_count} planned cuts happened: the test did not exercise resumption"
    );
    let connections = connections.load(Ordering::SeqCst);
    assert!(
        connections > cuts,
        "every cut was followed by a reconnection"
    );
    println!(
        "{EVENTS} events over {connections} connections ({cuts} cut by the proxy): none lost, none repeated"
    );
}
