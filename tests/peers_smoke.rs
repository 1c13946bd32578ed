//! Proves the third-party peer harness of `tests/peers/` works end to end, without the
//! generator: Chromium judges the SSE parser case table, the sse-starlette and express servers
//! serve the pet store stream (checked with curl), and the npm `eventsource` package and
//! Chromium's EventSource read those streams. A missing peer fails these tests with a hint to
//! run `scripts/install-peers`; nothing here is ever skipped.

#[path = "peers/harness.rs"]
mod peers;

use std::time::Duration;

use peers::{Need, PETSTORE_EVENT_NAMES, Server, TIMEOUT, require};
use serde_json::Value;

/// One event as the peers see it: name, id and the decoded JSON payload.
#[derive(Debug, PartialEq)]
struct Event {
    name: String,
    id: String,
    data: Value,
}

/// `tests/peers/petstore-events.json`: what both peer servers send on `/v1/pets/notifications`.
fn petstore_events() -> Vec<Event> {
    let text = std::fs::read_to_string(peers::peers_dir().join("petstore-events.json"))
        .expect("tests/peers/petstore-events.json is readable");
    let events: Vec<Value> = serde_json::from_str(&text).expect("petstore-events.json is JSON");
    events
        .into_iter()
        .map(|event| Event {
            name: event["event"].as_str().expect("an event name").to_owned(),
            id: event["id"].as_str().expect("an id").to_owned(),
            data: event["data"].clone(),
        })
        .collect()
}

/// Splits raw stream text (as curl-stream.sh prints it) into events. Only what these servers
/// send is handled: `field: value` lines, LF or CRLF, blank line ends an event.
fn events_in_wire_text(text: &str) -> Vec<(String, String, String)> {
    let mut events = Vec::new();
    let (mut name, mut id, mut data) = (String::new(), String::new(), None::<String>);
    for line in text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
    {
        if line.is_empty() {
            if let Some(data) = data.take() {
                let name = if name.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut name)
                };
                events.push((name, id.clone(), data));
            }
            name.clear();
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "event" => name = value,
            "id" => id = value,
            "data" => data = Some(data.map_or(value.clone(), |d| format!("{d}\n{value}"))),
            _ => {}
        }
    }
    events
}

fn decoded(name: &str, id: &str, data: &str) -> Event {
    Event {
        name: name.to_owned(),
        id: id.to_owned(),
        data: serde_json::from_str(data)
            .unwrap_or_else(|e| panic!("event {id} ({name}): data is not JSON ({e}): {data}")),
    }
}

/// Reads a whole stream of `server` with curl-stream.sh (COUNT=0: until the server ends it).
fn curl_whole_stream(server: &Server, path: &str, curl_args: &[&str]) -> String {
    let mut command = peers::bash("curl-stream.sh");
    command
        .arg(server.url(path))
        .args(["0", "20"])
        .args(curl_args);
    let finished = peers::run(command, TIMEOUT);
    finished.assert_success();
    finished.stdout.clone()
}

/// The checks both servers must pass, read with curl; `crlf` is the line ending they use.
fn check_server_with_curl(server: &Server, crlf: bool) {
    let expected = petstore_events();

    let wire = curl_whole_stream(server, "/v1/pets/notifications", &[]);
    assert_eq!(
        wire.contains("\r\n"),
        crlf,
        "line endings (CRLF expected: {crlf}):\n{wire:?}"
    );
    let events: Vec<Event> = events_in_wire_text(&wire)
        .iter()
        .map(|(n, i, d)| decoded(n, i, d))
        .collect();
    assert_eq!(
        events, expected,
        "the pet store stream, as curl read it:\n{wire}"
    );

    let resumed = curl_whole_stream(
        server,
        "/v1/pets/notifications",
        &["-H", "Last-Event-ID: 4"],
    );
    let ids: Vec<String> = events_in_wire_text(&resumed)
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(ids, ["5", "6"], "after Last-Event-ID: 4:\n{resumed}");

    let unknown = curl_whole_stream(server, "/unknown/v1/pets/notifications", &[]);
    let names: Vec<String> = events_in_wire_text(&unknown)
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    assert_eq!(
        names,
        ["adoption", "pet-teleported", "status-change"],
        "{unknown}"
    );

    let malformed = curl_whole_stream(server, "/malformed", &[]);
    let events = events_in_wire_text(&malformed);
    assert_eq!(events.len(), 3, "{malformed}");
    assert!(
        serde_json::from_str::<Value>(&events[1].2).is_err(),
        "event 2 of /malformed must not be JSON:\n{malformed}"
    );

    // COUNT > 0 stops at that many data lines, even on a stream that stays open.
    let mut command = peers::bash("curl-stream.sh");
    command
        .arg(server.url("/v1/pets/notifications?hold=1"))
        .args(["2", "20"]);
    let finished = peers::run(command, TIMEOUT);
    finished.assert_success();
    assert_eq!(
        finished
            .stdout
            .lines()
            .filter(|l| l.starts_with("data:"))
            .count(),
        2,
        "{}",
        finished.transcript()
    );
}

