//! Path, query, header and cookie parameters of generated endpoints, with one [`ParamValue`]
//! trait for every type a parameter can have: written into a URL and headers by clients
//! ([`ToRequest`], [`UrlBuilder`]), and parsed back by servers (through
//! [`crate::request::RequestParts`]).
//!
//! Lists follow OpenAPI's defaults: repeated keys in a query string (`?tag=a&tag=b`; a single
//! comma-separated value is accepted too), comma-separated in paths and headers.
//!
//! The other OpenAPI serialization styles ([`Style`], with `explode`) are written by
//! `UrlBuilder::{path,query}_{styled,object}`, [`set_header_object`], [`add_cookie_list`] and
//! [`add_cookie_object`], and read by the matching methods of
//! [`RequestParts`](crate::request::RequestParts). Struct parameters implement [`ParamObject`].
//! What is written follows RFC 6570 and the spec's "Style Examples" table: the delimiters a style
//! defines are written as the table writes them (`,` `.` `;` `=` literally, `%20` between the
//! items of `spaceDelimited`, `%7C` between those of `pipeDelimited`, `name%5Bkey%5D` for
//! `deepObject`), and every name and value is percent-encoded, a delimiter inside a value
//! included, so that values survive the round trip whatever they hold. Two characters have no
//! second percent-encoded form, so inside a value they are written another way: a space in a
//! `spaceDelimited` item is `+` (form encoding), a `|` in a `pipeDelimited` item is a bare `|`;
//! and `.` (unreserved, so RFC 6570 leaves it alone) is `%2E` inside `label` values.

use std::fmt;

/// A value that can travel as a parameter: written as text, parsed back from text.
pub trait ParamValue: Sized {
    /// Append the value's text form (not yet percent-encoded).
    fn write_param(&self, out: &mut String);
    /// Parse the value from its text form (already percent-decoded).
    fn parse_param(text: &str) -> Result<Self, ParamError>;
}

/// A parameter that is missing or does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name, once known.
    pub name: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ParamError {
    pub(crate) fn invalid(text: &str, expected: &str) -> Self {
        ParamError {
            name: None,
            message: format!("`{text}` is not {expected}"),
        }
    }

    pub(crate) fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub(crate) fn missing(name: &str) -> Self {
        ParamError {
            name: Some(name.to_owned()),
            message: "is required".to_owned(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "parameter `{name}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParamError {}

impl ParamValue for String {
    fn write_param(&self, out: &mut String) {
        out.push_str(self);
    }
    fn parse_param(text: &str) -> Result<Self, ParamError> {
        Ok(text.to_owned())
    }
}

impl ParamValue for bool {
    fn write_param(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
    fn parse_param(text: &str) -> Result<Self, ParamError> {
        match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ParamError::invalid(text, "`true` or `false`")),
        }
    }
}

macro_rules! display_fromstr {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl ParamValue for $ty {
            fn write_param(&self, out: &mut String) {
                use fmt::Write as _;
                let _ = write!(out, "{self}");
            }
            fn parse_param(text: &str) -> Result<Self, ParamError> {
                text.parse().map_err(|_| ParamError::invalid(text, $what))
            }
        }
    )*};
}

display_fromstr!(
    i8 => "an integer", i16 => "an integer", i32 => "an integer", i64 => "an integer",
    u8 => "a non-negative integer", u16 => "a non-negative integer",
    u32 => "a non-negative integer", u64 => "a non-negative integer",
    f32 => "a number", f64 => "a number",
);

#[cfg(feature = "chrono")]
impl ParamValue for chrono::DateTime<chrono::FixedOffset> {
    fn write_param(&self, out: &mut String) {
        out.push_str(&self.to_rfc3339());
    }
    fn parse_param(text: &str) -> Result<Self, ParamError> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| ParamError::invalid(text, "an RFC 3339 date-time"))
    }
}

#[cfg(feature = "chrono")]
impl ParamValue for chrono::NaiveDate {
    fn write_param(&self, out: &mut String) {
        use fmt::Write as _;
        let _ = write!(out, "{}", self.format("%Y-%m-%d"));
    }
    fn parse_param(text: &str) -> Result<Self, ParamError> {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ParamError::invalid(text, "a date (YYYY-MM-DD)"))
    }
}

