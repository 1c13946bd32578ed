//! The server half of SSE: the broadcast hub under concurrent senders and subscribers, lagging
//! subscribers, and `text/event-stream` responses (batching, keep-alive on a paused clock,
//! headers), ending with a real axum server on a loopback socket.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use wiregen_runtime::sse::broadcast::{BroadcastConfig, Broadcaster, Resume};
use wiregen_runtime::sse::encode::EncodeError;
use wiregen_runtime::sse::parse::{Item, Parser};
use wiregen_runtime::sse::server::{
    EventStream, ServerConfig, accepts_event_stream, last_event_id, sse_response,
};
use wiregen_runtime::sse::{DecodeError, EventSet, SseEvent};

fn frame(id: &str) -> Bytes {
    Bytes::from(format!("id: {id}\ndata: {id}\n\n"))
}

/// The ID of a frame made by [`frame`].
fn id_of(frame: &Bytes) -> String {
    let text = std::str::from_utf8(frame).expect("frames are UTF-8");
    text.strip_prefix("id: ")
        .and_then(|rest| rest.split('\n').next())
        .expect("an id line")
        .to_owned()
}

async fn collect_ids(stream: impl Stream<Item = Bytes>) -> Vec<String> {
    stream.map(|frame| id_of(&frame)).collect().await
}

