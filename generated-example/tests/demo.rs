//! The demo binaries, run as a newcomer would: `petstore-server` on a free 127.0.0.1 port, read
//! with plain HTTP (what `curl -N` shows), with `petstore-client`, and in an auction with the
//! generated WebSocket client. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use petstore_generated::petstore_openapi::types::StreamNotificationsEvent as Event;
use wiregen_runtime::sse::EventSet;

const TIMEOUT: Duration = Duration::from_secs(20);

/// The server process, killed when the test ends however it ends.
struct Server {
    child: Child,
    addr: String,
    /// Kept open: the server may print more, and must not meet a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `petstore-server` on a free port with fast simulated changes and one-second auctions;
/// reads the address it prints.
fn start_server() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--interval-ms",
            "10",
            "--auction-secs",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("petstore-server starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut first = String::new();
    let mut stdout = BufReader::new(stdout);
    // The server prints this line once it is listening, before anything can block.
    stdout
        .read_line(&mut first)
        .expect("petstore-server prints its address");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_owned();
    Server {
        child,
        addr,
        _stdout: stdout,
    }
}

/// `GET path` over a raw socket (HTTP/1.0, so the body is not chunked), returning the status
/// line, the headers and the first `count` events as (name, id, data).
fn raw_events(
    addr: &str,
    path: &str,
    count: usize,
) -> (String, String, Vec<(String, String, String)>) {
    raw_events_with(addr, path, "", count)
}

/// [`raw_events`] with extra request header lines (each ending in CRLF).
fn raw_events_with(
    addr: &str,
    path: &str,
    headers: &str,
    count: usize,
) -> (String, String, Vec<(String, String, String)>) {
    let mut socket = TcpStream::connect(addr).expect("connect to the demo server");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    write!(
        socket,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}\r\n"
    )
    .expect("request");
    let deadline = Instant::now() + TIMEOUT;
    let mut text = String::new();
    let mut buffer = [0u8; 4096];
    loop {
        assert!(
            Instant::now() < deadline,
            "no {count} events in time:\n{text}"
        );
        let read = socket.read(&mut buffer).expect("the stream goes on");
        assert!(read > 0, "the server closed the stream:\n{text}");
        text.push_str(std::str::from_utf8(&buffer[..read]).expect("UTF-8"));
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let events = parse_events(body);
        if events.len() >= count {
            let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
            return (
                status.to_owned(),
                headers.to_ascii_lowercase(),
                events.into_iter().take(count).collect(),
            );
        }
    }
}

/// Complete events of an event-stream body (what this server sends: `field: value` lines,
/// comments ignored, a blank line ends an event).
fn parse_events(body: &str) -> Vec<(String, String, String)> {
    let mut events = Vec::new();
    let mut blocks: Vec<&str> = body.split("\n\n").collect();
    blocks.pop(); // incomplete
    for block in blocks {
        let (mut name, mut id, mut data) = (String::from("message"), String::new(), None);
        for line in block.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = value.to_owned(),
                "id" => id = value.to_owned(),
                "data" => data = Some(value.to_owned()),
                _ => {}
            }
        }
        if let Some(data) = data {
            events.push((name, id, data));
        }
    }
    events
}

#[test]
fn curl_sees_typed_events() {
    let server = start_server();
    let (status, headers, events) = raw_events(&server.addr, "/v1/pets/notifications", 12);
    assert!(status.ends_with("200 OK"), "{status}");
    assert!(
        headers.contains("content-type: text/event-stream"),
        "{headers}"
    );
    let mut last_id = 0u64;
    let epoch = events[0]
        .1
        .split_once('.')
        .map(|(epoch, _)| epoch.to_owned());
    let mut names = std::collections::BTreeSet::new();
    for (name, id, data) in &events {
        let event = Event::decode(name, data)
            .unwrap_or_else(|e| panic!("event {id} ({name}) does not decode: {e}: {data}"));
        assert_eq!(event.event_name(), name);
        // `<epoch>.<n>`: one epoch per server run, numbers that increase.
        assert_eq!(id.split_once('.').map(|(e, _)| e.to_owned()), epoch, "{id}");
        let id = seq(id);
        assert!(id > last_id, "ids increase");
        last_id = id;
        names.insert(name.clone());
    }
    assert!(
        names.contains("order-placed") && names.contains("status-change"),
        "{names:?}"
    );
}

