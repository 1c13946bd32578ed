//! YAML text → `serde_json::Value` and source map in one pass over yaml-rust2's events, resolving
//! plain scalars with the YAML 1.2 core schema.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::push_escaped;
use super::source_map::{Parsed, Pos, Problem, SourceMap};
use crate::diag::{Diagnostic, Kind};

/// Deepest nesting of mappings and sequences accepted (deeper input is an error, not a stack overflow).
pub(crate) const MAX_DEPTH: usize = 512;

/// How many nodes aliases may copy in total, so that nested aliases ("billion laughs") cannot
/// exhaust memory.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// The tag prefix `!!` stands for.
const CORE_TAG: &str = "tag:yaml.org,2002:";

/// Parse the first YAML document of `text`. A syntax error (or input too deep to accept) is the
/// `Err`; warnings (duplicate keys, extra documents, bad explicit tags) are in `problems`.
pub(crate) fn parse(text: &str) -> Result<Parsed, Box<Problem>> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0usize;
    loop {
        let (event, marker) = match parser.next_token() {
            Ok(next) => next,
            Err(error) => {
                return Err(Box::new(Problem {
                    pos: pos_of(error.marker()),
                    diagnostic: Diagnostic::error(
                        Kind::Syntax,
                        format!("invalid YAML: {}", error.info()),
                    ),
                }));
            }
        };
        let mark = Mark::from(&marker);
        match event {
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    builder.problems.push(Problem {
                        pos: mark.pos,
                        diagnostic: Diagnostic::warning(
                            Kind::Unsupported,
                            "this file has more than one YAML document; only the first is used",
                        )
                        .help("put each spec in a file of its own"),
                    });
                    break;
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                builder.scalar(value, style, anchor, tag.as_ref(), mark)?;
            }
            Event::SequenceStart(anchor, _) => {
                builder.start(Container::Seq(Vec::new()), anchor, mark)?;
            }
            Event::MappingStart(anchor, _) => {
                builder.start(Container::Map(Map::new(), None), anchor, mark)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.end(),
            Event::Alias(id) => builder.alias(id, mark)?,
        }
    }
    Ok(builder.finish())
}

/// A parser position: the character index orders positions, `pos` is what is reported.
#[derive(Clone, Copy, Debug)]
struct Mark {
    index: usize,
    pos: Pos,
}

impl From<&Marker> for Mark {
    fn from(marker: &Marker) -> Mark {
        Mark {
            index: marker.index(),
            pos: pos_of(marker),
        }
    }
}

/// yaml-rust2 lines are 1-based and columns 0-based (in characters).
fn pos_of(marker: &Marker) -> Pos {
    Pos::new(marker.line(), marker.col().saturating_add(1))
}

enum Container {
    /// A mapping being built, and the key waiting for its value (with the key's position).
    Map(Map<String, Value>, Option<(String, Pos)>),
    Seq(Vec<Value>),
}

/// A mapping or sequence being built.
struct Frame {
    container: Container,
    /// Length of the shared pointer before this node's segment was appended.
    pointer_len: usize,
    /// False inside a complex mapping key, whose parts have no pointer.
    record: bool,
    anchor: usize,
    /// Where the node starts. For block mappings yaml-rust2 marks the start after the first key,
    /// so this is lowered to the first key's position when that is earlier.
    start: Mark,
    key_pos: Option<Pos>,
    /// Nodes in this subtree (for the alias budget) and its height (for the depth limit).
    nodes: usize,
    height: usize,
}

/// A completed anchored node, kept for its aliases.
struct Anchored {
    value: Value,
    nodes: usize,
    height: usize,
}

/// Where a node that is starting goes.
struct Slot {
    record: bool,
    pointer_len: usize,
    key_pos: Option<Pos>,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// The pointer of the node being built, shared by all frames (each truncates back on exit).
    pointer: String,
    map: SourceMap,
    problems: Vec<Problem>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    root: Option<Value>,
}