// ---------------------------------------------------------------------------------------------
// The broadcast hub.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_and_subscribers_see_no_gap_and_no_duplicate() {
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 400;
    const SUBSCRIBERS: usize = 24;
    let total = SENDERS * PER_SENDER;
    let hub = Broadcaster::new(4096, 4096);

    // The witness subscribes before anything is sent: it sees the hub's one order of frames.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let witness = {
        let frames = hub.subscribe(None);
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            frames
                .for_each(|frame| {
                    seen.lock().unwrap().push(id_of(&frame));
                    std::future::ready(())
                })
                .await;
        })
    };
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let hub = hub.clone();
            tokio::spawn(async move {
                for n in 0..PER_SENDER {
                    let id = format!("{s}-{n}");
                    hub.send(frame(&id), Some(id));
                    if n % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|k| {
            let hub = hub.clone();
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                for _ in 0..k * 3 {
                    tokio::task::yield_now().await;
                }
                // Half resume after the newest frame the witness has, half start live.
                let after = if k % 2 == 0 {
                    seen.lock().unwrap().last().cloned()
                } else {
                    None
                };
                let frames = hub.subscribe(after.as_deref());
                drop(hub);
                let resume = frames.resume();
                (after, resume, collect_ids(frames).await)
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    drop(hub);
    witness.await.unwrap();
    let order = seen.lock().unwrap().clone();
    assert_eq!(order.len(), total, "the witness saw every frame");
    assert_eq!(
        order.iter().collect::<BTreeSet<_>>().len(),
        total,
        "each once"
    );

    let mut resumed = 0;
    for subscriber in subscribers {
        let (after, resume, got) = subscriber.await.unwrap();
        match (after, resume) {
            (Some(after), Resume::Replayed(replayed)) => {
                resumed += 1;
                let at = order.iter().position(|id| *id == after).unwrap();
                assert_eq!(
                    got,
                    order[at + 1..],
                    "resumed after {after}: exactly what followed it"
                );
                assert!(replayed <= got.len());
            }
            (None, Resume::Live) => {
                // Live only: an unbroken tail of the order, to the end.
                assert_eq!(
                    got,
                    order[total - got.len()..],
                    "a live subscriber's frames are a tail"
                );
            }
            other => panic!("unexpected start {other:?}"),
        }
    }
    assert!(resumed > 0, "some subscribers resumed");
}

#[tokio::test]
async fn unknown_last_event_id_gets_a_gap_event_then_live_frames() {
    let hub = Broadcaster::new(16, 16);
    hub.send(frame("1"), Some("1".into()));
    let frames = hub.subscribe(Some("nope"));
    assert_eq!(frames.resume(), Resume::Unknown);
    hub.send(frame("2"), Some("2".into()));
    assert_eq!(hub.subscriber_count(), 1);
    let epoch = hub.epoch();
    drop(hub);
    let frames: Vec<Bytes> = frames.collect().await;
    assert_eq!(
        events_of(&frames),
        [
            gap("nope", "unknown", &format!("{epoch}.1")),
            ("message".into(), "2".into(), Some("2".into())),
        ]
    );
}

/// The gap event as [`events_of`] reads it.
fn gap(asked: &str, reason: &str, id: &str) -> (String, String, Option<String>) {
    (
        "wiregen-gap".into(),
        format!(r#"{{"lastEventId":"{asked}","reason":"{reason}"}}"#),
        Some(id.into()),
    )
}

/// Frames as a client's parser reads them: (event, data, last event id).
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

#[tokio::test]
async fn published_ids_carry_the_epoch_so_a_restart_is_a_gap_not_a_match() {
    let before = Broadcaster::new(16, 16);
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            before
                .publish(&SseEvent::new(Tick::Count(n)))
                .await
                .unwrap(),
        );
    }
    let epoch = before.epoch();
    assert_eq!(ids, [1, 2, 3].map(|n| format!("{epoch}.{n}")));
    // Resuming on the same hub is exact.
    let resumed = before.subscribe(Some(&ids[0]));
    assert_eq!(resumed.resume(), Resume::Replayed(2));
    drop(before);
    let resumed: Vec<Bytes> = resumed.collect().await;
    assert_eq!(
        events_of(&resumed),
        [2, 3].map(|n| ("count".into(), n.to_string(), Some(format!("{epoch}.{n}"))))
    );
    // After a restart (a new hub, a new epoch) the old id is unknown, even though the new hub
    // numbers its events from 1 again.
    let after = Broadcaster::new(16, 16);
    assert_ne!(after.epoch(), epoch);
    after
        .publish(&SseEvent::new(Tick::Count(10)))
        .await
        .unwrap();
    let lost = after.subscribe(Some(&ids[0]));
    assert_eq!(lost.resume(), Resume::Unknown);
    let next = after
        .publish(&SseEvent::new(Tick::Count(11)))
        .await
        .unwrap();
    let new_epoch = after.epoch();
    assert_eq!(next, format!("{new_epoch}.2"));
    drop(after);
    let lost: Vec<Bytes> = lost.collect().await;
    assert_eq!(
        events_of(&lost),
        [
            gap(&ids[0], "unknown", &format!("{new_epoch}.1")),
            ("count".into(), "11".into(), Some(next)),
        ]
    );
}

#[tokio::test]
async fn an_id_older_than_the_log_is_an_expired_gap_with_the_newest_id() {
    let hub = Broadcaster::new(16, 2);
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(hub.publish(&SseEvent::new(Tick::Count(n))).await.unwrap());
    }
    // The log keeps 4 and 5: resuming after 3 is exact, after 2 is not.
    assert_eq!(hub.subscribe(Some(&ids[2])).resume(), Resume::Replayed(2));
    let late = hub.subscribe(Some(&ids[1]));
    assert_eq!(late.resume(), Resume::Unknown);
    // An id from this epoch's future is unknown.
    let future = format!("{}.99", hub.epoch());
    let future_sub = hub.subscribe(Some(&future));
    drop(hub);
    let late: Vec<Bytes> = late.collect().await;
    assert_eq!(events_of(&late), [gap(&ids[1], "expired", &ids[4])]);
    let future_sub: Vec<Bytes> = future_sub.collect().await;
    assert_eq!(events_of(&future_sub), [gap(&future, "unknown", &ids[4])]);
}

#[tokio::test]
async fn the_gap_event_name_is_configurable() {
    let hub = Broadcaster::with_config(BroadcastConfig::new().gap_event("resync"));
    let lost = hub.subscribe(Some("7"));
    drop(hub);
    let lost: Vec<Bytes> = lost.collect().await;
    assert_eq!(events_of(&lost)[0].0, "resync");
}

#[tokio::test]
async fn frames_without_an_id_are_live_only() {
    let hub = Broadcaster::new(16, 16);
    let live = hub.subscribe(None);
    hub.send(frame("1"), Some("1".into()));
    hub.send(frame("x"), None);
    hub.send(frame("3"), Some("3".into()));
    let resumed = hub.subscribe(Some("1"));
    assert_eq!(resumed.resume(), Resume::Replayed(1));
    drop(hub);
    assert_eq!(collect_ids(live).await, ["1", "x", "3"]);
    assert_eq!(collect_ids(resumed).await, ["3"]);
}

#[tokio::test]
async fn a_subscription_with_history_starts_from_the_oldest_frame_kept() {
    let hub = Broadcaster::new(16, 2);
    for id in ["1", "2", "3"] {
        hub.send(frame(id), Some(id.into()));
    }
    let fresh = hub.subscribe_with_history(None);
    assert_eq!(fresh.resume(), Resume::Replayed(2));
    // With an id it resumes exactly like `subscribe`.
    let resumed = hub.subscribe_with_history(Some("2"));
    assert_eq!(resumed.resume(), Resume::Replayed(1));
    let live_only = hub.subscribe(None);
    hub.send(frame("4"), Some("4".into()));
    drop(hub);
    assert_eq!(collect_ids(fresh).await, ["2", "3", "4"]);
    assert_eq!(collect_ids(resumed).await, ["3", "4"]);
    assert_eq!(collect_ids(live_only).await, ["4"]);
}

#[tokio::test]
async fn a_lagging_subscriber_goes_back_to_the_log_and_misses_nothing() {
    let hub = Broadcaster::new(4, 64);
    let mut slow = hub.subscribe(None);
    for n in 0..3 {
        hub.send(frame(&n.to_string()), Some(n.to_string()));
    }
    let first = slow.next().await.expect("a frame");
    assert_eq!(id_of(&first), "0");
    for n in 3..40 {
        hub.send(frame(&n.to_string()), Some(n.to_string()));
    }
    // 39 frames behind a channel of 4: it reads the rest from the log, in order.
    let rest = tokio::time::timeout(Duration::from_secs(5), collect_ids(slow.by_ref().take(39)))
        .await
        .expect("the frames arrive");
    let expected: Vec<String> = (1..40).map(|n| n.to_string()).collect();
    assert_eq!(rest, expected);
}

#[tokio::test]
async fn a_subscriber_lagging_past_the_log_is_told_then_goes_on_live() {
    let hub = Broadcaster::new(4, 8);
    let mut slow = hub.subscribe(None);
    let first = hub.publish(&SseEvent::new(Tick::Count(0))).await.unwrap();
    assert_eq!(
        events_of(&[slow.next().await.expect("a frame")])[0].2,
        Some(first.clone())
    );
    let mut last = String::new();
    for n in 1..40 {
        last = hub.publish(&SseEvent::new(Tick::Count(n))).await.unwrap();
    }
    // The lag is noticed on the next read: a gap whose id is the newest event's.
    let gap_frame = slow.next().await.expect("the gap");
    assert_eq!(events_of(&[gap_frame]), [gap(&first, "expired", &last)]);
    // Then it goes on live.
    let after = hub.publish(&SseEvent::new(Tick::Count(40))).await.unwrap();
    drop(hub);
    let rest: Vec<Bytes> = slow.collect().await;
    assert_eq!(
        events_of(&rest),
        [("count".into(), "40".into(), Some(after))]
    );
}

#[derive(Clone, Debug, PartialEq)]
enum Tick {
    Count(u32),
    Bad,
}

impl EventSet for Tick {
    fn event_name(&self) -> &'static str {
        match self {
            Tick::Count(_) => "count",
            Tick::Bad => "bad\nname",
        }
    }

    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Tick::Count(n) => wiregen_runtime::sse::write_json(out, n),
            Tick::Bad => Ok(()),
        }
    }

    fn decode(event: &str, data: &str) -> Result<Self, DecodeError> {
        match event {
            "count" => wiregen_runtime::sse::read_json(data).map(Tick::Count),
            _ => Err(DecodeError::UnknownEvent),
        }
    }
}

