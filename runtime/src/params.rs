//! Path, query, header and cookie parameters of generated endpoints, with one [`ParamValue`]
//! trait for every type a parameter can have: written into a URL and headers by clients
//! ([`ToRequest`], [`UrlBuilder`]), and parsed back by servers (through
//! [`crate::request::RequestParts`]).
//!
//! Lists follow OpenAPI's defaults: repeated keys in a query string (`?tag=a&tag=b`; a single
//! comma-separated value is accepted too), comma-separated in paths and headers.

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
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
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

    fn pair(&mut self, name: &str, value: &str) {
        self.out
            .push(if self.query_started || self.out.contains('?') {
                '&'
            } else {
                '?'
            });
        self.query_started = true;
        percent_encode(name, &mut self.out);
        self.out.push('=');
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
    let mut pair = String::new();
    percent_encode(name, &mut pair);
    pair.push('=');
    percent_encode(&to_text(value), &mut pair);
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

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("%41%zz%4", false), "A%zz%4");
        assert_eq!(percent_decode("%ff+", true), "\u{fffd} ");
    }
}
