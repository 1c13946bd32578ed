//! The server half of plain operations: [`handle`], the axum handler of an [`Operation`], and
//! the pieces generated code builds requests and responses from.
//!
//! For each request [`handle`] reads the head and body under the configured
//! [`RequestLimits`](crate::request::RequestLimits) (414, 400, 413), finds the credential of the
//! operation's security schemes (401 with a `WWW-Authenticate` challenge when a required one is
//! missing) and has the service check it, builds the typed request (400 naming the parameter or
//! field; 415 for a body of a media type the operation does not accept), calls the service and
//! writes its response enum. Every error is an `application/problem+json` body.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::body::{FormBody, FormReader};
use crate::auth::{Credential, Scheme};
use crate::http::HttpError;
use crate::params::ParamValue;
use crate::request::{FromRequest, RequestParts};

pub use crate::sse::operation::Service;

/// The security of an operation: the schemes a credential may come by, in order (empty: the
/// operation is not secured), and whether a request may come without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Security<'a> {
    /// Where a credential may be, in the order they are looked for.
    pub schemes: &'a [Scheme<'a>],
    /// A request without a credential is let through (`security: [{}, …]` in the spec).
    pub optional: bool,
}

impl Security<'static> {
    /// An operation anyone may call.
    pub const NONE: Security<'static> = Security {
        schemes: &[],
        optional: true,
    };
}

/// One served operation of a service `S`: implemented by generated code for a type of its own,
/// never instantiated.
pub trait Operation<S: Send + Sync + 'static>: Send + 'static {
    /// The typed request.
    type Request: FromRequest + Send + 'static;
    /// The typed response enum.
    type Response: IntoResponse;
    /// Who the caller is, as the service's `authenticate` decided (`()` when not secured).
    type Auth: Send + 'static;
    /// Where its credential is, and whether one is needed.
    const SECURITY: Security<'static>;

    /// Check the credential (`None` when the request has none and the security is optional):
    /// an error answers the request with its status.
    fn authenticate(
        service: &S,
        credential: Option<Credential>,
    ) -> impl Future<Output = Result<Self::Auth, HttpError>> + Send;

