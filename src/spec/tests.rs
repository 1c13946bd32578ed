//! Tests of the load phase as a whole: files on disk, `$ref`s across them, versions, conversion.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::*;
use crate::diag::{Diagnostic, Diagnostics, Kind, Severity};

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("wiregen-spec-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create scratch subdir");
        }
        std::fs::write(&path, text).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Load a file and take every diagnostic out (so the accumulator never drops errors unseen).
fn load_path(path: &Path) -> (Option<Document>, Vec<Diagnostic>) {
    let mut diags = Diagnostics::new();
    let document = load(path, &mut diags);
    (document, diags.into_vec())
}

/// Write `files` (the first is the root) to a scratch dir and load the root.
fn load_files(name: &str, files: &[(&str, &str)]) -> (Option<Document>, Vec<Diagnostic>, Scratch) {
    let scratch = Scratch::new(name);
    let mut root = None;
    for (relative, text) in files {
        let path = scratch.write(relative, text);
        root.get_or_insert(path);
    }
    let (document, diagnostics) = load_path(&root.expect("at least one file"));
    (document, diagnostics, scratch)
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics.iter().filter(|d| d.is_error()).collect()
}

/// `(kind, line, column)` of each diagnostic of a severity.
fn places(diagnostics: &[Diagnostic], severity: Severity) -> Vec<(Kind, u32, u32)> {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| {
            let (line, column) = d.location.as_ref().map_or((0, 0), |l| (l.line, l.column));
            (d.kind, line, column)
        })
        .collect()
}

fn root_loc(document: &Document, pointer: &str) -> Loc {
    Loc {
        file: document.root,
        pointer: pointer.to_string(),
    }
}

const OPENAPI_HEAD: &str = "openapi: 3.1.0\ninfo:\n  title: t\n  version: '1'\n";

#[test]
fn openapi_versions_are_recognised() {
    for (version, minor) in [("3.0.3", 0), ("3.1.0", 1), ("'3.2.0'", 2), ("3.1", 1)] {
        let text = format!("openapi: {version}\ninfo: {{title: t, version: '1'}}\n");
        let (document, diagnostics, _dir) = load_files("versions", &[("api.yaml", &text)]);
        assert!(
            errors(&diagnostics).is_empty(),
            "{version}: {diagnostics:?}"
        );
        let kind = document.map(|d| d.kind);
        let expected = version.trim_matches('\'').to_string();
        assert_eq!(
            kind,
            Some(SpecKind::OpenApi {
                version: expected,
                minor
            })
        );
    }
}

#[test]
fn swagger_and_unknown_versions_are_rejected_with_a_location() {
    let cases = [
        ("swagger: '2.0'\ninfo: {title: t}\n", (1, 10)),
        ("info:\n  title: t\npaths: {}\n", (1, 1)),
        ("openapi: 3.3.0\n", (1, 10)),
        ("\n\nasyncapi: 1.2.0\n", (3, 11)),
        ("asyncapi: 4.0.0\n", (1, 11)),
        ("- a\n- b\n", (1, 1)),
    ];
    for (text, (line, column)) in cases {
        let (document, diagnostics, _dir) = load_files("unknown", &[("api.yaml", text)]);
        assert!(document.is_none(), "{text}");
        assert_eq!(
            places(&diagnostics, Severity::Error),
            [(Kind::UnknownFormat, line, column)],
            "{text}"
        );
        let error = &diagnostics[0];
        assert!(
            error
                .help
                .iter()
                .any(|h| h.contains("OpenAPI 3.0, 3.1 and 3.2")),
            "{error}"
        );
    }
}

#[test]
fn an_unreadable_root_is_an_io_error_naming_the_path() {
    let (document, diagnostics) = load_path(Path::new("no/such/dir/api.yaml"));
    assert!(document.is_none());
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].kind, Kind::Io);
    assert!(diagnostics[0].message.contains("`no/such/dir/api.yaml`"));
}