#[tokio::test]
async fn send_event_encodes_once_for_every_subscriber() {
    let hub = Broadcaster::new(16, 16);
    let a = hub.subscribe(None);
    let b = hub.subscribe(None);
    let sent = hub
        .send_event(&SseEvent::new(Tick::Count(7)).with_id("7"))
        .unwrap();
    assert_eq!(sent, 2);
    assert!(matches!(
        hub.send_event(&SseEvent::new(Tick::Bad)),
        Err(EncodeError::InvalidEventName)
    ));
    drop(hub);
    let (a, b): (Vec<Bytes>, Vec<Bytes>) = (a.collect().await, b.collect().await);
    assert_eq!(a, [Bytes::from_static(b"event: count\nid: 7\ndata: 7\n\n")]);
    assert_eq!(a[0].as_ptr(), b[0].as_ptr(), "one encoding, shared");
}

// ---------------------------------------------------------------------------------------------
// Responses.

/// A stream fed by hand, and its sender.
fn channel() -> (
    tokio::sync::mpsc::UnboundedSender<Bytes>,
    impl Stream<Item = Bytes> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|frame| (frame, rx))
    });
    (tx, stream)
}

fn body<S>(frames: S, config: &ServerConfig) -> impl Stream<Item = Bytes> + use<S>
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    sse_response(frames, config)
        .into_body()
        .into_data_stream()
        .map(|chunk| chunk.expect("an infallible body"))
}

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