#[cfg(feature = "uuid")]
impl ParamValue for uuid::Uuid {
    fn write_param(&self, out: &mut String) {
        use fmt::Write as _;
        let _ = write!(out, "{self}");
    }
    fn parse_param(text: &str) -> Result<Self, ParamError> {
        text.parse()
            .map_err(|_| ParamError::invalid(text, "a UUID"))
    }
}

/// Comma-separated.
impl<T: ParamValue> ParamValue for Vec<T> {
    fn write_param(&self, out: &mut String) {
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_param(out);
        }
    }
    fn parse_param(text: &str) -> Result<Self, ParamError> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        text.split(',').map(T::parse_param).collect()
    }
}

/// Parse a unit-variant enum (or any type serde reads from a bare string) from its wire text:
/// what generated string enums use.
pub fn parse_with_serde<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ParamError> {
    use serde::de::IntoDeserializer as _;
    let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        text.into_deserializer();
    T::deserialize(deserializer).map_err(|_| ParamError::invalid(text, "one of the allowed values"))
}

/// Percent-encode for a path segment or a query component: everything but RFC 3986 unreserved
/// characters.
pub fn percent_encode(text: &str, out: &mut String) {
    escape(text, Escape::Plain, out);
}

/// How one name or value is escaped, beyond RFC 3986's unreserved characters (which stay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// Everything else percent-encoded.
    Plain,
    /// `label` style: `.` too, since it separates the items.
    Label,
    /// `spaceDelimited` items: `%20` separates them, so a space inside one is `+`.
    Space,
    /// `pipeDelimited` items: `%7C` separates them, so a `|` inside one stays bare.
    Pipe,
}

fn escape(text: &str, how: Escape, out: &mut String) {
    for byte in text.bytes() {
        match (byte, how) {
            (b'.', Escape::Label) => out.push_str("%2E"),
            (b' ', Escape::Space) => out.push('+'),
            (b'|', Escape::Pipe) => out.push('|'),
            (b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~', _) => {
                out.push(byte as char)
            }
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 15)] as char);
            }
        }
    }
}

/// Escaped items joined by a delimiter that is written as is.
fn join_escaped<'a>(
    items: impl IntoIterator<Item = &'a str>,
    how: Escape,
    delimiter: &str,
    out: &mut String,
) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(delimiter);
        }
        escape(item, how, out);
    }
}

/// The text form of each value.
fn texts<T: ParamValue>(values: &[T]) -> Vec<String> {
    values.iter().map(to_text).collect()
}

/// An object's fields as they are written: `key,value,key,value` when not exploded, each
/// `key=value` (joined by `delimiter`) when exploded.
fn write_object_fields(
    fields: &[(&'static str, String)],
    how: Escape,
    delimiter: &str,
    explode: bool,
    out: &mut String,
) {
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(delimiter);
        }
        escape(key, how, out);
        out.push_str(if explode { "=" } else { delimiter });
        escape(value, how, out);
    }
}

/// How a parameter's value is serialized (OpenAPI `style`).
///
/// Which styles a place allows: `simple`, `label` and `matrix` in paths (`simple` is the
/// default), `form` (the default), `spaceDelimited`, `pipeDelimited` and `deepObject` in
/// queries, `simple` in headers and `form` in cookies. A style used where it does not belong is
/// written and read as the place's default, and a combination the spec leaves undefined
/// (`spaceDelimited` or `pipeDelimited` exploded, `deepObject` for a list) as the exploded
/// `form` style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `form`: `name=a,b` in a query or cookie, or `name=a&name=b` exploded.
    Form,
    /// `simple`: `a,b` in a path or header (objects `k,v,k,v`, or `k=v,k=v` exploded).
    Simple,
    /// `label`: `.a,b` in a path, or `.a.b` exploded.
    Label,
    /// `matrix`: `;name=a,b` in a path, or `;name=a;name=b` exploded.
    Matrix,
    /// `spaceDelimited`: `name=a%20b` in a query.
    SpaceDelimited,
    /// `pipeDelimited`: `name=a%7Cb` in a query.
    PipeDelimited,
    /// `deepObject`: `name[k]=v` in a query, for objects.
    DeepObject,
}

