//! The pet store demo server on several instances sharing one Redis (`petstore-server --redis`),
//! and in memory across a restart, driven as an operator would: real processes on 127.0.0.1, a
//! `redis-server` the test starts on a free port, a small round-robin TCP proxy standing in for
//! the load balancer, the generated clients and Chromium's `EventSource`. Every wait is bounded.
//!
//! - Three instances, 300 subscribers through the proxy, 10,000 events published by the three
//!   (their simulations): one instance killed, then all three restarted, then Redis restarted
//!   with its data; every subscriber gets every event after its starting id exactly once, in the
//!   order of the Redis Stream.
//! - An auction with bidders on three instances: every bidder sees every bid exactly once.
//! - In memory: a client resuming after a restart (another epoch) or from an id older than the
//!   replay ring gets the typed gap item; Chromium's `EventSource` gets the named event.

#[path = "../../tests/peers/redis.rs"]
mod redis_server;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use petstore_generated::petstore_openapi::client::{Client, ClientConfig};
use petstore_generated::petstore_openapi::types::StreamNotificationsRequest;
use wiregen_runtime::codegen::serde_json;
use wiregen_runtime::sse::client::Received;

/// The Redis Stream the demo's `--redis` feed uses.
const STREAM_KEY: &str = "wiregen:sse:petstore-notifications";

/// A `petstore-server` process, killed when dropped.
struct Instance {
    child: Child,
    addr: SocketAddr,
    _stdout: BufReader<ChildStdout>,
}

impl Instance {
    fn start(args: &[&str]) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("petstore-server starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut first = String::new();
        stdout
            .read_line(&mut first)
            .expect("petstore-server prints its address");
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("petstore-server did not start: {first:?}")
            })
            .parse()
            .expect("an address");
        Instance {
            child,
            addr,
            _stdout: stdout,
        }
    }

    fn redis(url: &str) -> Instance {
        Instance::start(&[
            "--addr",
            "127.0.0.1:0",
            "--redis",
            url,
            "--retention",
            "1000000",
            "--interval-ms",
            "5",
            "--auction-secs",
            "3600",
        ])
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback TCP proxy: each connection goes to the next backend in turn that accepts it; with
/// none, the connection is closed.
struct Proxy {
    addr: SocketAddr,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(backends: Vec<SocketAddr>) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("an address");
        let backends = Arc::new(Mutex::new(backends));
        let next = Arc::new(AtomicUsize::new(0));
        let list = backends.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let list = list.lock().unwrap().clone();
                let start = next.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let _ = client.set_nodelay(true);
                    for i in 0..list.len() {
                        let backend = list[(start + i) % list.len()];
                        if let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await {
                            let _ = upstream.set_nodelay(true);
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                            return;
                        }
                    }
                });
            }
        });
        Proxy {
            addr,
            backends,
            task,
        }
    }

    fn set_backends(&self, backends: Vec<SocketAddr>) {
        *self.backends.lock().unwrap() = backends;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A Redis Stream entry: its id and its fields.
type Entry = (String, Vec<(String, Vec<u8>)>);

/// The bids one bidder heard: (user, amount).
type Heard = Arc<Mutex<Vec<(String, u64)>>>;

/// A stream id as a comparable pair.
fn pos(id: &str) -> (u64, u64) {
    let (ms, n) = id
        .split_once('-')
        .unwrap_or_else(|| panic!("a stream id: {id:?}"));
    (ms.parse().expect("ms"), n.parse().expect("n"))
}

async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    // A loaded machine may take a while to answer a page of thousands of entries.
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(20)));
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("Redis answers")
}

/// The ids of the stream after `after` (exclusive) up to `until` (inclusive), read from Redis.
async fn stream_ids(url: &str, after: &str, until: &str) -> Vec<(u64, u64)> {
    let mut connection = redis_connection(url).await;
    let mut ids = Vec::new();
    let mut from = format!("({after}");
    loop {
        let page: Vec<Entry> = redis::cmd("XRANGE")
            .arg(STREAM_KEY)
            .arg(&from)
            .arg(until)
            .arg("COUNT")
            .arg(5000)
            .query_async(&mut connection)
            .await
            .expect("XRANGE");
        let Some((last, _)) = page.last() else {
            return ids;
        };
        from = format!("({last}");
        ids.extend(page.iter().map(|(id, _)| pos(id)));
    }
}

