//! The reconnecting SSE client against real servers on 127.0.0.1: hand-written HTTP/1.1 over raw
//! TCP, so each test controls the bytes exactly (cuts mid-event, CR-only line endings, chunked
//! bodies cut short, 204s, 500s, wrong content types, silence).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http::Method;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use wiregen_runtime::sse::client::{
    ClientConfig, ClientError, EventStream, Received, StreamRequest, subscribe,
};
use wiregen_runtime::sse::{DecodeError, EncodeError, EventSet, read_json, write_json};

// ---------------------------------------------------------------------------------------------
// The event set under test, written by hand the way wiregen generates one.

#[derive(Debug, Clone, PartialEq)]
enum Feed {
    Tick { n: u64 },
    Note { text: String },
}

#[derive(Deserialize)]
struct TickData {
    n: u64,
}

#[derive(Deserialize)]
struct NoteData {
    text: String,
}

impl EventSet for Feed {
    fn event_name(&self) -> &'static str {
        match self {
            Feed::Tick { .. } => "tick",
            Feed::Note { .. } => "note",
        }
    }

    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Feed::Tick { n } => write_json(out, &serde_json::json!({ "n": n })),
            Feed::Note { text } => write_json(out, &serde_json::json!({ "text": text })),
        }
    }

    fn decode(event: &str, data: &str) -> Result<Self, DecodeError> {
        match event {
            "tick" => read_json(data).map(|TickData { n }| Feed::Tick { n }),
            "note" => read_json(data).map(|NoteData { text }| Feed::Note { text }),
            _ => Err(DecodeError::UnknownEvent),
        }
    }
}

fn tick(n: u64, id: Option<&str>) -> Received<Feed> {
    Received::Event {
        event: Feed::Tick { n },
        id: id.map(str::to_owned),
    }
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 test server.

/// A request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    /// Which accepted connection (0-based) carried it.
    connection: usize,
    method: String,
    path: String,
    /// Names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id")
    }
}

/// Accepts connections on 127.0.0.1 and hands each request to a handler. Dropping it stops the
/// listener and every connection.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    accept: JoinHandle<()>,
}

impl Server {
    async fn start<H, F>(handler: H) -> Server
    where
        H: Fn(Seen, TcpStream) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = Arc::clone(&seen);
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            for connection in 0.. {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                connections.spawn(async move {
                    let Some((request, stream)) = read_request(connection, stream).await else {
                        return;
                    };
                    log.lock().unwrap().push(request.clone());
                    handler(request, stream).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Server { addr, seen, accept }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        let mut seen = self.seen.lock().unwrap().clone();
        seen.sort_by_key(|request| request.connection);
        seen
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Reads a request head and a `Content-Length` body.
async fn read_request(connection: usize, mut stream: TcpStream) -> Option<(Seen, TcpStream)> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (
        request_line.next()?.to_owned(),
        request_line.next()?.to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(0, |(_, value)| value.parse().unwrap_or(0));
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 1024];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    let at = Instant::now();
    let seen = Seen {
        connection,
        method,
        path,
        headers,
        body,
        at,
    };
    Some((seen, stream))
}

/// A `200 text/event-stream` head for a body that ends when the connection closes.
async fn event_stream_head(stream: &mut TcpStream, content_type: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\n\
         connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
}

/// A `200 text/event-stream` head for a chunked body.
async fn chunked_event_stream_head(stream: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
}

async fn chunk(stream: &mut TcpStream, bytes: &[u8]) {
    let mut framed = format!("{:x}\r\n", bytes.len()).into_bytes();
    framed.extend_from_slice(bytes);
    framed.extend_from_slice(b"\r\n");
    stream.write_all(&framed).await.unwrap();
}

/// A complete response with a `Content-Length` body.
async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
}

async fn close(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
}

/// Keeps a connection open, silent, until the client goes away (or 10 s pass). Returns whether
/// the client closed it.
async fn hold(mut stream: TcpStream) -> bool {
    let mut sink = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut sink)).await;
    matches!(read, Ok(Ok(0) | Err(_)))
}