impl Builder {
    /// Enter the slot of a node that starts at `mark`: append its pointer segment and say where
    /// it goes.
    fn enter(&mut self, mark: Mark) -> Slot {
        let pointer_len = self.pointer.len();
        let Some(frame) = self.stack.last_mut() else {
            return Slot {
                record: true,
                pointer_len,
                key_pos: None,
            };
        };
        match &frame.container {
            Container::Map(_, None) => {
                // A key: it has no pointer of its own.
                if mark.index < frame.start.index {
                    frame.start = mark;
                }
                Slot {
                    record: false,
                    pointer_len,
                    key_pos: None,
                }
            }
            Container::Map(_, Some((key, key_pos))) => {
                if frame.record {
                    self.pointer.push('/');
                    push_escaped(&mut self.pointer, key);
                }
                Slot {
                    record: frame.record,
                    pointer_len,
                    key_pos: Some(*key_pos),
                }
            }
            Container::Seq(items) => {
                if frame.record {
                    self.pointer.push('/');
                    self.pointer.push_str(&items.len().to_string());
                }
                Slot {
                    record: frame.record,
                    pointer_len,
                    key_pos: None,
                }
            }
        }
    }

    fn too_deep(&self, mark: Mark) -> Box<Problem> {
        Box::new(Problem {
            pos: mark.pos,
            diagnostic: Diagnostic::error(
                Kind::Unsupported,
                format!("YAML nested more than {MAX_DEPTH} levels deep"),
            )
            .help("wiregen limits nesting so that hostile input cannot exhaust the stack"),
        })
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        mark: Mark,
    ) -> Result<(), Box<Problem>> {
        let slot = self.enter(mark);
        // An empty plain scalar is an implicit null that starts wherever the next token does;
        // its key is a better place.
        let implicit = style == TScalarStyle::Plain && text.is_empty() && tag.is_none();
        let pos = match (implicit, slot.key_pos) {
            (true, Some(key_pos)) => key_pos,
            _ => mark.pos,
        };
        let value = match resolve(text, style, tag) {
            Ok(value) => value,
            Err((value, message)) => {
                self.problems.push(Problem {
                    pos: mark.pos,
                    diagnostic: Diagnostic::warning(Kind::Invalid, message),
                });
                value
            }
        };
        if slot.record {
            self.map.insert(&self.pointer, pos, slot.key_pos);
        }
        self.pointer.truncate(slot.pointer_len);
        if anchor > 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    nodes: 1,
                    height: 1,
                },
            );
        }
        self.deliver(value, pos, 1, 1);
        Ok(())
    }

    fn start(
        &mut self,
        container: Container,
        anchor: usize,
        mark: Mark,
    ) -> Result<(), Box<Problem>> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.too_deep(mark));
        }
        let slot = self.enter(mark);
        self.stack.push(Frame {
            container,
            pointer_len: slot.pointer_len,
            record: slot.record,
            anchor,
            start: mark,
            key_pos: slot.key_pos,
            nodes: 1,
            height: 1,
        });
        Ok(())
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let value = match frame.container {
            Container::Map(map, _) => Value::Object(map),
            Container::Seq(items) => Value::Array(items),
        };
        if frame.record {
            self.map
                .insert(&self.pointer, frame.start.pos, frame.key_pos);
        }
        self.pointer.truncate(frame.pointer_len);
        if frame.anchor > 0 {
            let anchored = Anchored {
                value: value.clone(),
                nodes: frame.nodes,
                height: frame.height,
            };
            self.anchors.insert(frame.anchor, anchored);
        }
        self.deliver(value, frame.start.pos, frame.nodes, frame.height);
    }

    fn alias(&mut self, id: usize, mark: Mark) -> Result<(), Box<Problem>> {
        let error = |message: &str| {
            Box::new(Problem {
                pos: mark.pos,
                diagnostic: Diagnostic::error(Kind::Unsupported, message.to_string()),
            })
        };
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(error(
                "this alias refers to a node that contains it (a recursive alias)",
            ));
        };
        if self.stack.len() + anchored.height > MAX_DEPTH {
            return Err(self.too_deep(mark));
        }
        self.alias_nodes = self.alias_nodes.saturating_add(anchored.nodes);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(error(&format!(
                "YAML aliases expand to more than {MAX_ALIAS_NODES} nodes"
            )));
        }
        let (value, nodes, height) = (anchored.value.clone(), anchored.nodes, anchored.height);
        let slot = self.enter(mark);
        if slot.record {
            self.map.insert(&self.pointer, mark.pos, slot.key_pos);
        }
        self.pointer.truncate(slot.pointer_len);
        self.deliver(value, mark.pos, nodes, height);
        Ok(())
    }

    /// Hand a completed node to its parent (or make it the root).
    fn deliver(&mut self, value: Value, pos: Pos, nodes: usize, height: usize) {
        let Some(frame) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(value);
            }
            return;
        };
        frame.nodes = frame.nodes.saturating_add(nodes);
        frame.height = frame.height.max(height + 1);
        match &mut frame.container {
            Container::Map(map, pending) => match pending.take() {
                Some((key, _)) => {
                    map.insert(key, value);
                }
                None => {
                    let key = key_string(value);
                    if map.contains_key(&key) {
                        self.problems.push(Problem {
                            pos,
                            diagnostic: Diagnostic::warning(
                                Kind::Invalid,
                                format!("duplicate key `{key}`; the last one wins"),
                            )
                            .help("YAML requires the keys of a mapping to be unique"),
                        });
                    }
                    *pending = Some((key, pos));
                }
            },
            Container::Seq(items) => items.push(value),
        }
    }

    fn finish(mut self) -> Parsed {
        // Unbalanced containers cannot survive the parser, but close them rather than lose them.
        while !self.stack.is_empty() {
            self.end();
        }
        if self.map.get("").is_none() {
            self.map.insert("", Pos::START, None);
        }
        Parsed {
            value: self.root.unwrap_or(Value::Null),
            map: self.map,
            problems: self.problems,
        }
    }
}