impl Style {
    /// Whether a query parameter in this style carries all its items in one `name=` pair
    /// (rather than one pair per item or field).
    pub(crate) fn joins_query_items(self, explode: bool) -> bool {
        !explode && self != Style::DeepObject
    }
}

/// A struct parameter (an object schema whose fields are scalars or string enums): its fields
/// as name/value text pairs, and back. Implemented by generated code.
pub trait ParamObject: Sized {
    /// Append each present field as (wire name, text) in declaration order; absent optional
    /// fields are skipped.
    fn write_fields(&self, out: &mut Vec<(&'static str, String)>);
    /// Build the struct from (name, text) pairs (already split and percent-decoded); a missing
    /// required field or a value that does not parse is a [`ParamError`] naming the field.
    fn read_fields(fields: &[(String, String)]) -> Result<Self, ParamError>;
}

/// The fields an object writes.
pub(crate) fn object_fields<O: ParamObject>(value: &O) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    value.write_fields(&mut fields);
    fields
}

/// A required field of a [`ParamObject`], for generated `read_fields`: the first pair named
/// `name`, parsed.
pub fn field_required<T: ParamValue>(
    fields: &[(String, String)],
    name: &str,
) -> Result<T, ParamError> {
    field_optional(fields, name)?.ok_or_else(|| ParamError::missing(name))
}

/// An optional field of a [`ParamObject`], for generated `read_fields`: `None` when no pair is
/// named `name`.
pub fn field_optional<T: ParamValue>(
    fields: &[(String, String)],
    name: &str,
) -> Result<Option<T>, ParamError> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, text)| T::parse_param(text).map_err(|error| error.named(name)))
        .transpose()
}

/// Percent-decode a query component (`+` is a space); invalid escapes stay as written and
/// invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds a request URL from a base, literal path text, path parameters and query parameters.
#[derive(Clone, Debug)]
pub struct UrlBuilder {
    out: String,
    query_started: bool,
    scratch: String,
}

impl UrlBuilder {
    /// Start from a base URL (`http://127.0.0.1:3000`, a trailing `/` is dropped).
    pub fn new(base: &str) -> Self {
        UrlBuilder {
            out: base.trim_end_matches('/').to_owned(),
            query_started: false,
            scratch: String::new(),
        }
    }

    /// Literal path text, as written in the spec.
    pub fn literal(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// A path parameter, percent-encoded (lists comma-separated).
    pub fn path<T: ParamValue>(&mut self, value: &T) {
        self.scratch.clear();
        value.write_param(&mut self.scratch);
        percent_encode(&self.scratch, &mut self.out);
    }

    /// A query parameter.
    pub fn query<T: ParamValue>(&mut self, name: &str, value: &T) {
        self.scratch.clear();
        value.write_param(&mut self.scratch);
        let text = std::mem::take(&mut self.scratch);
        self.pair(name, &text);
        self.scratch = text;
    }

    /// An optional query parameter: nothing when `None`.
    pub fn query_optional<T: ParamValue>(&mut self, name: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.query(name, value);
        }
    }

    /// A list query parameter, one `name=value` pair per item.
    pub fn query_list<T: ParamValue>(&mut self, name: &str, values: &[T]) {
        for value in values {
            self.query(name, value);
        }
    }

