//! The envelopes of server frameworks and a sentinel written as an envelope member
//! (`tests/fixtures/openapi31_envelopes.yaml`), over 127.0.0.1: the frames Spring's
//! `ServerSentEvent` and Micronaut's `Event` put on the wire decode into their payloads (not into
//! an envelope struct whose `data` is `None`), and a stream whose spec lists `[DONE]` as a member
//! ends cleanly at it, from the generated server and from a hand-written one.

use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use wiregen_runtime::http::HttpError;
use wiregen_runtime::sse::client::{ClientConfig, ClientError, Received};
use wiregen_runtime::sse::server::EventStream;
use wiregen_runtime::sse::{EventSet, SseEvent};
use wiregen_snapshots::openapi31_envelopes::client::Client;
use wiregen_snapshots::openapi31_envelopes::server::{self, Envelopes};
use wiregen_snapshots::openapi31_envelopes::types::{
    AmbiguousEventsEvent, AmbiguousEventsRequest, Chunk, CompleteBody, CompleteEvent,
    CompleteRequest, MicronautEventsEvent, MicronautEventsRequest, Quote, SpringEventsEvent,
    SpringEventsRequest,
};

const DEADLINE: Duration = Duration::from_secs(20);

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// A hand-written server answering every path with `body` as `text/event-stream`, as a
/// framework writes it.
async fn raw_server(body: &'static str) -> String {
    let router = axum::Router::new().fallback(move || async move {
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            body,
        )
    });
    serve(router).await
}

fn quick() -> ClientConfig {
    ClientConfig {
        max_attempts: Some(1),
        ..ClientConfig::default()
    }
}

async fn items<E, S>(stream: S, n: usize) -> Vec<Result<Received<E>, ClientError>>
where
    S: Stream<Item = Result<Received<E>, ClientError>>,
{
    tokio::time::timeout(DEADLINE, stream.take(n).collect::<Vec<_>>())
        .await
        .expect("within the deadline")
}

fn quote(symbol: &str, price: f64) -> Quote {
    Quote {
        symbol: symbol.to_owned(),
        price,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spring_and_micronaut_frames_decode_into_their_payloads() {
    // Spring's ServerSentEvent: a comment, an id, a name, a retry and the data.
    let base = raw_server(
        ":a Spring comment\nid:7\nevent:quote\nretry:5000\ndata:{\"symbol\":\"ACME\",\"price\":1.5}\n\n",
    )
    .await;
    let client = Client::with_config(base, quick());
    let got = items(client.spring_events(&SpringEventsRequest {}), 1).await;
    match got.as_slice() {
        [Ok(Received::Event { event, id })] => {
            assert_eq!(*event, SpringEventsEvent::Quote(quote("ACME", 1.5)));
            assert_eq!(id.as_deref(), Some("7"));
        }
        other => panic!("expected the quote, got {other:?}"),
    }

    // Micronaut's Event: its `name` is the event name.
    let base = raw_server(
        "id: 1\nevent: quote\ndata: {\"symbol\":\"ACME\",\"price\":2}\n\nid: 2\nevent: correction\ndata: {\"symbol\":\"ACME\",\"price\":1.9}\n\n",
    )
    .await;
    let client = Client::with_config(base, quick());
    let got = items(client.micronaut_events(&MicronautEventsRequest {}), 2).await;
    let events: Vec<MicronautEventsEvent> = got
        .into_iter()
        .map(|item| match item {
            Ok(Received::Event { event, .. }) => event,
            other => panic!("expected an event, got {other:?}"),
        })
        .collect();
    assert_eq!(
        events,
        [
            MicronautEventsEvent::Quote(quote("ACME", 2.0)),
            MicronautEventsEvent::Correction(quote("ACME", 1.9)),
        ]
    );
}

struct Service;

fn ready<T: Send>(value: T) -> impl std::future::Future<Output = Result<T, HttpError>> + Send {
    std::future::ready(Ok(value))
}

fn numbered<E: EventSet + Clone + Send + 'static>(events: Vec<E>) -> EventStream<E> {
    let numbered: Vec<SseEvent<E>> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| SseEvent::new(e).with_id((i + 1).to_string()))
        .collect();
    EventStream::new(stream::iter(numbered))
}

impl Envelopes for Service {
    fn spring_events(
        &self,
        _: SpringEventsRequest,
    ) -> impl std::future::Future<Output = Result<EventStream<SpringEventsEvent>, HttpError>> + Send
    {
        ready(numbered(vec![SpringEventsEvent::Quote(quote("A", 1.0))]))
    }

    fn micronaut_events(
        &self,
        _: MicronautEventsRequest,
    ) -> impl std::future::Future<Output = Result<EventStream<MicronautEventsEvent>, HttpError>> + Send
    {
        ready(numbered(Vec::new()))
    }

    fn ambiguous_events(
        &self,
        _: AmbiguousEventsRequest,
    ) -> impl std::future::Future<Output = Result<EventStream<AmbiguousEventsEvent>, HttpError>> + Send
    {
        ready(numbered(Vec::new()))
    }

    fn complete(
        &self,
        request: CompleteRequest,
    ) -> impl std::future::Future<Output = Result<EventStream<CompleteEvent>, HttpError>> + Send
    {
        let prompt = request.body.prompt.unwrap_or_default();
        let chunks = prompt
            .split(' ')
            .map(|word| {
                CompleteEvent::Message(Chunk {
                    text: word.to_owned(),
                    kind: None,
                })
            })
            .collect();
        ready(numbered(chunks))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_member_ends_the_stream_cleanly() {
    let base = serve(server::router(Service)).await;
    let client = Client::with_config(base.clone(), quick());
    let request = CompleteRequest {
        body: CompleteBody {
            prompt: Some("hello wide world".into()),
        },
    };
    // Every item until the stream ends: the chunks, no decode error for `[DONE]`, no retry.
    let all = tokio::time::timeout(DEADLINE, client.complete(&request).collect::<Vec<_>>())
        .await
        .expect("the stream ends at the sentinel");
    let texts: Vec<String> = all
        .into_iter()
        .map(|item| match item {
            Ok(Received::Event {
                event: CompleteEvent::Message(chunk),
                ..
            }) => chunk.text,
            other => panic!("expected a chunk, got {other:?}"),
        })
        .collect();
    assert_eq!(texts, ["hello", "wide", "world"]);

    // The wire: the generated router sent the marker itself, as the last event's data.
    let body = raw_post(&base).await;
    let last_chunk = body.rfind(r#""text":"b""#).expect("the last chunk");
    let marker = body.rfind("data: [DONE]\n\n").expect("the marker");
    assert!(marker > last_chunk, "{body}");

    // A hand-written server that sends `[DONE]` ends the generated client's stream too.
    let base = raw_server("data: {\"text\":\"only\"}\n\ndata: [DONE]\n\n").await;
    let client = Client::with_config(base, quick());
    let all = tokio::time::timeout(DEADLINE, client.complete(&request).collect::<Vec<_>>())
        .await
        .expect("the stream ends at the sentinel");
    assert_eq!(all.len(), 1, "{all:?}");
}

/// `POST /completions` over a raw socket: the whole body of the response.
async fn raw_post(base: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = r#"{"prompt":"a b"}"#;
    let request = format!(
        "POST /completions HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, socket.read_to_end(&mut response))
        .await
        .expect("the response ends")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}
