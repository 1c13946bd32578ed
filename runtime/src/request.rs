//! The request side of generated servers: the parts of a request a request struct (or a
//! WebSocket channel's connection parameters) is read from, under [`RequestLimits`], with every
//! problem a 4xx [`HttpError`] naming what was wrong.
//!
//! Generated code implements [`FromRequest`] for each request struct, one line per field, with
//! the reader matching the parameter's place and shape: `query_required`, `query_optional`,
//! `query_list`, and so on for paths, headers and cookies. The generic handlers of the runtime
//! read the [`RequestParts`] and call it.

use bytes::Bytes;

use crate::http::HttpError;
use crate::params::{self, ParamError, ParamValue, percent_decode};

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
    path: Vec<(String, String)>,
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
        let (head, body) = request.into_parts();
        let mut parts = Self::from_head(head, limits).await?;
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
        Ok(parts)
    }

    /// A request without a body (a WebSocket upgrade): its head and path parameters.
    pub async fn from_head(
        mut head: http::request::Parts,
        limits: &RequestLimits,
    ) -> Result<Self, HttpError> {
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
        let path = match <axum::extract::RawPathParams as axum::extract::FromRequestParts<()>>::from_request_parts(&mut head, &()).await {
            Ok(raw) => raw
                .iter()
                .map(|(k, v)| (k.to_owned(), percent_decode(v, false)))
                .collect(),
            // Served outside a route with parameters: there are none.
            Err(_) => Vec::new(),
        };
        Ok(RequestParts {
            head,
            path,
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

    /// A path parameter (always there when the route matched).
    pub fn path_required<T: ParamValue>(&self, name: &str) -> Result<T, HttpError> {
        match self.path.iter().find(|(k, _)| k == name) {
            Some((_, value)) => self.parse(name, value),
            None => Err(ParamError::missing(name).into()),
        }
    }

    /// A path parameter that may be absent.
    pub fn path_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, HttpError> {
        self.path
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, value)| self.parse(name, value))
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

    /// A list query parameter: every occurrence, each possibly comma-separated; empty when
    /// absent, unless `required`.
    pub fn query_list<T: ParamValue>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Vec<T>, HttpError> {
        let mut out = Vec::new();
        let mut seen = false;
        for value in self.query_values(name) {
            seen = true;
            out.extend(self.parse::<Vec<T>>(name, &value)?);
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
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| HttpError::bad_request(format!("the request body is not valid: {e}")))
    }
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
}
