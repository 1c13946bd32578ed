//! Operations whose response is an event stream, generically: the axum handler and the client
//! calls that generated code instantiates with its request struct and event enum, so each
//! generated operation is a few lines.
//!
//! On the server, [`respond`] reads the request ([`RequestParts`] under the configured
//! [`RequestLimits`](crate::request::RequestLimits)), builds the request struct
//! ([`FromRequest`]), calls the user's method and answers with the stream (and the end-of-stream
//! sentinel, if the spec declares one); [`respond_or_json`] also serves the JSON form to
//! requests that do not accept `text/event-stream`. On the client, [`ApiClient`] turns a
//! request struct ([`ToRequest`]) into a reconnecting [`EventStream`](super::client::EventStream).

#[cfg(feature = "sse-server")]
pub use server_side::*;

#[cfg(feature = "sse-client")]
pub use client_side::*;

#[cfg(feature = "sse-server")]
mod server_side {
    use std::future::Future;

    use axum::response::{IntoResponse, Response};

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
    use bytes::Bytes;
    use http::{HeaderMap, Method};

    use crate::params::{ToRequest, UrlBuilder};
    use crate::sse::EventSet;
    use crate::sse::client::{
        ClientConfig, ClientError, EventStream, HttpClient, StreamRequest, fetch_json, http_client,
        subscribe,
    };

    /// A client of one server: its base URL, an HTTP client and the settings, shared by every
    /// call (cheap to clone).
    #[derive(Clone, Debug)]
    pub struct ApiClient {
        base_url: String,
        http: HttpClient,
        config: ClientConfig,
    }

    impl ApiClient {
        /// A client of the server at `base_url` (for example `http://127.0.0.1:3000`).
        pub fn new(base_url: impl Into<String>, config: ClientConfig) -> Self {
            ApiClient {
                base_url: base_url.into(),
                http: http_client(&config),
                config,
            }
        }

        /// The base URL.
        pub fn base_url(&self) -> &str {
            &self.base_url
        }

        /// The settings.
        pub fn config(&self) -> &ClientConfig {
            &self.config
        }

        /// The HTTP request opening the stream of `request`.
        pub fn stream_request<R: ToRequest>(
            &self,
            method: Method,
            request: &R,
            sentinel: Option<&'static str>,
        ) -> Result<StreamRequest, ClientError> {
            let mut url = UrlBuilder::new(&self.base_url);
            request.write_url(&mut url);
            let mut headers = HeaderMap::new();
            request
                .write_headers(&mut headers)
                .map_err(|error| ClientError::Request(error.to_string()))?;
            let body = request.json_body().map_err(|error| {
                ClientError::Request(format!("the request body does not serialize: {error}"))
            })?;
            let mut built = StreamRequest::new(method, url.finish());
            built.headers = headers;
            built.body = body.map(Bytes::from);
            built.last_event_id = request.last_event_id().map(str::to_owned);
            built.sentinel = sentinel.map(str::to_owned);
            Ok(built)
        }

        /// Subscribe to the stream of `request`: it reconnects and resumes by itself.
        pub fn subscribe<R: ToRequest, E: EventSet + Send + 'static>(
            &self,
            method: Method,
            request: &R,
            sentinel: Option<&'static str>,
        ) -> EventStream<E> {
            match self.stream_request(method, request, sentinel) {
                Ok(built) => subscribe(self.http.clone(), built, self.config.clone()),
                Err(error) => EventStream::failed(error),
            }
        }

        /// Ask for the JSON form of a stream's endpoint, once.
        pub async fn fetch_json<R: ToRequest, T: serde::de::DeserializeOwned>(
            &self,
            method: Method,
            request: &R,
        ) -> Result<T, ClientError> {
            let built = self.stream_request(method, request, None)?;
            fetch_json(&self.http, built, &self.config).await
        }
    }
}
