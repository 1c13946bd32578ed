//! `$ref` strings: finding them in loaded values, splitting them into a file part and a JSON
//! pointer fragment, and the lenient resolution of keys that contain an unescaped `/`.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::{FileId, Loc, push_escaped, unescape};

/// A `$ref` found in a loaded file: the object holding it and the reference string.
#[derive(Clone, Debug)]
pub(crate) struct RefSite {
    pub from: Loc,
    pub reference: String,
}

/// How to read the keys of an object while looking for `$ref`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keys {
    /// Keys are keywords (`type`, `default`, `example`, ...): data-valued keywords are skipped.
    Keywords,
    /// Keys are names chosen by the author (`properties`, `responses`, `schemas`, ...): nothing
    /// is skipped, and each value is an object whose keys are keywords.
    Names,
    /// The entries of an OpenAPI `examples` map: each is an Example Object (or a `$ref`).
    ExampleMap,
    /// An OpenAPI Example Object: `value` and friends are data.
    Example,
}

/// Keywords whose value is a map from author-chosen names to objects, in OpenAPI, AsyncAPI or
/// JSON Schema. An object under one of these is read as [`Keys::Names`] only if it looks like a
/// map (every value an object or a boolean schema), since some keywords (`headers`, `tags`,
/// `externalDocs`) mean different things in different places.
const NAME_MAPS: &[&str] = &[
    "$defs",
    "bindings",
    "callbacks",
    "channelBindings",
    "channels",
    "content",
    "correlationIds",
    "definitions",
    "dependentSchemas",
    "encoding",
    "externalDocs",
    "headers",
    "links",
    "mediaTypes",
    "messageBindings",
    "messageTraits",
    "messages",
    "operationBindings",
    "operationTraits",
    "operations",
    "parameters",
    "pathItems",
    "paths",
    "patternProperties",
    "properties",
    "replies",
    "replyAddresses",
    "requestBodies",
    "responses",
    "schemas",
    "securitySchemes",
    "serverBindings",
    "serverVariables",
    "servers",
    "tags",
    "variables",
    "webhooks",
];

/// Keywords whose value is data (an example, a default, allowed values), never a `$ref`.
const DATA_KEYWORDS: &[&str] = &["example", "default", "const", "enum"];

/// Example Object fields that hold data.
const EXAMPLE_DATA: &[&str] = &["value", "dataValue", "serializedValue"];

/// Deeper than any value the parsers accept.
const MAX_DEPTH: usize = 2048;

/// Does an object look like a map of names to objects?
pub(crate) fn looks_like_name_map(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            !map.contains_key("$ref")
                && map
                    .values()
                    .all(|v| matches!(v, Value::Object(_) | Value::Bool(_)))
        }
        _ => false,
    }
}

/// Every `$ref` string in `value` (a whole file), in document order, skipping data values
/// (examples, defaults, enums, consts) and `x-` extensions.
pub(crate) fn collect(file: FileId, value: &Value, keys: Keys) -> Vec<RefSite> {
    let mut sites = Vec::new();
    let mut pointer = String::new();
    walk(file, value, keys, &mut pointer, &mut sites, 0);
    sites
}

fn walk(
    file: FileId,
    value: &Value,
    keys: Keys,
    pointer: &mut String,
    sites: &mut Vec<RefSite>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                sites.push(RefSite {
                    from: Loc {
                        file,
                        pointer: pointer.clone(),
                    },
                    reference: reference.clone(),
                });
            }
            for (key, child) in map {
                if key == "$ref" {
                    continue;
                }
                let child_keys = match keys {
                    Keys::Names => Keys::Keywords,
                    Keys::ExampleMap => Keys::Example,
                    Keys::Keywords | Keys::Example => {
                        let key = key.as_str();
                        if key.starts_with("x-")
                            || DATA_KEYWORDS.contains(&key)
                            || (keys == Keys::Example && EXAMPLE_DATA.contains(&key))
                        {
                            continue;
                        }
                        if key == "examples" {
                            // JSON Schema and AsyncAPI `examples` are arrays of data; OpenAPI's
                            // is a map of Example Objects.
                            if !child.is_object() {
                                continue;
                            }
                            Keys::ExampleMap
                        } else if NAME_MAPS.contains(&key) && looks_like_name_map(child) {
                            Keys::Names
                        } else {
                            Keys::Keywords
                        }
                    }
                };
                let len = pointer.len();
                pointer.push('/');
                push_escaped(pointer, key);
                walk(file, child, child_keys, pointer, sites, depth + 1);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                walk(file, child, Keys::Keywords, pointer, sites, depth + 1);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// A `$ref` string taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RefParts<'r> {
    /// `http:`, `https:`, `urn:`, `//host/...`: not followed.
    Remote,
    /// A relative (or absolute) file path, possibly empty, and the fragment after `#`, if any.
    Local {
        file: &'r str,
        fragment: Option<&'r str>,
    },
}

