//! AsyncAPI 2.x → 3.0 conversion of a root document on load, with a pointer remap so that
//! diagnostics about the converted value point into the original text.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::push_escaped;
use super::refs::fragment_escape;
use crate::diag::{Diagnostic, Kind};

/// Converted pointers → original pointers, and back.
#[derive(Debug, Default)]
pub(crate) struct Remap {
    /// Converted pointer → (original pointer, locate at the original's key when matched exactly).
    to_original: BTreeMap<String, (String, bool)>,
    /// Original pointer → converted pointer, for 2.x `$ref`s into `#/channels/...`.
    to_converted: BTreeMap<String, String>,
}

impl Remap {
    fn add(&mut self, converted: String, original: String, at_key: bool) {
        self.to_original
            .entry(converted)
            .or_insert((original, at_key));
    }

    fn add_inverse(&mut self, original: String, converted: String) {
        self.to_converted.entry(original).or_insert(converted);
    }

    /// The original pointer for a converted one (longest prefix substitution), and whether its
    /// key position is the better place to point at.
    pub fn original<'p>(&self, pointer: &'p str) -> (Cow<'p, str>, bool) {
        match longest_prefix(&self.to_original, pointer) {
            Some(((original, at_key), rest)) => (
                Cow::Owned(format!("{original}{rest}")),
                *at_key && rest.is_empty(),
            ),
            None => (Cow::Borrowed(pointer), false),
        }
    }

    /// The converted pointer for an original one, if the node moved.
    pub fn converted(&self, pointer: &str) -> Option<String> {
        longest_prefix(&self.to_converted, pointer)
            .map(|(converted, rest)| format!("{converted}{rest}"))
    }
}

/// The entry for the longest pointer prefix of `pointer` (whole segments only), and the rest.
fn longest_prefix<'m, 'p, T>(
    map: &'m BTreeMap<String, T>,
    pointer: &'p str,
) -> Option<(&'m T, &'p str)> {
    let mut prefix = pointer;
    loop {
        if let Some(found) = map.get(prefix) {
            return Some((found, pointer.get(prefix.len()..).unwrap_or("")));
        }
        let cut = prefix.rfind('/')?;
        prefix = prefix.get(..cut)?;
    }
}

/// The result of converting a 2.x document.
#[derive(Debug)]
pub(crate) struct Conversion {
    pub value: Value,
    pub remap: Remap,
    pub channels: usize,
    pub operations: usize,
    pub servers_split: usize,
    /// Problems found, located by pointers into the original value.
    pub problems: Vec<(String, Diagnostic)>,
}

/// Build the 3.0 shape of a 2.x document.
pub(crate) fn convert(root: &Value) -> Conversion {
    let mut converter = Converter::default();
    let value = match root.as_object() {
        Some(source) => converter.document(source),
        None => root.clone(),
    };
    let Converter {
        remap,
        channels,
        operations,
        servers_split,
        problems,
    } = converter;
    Conversion {
        value,
        remap,
        channels,
        operations,
        servers_split,
        problems,
    }
}

/// A pointer from unescaped segments.
fn pointer(segments: &[&str]) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        push_escaped(&mut out, segment);
    }
    out
}

/// A local `$ref` object to a pointer.
fn local_ref(pointer: &str) -> Value {
    json!({ "$ref": format!("#{}", fragment_escape(pointer)) })
}

#[derive(Default)]
struct Converter {
    remap: Remap,
    channels: usize,
    operations: usize,
    servers_split: usize,
    problems: Vec<(String, Diagnostic)>,
}

impl Converter {
    fn document(&mut self, source: &Map<String, Value>) -> Value {
        let mut out = Map::new();
        out.insert("asyncapi".into(), Value::String("3.0.0".into()));
        if let Some(id) = source.get("id") {
            out.insert("id".into(), id.clone());
        }
        // 3.0 moved the root `tags` and `externalDocs` into `info`.
        let mut moved = Vec::new();
        if let Some(info) = source.get("info") {
            let mut info = info.clone();
            if let Some(info) = info.as_object_mut() {
                for field in ["tags", "externalDocs"] {
                    if let Some(value) = source.get(field)
                        && !info.contains_key(field)
                    {
                        info.insert(field.into(), value.clone());
                        self.remap
                            .add(pointer(&["info", field]), pointer(&[field]), false);
                        moved.push(field);
                    }
                }
            }
            out.insert("info".into(), info);
        }
        if let Some(servers) = source.get("servers") {
            let servers = self.servers(servers);
            out.insert("servers".into(), servers);
        }
        if let Some(content_type) = source.get("defaultContentType") {
            out.insert("defaultContentType".into(), content_type.clone());
        }
        let mut operations = Map::new();
        if let Some(channels) = source.get("channels") {
            let channels = self.channels(channels, &mut operations);
            out.insert("channels".into(), channels);
        }
        if !operations.is_empty() {
            self.remap
                .add("/operations".into(), "/channels".into(), true);
            out.insert("operations".into(), Value::Object(operations));
        }
        if let Some(components) = source.get("components") {
            out.insert("components".into(), components.clone());
        }
        let handled = [
            "asyncapi",
            "id",
            "info",
            "servers",
            "defaultContentType",
            "channels",
            "components",
        ];
        for (key, value) in source {
            if handled.contains(&key.as_str()) || moved.contains(&key.as_str()) {
                continue;
            }
            // Extensions, and fields 3.0 does not know (left for later phases to report).
            out.insert(key.clone(), value.clone());
        }
        Value::Object(out)
    }

