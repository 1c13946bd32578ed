//! The request side of generated servers: the parts of a request a request struct (or a
//! WebSocket channel's connection parameters) is read from, under [`RequestLimits`], with every
//! problem a 4xx [`HttpError`] naming what was wrong.
//!
//! Generated code implements [`FromRequest`] for each request struct, one line per field, with
//! the reader matching the parameter's place and shape: `query_required`, `query_optional`,
//! `query_list`, and so on for paths, headers and cookies. The generic handlers of the runtime
//! read the [`RequestParts`] and call it.
//!
//! Parameters in the other OpenAPI styles are read by `path_styled`, `path_object`,
//! `query_styled`, `query_object`, `header_object`, `cookie_list` and `cookie_object`. They read
//! a parameter as RFC 6570 writes it (and as [`UrlBuilder`](crate::params::UrlBuilder) does):
//! split at the style's delimiters first, then each piece percent-decoded, so that a delimiter
//! percent-encoded inside a value stays part of it. Clients that percent-encode the delimiters
//! too (Python's `requests` sends `ids=1%2C2`) or write `pipeDelimited` with bare `|`s are
//! understood as well: when the text does not read that way (a piece does not parse, or the
//! style's markers are missing) it is read once more with the whole text decoded before it is
//! split, and the first problem is the answer when neither reading works. A path parameter's
//! text as written is the first segment of the request's path (after the previous parameter's)
//! that decodes to the value axum matched; one no single segment holds (a wildcard, or one in
//! the prefix a nested router strips) is read from axum's decoded value.

use bytes::Bytes;

use crate::http::HttpError;
use crate::params::{self, ParamError, ParamObject, ParamValue, Style, percent_decode};

/// Limits on what a request may carry, checked before any of it is read into a struct.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    /// The longest request target (path and query), in bytes (default 8 KiB): longer is
    /// `414 URI Too Long`.
    pub max_uri_length: usize,
    /// The longest value of one path, query, header or cookie parameter, in bytes (default
    /// 4 KiB): longer is `400 Bad Request` naming the parameter. Keeps one client from making
    /// the server hold (and, on a WebSocket, repeat) arbitrarily large values.
    pub max_param_length: usize,
    /// The largest request body, in bytes (default 2 MiB): larger is `413 Content Too Large`.
    pub max_body_size: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_uri_length: 8 * 1024,
            max_param_length: 4 * 1024,
            max_body_size: 2 * 1024 * 1024,
        }
    }
}

impl RequestLimits {
    /// Set [`RequestLimits::max_uri_length`].
    pub fn max_uri_length(mut self, bytes: usize) -> Self {
        self.max_uri_length = bytes;
        self
    }

    /// Set [`RequestLimits::max_param_length`].
    pub fn max_param_length(mut self, bytes: usize) -> Self {
        self.max_param_length = bytes;
        self
    }

    /// Set [`RequestLimits::max_body_size`].
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }
}

/// A request struct the runtime reads from a request: implemented by generated code.
pub trait FromRequest: Sized {
    /// Read every field; the first problem is the answer (a 4xx).
    fn from_request(request: &RequestParts) -> Result<Self, HttpError>;
}

/// What a request struct is read from: the head, the path parameters of the matched route,
/// and the body (empty for an upgrade request).
#[derive(Debug)]
pub struct RequestParts {
    head: http::request::Parts,
    /// The path parameters axum matched, percent-decoded (`None` outside a route with
    /// parameters). Their text as written is only looked for when a styled reader needs it.
    path: Option<axum::extract::RawPathParams>,
    body: Bytes,
    limits: RequestLimits,
}

impl RequestParts {
    /// Read a request: its head (the target at most [`RequestLimits::max_uri_length`] long),
    /// the path parameters axum matched, and the whole body (at most
    /// [`RequestLimits::max_body_size`]).
    pub async fn read(
        request: axum::extract::Request,
        limits: &RequestLimits,
    ) -> Result<Self, HttpError> {
        let (mut head, body) = request.into_parts();
        check_target(&head, limits)?;
        let mut parts = RequestParts {
            path: path_params(&mut head),
            head,
            body: Bytes::new(),
            limits: limits.clone(),
        };
        // A request known to have no body (most GETs) has nothing to collect.
        if !axum::body::HttpBody::is_end_stream(&body) {
            parts.body = axum::body::to_bytes(body, limits.max_body_size)
                .await
                .map_err(|_| {
                    HttpError::new(
                        413,
                        format!(
                            "the request body is larger than {} bytes",
                            limits.max_body_size
                        ),
                    )
                })?;
        }
        Ok(parts)
    }

    /// A request without a body (a WebSocket upgrade): its head and path parameters.
    pub async fn from_head(
        mut head: http::request::Parts,
        limits: &RequestLimits,
    ) -> Result<Self, HttpError> {
        check_target(&head, limits)?;
        Ok(RequestParts {
            path: path_params(&mut head),
            head,
            body: Bytes::new(),
            limits: limits.clone(),
        })
    }

    /// The request's URI.
    pub fn uri(&self) -> &http::Uri {
        &self.head.uri
    }

    /// The request's method.
    pub fn method(&self) -> &http::Method {
        &self.head.method
    }