    /// A path parameter in a style (`simple`, `label` or `matrix`; the others are written as
    /// `simple`); a scalar is a one-element slice. An empty list writes nothing, as RFC 6570
    /// writes an undefined value. A segment that comes out as `.` or `..`, `%2E` counting as
    /// a dot (`label`'s empty string or `.`, `simple`'s `.` or `..`), is a dot segment to URL
    /// parsers (reqwest's included), which remove it, and the segment before it for `..`,
    /// before the request is sent: such values cannot travel in a path.
    pub fn path_styled<T: ParamValue>(
        &mut self,
        name: &str,
        values: &[T],
        style: Style,
        explode: bool,
    ) {
        let texts = texts(values);
        let items = texts.iter().map(String::as_str);
        let out = &mut self.out;
        match style {
            Style::Label if explode => {
                for item in items {
                    out.push('.');
                    escape(item, Escape::Label, out);
                }
            }
            Style::Label if !texts.is_empty() => {
                out.push('.');
                join_escaped(items, Escape::Label, ",", out);
            }
            Style::Matrix if explode => {
                for item in items {
                    out.push(';');
                    escape(name, Escape::Plain, out);
                    if !item.is_empty() {
                        out.push('=');
                        escape(item, Escape::Plain, out);
                    }
                }
            }
            Style::Matrix if !texts.is_empty() => {
                out.push(';');
                escape(name, Escape::Plain, out);
                if texts != [""] {
                    out.push('=');
                    join_escaped(items, Escape::Plain, ",", out);
                }
            }
            Style::Label | Style::Matrix => {}
            _ => join_escaped(items, Escape::Plain, ",", out),
        }
    }

    /// A struct path parameter in a style (`simple`, `label` or `matrix`; the others are
    /// written as `simple`). An object with no field present writes nothing.
    pub fn path_object<O: ParamObject>(
        &mut self,
        name: &str,
        value: &O,
        style: Style,
        explode: bool,
    ) {
        let fields = object_fields(value);
        if fields.is_empty() {
            return;
        }
        let out = &mut self.out;
        match style {
            Style::Label => {
                out.push('.');
                let delimiter = if explode { "." } else { "," };
                write_object_fields(&fields, Escape::Label, delimiter, explode, out);
            }
            Style::Matrix if explode => {
                for (key, value) in &fields {
                    out.push(';');
                    escape(key, Escape::Plain, out);
                    if !value.is_empty() {
                        out.push('=');
                        escape(value, Escape::Plain, out);
                    }
                }
            }
            Style::Matrix => {
                out.push(';');
                escape(name, Escape::Plain, out);
                out.push('=');
                write_object_fields(&fields, Escape::Plain, ",", false, out);
            }
            _ => write_object_fields(&fields, Escape::Plain, ",", explode, out),
        }
    }

    /// A list query parameter in a style: `form` (one `name=value` pair per item when
    /// exploded, `name=a,b` when not), `spaceDelimited` (`name=a%20b`) or `pipeDelimited`
    /// (`name=a%7Cb`). Nothing for an empty slice.
    pub fn query_styled<T: ParamValue>(
        &mut self,
        name: &str,
        values: &[T],
        style: Style,
        explode: bool,
    ) {
        if values.is_empty() {
            return;
        }
        let texts = texts(values);
        let items = texts.iter().map(String::as_str);
        if !style.joins_query_items(explode) {
            for item in items {
                self.pair(name, item);
            }
            return;
        }
        self.start_pair(name);
        let out = &mut self.out;
        match style {
            Style::SpaceDelimited => join_escaped(items, Escape::Space, "%20", out),
            Style::PipeDelimited => join_escaped(items, Escape::Pipe, "%7C", out),
            _ => join_escaped(items, Escape::Plain, ",", out),
        }
    }

    /// A struct query parameter in a style: `form` exploded (each field its own
    /// `key=value` pair), `form` not exploded (`name=k,v,k,v`), `spaceDelimited`
    /// (`name=k%20v`), `pipeDelimited` (`name=k%7Cv`) or `deepObject` (`name%5Bk%5D=v`). An
    /// object with no field present is `name=` in the styles that have a pair of their own,
    /// nothing when exploded.
    pub fn query_object<O: ParamObject>(
        &mut self,
        name: &str,
        value: &O,
        style: Style,
        explode: bool,
    ) {
        let fields = object_fields(value);
        if style == Style::DeepObject {
            if fields.is_empty() {
                self.pair(name, "");
            }
            for (key, value) in &fields {
                self.separator();
                escape(name, Escape::Plain, &mut self.out);
                self.out.push_str("%5B");
                escape(key, Escape::Plain, &mut self.out);
                self.out.push_str("%5D=");
                escape(value, Escape::Plain, &mut self.out);
            }
            return;
        }
        if !style.joins_query_items(explode) {
            for (key, value) in &fields {
                self.pair(key, value);
            }
            return;
        }
        self.start_pair(name);
        let out = &mut self.out;
        match style {
            Style::SpaceDelimited => write_object_fields(&fields, Escape::Space, "%20", false, out),
            Style::PipeDelimited => write_object_fields(&fields, Escape::Pipe, "%7C", false, out),
            _ => write_object_fields(&fields, Escape::Plain, ",", false, out),
        }
    }