    /// `url` → `host` + `pathname`; everything else kept.
    fn servers(&mut self, servers: &Value) -> Value {
        let Some(servers) = servers.as_object() else {
            return servers.clone();
        };
        let mut out = Map::new();
        for (name, server) in servers {
            let Some(fields) = server.as_object() else {
                out.insert(name.clone(), server.clone());
                continue;
            };
            let mut converted = Map::new();
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("url", Value::String(url)) if !fields.contains_key("$ref") => {
                        let (host, pathname) = split_url(url);
                        let url_pointer = pointer(&["servers", name, "url"]);
                        converted.insert("host".into(), Value::String(host.into()));
                        self.remap.add(
                            pointer(&["servers", name, "host"]),
                            url_pointer.clone(),
                            false,
                        );
                        if let Some(pathname) = pathname {
                            converted.insert("pathname".into(), Value::String(pathname));
                            self.remap.add(
                                pointer(&["servers", name, "pathname"]),
                                url_pointer,
                                false,
                            );
                        }
                        self.servers_split += 1;
                    }
                    _ => {
                        converted.insert(key.clone(), value.clone());
                    }
                }
            }
            out.insert(name.clone(), Value::Object(converted));
        }
        Value::Object(out)
    }

    fn channels(&mut self, channels: &Value, operations: &mut Map<String, Value>) -> Value {
        let Some(channels) = channels.as_object() else {
            return channels.clone();
        };
        let mut out = Map::new();
        for (address, item) in channels {
            let channel_pointer = pointer(&["channels", address]);
            let Some(fields) = item.as_object() else {
                out.insert(address.clone(), item.clone());
                continue;
            };
            if fields.contains_key("$ref") {
                self.problems.push((
                    format!("{channel_pointer}/$ref"),
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!("AsyncAPI 2.x channel `{address}` is a `$ref`; its operations are not converted"),
                    )
                    .help("write the channel inline, or convert the document to AsyncAPI 3 first"),
                ));
                out.insert(address.clone(), item.clone());
                continue;
            }
            self.channels += 1;
            let mut channel = Map::new();
            channel.insert("address".into(), Value::String(address.clone()));
            self.remap.add(
                format!("{channel_pointer}/address"),
                channel_pointer.clone(),
                true,
            );
            let mut messages = Map::new();
            let mut actions = Vec::new();
            for (key, value) in fields {
                match key.as_str() {
                    "publish" | "subscribe" => actions.push((key.as_str(), value)),
                    "servers" => {
                        channel.insert(key.clone(), server_refs(value));
                    }
                    _ => {
                        channel.insert(key.clone(), value.clone());
                    }
                }
            }
            for (verb, operation) in actions {
                self.operation(address, verb, operation, &mut messages, operations);
            }
            if !messages.is_empty() {
                channel.insert("messages".into(), Value::Object(messages));
            }
            out.insert(address.clone(), Value::Object(channel));
        }
        Value::Object(out)
    }

    fn operation(
        &mut self,
        address: &str,
        verb: &str,
        operation: &Value,
        messages: &mut Map<String, Value>,
        operations: &mut Map<String, Value>,
    ) {
        let original = pointer(&["channels", address, verb]);
        let Some(fields) = operation.as_object() else {
            self.problems.push((
                original,
                Diagnostic::warning(
                    Kind::Invalid,
                    format!("`{verb}` should be an operation object; it is ignored"),
                ),
            ));
            return;
        };
        self.operations += 1;
        let id = match fields.get("operationId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => format!("{verb}{}", camel_case(address)),
        };
        let key = unique_key(operations, &id);
        let converted = pointer(&["operations", &key]);
        let channel_pointer = pointer(&["channels", address]);

        let mut out = Map::new();
        let action = if verb == "publish" { "receive" } else { "send" };
        out.insert("action".into(), Value::String(action.into()));
        out.insert("channel".into(), local_ref(&channel_pointer));
        self.remap.add(converted.clone(), original.clone(), true);
        self.remap
            .add(format!("{converted}/action"), original.clone(), true);
        self.remap.add(
            format!("{converted}/channel"),
            channel_pointer.clone(),
            true,
        );
        self.remap.add_inverse(original.clone(), converted.clone());
        for (field, value) in fields {
            if !matches!(field.as_str(), "operationId" | "message") {
                out.insert(field.clone(), value.clone());
            }
        }

        let message_pointer = format!("{original}/message");
        let entries: Vec<(&Value, String)> = match fields.get("message") {
            None => Vec::new(),
            Some(Value::Object(message))
                if !message.contains_key("$ref") && message.contains_key("oneOf") =>
            {
                match message.get("oneOf") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (item, format!("{message_pointer}/oneOf/{i}")))
                        .collect(),
                    _ => {
                        self.problems.push((
                            format!("{message_pointer}/oneOf"),
                            Diagnostic::warning(
                                Kind::Invalid,
                                "`oneOf` should be a list of messages; it is ignored",
                            ),
                        ));
                        Vec::new()
                    }
                }
            }
            Some(message) => vec![(message, message_pointer.clone())],
        };
        if !entries.is_empty() {
            self.remap.add(
                format!("{channel_pointer}/messages"),
                message_pointer.clone(),
                true,
            );
        }
        self.remap
            .add(format!("{converted}/messages"), message_pointer, true);
        let mut list = Vec::new();
        for (i, (message, message_original)) in entries.into_iter().enumerate() {
            let name = message_name(message).unwrap_or_else(|| format!("{key}Message{i}"));
            let name = shared_key(messages, &name, message);
            let in_channel = pointer(&["channels", address, "messages", &name]);
            if !messages.contains_key(&name) {
                messages.insert(name.clone(), message.clone());
                self.remap
                    .add(in_channel.clone(), message_original.clone(), false);
            }
            self.remap.add(
                format!("{converted}/messages/{i}"),
                message_original.clone(),
                false,
            );
            self.remap.add_inverse(message_original, in_channel.clone());
            list.push(local_ref(&in_channel));
        }
        out.insert("messages".into(), Value::Array(list));
        operations.insert(key, Value::Object(out));
    }
}