    /// The request's headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head.headers
    }

    /// The head, as axum handed it over (for extractors of its own).
    pub fn head_mut(&mut self) -> &mut http::request::Parts {
        &mut self.head
    }

    /// The limits it is read under.
    pub fn limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// Refuse a parameter value over [`RequestLimits::max_param_length`].
    fn bounded<'t>(&self, name: &str, text: &'t str) -> Result<&'t str, HttpError> {
        if text.len() > self.limits.max_param_length {
            return Err(HttpError::bad_request(format!(
                "parameter `{name}` is {} bytes long; at most {} are accepted",
                text.len(),
                self.limits.max_param_length
            )));
        }
        Ok(text)
    }

    fn parse<T: ParamValue>(&self, name: &str, text: &str) -> Result<T, HttpError> {
        let text = self.bounded(name, text)?;
        T::parse_param(text).map_err(|error| HttpError::from(error.named(name)))
    }

    /// The decoded value of a path parameter.
    fn path_value(&self, name: &str) -> Option<&str> {
        self.path
            .iter()
            .flatten()
            .find_map(|(param, value)| (param == name).then_some(value))
    }

    /// A path parameter (always there when the route matched).
    pub fn path_required<T: ParamValue>(&self, name: &str) -> Result<T, HttpError> {
        match self.path_value(name) {
            Some(value) => self.parse(name, value),
            None => Err(ParamError::missing(name).into()),
        }
    }

    /// A path parameter that may be absent.
    pub fn path_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, HttpError> {
        self.path_value(name)
            .map(|value| self.parse(name, value))
            .transpose()
    }

    /// A list path parameter (comma-separated).
    pub fn path_list<T: ParamValue>(&self, name: &str) -> Result<Vec<T>, HttpError> {
        self.path_required(name)
    }

    fn query_values<'s>(&self, name: &'s str) -> impl Iterator<Item = String> + use<'_, 's> {
        params::query_pairs(&self.head.uri)
            .into_iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A query parameter that may be absent.
    pub fn query_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, HttpError> {
        self.query_values(name)
            .next()
            .map(|value| self.parse(name, &value))
            .transpose()
    }

    /// A query parameter that must be present.
    pub fn query_required<T: ParamValue>(&self, name: &str) -> Result<T, HttpError> {
        self.query_optional(name)?
            .ok_or_else(|| ParamError::missing(name).into())
    }

    /// A list query parameter (`form`, exploded): every occurrence is one item; empty when
    /// absent, unless `required`. An occurrence that is not an item but a comma-separated list
    /// of them (`?id=1,2`, what some clients send) is read as those items; a text item keeps
    /// its commas.
    pub fn query_list<T: ParamValue>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Vec<T>, HttpError> {
        let mut out = Vec::new();
        let mut seen = false;
        for value in self.query_values(name) {
            seen = true;
            match self.parse::<T>(name, &value) {
                Ok(item) => out.push(item),
                Err(error) => match self.parse::<Vec<T>>(name, &value) {
                    Ok(items) if value.contains(',') => out.extend(items),
                    _ => return Err(error),
                },
            }
        }
        if required && !seen {
            return Err(ParamError::missing(name).into());
        }
        Ok(out)
    }

    fn header_text(&self, name: &str) -> Result<Option<&str>, HttpError> {
        match self.head.headers.get(name) {
            None => Ok(None),
            // Not `to_str`, which takes ASCII only: the client writes text parameters as
            // UTF-8 (obs-text in RFC 9110's terms), and the server reads what the client writes.
            Some(value) => std::str::from_utf8(value.as_bytes())
                .map(|text| Some(text.trim()))
                .map_err(|_| {
                    ParamError::invalid("(binary)", "UTF-8 text")
                        .named(name)
                        .into()
                }),
        }
    }

    /// A header parameter that may be absent.
    pub fn header_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, HttpError> {
        self.header_text(name)?
            .map(|text| self.parse(name, text))
            .transpose()
    }

    /// A header parameter that must be present.
    pub fn header_required<T: ParamValue>(&self, name: &str) -> Result<T, HttpError> {
        self.header_optional(name)?
            .ok_or_else(|| ParamError::missing(name).into())
    }

    /// A comma-separated list header; empty when absent, unless `required`.
    pub fn header_list<T: ParamValue>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Vec<T>, HttpError> {
        match self.header_optional::<Vec<T>>(name)? {
            Some(list) => Ok(list),
            None if required => Err(ParamError::missing(name).into()),
            None => Ok(Vec::new()),
        }
    }

    /// A cookie that may be absent.
    pub fn cookie_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, HttpError> {
        match params::cookie_text(&self.head.headers, name) {
            Some(text) => self.parse(name, &text).map(Some),
            None => Ok(None),
        }
    }

    /// A cookie that must be present.
    pub fn cookie_required<T: ParamValue>(&self, name: &str) -> Result<T, HttpError> {
        self.cookie_optional(name)?
            .ok_or_else(|| ParamError::missing(name).into())
    }

    /// The body, as read (empty for an upgrade request).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `Content-Type` header's media type, lower case, without parameters (`None` when
    /// absent or not text).
    pub fn content_type(&self) -> Option<String> {
        let value = self.head.headers.get(http::header::CONTENT_TYPE)?;
        let text = value.to_str().ok()?;
        let essence = text.split(';').next().unwrap_or("").trim();
        Some(essence.to_ascii_lowercase())
    }

    /// The `Last-Event-ID` header of a resuming client (`None` when absent or empty).
    pub fn last_event_id(&self) -> Option<String> {
        self.head
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    }

    /// A JSON body that must be there.
    pub fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        self.optional_json_body()?
            .ok_or_else(|| HttpError::bad_request("a JSON request body is required"))
    }

    /// A JSON body that may be empty.
    pub fn optional_json_body<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<Option<T>, HttpError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        crate::json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| HttpError::bad_request(format!("the request body is not valid: {e}")))
    }
}

/// Parameters in the OpenAPI styles ([`Style`], with `explode`), each bounded by
/// [`RequestLimits::max_param_length`], every problem a 400 naming the parameter (and the field,
/// for objects).
impl RequestParts {
    /// A list path parameter in a style (`simple`, `label` or `matrix`; the others are read
    /// as `simple`): `a,b`, `.a,b` or `.a.b`, `;name=a,b` or `;name=a;name=b`. A scalar is
    /// the one item of the list.
    pub fn path_styled<T: ParamValue>(
        &self,
        name: &str,
        style: Style,
        explode: bool,
    ) -> Result<Vec<T>, HttpError> {
        let (text, escapes) = self.path_text(name)?;
        self.read_styled(name, text, escapes, |text, escapes| {
            parse_items(&path_items(text, name, style, explode, escapes)?)
        })
    }

    /// A struct path parameter in a style: `k,v,k,v` or `k=v,k=v` (`simple`), `.k,v` or
    /// `.k=v.k=v` (`label`), `;name=k,v` or `;k=v;k=v` (`matrix`).
    pub fn path_object<O: ParamObject>(
        &self,
        name: &str,
        style: Style,
        explode: bool,
    ) -> Result<O, HttpError> {
        let (text, escapes) = self.path_text(name)?;
        self.read_styled(name, text, escapes, |text, escapes| {
            O::read_fields(&path_fields(text, name, style, explode, escapes)?)
        })
    }

    /// The text of a path parameter as the request wrote it, or decoded when no single segment
    /// of the request's path holds it (a wildcard, a parameter in a nested router's prefix).
    fn path_text(&self, name: &str) -> Result<(&str, Escapes), HttpError> {
        let params = self.path.iter().flatten();
        match raw_segments(params, self.head.uri.path()).find(|(param, ..)| *param == name) {
            Some((_, _, Some(raw))) => Ok((raw, Escapes::Percent)),
            Some((_, value, None)) => Ok((value, Escapes::Decoded)),
            None => Err(ParamError::missing(name).into()),
        }
    }

    /// A list query parameter in a style: `form` exploded (`name=a&name=b`, each pair one
    /// item), `form` not exploded (`name=a,b`), `spaceDelimited` (`name=a%20b`),
    /// `pipeDelimited` (`name=a%7Cb`). Empty when absent, unless `required`.
    pub fn query_styled<T: ParamValue>(
        &self,
        name: &str,
        style: Style,
        explode: bool,
        required: bool,
    ) -> Result<Vec<T>, HttpError> {
        let values = self.raw_query_values(name);
        if values.is_empty() {
            return absent(name, required).map(|()| Vec::new());
        }
        let mut out = Vec::new();
        for raw in values {
            if style.joins_query_items(explode) {
                out.extend(self.read_styled(name, raw, Escapes::Form, |text, escapes| {
                    if escapes == Escapes::Decoded && text.is_empty() {
                        // `ids=` from a client that writes an empty list that way.
                        return Ok(Vec::new());
                    }
                    parse_items(&query_items(text, style, escapes))
                })?);
            } else {
                let text = percent_decode(self.bounded(name, raw)?, true);
                out.push(T::parse_param(&text).map_err(|error| param_error(name, error))?);
            }
        }
        Ok(out)
    }

    /// A struct query parameter in a style: `form` exploded (the fields are pairs of their
    /// own: every pair of the query is offered to [`ParamObject::read_fields`], which takes
    /// its own), `form` not exploded (`name=k,v,k,v`, the first pair named `name`),
    /// `spaceDelimited`, `pipeDelimited`, or
    /// `deepObject` (`name[k]=v`, also written `name%5Bk%5D=v`). `None` when absent, unless
    /// `required`: exploded, absent means no field of it is there (one whose first required
    /// field is missing, with no field declared before it, counts as absent).
    pub fn query_object<O: ParamObject>(
        &self,
        name: &str,
        style: Style,
        explode: bool,
        required: bool,
    ) -> Result<Option<O>, HttpError> {
        if style == Style::DeepObject {
            return self.deep_object(name, required);
        }
        if style.joins_query_items(explode) {
            let Some(raw) = self.raw_query_values(name).into_iter().next() else {
                return absent(name, required).map(|()| None);
            };
            return self
                .read_styled(name, raw, Escapes::Form, |text, escapes| {
                    let items = split_at_any(text, query_delimiters(style, escapes));
                    O::read_fields(&fields_of(&items, false, escapes, text)?)
                })
                .map(Some);
        }
        let pairs: Vec<(String, String)> = raw_query_pairs(&self.head.uri)
            .into_iter()
            .map(|(key, raw)| (key, percent_decode(raw, true)))
            .collect();
        match O::read_fields(&pairs) {
            Ok(object) => {
                // Only its own fields are bounded: the other pairs belong to other parameters.
                let fields = params::object_fields(&object);
                for (key, text) in &fields {
                    self.bounded(key, text)?;
                }
                Ok((required || !fields.is_empty()).then_some(object))
            }
            // Failing as it fails with no pair at all: none of its fields is there.
            Err(error) if !required && O::read_fields(&[]).err().as_ref() == Some(&error) => {
                Ok(None)
            }
            Err(error) => Err(param_error(name, error)),
        }
    }