    /// `?` before the first query pair, `&` before the others.
    fn separator(&mut self) {
        self.out
            .push(if self.query_started || self.out.contains('?') {
                '&'
            } else {
                '?'
            });
        self.query_started = true;
    }

    /// A pair's `name=`, the value to follow.
    fn start_pair(&mut self, name: &str) {
        self.separator();
        percent_encode(name, &mut self.out);
        self.out.push('=');
    }

    fn pair(&mut self, name: &str, value: &str) {
        self.start_pair(name);
        percent_encode(value, &mut self.out);
    }

    /// The URL.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A method that `http` has no constant for (OpenAPI 3.2's `QUERY`).
pub fn extension_method(name: &str) -> http::Method {
    http::Method::from_bytes(name.as_bytes()).unwrap_or_default()
}

/// The text of a value for a header or cookie.
pub fn to_text<T: ParamValue>(value: &T) -> String {
    let mut out = String::new();
    value.write_param(&mut out);
    out
}

/// Set a header on a client request; a value that is not a valid header value is an error.
pub fn set_header<T: ParamValue>(
    headers: &mut http::HeaderMap,
    name: &'static str,
    value: &T,
) -> Result<(), ParamError> {
    let text = to_text(value);
    let value = http::HeaderValue::from_str(&text)
        .map_err(|_| ParamError::invalid(&text, "a valid header value").named(name))?;
    let name = http::HeaderName::from_static_or_lower(name)?;
    headers.insert(name, value);
    Ok(())
}

/// Set a header when the value is there.
pub fn set_header_optional<T: ParamValue>(
    headers: &mut http::HeaderMap,
    name: &'static str,
    value: &Option<T>,
) -> Result<(), ParamError> {
    match value {
        Some(value) => set_header(headers, name, value),
        None => Ok(()),
    }
}

/// Set a comma-separated list header, unless the list is empty.
pub fn set_header_list<T: ParamValue>(
    headers: &mut http::HeaderMap,
    name: &'static str,
    values: &[T],
) -> Result<(), ParamError> {
    if values.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        value.write_param(&mut text);
    }
    set_header(headers, name, &text)
}

/// Add a cookie when the value is there.
pub fn add_cookie_optional<T: ParamValue>(
    headers: &mut http::HeaderMap,
    name: &str,
    value: &Option<T>,
) -> Result<(), ParamError> {
    match value {
        Some(value) => add_cookie(headers, name, value),
        None => Ok(()),
    }
}

/// A request struct (or a WebSocket channel's connection parameters) as a client sends it:
/// implemented by generated code, which writes the path and every parameter.
pub trait ToRequest {
    /// Write the path (after the base URL) and the query parameters.
    fn write_url(&self, url: &mut UrlBuilder);

    /// Write the header and cookie parameters.
    fn write_headers(&self, headers: &mut http::HeaderMap) -> Result<(), ParamError>;

    /// The JSON request body, if the request has one.
    fn json_body(&self) -> Result<Option<Vec<u8>>, serde_json::Error> {
        Ok(None)
    }

    /// Where a stream resumes: the `Last-Event-ID` to send first.
    fn last_event_id(&self) -> Option<&str> {
        None
    }
}

/// Add a cookie to a client request's `Cookie` header.
pub fn add_cookie<T: ParamValue>(
    headers: &mut http::HeaderMap,
    name: &str,
    value: &T,
) -> Result<(), ParamError> {
    let mut text = String::new();
    percent_encode(&to_text(value), &mut text);
    append_cookie(headers, name, &text)
}

