//! The WebSocket core: a message set encodes into one frame and decodes back, and every kind of
//! bad frame decodes into its own typed error with its close code.

mod ws_support;

use bytes::Bytes;
use wiregen_runtime::ws::{DecodeError, Frame, MessageSet, close_code};
use ws_support::{ToClient, ToServer};

#[test]
fn messages_round_trip_through_one_text_frame() {
    let messages = [
        ToServer::Bid { amount: 250.5 },
        ToServer::History {
            request_id: "r-1".into(),
            limit: 10,
        },
    ];
    for message in messages {
        let frame = message.encode().expect("encodes");
        let Frame::Text(bytes) = &frame else {
            panic!("JSON travels as text: {frame:?}");
        };
        assert!(std::str::from_utf8(bytes).is_ok());
        assert_eq!(ToServer::decode_frame(&frame).expect("decodes"), message);
    }
    assert_eq!(
        ToServer::Bid { amount: 1.0 }.encode().unwrap(),
        Frame::text(r#"{"type":"bid","amount":1.0}"#)
    );
}

#[test]
fn the_same_tag_decodes_per_direction() {
    let text = r#"{"type":"bid","amount":3,"room":"a"}"#;
    // Extra properties are ignored, as serde does by default.
    assert_eq!(
        ToServer::decode_text(text).unwrap(),
        ToServer::Bid { amount: 3.0 }
    );
    assert_eq!(
        ToClient::decode_text(text).unwrap(),
        ToClient::BidPlaced {
            amount: 3.0,
            room: "a".into()
        }
    );
}

#[test]
fn every_bad_frame_has_its_own_error_and_close_code() {
    let cases: [(Frame, &str, u16); 7] = [
        (
            Frame::text("{not json"),
            "invalid_json",
            close_code::INVALID_PAYLOAD,
        ),
        (Frame::text(""), "invalid_json", close_code::INVALID_PAYLOAD),
        (
            Frame::text(r#"{"type":"bid","amount":"lots"}"#),
            "schema",
            close_code::INVALID_PAYLOAD,
        ),
        (
            Frame::text(r#"{"amount":1}"#),
            "missing_tag",
            close_code::INVALID_PAYLOAD,
        ),
        (
            Frame::text(r#"{"type":"sell","amount":1}"#),
            "unknown_tag",
            close_code::INVALID_PAYLOAD,
        ),
        (
            Frame::Binary(Bytes::from_static(b"\x00\x01")),
            "unexpected_binary",
            close_code::UNSUPPORTED_DATA,
        ),
        (
            Frame::Text(Bytes::from_static(b"\xff\xfe")),
            "invalid_utf8",
            close_code::INVALID_PAYLOAD,
        ),
    ];
    for (frame, kind, code) in cases {
        let error = ToServer::decode_frame(&frame).expect_err("invalid");
        assert_eq!(error.kind(), kind, "{frame:?}: {error}");
        assert_eq!(error.close_code(), code, "{frame:?}");
        // The error frame is JSON naming the kind.
        let Frame::Text(body) = error.error_frame() else {
            panic!("error frames are text")
        };
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["error"], kind);
        assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn unknown_tags_are_reported_truncated() {
    let long = "x".repeat(10_000);
    let error = ToServer::decode_text(&format!(r#"{{"type":"{long}"}}"#)).unwrap_err();
    match error {
        DecodeError::UnknownTag { property, value } => {
            assert_eq!(property, "type");
            assert_eq!(value.len(), 128);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_frames_do_not_echo_large_input() {
    let long = "x".repeat(60_000);
    let bad = [
        // serde quotes the string it did not expect.
        (format!(r#"{{"type":"bid","amount":"{long}"}}"#), "schema"),
        (
            format!(r#"{{"type":"history","requestId":"r","limit":"{long}"}}"#),
            "schema",
        ),
        (format!(r#"{{"type":"{long}"}}"#), "unknown_tag"),
        (
            format!(r#"{{"type":"bid","amount":{long}}}"#),
            "invalid_json",
        ),
    ];
    for (text, kind) in bad {
        let error = ToServer::decode_text(&text).unwrap_err();
        let Frame::Text(frame) = error.error_frame() else {
            panic!("error frames are text");
        };
        assert!(frame.len() < 600, "{} bytes: {error}", frame.len());
        let value: serde_json::Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(value["error"], kind);
        let message = value["message"].as_str().unwrap();
        if kind == "schema" {
            assert!(
                message.contains("xxxx") && message.ends_with('…'),
                "{message}"
            );
        }
    }
    // Cut, with the position serde gave kept.
    #[derive(Debug, serde::Deserialize)]
    struct Plain {
        #[allow(dead_code)]
        amount: f64,
    }
    let text = format!(r#"{{"amount":"{long}"}}"#);
    let error = wiregen_runtime::ws::decode_json::<Plain>(&text).unwrap_err();
    let message = error.to_string();
    assert!(message.len() < 400, "{message}");
    assert!(message.ends_with("… at line 1 column 60012"), "{message}");
    // A short message is not cut.
    let error = ToServer::decode_text(r#"{"type":"bid","amount":"lots"}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the `bid` message does not match its schema: invalid type: string \"lots\", \
         expected f64"
    );
}

#[test]
fn correlation_ids_are_read_and_set() {
    let mut request = ToServer::History {
        request_id: String::new(),
        limit: 1,
    };
    assert!(request.set_correlation_id("abc"));
    assert_eq!(request.correlation_id(), Some("abc"));
    let mut bid = ToServer::Bid { amount: 1.0 };
    assert!(!bid.set_correlation_id("abc"));
    assert_eq!(bid.correlation_id(), None);
}

#[test]
fn attempts_prefer_a_known_message_then_the_error_of_the_channel_that_knew_the_tag() {
    use wiregen_runtime::ws::Attempts;
    let unknown = |value: &str| DecodeError::UnknownTag {
        property: "type",
        value: value.into(),
    };
    let schema = || DecodeError::Schema {
        tag: Some("bid".into()),
        error: serde_json::from_str::<u8>("\"x\"").unwrap_err(),
    };

    // A catch-all message is kept only while no channel knows the frame.
    let mut attempts = Attempts::new();
    attempts.failed(unknown("x"));
    attempts.unknown("caught");
    assert_eq!(attempts.finish().ok(), Some("caught"));

    // The channel that knew the tag explains the failure, whichever channel tried first.
    for schema_first in [true, false] {
        let mut attempts = Attempts::<()>::new();
        if schema_first {
            attempts.failed(schema());
            attempts.failed(unknown("bid"));
        } else {
            attempts.failed(unknown("bid"));
            attempts.failed(schema());
        }
        assert_eq!(attempts.finish().unwrap_err().kind(), "schema");
    }

    // Otherwise the first error.
    let mut attempts = Attempts::<()>::new();
    attempts.failed(unknown("first"));
    attempts.failed(unknown("second"));
    assert!(attempts.finish().unwrap_err().to_string().contains("first"));
}