#[tokio::test]
async fn response_headers() {
    let response = sse_response(futures_util::stream::empty(), &ServerConfig::default());
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
}

#[tokio::test]
async fn ready_frames_are_batched_into_one_chunk() {
    let (tx, frames) = channel();
    let sent: Vec<Bytes> = (0..5).map(|n| frame(&n.to_string())).collect();
    for f in &sent {
        tx.send(f.clone()).unwrap();
    }
    let mut chunks = body(frames, &ServerConfig::default());
    assert_eq!(
        chunks.next().await.unwrap(),
        sent.concat(),
        "one write for five ready frames"
    );

    // A lone frame goes out as it is, without a copy.
    let lone = frame("6");
    tx.send(lone.clone()).unwrap();
    let chunk = chunks.next().await.unwrap();
    assert_eq!((chunk.as_ptr(), chunk.len()), (lone.as_ptr(), lone.len()));
    drop(tx);
    assert!(
        chunks.next().await.is_none(),
        "the body ends with the stream"
    );
}

#[tokio::test]
async fn batches_stop_at_max_batch() {
    let (tx, frames) = channel();
    let sent: Vec<Bytes> = (0..5).map(|n| frame(&n.to_string())).collect();
    for f in &sent {
        tx.send(f.clone()).unwrap();
    }
    drop(tx);
    let config = ServerConfig::default().with_max_batch(2 * sent[0].len());
    let chunks: Vec<Bytes> = body(frames, &config).collect().await;
    assert_eq!(
        chunks,
        [sent[..2].concat(), sent[2..4].concat(), sent[4].to_vec()]
    );
}