/// Set a struct header (style `simple`, the only one headers have): `k,v,k,v`, or `k=v,k=v`
/// exploded, each key and value percent-encoded (RFC 6570) so that `,` and `=` inside them
/// survive. An object with no field present is an empty header.
pub fn set_header_object<O: ParamObject>(
    headers: &mut http::HeaderMap,
    name: &'static str,
    value: &O,
    explode: bool,
) -> Result<(), ParamError> {
    let mut text = String::new();
    write_object_fields(
        &object_fields(value),
        Escape::Plain,
        ",",
        explode,
        &mut text,
    );
    set_header(headers, name, &text)
}

/// Add a list cookie (style `form`, not exploded): `name=a,b`, each item percent-encoded.
/// Nothing for an empty slice.
pub fn add_cookie_list<T: ParamValue>(
    headers: &mut http::HeaderMap,
    name: &str,
    values: &[T],
) -> Result<(), ParamError> {
    if values.is_empty() {
        return Ok(());
    }
    let texts = texts(values);
    let mut text = String::new();
    join_escaped(
        texts.iter().map(String::as_str),
        Escape::Plain,
        ",",
        &mut text,
    );
    append_cookie(headers, name, &text)
}

/// Add a struct cookie (style `form`, not exploded): `name=k,v,k,v`, each key and value
/// percent-encoded.
pub fn add_cookie_object<O: ParamObject>(
    headers: &mut http::HeaderMap,
    name: &str,
    value: &O,
) -> Result<(), ParamError> {
    let mut text = String::new();
    write_object_fields(&object_fields(value), Escape::Plain, ",", false, &mut text);
    append_cookie(headers, name, &text)
}

/// Append `name=value` (the value already encoded) to the `Cookie` header.
fn append_cookie(
    headers: &mut http::HeaderMap,
    name: &str,
    encoded_value: &str,
) -> Result<(), ParamError> {
    let mut pair = String::new();
    percent_encode(name, &mut pair);
    pair.push('=');
    pair.push_str(encoded_value);
    let joined = match headers
        .get(http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
    {
        Some(existing) => format!("{existing}; {pair}"),
        None => pair,
    };
    let value = http::HeaderValue::from_str(&joined)
        .map_err(|_| ParamError::invalid(&joined, "a valid cookie header").named(name))?;
    headers.insert(http::header::COOKIE, value);
    Ok(())
}

/// Header names from specs may be mixed case; `http` wants lower case.
trait HeaderNameExt: Sized {
    fn from_static_or_lower(name: &str) -> Result<Self, ParamError>;
}

impl HeaderNameExt for http::HeaderName {
    fn from_static_or_lower(name: &str) -> Result<Self, ParamError> {
        http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|_| ParamError::invalid(name, "a valid header name"))
    }
}

/// Query pairs of a request URI, percent-decoded, in order.
pub fn query_pairs(uri: &http::Uri) -> Vec<(String, String)> {
    let Some(query) = uri.query() else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect()
}

fn parse_named<T: ParamValue>(name: &str, text: &str) -> Result<T, ParamError> {
    T::parse_param(text).map_err(|e| e.named(name))
}

/// A query parameter that may be absent.
pub fn query_optional<T: ParamValue>(uri: &http::Uri, name: &str) -> Result<Option<T>, ParamError> {
    query_pairs(uri)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| parse_named(name, &v))
        .transpose()
}

/// A query parameter that must be present.
pub fn query_required<T: ParamValue>(uri: &http::Uri, name: &str) -> Result<T, ParamError> {
    query_optional(uri, name)?.ok_or_else(|| ParamError::missing(name))
}

/// A list query parameter: every occurrence, each possibly comma-separated.
pub fn query_list<T: ParamValue>(
    uri: &http::Uri,
    name: &str,
    required: bool,
) -> Result<Vec<T>, ParamError> {
    let mut out = Vec::new();
    let mut seen = false;
    for (_, value) in query_pairs(uri).into_iter().filter(|(k, _)| k == name) {
        seen = true;
        out.extend(parse_named::<Vec<T>>(name, &value)?);
    }
    if required && !seen {
        return Err(ParamError::missing(name));
    }
    Ok(out)
}