/// `XLEN` of the stream, or `None` while Redis is away.
async fn stream_len(url: &str) -> Option<usize> {
    let client = redis::Client::open(url).ok()?;
    let mut connection = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()?;
    redis::cmd("XLEN")
        .arg(STREAM_KEY)
        .query_async(&mut connection)
        .await
        .ok()
}

/// Waits, up to `deadline`, until the stream holds at least `len` entries.
async fn wait_len(url: &str, len: usize, deadline: Instant, what: &str) {
    loop {
        let now = stream_len(url).await;
        if now.is_some_and(|now| now >= len) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the stream has {now:?} entries, not {len}, by the deadline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn quick_client_config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(5),
        initial_retry: Duration::from_millis(100),
        max_backoff: Duration::from_millis(800),
        idle_timeout: Some(Duration::from_secs(30)),
        ..ClientConfig::default()
    }
}

/// Any pet store event, its data left undecoded.
#[derive(Debug)]
struct Raw;

impl wiregen_runtime::sse::EventSet for Raw {
    fn event_name(&self) -> &'static str {
        "message"
    }

    fn write_data(&self, _out: &mut Vec<u8>) -> Result<(), wiregen_runtime::sse::EncodeError> {
        Ok(())
    }

    fn decode(event: &str, _data: &str) -> Result<Self, wiregen_runtime::sse::DecodeError> {
        match event {
            "adoption" | "status-change" | "order-placed" | "order-shipped" | "order-delivered" => {
                Ok(Raw)
            }
            _ => Err(wiregen_runtime::sse::DecodeError::UnknownEvent),
        }
    }
}

/// What one subscriber received.
#[derive(Default)]
struct Seen {
    ids: Vec<(u64, u64)>,
    other: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_one_order_through_kills_and_restarts() {
    const SUBSCRIBERS: usize = 300;
    const EVENTS: usize = 10_000;
    let deadline = Instant::now() + Duration::from_secs(400);
    let mut redis = redis_server::RedisServer::start();
    let url = redis.url();
    let mut instances: Vec<Instance> = (0..3).map(|_| Instance::redis(&url)).collect();
    let proxy = Proxy::start(instances.iter().map(|i| i.addr).collect()).await;

    // Everyone starts after the stream's first entry, so everyone is owed the same events.
    wait_len(&url, 1, deadline, "first event").await;
    let mut connection = redis_connection(&url).await;
    let first: Vec<Entry> = redis::cmd("XRANGE")
        .arg(STREAM_KEY)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut connection)
        .await
        .expect("XRANGE");
    let start = first[0].0.clone();
    drop(connection);