// ---------------------------------------------------------------------------------------------
// Client helpers.

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn fast_config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(5),
        idle_timeout: Some(Duration::from_secs(5)),
        initial_retry: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        max_attempts: Some(50),
        reconnect_non_get: false,
        gap_event: Some(wiregen_runtime::sse::GAP_EVENT.to_owned()),
        ..ClientConfig::default()
    }
}

fn get(server: &Server) -> StreamRequest {
    StreamRequest::new(Method::GET, server.url("/events"))
}

type Item = Result<Received<Feed>, ClientError>;

/// The stream can be moved into a spawned task and polled without pinning.
const _: fn() = || {
    fn bounds<T: futures_util::stream::FusedStream + Unpin + Send + 'static>() {}
    bounds::<EventStream<Feed>>();
};

/// The next item, failing the test if none comes within 10 s.
async fn next(stream: &mut EventStream<Feed>) -> Option<Item> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream stalled")
}

/// Everything the stream yields until it ends, failing the test past 20 s or 1000 items.
async fn collect(stream: &mut EventStream<Feed>) -> Vec<Item> {
    let mut items = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(item) = next(stream).await {
        items.push(item);
        assert!(items.len() < 1000 && Instant::now() < deadline, "{items:?}");
    }
    items
}

fn events(items: Vec<Item>) -> Vec<Received<Feed>> {
    items
        .into_iter()
        .map(|item| item.expect("an error item"))
        .collect()
}

async fn no_content(mut stream: TcpStream) {
    let head = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    close(stream).await;
}

/// Shared slot for a moment the server noticed.
type Moment = Arc<Mutex<Option<Instant>>>;

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn named_events_decode_into_the_event_set() {
    let server = Server::start(|seen, mut stream| async move {
        if seen.connection > 0 {
            return no_content(stream).await;
        }
        event_stream_head(&mut stream, "text/event-stream; charset=utf-8").await;
        // LF, CRLF and CR-only line endings, a comment, a multi-line data field, and an event
        // split across writes.
        let parts: [&[u8]; 4] = [
            b": hello\n\nid: 1\nevent: tick\ndata: {\"n\": 1}\n\n",
            b"event: note\r\ndata: {\"text\":\r\ndata: \"two\"}\r\n\r\n",
            b"id: 3\revent: tick\rdata: {\"n\"",
            b": 3}\r\r",
        ];
        for part in parts {
            stream.write_all(part).await.unwrap();
            stream.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        close(stream).await;
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    let items = events(collect(&mut stream).await);
    let note = Received::Event {
        event: Feed::Note {
            text: "two".to_owned(),
        },
        id: Some("1".to_owned()),
    };
    assert_eq!(items, vec![tick(1, Some("1")), note, tick(3, Some("3"))]);
    assert_eq!(stream.last_event_id().as_deref(), Some("3"));
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        2,
        "one stream, then one reconnection answered 204"
    );
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/events");
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));
    assert_eq!(seen[0].header("cache-control"), Some("no-cache"));
    assert_eq!(seen[0].last_event_id(), None);
    assert_eq!(seen[1].last_event_id(), Some("3"));
}

