//! JSON text → `serde_json::Value` (parsed by serde_json) plus a source map built by a small
//! scanner that walks the same text and tracks the JSON pointer of every value.

use std::collections::HashSet;

use serde_json::Value;

use super::push_escaped;
use super::source_map::{LineIndex, Parsed, Pos, Problem, SourceMap};
use crate::diag::{Diagnostic, Kind};

/// Deeper than serde_json's own limit (128), so that the scanner never stops before the parser.
const MAX_DEPTH: usize = 1024;

/// Parse JSON text. A syntax error is the `Err`, at the line and (character) column serde_json
/// reports; duplicate keys are warnings.
pub(crate) fn parse(text: &str) -> Result<Parsed, Box<Problem>> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        let lines = LineIndex::new(text);
        let line = error.line().max(1);
        let column = lines.char_column(text, line, error.column());
        let full = error.to_string();
        let message = full
            .rsplit_once(" at line ")
            .map_or(full.as_str(), |(m, _)| m);
        Box::new(Problem {
            pos: Pos::new(line, column),
            diagnostic: Diagnostic::error(Kind::Syntax, format!("invalid JSON: {message}")),
        })
    })?;
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
        line: 1,
        chars_in_line: 0,
        pointer: String::new(),
        map: SourceMap::default(),
        problems: Vec::new(),
    };
    scanner.value(None, 0);
    if scanner.map.get("").is_none() {
        scanner.map.insert("", Pos::START, None);
    }
    Ok(Parsed {
        value,
        map: scanner.map,
        problems: scanner.problems,
    })
}

/// Walks text that serde_json has already accepted; on anything unexpected it stops quietly
/// (positions are a convenience, never a reason to fail).
struct Scanner<'t> {
    bytes: &'t [u8],
    at: usize,
    line: usize,
    /// Characters before `at` on the current line.
    chars_in_line: usize,
    pointer: String,
    map: SourceMap,
    problems: Vec<Problem>,
}

impl Scanner<'_> {
    fn pos(&self) -> Pos {
        Pos::new(self.line, self.chars_in_line + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            self.at += 1;
            if b == b'\n' {
                self.line += 1;
                self.chars_in_line = 0;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: a new character.
                self.chars_in_line += 1;
            }
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// Scan one value at the current pointer. Returns false if the text is not as expected.
    fn value(&mut self, key: Option<Pos>, depth: usize) -> bool {
        self.skip_whitespace();
        self.map.insert(&self.pointer, self.pos(), key);
        match self.peek() {
            Some(b'{') if depth < MAX_DEPTH => self.object(depth),
            Some(b'[') if depth < MAX_DEPTH => self.array(depth),
            Some(b'"') => self.string().is_some(),
            Some(_) => {
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.bump();
                }
                true
            }
            None => false,
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.bump();
        let mut seen = HashSet::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.bump();
            return true;
        }
        loop {
            self.skip_whitespace();
            let key_pos = self.pos();
            let Some(key) = self.string() else {
                return false;
            };
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return false;
            }
            self.bump();
            if !seen.insert(key.clone()) {
                self.problems.push(Problem {
                    pos: key_pos,
                    diagnostic: Diagnostic::warning(
                        Kind::Invalid,
                        format!("duplicate key `{key}`; the last one wins"),
                    )
                    .help("the keys of a JSON object should be unique"),
                });
            }
            let len = self.pointer.len();
            self.pointer.push('/');
            push_escaped(&mut self.pointer, &key);
            let ok = self.value(Some(key_pos), depth + 1);
            self.pointer.truncate(len);
            if !ok {
                return false;
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.bump();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.bump();
            return true;
        }
        let mut index = 0usize;
        loop {
            let len = self.pointer.len();
            self.pointer.push('/');
            self.pointer.push_str(&index.to_string());
            let ok = self.value(None, depth + 1);
            self.pointer.truncate(len);
            if !ok {
                return false;
            }
            index += 1;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// Scan a string literal and decode it (escapes included).
    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.bump();
        let mut raw = Vec::new();
        loop {
            let b = self.peek()?;
            self.bump();
            match b {
                b'"' => break,
                b'\\' => {
                    let escape = self.peek()?;
                    self.bump();
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    raw.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b => raw.push(b),
            }
        }
        Some(
            String::from_utf8(raw)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    /// The code point of `\uXXXX` (after the `u`), combining a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return Some(char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        // A high surrogate must be followed by `\u` and a low surrogate.
        if self.peek() != Some(b'\\') || self.bytes.get(self.at + 1) != Some(&b'u') {
            return Some(char::REPLACEMENT_CHARACTER);
        }
        self.bump();
        self.bump();
        let second = self.hex4()?;
        if !(0xDC00..0xE000).contains(&second) {
            return Some(char::REPLACEMENT_CHARACTER);
        }
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = char::from(self.peek()?).to_digit(16)?;
            self.bump();
            code = code * 16 + digit;
        }
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positions_follow_pointers() {
        let text = "{\n  \"openapi\": \"3.1.0\",\n  \"paths\": {\n    \"/a/{id}\": {\"get\": [1, \"é\", true]},\n    \"k\\u00e9y\\n\\\"~\": null\n  },\n  \"é\": {}\n}\n";
        let parsed = match parse(text) {
            Ok(parsed) => parsed,
            Err(p) => panic!("{p:?}"),
        };
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
        assert_eq!(at(""), Some((1, 1)));
        assert_eq!(at("/openapi"), Some((2, 14)));
        assert_eq!(key("/openapi"), Some((2, 3)));
        assert_eq!(at("/paths"), Some((3, 12)));
        assert_eq!(at("/paths/~1a~1{id}"), Some((4, 16)));
        assert_eq!(at("/paths/~1a~1{id}/get"), Some((4, 24)));
        assert_eq!(at("/paths/~1a~1{id}/get/1"), Some((4, 28)));
        assert_eq!(at("/paths/~1a~1{id}/get/2"), Some((4, 33)));
        assert_eq!(at("/paths/k\u{e9}y\n\"~0"), Some((5, 22)));
        assert_eq!(at("/\u{e9}"), Some((7, 8)));
        assert_eq!(parsed.value["paths"]["k\u{e9}y\n\"~"], json!(null));
    }

    #[test]
    fn surrogate_pairs_in_keys_are_decoded() {
        let parsed = match parse("{\"\\ud83d\\ude00\": 1}") {
            Ok(parsed) => parsed,
            Err(p) => panic!("{p:?}"),
        };
        assert!(parsed.map.get("/\u{1F600}").is_some());
    }

    #[test]
    fn duplicate_keys_warn() {
        let parsed = match parse("{\"a\": 1,\n \"a\": 2}") {
            Ok(parsed) => parsed,
            Err(p) => panic!("{p:?}"),
        };
        assert_eq!(parsed.value, json!({"a": 2}));
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].pos, Pos { line: 2, column: 2 });
    }

    #[test]
    fn syntax_errors_are_located_in_characters() {
        let problem = parse("{\n  \"é\": [1, 2,]\n}")
            .err()
            .map(|p| (p.pos, p.diagnostic.kind));
        // serde_json reports the `]` at byte column 15; it is character 14.
        assert_eq!(
            problem,
            Some((
                Pos {
                    line: 2,
                    column: 14
                },
                Kind::Syntax
            ))
        );
    }
}