#[test]
fn user_filter_and_resume() {
    let server = start_server();
    let (_, _, events) = raw_events(&server.addr, "/v1/pets/notifications?userId=u-1001", 4);
    for (name, id, data) in &events {
        match Event::decode(name, data).expect("decodes") {
            Event::Adoption(a) => assert_eq!(a.user_id, "u-1001", "event {id}"),
            Event::OrderPlaced(o) => assert_eq!(o.user_id, "u-1001", "event {id}"),
            _ => {}
        }
    }
    // Resuming after the first event replays the ones after it, in order.
    let first = &events[0].1;
    let (_, _, resumed) = raw_events_with(
        &server.addr,
        "/v1/pets/notifications",
        &format!("Last-Event-ID: {first}\r\n"),
        1,
    );
    assert_eq!(
        seq(&resumed[0].1),
        seq(first) + 1,
        "the replay starts right after the id given"
    );
    // An id this server never gave (another run's) gets the gap event, then live events.
    let (_, _, lost) = raw_events_with(
        &server.addr,
        "/v1/pets/notifications?userId=u-1001",
        "Last-Event-ID: 0123456789ab.5\r\n",
        1,
    );
    assert_eq!(lost[0].0, "wiregen-gap", "{lost:?}");
    assert_eq!(
        lost[0].2,
        r#"{"lastEventId":"0123456789ab.5","reason":"unknown"}"#
    );
}

/// The number of an id `<epoch>.<n>`.
fn seq(id: &str) -> u64 {
    id.split_once('.')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("an id <epoch>.<n>: {id:?}"))
}

#[test]
fn petstore_client_prints_typed_events() {
    let server = start_server();
    let mut client = Command::new(env!("CARGO_BIN_EXE_petstore-client"))
        .args(["--url", &format!("http://{}", server.addr), "--count", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("petstore-client starts");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = client.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = client.kill();
            let _ = client.wait();
            panic!("petstore-client did not print 5 events in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    client
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(status.success(), "{status}\n{out}");
    // Before subscribing, the client called the plain operations: the available pets (with
    // their `X-Total-Count`), then an order for the first one (unless the simulation took it
    // first: a 409 the client reports) looked up again by its id.
    let store: Vec<&str> = out.lines().filter(|l| l.starts_with("store: ")).collect();
    assert!(
        store.first().is_some_and(|l| l.contains(" available: ")),
        "{out}"
    );
    let ordered = store.iter().any(|l| l.contains(" placed for "));
    if ordered {
        assert!(
            store.iter().any(|l| l.ends_with(" is PLACED")
                || l.ends_with(" is SHIPPED")
                || l.ends_with(" is DELIVERED")),
            "{out}"
        );
    } else {
        assert!(
            store
                .iter()
                .any(|l| l.contains(" not ordered: ") || l.starts_with("store: nothing to order")),
            "{out}"
        );
    }
    // Notification lines start with their id; the auction's lines with `auction`.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("auction ") && !l.starts_with("store: "))
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    for line in lines {
        assert!(line.starts_with('#'), "{line}");
        assert!(
            [
                "adoption",
                "status-change",
                "order-placed",
                "order-shipped",
                "order-delivered"
            ]
            .iter()
            .any(|name| line.contains(name)),
            "{line}"
        );
    }
}

/// A bid above what the simulated bidders can pay leads, is announced to the room, and wins when
/// the one-second auction closes; a connection without a token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auction_over_websocket() {
    use petstore_generated::petstore_asyncapi::client::{AuctionClient, ClientConfig};
    use petstore_generated::petstore_asyncapi::types::AuctionParams;
    use petstore_generated::petstore_asyncapi::types::{
        AuctionClientMessage, AuctionServerMessage, Bid,
    };
    use wiregen_runtime::ws::Credential;
    use wiregen_runtime::ws::client::Event as WsEvent;

    let server = start_server();
    let base = format!("ws://{}", server.addr);
    let params = AuctionParams {
        auction_id: "a-test".into(),
        user_id: Some("tester".into()),
    };
    let refused = AuctionClient::connect(&base, &params, None, ClientConfig::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.status(), Some(401), "{refused}");

    let token = Credential::ApiKey("any".into());
    let (client, mut receiver) =
        AuctionClient::connect(&base, &params, Some(&token), ClientConfig::default())
            .await
            .expect("joins the auction");
    client
        .send(&AuctionClientMessage::Bid(Bid { amount: 5000.0 }))
        .await
        .expect("bid sent");
    let mut announced = false;
    let winner = tokio::time::timeout(TIMEOUT, async {
        while let Some(event) = receiver.recv().await {
            match event {
                WsEvent::Message(AuctionServerMessage::BidPlaced(placed))
                    if placed.user_id == "tester" =>
                {
                    assert_eq!(placed.amount, 5000.0);
                    announced = true;
                }
                // Once the bid is in, nobody beats it: the end names the winner.
                WsEvent::Message(AuctionServerMessage::AuctionEnd(end)) if announced => {
                    return end.winner;
                }
                WsEvent::Message(AuctionServerMessage::Outbid(outbid)) if announced => {
                    panic!("outbid at {} after bidding 5000", outbid.new_amount)
                }
                _ => {}
            }
        }
        panic!("the connection ended")
    })
    .await
    .expect("the auction closes within the timeout");
    assert_eq!(winner.as_deref(), Some("tester"));
    let _ = client.close().await;
}