#[tokio::test]
async fn undeclared_events_are_items_not_errors() {
    let server = Server::start(|seen, mut stream| async move {
        if seen.connection > 0 {
            return no_content(stream).await;
        }
        event_stream_head(&mut stream, "text/event-stream").await;
        let body = "event: tick\ndata: {\"n\": 1}\n\n\
                    id: 2\nevent: mystery\ndata: first\ndata: second\n\n\
                    data: no name\n\n\
                    event: tick\ndata: {\"n\": 4}\n\n";
        stream.write_all(body.as_bytes()).await.unwrap();
        close(stream).await;
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    let items = events(collect(&mut stream).await);
    let unknown = |event: &str, data: &str| Received::Unknown {
        event: event.to_owned(),
        data: data.to_owned(),
        id: Some("2".to_owned()),
    };
    assert_eq!(
        items,
        vec![
            tick(1, None),
            unknown("mystery", "first\nsecond"),
            unknown("message", "no name"),
            tick(4, Some("2")),
        ]
    );
}

#[tokio::test]
async fn undecodable_payloads_are_error_items_and_the_stream_goes_on() {
    let server = Server::start(|seen, mut stream| async move {
        if seen.connection > 0 {
            return no_content(stream).await;
        }
        event_stream_head(&mut stream, "text/event-stream").await;
        let body = "event: tick\ndata: {\"n\": 1}\n\n\
                    event: tick\ndata: {\"n\": \"one\"}\n\n\
                    event: note\ndata: not json\n\n\
                    event: tick\ndata: {\"n\": 2}\n\n";
        stream.write_all(body.as_bytes()).await.unwrap();
        close(stream).await;
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    let mut items = collect(&mut stream).await.into_iter();
    assert_eq!(items.next().unwrap().unwrap(), tick(1, None));
    for (expected_event, expected_data) in [("tick", "{\"n\": \"one\"}"), ("note", "not json")] {
        let error = items.next().unwrap().unwrap_err();
        assert!(
            error.to_string().contains(expected_event),
            "message names the event: {error}"
        );
        assert!(std::error::Error::source(&error).is_some());
        let ClientError::Decode { event, data, .. } = error else {
            panic!("expected a decode error, got {error:?}");
        };
        assert_eq!(
            (event.as_str(), data.as_str()),
            (expected_event, expected_data)
        );
    }
    assert_eq!(items.next().unwrap().unwrap(), tick(2, None));
    assert!(items.next().is_none());
}

#[tokio::test]
async fn resumes_after_twenty_cuts_with_no_event_lost_or_repeated() {
    const TOTAL: u64 = 80;
    const CUTS: usize = 20;
    // What each connection delivered in full: the id the next request must name.
    let through: Arc<Mutex<Vec<(usize, u64)>>> = Arc::default();
    let log = Arc::clone(&through);
    let server = Server::start(move |seen, mut stream| {
        let log = Arc::clone(&log);
        async move {
            let after: u64 = seen.last_event_id().map_or(0, |id| id.parse().unwrap());
            if after == TOTAL {
                return no_content(stream).await;
            }
            let connection = seen.connection;
            let eol = ["\n", "\r\n", "\r"][connection % 3];
            let event = |n: u64| {
                format!("id: {n}{eol}event: tick{eol}data: {{\"n\": {n}}}{eol}{eol}").into_bytes()
            };
            let chunked = connection % 2 == 1;
            if chunked {
                chunked_event_stream_head(&mut stream).await;
            } else {
                event_stream_head(&mut stream, "text/event-stream").await;
            }
            let mut body = Vec::new();
            if connection == 0 {
                body.extend_from_slice(b"retry: 5\n\n");
            }
            if connection >= CUTS {
                body.extend((after + 1..=TOTAL).flat_map(event));
                if chunked {
                    chunk(&mut stream, &body).await;
                    stream.write_all(b"0\r\n\r\n").await.unwrap();
                } else {
                    stream.write_all(&body).await.unwrap();
                }
                log.lock().unwrap().push((connection, TOTAL));
                return close(stream).await;
            }
            let complete = after + 1 + connection as u64 % 3;
            body.extend((after + 1..=complete).flat_map(event));
            // Cut the next event short: before it, after its id line, inside its data line, or
            // just before the blank line that would dispatch it.
            let partial = event(complete + 1);
            let cut = match connection % 4 {
                0 => 0,
                1 => {
                    partial
                        .iter()
                        .position(|&byte| byte == b'\r' || byte == b'\n')
                        .unwrap()
                        + 1
                }
                2 => {
                    partial
                        .windows(4)
                        .position(|window| window == b"data")
                        .unwrap()
                        + 8
                }
                _ => partial.len() - eol.len(),
            };
            if chunked {
                // A chunk that promises more bytes than arrive: a broken connection.
                chunk(&mut stream, &body).await;
                let promise = format!("{:x}\r\n", partial.len() + 16);
                stream.write_all(promise.as_bytes()).await.unwrap();
                stream.write_all(&partial[..cut]).await.unwrap();
            } else {
                // A body that simply ends: a clean close mid-event.
                stream.write_all(&body).await.unwrap();
                stream.write_all(&partial[..cut]).await.unwrap();
            }
            log.lock().unwrap().push((connection, complete));
            close(stream).await;
        }
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    let items = events(collect(&mut stream).await);
    let expected: Vec<_> = (1..=TOTAL).map(|n| tick(n, Some(&n.to_string()))).collect();
    assert_eq!(items, expected);
    assert_eq!(stream.last_event_id(), Some(TOTAL.to_string()));

    let seen = server.seen();
    assert_eq!(
        seen.len(),
        CUTS + 2,
        "20 cut connections, the rest, then 204"
    );
    let mut through = through.lock().unwrap().clone();
    through.sort();
    assert_eq!(seen[0].last_event_id(), None);
    for ((connection, delivered), request) in through.iter().zip(&seen[1..]) {
        assert_eq!(
            request.last_event_id(),
            Some(delivered.to_string().as_str()),
            "the request after connection {connection}"
        );
    }
}

#[tokio::test]
async fn id_only_blocks_and_empty_ids_steer_last_event_id() {
    let server = Server::start(|seen, mut stream| async move {
        let body: &[u8] = match seen.connection {
            // An event with id 5, then a block with only an id.
            0 => b"id: 5\nevent: tick\ndata: {\"n\": 1}\n\nid: 7\n\n",
            // An event without id keeps the stream's id; an empty id then clears it.
            1 => b"event: tick\ndata: {\"n\": 2}\n\nid\n\nevent: tick\ndata: {\"n\": 3}\n\n",
            // Ids are text, not only ASCII.
            2 => "id: caf\u{e9}\n\n".as_bytes(),
            _ => return no_content(stream).await,
        };
        event_stream_head(&mut stream, "text/event-stream").await;
        stream.write_all(body).await.unwrap();
        close(stream).await;
    })
    .await;
    let mut request = get(&server);
    request.last_event_id = Some("start".to_owned());
    let mut stream = subscribe::<Feed>(http_client(), request, fast_config());
    assert_eq!(stream.last_event_id().as_deref(), Some("start"));
    let items = events(collect(&mut stream).await);
    assert_eq!(
        items,
        vec![tick(1, Some("5")), tick(2, Some("7")), tick(3, None)]
    );
    assert_eq!(stream.last_event_id().as_deref(), Some("caf\u{e9}"));
    let seen = server.seen();
    let sent: Vec<_> = seen.iter().map(Seen::last_event_id).collect();
    assert_eq!(
        sent,
        vec![Some("start"), Some("7"), None, Some("caf\u{e9}")]
    );
}

#[tokio::test]
async fn the_retry_field_sets_the_reconnection_delay() {
    let closed: Moment = Arc::default();
    let closed_at = Arc::clone(&closed);
    let server = Server::start(move |seen, mut stream| {
        let closed_at = Arc::clone(&closed_at);
        async move {
            if seen.connection > 0 {
                return no_content(stream).await;
            }
            event_stream_head(&mut stream, "text/event-stream").await;
            let body = b"retry: 50\n\nevent: tick\ndata: {\"n\": 1}\n\n";
            stream.write_all(body).await.unwrap();
            close(stream).await;
            *closed_at.lock().unwrap() = Some(Instant::now());
        }
    })
    .await;
    let config = ClientConfig {
        initial_retry: Duration::from_secs(10),
        max_backoff: Duration::from_secs(30),
        ..fast_config()
    };
    let mut stream = subscribe::<Feed>(http_client(), get(&server), config);
    assert_eq!(events(collect(&mut stream).await), vec![tick(1, None)]);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let closed = closed.lock().unwrap().expect("the first connection closed");
    let gap = seen[1].at.duration_since(closed);
    // 50 ms with ±20% jitter; far below the configured 10 s.
    assert!(
        gap >= Duration::from_millis(39) && gap < Duration::from_secs(2),
        "{gap:?}"
    );
}

#[tokio::test]
async fn no_content_ends_the_stream() {
    let server = Server::start(|_, stream| no_content(stream)).await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    assert!(next(&mut stream).await.is_none());
    assert!(
        next(&mut stream).await.is_none(),
        "an ended stream stays ended"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.seen().len(), 1, "no reconnection after 204");
}

#[tokio::test]
async fn an_error_status_is_reported_then_the_stream_ends() {
    let server = Server::start(|_, mut stream| async move {
        let mut body = b"boom: ".to_vec();
        body.resize(10_000, b'x');
        respond(
            &mut stream,
            "500 Internal Server Error",
            "text/plain",
            &body,
        )
        .await;
        close(stream).await;
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    let error = next(&mut stream).await.unwrap().unwrap_err();
    let ClientError::Status { status, body } = &error else {
        panic!("expected a status error, got {error:?}");
    };
    assert_eq!(*status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.starts_with("boom: xxx"), "{body}");
    assert_eq!(body.len(), 4096, "the body is cut at 4 KiB");
    assert!(error.to_string().contains("500"), "{error}");
    assert!(next(&mut stream).await.is_none());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server.seen().len(),
        1,
        "no reconnection after an error status"
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_reported_then_the_stream_ends() {
    let server = Server::start(|seen, mut stream| async move {
        if seen.connection == 0 {
            respond(
                &mut stream,
                "200 OK",
                "text/html; charset=utf-8",
                b"<p>hi</p>",
            )
            .await;
        } else {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi";
            stream.write_all(head.as_bytes()).await.unwrap();
        }
        close(stream).await;
    })
    .await;
    for expected in [Some("text/html; charset=utf-8"), None] {
        let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
        match next(&mut stream).await {
            Some(Err(ClientError::ContentType { content_type })) => {
                assert_eq!(content_type.as_deref(), expected);
            }
            other => panic!("expected a content type error, got {other:?}"),
        }
        assert!(next(&mut stream).await.is_none());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server.seen().len(),
        2,
        "one request per stream, no reconnection"
    );
}

#[tokio::test]
async fn an_idle_connection_is_replaced_and_keep_alives_count_as_traffic() {
    let server = Server::start(|seen, mut stream| async move {
        match seen.connection {
            0 => {
                event_stream_head(&mut stream, "text/event-stream").await;
                stream
                    .write_all(b"id: 1\nevent: tick\ndata: {\"n\": 1}\n\n")
                    .await
                    .unwrap();
                let _ = hold(stream).await;
            }
            1 => {
                event_stream_head(&mut stream, "text/event-stream").await;
                // 800 ms of comments only, longer than the idle timeout.
                for _ in 0..8 {
                    stream.write_all(b": keep-alive\n\n").await.unwrap();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                stream
                    .write_all(b"id: 2\nevent: tick\ndata: {\"n\": 2}\n\n")
                    .await
                    .unwrap();
                close(stream).await;
            }
            _ => no_content(stream).await,
        }
    })
    .await;
    let config = ClientConfig {
        idle_timeout: Some(Duration::from_millis(300)),
        ..fast_config()
    };
    let mut stream = subscribe::<Feed>(http_client(), get(&server), config);
    let items = events(collect(&mut stream).await);
    assert_eq!(items, vec![tick(1, Some("1")), tick(2, Some("2"))]);
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        3,
        "one idle replacement, no replacement during keep-alives"
    );
    assert_eq!(seen[1].last_event_id(), Some("1"));
    let idle = seen[1].at.duration_since(seen[0].at);
    assert!(idle >= Duration::from_millis(300), "{idle:?}");
}

#[tokio::test]
async fn the_sentinel_ends_the_stream_cleanly() {
    let server = Server::start(|_, mut stream| async move {
        event_stream_head(&mut stream, "text/event-stream").await;
        let body =
            "event: tick\ndata: {\"n\": 1}\n\ndata: [DONE]\n\nevent: tick\ndata: {\"n\": 2}\n\n";
        stream.write_all(body.as_bytes()).await.unwrap();
        let _ = hold(stream).await;
    })
    .await;
    let mut request = get(&server);
    request.sentinel = Some("[DONE]".to_owned());
    let mut stream = subscribe::<Feed>(http_client(), request, fast_config());
    assert_eq!(events(collect(&mut stream).await), vec![tick(1, None)]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.seen().len(), 1, "no reconnection after the sentinel");
}

#[tokio::test]
async fn a_post_stream_sends_its_body_and_does_not_reconnect_by_default() {
    let server = Server::start(|seen, mut stream| async move {
        let event = b"event: tick\ndata: {\"n\": 1}\n\n";
        if seen.path == "/broken" {
            // A chunked body that breaks off: a failure, not an end.
            chunked_event_stream_head(&mut stream).await;
            chunk(&mut stream, event).await;
            stream.write_all(b"ff\r\nevent: ti").await.unwrap();
        } else {
            event_stream_head(&mut stream, "text/event-stream").await;
            stream.write_all(event).await.unwrap();
        }
        close(stream).await;
    })
    .await;
    let post = |path: &str| {
        let mut request = StreamRequest::new(Method::POST, server.url(path));
        request.body = Some(bytes::Bytes::from_static(b"{\"prompt\":\"hi\"}"));
        request
    };
    let mut stream = subscribe::<Feed>(http_client(), post("/complete"), fast_config());
    assert_eq!(events(collect(&mut stream).await), vec![tick(1, None)]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "the end of a POST body ends the stream");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, b"{\"prompt\":\"hi\"}");
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));

    let mut stream = subscribe::<Feed>(http_client(), post("/broken"), fast_config());
    assert_eq!(next(&mut stream).await.unwrap().unwrap(), tick(1, None));
    match next(&mut stream).await {
        Some(Err(ClientError::GaveUp { attempts: 0, .. })) => {}
        other => panic!("expected GaveUp after a broken POST stream, got {other:?}"),
    }
    assert!(next(&mut stream).await.is_none());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_post_stream_reconnects_when_asked() {
    let server = Server::start(|seen, mut stream| async move {
        if seen.connection > 0 {
            return no_content(stream).await;
        }
        event_stream_head(&mut stream, "text/event-stream").await;
        stream
            .write_all(b"id: 1\nevent: tick\ndata: {\"n\": 1}\n\n")
            .await
            .unwrap();
        close(stream).await;
    })
    .await;
    let mut request = StreamRequest::new(Method::POST, server.url("/complete"));
    request.body = Some(bytes::Bytes::from_static(b"{}"));
    let config = ClientConfig {
        reconnect_non_get: true,
        ..fast_config()
    };
    let mut stream = subscribe::<Feed>(http_client(), request, config);
    assert_eq!(events(collect(&mut stream).await), vec![tick(1, Some("1"))]);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].method.as_str(), seen[1].body.as_slice()),
        ("POST", &b"{}"[..])
    );
    assert_eq!(seen[1].last_event_id(), Some("1"));
}

#[tokio::test]
async fn gives_up_after_max_attempts_when_the_server_is_gone() {
    let server = Server::start(|_, mut stream| async move {
        event_stream_head(&mut stream, "text/event-stream").await;
        stream
            .write_all(b"id: 1\nevent: tick\ndata: {\"n\": 1}\n\n")
            .await
            .unwrap();
        let _ = hold(stream).await;
    })
    .await;
    let config = ClientConfig {
        max_attempts: Some(3),
        ..fast_config()
    };
    let mut stream = subscribe::<Feed>(http_client(), get(&server), config);
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap(),
        tick(1, Some("1"))
    );
    // The server goes away: its listener and its connection close.
    drop(server);
    match next(&mut stream).await {
        Some(Err(ClientError::GaveUp {
            attempts,
            last_error,
        })) => {
            assert_eq!(attempts, 3);
            assert!(!last_error.is_empty());
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert!(next(&mut stream).await.is_none());
    assert_eq!(stream.last_event_id().as_deref(), Some("1"));
}

#[tokio::test]
async fn failed_reconnections_back_off_exponentially() {
    // Every connection is accepted and ends without an event: each reconnection fails.
    let server = Server::start(|_, mut stream| async move {
        event_stream_head(&mut stream, "text/event-stream").await;
        stream.write_all(b": nothing to say\n\n").await.unwrap();
        close(stream).await;
    })
    .await;
    let config = ClientConfig {
        initial_retry: Duration::from_millis(25),
        max_backoff: Duration::from_millis(150),
        max_attempts: Some(5),
        ..fast_config()
    };
    let mut stream = subscribe::<Feed>(http_client(), get(&server), config);
    match next(&mut stream).await {
        Some(Err(ClientError::GaveUp { attempts: 5, .. })) => {}
        other => panic!("expected GaveUp after 5 attempts, got {other:?}"),
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 6, "the first connection and 5 reconnections");
    let gaps: Vec<Duration> = seen
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect();
    // 25, 50, 100, then capped at 150 ms, each −20% at worst.
    for (gap, floor) in gaps.iter().zip([20, 40, 80, 120, 120]) {
        assert!(*gap >= Duration::from_millis(floor), "{gaps:?}");
    }
    assert!(gaps[4] < Duration::from_secs(2), "{gaps:?}");
}

#[tokio::test]
async fn the_connect_timeout_bounds_a_server_that_never_answers() {
    let server = Server::start(|_, stream| async move {
        let _ = hold(stream).await;
    })
    .await;
    let config = ClientConfig {
        connect_timeout: Duration::from_millis(200),
        max_attempts: Some(1),
        ..fast_config()
    };
    let started = Instant::now();
    let mut stream = subscribe::<Feed>(http_client(), get(&server), config);
    match next(&mut stream).await {
        Some(Err(ClientError::GaveUp {
            attempts: 1,
            last_error,
        })) => assert!(last_error.contains("connect timeout"), "{last_error}"),
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let closed: Moment = Arc::default();
    let closed_at = Arc::clone(&closed);
    let server = Server::start(move |_, mut stream| {
        let closed_at = Arc::clone(&closed_at);
        async move {
            event_stream_head(&mut stream, "text/event-stream").await;
            stream
                .write_all(b"event: tick\ndata: {\"n\": 1}\n\n")
                .await
                .unwrap();
            if hold(stream).await {
                *closed_at.lock().unwrap() = Some(Instant::now());
            }
        }
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    assert_eq!(next(&mut stream).await.unwrap().unwrap(), tick(1, None));
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    while closed.lock().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the connection stayed open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.seen().len(), 1, "nothing reconnects after the drop");
}

#[tokio::test]
async fn a_request_that_cannot_be_built_is_reported() {
    let mut urls = vec!["not a url", "ftp://127.0.0.1:9/events"];
    if cfg!(not(feature = "rustls")) {
        // Without TLS an https URL can never connect: no point retrying.
        urls.push("https://127.0.0.1:9/events");
    }
    for url in urls {
        let request = StreamRequest::new(Method::GET, url);
        let mut stream = subscribe::<Feed>(http_client(), request, fast_config());
        match next(&mut stream).await {
            Some(Err(ClientError::Request(reason))) => assert!(!reason.is_empty()),
            other => panic!("{url}: expected a request error, got {other:?}"),
        }
        assert!(next(&mut stream).await.is_none());
    }

    // An id that no header can carry ends the stream rather than resuming from the start.
    let server = Server::start(|_, mut stream| async move {
        event_stream_head(&mut stream, "text/event-stream").await;
        stream
            .write_all(b"id: a\x01b\nevent: tick\ndata: {\"n\": 1}\n\n")
            .await
            .unwrap();
        close(stream).await;
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap(),
        tick(1, Some("a\u{1}b"))
    );
    assert!(matches!(
        next(&mut stream).await,
        Some(Err(ClientError::Request(_)))
    ));
    assert!(next(&mut stream).await.is_none());
}

#[tokio::test]
async fn an_event_past_the_size_limit_is_an_error_item_and_the_stream_goes_on() {
    let server = Server::start(|seen, mut stream| async move {
        if seen.connection > 0 {
            return no_content(stream).await;
        }
        event_stream_head(&mut stream, "text/event-stream").await;
        // One data line past the parser's 16 MiB limit, written in 1 MiB pieces.
        stream
            .write_all(b"id: 1\nevent: tick\ndata: ")
            .await
            .unwrap();
        let piece = vec![b'x'; 1 << 20];
        for _ in 0..17 {
            stream.write_all(&piece).await.unwrap();
        }
        stream
            .write_all(b"\n\nevent: tick\ndata: {\"n\": 2}\n\n")
            .await
            .unwrap();
        close(stream).await;
    })
    .await;
    let mut stream = subscribe::<Feed>(http_client(), get(&server), fast_config());
    let mut items = collect(&mut stream).await.into_iter();
    match items.next() {
        Some(Err(error @ ClientError::Parse(_))) => {
            assert!(error.to_string().contains("limit"), "{error}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    // The dropped event's id still applies.
    assert_eq!(items.next().unwrap().unwrap(), tick(2, Some("1")));
    assert!(items.next().is_none());
}
