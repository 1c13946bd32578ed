//! The Redis backplane of SSE broadcasters, against a real `redis-server` on 127.0.0.1 that the
//! test starts itself: two instances (two connections, two broadcasters on one stream) share one
//! log and one order; resuming on the other instance is exact; ids older than the retention or
//! unknown get the gap event; Redis restarted with its data: publishing fails while it is away,
//! subscribers stay connected and go on with nothing lost or repeated; a resume where an
//! instance has already read is answered without Redis. WebSocket hubs on two
//! instances share their groups, and say when Redis is away.

#[path = "../../tests/peers/redis.rs"]
mod redis_server;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use wiregen_runtime::backplane::PublishError;
use wiregen_runtime::backplane::redis::{Redis, Retention, StreamConfig};
use wiregen_runtime::sse::broadcast::{Broadcaster, Subscription};
use wiregen_runtime::sse::parse::{Item, Parser};
use wiregen_runtime::sse::{DecodeError, EncodeError, EventSet, SseEvent};

const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq)]
struct Count(u32);

impl EventSet for Count {
    fn event_name(&self) -> &'static str {
        "count"
    }

    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        wiregen_runtime::sse::write_json(out, &self.0)
    }

    fn decode(_event: &str, data: &str) -> Result<Self, DecodeError> {
        wiregen_runtime::sse::read_json(data).map(Count)
    }
}

/// (event, data, id) of each event in `frames`.
fn events_of(frames: &[Bytes]) -> Vec<(String, String, Option<String>)> {
    let mut parser = Parser::new();
    let mut events = Vec::new();
    for frame in frames {
        parser.push(frame, &mut |item| {
            if let Item::Event(event) = item {
                events.push((event.event, event.data, event.id));
            }
        });
    }
    events
}

/// The next `n` frames, within the deadline.
async fn take(subscription: &mut Subscription, n: usize) -> Vec<Bytes> {
    let mut frames = Vec::with_capacity(n);
    while frames.len() < n {
        match tokio::time::timeout(DEADLINE, subscription.next()).await {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => panic!("the subscription ended after {} frames", frames.len()),
            Err(_) => panic!("only {} of {n} frames within {DEADLINE:?}", frames.len()),
        }
    }
    frames
}