#[tokio::test(start_paused = true)]
async fn keep_alive_is_sent_when_idle() {
    let (_tx, frames) = channel();
    let config = ServerConfig::default().with_keep_alive(Some(Duration::from_secs(10)));
    let mut chunks = body(frames, &config);
    let start = Instant::now();
    for n in 1..=3 {
        assert_eq!(chunks.next().await.unwrap(), KEEP_ALIVE);
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(10 * n)
                && elapsed < Duration::from_millis(10_000 * n + 50),
            "keep-alive {n} at {elapsed:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn keep_alive_is_not_sent_when_busy_and_the_tick_is_not_reset_per_frame() {
    let (tx, frames) = channel();
    let config = ServerConfig::default().with_keep_alive(Some(Duration::from_secs(10)));
    let mut chunks = body(frames, &config);
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        // A frame every 3 s from 3 s to 27 s, then silence (the stream stays open).
        for n in 1..=9 {
            tokio::time::sleep_until(start + Duration::from_secs(3 * n)).await;
            tx.send(frame(&n.to_string())).unwrap();
        }
        tx
    });
    let mut frames_seen = 0;
    loop {
        let chunk = chunks.next().await.unwrap();
        let at = start.elapsed();
        if chunk == KEEP_ALIVE {
            // Ticks at 10, 20, 30 s all follow frames; the one at 40 s is the first idle one
            // (a timer reset by every frame would fire at 37 s).
            assert_eq!(frames_seen, 9, "no keep-alive while frames flow");
            assert!(
                at >= Duration::from_secs(40) && at < Duration::from_millis(40_050),
                "first keep-alive at {at:?}"
            );
            break;
        }
        frames_seen += 1;
    }
    drop(sender.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn no_keep_alive_when_disabled() {
    let (tx, frames) = channel();
    let config = ServerConfig::default().with_keep_alive(None);
    let mut chunks = body(frames, &config);
    let next = tokio::time::timeout(Duration::from_secs(3600), chunks.next()).await;
    assert!(next.is_err(), "nothing in an hour");
    drop(tx);
}

#[tokio::test]
async fn typed_event_streams_encode_each_event_and_stop_at_an_encoding_error() {
    let events = futures_util::stream::iter([
        SseEvent::new(Tick::Count(1)).with_id("1"),
        SseEvent::new(Tick::Count(2)),
        SseEvent::new(Tick::Bad),
        SseEvent::new(Tick::Count(3)),
    ]);
    let response = EventStream::<Tick>::new(events).into_response(&ServerConfig::default());
    let bytes: Vec<Bytes> = response
        .into_body()
        .into_data_stream()
        .map(Result::unwrap)
        .collect()
        .await;
    let mut parser = Parser::new();
    let mut got = Vec::new();
    parser.push(&bytes.concat(), &mut |item| {
        if let Item::Event(e) = item {
            got.push((Tick::decode(&e.event, &e.data).unwrap(), e.id));
        }
    });
    assert_eq!(
        got,
        [
            (Tick::Count(1), Some("1".into())),
            (Tick::Count(2), Some("1".into()))
        ]
    );

    // Plain events convert into `SseEvent`s.
    let plain = EventStream::<Tick>::new(futures_util::stream::iter([Tick::Count(4)]));
    let bytes: Vec<Bytes> = plain
        .into_response(&ServerConfig::default())
        .into_body()
        .into_data_stream()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(bytes.concat(), b"event: count\ndata: 4\n\n");
}

// ---------------------------------------------------------------------------------------------
// Request helpers.

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn last_event_id_header() {
    assert_eq!(last_event_id(&headers(&[])), None);
    assert_eq!(last_event_id(&headers(&[("last-event-id", "")])), None);
    assert_eq!(
        last_event_id(&headers(&[("Last-Event-ID", "42")])),
        Some("42".into())
    );
    let mut utf8 = HeaderMap::new();
    utf8.insert(
        "last-event-id",
        HeaderValue::from_bytes("é1".as_bytes()).unwrap(),
    );
    assert_eq!(last_event_id(&utf8), Some("é1".into()));
}

#[test]
fn accept_header_negotiation() {
    let stream = |accept: &[&str]| {
        let pairs: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
        accepts_event_stream(&headers(&pairs))
    };
    assert!(stream(&[]), "no Accept: the stream");
    assert!(stream(&["text/event-stream"]));
    assert!(stream(&["*/*"]));
    assert!(stream(&["text/*"]));
    assert!(
        stream(&["application/json", "text/event-stream"]),
        "equal preference: the stream"
    );
    assert!(stream(&["application/json;q=0.5, text/event-stream"]));
    assert!(!stream(&["application/json"]));
    assert!(!stream(&["application/json, text/event-stream;q=0.1"]));
    assert!(!stream(&["text/event-stream;q=0"]));
    assert!(
        !stream(&["text/event-stream; q=0, */*"]),
        "the most specific range wins"
    );
    assert!(!stream(&["application/json, */*;q=0.8"]));
}

// ---------------------------------------------------------------------------------------------
// A real server.

#[tokio::test]
async fn axum_server_resumes_a_client_over_a_socket() {
    use axum::extract::State;

    async fn events(
        State(hub): State<Broadcaster>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        let frames = hub.subscribe(last_event_id(&headers).as_deref());
        sse_response(frames, &ServerConfig::default())
    }

    let hub = Broadcaster::new(64, 64);
    for n in 1..=3 {
        hub.send(frame(&n.to_string()), Some(n.to_string()));
    }
    let app = axum::Router::new()
        .route("/events", axum::routing::get(events))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    // HTTP/1.0: the body comes unframed, as the browser's parser sees it after de-chunking.
    socket
        .write_all(b"GET /events HTTP/1.0\r\nLast-Event-ID: 1\r\n\r\n")
        .await
        .unwrap();
    hub.send(frame("4"), Some("4".into()));

    // Read until the body parses into three events (re-parsing what arrived so far each time).
    let mut raw = Vec::new();
    let read = async {
        loop {
            let mut buffer = [0u8; 1024];
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the server closed early");
            raw.extend_from_slice(&buffer[..n]);
            let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let mut received = Vec::new();
            Parser::new().push(&raw[head_end + 4..], &mut |item| received.push(item));
            if received.len() >= 3 {
                return (
                    String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase(),
                    received,
                );
            }
        }
    };
    let (text, received) = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("three events arrive");
    assert!(
        text.starts_with("http/1.0 200") || text.starts_with("http/1.1 200"),
        "{text}"
    );
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    let ids: Vec<Option<String>> = received
        .iter()
        .map(|item| match item {
            Item::Event(e) => e.id.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(ids, [Some("2".into()), Some("3".into()), Some("4".into())]);
    server.abort();
}
