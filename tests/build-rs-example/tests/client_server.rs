//! The generated SSE client against the generated SSE server, both from `build.rs`, over a real
//! 127.0.0.1 socket: every event variant is delivered and decoded, with its id, and a
//! `Last-Event-ID` resumes after it.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use wiregen_build_rs_example::notifications::client::Client;
use wiregen_build_rs_example::notifications::server::{self, PetStore};
use wiregen_build_rs_example::notifications::types::StreamNotificationsRequest;
use wiregen_build_rs_example::notifications::types::{
    Adoption, OrderDelivered, OrderPlaced, OrderShipped, PetStatus, StatusChange,
    StreamNotificationsEvent as Event,
};
use wiregen_runtime::http::HttpError;
use wiregen_runtime::sse::SseEvent;
use wiregen_runtime::sse::client::Received;
use wiregen_runtime::sse::server::EventStream;

const TIMEOUT: Duration = Duration::from_secs(10);

/// One event of every kind, in a plausible order; ids are their 1-based positions.
fn history() -> Vec<Event> {
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).expect("a date-time");
    vec![
        Event::OrderPlaced(OrderPlaced {
            order_id: 5001,
            pet_id: 7,
            user_id: "u-1001".into(),
            total: 149.5,
            placed_at: at("2026-11-24T10:00:00Z"),
        }),
        Event::OrderShipped(OrderShipped {
            order_id: 5001,
            carrier: "PostNord".into(),
            tracking_number: Some("PN123456789SE".into()),
        }),
        Event::OrderDelivered(OrderDelivered {
            order_id: 5001,
            delivered_at: at("2026-11-26T15:30:00+01:00"),
        }),
        Event::Adoption(Adoption {
            pet_id: 7,
            pet_name: "Biscuit".into(),
            user_id: "u-1001".into(),
        }),
        Event::StatusChange(StatusChange {
            pet_id: 7,
            status: PetStatus::Adopted,
        }),
    ]
}

/// Sends the history after the request's `Last-Event-ID`, then ends the stream.
struct Store;

impl PetStore for Store {
    type Auth = ();

    async fn stream_notifications(
        &self,
        request: StreamNotificationsRequest,
    ) -> Result<EventStream<Event>, HttpError> {
        let after = match request.last_event_id.as_deref() {
            None => 0,
            Some(id) => id
                .parse::<usize>()
                .map_err(|_| HttpError::bad_request("Last-Event-ID is not an event id"))?,
        };
        let events: Vec<SseEvent<Event>> = history()
            .into_iter()
            .enumerate()
            .skip(after)
            .map(|(i, event)| SseEvent::new(event).with_id((i + 1).to_string()))
            .collect();
        Ok(EventStream::new(futures_util::stream::iter(events)))
    }
}

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, server::router(Store)).await });
    addr
}

/// The first `count` items of a subscription as (id, event), within the timeout.
async fn receive(
    addr: SocketAddr,
    request: StreamNotificationsRequest,
    count: usize,
) -> Vec<(String, Event)> {
    let client = Client::new(format!("http://{addr}"));
    let stream = client.stream_notifications(&request);
    let items = tokio::time::timeout(TIMEOUT, stream.take(count).collect::<Vec<_>>())
        .await
        .expect("the events arrive in time");
    items
        .into_iter()
        .map(|item| match item.expect("no client error") {
            Received::Event { event, id } => (id.expect("every event has an id"), event),
            other => panic!("an event the spec does not declare: {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_variant_arrives_typed() {
    let addr = serve().await;
    let received = receive(addr, StreamNotificationsRequest::default(), 5).await;
    let expected: Vec<(String, Event)> = history()
        .into_iter()
        .enumerate()
        .map(|(i, event)| ((i + 1).to_string(), event))
        .collect();
    assert_eq!(received, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_event_id_resumes_after_it() {
    let addr = serve().await;
    let request = StreamNotificationsRequest {
        last_event_id: Some("3".into()),
        ..StreamNotificationsRequest::default()
    };
    let received = receive(addr, request, 2).await;
    let ids: Vec<&str> = received.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["4", "5"]);
    assert!(matches!(received[0].1, Event::Adoption(_)));
    assert!(matches!(received[1].1, Event::StatusChange(_)));
}
