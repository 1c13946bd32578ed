//! HTTP pieces of generated servers: a typed error that becomes an RFC 9457 problem response,
//! and JSON request and response bodies.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::params::ParamError;

/// The largest JSON request body a generated server reads (larger ones get 413).
pub const MAX_JSON_BODY: usize = 2 * 1024 * 1024;

/// An error a generated endpoint answers with: a status and a message, sent as an
/// `application/problem+json` body (RFC 9457):
/// `{"type": "about:blank", "title": "<reason phrase>", "status": <status>, "detail": "<message>"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    status: StatusCode,
    message: String,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl HttpError {
    /// An error with any status (an invalid status code becomes 500).
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        HttpError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// The same error with a response header (`WWW-Authenticate` of a 401, `Allow` of a
    /// 405, `Retry-After` of a 503…).
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 401 Unauthorized.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 406 Not Acceptable: what an endpoint's JSON form answers unless it is implemented.
    pub fn not_acceptable() -> Self {
        Self::new(406, "this endpoint only answers with `text/event-stream`")
    }

    /// 500 Internal Server Error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for HttpError {}

impl From<ParamError> for HttpError {
    fn from(error: ParamError) -> Self {
        HttpError::bad_request(error.to_string())
    }
}

/// The media type of [`HttpError`] bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.message,
        });
        let mut response = (
            self.status,
            [(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(PROBLEM_JSON),
            )],
            body.to_string(),
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

impl IntoResponse for ParamError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// Read a JSON request body (at most [`MAX_JSON_BODY`] bytes).
pub async fn json_body<T: serde::de::DeserializeOwned>(
    body: axum::body::Body,
) -> Result<T, HttpError> {
    match optional_json_body(body).await? {
        Some(value) => Ok(value),
        None => Err(HttpError::bad_request("a JSON request body is required")),
    }
}

/// Read a JSON request body that may be empty.
pub async fn optional_json_body<T: serde::de::DeserializeOwned>(
    body: axum::body::Body,
) -> Result<Option<T>, HttpError> {
    let bytes = axum::body::to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|_| {
            HttpError::new(
                413,
                format!("the request body is larger than {MAX_JSON_BODY} bytes"),
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    crate::json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| HttpError::bad_request(format!("the request body is not valid: {e}")))
}

/// A 200 response with a JSON body.
pub fn json_response<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            [(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => {
            HttpError::internal(format!("the response could not be encoded: {e}")).into_response()
        }
    }
}

/// A value a generated request struct requires: the 400 naming the parameter when it is
/// missing.
pub fn required<T>(value: Option<T>, name: &str) -> Result<T, HttpError> {
    value.ok_or_else(|| HttpError::bad_request(format!("parameter `{name}`: is required")))
}

/// The one value of a parameter written in a style that allows several (a `label` or
/// `matrix` path segment holding a scalar).
pub fn single<T>(values: Vec<T>, name: &str) -> Result<T, HttpError> {
    let count = values.len();
    let mut values = values.into_iter();
    match (values.next(), count) {
        (Some(value), 1) => Ok(value),
        _ => Err(HttpError::bad_request(format!(
            "parameter `{name}`: holds one value, not {count}"
        ))),
    }
}