    // Every tenth subscriber is the generated, typed client; the others are the same runtime
    // client without decoding the JSON (a debug build spends most of its time there).
    let base = format!("http://{}", proxy.addr);
    let client = Client::with_config(base.clone(), quick_client_config());
    let http = wiregen_runtime::sse::client::http_client(&quick_client_config());
    let seen: Vec<Arc<Mutex<Seen>>> = (0..SUBSCRIBERS).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for (n, seen) in seen.iter().enumerate() {
        let seen = seen.clone();
        let start = start.clone();
        if n % 10 == 0 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let request = StreamNotificationsRequest {
                    user_id: None,
                    last_event_id: Some(start),
                };
                let mut stream = client.stream_notifications(&request);
                while let Some(item) = stream.next().await {
                    let mut seen = seen.lock().unwrap();
                    match item {
                        Ok(Received::Event { id: Some(id), .. }) => seen.ids.push(pos(&id)),
                        other => seen.other.push(format!("{other:?}")),
                    }
                }
            }));
        } else {
            let http = http.clone();
            let mut request = wiregen_runtime::sse::client::StreamRequest::new(
                wiregen_runtime::codegen::http::Method::GET,
                format!("{base}/v1/pets/notifications"),
            );
            request.last_event_id = Some(start);
            tasks.push(tokio::spawn(async move {
                let mut stream = wiregen_runtime::sse::client::subscribe::<Raw>(
                    http,
                    request,
                    quick_client_config(),
                );
                while let Some(item) = stream.next().await {
                    let mut seen = seen.lock().unwrap();
                    match item {
                        Ok(Received::Event { id: Some(id), .. }) => seen.ids.push(pos(&id)),
                        other => seen.other.push(format!("{other:?}")),
                    }
                }
            }));
        }
    }

    // One instance killed mid-stream: its subscribers reconnect through the proxy to another.
    wait_len(&url, EVENTS / 4, deadline, "before the kill").await;
    let killed = instances.remove(0);
    proxy.set_backends(instances.iter().map(|i| i.addr).collect());
    drop(killed);

    // Every instance restarted (new processes, new ports).
    wait_len(&url, EVENTS / 2, deadline, "before the restart").await;
    instances.clear();
    let fresh: Vec<Instance> = (0..3).map(|_| Instance::redis(&url)).collect();
    proxy.set_backends(fresh.iter().map(|i| i.addr).collect());
    instances = fresh;

    // Redis restarted with its data (append-only file): publishing fails meanwhile, nobody loses
    // anything.
    wait_len(&url, EVENTS * 3 / 4, deadline, "before restarting Redis").await;
    redis.restart();

    // The 10,000th event after the start is where everyone must have got to.
    wait_len(&url, EVENTS + 1, deadline, "10,000 events").await;
    let truth = stream_ids(&url, &start, "+").await;
    let until = truth[EVENTS - 1];
    let truth = &truth[..EVENTS];
    loop {
        let behind: Vec<String> = seen
            .iter()
            .enumerate()
            .filter_map(|(n, seen)| {
                let seen = seen.lock().unwrap();
                let last = seen.ids.last().copied();
                last.is_none_or(|last| last < until).then(|| {
                    format!(
                        "#{n}: {} events, the last {last:?}, finished: {}, other items: {:?}",
                        seen.ids.len(),
                        tasks[n].is_finished(),
                        &seen.other[..seen.other.len().min(3)]
                    )
                })
            })
            .collect();
        if behind.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {SUBSCRIBERS} subscribers did not reach the 10,000th event {until:?} in time:\n{}",
            behind.len(),
            behind[..behind.len().min(10)].join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in &tasks {
        task.abort();
    }
    drop(instances);
    for (n, seen) in seen.iter().enumerate() {
        let seen = seen.lock().unwrap();
        assert!(
            seen.other.is_empty(),
            "subscriber {n} got something else than events: {:?}",
            &seen.other[..seen.other.len().min(3)]
        );
        let got = &seen.ids[..seen.ids.len().min(EVENTS)];
        if got != truth {
            let at = got.iter().zip(truth).position(|(a, b)| a != b);
            panic!(
                "subscriber {n}: {} events, first difference at {at:?} (got {:?}, expected {:?})",
                got.len(),
                at.and_then(|at| got.get(at)),
                at.and_then(|at| truth.get(at)),
            );
        }
    }
}

