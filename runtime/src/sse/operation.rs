//! Operations whose response is an event stream, generically: the axum handler and the client
//! calls that generated code instantiates with its request struct and event enum, so each
//! generated operation is a few lines.
//!
//! On the server, [`respond`] reads the request ([`RequestParts`](crate::request::RequestParts) under the configured
//! [`RequestLimits`](crate::request::RequestLimits)), builds the request struct
//! ([`FromRequest`](crate::request::FromRequest)), calls the user's method and answers with the stream (and the end-of-stream
//! sentinel, if the spec declares one); [`respond_or_json`] also serves the JSON form to
//! requests that do not accept `text/event-stream`. On the client, [`ApiClient`] turns a
//! request struct ([`ToRequest`](crate::params::ToRequest)) into a reconnecting [`EventStream`](super::client::EventStream).

#[cfg(feature = "sse-server")]
pub use server_side::*;

#[cfg(feature = "sse-client")]
pub use client_side::*;

#[cfg(feature = "sse-server")]
mod server_side {
    use std::future::Future;

    use axum::response::{IntoResponse, Response};

    use crate::api::server::{Security, authorize};
    use crate::auth::Credential;
    use crate::http::{HttpError, json_response};
    use crate::request::{FromRequest, RequestParts};
    use crate::sse::EventSet;
    use crate::sse::server::{EventStream, ServerConfig, accepts_event_stream};

    /// What the handlers of a generated router share: the user's service and the settings.
    #[derive(Debug)]
    pub struct Service<S> {
        /// The implementation of the generated trait.
        pub service: S,
        /// The settings of every response.
        pub config: ServerConfig,
    }

    async fn read<R: FromRequest>(
        request: axum::extract::Request,
        config: &ServerConfig,
    ) -> Result<(RequestParts, R), HttpError> {
        let parts = RequestParts::read(request, &config.request_limits).await?;
        let request = R::from_request(&parts)?;
        Ok((parts, request))
    }

    fn stream_response<E: EventSet + Send + 'static>(
        stream: Result<EventStream<E>, HttpError>,
        config: &ServerConfig,
        sentinel: Option<&'static str>,
    ) -> Response {
        match (stream, sentinel) {
            (Ok(stream), Some(sentinel)) => stream.ending_with(sentinel).into_response(config),
            (Ok(stream), None) => stream.into_response(config),
            (Err(error), _) => error.into_response(),
        }
    }

    /// Answer `request` with the event stream `stream` makes of its request struct (a 4xx when
    /// the request does not match the spec), ending it with `sentinel` if there is one.
    pub async fn respond<R, E, F, Fut>(
        request: axum::extract::Request,
        config: &ServerConfig,
        sentinel: Option<&'static str>,
        stream: F,
    ) -> Response
    where
        R: FromRequest,
        E: EventSet + Send + 'static,
        F: FnOnce(R) -> Fut,
        Fut: Future<Output = Result<EventStream<E>, HttpError>>,
    {
        match read::<R>(request, config).await {
            Ok((_, request)) => stream_response(stream(request).await, config, sentinel),
            Err(error) => error.into_response(),
        }
    }

    /// As [`respond`], for a secured operation: the credential of `security`'s schemes is
    /// checked by `authenticate` first (see [`authorize`](crate::api::server::authorize)), and
    /// what it returns is handed to `stream` with the request.
    pub async fn respond_secured<R, E, A, AF, AFut, F, Fut>(
        request: axum::extract::Request,
        config: &ServerConfig,
        sentinel: Option<&'static str>,
        security: Security<'static>,
        authenticate: AF,
        stream: F,
    ) -> Response
    where
        R: FromRequest,
        E: EventSet + Send + 'static,
        AF: FnOnce(Option<Credential>) -> AFut,
        AFut: Future<Output = Result<A, HttpError>>,
        F: FnOnce(A, R) -> Fut,
        Fut: Future<Output = Result<EventStream<E>, HttpError>>,
    {
        let parts = match RequestParts::read(request, &config.request_limits).await {
            Ok(parts) => parts,
            Err(error) => return error.into_response(),
        };
        let auth = match authorize(&parts, security, authenticate).await {
            Ok(auth) => auth,
            Err(error) => return error.into_response(),
        };
        match R::from_request(&parts) {
            Ok(request) => stream_response(stream(auth, request).await, config, sentinel),
            Err(error) => error.into_response(),
        }
    }

    /// As [`respond_or_json`], for a secured operation (see [`respond_secured`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn respond_or_json_secured<R, E, J, A, AF, AFut, F, Fut, G, GFut>(
        request: axum::extract::Request,
        config: &ServerConfig,
        sentinel: Option<&'static str>,
        security: Security<'static>,
        authenticate: AF,
        stream: F,
        json: G,
    ) -> Response
    where
        R: FromRequest,
        E: EventSet + Send + 'static,
        J: serde::Serialize,
        AF: FnOnce(Option<Credential>) -> AFut,
        AFut: Future<Output = Result<A, HttpError>>,
        F: FnOnce(A, R) -> Fut,
        Fut: Future<Output = Result<EventStream<E>, HttpError>>,
        G: FnOnce(A, R) -> GFut,
        GFut: Future<Output = Result<J, HttpError>>,
    {
        let parts = match RequestParts::read(request, &config.request_limits).await {
            Ok(parts) => parts,
            Err(error) => return error.into_response(),
        };
        let auth = match authorize(&parts, security, authenticate).await {
            Ok(auth) => auth,
            Err(error) => return error.into_response(),
        };
        let request = match R::from_request(&parts) {
            Ok(request) => request,
            Err(error) => return error.into_response(),
        };
        if accepts_event_stream(parts.headers()) {
            stream_response(stream(auth, request).await, config, sentinel)
        } else {
            match json(auth, request).await {
                Ok(value) => json_response(&value),
                Err(error) => error.into_response(),
            }
        }
    }

    /// As [`respond`], for an operation that also answers with one JSON document: a request
    /// whose `Accept` does not take `text/event-stream` gets what `json` returns.
    pub async fn respond_or_json<R, E, J, F, Fut, G, GFut>(
        request: axum::extract::Request,
        config: &ServerConfig,
        sentinel: Option<&'static str>,
        stream: F,
        json: G,
    ) -> Response
    where
        R: FromRequest,
        E: EventSet + Send + 'static,
        J: serde::Serialize,
        F: FnOnce(R) -> Fut,
        Fut: Future<Output = Result<EventStream<E>, HttpError>>,
        G: FnOnce(R) -> GFut,
        GFut: Future<Output = Result<J, HttpError>>,
    {
        let (parts, request) = match read::<R>(request, config).await {
            Ok(read) => read,
            Err(error) => return error.into_response(),
        };
        if accepts_event_stream(parts.headers()) {
            stream_response(stream(request).await, config, sentinel)
        } else {
            match json(request).await {
                Ok(value) => json_response(&value),
                Err(error) => error.into_response(),
            }
        }
    }
}

#[cfg(feature = "sse-client")]
mod client_side {
    pub use crate::api::client::ApiClient;
}