    fn deep_object<O: ParamObject>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Option<O>, HttpError> {
        let mut seen = false;
        let mut fields = Vec::new();
        for (key, raw) in raw_query_pairs(&self.head.uri) {
            // `name=` alone is an object with no field (how some clients write one).
            if key == name {
                seen = true;
                continue;
            }
            let field = key
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'));
            if let Some(field) = field {
                seen = true;
                let value = percent_decode(self.bounded(name, raw)?, true);
                fields.push((field.to_owned(), value));
            }
        }
        if !seen {
            return absent(name, required).map(|()| None);
        }
        O::read_fields(&fields)
            .map(Some)
            .map_err(|error| param_error(name, error))
    }

    /// A struct header (style `simple`): `k,v,k,v`, or `k=v,k=v` exploded. `None` when absent,
    /// unless `required`.
    pub fn header_object<O: ParamObject>(
        &self,
        name: &str,
        explode: bool,
        required: bool,
    ) -> Result<Option<O>, HttpError> {
        let Some(text) = self.header_text(name)? else {
            return absent(name, required).map(|()| None);
        };
        self.read_styled(name, text, Escapes::Percent, |text, escapes| {
            let items: Vec<&str> = if text.is_empty() {
                Vec::new()
            } else {
                // Lists in headers may have spaces after their commas.
                text.split(',').map(str::trim).collect()
            };
            O::read_fields(&fields_of(&items, explode, escapes, text)?)
        })
        .map(Some)
    }

    /// A list cookie (style `form`, not exploded): `name=a,b`. Empty when absent, unless
    /// `required`.
    pub fn cookie_list<T: ParamValue>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Vec<T>, HttpError> {
        let Some(raw) = raw_cookie(&self.head.headers, name) else {
            return absent(name, required).map(|()| Vec::new());
        };
        self.read_styled(name, raw, Escapes::Percent, |text, escapes| {
            if escapes == Escapes::Decoded && text.is_empty() {
                return Ok(Vec::new());
            }
            parse_items(
                &text
                    .split(',')
                    .map(|item| escapes.decode(item))
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// A struct cookie (style `form`, not exploded): `name=k,v,k,v`. `None` when absent, unless
    /// `required`.
    pub fn cookie_object<O: ParamObject>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Option<O>, HttpError> {
        let Some(raw) = raw_cookie(&self.head.headers, name) else {
            return absent(name, required).map(|()| None);
        };
        self.read_styled(name, raw, Escapes::Percent, |text, escapes| {
            let items: Vec<&str> = if text.is_empty() {
                Vec::new()
            } else {
                text.split(',').collect()
            };
            O::read_fields(&fields_of(&items, false, escapes, text)?)
        })
        .map(Some)
    }

    /// Read a parameter's text as written (split, then each piece decoded), and when that
    /// fails, once more decoded whole before it is split; the first problem is the answer when
    /// neither works.
    fn read_styled<R>(
        &self,
        name: &str,
        text: &str,
        escapes: Escapes,
        read: impl Fn(&str, Escapes) -> Result<R, ParamError>,
    ) -> Result<R, HttpError> {
        let text = self.bounded(name, text)?;
        read(text, escapes).or_else(|error| {
            read(&escapes.decode(text), Escapes::Decoded).map_err(|_| param_error(name, error))
        })
    }

    /// The raw values of every query pair named `name`, in order.
    fn raw_query_values(&self, name: &str) -> Vec<&str> {
        raw_query_pairs(&self.head.uri)
            .into_iter()
            .filter(|(key, _)| key == name)
            .map(|(_, raw)| raw)
            .collect()
    }
}

/// What is left to decode in the pieces of a parameter's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escapes {
    /// Percent-escapes (paths, headers, cookies).
    Percent,
    /// Percent-escapes, and `+` for a space (query strings).
    Form,
    /// Nothing: the text was decoded whole.
    Decoded,
}

impl Escapes {
    fn decode(self, piece: &str) -> String {
        match self {
            Escapes::Percent => percent_decode(piece, false),
            Escapes::Form => percent_decode(piece, true),
            Escapes::Decoded => piece.to_owned(),
        }
    }
}

/// A 400 naming the parameter, and the field when the problem is one of an object's.
fn param_error(name: &str, error: ParamError) -> HttpError {
    match &error.name {
        Some(field) => HttpError::bad_request(format!(
            "parameter `{name}`: field `{field}`: {}",
            error.message
        )),
        None => error.named(name).into(),
    }
}

/// An absent parameter: fine unless it is required.
fn absent(name: &str, required: bool) -> Result<(), HttpError> {
    if required {
        Err(ParamError::missing(name).into())
    } else {
        Ok(())
    }
}

fn parse_items<T: ParamValue>(items: &[String]) -> Result<Vec<T>, ParamError> {
    items.iter().map(|item| T::parse_param(item)).collect()
}

/// `text` split at every occurrence of any of `delimiters`.
fn split_at_any<'t>(text: &'t str, delimiters: &[&str]) -> Vec<&'t str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    loop {
        let next = delimiters
            .iter()
            .filter_map(|delimiter| rest.find(delimiter).map(|at| (at, delimiter.len())))
            .min();
        match next {
            Some((at, len)) => {
                pieces.push(&rest[..at]);
                rest = &rest[at + len..];
            }
            None => {
                pieces.push(rest);
                return pieces;
            }
        }
    }
}

/// What separates the items of a query parameter that carries them in one pair, as it appears
/// in the text being read: RFC 6570 writes `,` as is, the spec's table writes the delimiters
/// of `spaceDelimited` and `pipeDelimited` percent-encoded.
fn query_delimiters(style: Style, escapes: Escapes) -> &'static [&'static str] {
    match (style, escapes) {
        (Style::SpaceDelimited, Escapes::Decoded) => &[" "],
        (Style::SpaceDelimited, _) => &["%20"],
        (Style::PipeDelimited, Escapes::Decoded) => &["|"],
        (Style::PipeDelimited, _) => &["%7C", "%7c"],
        _ => &[","],
    }
}

fn query_items(text: &str, style: Style, escapes: Escapes) -> Vec<String> {
    split_at_any(text, query_delimiters(style, escapes))
        .into_iter()
        .map(|item| escapes.decode(item))
        .collect()
}

/// A `label` or `matrix` text without its leading marker.
fn strip_marker<'t>(text: &'t str, marker: char, style: &str) -> Result<&'t str, ParamError> {
    text.strip_prefix(marker)
        .ok_or_else(|| ParamError::invalid(text, &format!("in {style} style (`{marker}…`)")))
}