pub(crate) fn split(reference: &str) -> RefParts<'_> {
    let (file, fragment) = match reference.split_once('#') {
        Some((file, fragment)) => (file, Some(fragment)),
        None => (reference, None),
    };
    if file.starts_with("//") || has_scheme(file) {
        return RefParts::Remote;
    }
    RefParts::Local { file, fragment }
}

/// `scheme:` per RFC 3986 (two or more characters, so that `C:\x` stays a path).
fn has_scheme(file: &str) -> bool {
    let Some((scheme, _)) = file.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Decode `%XX` escapes (a `$ref` is a URI reference). Malformed escapes are kept as written.
pub(crate) fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|&h| char::from(h).to_digit(16));
            if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Escape a JSON pointer for use as a `$ref` fragment: `%` must not be read as an escape.
pub(crate) fn fragment_escape(pointer: &str) -> String {
    pointer.replace('%', "%25")
}

/// A fragment as a JSON pointer: `None` if it is not one (a plain-name anchor like `#foo`).
/// The result is canonical: every segment re-escaped.
pub(crate) fn fragment_pointer(fragment: &str) -> Option<(String, Vec<String>)> {
    let decoded = percent_decode(fragment);
    if decoded.is_empty() {
        return Some((String::new(), Vec::new()));
    }
    let rest = decoded.strip_prefix('/')?;
    let segments: Vec<String> = rest.split('/').map(unescape).collect();
    let mut pointer = String::with_capacity(decoded.len());
    for segment in &segments {
        pointer.push('/');
        push_escaped(&mut pointer, segment);
    }
    Some((pointer, segments))
}

/// Resolve pointer segments where some keys contain an unescaped `/`: at each object, try every
/// run of consecutive segments joined with `/` as a key. Returns the matching pointers (at most
/// two: enough to know whether the match is unique).
pub(crate) fn lenient_matches(root: &Value, segments: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    if segments.len() > 256 {
        return found;
    }
    let mut budget = 10_000usize;
    let mut pointer = String::new();
    lenient(root, segments, &mut pointer, &mut found, &mut budget);
    found
}

