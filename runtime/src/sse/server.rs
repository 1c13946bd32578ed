//! The server side of SSE on axum 0.8: a stream of encoded frames becomes a `text/event-stream`
//! response that batches ready frames into one write and sends keep-alive comments only when the
//! connection was idle; plus the request-side helpers generated handlers call.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{EventSet, SseEvent};

/// The comment frame sent on an idle connection.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// Settings of SSE responses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Send a keep-alive comment when nothing was sent for this long (checked on a fixed tick,
    /// so an idle gap lasts between one and two intervals); `None` or zero sends none.
    /// Default: 15 s, under the usual 30–60 s idle timeouts of proxies.
    pub keep_alive: Option<Duration>,
    /// When several frames are ready at once, they are joined into one chunk of up to this many
    /// bytes, written with one write. Default: 64 KiB.
    pub max_batch: usize,
    /// Limits on what a request may carry (target length, parameter length, body size),
    /// checked before generated code reads it.
    pub request_limits: crate::request::RequestLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            keep_alive: Some(Duration::from_secs(15)),
            max_batch: 64 * 1024,
            request_limits: crate::request::RequestLimits::default(),
        }
    }
}

impl ServerConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same settings with another keep-alive interval (`None` for no keep-alive).
    pub fn with_keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.keep_alive = interval;
        self
    }

    /// The same settings with another batch limit, in bytes.
    pub fn with_max_batch(mut self, bytes: usize) -> Self {
        self.max_batch = bytes;
        self
    }

    /// The same settings with other request limits.
    pub fn with_request_limits(mut self, limits: crate::request::RequestLimits) -> Self {
        self.request_limits = limits;
        self
    }
}

/// A `200 text/event-stream` response sending `frames` (already encoded, for example a
/// [`Subscription`](super::broadcast::Subscription)), with `Cache-Control: no-cache` and
/// `X-Accel-Buffering: no` (so nginx does not buffer it).
pub fn sse_response<S>(frames: S, config: &ServerConfig) -> Response
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    let body = FrameBody {
        frames,
        keep_alive: config.keep_alive.filter(|period| !period.is_zero()),
        interval: None,
        sent: false,
        max_batch: config.max_batch,
        done: false,
    };
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

pin_project_lite::pin_project! {
    /// The response body: frames batched, keep-alive comments in idle intervals.
    struct FrameBody<S> {
        #[pin]
        frames: S,
        keep_alive: Option<Duration>,
        // Made on the first poll, inside the runtime (making one outside panics).
        interval: Option<Interval>,
        // Something was sent since the last tick.
        sent: bool,
        max_batch: usize,
        done: bool,
    }
}

impl<S: Stream<Item = Bytes>> Stream for FrameBody<S> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if !*this.done {
            // The first ready frame is sent as it is; more ready frames are copied into a batch.
            let mut first: Option<Bytes> = None;
            let mut batch: Vec<u8> = Vec::new();
            loop {
                match this.frames.as_mut().poll_next(cx) {
                    Poll::Ready(Some(frame)) => {
                        if frame.is_empty() {
                            continue;
                        }
                        if first.is_none() && batch.is_empty() {
                            first = Some(frame);
                        } else {
                            if let Some(first) = first.take() {
                                batch.reserve(first.len() + frame.len());
                                batch.extend_from_slice(&first);
                            }
                            batch.extend_from_slice(&frame);
                        }
                    }
                    Poll::Ready(None) => {
                        *this.done = true;
                        break;
                    }
                    Poll::Pending => break,
                }
                let size = first.as_ref().map_or(batch.len(), Bytes::len);
                if size >= *this.max_batch {
                    break;
                }
            }
            let chunk = first.or_else(|| (!batch.is_empty()).then(|| Bytes::from(batch)));
            if let Some(chunk) = chunk {
                *this.sent = true;
                return Poll::Ready(Some(Ok(chunk)));
            }
        }
        if *this.done {
            return Poll::Ready(None);
        }
        if this.interval.is_none()
            && let Some(period) = *this.keep_alive
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            *this.interval = Some(interval);
        }
        if let Some(interval) = this.interval.as_mut() {
            // One fixed tick, never reset per frame: a tick with nothing sent since the last one
            // sends a keep-alive.
            while interval.poll_tick(cx).is_ready() {
                if !std::mem::take(this.sent) {
                    return Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE))));
                }
            }
        }
        Poll::Pending
    }
}