/// Bidders on three instances bid in turn, each bid above the last; every bidder hears every
/// bid once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auction_spans_three_instances() {
    use petstore_generated::petstore_asyncapi::client::{AuctionClient, ClientConfig};
    use petstore_generated::petstore_asyncapi::types::{
        AuctionClientMessage, AuctionParams, AuctionServerMessage, Bid,
    };
    use wiregen_runtime::ws::Credential;
    use wiregen_runtime::ws::client::Event as WsEvent;

    const BIDDERS: usize = 12;
    const ROUNDS: usize = 5;
    let deadline = Duration::from_secs(60);
    let redis = redis_server::RedisServer::start();
    let instances: Vec<Instance> = (0..3).map(|_| Instance::redis(&redis.url())).collect();
    let token = Credential::ApiKey("demo".into());
    let mut senders = Vec::new();
    let heard: Vec<Heard> = (0..BIDDERS).map(|_| Arc::default()).collect();
    for (n, heard) in heard.iter().enumerate() {
        let base = format!("ws://{}", instances[n % 3].addr);
        let params = AuctionParams {
            auction_id: "a-spanning".into(),
            user_id: Some(format!("bidder-{n}")),
        };
        let (client, mut receiver) =
            AuctionClient::connect(&base, &params, Some(&token), ClientConfig::default())
                .await
                .expect("joins the auction");
        senders.push(client);
        let heard = heard.clone();
        tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                if let WsEvent::Message(AuctionServerMessage::BidPlaced(bid)) = event
                    && bid.user_id.starts_with("bidder-")
                {
                    heard.lock().unwrap().push((bid.user_id, bid.amount as u64));
                }
            }
        });
    }
    let heard_by_all = |count: usize| {
        heard
            .iter()
            .all(|heard| heard.lock().unwrap().len() >= count)
    };
    // Above what the demo's simulated bidders may pay, so every bid leads.
    let mut expected = Vec::new();
    for round in 0..ROUNDS {
        for (n, sender) in senders.iter().enumerate() {
            let amount = 2000 + (round * BIDDERS + n) as u64;
            expected.push((format!("bidder-{n}"), amount));
            sender
                .send(&AuctionClientMessage::Bid(Bid {
                    amount: amount as f64,
                }))
                .await
                .expect("bid sent");
            // The next bid only after everyone heard this one: each instance judges a bid
            // against the bids it has seen, so they must arrive in order.
            let started = Instant::now();
            while !heard_by_all(expected.len()) {
                assert!(
                    started.elapsed() < deadline,
                    "bid {amount} did not reach every bidder"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    // A last bid, published after all the others: anything sent twice would arrive before it.
    let last = ("bidder-0".to_owned(), 9999);
    expected.push(last.clone());
    senders[0]
        .send(&AuctionClientMessage::Bid(Bid { amount: 9999.0 }))
        .await
        .expect("bid sent");
    let started = Instant::now();
    while !heard
        .iter()
        .all(|heard| heard.lock().unwrap().last() == Some(&last))
    {
        assert!(started.elapsed() < deadline, "the last bid did not arrive");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for (n, heard) in heard.iter().enumerate() {
        assert_eq!(*heard.lock().unwrap(), expected, "bidder {n}");
    }
}

/// The pet store's event names, for Chromium's listeners, and the gap event.
const BROWSER_EVENTS: &str =
    "wiregen-gap,adoption,status-change,order-placed,order-shipped,order-delivered";

/// The `<epoch>.<n>` parts of an in-memory id.
fn epoch_and_seq(id: &str) -> (String, u64) {
    let (epoch, n) = id
        .split_once('.')
        .unwrap_or_else(|| panic!("an id <epoch>.<n>: {id:?}"));
    (epoch.to_owned(), n.parse().expect("a number"))
}

/// Starts an in-memory instance on `addr`, retrying while the old process's port is released.
fn start_on(addr: SocketAddr) -> Instance {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let probe = std::net::TcpListener::bind(addr);
        if probe.is_ok() {
            drop(probe);
            return Instance::start(&["--addr", &addr.to_string(), "--interval-ms", "2"]);
        }
        assert!(Instant::now() < deadline, "{addr} stayed busy");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next item of a stream within the timeout.
async fn next_item<S: futures_util::Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("an item in time")
        .expect("the stream goes on")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_a_restart_or_an_old_id_is_a_gap_for_rust_and_for_chromium() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository")
        .to_path_buf();
    let script = root.join("tests/peers/browser-eventsource.mjs");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && root
                .join("tests/peers/node_modules/playwright-core/package.json")
                .is_file(),
        "Chromium and playwright-core are needed (the peer tests never skip); run scripts/install-peers"
    );
    let server = Instance::start(&["--addr", "127.0.0.1:0", "--interval-ms", "2"]);
    let addr = server.addr;
    let url = format!("http://{addr}/v1/pets/notifications");

    // Chromium's EventSource, printing one JSON line per event; it stops after 2,000 events.
    let mut browser = Command::new("node")
        .arg(&script)
        .args([url.as_str(), "2000", "90000", "--events", BROWSER_EVENTS])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let (lines, browser_lines) = std::sync::mpsc::channel::<serde_json::Value>();
    let stdout = browser.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line)
                && lines.send(value).is_err()
            {
                return;
            }
        }
    });
    let next_line = || {
        browser_lines
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium prints an event in time")
    };
    // Chromium has an id of this run before the restart.
    let mut browser_last = next_line()["lastEventId"]
        .as_str()
        .expect("an id")
        .to_owned();
    // So does the generated client.
    let client = Client::with_config(format!("http://{addr}"), quick_client_config());
    let request = StreamNotificationsRequest {
        user_id: None,
        last_event_id: None,
    };
    let mut stream = client.stream_notifications(&request);
    let mut client_last = match next_item(&mut stream).await {
        Ok(Received::Event { id: Some(id), .. }) => id,
        other => panic!("expected an event, got {other:?}"),
    };
    let (old_epoch, _) = epoch_and_seq(&client_last);

    // A restart: a new process on the same port, numbering its events from 1 in a new epoch.
    drop(server);
    let _server = start_on(addr);

    // The generated client reconnects with its last id and gets the typed gap item.
    let gap_id = loop {
        match next_item(&mut stream).await {
            Ok(Received::Event { id: Some(id), .. }) => client_last = id,
            Ok(Received::Gap {
                last_event_id,
                reason,
                id,
            }) => {
                assert_eq!(last_event_id, Some(client_last.clone()));
                assert_eq!(reason, "unknown");
                let id = id.expect("the gap carries the newest id");
                assert_ne!(epoch_and_seq(&id).0, old_epoch, "a new epoch");
                break id;
            }
            other => panic!("expected events then a gap, got {other:?}"),
        }
    };
    // Then live events of the new run.
    match next_item(&mut stream).await {
        Ok(Received::Event { id: Some(id), .. }) => {
            assert_eq!(epoch_and_seq(&id).0, epoch_and_seq(&gap_id).0);
        }
        other => panic!("expected an event after the gap, got {other:?}"),
    }

    // Chromium's EventSource reconnects by itself with its Last-Event-ID and gets the named
    // event.
    let gap = loop {
        let line = next_line();
        if line["type"] == "wiregen-gap" {
            break line;
        }
        browser_last = line["lastEventId"].as_str().expect("an id").to_owned();
    };
    let data: serde_json::Value =
        serde_json::from_str(gap["data"].as_str().expect("data")).expect("JSON data");
    assert_eq!(data["lastEventId"], browser_last.as_str(), "{gap}");
    assert_eq!(data["reason"], "unknown", "{gap}");
    let status = {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = browser.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = browser.kill();
                panic!("the browser peer did not finish");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert!(status.success(), "the browser peer failed: {status}");

    // An id older than the replay ring (1,024 events) is an expired gap.
    let (_, early) = epoch_and_seq(&gap_id);
    loop {
        if let Ok(Received::Event { id: Some(id), .. }) = next_item(&mut stream).await
            && epoch_and_seq(&id).1 > early + 1100
        {
            break;
        }
    }
    let request = StreamNotificationsRequest {
        user_id: None,
        last_event_id: Some(gap_id.clone()),
    };
    let mut late = client.stream_notifications(&request);
    match next_item(&mut late).await {
        Ok(Received::Gap {
            last_event_id,
            reason,
            ..
        }) => {
            assert_eq!(last_event_id, Some(gap_id));
            assert_eq!(reason, "expired");
        }
        other => panic!("expected an expired gap, got {other:?}"),
    }
}