/// The string form of a mapping key: strings as they are, other scalars as JSON text
/// (`200` → `"200"`), complex keys as compact JSON.
fn key_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        complex => serde_json::to_string(&complex).unwrap_or_default(),
    }
}

/// Resolve a scalar to a value. `Err` carries the value used anyway and a warning, for an
/// explicit tag the text does not fit.
fn resolve(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, (Value, String)> {
    let Some(tag) = tag else {
        return Ok(match style {
            TScalarStyle::Plain => resolve_plain(text),
            _ => Value::String(text),
        });
    };
    if tag.handle.is_empty() && tag.suffix == "!" {
        // The non-specific tag `!`: a string.
        return Ok(Value::String(text));
    }
    if tag.handle != CORE_TAG {
        // A local or unknown tag means nothing to wiregen; resolve as if untagged.
        return resolve(text, style, None);
    }
    let mismatch = |text: String, what: &str| {
        let message = format!(
            "`!!{}` value `{text}` is not {what}; it is kept as a string",
            tag.suffix
        );
        Err((Value::String(text), message))
    };
    match tag.suffix.as_str() {
        "str" => Ok(Value::String(text)),
        "null" => match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Ok(Value::Null),
            _ => mismatch(text, "null"),
        },
        "bool" => match core_bool(&text) {
            Some(b) => Ok(Value::Bool(b)),
            None => mismatch(text, "a boolean"),
        },
        "int" => match core_int(&text) {
            Some(IntForm::Value(v)) => Ok(v),
            _ => mismatch(text, "an integer"),
        },
        "float" => match (core_int(&text), core_float(&text)) {
            (Some(IntForm::Value(Value::Number(n))), _) => Ok(n
                .as_f64()
                .and_then(Number::from_f64)
                .map_or(Value::String(text), Value::Number)),
            (_, Some(FloatForm::Finite(v))) => Ok(v),
            (_, Some(FloatForm::Special)) => Ok(Value::String(text)),
            _ => mismatch(text, "a number"),
        },
        // `!!map`, `!!seq`, `!!binary`, `!!timestamp`, ...: resolve as if untagged.
        _ => resolve(text, style, None),
    }
}

/// The YAML 1.2 core schema for plain scalars.
fn resolve_plain(text: String) -> Value {
    if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = core_bool(&text) {
        return Value::Bool(b);
    }
    match core_int(&text) {
        Some(IntForm::Value(v)) => return v,
        Some(IntForm::TooLarge) => return Value::String(text),
        None => {}
    }
    match core_float(&text) {
        Some(FloatForm::Finite(v)) => v,
        // `.inf` and `.nan` (and overflowing numbers) cannot be JSON numbers.
        Some(FloatForm::Special) | None => Value::String(text),
    }
}

fn core_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