    /// Answer the request.
    fn call(
        service: &S,
        auth: Self::Auth,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, HttpError>> + Send;
}

/// The axum handler of operation `O` of the service in the router's state.
///
/// One flat state machine (axum boxes it for every request): the request parts are dropped
/// once the typed request is read, before the service is called.
pub async fn handle<S, O>(
    State(state): State<Arc<Service<S>>>,
    request: axum::extract::Request,
) -> Response
where
    S: Send + Sync + 'static,
    O: Operation<S>,
{
    let parts = match RequestParts::read(request, &state.config.request_limits).await {
        Ok(parts) => parts,
        Err(error) => return error.into_response(),
    };
    let auth = match authenticate::<S, O>(&state.service, &parts).await {
        Ok(auth) => auth,
        Err(error) => return error.into_response(),
    };
    let request = match O::Request::from_request(&parts) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    drop(parts);
    match O::call(&state.service, auth, request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn authenticate<S, O>(service: &S, parts: &RequestParts) -> Result<O::Auth, HttpError>
where
    S: Send + Sync + 'static,
    O: Operation<S>,
{
    authorize(parts, O::SECURITY, |credential| {
        O::authenticate(service, credential)
    })
    .await
}

/// Find the credential of `security`'s schemes on a request and have `authenticate` check it:
/// a request without one gets 401 (with a `WWW-Authenticate` challenge) unless the security is
/// optional; an operation without schemes is checked with `None`.
pub async fn authorize<A, F, Fut>(
    parts: &RequestParts,
    security: Security<'_>,
    authenticate: F,
) -> Result<A, HttpError>
where
    F: FnOnce(Option<Credential>) -> Fut,
    Fut: Future<Output = Result<A, HttpError>>,
{
    if security.schemes.is_empty() {
        return authenticate(None).await;
    }
    let credential = crate::auth::credential(parts.uri(), parts.headers(), security.schemes);
    if credential.is_none() && !security.optional {
        let mut error = HttpError::unauthorized("this operation needs a credential");
        if let Some(challenge) = crate::auth::challenge(security.schemes) {
            error = error.with_header(http::header::WWW_AUTHENTICATE, challenge);
        }
        return Err(error);
    }
    authenticate(credential).await
}

/// Which of the media types an operation accepts the request body has: `None` for an empty
/// body; the first one when the request names no `Content-Type`; 415 naming the accepted ones
/// otherwise. `*/*` and `type/*` in `accepted` match any type or subtype.
pub fn media(parts: &RequestParts, accepted: &[&str]) -> Result<Option<usize>, HttpError> {
    if parts.body().is_empty() {
        return Ok(None);
    }
    let Some(content_type) = parts.content_type() else {
        return Ok(Some(0));
    };
    let (kind, _) = content_type.split_once('/').unwrap_or((&content_type, ""));
    let found = accepted.iter().position(|media| {
        let media = media.to_ascii_lowercase();
        media == content_type || media == "*/*" || media == format!("{kind}/*")
    });
    found.map(Some).ok_or_else(|| {
        HttpError::new(
            415,
            format!(
                "the request body is `{content_type}`; this operation accepts {}",
                accepted
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// The 400 of a required body that is missing.
pub fn body_required() -> HttpError {
    HttpError::bad_request("a request body is required")
}

/// The body as JSON of type `T`.
pub fn read_json<T: serde::de::DeserializeOwned>(parts: &RequestParts) -> Result<T, HttpError> {
    crate::json::from_slice(parts.body())
        .map_err(|e| HttpError::bad_request(format!("the request body is not valid: {e}")))
}

/// The body as UTF-8 text.
pub fn read_text(parts: &RequestParts) -> Result<String, HttpError> {
    String::from_utf8(parts.body().to_vec())
        .map_err(|_| HttpError::bad_request("the request body is not UTF-8 text"))
}

/// The body as bytes.
pub fn read_bytes(parts: &RequestParts) -> Bytes {
    parts.body().clone()
}

/// The body as an `application/x-www-form-urlencoded` form.
pub fn read_form<F: FormBody>(parts: &RequestParts) -> Result<F, HttpError> {
    F::read_form(&FormReader::from_urlencoded(parts.body()))
        .map_err(|e| HttpError::bad_request(format!("the request body's field {e}")))
}

/// The body as a `multipart/form-data` form.
pub fn read_multipart<F: FormBody>(parts: &RequestParts) -> Result<F, HttpError> {
    let boundary = parts
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or_else(|| HttpError::bad_request("the multipart request body has no boundary"))?;
    let form = FormReader::from_multipart(parts.body().clone(), &boundary).map_err(|e| {
        HttpError::bad_request(format!("the multipart request body is not valid: {e}"))
    })?;
    F::read_form(&form).map_err(|e| HttpError::bad_request(format!("the request body's field {e}")))
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn with_body(code: u16, content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    (
        status(code),
        [(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        )],
        body.into(),
    )
        .into_response()
}

/// A response with a JSON body of this media type.
pub fn json<T: serde::Serialize>(code: u16, content_type: &'static str, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_body(code, content_type, bytes),
        Err(e) => {
            HttpError::internal(format!("the response could not be encoded: {e}")).into_response()
        }
    }
}

/// A response with a text body of this media type.
pub fn text(code: u16, content_type: &'static str, body: String) -> Response {
    with_body(code, content_type, body)
}

/// A response with a binary body of this media type.
pub fn bytes(code: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response {
    with_body(code, content_type, body.into())
}

/// A response without a body.
pub fn empty(code: u16) -> Response {
    status(code).into_response()
}

/// The status of a response the service chose within a range (`2XX`: `class` 2); a status
/// outside it is a bug of the service, answered with a 500 problem instead.
pub fn in_class(code: u16, class: u16) -> Result<u16, HttpError> {
    if code / 100 == class && StatusCode::from_u16(code).is_ok() {
        Ok(code)
    } else {
        Err(HttpError::internal(format!(
            "the service answered {code} for a response declared as {class}XX"
        )))
    }
}

/// Set a response header; a name or value that is not valid in a header is left out.
pub fn set_header<T: ParamValue>(response: &mut Response, name: &'static str, value: &T) {
    let (Ok(name), Ok(value)) = (
        http::HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(&crate::params::to_text(value)),
    ) else {
        return;
    };
    response.headers_mut().insert(name, value);
}

/// Set a response header that may be absent.
pub fn set_header_optional<T: ParamValue>(
    response: &mut Response,
    name: &'static str,
    value: &Option<T>,
) {
    if let Some(value) = value {
        set_header(response, name, value);
    }
}

/// Set a comma-separated list header (nothing for an empty list).
pub fn set_header_list<T: ParamValue>(response: &mut Response, name: &'static str, values: &[T]) {
    if !values.is_empty() {
        set_header(
            response,
            name,
            &values
                .iter()
                .map(crate::params::to_text)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
}