/// The event stream of one typed SSE endpoint: what a generated server trait method returns.
pub struct EventStream<E> {
    frames: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    _events: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl<E: EventSet + 'static> EventStream<E> {
    /// A stream of typed events (`E` or [`SseEvent<E>`] with IDs), each encoded as it is sent.
    /// An event that fails to encode (its JSON serialization fails, or its ID has CR, LF or NUL)
    /// ends the stream there, so the client reconnects instead of silently missing it.
    pub fn new<S>(events: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: Into<SseEvent<E>>,
    {
        let frames = events.scan((), |_, event| {
            std::future::ready(event.into().encode().ok())
        });
        EventStream {
            frames: Box::pin(frames),
            _events: PhantomData,
        }
    }

    /// A stream of frames encoded already: a [`Broadcaster`](super::broadcast::Broadcaster)
    /// subscription, or frames from [`SseEvent::encode`]. They should be events of `E`.
    pub fn from_frames<S>(frames: S) -> Self
    where
        S: Stream<Item = Bytes> + Send + 'static,
    {
        EventStream {
            frames: Box::pin(frames),
            _events: PhantomData,
        }
    }

    /// The same stream followed, once it ends, by one event whose data is `sentinel` (the
    /// end-of-stream marker a spec declares, such as `[DONE]`): clients stop there instead of
    /// reconnecting. Generated handlers call this for endpoints that declare a sentinel.
    pub fn ending_with(self, sentinel: &str) -> Self {
        let mut frame = Vec::with_capacity(sentinel.len() + 8);
        // Without a name or an id, encoding only fails on names and ids; the data is split on
        // line endings like any other.
        let end = match super::encode::encode_event(&mut frame, None, None, None, sentinel) {
            Ok(()) => Some(Bytes::from(frame)),
            Err(_) => None,
        };
        EventStream {
            frames: Box::pin(self.frames.chain(futures_util::stream::iter(end))),
            _events: PhantomData,
        }
    }

    /// The `text/event-stream` response sending this stream ([`sse_response`]).
    pub fn into_response(self, config: &ServerConfig) -> Response {
        sse_response(self.frames, config)
    }
}

/// The `Last-Event-ID` request header: the ID a reconnecting client last received. `None` when
/// absent, empty or not UTF-8.
pub fn last_event_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("last-event-id")?;
    let id = std::str::from_utf8(value.as_bytes()).ok()?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// Whether a request should get the event stream rather than a JSON document, by its `Accept`
/// headers: yes without one (or an unreadable one), no when `text/event-stream` is refused
/// (`q=0`) or ranked below `application/json`. A media range counts by its most specific match
/// (`text/event-stream` over `text/*` over `*/*`), as RFC 9110 says.
pub fn accepts_event_stream(headers: &HeaderMap) -> bool {
    let mut stream = Preference::default();
    let mut json = Preference::default();
    let mut any = false;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut params = range.split(';');
            let media = params.next().unwrap_or("").trim();
            if media.is_empty() {
                continue;
            }
            any = true;
            let q = params
                .filter_map(|p| p.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, q)| q.trim().parse::<f32>().unwrap_or(0.0));
            stream.offer(media, "text", "event-stream", q);
            json.offer(media, "application", "json", q);
        }
    }
    if !any {
        return true;
    }
    let stream = stream.q();
    stream > 0.0 && stream >= json.q()
}

/// The quality of one media type under an `Accept` header: the `q` of its most specific match.
#[derive(Default)]
struct Preference {
    /// (specificity, q): 3 exact, 2 `type/*`, 1 `*/*`, 0 no match.
    best: (u8, f32),
}

impl Preference {
    fn offer(&mut self, media: &str, kind: &str, subtype: &str, q: f32) {
        let Some((k, s)) = media.split_once('/') else {
            return;
        };
        let (k, s) = (k.trim(), s.trim());
        let specificity = if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) {
            3
        } else if k.eq_ignore_ascii_case(kind) && s == "*" {
            2
        } else if k == "*" && s == "*" {
            1
        } else {
            return;
        };
        if specificity > self.best.0 || (specificity == self.best.0 && q > self.best.1) {
            self.best = (specificity, q);
        }
    }

    fn q(&self) -> f32 {
        if self.best.0 == 0 { 0.0 } else { self.best.1 }
    }
}