fn header_text<'h>(
    headers: &'h http::HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, ParamError> {
    match headers.get(name) {
        None => Ok(None),
        // Not `to_str`, which takes ASCII only: the client writes text parameters as UTF-8
        // (obs-text in RFC 9110's terms), and the server reads what the client writes.
        Some(value) => std::str::from_utf8(value.as_bytes())
            .map(Some)
            .map_err(|_| ParamError::invalid("(binary)", "UTF-8 text").named(name)),
    }
}

/// A header parameter that may be absent.
pub fn header_optional<T: ParamValue>(
    headers: &http::HeaderMap,
    name: &str,
) -> Result<Option<T>, ParamError> {
    header_text(headers, name)?
        .map(|text| parse_named(name, text.trim()))
        .transpose()
}

/// A header parameter that must be present.
pub fn header_required<T: ParamValue>(
    headers: &http::HeaderMap,
    name: &str,
) -> Result<T, ParamError> {
    header_optional(headers, name)?.ok_or_else(|| ParamError::missing(name))
}

/// A comma-separated list header.
pub fn header_list<T: ParamValue>(
    headers: &http::HeaderMap,
    name: &str,
    required: bool,
) -> Result<Vec<T>, ParamError> {
    match header_optional::<Vec<T>>(headers, name)? {
        Some(list) => Ok(list),
        None if required => Err(ParamError::missing(name)),
        None => Ok(Vec::new()),
    }
}

/// The value of the cookie `name` in a request's `Cookie` headers, percent-decoded.
pub fn cookie_text(headers: &http::HeaderMap, name: &str) -> Option<String> {
    for value in headers.get_all(http::header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && percent_decode(k, false) == name
            {
                return Some(percent_decode(v, false));
            }
        }
    }
    None
}

/// A cookie that may be absent.
pub fn cookie_optional<T: ParamValue>(
    headers: &http::HeaderMap,
    name: &str,
) -> Result<Option<T>, ParamError> {
    cookie_text(headers, name)
        .map(|text| parse_named(name, &text))
        .transpose()
}

