//! A served WebSocket channel, generically: generated code describes each channel (and each
//! socket several channels share) as an [`Endpoint`] — its message sets, how a connection is
//! opened, where messages go — and [`route`] does the rest: reading the upgrade request under
//! the configured [`RequestLimits`](crate::request::RequestLimits), refusing it with a 4xx when
//! it does not match the spec or is not authenticated, upgrading, and running the connection.
//!
//! The user implements the generated channel trait; the generated endpoint adapts it, in a few
//! lines per channel.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};

use super::server::{Disconnect, Handler, InvalidPolicy, Outbound, ServerConfig};
use super::{DecodeError, MessageSet};
use crate::http::HttpError;
use crate::request::RequestParts;

/// One served channel (or socket) of a service `S`: implemented by generated code for a type of
/// its own, never instantiated.
pub trait Endpoint<S: Send + Sync + 'static>: Send + 'static {
    /// What clients send.
    type In: MessageSet;
    /// What the server sends.
    type Out: MessageSet;
    /// What the service keeps for one connection.
    type Session: Send + 'static;

    /// A client asks to connect: read its connection parameters from `request`, authenticate
    /// it and open its session, or refuse the upgrade with the error's status.
    fn open(
        service: &S,
        request: &RequestParts,
        outbound: &Outbound<Self::Out>,
    ) -> impl Future<Output = Result<Self::Session, HttpError>> + Send;

    /// One message from the client, in the order they came (requests of request/reply
    /// operations are answered on `outbound`).
    fn message(
        service: &S,
        session: &mut Self::Session,
        outbound: &Outbound<Self::Out>,
        message: Self::In,
    ) -> impl Future<Output = ()> + Send;

    /// A frame that did not decode: how to answer it, or `None` for the configured
    /// [`ServerConfig::on_invalid`].
    fn invalid(
        service: &S,
        session: &mut Self::Session,
        error: DecodeError,
    ) -> impl Future<Output = Option<InvalidPolicy>> + Send;

    /// The connection ended.
    fn disconnect(
        service: &S,
        session: Self::Session,
        reason: Disconnect,
    ) -> impl Future<Output = ()> + Send;
}

/// Send the reply to a request, with the request's correlation id (if it had one). A full
/// queue closes the connection (1008) by itself, so there is nothing to report.
pub fn reply<M: MessageSet>(outbound: &Outbound<M>, correlation: Option<&str>, mut reply: M) {
    if let Some(id) = correlation {
        reply.set_correlation_id(id);
    }
    let _ = outbound.send(&reply);
}

/// What the connections of one route share.
struct Shared<S> {
    service: Arc<S>,
    config: Arc<ServerConfig>,
}

/// An axum router serving endpoint `E` of `service` at `path` (an axum route).
pub fn route<S, E>(path: &str, service: Arc<S>, config: Arc<ServerConfig>) -> axum::Router
where
    S: Send + Sync + 'static,
    E: Endpoint<S>,
{
    axum::Router::new()
        .route(path, axum::routing::get(accept::<S, E>))
        .with_state(Arc::new(Shared { service, config }))
}

async fn accept<S, E>(
    axum::extract::State(shared): axum::extract::State<Arc<Shared<S>>>,
    request: axum::extract::Request,
) -> Response
where
    S: Send + Sync + 'static,
    E: Endpoint<S>,
{
    let (mut head, _) = request.into_parts();
    let ws = match super::server::WebSocketUpgrade::from_parts(&mut head).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection,
    };
    let request = match RequestParts::from_head(head, &shared.config.request_limits).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let outbound = Outbound::new(&shared.config);
    let session = match E::open(&shared.service, &request, &outbound).await {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    let connection = Connection::<S, E> {
        service: shared.service.clone(),
        config: shared.config.clone(),
        outbound: outbound.clone(),
        session,
        _endpoint: PhantomData,
    };
    super::server::upgrade::<E::In, E::Out, _>(ws, shared.config.clone(), outbound, connection)
}

/// One open connection: its session, and where replies go.
struct Connection<S, E: Endpoint<S>>
where
    S: Send + Sync + 'static,
{
    service: Arc<S>,
    config: Arc<ServerConfig>,
    outbound: Outbound<E::Out>,
    session: E::Session,
    _endpoint: PhantomData<fn() -> E>,
}

impl<S, E> Handler<E::In> for Connection<S, E>
where
    S: Send + Sync + 'static,
    E: Endpoint<S>,
{
    async fn on_message(&mut self, message: E::In) {
        E::message(&self.service, &mut self.session, &self.outbound, message).await;
    }

    async fn on_invalid(&mut self, error: DecodeError) -> InvalidPolicy {
        match E::invalid(&self.service, &mut self.session, error).await {
            Some(policy) => policy,
            None => self.config.on_invalid,
        }
    }

    async fn on_disconnect(self, reason: Disconnect) {
        E::disconnect(&self.service, self.session, reason).await;
    }
}