#[test]
fn a_yaml_syntax_error_is_located_exactly() {
    let text = format!("{OPENAPI_HEAD}paths:\n  /a:\n    get: {{summary: x\n  /b: {{}}\n");
    let (document, diagnostics, _dir) = load_files("syntax", &[("api.yaml", &text)]);
    assert!(document.is_none());
    assert_eq!(
        places(&diagnostics, Severity::Error),
        [(Kind::Syntax, 8, 5)]
    );
    let location = diagnostics[0]
        .location
        .as_ref()
        .map(|l| l.source_line.as_str());
    assert_eq!(location, Some("  /b: {}"));
}

#[test]
fn a_json_syntax_error_is_located_exactly() {
    let text =
        "{\n  \"openapi\": \"3.1.0\",\n  \"info\": {\"title\": \"é\" \"version\": \"1\"}\n}\n";
    let (document, diagnostics, _dir) = load_files("json-syntax", &[("api.json", text)]);
    assert!(document.is_none());
    assert_eq!(
        places(&diagnostics, Severity::Error),
        [(Kind::Syntax, 3, 25)]
    );
}

#[test]
fn json_documents_locate_pointers() {
    let text = "{\n  \"openapi\": \"3.0.0\",\n  \"info\": {\"title\": \"t\", \"version\": \"1\"},\n  \"paths\": {\n    \"/items/{id}\": {\n      \"get\": {\"responses\": {\"200\": {\"description\": \"ok\"}}}\n    }\n  }\n}\n";
    let (document, diagnostics, _dir) = load_files("json", &[("api.json", text)]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let document = document.expect("loaded");
    let sources = &document.sources;
    let at = |pointer: &str| {
        sources
            .locate(&root_loc(&document, pointer))
            .map(|l| (l.line, l.column, l.source_line))
    };
    assert_eq!(
        at("/openapi"),
        Some((2, 14, "  \"openapi\": \"3.0.0\",".to_string()))
    );
    assert_eq!(
        at("/paths/~1items~1{id}/get/responses/200"),
        Some((
            6,
            36,
            "      \"get\": {\"responses\": {\"200\": {\"description\": \"ok\"}}}".to_string()
        ))
    );
    // A pointer that does not exist falls back to its nearest ancestor.
    assert_eq!(
        at("/paths/~1items~1{id}/get/nope/deeper").map(|(l, c, _)| (l, c)),
        Some((6, 14))
    );
    let key = sources
        .locate_key(&root_loc(&document, "/paths/~1items~1{id}"))
        .map(|l| (l.line, l.column));
    assert_eq!(key, Some((5, 5)));
}

#[test]
fn yaml_documents_locate_pointers_with_escapes() {
    let text = format!(
        "{OPENAPI_HEAD}components:\n  schemas:\n    a/b~c:\n      type: string\n    Ok:\n      $ref: '#/components/schemas/a~1b~0c'\n"
    );
    let (document, diagnostics, _dir) = load_files("escapes", &[("api.yaml", &text)]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let document = document.expect("loaded");
    let sources = &document.sources;
    let schema = root_loc(&document, "/components/schemas").child("a/b~c");
    assert_eq!(schema.pointer, "/components/schemas/a~1b~0c");
    assert_eq!(sources.get(&schema.child("type")), Some(&json!("string")));
    let location = sources
        .locate(&schema.child("type"))
        .map(|l| (l.line, l.column));
    assert_eq!(location, Some((8, 13)));
    let from = root_loc(&document, "/components/schemas/Ok");
    assert_eq!(
        sources.resolve_ref(&from, "#/components/schemas/a~1b~0c"),
        Ok(schema.clone())
    );
    assert_eq!(sources.deref(&from), Ok(schema));
    assert_eq!(sources.resolve_ref(&from, "#"), Ok(root_loc(&document, "")));
}

#[test]
fn percent_encoded_refs_resolve() {
    let text = format!(
        "{OPENAPI_HEAD}components:\n  schemas:\n    Foo Bar: {{type: string}}\n    '{{id}}': {{type: integer}}\n    A:\n      properties:\n        x: {{$ref: '#/components/schemas/Foo%20Bar'}}\n        y: {{$ref: '#/components/schemas/%7Bid%7D'}}\n"
    );
    let (document, diagnostics, _dir) = load_files("percent", &[("api.yaml", &text)]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let document = document.expect("loaded");
    let from = root_loc(&document, "/components/schemas/A/properties/y");
    let target = document.sources.deref(&from).map(|l| l.pointer);
    assert_eq!(target.as_deref(), Ok("/components/schemas/{id}"));
    let from = root_loc(&document, "/components/schemas/A/properties/x");
    let target = document.sources.deref(&from).map(|l| l.pointer);
    assert_eq!(target.as_deref(), Ok("/components/schemas/Foo Bar"));
}

#[test]
fn multi_file_refs_load_each_file_once_with_relative_display_paths() {
    let (document, diagnostics) = load_path(Path::new("src/spec/testdata/multi/api.yaml"));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let document = document.expect("loaded");
    let sources = &document.sources;
    assert_eq!(sources.paths().count(), 3);
    let displays: Vec<&str> = (0..3)
        .map(|i| sources.file(FileId(i)).display.as_str())
        .collect();
    assert_eq!(
        displays,
        [
            "src/spec/testdata/multi/api.yaml",
            "src/spec/testdata/common/messages.yaml",
            "src/spec/testdata/common/schemas.yaml",
        ]
    );
    let paths: Vec<&Path> = sources.paths().collect();
    assert_eq!(
        paths[1],
        Path::new("src/spec/testdata/common/messages.yaml")
    );
    // operation message → channel message → messages.yaml#/Greeting
    let message = sources.deref(&root_loc(&document, "/operations/sendGreeting/messages/0"));
    let message = message.expect("resolves");
    assert_eq!(
        (message.file, message.pointer.as_str()),
        (FileId(1), "/Greeting")
    );
    // payload → schemas.yaml#/Greeting; a property `default` is a name, not data
    let payload = sources.deref(&message.child("payload")).expect("resolves");
    assert_eq!(
        (payload.file, payload.pointer.as_str()),
        (FileId(2), "/Greeting")
    );
    let default = sources
        .deref(&payload.child("properties").child("default"))
        .expect("resolves");
    assert_eq!(default.pointer, "/Name");
    // a `$ref` back into the root file names the already loaded root
    let parent = sources
        .deref(&payload.child("properties").child("parent"))
        .expect("resolves");
    assert_eq!((parent.file, parent.pointer.as_str()), (FileId(0), "/info"));
    let location = sources.locate(&payload.child("type")).expect("located");
    assert_eq!(
        (location.file.as_str(), location.line, location.column),
        ("src/spec/testdata/common/schemas.yaml", 2, 9)
    );
}

#[test]
fn every_dangling_ref_is_reported_where_it_is_written() {
    let text = format!(
        "{OPENAPI_HEAD}components:\n  schemas:\n    A:\n      $ref: '#/components/schemas/Nope'\n    B:\n      items:\n        $ref: '#/components/schemas/A/properties/none'\n    C:\n      $ref: 'missing.yaml#/x'\n    D:\n      $ref: 'https://example.com/schemas.yaml#/D'\n    E:\n      $ref: '#no-pointer'\n"
    );
    let (document, diagnostics, _dir) = load_files("dangling", &[("api.yaml", &text)]);
    assert!(document.is_some());
    assert_eq!(
        places(&diagnostics, Severity::Error),
        [
            (Kind::Reference, 8, 13),
            (Kind::Reference, 11, 15),
            (Kind::Io, 13, 13),
            (Kind::Unsupported, 15, 13),
            (Kind::Unsupported, 17, 13),
        ]
    );
    let first = &diagnostics[0];
    assert_eq!(
        first.message,
        "`$ref` does not resolve: `#/components/schemas/Nope`"
    );
    assert_eq!(
        first.location.as_ref().map(|l| l.source_line.as_str()),
        Some("      $ref: '#/components/schemas/Nope'")
    );
    assert!(
        first
            .help
            .iter()
            .any(|h| h == "there is nothing named `Nope` in `#/components/schemas`"),
        "{first}"
    );
    assert!(
        diagnostics[2].message.contains("missing.yaml"),
        "{}",
        diagnostics[2]
    );
    assert!(
        diagnostics[3]
            .message
            .contains("remote `$ref`s are not supported")
    );
}

#[test]
fn a_self_loop_and_a_two_step_loop_are_located_errors() {
    let text = format!(
        "{OPENAPI_HEAD}components:\n  schemas:\n    Self:\n      $ref: '#/components/schemas/Self'\n    A:\n      $ref: '#/components/schemas/B'\n    B:\n      description: siblings do not stop a loop\n      $ref: '#/components/schemas/A'\n    Entry:\n      $ref: '#/components/schemas/B'\n"
    );
    let (document, diagnostics, _dir) = load_files("loops", &[("api.yaml", &text)]);
    let document = document.expect("loaded");
    assert_eq!(
        places(&diagnostics, Severity::Error),
        [(Kind::Reference, 8, 13), (Kind::Reference, 10, 13)]
    );
    assert!(
        diagnostics
            .iter()
            .all(|d| d.message == "`$ref` loop with nothing in between")
    );
    assert!(
        diagnostics[1].help[0]
            .ends_with("#/components/schemas/A → #/components/schemas/B → #/components/schemas/A"),
        "{}",
        diagnostics[1]
    );
    // `deref` reports the same error from any way into the loop.
    let from_entry = document
        .sources
        .deref(&root_loc(&document, "/components/schemas/Entry"));
    assert_eq!(from_entry.err().as_ref(), Some(&diagnostics[1]));
    let from_self = document
        .sources
        .deref(&root_loc(&document, "/components/schemas/Self"));
    assert_eq!(
        from_self.err().and_then(|d| d.location).map(|l| l.line),
        Some(8)
    );
}

#[test]
fn a_pointer_through_a_ref_to_itself_is_an_error_not_a_stack_overflow() {
    // Found by `tests/fuzz.rs`: resolving `#/components/schemas/Tick` goes through
    // `#/components/schemas`, whose `$ref` is that same pointer.
    let text = format!(
        "{OPENAPI_HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                $ref: '#/components/schemas/Tick'\ncomponents:\n  schemas:\n    $ref: '#/components/schemas/Tick'\n"
    );
    let (_, diagnostics, _dir) = load_files("through-itself", &[("api.yaml", &text)]);
    let errors = errors(&diagnostics);
    assert!(!errors.is_empty(), "{diagnostics:?}");
    assert!(
        errors
            .iter()
            .all(|d| d.kind == Kind::Reference && d.location.is_some()),
        "{diagnostics:?}"
    );
}

#[test]
fn a_recursive_schema_is_not_a_loop() {
    let text = format!(
        "{OPENAPI_HEAD}components:\n  schemas:\n    Node:\n      type: object\n      properties:\n        children:\n          type: array\n          items:\n            $ref: '#/components/schemas/Node'\n        parent:\n          $ref: '#/components/schemas/Node'\n"
    );
    let (document, diagnostics, _dir) = load_files("recursive", &[("api.yaml", &text)]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let document = document.expect("loaded");
    let parent = root_loc(&document, "/components/schemas/Node/properties/parent");
    assert_eq!(
        document.sources.deref(&parent),
        Ok(root_loc(&document, "/components/schemas/Node"))
    );
}

#[test]
fn unescaped_slashes_in_keys_resolve_leniently_with_one_warning() {
    let text = "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\ncomponents:\n  messages:\n    sub_agent/v1.agent.Foo:\n      payload: {type: string}\n    Bar:\n      $ref: '#/components/messages/sub_agent/v1.agent.Foo'\n    Baz:\n      $ref: '#/components/messages/sub_agent/v1.agent.Foo'\n";
    let (document, diagnostics, _dir) = load_files("lenient", &[("api.yaml", text)]);
    assert!(errors(&diagnostics).is_empty(), "{diagnostics:?}");
    assert_eq!(
        places(&diagnostics, Severity::Warning),
        [(Kind::Reference, 8, 13)]
    );
    assert!(diagnostics[0].help[0].contains("#/components/messages/sub_agent~1v1.agent.Foo"));
    let document = document.expect("loaded");
    let from = root_loc(&document, "/components/messages/Baz");
    let target = document
        .sources
        .resolve_ref(&from, "#/components/messages/sub_agent/v1.agent.Foo");
    assert_eq!(
        target.map(|l| l.pointer).as_deref(),
        Ok("/components/messages/sub_agent~1v1.agent.Foo")
    );
}

const ASYNCAPI_2: &str = "asyncapi: '2.6.0'
info:
  title: Market
  version: '1.0.0'
servers:
  prod:
    url: wss://api.example.com:443/ws
    protocol: wss
channels:
  /v1/marketdata/{symbol}:
    parameters:
      symbol:
        schema:
          type: string
    subscribe:
      operationId: onMarketData
      summary: Market data
      message:
        oneOf:
          - $ref: '#/components/messages/Update'
          - $ref: '#/components/messages/Heartbeat'
    publish:
      message:
        name: Subscribe
        payload:
          type: object
components:
  messages:
    Update:
      payload:
        type: object
    Heartbeat:
      payload:
        $ref: '#/channels/~1v1~1marketdata~1{symbol}/publish/message/payload'
";

#[test]
fn asyncapi_2_is_converted_and_located_in_the_original_text() {
    let (document, diagnostics, _dir) = load_files("asyncapi2", &[("api.yaml", ASYNCAPI_2)]);
    assert!(errors(&diagnostics).is_empty(), "{diagnostics:?}");
    assert_eq!(
        places(&diagnostics, Severity::Note),
        [(Kind::Conversion, 1, 11)]
    );
    assert!(
        diagnostics[0].message.contains("1 channel, 2 operations"),
        "{}",
        diagnostics[0]
    );
    let document = document.expect("loaded");
    assert_eq!(
        document.kind,
        SpecKind::AsyncApi {
            version: "2.6.0".into(),
            converted_from_2: true
        }
    );
    let value = &document.sources.file(document.root).value;
    assert_eq!(value["asyncapi"], "3.0.0");
    assert_eq!(
        value["servers"]["prod"],
        json!({"host": "api.example.com:443", "pathname": "/ws", "protocol": "wss"})
    );
    let channel = &value["channels"]["/v1/marketdata/{symbol}"];
    assert_eq!(channel["address"], "/v1/marketdata/{symbol}");
    let message_keys: Vec<&String> = channel["messages"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(message_keys, ["Update", "Heartbeat", "Subscribe"]);
    assert_eq!(
        value["operations"],
        json!({
            "onMarketData": {
                "action": "send",
                "channel": {"$ref": "#/channels/~1v1~1marketdata~1{symbol}"},
                "summary": "Market data",
                "messages": [
                    {"$ref": "#/channels/~1v1~1marketdata~1{symbol}/messages/Update"},
                    {"$ref": "#/channels/~1v1~1marketdata~1{symbol}/messages/Heartbeat"}
                ]
            },
            "publishV1MarketdataSymbol": {
                "action": "receive",
                "channel": {"$ref": "#/channels/~1v1~1marketdata~1{symbol}"},
                "messages": [{"$ref": "#/channels/~1v1~1marketdata~1{symbol}/messages/Subscribe"}]
            }
        })
    );
    let sources = &document.sources;
    let at = |pointer: &str| {
        sources
            .locate(&root_loc(&document, pointer))
            .map(|l| (l.line, l.column, l.source_line))
    };
    assert_eq!(
        at("/operations/onMarketData"),
        Some((15, 5, "    subscribe:".to_string()))
    );
    assert_eq!(
        at("/operations/publishV1MarketdataSymbol/action"),
        Some((22, 5, "    publish:".to_string()))
    );
    assert_eq!(
        at("/operations/onMarketData/summary").map(|(l, c, _)| (l, c)),
        Some((17, 16))
    );
    assert_eq!(
        at("/channels/~1v1~1marketdata~1{symbol}/messages/Heartbeat").map(|(l, c, _)| (l, c)),
        Some((21, 13))
    );
    assert_eq!(
        at("/servers/prod/host").map(|(l, c, _)| (l, c)),
        Some((7, 10))
    );
    // Every operation message resolves through the channel to a component.
    for i in 0..2 {
        let message = sources.deref(&root_loc(
            &document,
            &format!("/operations/onMarketData/messages/{i}"),
        ));
        assert!(message.is_ok_and(|l| l.pointer.starts_with("/components/messages/")));
    }
    // A 2.x `$ref` into a channel's operation still resolves, to the node's new place.
    let heartbeat = root_loc(&document, "/components/messages/Heartbeat/payload");
    let payload = sources.deref(&heartbeat).map(|l| l.pointer);
    assert_eq!(
        payload.as_deref(),
        Ok("/channels/~1v1~1marketdata~1{symbol}/messages/Subscribe/payload")
    );
}

#[test]
fn referenced_files_that_cannot_be_parsed_are_reported_at_the_ref() {
    let root =
        format!("{OPENAPI_HEAD}components:\n  schemas:\n    A:\n      $ref: 'broken.yaml#/A'\n");
    let (document, diagnostics, _dir) = load_files(
        "broken-ref",
        &[("api.yaml", &root), ("broken.yaml", "A: [1,\n")],
    );
    assert!(document.is_some());
    let kinds: Vec<Kind> = errors(&diagnostics).iter().map(|d| d.kind).collect();
    assert_eq!(kinds.len(), 2, "{diagnostics:?}");
    assert!(kinds.contains(&Kind::Syntax) && kinds.contains(&Kind::Reference));
    let at_ref = diagnostics
        .iter()
        .find(|d| d.kind == Kind::Reference)
        .and_then(|d| d.location.as_ref());
    assert_eq!(at_ref.map(|l| (l.line, l.column)), Some((8, 13)));
}

#[test]
fn multiple_documents_and_duplicate_keys_are_warnings() {
    let text = format!("{OPENAPI_HEAD}paths: {{}}\npaths: {{}}\n---\nother: 1\n");
    let (document, diagnostics, _dir) = load_files("warnings", &[("api.yaml", &text)]);
    assert!(document.is_some());
    assert_eq!(
        places(&diagnostics, Severity::Warning),
        [(Kind::Invalid, 6, 1), (Kind::Unsupported, 7, 1)]
    );
}

/// Deterministic mutations of small specs never panic (the fuzz test does this at scale).
#[test]
fn mutated_input_never_panics() {
    let seeds = [
        ASYNCAPI_2.to_string(),
        format!(
            "{OPENAPI_HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200': {{$ref: '#/x/y'}}\n"
        ),
    ];
    let scratch = Scratch::new("mutations");
    let noise = [
        "",
        "{",
        "]",
        ":",
        "- ",
        "&a ",
        "*a",
        "'",
        "\"",
        "\n  ",
        "$ref: '#/'",
        "~1",
        "%",
        "\t",
        "é",
    ];
    let mut count = 0usize;
    for seed in &seeds {
        let chars: Vec<char> = seed.chars().collect();
        for (step, at) in (0..chars.len()).step_by(7).enumerate() {
            let Some(token) = noise.get(step % noise.len()) else {
                continue;
            };
            let mut text: String = chars.iter().take(at).collect();
            text.push_str(token);
            text.extend(chars.iter().skip(at + step % 3));
            for name in ["m.yaml", "m.json"] {
                let path = scratch.write(name, &text);
                let (document, diagnostics) = load_path(&path);
                if let Some(document) = document {
                    let value = document.sources.file(document.root).value.clone();
                    visit(&document, &value, &root_loc(&document, ""));
                }
                drop(diagnostics);
                count += 1;
            }
        }
    }
    assert!(count > 100);

    /// Locate and deref every node.
    fn visit(document: &Document, value: &Value, loc: &Loc) {
        let _ = document.sources.locate(loc);
        let _ = document.sources.deref(loc);
        match value {
            Value::Object(map) => map
                .iter()
                .for_each(|(k, v)| visit(document, v, &loc.child(k))),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| visit(document, v, &loc.index(i))),
            _ => {}
        }
    }
}

#[test]
fn pointer_lookups_agree_with_serde_json() {
    let value = serde_json::json!({
        "a/b": {"c~d": [10, {"": "empty key"}]},
        "paths": {"/v1/{id}": {"get": {"x": true}}},
        "list": [[1, 2], [3]],
    });
    for pointer in [
        "",
        "/a~1b",
        "/a~1b/c~0d/0",
        "/a~1b/c~0d/1/",
        "/paths/~1v1~1{id}/get/x",
        "/list/1/0",
        "/list/01",
        "/list/+1",
        "/list/9",
        "/missing",
        "a",
        "/paths/~1v1~1{id}/get/x/deeper",
    ] {
        assert_eq!(
            super::pointer_get(&value, pointer),
            value.pointer(pointer),
            "{pointer:?}"
        );
    }
}