async fn instance(url: &str, config: StreamConfig) -> Broadcaster {
    let redis = Redis::connect(url).await.expect("Redis answers");
    let broadcaster = Broadcaster::redis(&redis, "feed", config);
    tokio::time::timeout(DEADLINE, broadcaster.ready())
        .await
        .expect("the reader starts");
    broadcaster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_log_and_one_order() {
    let server = redis_server::RedisServer::start();
    let a = instance(&server.url(), StreamConfig::new()).await;
    let b = instance(&server.url(), StreamConfig::new()).await;
    let mut subscribers: Vec<Subscription> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                a.subscribe(None)
            } else {
                b.subscribe(None)
            }
        })
        .collect();
    const EACH: u32 = 150;
    let publish = |hub: Broadcaster, base: u32| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..EACH {
                ids.push(hub.publish(&SseEvent::new(Count(base + n))).await.unwrap());
            }
            ids
        })
    };
    let (from_a, from_b) = (publish(a.clone(), 0), publish(b.clone(), 1000));
    let mut published = from_a.await.unwrap();
    published.extend(from_b.await.unwrap());
    published.sort_by_key(|id| {
        let (ms, n) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), n.parse::<u64>().unwrap())
    });
    let mut orders = Vec::new();
    for subscriber in &mut subscribers {
        let events = events_of(&take(subscriber, 2 * EACH as usize).await);
        orders.push(
            events
                .into_iter()
                .map(|(_, _, id)| id.unwrap())
                .collect::<Vec<_>>(),
        );
    }
    for order in &orders {
        assert_eq!(
            order, &published,
            "every subscriber: every event once, in the log's order"
        );
    }

    // Resuming on the other instance after any id is exact.
    let middle = &published[100];
    let mut resumed = b.subscribe(Some(middle));
    let rest = events_of(&take(&mut resumed, published.len() - 101).await);
    let ids: Vec<String> = rest.into_iter().map(|(_, _, id)| id.unwrap()).collect();
    assert_eq!(ids, published[101..]);
    // And then live.
    let next = a.publish(&SseEvent::new(Count(9999))).await.unwrap();
    assert_eq!(
        events_of(&take(&mut resumed, 1).await)[0].2.as_deref(),
        Some(next.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_older_than_the_retention_or_unknown_get_the_gap_event() {
    let server = redis_server::RedisServer::start();
    let config = StreamConfig::new().retention(Retention::new().max_len(Some(50)));
    let a = instance(&server.url(), config.clone()).await;
    let b = instance(&server.url(), config).await;
    let mut ids = Vec::new();
    for n in 0..600 {
        ids.push(a.publish(&SseEvent::new(Count(n))).await.unwrap());
    }
    let newest = ids.last().unwrap().clone();
    let gap = |asked: &str, reason: &str| {
        (
            "wiregen-gap".to_owned(),
            format!(r#"{{"lastEventId":"{asked}","reason":"{reason}"}}"#),
            Some(newest.clone()),
        )
    };
    // Trimmed away (MAXLEN ~ 50 keeps between 50 and a node more).
    let mut old = b.subscribe(Some(&ids[0]));
    assert_eq!(
        events_of(&take(&mut old, 1).await),
        [gap(&ids[0], "expired")]
    );
    // Not an id of this stream.
    let mut garbage = b.subscribe(Some("42"));
    assert_eq!(
        events_of(&take(&mut garbage, 1).await),
        [gap("42", "unknown")]
    );
    // From the future of this stream (another stream, or a Redis that lost its data).
    let mut future = b.subscribe(Some("99999999999999-0"));
    assert_eq!(
        events_of(&take(&mut future, 1).await),
        [gap("99999999999999-0", "unknown")]
    );
    // After the gap, live; a recent id still resumes exactly.
    let next = a.publish(&SseEvent::new(Count(600))).await.unwrap();
    for subscription in [&mut old, &mut garbage, &mut future] {
        let events = events_of(&take(subscription, 1).await);
        assert_eq!(events[0].2.as_deref(), Some(next.as_str()));
    }
    let mut recent = b.subscribe(Some(&ids[590]));
    let got = events_of(&take(&mut recent, 10).await);
    let got: Vec<String> = got.into_iter().map(|(_, _, id)| id.unwrap()).collect();
    let mut expected = ids[591..].to_vec();
    expected.push(next);
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_with_its_data_loses_nothing() {
    let mut server = redis_server::RedisServer::start();
    let a = instance(&server.url(), StreamConfig::new()).await;
    let b = instance(&server.url(), StreamConfig::new()).await;
    let mut on_a = a.subscribe(None);
    let mut on_b = b.subscribe(None);
    let mut published = Vec::new();
    for n in 0..50 {
        published.push(a.publish(&SseEvent::new(Count(n))).await.unwrap());
    }
    let first_a = take(&mut on_a, 50).await;
    let first_b = take(&mut on_b, 50).await;
    let last_seen = events_of(&first_a)[49].2.clone().unwrap();

    server.stop();
    // While Redis is away, publishing says so; nothing is published.
    match a.publish(&SseEvent::new(Count(777))).await {
        Err(PublishError::Unavailable(_)) => {}
        other => panic!("expected Unavailable while Redis is stopped, got {other:?}"),
    }
    // A client that reconnects meanwhile waits (connected) for Redis.
    let mut resumed = b.subscribe(Some(&last_seen));
    server.restart();

    // Once Redis is back, publishing works again (the connection is made again on demand).
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut n = 50;
    while published.len() < 100 {
        match a.publish(&SseEvent::new(Count(n))).await {
            Ok(id) => {
                published.push(id);
                n += 1;
            }
            Err(PublishError::Unavailable(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("Redis did not come back: {error}"),
        }
    }
    let ids = |frames: Vec<Bytes>| -> Vec<String> {
        events_of(&frames)
            .into_iter()
            .map(|(_, _, id)| id.unwrap())
            .collect()
    };
    let mut got_a = ids(first_a);
    got_a.extend(ids(take(&mut on_a, 50).await));
    let mut got_b = ids(first_b);
    got_b.extend(ids(take(&mut on_b, 50).await));
    assert_eq!(got_a, published);
    assert_eq!(got_b, published);
    assert_eq!(ids(take(&mut resumed, 50).await), published[50..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_where_an_instance_has_read_needs_no_redis() {
    let mut server = redis_server::RedisServer::start();
    let a = instance(&server.url(), StreamConfig::new()).await;
    let mut published = Vec::new();
    for n in 0..30 {
        published.push(a.publish(&SseEvent::new(Count(n))).await.unwrap());
    }
    let ids = |frames: Vec<Bytes>| -> Vec<String> {
        events_of(&frames)
            .into_iter()
            .map(|(_, _, id)| id.unwrap())
            .collect()
    };
    // An instance started now reads from the newest entry on; a subscriber resuming further
    // back is caught up from Redis, and the instance keeps what it read.
    let b = instance(&server.url(), StreamConfig::new().cache(40)).await;
    let mut first = b.subscribe(Some(&published[2]));
    assert_eq!(ids(take(&mut first, 27).await), published[3..]);

    server.stop();
    // Redis away: another subscriber resuming within what the instance read is caught up from
    // memory, exactly.
    let mut second = b.subscribe(Some(&published[5]));
    assert_eq!(ids(take(&mut second, 24).await), published[6..]);
    // Older than anything it read: waits (connected) for Redis, then is caught up from the
    // stream, across what is kept, exactly.
    let mut older = b.subscribe(Some(&published[0]));
    server.restart();
    assert_eq!(ids(take(&mut older, 29).await), published[1..]);
}

// ---------------------------------------------------------------------------------------------
// WebSocket hubs on Redis.

/// A one-message set: its text is the frame.
struct Note(String);

impl wiregen_runtime::ws::MessageSet for Note {
    fn encode(&self) -> Result<wiregen_runtime::ws::Frame, wiregen_runtime::ws::EncodeError> {
        Ok(wiregen_runtime::ws::Frame::text(self.0.clone()))
    }

    fn decode_text(text: &str) -> Result<Self, wiregen_runtime::ws::DecodeError> {
        Ok(Note(text.to_owned()))
    }
}

/// Waits until `outbound` holds `count` frames (no connection writes them out here).
async fn wait_queued(outbound: &wiregen_runtime::ws::server::Outbound<Note>, count: usize) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while outbound.queued() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} frames arrived",
            outbound.queued()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_span_instances_and_say_when_redis_is_away() {
    use wiregen_runtime::ws::server::{Hub, Outbound, ServerConfig};
    let mut server = redis_server::RedisServer::start();
    let connect = || async { Redis::connect(&server.url()).await.expect("Redis answers") };
    let a: Hub<String, Note> = Hub::redis(&connect().await, "rooms").await.expect("a hub");
    let b: Hub<String, Note> = Hub::redis(&connect().await, "rooms").await.expect("a hub");
    let config = ServerConfig::default();
    let (on_a, on_b, elsewhere) = (
        Outbound::<Note>::new(&config),
        Outbound::<Note>::new(&config),
        Outbound::<Note>::new(&config),
    );
    let _ma = a.join("room-1".to_owned(), &on_a);
    let _mb = b.join("room-1".to_owned(), &on_b);
    let _other = b.join("room-2".to_owned(), &elsewhere);

    // A message sent on one instance reaches the members of that key on both, once.
    let delivery = a.publish(&"room-1".to_owned(), &Note("one".into())).await;
    assert_eq!(
        delivery.expect("published").queued,
        1,
        "the local member at once"
    );
    wait_queued(&on_b, 1).await;
    b.send(&"room-1".to_owned(), &Note("two".into()))
        .expect("encodes");
    wait_queued(&on_a, 2).await;
    // A last message from each side: anything sent twice would have arrived before it.
    a.publish(&"room-1".to_owned(), &Note("three".into()))
        .await
        .expect("published");
    wait_queued(&on_b, 3).await;
    assert_eq!(
        (on_a.queued(), on_b.queued(), elsewhere.queued()),
        (3, 3, 0)
    );

    // Redis away: publishing says so (the local member still gets the message).
    server.stop();
    match a.publish(&"room-1".to_owned(), &Note("lost".into())).await {
        Err(PublishError::Unavailable(_)) => {}
        other => panic!("expected Unavailable while Redis is stopped, got {other:?}"),
    }
    assert_eq!(on_a.queued(), 4);
    server.restart();
    // Back: messages cross again (each hub subscribes again by itself).
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut n = 0;
    while on_b.queued() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no message crossed after the restart"
        );
        let _ = a
            .publish(&"room-1".to_owned(), &Note(format!("again {n}")))
            .await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