/// A cookie that must be present.
pub fn cookie_required<T: ParamValue>(
    headers: &http::HeaderMap,
    name: &str,
) -> Result<T, ParamError> {
    cookie_optional(headers, name)?.ok_or_else(|| ParamError::missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_builder_encodes_segments_and_queries() {
        let mut url = UrlBuilder::new("http://127.0.0.1:3000/");
        url.literal("/pets/");
        url.path(&"a b/c".to_owned());
        url.query("user Id", &"x&y=z".to_owned());
        url.query_list("tag", &[1i64, 2]);
        assert_eq!(
            url.finish(),
            "http://127.0.0.1:3000/pets/a%20b%2Fc?user%20Id=x%26y%3Dz&tag=1&tag=2"
        );
    }

    #[test]
    fn query_and_headers_round_trip() {
        let uri: http::Uri = "/x?userId=a%20b&tag=1&tag=2,3&flag=true&n=-5"
            .parse()
            .unwrap();
        assert_eq!(
            query_optional::<String>(&uri, "userId").unwrap().as_deref(),
            Some("a b")
        );
        assert_eq!(query_list::<i64>(&uri, "tag", true).unwrap(), vec![1, 2, 3]);
        assert!(query_required::<bool>(&uri, "flag").unwrap());
        assert_eq!(query_required::<i32>(&uri, "n").unwrap(), -5);
        let err = query_required::<i32>(&uri, "userId").unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter `userId`: `a b` is not an integer"
        );
        assert_eq!(
            query_required::<i32>(&uri, "nope").unwrap_err().to_string(),
            "parameter `nope`: is required"
        );
        let mut headers = http::HeaderMap::new();
        set_header(&mut headers, "X-Trace", &42u32).unwrap();
        add_cookie(&mut headers, "session", &"s 1".to_owned()).unwrap();
        add_cookie(&mut headers, "other", &"2".to_owned()).unwrap();
        assert_eq!(header_required::<u32>(&headers, "x-trace").unwrap(), 42);
        assert_eq!(
            cookie_required::<String>(&headers, "session").unwrap(),
            "s 1"
        );
        assert_eq!(
            cookie_optional::<String>(&headers, "other")
                .unwrap()
                .as_deref(),
            Some("2")
        );
        assert!(set_header(&mut headers, "x-bad", &"a\nb".to_owned()).is_err());
    }

    struct Pair {
        key: String,
        n: Option<u8>,
    }

    impl ParamObject for Pair {
        fn write_fields(&self, out: &mut Vec<(&'static str, String)>) {
            out.push(("k.[ey]", self.key.clone()));
            if let Some(n) = &self.n {
                out.push(("n", to_text(n)));
            }
        }
        fn read_fields(fields: &[(String, String)]) -> Result<Self, ParamError> {
            Ok(Pair {
                key: field_required(fields, "k.[ey]")?,
                n: field_optional(fields, "n")?,
            })
        }
    }

    #[test]
    fn styles_write_delimiters_as_is_and_escape_them_inside_values() {
        let hostile = ["a.b,c;d=e", "f g|h+i", ""].map(str::to_owned);
        let pair = Pair {
            key: "x y,z".to_owned(),
            n: None,
        };
        let mut url = UrlBuilder::new("http://h");
        url.literal("/");
        url.path_styled("p", &hostile, Style::Label, true);
        url.literal("/");
        url.path_styled("p", &hostile, Style::Matrix, false);
        url.literal("/");
        url.path_object("p", &pair, Style::Label, true);
        url.query_styled("s", &hostile, Style::SpaceDelimited, false);
        url.query_styled("p", &hostile, Style::PipeDelimited, false);
        url.query_styled("none", &[] as &[String], Style::Form, false);
        url.query_object("d[x]", &pair, Style::DeepObject, true);
        url.query_object("f", &pair, Style::Form, true);
        let written = url.finish();
        assert_eq!(
            written,
            "http://h/.a%2Eb%2Cc%3Bd%3De.f%20g%7Ch%2Bi.\
             /;p=a.b%2Cc%3Bd%3De,f%20g%7Ch%2Bi,\
             /.k%2E%5Bey%5D=x%20y%2Cz\
             ?s=a.b%2Cc%3Bd%3De%20f+g%7Ch%2Bi%20\
             &p=a.b%2Cc%3Bd%3De%7Cf%20g|h%2Bi%7C\
             &d%5Bx%5D%5Bk.%5Bey%5D%5D=x%20y%2Cz\
             &k.%5Bey%5D=x%20y%2Cz"
        );
        #[cfg(feature = "sse-client")]
        {
            // What goes on the wire is what was written: reqwest's URL parser keeps it as is.
            let url = written.as_str();
            assert_eq!(reqwest::Url::parse(url).expect("a URL").as_str(), url);
        }
        let mut headers = http::HeaderMap::new();
        set_header_object(&mut headers, "X-Pair", &pair, false).unwrap();
        add_cookie_list(&mut headers, "l", &hostile).unwrap();
        add_cookie_object(&mut headers, "o", &pair).unwrap();
        assert_eq!(headers["x-pair"], "k.%5Bey%5D,x%20y%2Cz");
        assert_eq!(
            headers[http::header::COOKIE],
            "l=a.b%2Cc%3Bd%3De,f%20g%7Ch%2Bi,; o=k.%5Bey%5D,x%20y%2Cz"
        );
    }

    #[test]
    fn fields_are_read_by_name_and_name_their_problems() {
        let fields = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let pair = Pair::read_fields(&fields(&[("n", "7"), ("k.[ey]", "v"), ("n", "8")])).unwrap();
        assert_eq!((pair.key.as_str(), pair.n), ("v", Some(7)));
        let missing = Pair::read_fields(&fields(&[("n", "7")])).err().unwrap();
        assert_eq!(missing.to_string(), "parameter `k.[ey]`: is required");
        let wrong = Pair::read_fields(&fields(&[("k.[ey]", ""), ("n", "-1")]))
            .err()
            .unwrap();
        assert_eq!(
            wrong.to_string(),
            "parameter `n`: `-1` is not a non-negative integer"
        );
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("%41%zz%4", false), "A%zz%4");
        assert_eq!(percent_decode("%ff+", true), "\u{fffd} ");
    }
}
