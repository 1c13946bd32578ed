//! The SSE protocol core on its own: the parser against the WHATWG cases table
//! (`sse_cases.json`) and under arbitrary re-chunking, the encoder round trip, the typed
//! `EventSet` layer and the replay buffer.

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;
use wiregen_runtime::sse::encode::{EncodeError, encode_comment, encode_event};
use wiregen_runtime::sse::parse::{Event, Item, ParseError, Parser};
use wiregen_runtime::sse::replay::{Replay, ReplayBuffer};
use wiregen_runtime::sse::{DecodeError, EventSet, SseEvent, read_json, write_json};

/// Feed `chunks` one by one, then end the stream.
fn parse_chunks(parser: &mut Parser, chunks: &[&[u8]]) -> Vec<Item> {
    let mut items = Vec::new();
    for chunk in chunks {
        parser.push(chunk, &mut |item| items.push(item));
    }
    parser.finish();
    items
}

fn parse(input: &[u8]) -> Vec<Item> {
    parse_chunks(&mut Parser::new(), &[input])
}

fn events(items: &[Item]) -> Vec<Event> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn event(event: &str, data: &str, id: Option<&str>) -> Event {
    Event {
        event: event.to_owned(),
        data: data.to_owned(),
        id: id.map(str::to_owned),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases table.

fn chunk_bytes(chunk: &Value) -> Vec<u8> {
    match chunk {
        Value::String(text) => text.as_bytes().to_vec(),
        Value::Array(bytes) => bytes
            .iter()
            .map(|b| {
                b.as_u64()
                    .and_then(|b| u8::try_from(b).ok())
                    .expect("a chunk byte is 0..=255")
            })
            .collect(),
        other => panic!("a chunk is a string or an array of bytes, not {other}"),
    }
}

fn expected_event(value: &Value) -> Event {
    let field = |name: &str| {
        value[name]
            .as_str()
            .unwrap_or_else(|| panic!("`{name}` is a string"))
            .to_owned()
    };
    let id = field("id");
    Event {
        event: field("event"),
        data: field("data"),
        id: (!id.is_empty()).then_some(id),
    }
}

#[test]
fn whatwg_cases_table() {
    let table: Value =
        serde_json::from_str(include_str!("sse_cases.json")).expect("sse_cases.json is JSON");
    let cases = table["cases"].as_array().expect("`cases` is an array");
    assert!(cases.len() >= 30, "the table has {} cases", cases.len());
    let mut names = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().expect("a case has a name");
        assert!(names.insert(name), "case names are unique: {name}");
        let chunks: Vec<Vec<u8>> = case["chunks"]
            .as_array()
            .expect("chunks")
            .iter()
            .map(chunk_bytes)
            .collect();
        let expected: Vec<Event> = case["expected"]
            .as_array()
            .expect("expected")
            .iter()
            .map(expected_event)
            .collect();
        let expected_retry = case.get("expected_retry").and_then(Value::as_u64);
        let expected_last_id = case.get("expected_last_event_id").and_then(Value::as_str);

        // As the table cuts it, whole, and one byte at a time: all the same.
        let whole: Vec<u8> = chunks.concat();
        let bytewise: Vec<&[u8]> = whole.chunks(1).collect();
        let as_table: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        for (how, cut) in [
            ("as in the table", as_table),
            ("whole", vec![&whole[..]]),
            ("byte by byte", bytewise),
        ] {
            let mut parser = Parser::new();
            let items = parse_chunks(&mut parser, &cut);
            assert_eq!(events(&items), expected, "case `{name}`, fed {how}");
            let retry = items.iter().rev().find_map(|item| match item {
                Item::Retry(ms) => Some(*ms),
                _ => None,
            });
            assert_eq!(retry, expected_retry, "case `{name}` retry, fed {how}");
            if let Some(id) = expected_last_id {
                assert_eq!(
                    parser.last_event_id(),
                    id,
                    "case `{name}` last event ID, fed {how}"
                );
            }
            assert!(
                !items.iter().any(|item| matches!(item, Item::Error(_))),
                "case `{name}`: no limit is broken"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser behaviour beyond the table.

#[test]
fn id_only_block_reports_the_new_last_event_id() {
    let items = parse(b"id: 7\n\nid: 7\n\nid\n\n");
    assert_eq!(
        items,
        [
            Item::LastEventId("7".into()),
            Item::LastEventId(String::new())
        ],
        "reported once per change, not per blank line"
    );
}

#[test]
fn finish_keeps_the_last_event_id_for_the_next_stream() {
    let mut parser = Parser::new();
    let items = parse_chunks(&mut parser, &[b"id: 1\ndata: a\n\nid: 2\ndata: cut"]);
    assert_eq!(events(&items), [event("message", "a", Some("1"))]);
    // The reconnection's stream: a BOM is stripped again, and ID 1 carries over.
    let items = parse_chunks(&mut parser, &[b"\xEF\xBB\xBFdata: b\n\n"]);
    assert_eq!(events(&items), [event("message", "b", Some("1"))]);
}

#[test]
fn with_last_event_id_resumes() {
    let mut parser = Parser::new().with_last_event_id("41");
    let items = parse_chunks(&mut parser, &[b"data: a\n\nid: 42\ndata: b\n\n"]);
    assert_eq!(
        events(&items),
        [
            event("message", "a", Some("41")),
            event("message", "b", Some("42"))
        ]
    );
    assert_eq!(parser.last_event_id(), "42");
}

#[test]
fn over_long_line_is_reported_and_its_event_dropped() {
    let too_large = Item::Error(ParseError::EventTooLarge { limit: 12 });
    for cut in [1, 3, 5, 100] {
        let input = b"data: ok\n\nid: 5\ndata: 0123456789\ndata: more\nretry: 9\n\ndata: after\n\n";
        let chunks: Vec<&[u8]> = input.chunks(cut).collect();
        let items = parse_chunks(&mut Parser::new().with_max_event_size(12), &chunks);
        assert_eq!(
            items,
            [
                Item::Event(event("message", "ok", None)),
                too_large.clone(),
                Item::Retry(9),
                // The dropped event's ID still applies, so a reconnection does not fetch it again.
                Item::LastEventId("5".into()),
                Item::Event(event("message", "after", Some("5"))),
            ],
            "chunks of {cut}"
        );
    }
}

#[test]
fn over_large_data_is_reported_and_its_event_dropped() {
    let input = b"data: 1234\ndata: 1234\ndata: 1234\n\ndata: ok\n\n";
    let items = parse_chunks(&mut Parser::new().with_max_event_size(12), &[input]);
    assert_eq!(
        items,
        [
            Item::Error(ParseError::EventTooLarge { limit: 12 }),
            Item::Event(event("message", "ok", None)),
        ]
    );
}

#[test]
fn parser_memory_is_bounded_by_the_limit() {
    let mut parser = Parser::new().with_max_event_size(1024);
    let mut errors = 0;
    let chunk = [b'x'; 4096];
    parser.push(b"data: ", &mut |_| {});
    for _ in 0..1000 {
        parser.push(&chunk, &mut |item| {
            assert!(matches!(item, Item::Error(_)));
            errors += 1;
        });
    }
    assert_eq!(errors, 1, "one error for the whole over-long line");
    let items = parse_chunks(&mut parser, &[b"\n\ndata: next\n\n"]);
    assert_eq!(events(&items), [event("message", "next", None)]);
}

// ---------------------------------------------------------------------------------------------
// Re-chunking never changes what is parsed, and no input panics.

const TOKENS: &[&[u8]] = &[
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b": ",
    b" ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"x",
    b"12",
    b"\xC3\xA9",
    b"\xC3",
    b"\xA9",
    b"\xFF",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xEF\xBB",
    b"\xF0\x9F\x98\x80",
    b"message",
];

/// Bytes that look like an event stream often enough to reach every rule, and arbitrary bytes.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => select(TOKENS).prop_map(<[u8]>::to_vec),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    prop_oneof![
        3 => prop::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn cut_at<'a>(input: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(input.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in at.into_iter().chain([input.len()]) {
        chunks.push(&input[start..end]);
        start = end;
    }
    chunks
}

/// Items of the stream, then of a second stream on the same parser (after `finish`).
fn parse_twice(parser: Parser, chunks: &[&[u8]]) -> (Vec<Item>, Vec<Item>, String) {
    let mut parser = parser;
    let first = parse_chunks(&mut parser, chunks);
    let second = parse_chunks(&mut parser, &[b"data: next\n\n"]);
    (first, second, parser.last_event_id().to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rechunking_gives_the_same_items(input in stream_bytes(), cuts in prop::collection::vec(any::<Index>(), 0..12)) {
        let chunks = cut_at(&input, &cuts);
        prop_assert_eq!(parse_twice(Parser::new(), &chunks), parse_twice(Parser::new(), &[&input]));
    }

    #[test]
    fn rechunking_gives_the_same_items_under_a_small_limit(
        input in stream_bytes(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
        limit in 1usize..24,
    ) {
        let chunks = cut_at(&input, &cuts);
        let parser = || Parser::new().with_max_event_size(limit);
        prop_assert_eq!(parse_twice(parser(), &chunks), parse_twice(parser(), &[&input]));
    }
}

// ---------------------------------------------------------------------------------------------
// The encoder.

#[test]
fn encoder_writes_the_usual_frame() {
    let mut out = Vec::new();
    encode_event(
        &mut out,
        Some("update"),
        Some("42"),
        Some(3000),
        "{\"a\":1}",
    )
    .unwrap();
    assert_eq!(
        out,
        b"event: update\nid: 42\nretry: 3000\ndata: {\"a\":1}\n\n"
    );
}

#[test]
fn encoder_splits_data_on_every_line_ending() {
    let mut out = Vec::new();
    encode_event(&mut out, None, None, None, "a\r\nb\rc\nd\n").unwrap();
    assert_eq!(out, b"data: a\ndata: b\ndata: c\ndata: d\ndata:\n\n");
    assert_eq!(
        events(&parse(&out)),
        [event("message", "a\nb\nc\nd\n", None)]
    );
}

#[test]
fn encoder_writes_empty_data_so_the_event_dispatches() {
    let mut out = Vec::new();
    encode_event(&mut out, Some("ping"), None, None, "").unwrap();
    assert_eq!(out, b"event: ping\ndata:\n\n");
    assert_eq!(events(&parse(&out)), [event("ping", "", None)]);
}

#[test]
fn encoder_keeps_leading_spaces() {
    let mut out = Vec::new();
    encode_event(&mut out, Some(" spaced"), Some(" 1"), None, "  two").unwrap();
    assert_eq!(
        events(&parse(&out)),
        [event(" spaced", "  two", Some(" 1"))]
    );
}

#[test]
fn encoder_rejects_what_would_break_the_frame() {
    let mut out = b"kept".to_vec();
    for name in ["a\nb", "a\rb", "\r\n"] {
        assert!(matches!(
            encode_event(&mut out, Some(name), None, None, "x"),
            Err(EncodeError::InvalidEventName)
        ));
    }
    for id in ["1\n", "\r", "a\0b"] {
        assert!(matches!(
            encode_event(&mut out, None, Some(id), None, "x"),
            Err(EncodeError::InvalidId)
        ));
    }
    assert_eq!(out, b"kept", "nothing is written on an error");
}

#[test]
fn comments_are_split_and_ignored_by_the_parser() {
    let mut out = Vec::new();
    encode_comment(&mut out, "keep-alive");
    assert_eq!(out, b": keep-alive\n\n");
    out.clear();
    encode_comment(&mut out, "a\r\ndata: injected\rb");
    assert_eq!(out, b": a\n: data: injected\n: b\n\n");
    assert_eq!(parse(&out), []);
    out.clear();
    encode_comment(&mut out, "");
    assert_eq!(out, b":\n\n");
}

fn text() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => select(vec!['a', ' ', '\r', '\n', '\0', ':', 'é', '\u{FEFF}', '😀']),
        1 => any::<char>(),
    ];
    prop::collection::vec(c, 0..24).prop_map(|cs| cs.into_iter().collect())
}

/// What the receiver gets for data sent: every line ending becomes LF.
fn normalise(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn encoder_parser_round_trip(
        frames in prop::collection::vec(
            (proptest::option::of(text()), proptest::option::of(text()), proptest::option::of(any::<u64>()), text()),
            1..6,
        ),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        let mut last_id: Option<String> = None;
        for (name, id, retry, data) in &frames {
            let before = stream.clone();
            let result = encode_event(&mut stream, name.as_deref(), id.as_deref(), *retry, data);
            let bad_name = name.as_deref().is_some_and(|n| n.contains(['\r', '\n']));
            let bad_id = id.as_deref().is_some_and(|i| i.contains(['\r', '\n', '\0']));
            if bad_name || bad_id {
                prop_assert!(result.is_err());
                prop_assert_eq!(&stream, &before);
                continue;
            }
            prop_assert!(result.is_ok());
            if let Some(id) = id {
                last_id = Some(id.clone()).filter(|id| !id.is_empty());
            }
            if let Some(retry) = retry {
                expected.push(Item::Retry(*retry));
            }
            let name = name.as_deref().filter(|n| !n.is_empty()).unwrap_or("message");
            expected.push(Item::Event(Event { event: name.to_owned(), data: normalise(data), id: last_id.clone() }));
        }
        let mut parser = Parser::new();
        let items: Vec<Item> = parse_chunks(&mut parser, &cut_at(&stream, &cuts))
            .into_iter()
            .filter(|item| !matches!(item, Item::LastEventId(_)))
            .collect();
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn comments_never_produce_items(text in text(), data in text()) {
        let mut out = Vec::new();
        encode_comment(&mut out, &text);
        encode_event(&mut out, None, None, None, &data).unwrap();
        prop_assert_eq!(events(&parse(&out)), [event("message", &normalise(&data), None)]);
    }
}

// ---------------------------------------------------------------------------------------------
// The typed layer, implemented the way generated code implements it.

#[derive(Clone, Debug, PartialEq)]
enum PetEvent {
    Added(Pet),
    Note(String),
    Ping,
    Message(String),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Pet {
    name: String,
    tags: Vec<String>,
}

impl EventSet for PetEvent {
    fn event_name(&self) -> &'static str {
        match self {
            Self::Added(_) => "added",
            Self::Note(_) => "note",
            Self::Ping => "ping",
            Self::Message(_) => "message",
        }
    }

    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Self::Added(data) => write_json(out, data),
            Self::Note(data) | Self::Message(data) => {
                out.extend_from_slice(data.as_bytes());
                Ok(())
            }
            Self::Ping => Ok(()),
        }
    }

    fn decode(event: &str, data: &str) -> Result<Self, DecodeError> {
        match event {
            "added" => read_json(data).map(Self::Added),
            "note" => Ok(Self::Note(data.to_owned())),
            "ping" => Ok(Self::Ping),
            "message" => Ok(Self::Message(data.to_owned())),
            _ => Err(DecodeError::UnknownEvent),
        }
    }
}

fn rex() -> Pet {
    Pet {
        name: "Rex \"the\"\ndog".into(),
        tags: vec!["a\r\nb".into()],
    }
}

#[test]
fn typed_events_encode_once_into_frames() {
    let frame = SseEvent::new(PetEvent::Added(rex()))
        .with_id("5")
        .encode()
        .unwrap();
    assert_eq!(
        frame,
        Bytes::from_static(b"event: added\nid: 5\ndata: {\"name\":\"Rex \\\"the\\\"\\ndog\",\"tags\":[\"a\\r\\nb\"]}\n\n"),
        "JSON escapes CR and LF: one data line"
    );
    let ping = SseEvent::new(PetEvent::Ping)
        .with_retry(Duration::from_millis(1500))
        .encode()
        .unwrap();
    assert_eq!(
        ping,
        Bytes::from_static(b"event: ping\nretry: 1500\ndata:\n\n")
    );
    let message = SseEvent::from(PetEvent::Message("hi".into()))
        .encode()
        .unwrap();
    assert_eq!(
        message,
        Bytes::from_static(b"data: hi\n\n"),
        "`message` is the default name"
    );
    let note = SseEvent::new(PetEvent::Note("a\r\nb\rc".into()))
        .encode()
        .unwrap();
    assert_eq!(
        note,
        Bytes::from_static(b"event: note\ndata: a\ndata: b\ndata: c\n\n")
    );
}

#[test]
fn typed_events_round_trip_through_the_parser() {
    let sent = [
        PetEvent::Added(rex()),
        PetEvent::Note("line 1\nline 2".into()),
        PetEvent::Ping,
        PetEvent::Message(" spaced ".into()),
    ];
    let mut stream = Vec::new();
    for (n, event) in sent.iter().enumerate() {
        SseEvent::new(event.clone())
            .with_id(n.to_string())
            .encode_into(&mut stream)
            .unwrap();
    }
    let received: Vec<PetEvent> = events(&parse(&stream))
        .iter()
        .map(|e| PetEvent::decode(&e.event, &e.data).unwrap())
        .collect();
    assert_eq!(received, sent);
    assert!(matches!(
        PetEvent::decode("other", ""),
        Err(DecodeError::UnknownEvent)
    ));
    assert!(matches!(
        PetEvent::decode("added", "{"),
        Err(DecodeError::Json(_))
    ));
}

#[test]
fn typed_encode_errors_leave_the_buffer_as_it_was() {
    struct Bad(&'static [u8], &'static str);
    impl EventSet for Bad {
        fn event_name(&self) -> &'static str {
            self.1
        }
        fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            out.extend_from_slice(self.0);
            Ok(())
        }
        fn decode(_: &str, _: &str) -> Result<Self, DecodeError> {
            Err(DecodeError::UnknownEvent)
        }
    }
    let mut out = b"kept".to_vec();
    let invalid_utf8 = SseEvent::new(Bad(b"\xFF", "x")).encode_into(&mut out);
    assert!(matches!(invalid_utf8, Err(EncodeError::InvalidData)));
    let bad_name = SseEvent::new(Bad(b"ok", "a\nb")).encode_into(&mut out);
    assert!(matches!(bad_name, Err(EncodeError::InvalidEventName)));
    let bad_id = SseEvent::new(Bad(b"ok", "x"))
        .with_id("1\n2")
        .encode_into(&mut out);
    assert!(matches!(bad_id, Err(EncodeError::InvalidId)));
    let map_with_bad_keys: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
    assert!(matches!(
        write_json(&mut Vec::new(), &map_with_bad_keys),
        Err(EncodeError::Json(_))
    ));
    assert_eq!(out, b"kept");
}