/// The value of a not exploded `matrix` text (`name=…` without its `;`): `None` for `name`
/// alone.
fn matrix_value<'t>(
    rest: &'t str,
    name: &str,
    escapes: Escapes,
) -> Result<Option<&'t str>, ParamError> {
    let (key, value) = match rest.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (rest, None),
    };
    if escapes.decode(key) != name {
        return Err(ParamError::invalid(
            rest,
            &format!("in matrix style (`;{name}=…`)"),
        ));
    }
    Ok(value)
}

/// The items of a list path parameter, each decoded.
fn path_items(
    text: &str,
    name: &str,
    style: Style,
    explode: bool,
    escapes: Escapes,
) -> Result<Vec<String>, ParamError> {
    // Nothing is an empty list (RFC 6570's undefined), in every style.
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let decode = |piece: &str| escapes.decode(piece);
    match style {
        Style::Label => {
            let rest = strip_marker(text, '.', "label")?;
            let delimiter = if explode { '.' } else { ',' };
            Ok(rest.split(delimiter).map(decode).collect())
        }
        Style::Matrix if explode => {
            let rest = strip_marker(text, ';', "matrix")?;
            rest.split(';')
                .map(|part| {
                    Ok(matrix_value(part, name, escapes)?
                        .map(decode)
                        .unwrap_or_default())
                })
                .collect()
        }
        Style::Matrix => {
            let rest = strip_marker(text, ';', "matrix")?;
            Ok(match matrix_value(rest, name, escapes)? {
                Some(value) => value.split(',').map(decode).collect(),
                None => vec![String::new()],
            })
        }
        _ => Ok(text.split(',').map(decode).collect()),
    }
}

/// The fields of a struct path parameter, each key and value decoded.
fn path_fields(
    text: &str,
    name: &str,
    style: Style,
    explode: bool,
    escapes: Escapes,
) -> Result<Vec<(String, String)>, ParamError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let (body, delimiter) = match style {
        Style::Label => (
            strip_marker(text, '.', "label")?,
            if explode { '.' } else { ',' },
        ),
        Style::Matrix if explode => (strip_marker(text, ';', "matrix")?, ';'),
        Style::Matrix => {
            let rest = strip_marker(text, ';', "matrix")?;
            (matrix_value(rest, name, escapes)?.unwrap_or_default(), ',')
        }
        _ => (text, ','),
    };
    let items: Vec<&str> = if body.is_empty() {
        Vec::new()
    } else {
        body.split(delimiter).collect()
    };
    fields_of(&items, explode, escapes, text)
}

/// An object's fields from its items: each `key=value` when exploded (`key` alone is an empty
/// value), alternately keys and values when not.
fn fields_of(
    items: &[&str],
    explode: bool,
    escapes: Escapes,
    text: &str,
) -> Result<Vec<(String, String)>, ParamError> {
    if explode {
        return Ok(items
            .iter()
            .map(|item| {
                let (key, value) = item.split_once('=').unwrap_or((item, ""));
                (escapes.decode(key), escapes.decode(value))
            })
            .collect());
    }
    if items == [""] {
        return Ok(Vec::new());
    }
    if !items.len().is_multiple_of(2) {
        return Err(ParamError::invalid(
            text,
            "a list of keys and values (`k,v,k,v`)",
        ));
    }
    Ok(items
        .chunks_exact(2)
        .map(|pair| (escapes.decode(pair[0]), escapes.decode(pair[1])))
        .collect())
}

/// The query's pairs: keys decoded, values as written.
fn raw_query_pairs(uri: &http::Uri) -> Vec<(String, &str)> {
    let Some(query) = uri.query() else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), value)
        })
        .collect()
}

/// The value of the cookie `name`, as written (still percent-encoded).
fn raw_cookie<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (percent_decode(key, false) == name).then_some(value)
        })
}

/// 414 for a request target over [`RequestLimits::max_uri_length`].
fn check_target(head: &http::request::Parts, limits: &RequestLimits) -> Result<(), HttpError> {
    let target = head
        .uri
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > limits.max_uri_length {
        return Err(HttpError::new(
            414,
            format!(
                "the request target is {target} bytes long; at most {} are accepted",
                limits.max_uri_length
            ),
        ));
    }
    Ok(())
}

/// The path parameters axum matched, percent-decoded; `None` when the request was served
/// outside a route with parameters.
fn path_params(head: &mut http::request::Parts) -> Option<axum::extract::RawPathParams> {
    use axum::extract::FromRequestParts;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    // axum's extractor only reads the request's extensions: its future is ready when first
    // polled (the tests hold it to that), so it is polled here once instead of awaited.
    let future = axum::extract::RawPathParams::from_request_parts(head, &());
    match std::pin::pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(params) => params.ok(),
        Poll::Pending => None,
    }
}