/// 2.x `url` → (`host` with port, `pathname` unless empty or `/`).
fn split_url(url: &str) -> (&str, Option<String>) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.split_once('/') {
        Some((host, "")) => (host, None),
        Some((host, path)) => (host, Some(format!("/{path}"))),
        None => (rest, None),
    }
}

/// 2.x lists server names; 3.0 wants `$ref`s to servers.
fn server_refs(servers: &Value) -> Value {
    match servers {
        Value::Array(names) => Value::Array(
            names
                .iter()
                .map(|name| match name {
                    Value::String(name) => local_ref(&pointer(&["servers", name])),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A message's key: the component name of a `$ref` to `#/components/messages/X`, else its
/// `messageId`, else its `name`.
fn message_name(message: &Value) -> Option<String> {
    let fields = message.as_object()?;
    if let Some(Value::String(reference)) = fields.get("$ref")
        && let Some((_, fragment)) = reference.split_once('#')
        && let Some(name) =
            super::refs::percent_decode(fragment).strip_prefix("/components/messages/")
        && !name.is_empty()
    {
        // A name with an unescaped `/` (see the lenient `$ref` fallback) keeps it.
        return Some(
            name.split('/')
                .map(super::unescape)
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    ["messageId", "name"]
        .iter()
        .find_map(|field| match fields.get(*field) {
            Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
            _ => None,
        })
}

/// `wanted`, or `wanted2`, `wanted3`, ... whichever is free.
fn unique_key(map: &Map<String, Value>, wanted: &str) -> String {
    let mut key = wanted.to_string();
    let mut n = 2;
    while map.contains_key(&key) {
        key = format!("{wanted}{n}");
        n += 1;
    }
    key
}

/// Like [`unique_key`], but a key holding the same message is shared (a channel whose
/// `publish` and `subscribe` carry the same message gets it once).
fn shared_key(map: &Map<String, Value>, wanted: &str, message: &Value) -> String {
    let mut key = wanted.to_string();
    let mut n = 2;
    while let Some(existing) = map.get(&key) {
        if existing == message {
            break;
        }
        key = format!("{wanted}{n}");
        n += 1;
    }
    key
}

/// `/v1/marketdata/{symbol}` → `V1MarketdataSymbol`; `Root` if nothing is left.
fn camel_case(address: &str) -> String {
    let mut out = String::new();
    for word in address
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        "Root".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_pathname() {
        assert_eq!(
            split_url("wss://api.example.com:443/v1/ws"),
            ("api.example.com:443", Some("/v1/ws".into()))
        );
        assert_eq!(
            split_url("wss://api.example.com/"),
            ("api.example.com", None)
        );
        assert_eq!(split_url("ws://localhost:8080"), ("localhost:8080", None));
        assert_eq!(
            split_url("example.com/path"),
            ("example.com", Some("/path".into()))
        );
        assert_eq!(
            split_url("{host}/{path}"),
            ("{host}", Some("/{path}".into()))
        );
    }

    #[test]
    fn addresses_become_operation_names() {
        assert_eq!(camel_case("/v1/marketdata/{symbol}"), "V1MarketdataSymbol");
        assert_eq!(camel_case("/"), "Root");
        assert_eq!(camel_case("user.signed-up"), "UserSignedUp");
    }

    #[test]
    fn a_small_document_converts_to_the_3_shape() {
        let source = json!({
            "asyncapi": "2.6.0",
            "info": {"title": "t", "version": "1"},
            "tags": [{"name": "x"}],
            "servers": {"prod": {"url": "wss://h.example:8443/ws", "protocol": "wss"}},
            "channels": {
                "/": {
                    "servers": ["prod"],
                    "publish": {"message": {"$ref": "#/components/messages/In"}},
                    "subscribe": {
                        "operationId": "onMessage",
                        "summary": "s",
                        "message": {"oneOf": [{"$ref": "#/components/messages/A"}, {"name": "B", "payload": {}}, {"payload": {}}]}
                    }
                }
            },
            "components": {"messages": {"In": {}, "A": {}}}
        });
        let conversion = convert(&source);
        assert_eq!(
            conversion.value,
            json!({
                "asyncapi": "3.0.0",
                "info": {"title": "t", "version": "1", "tags": [{"name": "x"}]},
                "servers": {"prod": {"host": "h.example:8443", "pathname": "/ws", "protocol": "wss"}},
                "channels": {
                    "/": {
                        "address": "/",
                        "servers": [{"$ref": "#/servers/prod"}],
                        "messages": {
                            "In": {"$ref": "#/components/messages/In"},
                            "A": {"$ref": "#/components/messages/A"},
                            "B": {"name": "B", "payload": {}},
                            "onMessageMessage2": {"payload": {}}
                        }
                    }
                },
                "operations": {
                    "publishRoot": {
                        "action": "receive",
                        "channel": {"$ref": "#/channels/~1"},
                        "messages": [{"$ref": "#/channels/~1/messages/In"}]
                    },
                    "onMessage": {
                        "action": "send",
                        "channel": {"$ref": "#/channels/~1"},
                        "summary": "s",
                        "messages": [
                            {"$ref": "#/channels/~1/messages/A"},
                            {"$ref": "#/channels/~1/messages/B"},
                            {"$ref": "#/channels/~1/messages/onMessageMessage2"}
                        ]
                    }
                },
                "components": {"messages": {"In": {}, "A": {}}}
            })
        );
        assert_eq!(
            (
                conversion.channels,
                conversion.operations,
                conversion.servers_split
            ),
            (1, 2, 1)
        );
        let remap = &conversion.remap;
        let original = |p: &str| remap.original(p).0.into_owned();
        assert_eq!(original("/operations/onMessage"), "/channels/~1/subscribe");
        assert_eq!(
            original("/operations/onMessage/summary"),
            "/channels/~1/subscribe/summary"
        );
        assert_eq!(
            original("/channels/~1/messages/A"),
            "/channels/~1/subscribe/message/oneOf/0"
        );
        assert_eq!(
            original("/channels/~1/messages/B/payload"),
            "/channels/~1/subscribe/message/oneOf/1/payload"
        );
        assert_eq!(original("/servers/prod/host"), "/servers/prod/url");
        assert_eq!(original("/info/tags/0"), "/tags/0");
        assert_eq!(
            original("/components/messages/In"),
            "/components/messages/In"
        );
        assert_eq!(
            remap
                .converted("/channels/~1/subscribe/message/oneOf/1/payload")
                .as_deref(),
            Some("/channels/~1/messages/B/payload")
        );
    }

    #[test]
    fn the_same_message_on_both_sides_is_shared_and_ids_are_unique() {
        let source = json!({
            "asyncapi": "2.0.0",
            "channels": {
                "a": {"publish": {"operationId": "op", "message": {"$ref": "#/components/messages/M"}},
                      "subscribe": {"operationId": "op", "message": {"$ref": "#/components/messages/M"}}},
                "b": {"subscribe": {"message": {"messageId": "M", "payload": {}}}}
            }
        });
        let value = convert(&source).value;
        let ops: Vec<&String> = value["operations"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(ops, ["op", "op2", "subscribeB"]);
        assert_eq!(
            value["channels"]["a"]["messages"].as_object().map(Map::len),
            Some(1)
        );
        assert_eq!(
            value["operations"]["op2"]["messages"][0]["$ref"],
            "#/channels/a/messages/M"
        );
    }
}