enum IntForm {
    Value(Value),
    /// Has the form of an integer but is not representable.
    TooLarge,
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
fn core_int(text: &str) -> Option<IntForm> {
    let radix = |digits: &str, radix: u32| {
        let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
        valid.then(|| match u64::from_str_radix(digits, radix) {
            Ok(n) => IntForm::Value(Value::from(n)),
            Err(_) => IntForm::TooLarge,
        })
    };
    if let Some(octal) = text.strip_prefix("0o") {
        return radix(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return radix(hex, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(IntForm::Value(Value::from(n)));
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(IntForm::Value(Value::from(n)));
    }
    // Too large for 64 bits: approximate as a float, as JSON parsers do.
    match text.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) => Some(IntForm::Value(Value::Number(n))),
        None => Some(IntForm::TooLarge),
    }
}

enum FloatForm {
    Finite(Value),
    /// `.inf`, `-.inf`, `.nan`, or a number too large for `f64`.
    Special,
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.(inf|Inf|INF)`, `\.(nan|NaN|NAN)`.
fn core_float(text: &str) -> Option<FloatForm> {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(FloatForm::Special);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Some(FloatForm::Special);
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && all_digits(digits)
    });
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    let parsed: f64 = text.parse().ok()?;
    Some(match Number::from_f64(parsed) {
        Some(n) if parsed.is_finite() => FloatForm::Finite(Value::Number(n)),
        _ => FloatForm::Special,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        match parse(text) {
            Ok(parsed) => parsed.value,
            Err(problem) => panic!("parse failed: {problem:?}"),
        }
    }

    /// Each row: YAML scalar as written after `v: `, expected JSON value.
    #[test]
    fn scalar_resolution_follows_the_core_schema() {
        let table: &[(&str, Value)] = &[
            ("null", json!(null)),
            ("Null", json!(null)),
            ("NULL", json!(null)),
            ("~", json!(null)),
            ("", json!(null)),
            ("\"null\"", json!("null")),
            ("'~'", json!("~")),
            ("true", json!(true)),
            ("True", json!(true)),
            ("FALSE", json!(false)),
            ("'true'", json!("true")),
            ("yes", json!("yes")),
            ("No", json!("No")),
            ("on", json!("on")),
            ("12", json!(12)),
            ("-12", json!(-12)),
            ("+12", json!(12)),
            ("012", json!(12)),
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0o19", json!("0o19")),
            ("0xG", json!("0xG")),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("99999999999999999999", json!(1e20)),
            ("0x1FFFFFFFFFFFFFFFFF", json!("0x1FFFFFFFFFFFFFFFFF")),
            ("1.5", json!(1.5)),
            ("-.5", json!(-0.5)),
            ("1.", json!(1.0)),
            ("1e3", json!(1000.0)),
            ("2.5E-1", json!(0.25)),
            ("1e999", json!("1e999")),
            (".inf", json!(".inf")),
            ("-.Inf", json!("-.Inf")),
            (".nan", json!(".nan")),
            (".", json!(".")),
            ("1m", json!("1m")),
            ("'1m'", json!("1m")),
            ("'12'", json!("12")),
            ("\"12\"", json!("12")),
            ("1_000", json!("1_000")),
            ("3.1.0", json!("3.1.0")),
            ("e3", json!("e3")),
            ("1e", json!("1e")),
            ("|\n  12\n", json!("12\n")),
            (">-\n  true\n", json!("true")),
            ("!!str 12", json!("12")),
            ("!!str", json!("")),
            ("!!int \"12\"", json!(12)),
            ("!!int 0x1F", json!(31)),
            ("!!float 1", json!(1.0)),
            ("!!float '2.5'", json!(2.5)),
            ("!!bool 'true'", json!(true)),
            ("!!null ''", json!(null)),
            ("! 12", json!("12")),
            ("!custom 12", json!(12)),
        ];
        for (written, expected) in table {
            let got = value(&format!("v: {written}"));
            assert_eq!(got["v"], *expected, "`v: {written}`");
        }
    }

    #[test]
    fn a_bad_explicit_tag_is_a_warning_and_a_string() {
        let parsed = parse("v: !!int abc\n")
            .map_err(|p| p.diagnostic.message)
            .unwrap();
        assert_eq!(parsed.value, json!({"v": "abc"}));
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(
            parsed.problems[0].pos,
            Pos {
                line: 1,
                column: 10
            }
        );
    }

    #[test]
    fn anchors_and_aliases_copy_the_anchored_value() {
        let got =
            value("base: &b\n  type: string\n  enum: [a, b]\nother: *b\nlist: [&x 1, *x, *x]\n");
        assert_eq!(
            got,
            json!({
                "base": {"type": "string", "enum": ["a", "b"]},
                "other": {"type": "string", "enum": ["a", "b"]},
                "list": [1, 1, 1],
            })
        );
    }

    #[test]
    fn aliases_cannot_explode() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let problem = parse(&text).err().map(|p| p.diagnostic.message);
        assert!(problem.is_some_and(|m| m.contains("aliases expand")));
    }

    #[test]
    fn non_string_keys_become_strings() {
        let got = value("200: ok\ntrue: yes\n~: n\n1.5: f\n? [a, b]\n: c\n");
        let keys: Vec<&str> = got
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["200", "true", "null", "1.5", "[\"a\",\"b\"]"]);
    }

    #[test]
    fn duplicate_keys_warn_and_the_last_wins() {
        let parsed = parse("a: 1\nb: 2\na: 3\n")
            .map_err(|p| p.diagnostic.message)
            .unwrap();
        assert_eq!(parsed.value, json!({"a": 3, "b": 2}));
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].pos, Pos { line: 3, column: 1 });
        assert!(
            parsed.problems[0]
                .diagnostic
                .message
                .contains("duplicate key `a`")
        );
    }

    #[test]
    fn positions_are_recorded_for_values_and_keys() {
        let text = "# c\nopenapi: 3.1.0\npaths:\n  /a/{id}:\n    get:\n      tags: [x, \"é\", z]\n      summary:\n  ~0: é\nlist:\n  - a: 1\n    b: {c: d}\n";
        let parsed = parse(text).map_err(|p| p.diagnostic.message).unwrap();
        let at = |pointer: &str| {
            parsed
                .map
                .get(pointer)
                .map(|e| (e.value.line, e.value.column))
        };
        let key = |pointer: &str| {
            parsed
                .map
                .get(pointer)
                .and_then(|e| e.key)
                .map(|k| (k.line, k.column))
        };
        assert_eq!(at(""), Some((2, 1)));
        assert_eq!(at("/openapi"), Some((2, 10)));
        assert_eq!(key("/openapi"), Some((2, 1)));
        assert_eq!(at("/paths"), Some((4, 3)));
        assert_eq!(key("/paths"), Some((3, 1)));
        assert_eq!(at("/paths/~1a~1{id}"), Some((5, 5)));
        assert_eq!(at("/paths/~1a~1{id}/get/tags"), Some((6, 13)));
        assert_eq!(at("/paths/~1a~1{id}/get/tags/1"), Some((6, 17)));
        assert_eq!(at("/paths/~1a~1{id}/get/tags/2"), Some((6, 22)));
        // An empty value is located at its key.
        assert_eq!(at("/paths/~1a~1{id}/get/summary"), Some((7, 7)));
        assert_eq!(at("/paths/~00"), Some((8, 7)));
        assert_eq!(at("/list/0"), Some((10, 5)));
        assert_eq!(at("/list/0/b/c"), Some((11, 12)));
    }

    #[test]
    fn syntax_errors_have_the_parser_position() {
        let problem = parse("a: [1, 2\nb: 3\n").err();
        let problem = problem.map(|p| (p.pos, p.diagnostic.kind));
        assert_eq!(problem, Some((Pos { line: 2, column: 2 }, Kind::Syntax)));
    }

    #[test]
    fn only_the_first_document_is_used() {
        let parsed = parse("a: 1\n---\nb: 2\n")
            .map_err(|p| p.diagnostic.message)
            .unwrap();
        assert_eq!(parsed.value, json!({"a": 1}));
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // yaml-rust2 limits flow nesting itself.
        let flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(&flow).err().map(|p| p.diagnostic.kind),
            Some(Kind::Syntax)
        );
        // Block nesting is limited here: `levels` nested mappings.
        let block = |levels: usize| {
            let mut text = String::new();
            for i in 0..levels {
                text.push_str(&" ".repeat(i));
                text.push_str(if i + 1 == levels { "k: v\n" } else { "k:\n" });
            }
            parse(&text)
                .map(|_| ())
                .map_err(|p| (p.diagnostic.kind, p.pos.line))
        };
        assert_eq!(block(MAX_DEPTH), Ok(()));
        assert_eq!(block(MAX_DEPTH + 1), Err((Kind::Unsupported, 513)));
        let aliased = format!(
            "a: &a {}1{}\nb: [[[*a]]]\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(parse(&aliased).is_ok());
    }

    #[test]
    fn empty_input_is_null() {
        let parsed = parse("").map_err(|p| p.diagnostic.message).unwrap();
        assert_eq!(parsed.value, Value::Null);
        assert!(parsed.map.get("").is_some());
    }
}