fn lenient(
    node: &Value,
    segments: &[String],
    pointer: &mut String,
    found: &mut Vec<String>,
    budget: &mut usize,
) {
    if found.len() >= 2 || *budget == 0 {
        return;
    }
    *budget -= 1;
    let Some((first, _)) = segments.split_first() else {
        found.push(pointer.clone());
        return;
    };
    match node {
        Value::Object(map) => {
            let mut key = String::new();
            for (taken, segment) in segments.iter().enumerate() {
                if taken > 0 {
                    key.push('/');
                }
                key.push_str(segment);
                if let Some(child) = map.get(&key) {
                    let len = pointer.len();
                    pointer.push('/');
                    push_escaped(pointer, &key);
                    lenient(
                        child,
                        segments.get(taken + 1..).unwrap_or(&[]),
                        pointer,
                        found,
                        budget,
                    );
                    pointer.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            if let Some(child) = array_index(first).and_then(|i| items.get(i)) {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(first);
                lenient(
                    child,
                    segments.get(1..).unwrap_or(&[]),
                    pointer,
                    found,
                    budget,
                );
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// An RFC 6901 array index: digits, no leading zero.
fn array_index(segment: &str) -> Option<usize> {
    let valid = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    if valid { segment.parse().ok() } else { None }
}

/// Remove `.` and resolve `..` against preceding normal components, without touching the file
/// system (`a/b/../c` → `a/c`; a leading `..` stays).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

/// The directory a file's relative `$ref`s are resolved against.
pub(crate) fn base_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_split_into_file_and_fragment() {
        assert_eq!(
            split("#/a"),
            RefParts::Local {
                file: "",
                fragment: Some("/a")
            }
        );
        assert_eq!(
            split("x.yaml"),
            RefParts::Local {
                file: "x.yaml",
                fragment: None
            }
        );
        assert_eq!(
            split("../c/x.yaml#/a#b"),
            RefParts::Local {
                file: "../c/x.yaml",
                fragment: Some("/a#b")
            }
        );
        assert_eq!(split("https://example.com/x.yaml#/a"), RefParts::Remote);
        assert_eq!(split("urn:example:thing"), RefParts::Remote);
        assert_eq!(split("//example.com/x"), RefParts::Remote);
        assert_eq!(
            split("C:/specs/x.yaml"),
            RefParts::Local {
                file: "C:/specs/x.yaml",
                fragment: None
            }
        );
    }

    #[test]
    fn fragments_are_percent_decoded_and_canonical() {
        let pointer = |f: &str| fragment_pointer(f).map(|(p, _)| p);
        assert_eq!(pointer(""), Some(String::new()));
        assert_eq!(pointer("/a/b~1c"), Some("/a/b~1c".to_string()));
        assert_eq!(
            pointer("/paths/%7Bid%7D/a%20b"),
            Some("/paths/{id}/a b".to_string())
        );
        assert_eq!(pointer("/a%2Fb"), Some("/a/b".to_string()));
        assert_eq!(pointer("/x%25y%zz"), Some("/x%y%zz".to_string()));
        assert_eq!(pointer("/~01"), Some("/~01".to_string()));
        assert_eq!(pointer("plain-name"), None);
        let segments = fragment_pointer("/a~1b/~0c").map(|(_, s)| s);
        assert_eq!(segments, Some(vec!["a/b".to_string(), "~c".to_string()]));
    }

    #[test]
    fn lenient_matching_joins_segments() {
        let root = json!({"m": {"a/b.c": {"x": 1}, "a": {"q": 2}, "p/q": {"r/s": [0, {"t": 1}]}}});
        let seg = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            lenient_matches(&root, &seg("m/a/b.c/x")),
            vec!["/m/a~1b.c/x".to_string()]
        );
        assert_eq!(
            lenient_matches(&root, &seg("m/p/q/r/s/1/t")),
            vec!["/m/p~1q/r~1s/1/t".to_string()]
        );
        assert!(lenient_matches(&root, &seg("m/nope")).is_empty());
        let ambiguous = json!({"a": {"b": {"c": 1}}, "a/b": {"c": 2}});
        assert_eq!(lenient_matches(&ambiguous, &seg("a/b/c")).len(), 2);
    }

    #[test]
    fn data_values_are_not_scanned_for_refs() {
        let doc = json!({
            "paths": {"/x": {"get": {"responses": {
                "default": {"$ref": "#/components/responses/Err"},
                "200": {"content": {"application/json": {
                    "schema": {"$ref": "#/s"},
                    "example": {"$ref": "#/data"},
                    "examples": {"one": {"value": {"$ref": "#/data"}}, "two": {"$ref": "#/components/examples/Two"}}
                }}}
            }}}},
            "components": {"schemas": {"S": {
                "properties": {"default": {"$ref": "#/p"}, "enum": {"$ref": "#/q"}},
                "default": {"$ref": "#/data"},
                "enum": [{"$ref": "#/data"}],
                "examples": [{"$ref": "#/data"}],
                "x-extra": {"$ref": "#/data"},
                "allOf": [{"$ref": "#/r"}]
            }}}
        });
        let refs: Vec<String> = collect(FileId(0), &doc, Keys::Keywords)
            .into_iter()
            .map(|site| format!("{} {}", site.from.pointer, site.reference))
            .collect();
        assert_eq!(
            refs,
            [
                "/paths/~1x/get/responses/default #/components/responses/Err",
                "/paths/~1x/get/responses/200/content/application~1json/schema #/s",
                "/paths/~1x/get/responses/200/content/application~1json/examples/two #/components/examples/Two",
                "/components/schemas/S/properties/default #/p",
                "/components/schemas/S/properties/enum #/q",
                "/components/schemas/S/allOf/0 #/r",
            ]
        );
    }

    #[test]
    fn paths_normalize_lexically() {
        let n = |p: &str| normalize(Path::new(p)).display().to_string();
        assert_eq!(
            n("tests/fixtures/multi/../common/x.yaml"),
            "tests/fixtures/common/x.yaml"
        );
        assert_eq!(n("./a/./b.yaml"), "a/b.yaml");
        assert_eq!(n("../common/x.yaml"), "../common/x.yaml");
        assert_eq!(n("a/../../x.yaml"), "../x.yaml");
        assert_eq!(n("/a/../../x.yaml"), "/x.yaml");
    }
}