// ---------------------------------------------------------------------------------------------
// The replay buffer.

fn frame(id: &str) -> Bytes {
    Bytes::from(format!("id: {id}\ndata: {id}\n\n"))
}

#[test]
fn replay_returns_what_came_after_an_id() {
    let mut buffer = ReplayBuffer::new(3);
    assert_eq!(buffer.since("1"), Replay::Unknown);
    for id in ["1", "2", "3"] {
        buffer.push(id.into(), frame(id));
    }
    assert_eq!(
        buffer.since("1"),
        Replay::Frames(vec![frame("2"), frame("3")])
    );
    assert_eq!(buffer.since("3"), Replay::Frames(vec![]));
    assert_eq!(buffer.since("9"), Replay::Unknown);
    buffer.push("4".into(), frame("4"));
    assert_eq!(buffer.since("1"), Replay::Unknown, "pushed out");
    assert_eq!(
        buffer.since("2"),
        Replay::Frames(vec![frame("3"), frame("4")])
    );
    assert_eq!(
        (buffer.len(), buffer.capacity(), buffer.is_empty()),
        (3, 3, false)
    );
}

#[test]
fn replay_of_a_repeated_id_starts_after_its_newest_frame() {
    let mut buffer = ReplayBuffer::new(3);
    buffer.push("a".into(), frame("a1"));
    buffer.push("b".into(), frame("b"));
    buffer.push("a".into(), frame("a2"));
    assert_eq!(buffer.since("a"), Replay::Frames(vec![]));
    buffer.push("c".into(), frame("c"));
    buffer.push("d".into(), frame("d"));
    // The first `a` was pushed out without forgetting the second.
    assert_eq!(
        buffer.since("a"),
        Replay::Frames(vec![frame("c"), frame("d")])
    );
}

#[test]
fn replay_of_capacity_zero_keeps_nothing() {
    let mut buffer = ReplayBuffer::new(0);
    buffer.push("1".into(), frame("1"));
    assert_eq!(buffer.since("1"), Replay::Unknown);
    assert!(buffer.is_empty());
}

proptest! {
    #[test]
    fn replay_matches_a_plain_model(
        capacity in 0usize..6,
        ops in prop::collection::vec((any::<bool>(), 0u8..8), 0..60),
    ) {
        let mut buffer = ReplayBuffer::new(capacity);
        let mut history: Vec<(String, Bytes)> = Vec::new();
        for (n, (is_push, id)) in ops.into_iter().enumerate() {
            let id = id.to_string();
            if is_push {
                let frame = Bytes::from(format!("{n}"));
                buffer.push(id.clone(), frame.clone());
                history.push((id, frame));
            } else {
                let window = &history[history.len().saturating_sub(capacity)..];
                let expected = match window.iter().rposition(|(i, _)| *i == id) {
                    Some(at) => Replay::Frames(window[at + 1..].iter().map(|(_, f)| f.clone()).collect()),
                    None => Replay::Unknown,
                };
                prop_assert_eq!(buffer.since(&id), expected);
            }
        }
    }
}