/// The path parameters axum matched as `(name, decoded value, text as written)`, the text being
/// the segment of the request's path the parameter came from, still percent-encoded: the first
/// segment after the previous parameter's that decodes to its value. A parameter no single
/// segment decodes to (a wildcard, one in the prefix a nested router strips) has none, and its
/// readers take axum's decoded value. Worked out only when a styled reader asks.
fn raw_segments<'a>(
    params: impl Iterator<Item = (&'a str, &'a str)>,
    path: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)> {
    let mut segments = path.split('/');
    params.map(move |(name, value)| {
        // Look ahead on a copy: a parameter whose text is not found leaves the segments to the
        // next one.
        let mut ahead = segments.clone();
        let raw = ahead.find(|segment| {
            if segment.contains('%') {
                percent_decode(segment, false) == value
            } else {
                *segment == value
            }
        });
        if raw.is_some() {
            segments = ahead;
        }
        (name, value, raw)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(
        uri: &str,
        headers: &[(&str, &str)],
        limits: RequestLimits,
    ) -> Result<RequestParts, HttpError> {
        let mut request = http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(axum::body::Body::empty()).expect("a request");
        RequestParts::read(request, &limits).await
    }

    #[tokio::test]
    async fn parameters_are_read_by_place_and_shape() {
        let request = parts(
            "/x?userId=a%20b&tag=1&tag=2,3&flag=true",
            &[("x-trace", "42"), ("cookie", "session=s%201; other=2")],
            RequestLimits::default(),
        )
        .await
        .expect("read");
        assert_eq!(
            request
                .query_optional::<String>("userId")
                .unwrap()
                .as_deref(),
            Some("a b")
        );
        assert_eq!(
            request.query_list::<i64>("tag", true).unwrap(),
            vec![1, 2, 3]
        );
        assert!(request.query_required::<bool>("flag").unwrap());
        assert_eq!(request.header_required::<u32>("X-Trace").unwrap(), 42);
        assert_eq!(request.cookie_required::<String>("session").unwrap(), "s 1");
        let missing = request.query_required::<i32>("nope").unwrap_err();
        assert_eq!(
            (missing.status(), missing.message()),
            (400, "parameter `nope`: is required")
        );
        let wrong = request.query_required::<i32>("userId").unwrap_err();
        assert_eq!(
            wrong.message(),
            "parameter `userId`: `a b` is not an integer"
        );
        assert_eq!(
            request.query_list::<i64>("none", false).unwrap(),
            Vec::<i64>::new()
        );
    }

    #[tokio::test]
    async fn limits_are_4xx_naming_what_is_too_long() {
        let limits = RequestLimits::default()
            .max_uri_length(64)
            .max_param_length(8);
        let long_uri = format!("/x?a={}", "y".repeat(100));
        let error = parts(&long_uri, &[], limits.clone()).await.unwrap_err();
        assert_eq!(error.status(), 414);
        let request = parts("/x?userId=123456789", &[("x-id", "abcdefghij")], limits)
            .await
            .expect("within the URI limit");
        let error = request.query_optional::<String>("userId").unwrap_err();
        assert_eq!(
            (error.status(), error.message()),
            (
                400,
                "parameter `userId` is 9 bytes long; at most 8 are accepted"
            )
        );
        assert_eq!(
            request
                .header_optional::<String>("x-id")
                .unwrap_err()
                .status(),
            400
        );
    }

    // --- OpenAPI styles ------------------------------------------------------------------

    use crate::params::{UrlBuilder, field_optional, field_required, to_text};
    use proptest::prelude::*;
    use std::sync::{Arc, Mutex};

    /// Serve `uri` through an axum router with `route`, and keep what the handler read.
    fn routed(
        route: &str,
        uri: &str,
        headers: &[(&str, &str)],
        limits: RequestLimits,
    ) -> RequestParts {
        let slot: Arc<Mutex<Option<Result<RequestParts, HttpError>>>> = Arc::default();
        let handler_slot = Arc::clone(&slot);
        let router = axum::Router::new().route(
            route,
            axum::routing::get(move |request: axum::extract::Request| {
                let slot = Arc::clone(&handler_slot);
                let limits = limits.clone();
                async move {
                    let parts = RequestParts::read(request, &limits).await;
                    *slot.lock().expect("slot") = Some(parts);
                }
            }),
        );
        let mut request = http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(axum::body::Body::empty()).expect("a request");
        let status = serve_once(router, request);
        assert_eq!(status, 200, "{uri} did not match {route}");
        let parts = slot.lock().expect("slot").take();
        parts.expect("the handler ran").expect("read")
    }

    /// Send one request through a router (in process: the router is axum's own).
    fn serve_once(
        mut router: axum::Router,
        request: http::Request<axum::body::Body>,
    ) -> http::StatusCode {
        use tower_service::Service;
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(async move {
                std::future::poll_fn(|cx| {
                    Service::<http::Request<axum::body::Body>>::poll_ready(&mut router, cx)
                })
                .await
                .expect("ready");
                router.call(request).await.expect("a response").status()
            })
    }

    /// Read the query, headers and cookies of a request that needs no route.
    fn unrouted(uri: &str, headers: &[(&str, &str)]) -> RequestParts {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(parts(uri, headers, RequestLimits::default()))
            .expect("read")
    }

    /// What `write` appends to a URL builder at `/items/`.
    fn written(write: impl FnOnce(&mut UrlBuilder)) -> String {
        let mut url = UrlBuilder::new("http://127.0.0.1");
        url.literal("/items/");
        write(&mut url);
        let url = url.finish();
        let text = url
            .strip_prefix("http://127.0.0.1/items/")
            .expect("the base")
            .to_owned();
        // URL parsers remove dot segments (`%2E` is a dot to them); see `path_styled`.
        let dots = text.to_ascii_lowercase().replace("%2e", ".");
        if !matches!(dots.as_str(), "." | "..") {
            sent_as_written(&url);
        }
        text
    }

    /// reqwest's URL parser keeps a URL as written: what the tests read is what a client sends.
    fn sent_as_written(url: &str) {
        #[cfg(feature = "sse-client")]
        assert_eq!(reqwest::Url::parse(url).expect("a URL").as_str(), url);
        #[cfg(not(feature = "sse-client"))]
        let _ = url;
    }

    /// The query (with its `?`) that `write` makes.
    fn written_query(write: impl FnOnce(&mut UrlBuilder)) -> String {
        let mut url = UrlBuilder::new("http://127.0.0.1");
        url.literal("/items");
        write(&mut url);
        let url = url.finish();
        sent_as_written(&url);
        url.strip_prefix("http://127.0.0.1/items")
            .expect("the base")
            .to_owned()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    /// The spec's example object.
    #[derive(Clone, Debug, PartialEq)]
    struct Color {
        r: i64,
        g: i64,
        b: i64,
    }

    impl ParamObject for Color {
        fn write_fields(&self, out: &mut Vec<(&'static str, String)>) {
            out.push(("R", to_text(&self.r)));
            out.push(("G", to_text(&self.g)));
            out.push(("B", to_text(&self.b)));
        }
        fn read_fields(fields: &[(String, String)]) -> Result<Self, ParamError> {
            Ok(Color {
                r: field_required(fields, "R")?,
                g: field_required(fields, "G")?,
                b: field_required(fields, "B")?,
            })
        }
    }

    const COLOR: Color = Color {
        r: 100,
        g: 200,
        b: 150,
    };

    /// An object with text fields, optional ones and a name that holds a delimiter.
    #[derive(Clone, Debug, PartialEq)]
    struct Thing {
        name: String,
        count: Option<i32>,
        dotted: Option<String>,
    }

    impl ParamObject for Thing {
        fn write_fields(&self, out: &mut Vec<(&'static str, String)>) {
            out.push(("name", self.name.clone()));
            if let Some(count) = &self.count {
                out.push(("count", to_text(count)));
            }
            if let Some(dotted) = &self.dotted {
                out.push(("a.b", dotted.clone()));
            }
        }
        fn read_fields(fields: &[(String, String)]) -> Result<Self, ParamError> {
            Ok(Thing {
                name: field_required(fields, "name")?,
                count: field_optional(fields, "count")?,
                dotted: field_optional(fields, "a.b")?,
            })
        }
    }

    /// Every path row of the spec's "Style Examples" table: (style, explode, empty, string,
    /// array, object).
    const PATH_TABLE: [(Style, bool, &str, &str, &str, &str); 6] = [
        (
            Style::Matrix,
            false,
            ";color",
            ";color=blue",
            ";color=blue,black,brown",
            ";color=R,100,G,200,B,150",
        ),
        (
            Style::Matrix,
            true,
            ";color",
            ";color=blue",
            ";color=blue;color=black;color=brown",
            ";R=100;G=200;B=150",
        ),
        (
            Style::Label,
            false,
            ".",
            ".blue",
            ".blue,black,brown",
            ".R,100,G,200,B,150",
        ),
        (
            Style::Label,
            true,
            ".",
            ".blue",
            ".blue.black.brown",
            ".R=100.G=200.B=150",
        ),
        (
            Style::Simple,
            false,
            "",
            "blue",
            "blue,black,brown",
            "R,100,G,200,B,150",
        ),
        (
            Style::Simple,
            true,
            "",
            "blue",
            "blue,black,brown",
            "R=100,G=200,B=150",
        ),
    ];

    #[test]
    fn path_rows_of_the_style_examples_table_round_trip() {
        for (style, explode, empty, string, array, object) in PATH_TABLE {
            let cells = [
                (strings(&[""]), empty),
                (strings(&["blue"]), string),
                (strings(&["blue", "black", "brown"]), array),
            ];
            for (values, expected) in cells {
                let text = written(|url| url.path_styled("color", &values, style, explode));
                assert_eq!(text, expected, "{style:?} explode={explode} {values:?}");
                if text.is_empty() {
                    // `simple` writes the empty string as nothing, which no route matches.
                    continue;
                }
                let parts = routed(
                    "/items/{color}",
                    &format!("/items/{text}"),
                    &[],
                    RequestLimits::default(),
                );
                assert_eq!(
                    parts
                        .path_styled::<String>("color", style, explode)
                        .unwrap(),
                    values,
                    "{style:?} explode={explode} {text}"
                );
            }
            let text = written(|url| url.path_object("color", &COLOR, style, explode));
            assert_eq!(text, object, "{style:?} explode={explode}");
            let parts = routed(
                "/items/{color}",
                &format!("/items/{text}"),
                &[],
                RequestLimits::default(),
            );
            assert_eq!(
                parts.path_object::<Color>("color", style, explode).unwrap(),
                COLOR,
                "{style:?} explode={explode} {text}"
            );
        }
    }

    /// Every query row of the table with a defined cell: (style, explode, empty, string, array,
    /// object); `None` is the table's _n/a_.
    type QueryRow = (
        Style,
        bool,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
    );
    const QUERY_TABLE: [QueryRow; 5] = [
        (
            Style::Form,
            false,
            Some("?color="),
            Some("?color=blue"),
            Some("?color=blue,black,brown"),
            "?color=R,100,G,200,B,150",
        ),
        (
            Style::Form,
            true,
            Some("?color="),
            Some("?color=blue"),
            Some("?color=blue&color=black&color=brown"),
            "?R=100&G=200&B=150",
        ),
        (
            Style::SpaceDelimited,
            false,
            None,
            None,
            Some("?color=blue%20black%20brown"),
            "?color=R%20100%20G%20200%20B%20150",
        ),
        (
            Style::PipeDelimited,
            false,
            None,
            None,
            Some("?color=blue%7Cblack%7Cbrown"),
            "?color=R%7C100%7CG%7C200%7CB%7C150",
        ),
        (
            Style::DeepObject,
            true,
            None,
            None,
            None,
            "?color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150",
        ),
    ];

    #[test]
    fn query_rows_of_the_style_examples_table_round_trip() {
        for (style, explode, empty, string, array, object) in QUERY_TABLE {
            let cells = [
                (strings(&[""]), empty),
                (strings(&["blue"]), string),
                (strings(&["blue", "black", "brown"]), array),
            ];
            for (values, expected) in cells {
                let Some(expected) = expected else { continue };
                let text = written_query(|url| url.query_styled("color", &values, style, explode));
                assert_eq!(text, expected, "{style:?} explode={explode} {values:?}");
                let parts = unrouted(&format!("/items{text}"), &[]);
                assert_eq!(
                    parts
                        .query_styled::<String>("color", style, explode, true)
                        .unwrap(),
                    values,
                    "{style:?} explode={explode} {text}"
                );
            }
            let text = written_query(|url| url.query_object("color", &COLOR, style, explode));
            assert_eq!(text, object, "{style:?} explode={explode}");
            let parts = unrouted(&format!("/items{text}"), &[]);
            assert_eq!(
                parts
                    .query_object::<Color>("color", style, explode, true)
                    .unwrap(),
                Some(COLOR),
                "{style:?} explode={explode} {text}"
            );
        }
        // deepObject's brackets may also come unencoded.
        let parts = unrouted("/items?color[R]=100&color[G]=200&color[B]=150", &[]);
        assert_eq!(
            parts
                .query_object::<Color>("color", Style::DeepObject, true, true)
                .unwrap(),
            Some(COLOR)
        );
    }

    #[test]
    fn header_and_cookie_styles_follow_the_table() {
        let mut headers = http::HeaderMap::new();
        params::set_header_object(&mut headers, "X-Color", &COLOR, false).unwrap();
        assert_eq!(headers["x-color"], "R,100,G,200,B,150");
        params::set_header_object(&mut headers, "X-Exploded", &COLOR, true).unwrap();
        assert_eq!(headers["x-exploded"], "R=100,G=200,B=150");
        params::add_cookie_list(&mut headers, "color", &strings(&["blue", "black", "brown"]))
            .unwrap();
        params::add_cookie_object(&mut headers, "rgb", &COLOR).unwrap();
        params::add_cookie_list::<String>(&mut headers, "none", &[]).unwrap();
        assert_eq!(
            headers[http::header::COOKIE],
            "color=blue,black,brown; rgb=R,100,G,200,B,150"
        );
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_str().expect("ASCII")))
            .collect();
        let parts = unrouted("/items", &pairs);
        assert_eq!(
            parts
                .header_object::<Color>("x-color", false, true)
                .unwrap(),
            Some(COLOR)
        );
        assert_eq!(
            parts
                .header_object::<Color>("X-Exploded", true, true)
                .unwrap(),
            Some(COLOR)
        );
        assert_eq!(
            parts.cookie_list::<String>("color", true).unwrap(),
            strings(&["blue", "black", "brown"])
        );
        assert_eq!(
            parts.cookie_object::<Color>("rgb", true).unwrap(),
            Some(COLOR)
        );
        assert_eq!(
            parts.cookie_list::<String>("none", false).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            parts.header_object::<Color>("x-none", true, false).unwrap(),
            None
        );
    }

    /// Values that hold every delimiter, characters that must be encoded, non-ASCII text and
    /// nothing at all.
    const HOSTILE: [&str; 21] = [
        ",",
        ".",
        ";",
        "=",
        "|",
        " ",
        "&",
        "#",
        "%",
        "[",
        "]",
        "+",
        "/",
        "?",
        "%41",
        "..",
        "a b,c.d;e=f|g",
        "R=1,G",
        "é日本",
        "",
        "color[x]",
    ];

    fn hostile_things() -> Vec<Thing> {
        HOSTILE
            .iter()
            .map(|text| Thing {
                name: (*text).to_owned(),
                count: Some(-3),
                dotted: Some(format!("{text}{text}")),
            })
            .chain([Thing {
                name: String::new(),
                count: None,
                dotted: Some(String::new()),
            }])
            .collect()
    }

    const PATH_STYLES: [(Style, bool); 6] = [
        (Style::Simple, false),
        (Style::Simple, true),
        (Style::Label, false),
        (Style::Label, true),
        (Style::Matrix, false),
        (Style::Matrix, true),
    ];

    const QUERY_LIST_STYLES: [(Style, bool); 4] = [
        (Style::Form, true),
        (Style::Form, false),
        (Style::SpaceDelimited, false),
        (Style::PipeDelimited, false),
    ];

    const QUERY_OBJECT_STYLES: [(Style, bool); 5] = [
        (Style::Form, true),
        (Style::Form, false),
        (Style::SpaceDelimited, false),
        (Style::PipeDelimited, false),
        (Style::DeepObject, true),
    ];

    fn path_list_round_trip(values: &[String], style: Style, explode: bool) {
        let text = written(|url| url.path_styled("color", values, style, explode));
        if text.is_empty() {
            // No route matches an empty segment.
            return;
        }
        let parts = routed(
            "/items/{color}/tail",
            &format!("/items/{text}/tail"),
            &[],
            RequestLimits::default(),
        );
        assert_eq!(
            parts
                .path_styled::<String>("color", style, explode)
                .unwrap(),
            values,
            "{style:?} explode={explode} {text}"
        );
    }

    fn path_object_round_trip(thing: &Thing, style: Style, explode: bool) {
        let text = written(|url| url.path_object("color", thing, style, explode));
        let parts = routed(
            "/items/{color}",
            &format!("/items/{text}"),
            &[],
            RequestLimits::default(),
        );
        assert_eq!(
            &parts.path_object::<Thing>("color", style, explode).unwrap(),
            thing,
            "{style:?} explode={explode} {text}"
        );
    }

    fn query_list_round_trip(values: &[String], style: Style, explode: bool) {
        let text = written_query(|url| {
            url.query("before", &"x".to_owned());
            url.query_styled("color", values, style, explode);
            url.query("after", &"y".to_owned());
        });
        let parts = unrouted(&format!("/items{text}"), &[]);
        assert_eq!(
            parts
                .query_styled::<String>("color", style, explode, false)
                .unwrap(),
            values,
            "{style:?} explode={explode} {text}"
        );
    }

    fn query_object_round_trip(thing: &Thing, style: Style, explode: bool) {
        let text = written_query(|url| url.query_object("color", thing, style, explode));
        let parts = unrouted(&format!("/items{text}"), &[]);
        assert_eq!(
            parts
                .query_object::<Thing>("color", style, explode, true)
                .unwrap()
                .as_ref(),
            Some(thing),
            "{style:?} explode={explode} {text}"
        );
    }

    fn header_and_cookie_round_trip(values: &[String], thing: &Thing) {
        let mut headers = http::HeaderMap::new();
        params::set_header_object(&mut headers, "x-thing", thing, false).unwrap();
        params::set_header_object(&mut headers, "x-exploded", thing, true).unwrap();
        params::add_cookie_list(&mut headers, "list", values).unwrap();
        params::add_cookie_object(&mut headers, "thing", thing).unwrap();
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_str().expect("ASCII")))
            .collect();
        let parts = unrouted("/items", &pairs);
        let context = format!("{headers:?}");
        assert_eq!(
            parts
                .header_object::<Thing>("x-thing", false, true)
                .unwrap()
                .as_ref(),
            Some(thing),
            "{context}"
        );
        assert_eq!(
            parts
                .header_object::<Thing>("x-exploded", true, true)
                .unwrap()
                .as_ref(),
            Some(thing),
            "{context}"
        );
        assert_eq!(
            parts.cookie_list::<String>("list", false).unwrap(),
            values,
            "{context}"
        );
        assert_eq!(
            parts
                .cookie_object::<Thing>("thing", true)
                .unwrap()
                .as_ref(),
            Some(thing),
            "{context}"
        );
    }

    #[test]
    fn hostile_values_round_trip_in_every_style() {
        let hostile = strings(&HOSTILE);
        let lists: Vec<Vec<String>> = HOSTILE
            .iter()
            .map(|text| vec![(*text).to_owned()])
            .chain([hostile.clone(), strings(&["", ""]), strings(&["", "x", ""])])
            .collect();
        for (style, explode) in PATH_STYLES {
            for values in &lists {
                path_list_round_trip(values, style, explode);
            }
            for thing in hostile_things() {
                path_object_round_trip(&thing, style, explode);
            }
        }
        for (style, explode) in QUERY_LIST_STYLES {
            for values in &lists {
                query_list_round_trip(values, style, explode);
            }
        }
        for (style, explode) in QUERY_OBJECT_STYLES {
            for thing in hostile_things() {
                query_object_round_trip(&thing, style, explode);
            }
        }
        for (values, thing) in lists.iter().zip(hostile_things()) {
            header_and_cookie_round_trip(values, &thing);
        }
    }

    #[test]
    fn what_other_clients_write_is_read_too() {
        // Python's `requests` percent-encodes the delimiters as well.
        let parts = unrouted(
            "/items?ids=1%2C2%2C3&sp=4+5&pipe=6|7&empty=&color=blue%2Cblack",
            &[],
        );
        assert_eq!(
            parts
                .query_styled::<i64>("ids", Style::Form, false, true)
                .unwrap(),
            vec![1, 2, 3]
        );
        assert_eq!(
            parts
                .query_styled::<i64>("sp", Style::SpaceDelimited, false, true)
                .unwrap(),
            vec![4, 5]
        );
        assert_eq!(
            parts
                .query_styled::<i64>("pipe", Style::PipeDelimited, false, true)
                .unwrap(),
            vec![6, 7]
        );
        assert_eq!(
            parts
                .query_styled::<i64>("empty", Style::Form, false, true)
                .unwrap(),
            Vec::<i64>::new()
        );
        // As RFC 6570 reads it: an encoded comma belongs to the value.
        assert_eq!(
            parts
                .query_styled::<String>("color", Style::Form, false, true)
                .unwrap(),
            strings(&["blue,black"])
        );
        let parts = routed(
            "/items/{ids}",
            "/items/%3Bids%3D1%3Bids%3D2",
            &[("x-color", "R=100, G=200, B=150")],
            RequestLimits::default(),
        );
        assert_eq!(
            parts
                .path_styled::<i64>("ids", Style::Matrix, true)
                .unwrap(),
            vec![1, 2]
        );
        assert_eq!(
            parts.header_object::<Color>("x-color", true, true).unwrap(),
            Some(COLOR)
        );
    }

    #[test]
    fn bodies_are_read_unless_known_empty_and_path_parameters_are_there_when_routed() {
        let read = |request: http::Request<axum::body::Body>| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime")
                .block_on(RequestParts::read(request, &RequestLimits::default()))
                .expect("read")
        };
        let empty = read(http::Request::new(axum::body::Body::empty()));
        assert!(empty.body().is_empty());
        assert!(empty.path.is_none(), "no route, no path parameters");
        // A GET may carry a body too: only a body known to be empty is skipped.
        let get = http::Request::get("/x")
            .body(axum::body::Body::from("{\"a\":1}"))
            .expect("a request");
        assert_eq!(read(get).body().as_ref(), b"{\"a\":1}");
        let streamed = axum::body::Body::from_stream(futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"one ")),
            Ok(Bytes::from_static(b"two")),
        ]));
        let streamed = http::Request::post("/x").body(streamed).expect("a request");
        assert_eq!(read(streamed).body().as_ref(), b"one two");

        // axum's path parameters are taken without awaiting: they must be there at once.
        let parts = routed("/a/{x}/b/{y}", "/a/1/b/two", &[], RequestLimits::default());
        assert_eq!(parts.path.iter().flatten().count(), 2);
        assert_eq!(parts.path_required::<i64>("x").unwrap(), 1);
        assert_eq!(parts.path_required::<String>("y").unwrap(), "two");
        assert_eq!(parts.path_optional::<String>("z").unwrap(), None);
    }

    #[test]
    fn path_parameters_are_decoded_once_and_found_in_nested_routers() {
        let text = written(|url| url.path(&"100%41".to_owned()));
        assert_eq!(text, "100%2541");
        let parts = routed(
            "/items/{id}",
            &format!("/items/{text}"),
            &[],
            RequestLimits::default(),
        );
        assert_eq!(parts.path_required::<String>("id").unwrap(), "100%41");

        // A nested router sees its path without the prefix, where a parameter may be too.
        let slot: Arc<Mutex<Option<RequestParts>>> = Arc::default();
        let handler_slot = Arc::clone(&slot);
        let inner = axum::Router::new().route(
            "/items/{color}",
            axum::routing::get(move |request: axum::extract::Request| {
                let slot = Arc::clone(&handler_slot);
                async move {
                    let parts = RequestParts::read(request, &RequestLimits::default()).await;
                    *slot.lock().expect("slot") = parts.ok();
                }
            }),
        );
        let router = axum::Router::new().nest("/t/{tenant}", inner);
        let label =
            written(|url| url.path_styled("color", &strings(&["a.b", "c,d"]), Style::Label, true));
        let request = http::Request::builder()
            .uri(format!("/t/x%2Cy/items/{label}"))
            .body(axum::body::Body::empty())
            .expect("a request");
        assert_eq!(serve_once(router, request), 200);
        let parts = slot.lock().expect("slot").take().expect("the handler ran");
        assert_eq!(
            parts
                .path_styled::<String>("color", Style::Label, true)
                .unwrap(),
            strings(&["a.b", "c,d"])
        );
        // The prefix's parameter is read from axum's decoded value.
        assert_eq!(
            parts
                .path_styled::<String>("tenant", Style::Simple, false)
                .unwrap(),
            strings(&["x", "y"])
        );
    }

    #[test]
    fn styled_problems_are_400s_naming_the_parameter() {
        let message = |error: HttpError| {
            assert_eq!(error.status(), 400, "{error}");
            error.message().to_owned()
        };
        let parts = unrouted(
            "/items?ids=1,x&rgb=R,100,G,200&odd=R,100,G&color%5BR%5D=1&color%5BG%5D=z&R=5",
            &[("x-color", "R=1,G=2"), ("cookie", "list=a,b; rgb=R,1")],
        );
        assert_eq!(
            message(
                parts
                    .query_styled::<i64>("ids", Style::Form, false, false)
                    .unwrap_err()
            ),
            "parameter `ids`: `x` is not an integer"
        );
        assert_eq!(
            message(
                parts
                    .query_styled::<i64>("none", Style::Form, true, true)
                    .unwrap_err()
            ),
            "parameter `none`: is required"
        );
        assert_eq!(
            message(
                parts
                    .query_object::<Color>("rgb", Style::Form, false, false)
                    .unwrap_err()
            ),
            "parameter `rgb`: field `B`: is required"
        );
        assert_eq!(
            message(
                parts
                    .query_object::<Color>("odd", Style::Form, false, false)
                    .unwrap_err()
            ),
            "parameter `odd`: `R,100,G` is not a list of keys and values (`k,v,k,v`)"
        );
        assert_eq!(
            message(
                parts
                    .query_object::<Color>("color", Style::DeepObject, true, false)
                    .unwrap_err()
            ),
            "parameter `color`: field `G`: `z` is not an integer"
        );
        assert_eq!(
            message(
                parts
                    .query_object::<Color>("nope", Style::DeepObject, true, true)
                    .unwrap_err()
            ),
            "parameter `nope`: is required"
        );
        // Exploded: `R` is there but `G` is not, so the object is there and incomplete.
        assert_eq!(
            message(
                parts
                    .query_object::<Color>("rgb", Style::Form, true, false)
                    .unwrap_err()
            ),
            "parameter `rgb`: field `G`: is required"
        );
        assert_eq!(
            message(
                parts
                    .header_object::<Color>("x-color", true, false)
                    .unwrap_err()
            ),
            "parameter `x-color`: field `B`: is required"
        );
        assert_eq!(
            message(
                parts
                    .header_object::<Color>("x-none", true, true)
                    .unwrap_err()
            ),
            "parameter `x-none`: is required"
        );
        assert_eq!(
            message(parts.cookie_list::<i64>("list", false).unwrap_err()),
            "parameter `list`: `a` is not an integer"
        );
        assert_eq!(
            message(parts.cookie_list::<i64>("nope", true).unwrap_err()),
            "parameter `nope`: is required"
        );
        assert_eq!(
            message(parts.cookie_object::<Color>("rgb", false).unwrap_err()),
            "parameter `rgb`: field `G`: is required"
        );
        assert_eq!(
            message(parts.cookie_object::<Color>("nope", true).unwrap_err()),
            "parameter `nope`: is required"
        );

        // Exploded objects that are absent, and present with nothing but optional fields.
        let parts = unrouted("/items?other=1", &[]);
        assert_eq!(
            parts
                .query_object::<Color>("rgb", Style::Form, true, false)
                .unwrap(),
            None
        );
        assert_eq!(
            message(
                parts
                    .query_object::<Color>("rgb", Style::Form, true, true)
                    .unwrap_err()
            ),
            "parameter `rgb`: field `R`: is required"
        );

        let parts = routed(
            "/items/{color}",
            "/items/R,x,G,200,B,150",
            &[],
            RequestLimits::default(),
        );
        assert_eq!(
            message(
                parts
                    .path_object::<Color>("color", Style::Simple, false)
                    .unwrap_err()
            ),
            "parameter `color`: field `R`: `x` is not an integer"
        );
        assert_eq!(
            message(
                parts
                    .path_styled::<String>("color", Style::Label, false)
                    .unwrap_err()
            ),
            "parameter `color`: `R,x,G,200,B,150` is not in label style (`.…`)"
        );
        assert_eq!(
            message(
                parts
                    .path_styled::<String>("color", Style::Matrix, true)
                    .unwrap_err()
            ),
            "parameter `color`: `R,x,G,200,B,150` is not in matrix style (`;…`)"
        );
        assert_eq!(
            message(
                parts
                    .path_styled::<String>("nope", Style::Simple, false)
                    .unwrap_err()
            ),
            "parameter `nope`: is required"
        );
        let parts = routed(
            "/items/{color}",
            "/items/;other=1",
            &[],
            RequestLimits::default(),
        );
        assert_eq!(
            message(
                parts
                    .path_styled::<String>("color", Style::Matrix, false)
                    .unwrap_err()
            ),
            "parameter `color`: `other=1` is not in matrix style (`;color=…`)"
        );
    }

    #[test]
    fn styled_values_over_the_limit_are_400s() {
        let limits = RequestLimits::default().max_param_length(8);
        let long = "123456789";
        let parts = routed(
            "/items/{color}",
            &format!("/items/{long}?ids={long}&R={long}&G=1&B=2&color%5BR%5D={long}"),
            &[("x-color", long), ("cookie", &format!("list={long}"))],
            limits,
        );
        let expected =
            |name: &str| format!("parameter `{name}` is 9 bytes long; at most 8 are accepted");
        let check = |error: HttpError, name: &str| {
            assert_eq!(
                (error.status(), error.message()),
                (400, expected(name).as_str())
            );
        };
        check(
            parts
                .path_styled::<String>("color", Style::Simple, false)
                .unwrap_err(),
            "color",
        );
        check(
            parts
                .path_object::<Color>("color", Style::Simple, true)
                .unwrap_err(),
            "color",
        );
        for explode in [false, true] {
            check(
                parts
                    .query_styled::<String>("ids", Style::Form, explode, false)
                    .unwrap_err(),
                "ids",
            );
        }
        check(
            parts
                .query_object::<Color>("ids", Style::Form, false, false)
                .unwrap_err(),
            "ids",
        );
        check(
            parts
                .query_object::<Color>("rgb", Style::Form, true, false)
                .unwrap_err(),
            "R",
        );
        check(
            parts
                .query_object::<Color>("color", Style::DeepObject, true, false)
                .unwrap_err(),
            "color",
        );
        check(
            parts
                .header_object::<Color>("x-color", true, false)
                .unwrap_err(),
            "x-color",
        );
        check(
            parts.cookie_list::<String>("list", false).unwrap_err(),
            "list",
        );
        check(
            parts.cookie_object::<Color>("list", false).unwrap_err(),
            "list",
        );
    }

    fn hostile_text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z0-9 ,.;=|&#%\\[\\]+/?é日-]{0,6}").expect("a regex")
    }

    fn hostile_thing() -> impl Strategy<Value = Thing> {
        (
            hostile_text(),
            proptest::option::of(any::<i32>()),
            proptest::option::of(hostile_text()),
        )
            .prop_map(|(name, count, dotted)| Thing {
                name,
                count,
                dotted,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn path_styles_round_trip(
            values in proptest::collection::vec(hostile_text(), 0..4),
            thing in hostile_thing(),
            which in 0..PATH_STYLES.len(),
        ) {
            let (style, explode) = PATH_STYLES[which];
            path_list_round_trip(&values, style, explode);
            path_object_round_trip(&thing, style, explode);
        }

        #[test]
        fn query_styles_round_trip(
            values in proptest::collection::vec(hostile_text(), 0..4),
            thing in hostile_thing(),
            list_style in 0..QUERY_LIST_STYLES.len(),
            object_style in 0..QUERY_OBJECT_STYLES.len(),
        ) {
            let (style, explode) = QUERY_LIST_STYLES[list_style];
            query_list_round_trip(&values, style, explode);
            let (style, explode) = QUERY_OBJECT_STYLES[object_style];
            query_object_round_trip(&thing, style, explode);
        }

        #[test]
        fn header_and_cookie_styles_round_trip(
            values in proptest::collection::vec(hostile_text(), 0..4),
            thing in hostile_thing(),
        ) {
            header_and_cookie_round_trip(&values, &thing);
        }
    }
}