/// Checks the JSON lines of eventsource-client.mjs or browser-eventsource.mjs against `expected`.
fn check_client_lines(finished: &peers::Finished, expected: &[Event]) {
    finished.assert_success();
    let events: Vec<Event> = finished
        .json_lines()
        .iter()
        .map(|line| {
            let field = |name: &str| {
                line[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {name} in {line}"))
                    .to_owned()
            };
            decoded(&field("type"), &field("lastEventId"), &field("data"))
        })
        .collect();
    assert_eq!(events, expected, "{}", finished.transcript());
}

#[test]
fn chromium_agrees_with_the_sse_parser_case_table() {
    let table = peers::repo_root().join("runtime/tests/sse_cases.json");
    assert!(
        table.is_file(),
        "{} does not exist: the SSE parser case table that Chromium checks is missing",
        table.display()
    );
    require(&[Need::Chromium]);
    let mut command = peers::node("browser-parse-cases.mjs");
    command.arg(&table);
    // About 15 s for 61 cases: most take well under a second, reconnect checks 3-5 s, 5 at once.
    let finished = peers::run(command, Duration::from_secs(180));
    let lines = finished.json_lines();
    let summary = lines
        .iter()
        .find_map(|line| line.get("summary"))
        .unwrap_or_else(|| {
            panic!(
                "browser-parse-cases.mjs printed no summary:\n{}",
                finished.transcript()
            )
        });
    let mismatches: Vec<String> = lines
        .iter()
        .filter(|line| line.get("ok") == Some(&Value::Bool(false)))
        .map(|line| {
            format!(
                "{}:\n    problems: {}\n    table:    {}\n    chromium: {}",
                line["case"], line["problems"], line["expected"], line["actual"]
            )
        })
        .collect();
    assert!(
        finished.status.success() && mismatches.is_empty(),
        "Chromium disagrees with runtime/tests/sse_cases.json ({summary}):\n{}\n--- stderr of {}\n{}",
        mismatches.join("\n"),
        finished.what,
        finished.stderr
    );
    assert!(
        summary["cases"].as_u64().unwrap_or(0) > 0,
        "the case table is empty: {summary}"
    );
    // Cases marked `chromium_expected` in the table: Chromium knowingly differs from the standard.
    eprintln!(
        "known Chromium differences: {}",
        summary["known_differences"]
    );
}

#[test]
fn sse_starlette_server_serves_the_petstore_stream() {
    require(&[Need::Python, Need::Curl]);
    let server = Server::start(peers::python("sse_starlette_server.py"));
    check_server_with_curl(&server, true);
}

#[test]
fn express_server_serves_the_petstore_stream() {
    require(&[Need::Node, Need::Curl]);
    let server = Server::start(peers::node("express-sse-server.mjs"));
    check_server_with_curl(&server, false);
}

#[test]
fn eventsource_package_reads_the_sse_starlette_stream() {
    require(&[Need::Node, Need::Python]);
    let server = Server::start(peers::python("sse_starlette_server.py"));
    let expected = petstore_events();

    let mut command = peers::node("eventsource-client.mjs");
    command.arg(server.url("/v1/pets/notifications")).args([
        &expected.len().to_string(),
        "20000",
        "--events",
        PETSTORE_EVENT_NAMES,
    ]);
    check_client_lines(&peers::run(command, TIMEOUT), &expected);

    // The package reconnects when a response ends, with Last-Event-ID: two events per connection.
    let mut command = peers::node("eventsource-client.mjs");
    command
        .arg(server.url("/v1/pets/notifications?limit=2&retry=50"))
        .args([
            &expected.len().to_string(),
            "20000",
            "--events",
            PETSTORE_EVENT_NAMES,
        ]);
    check_client_lines(&peers::run(command, TIMEOUT), &expected);

    // Without --events, named events are not delivered: the client times out with none.
    let mut command = peers::node("eventsource-client.mjs");
    command
        .arg(server.url("/v1/pets/notifications?hold=1"))
        .args(["1", "1000"]);
    let finished = peers::run(command, TIMEOUT);
    finished.assert_failure();
    assert!(finished.stdout.is_empty(), "{}", finished.transcript());
}

#[test]
fn chromium_eventsource_reads_the_express_stream() {
    require(&[Need::Chromium]);
    let server = Server::start(peers::node("express-sse-server.mjs"));
    let expected = petstore_events();

    let mut command = peers::node("browser-eventsource.mjs");
    command
        .arg(server.url("/v1/pets/notifications?hold=1"))
        .args([
            &expected.len().to_string(),
            "20000",
            "--events",
            PETSTORE_EVENT_NAMES,
        ]);
    check_client_lines(&peers::run(command, TIMEOUT), &expected);

    // Chromium resumes with Last-Event-ID after the server ends each response.
    let mut command = peers::node("browser-eventsource.mjs");
    command
        .arg(server.url("/v1/pets/notifications?limit=4&retry=50"))
        .args([
            &expected.len().to_string(),
            "20000",
            "--events",
            PETSTORE_EVENT_NAMES,
        ]);
    check_client_lines(&peers::run(command, TIMEOUT), &expected);
}
