//! `petstore-server`: the pet store demo server, built on the generated code. A simulation
//! places, ships and delivers orders, completes adoptions and changes pet statuses in memory,
//! and every change goes out on `GET /v1/pets/notifications` as a typed Server-Sent Event.
//! The plain operations answer from the same state: the catalogue (`GET /v1/pets`, one pet, a
//! pet's photo), orders (`POST /v1/orders` places one the simulation then ships and delivers;
//! `GET /v1/orders/{orderId}`) and the auctions (`GET /v1/auctions`). Auctions run on the
//! WebSocket channel `/auctions/{auctionId}`: simulated bidders compete with whoever
//! connects, and each auction closes after `--auction-secs`. The support chat
//! (`/support/chat`) has an agent that answers every message and, on request, the
//! conversation's history. `/` serves a live page of the
//! notifications and an auction (`web/`, embedded), built on the generated TypeScript clients.
//!
//! ```text
//! petstore-server [--addr HOST:PORT] [--interval-ms N] [--auction-secs N]
//!                 [--redis redis://HOST:PORT] [--retention N]
//! curl -N http://127.0.0.1:3000/v1/pets/notifications
//! curl -N 'http://127.0.0.1:3000/v1/pets/notifications?userId=u-1001'
//! curl 'http://127.0.0.1:3000/v1/pets?status=AVAILABLE&limit=3'
//! curl -H 'Authorization: Bearer u-1001' -H 'Content-Type: application/json' \
//!      -d '{"petId": 3, "userId": "u-1001"}' http://127.0.0.1:3000/v1/orders
//! websocat 'ws://127.0.0.1:3000/auctions/a-demo?userId=u-1001&token=demo'
//! ```
//!
//! Events are encoded once and fanned out to every subscriber by the runtime's `Broadcaster`,
//! which numbers them, keeps them for resuming with `Last-Event-ID` and says so (a `wiregen-gap`
//! event) when it cannot. A `userId` subscription gets the same frames, filtered to the events
//! about that user's orders and pets. In memory by default; with `--redis` every instance on the
//! same Redis shares one event log (a Redis Stream) and the auctions' rooms, so a client can
//! resume on any instance and bidders on different instances see each other's bids. The
//! catalogue and the orders are what the event log says (every instance follows it); photos
//! and the auction list are per instance.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use petstore_generated::petstore_asyncapi::server as ws_server;
use petstore_generated::petstore_asyncapi::types::AuctionParams;
use petstore_generated::petstore_asyncapi::types::{
    AgentMessage, AgentTyping, AuctionClientMessage, AuctionEnd, AuctionServerMessage, BidPlaced,
    ChatEntry, HistoryReply, HistoryRequest, Outbid, SupportChatClientMessage, SupportChatParams,
    SupportChatServerMessage,
};
use petstore_generated::petstore_openapi::server::{self, PetStore};
use petstore_generated::petstore_openapi::types::{
    Adoption, AuctionSummary, GetOrderRequest, GetOrderResponse, GetPetPhotoRequest,
    GetPetPhotoResponse, GetPetRequest, GetPetResponse, ListAuctionsRequest, ListAuctionsResponse,
    ListPetsRequest, ListPetsResponse, NewOrder, Order as OrderView, OrderDelivered, OrderPlaced,
    OrderShipped, OrderStatus, Pet, PetPage, PetPhoto, PetStatus, PlaceOrderRequest,
    PlaceOrderResponse, Problem, StatusChange, StreamNotificationsEvent as Event,
    StreamNotificationsRequest, UploadPetPhotoRequest, UploadPetPhotoResponse,
};
use wiregen_runtime::auth::Credential;
use wiregen_runtime::backplane::redis::{Redis, Retention, StreamConfig};
use wiregen_runtime::http::HttpError;
use wiregen_runtime::serve::ServeConfig;
use wiregen_runtime::sse::broadcast::Broadcaster;
use wiregen_runtime::sse::parse::{Item, Parser};
use wiregen_runtime::sse::server::EventStream;
use wiregen_runtime::sse::{EventSet as _, GAP_EVENT, SseEvent};
use wiregen_runtime::ws::server::{Hub, Membership, Outbound};

const USAGE: &str = "\
usage: petstore-server [--addr HOST:PORT] [--interval-ms N] [--auction-secs N]
                      [--redis redis://HOST:PORT] [--retention N]

  --addr HOST:PORT   where to listen (default 127.0.0.1:3000; port 0 picks a free one)
  --interval-ms N    milliseconds between simulated store changes and bids (default 1000)
  --auction-secs N   how long an auction runs from its first connection (default 60)
  --redis URL        share the event log and the auctions with every instance on this Redis
                     (default: in memory, this process only)
  --retention N      with --redis: keep about N events for resuming (default 10000)

Auctions: ws://HOST:PORT/auctions/{auctionId}?userId=NAME&token=TOKEN (any non-empty token).
The live page: http://HOST:PORT/ (?user=NAME to bid under that name).

Prints `listening on http://HOST:PORT` once it accepts connections.";

/// How many recent events a reconnecting client can catch up on, in memory.
const REPLAY: usize = 1024;

/// The Redis Stream of the notifications and the hub of the auctions, with `--redis`.
const STREAM: &str = "petstore-notifications";
const AUCTIONS: &str = "petstore-auctions";

/// How many orders the store remembers (memory stays bounded however long it runs).
const MAX_ORDERS: usize = 10_000;

/// The staff's API key for uploading photos (`X-Staff-Key`).
const STAFF_KEY: &str = "staff-demo";

/// The largest photo accepted.
const MAX_PHOTO: usize = 1024 * 1024;

struct Options {
    addr: SocketAddr,
    interval: Duration,
    auction: Duration,
    redis: Option<String>,
    retention: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        interval: Duration::from_millis(1000),
        auction: Duration::from_secs(60),
        redis: None,
        retention: 10_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                let text = value("--addr")?;
                options.addr = text.parse().map_err(|_| {
                    format!("--addr {text}: expected HOST:PORT, e.g. 127.0.0.1:3000")
                })?;
            }
            "--interval-ms" => {
                let text = value("--interval-ms")?;
                let ms: u64 = text
                    .parse()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .ok_or(format!("--interval-ms {text}: expected a positive number"))?;
                options.interval = Duration::from_millis(ms);
            }
            "--auction-secs" => {
                let text = value("--auction-secs")?;
                let secs: u64 = text
                    .parse()
                    .ok()
                    .filter(|secs| (1..=86_400).contains(secs))
                    .ok_or(format!(
                        "--auction-secs {text}: expected a number of seconds, 1 to 86400"
                    ))?;
                options.auction = Duration::from_secs(secs);
            }
            "--redis" => options.redis = Some(value("--redis")?),
            "--retention" => {
                let text = value("--retention")?;
                options.retention = text
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--retention {text}: expected a positive number"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            say(USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            complain(&format!("petstore-server: {message}\n\n{USAGE}"));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            complain(&format!(
                "petstore-server: cannot start the async runtime: {error}"
            ));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            complain(&format!("petstore-server: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// A line on stdout; a closed pipe is not an error worth stopping the server for.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// A line on stderr, likewise.
fn complain(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

async fn serve(options: Options) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let (feed, hub) = match &options.redis {
        None => (Broadcaster::new(REPLAY, REPLAY), Hub::new()),
        Some(url) => {
            let unavailable = |error| std::io::Error::other(format!("--redis {url}: {error}"));
            let redis = Redis::connect(url).await.map_err(unavailable)?;
            let retention = Retention::new().max_len(Some(options.retention));
            let feed = Broadcaster::redis(&redis, STREAM, StreamConfig::new().retention(retention));
            feed.ready().await;
            let hub = Hub::redis(&redis, AUCTIONS).await.map_err(unavailable)?;
            (feed, hub)
        }
    };
    let auctions = Auctions::new(options.auction, hub);
    let store = Store::new(feed, auctions.clone());
    // Every instance learns who ordered what from the feed itself (orders placed on other
    // instances too), for the `userId` filter.
    tokio::spawn(store.clone().index());
    // The first change is made before the server answers: a client never races it.
    let mut dice = Dice(SEED);
    step(&store, &auctions, &mut dice).await;
    tokio::spawn(simulate(
        store.clone(),
        auctions.clone(),
        dice,
        options.interval,
    ));
    // Whoever started the server may stop reading its output: never panic over that.
    say(&format!(
        "listening on http://{addr}\n  open http://{addr} (the live page)\n  \
         curl -N http://{addr}/v1/pets/notifications\n  \
         auctions: ws://{addr}/auctions/a-demo?userId=u-1001&token=demo"
    ));
    let app = server::router(store)
        .merge(ws_server::auction_router(
            Arc::new(auctions),
            Arc::new(ws_server::ServerConfig::default()),
        ))
        .merge(ws_server::support_chat_router(
            Arc::new(Support),
            Arc::new(ws_server::ServerConfig::default()),
        ))
        .merge(page());
    // TCP_NODELAY (events are small and written one at a time), a timeout for request heads
    // and a connection limit.
    wiregen_runtime::serve::serve(listener, app, ServeConfig::default()).await
}

/// The store: the catalogue and the orders as the event feed tells them, the photos, the
/// auctions, and the feed.
#[derive(Clone)]
struct Store {
    shared: Arc<Mutex<Shared>>,
    /// Numbers each event, encodes it once for every subscriber, and resumes by
    /// `Last-Event-ID` (in memory, or on Redis with `--redis`).
    hub: Broadcaster,
    auctions: Auctions,
}

struct Shared {
    /// Each pet's status, by pet id − 1.
    pets: Vec<PetStatus>,
    /// The orders, by id.
    orders: BTreeMap<i64, OrderRecord>,
    /// The id the next order gets.
    next_order: i64,
    /// Uploaded photos, by pet id.
    photos: BTreeMap<i64, Photo>,
}

/// An order as the feed told it.
#[derive(Clone)]
struct OrderRecord {
    user: String,
    pet: i64,
    total: f64,
    placed_at: chrono::DateTime<chrono::FixedOffset>,
    status: OrderStatus,
    carrier: Option<String>,
    tracking_number: Option<String>,
    delivered_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The adoption that completes a delivered order was announced.
    adopted: bool,
}

/// A photo's bytes (served back as `application/octet-stream`, as the spec says).
struct Photo {
    data: Vec<u8>,
}

impl Store {
    fn new(hub: Broadcaster, auctions: Auctions) -> Self {
        Store {
            shared: Arc::new(Mutex::new(Shared {
                pets: vec![PetStatus::Available; PETS.len()],
                orders: BTreeMap::new(),
                next_order: 5001,
                photos: BTreeMap::new(),
            })),
            hub,
            auctions,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Send the event to every subscriber (of every instance, with `--redis`); the feed gives
    /// it its id.
    async fn publish(&self, event: Event) {
        self.lock().remember(&event);
        if let Err(error) = self.hub.publish(&SseEvent::new(event)).await {
            complain(&format!("petstore-server: event not published: {error}"));
        }
    }

    /// Follow the feed (from the oldest event kept) and remember every order placed.
    async fn index(self) {
        let mut parser = Parser::new();
        let mut frames = self.hub.subscribe_with_history(None);
        while let Some(frame) = frames.next().await {
            for event in decode(&mut parser, &frame) {
                if let Some(Ok(event)) = event {
                    self.lock().remember(&event);
                }
            }
        }
    }

    /// Whether a frame goes to a `userId` subscription: a gap event always does.
    fn keeps(&self, user: &str, parser: &mut Parser, frame: &[u8]) -> bool {
        decode(parser, frame).into_iter().any(|event| match event {
            None => true,
            Some(Ok(event)) => {
                let mut shared = self.lock();
                shared.remember(&event);
                shared.concerns(user, &event)
            }
            Some(Err(_)) => false,
        })
    }
}

/// The events in an encoded frame: `None` for a gap event.
fn decode(
    parser: &mut Parser,
    frame: &[u8],
) -> Vec<Option<Result<Event, wiregen_runtime::sse::DecodeError>>> {
    let mut events = Vec::new();
    parser.push(frame, &mut |item| {
        if let Item::Event(event) = item {
            events
                .push((event.event != GAP_EVENT).then(|| Event::decode(&event.event, &event.data)));
        }
    });
    events
}

impl Shared {
    /// Apply an event to the catalogue and the orders (idempotent: the feed may tell an event
    /// more than once).
    fn remember(&mut self, event: &Event) {
        match event {
            Event::OrderPlaced(order) => {
                self.orders
                    .entry(order.order_id)
                    .or_insert_with(|| OrderRecord {
                        user: order.user_id.clone(),
                        pet: order.pet_id,
                        total: order.total,
                        placed_at: order.placed_at,
                        status: OrderStatus::Placed,
                        carrier: None,
                        tracking_number: None,
                        delivered_at: None,
                        adopted: false,
                    });
                self.next_order = self.next_order.max(order.order_id + 1);
                if self.orders.len() > MAX_ORDERS {
                    self.orders.pop_first();
                }
            }
            Event::OrderShipped(shipped) => {
                if let Some(order) = self.orders.get_mut(&shipped.order_id)
                    && order.status == OrderStatus::Placed
                {
                    order.status = OrderStatus::Shipped;
                    order.carrier = Some(shipped.carrier.clone());
                    order.tracking_number = shipped.tracking_number.clone();
                }
            }
            Event::OrderDelivered(delivered) => {
                if let Some(order) = self.orders.get_mut(&delivered.order_id) {
                    order.status = OrderStatus::Delivered;
                    order.delivered_at = Some(delivered.delivered_at);
                }
            }
            Event::Adoption(adoption) => {
                if let Some(order) = self.orders.values_mut().find(|order| {
                    order.pet == adoption.pet_id
                        && order.user == adoption.user_id
                        && order.status == OrderStatus::Delivered
                        && !order.adopted
                }) {
                    order.adopted = true;
                }
            }
            Event::StatusChange(change) => {
                if let Some(status) = pet_index(change.pet_id).and_then(|i| self.pets.get_mut(i)) {
                    *status = change.status;
                }
            }
        }
    }

    /// Is the event about one of `user`'s orders or a pet they ordered or adopted?
    fn concerns(&self, user: &str, event: &Event) -> bool {
        let order_of_user = |order_id: i64| {
            self.orders
                .get(&order_id)
                .is_some_and(|order| order.user == user)
        };
        match event {
            Event::Adoption(adoption) => adoption.user_id == user,
            Event::OrderPlaced(order) => order.user_id == user,
            Event::OrderShipped(order) => order_of_user(order.order_id),
            Event::OrderDelivered(order) => order_of_user(order.order_id),
            Event::StatusChange(change) => self
                .orders
                .values()
                .any(|order| order.user == user && order.pet == change.pet_id),
        }
    }

    fn pet(&self, id: i64) -> Option<Pet> {
        let index = pet_index(id)?;
        let (name, tags, nickname) = PETS.get(index)?;
        Some(Pet {
            id,
            name: (*name).to_owned(),
            status: *self.pets.get(index)?,
            tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
            nickname: nickname.map(str::to_owned),
        })
    }

    fn order(&self, id: i64) -> Option<OrderView> {
        let order = self.orders.get(&id)?;
        Some(OrderView {
            id,
            pet_id: order.pet,
            user_id: order.user.clone(),
            total: order.total,
            status: order.status,
            placed_at: order.placed_at,
            carrier: order.carrier.clone(),
            tracking_number: order.tracking_number.clone(),
            delivered_at: order.delivered_at,
        })
    }
}

/// A pet's index in [`PETS`], for a pet id (ids start at 1).
fn pet_index(id: i64) -> Option<usize> {
    usize::try_from(id.checked_sub(1)?)
        .ok()
        .filter(|&i| i < PETS.len())
}

/// An RFC 9457 problem document with a plain HTTP status.
fn problem(status: u16, title: &str, detail: String) -> Problem {
    Problem {
        r#type: "about:blank".to_owned(),
        title: title.to_owned(),
        status: i32::from(status),
        detail: Some(detail),
        instance: None,
    }
}

/// Who called a secured operation: a customer (their bearer token) or the staff.
#[derive(Debug)]
enum Caller {
    Customer,
    Staff,
}

impl PetStore for Store {
    type Auth = Caller;

    /// Orders need a customer's bearer token (this demo takes any non-empty one); photos
    /// need the staff key.
    async fn authenticate(
        &self,
        credential: Option<Credential>,
        operation: &'static str,
    ) -> Result<Caller, HttpError> {
        match (operation, credential) {
            ("uploadPetPhoto", Some(Credential::ApiKey(key))) if key == STAFF_KEY => {
                Ok(Caller::Staff)
            }
            ("uploadPetPhoto", _) => Err(HttpError::forbidden("only the staff key may upload")),
            (_, Some(Credential::Bearer(token))) if !token.is_empty() => Ok(Caller::Customer),
            _ => Err(HttpError::unauthorized("a bearer token is required")),
        }
    }

    async fn list_pets(&self, request: ListPetsRequest) -> Result<ListPetsResponse, HttpError> {
        let ListPetsRequest {
            status,
            tag,
            limit,
            cursor,
        } = request;
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(HttpError::bad_request(format!(
                "parameter `limit`: {limit} is not between 1 and 100"
            )));
        }
        // A cursor is the id of the last pet of the page before: 1 to 18 digits, as the spec's
        // pattern says (so it always fits an i64).
        let after = match cursor.as_deref() {
            None => 0,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|_| {
                    (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| {
                    HttpError::bad_request(format!("parameter `cursor`: `{text}` is not a cursor"))
                })?,
        };
        let shared = self.lock();
        let matching: Vec<Pet> = (1..=PETS.len() as i64)
            .filter_map(|id| shared.pet(id))
            .filter(|pet| status.is_empty() || status.contains(&pet.status))
            .filter(|pet| {
                let tags = pet.tags.as_deref().unwrap_or_default();
                tag.iter().all(|wanted| tags.contains(wanted))
            })
            .collect();
        let total = matching.len() as i64;
        let mut page: Vec<Pet> = matching.into_iter().filter(|pet| pet.id > after).collect();
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = more
            .then(|| page.last().map(|pet| pet.id.to_string()))
            .flatten();
        Ok(ListPetsResponse::Ok {
            body: PetPage {
                items: page,
                next_cursor,
            },
            x_total_count: total,
        })
    }

    async fn get_pet(&self, request: GetPetRequest) -> Result<GetPetResponse, HttpError> {
        Ok(match self.lock().pet(request.pet_id) {
            Some(pet) => GetPetResponse::Ok(pet),
            None => GetPetResponse::NotFound(problem(
                404,
                "Not Found",
                format!("no pet with id {}", request.pet_id),
            )),
        })
    }

    async fn upload_pet_photo(
        &self,
        _staff: Caller,
        request: UploadPetPhotoRequest,
    ) -> Result<UploadPetPhotoResponse, HttpError> {
        let UploadPetPhotoRequest { pet_id, body } = request;
        if pet_index(pet_id).is_none() {
            return Ok(UploadPetPhotoResponse::NotFound(problem(
                404,
                "Not Found",
                format!("no pet with id {pet_id}"),
            )));
        }
        if body.photo.data.len() > MAX_PHOTO {
            return Err(HttpError::new(
                413,
                format!("the photo is larger than {MAX_PHOTO} bytes"),
            ));
        }
        let content_type = body
            .photo
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let stored = PetPhoto {
            pet_id,
            caption: body.caption,
            size: body.photo.data.len() as i64,
            content_type,
        };
        self.lock().photos.insert(
            pet_id,
            Photo {
                data: body.photo.data.to_vec(),
            },
        );
        Ok(UploadPetPhotoResponse::Created {
            body: stored,
            location: format!("/v1/pets/{pet_id}/photo"),
        })
    }

    async fn get_pet_photo(
        &self,
        request: GetPetPhotoRequest,
    ) -> Result<GetPetPhotoResponse, HttpError> {
        Ok(match self.lock().photos.get(&request.pet_id) {
            Some(photo) => GetPetPhotoResponse::Ok(photo.data.clone()),
            None => GetPetPhotoResponse::NotFound(problem(
                404,
                "Not Found",
                format!("pet {} has no photo", request.pet_id),
            )),
        })
    }

    async fn place_order(
        &self,
        _customer: Caller,
        request: PlaceOrderRequest,
    ) -> Result<PlaceOrderResponse, HttpError> {
        let NewOrder { pet_id, user_id } = request.body;
        if !valid_user(&user_id) {
            return Err(HttpError::bad_request(
                "userId may only contain letters, digits, '-' and '_' (at most 64)",
            ));
        }
        let (order_id, pet) = {
            let mut shared = self.lock();
            let Some(pet) = shared.pet(pet_id) else {
                return Ok(PlaceOrderResponse::NotFound(problem(
                    404,
                    "Not Found",
                    format!("no pet with id {pet_id}"),
                )));
            };
            if pet.status != PetStatus::Available {
                return Ok(PlaceOrderResponse::Conflict(problem(
                    409,
                    "Conflict",
                    format!("{} is {}, not AVAILABLE", pet.name, pet.status),
                )));
            }
            let order_id = shared.next_order;
            shared.next_order += 1;
            // Reserved at once, so two orders cannot take the same pet.
            if let Some(index) = pet_index(pet_id) {
                shared.pets[index] = PetStatus::Pending;
            }
            (order_id, pet)
        };
        let placed = OrderPlaced {
            order_id,
            pet_id,
            user_id,
            total: 100.0 + 12.5 * (pet.id % 8) as f64,
            placed_at: now(),
        };
        self.publish(Event::OrderPlaced(placed)).await;
        self.publish(status_change(pet_id as usize - 1, PetStatus::Pending))
            .await;
        let body = self
            .lock()
            .order(order_id)
            .ok_or_else(|| HttpError::internal("the order was placed but is not known"))?;
        Ok(PlaceOrderResponse::Created {
            body,
            location: format!("/v1/orders/{order_id}"),
        })
    }

    async fn get_order(
        &self,
        _customer: Caller,
        request: GetOrderRequest,
    ) -> Result<GetOrderResponse, HttpError> {
        Ok(match self.lock().order(request.order_id) {
            Some(order) => GetOrderResponse::Ok(order),
            None => GetOrderResponse::NotFound(problem(
                404,
                "Not Found",
                format!("no order with id {}", request.order_id),
            )),
        })
    }

    async fn list_auctions(
        &self,
        request: ListAuctionsRequest,
    ) -> Result<ListAuctionsResponse, HttpError> {
        let summaries = self
            .auctions
            .summaries()
            .into_iter()
            .filter(|summary| request.open.is_none_or(|open| summary.open == open))
            .collect();
        Ok(ListAuctionsResponse::Ok(summaries))
    }

    async fn stream_notifications(
        &self,
        request: StreamNotificationsRequest,
    ) -> Result<EventStream<Event>, HttpError> {
        let StreamNotificationsRequest {
            user_id,
            last_event_id,
        } = request;
        let Some(user) = user_id else {
            let frames = self.hub.subscribe(last_event_id.as_deref());
            return Ok(EventStream::from_frames(frames));
        };
        if !valid_user(&user) {
            return Err(HttpError::bad_request(
                "userId may only contain letters, digits, '-' and '_'",
            ));
        }
        // The same frames, ids and resume as everyone's, filtered.
        let store = self.clone();
        let mut parser = Parser::new();
        let frames = self
            .hub
            .subscribe(last_event_id.as_deref())
            .filter(move |frame| std::future::ready(store.keeps(&user, &mut parser, frame)));
        Ok(EventStream::from_frames(frames))
    }
}

/// A customer id: 1 to 64 letters, digits, `-` and `_`.
fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

// ---- auctions (WebSocket) ------------------------------------------------------------------

/// Simulated bidders, who never bid more than [`SIMULATED_BUDGET`].
const SIMULATED_BIDDERS: &[&str] = &["u-2001", "u-2002"];
const SIMULATED_BUDGET: f64 = 1000.0;

/// The open auctions: a hub of connections per auction id, and each auction's state.
#[derive(Clone)]
struct Auctions {
    hub: Hub<String, AuctionServerMessage>,
    rooms: Arc<Mutex<BTreeMap<String, Room>>>,
    length: Duration,
}

struct Room {
    /// The leading bid: who, how much, and their connection (`None` for simulated bidders).
    leader: Option<(String, f64, Option<Outbound<AuctionServerMessage>>)>,
    ends_at: Instant,
}

/// One bidder's connection.
struct Bidder {
    auction: String,
    user: String,
    outbound: Outbound<AuctionServerMessage>,
    _room: Membership<String, AuctionServerMessage>,
}

impl Auctions {
    fn new(length: Duration, hub: Hub<String, AuctionServerMessage>) -> Self {
        Auctions {
            hub,
            rooms: Arc::default(),
            length,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The auctions of this instance, by id (a room is open until its time is up; then the
    /// next auction starts in it while anybody is connected).
    fn summaries(&self) -> Vec<AuctionSummary> {
        let now = Instant::now();
        let wall = self::now();
        self.lock()
            .iter()
            .map(|(id, room)| {
                let left = room.ends_at.saturating_duration_since(now);
                AuctionSummary {
                    auction_id: id.clone(),
                    open: room.ends_at > now,
                    ends_at: wall + chrono::Duration::from_std(left).unwrap_or_default(),
                    highest_bid: room.leader.as_ref().map(|leader| leader.1),
                    bidder: room.leader.as_ref().map(|leader| leader.0.clone()),
                }
            })
            .collect()
    }

    /// A bid counts if it beats the leading one: everyone in the room hears of it, then the
    /// previous leader (if connected, and someone else) is told they were outbid.
    fn bid(
        &self,
        auction: &str,
        user: &str,
        amount: f64,
        from: Option<&Outbound<AuctionServerMessage>>,
    ) {
        let mut rooms = self.lock();
        let length = self.length;
        let room = rooms.entry(auction.to_owned()).or_insert_with(|| Room {
            leader: None,
            ends_at: Instant::now() + length,
        });
        let leading = room.leader.as_ref().map_or(0.0, |leader| leader.1);
        if !amount.is_finite() || amount <= leading {
            return;
        }
        let previous = room
            .leader
            .replace((user.to_owned(), amount, from.cloned()));
        let _ = self.hub.send(
            &auction.to_owned(),
            &AuctionServerMessage::BidPlaced(BidPlaced {
                user_id: user.to_owned(),
                amount,
            }),
        );
        if let Some((previous, _, Some(outbound))) = previous
            && previous != user
        {
            let _ = outbound.send(&AuctionServerMessage::Outbid(Outbid { new_amount: amount }));
        }
    }

    /// Once per simulation tick: close auctions whose time is up (the room starts a new one
    /// while anybody is still connected), and let simulated bidders raise now and then.
    fn tick(&self, dice: &mut Dice) {
        let now = Instant::now();
        let mut raises = Vec::new();
        {
            let mut rooms = self.lock();
            rooms.retain(|auction, room| {
                if now < room.ends_at {
                    let leader = room.leader.as_ref();
                    let leading = leader.map_or(0.0, |l| l.1);
                    let bidder = SIMULATED_BIDDERS[dice.below(SIMULATED_BIDDERS.len())];
                    let step = 5.0 * (1 + dice.below(5)) as f64;
                    if dice.below(3) == 0
                        && leader.is_none_or(|l| l.0 != bidder)
                        && leading + step <= SIMULATED_BUDGET
                    {
                        raises.push((auction.clone(), bidder, leading + step));
                    }
                    return true;
                }
                let winner = room.leader.take().map(|leader| leader.0);
                let _ = self.hub.send(
                    auction,
                    &AuctionServerMessage::AuctionEnd(AuctionEnd { winner }),
                );
                room.ends_at = now + self.length;
                self.hub.members(auction) > 0
            });
        }
        for (auction, bidder, amount) in raises {
            self.bid(&auction, bidder, amount, None);
        }
    }
}

impl ws_server::AuctionChannel for Auctions {
    type Session = Bidder;
    type Auth = ();

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        _params: &AuctionParams,
    ) -> Result<(), HttpError> {
        match credential {
            Some(Credential::ApiKey(token)) if !token.is_empty() => Ok(()),
            _ => Err(HttpError::new(
                401,
                "pass a `token` query parameter (this demo accepts any non-empty one)",
            )),
        }
    }

    async fn on_connect(
        &self,
        params: AuctionParams,
        _auth: (),
        outbound: Outbound<AuctionServerMessage>,
    ) -> Result<Bidder, HttpError> {
        let AuctionParams {
            auction_id,
            user_id,
        } = params;
        let length = self.length;
        self.lock()
            .entry(auction_id.clone())
            .or_insert_with(|| Room {
                leader: None,
                ends_at: Instant::now() + length,
            });
        Ok(Bidder {
            _room: self.hub.join(auction_id.clone(), &outbound),
            auction: auction_id,
            user: user_id.unwrap_or_else(|| "anonymous".to_owned()),
            outbound,
        })
    }

    async fn on_message(&self, session: &mut Bidder, message: AuctionClientMessage) {
        match message {
            AuctionClientMessage::Bid(bid) => {
                self.bid(
                    &session.auction,
                    &session.user,
                    bid.amount,
                    Some(&session.outbound),
                );
            }
            // The demo has one pet per auction; watching others is accepted and ignored.
            AuctionClientMessage::Watch(_) => {}
        }
    }
}

// ---- the support chat ------------------------------------------------------------------------

/// The support chat: a store agent that acknowledges every message (typing first), and answers
/// history requests from the conversation, which lives as long as the connection.
struct Support;

/// One customer's conversation.
struct Conversation {
    customer: String,
    outbound: Outbound<SupportChatServerMessage>,
    /// Oldest first, at most [`CONVERSATION`] entries.
    entries: Vec<ChatEntry>,
}

/// The entries a conversation keeps (and the most a history reply carries).
const CONVERSATION: usize = 100;
/// The agent's handle.
const AGENT: &str = "agent-ada";

impl Conversation {
    fn record(&mut self, from: &str, text: String, sent_at: chrono::DateTime<chrono::FixedOffset>) {
        if self.entries.len() == CONVERSATION {
            self.entries.remove(0);
        }
        self.entries.push(ChatEntry {
            from: from.to_owned(),
            text,
            sent_at,
        });
    }
}

impl ws_server::SupportChatChannel for Support {
    type Session = Conversation;
    type Auth = String;

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        _params: &SupportChatParams,
    ) -> Result<String, HttpError> {
        match credential {
            Some(Credential::ApiKey(token)) if !token.is_empty() => Ok(token),
            _ => Err(HttpError::new(
                401,
                "pass a `token` query parameter (this demo accepts any non-empty one)",
            )),
        }
    }

    async fn on_connect(
        &self,
        _params: SupportChatParams,
        customer: String,
        outbound: Outbound<SupportChatServerMessage>,
    ) -> Result<Conversation, HttpError> {
        Ok(Conversation {
            customer,
            outbound,
            entries: Vec::new(),
        })
    }

    async fn on_message(&self, session: &mut Conversation, message: SupportChatClientMessage) {
        match message {
            SupportChatClientMessage::ChatMessage(message) => {
                let customer = session.customer.clone();
                let answer = format!(
                    "Thanks, {customer}: we are looking into \"{}\".",
                    message.text
                );
                session.record(&customer, message.text, now());
                // Queued in order on this connection: typing, the answer, typing over.
                let typing =
                    |is_typing| SupportChatServerMessage::AgentTyping(AgentTyping { is_typing });
                let _ = session.outbound.send(&typing(true));
                let sent_at = now();
                let _ = session
                    .outbound
                    .send(&SupportChatServerMessage::AgentMessage(AgentMessage {
                        from: AGENT.to_owned(),
                        text: answer.clone(),
                        sent_at,
                    }));
                let _ = session.outbound.send(&typing(false));
                session.record(AGENT, answer, sent_at);
            }
            // The agent sees the customer typing; nothing to answer.
            SupportChatClientMessage::Typing(_) => {}
            // Requests go to `request_history`, never here.
            SupportChatClientMessage::HistoryRequest(_) => {}
        }
    }

    async fn request_history(
        &self,
        session: &mut Conversation,
        request: HistoryRequest,
    ) -> HistoryReply {
        let limit = request.limit.map_or(CONVERSATION, |n| {
            usize::try_from(n).unwrap_or(0).min(CONVERSATION)
        });
        let skip = session.entries.len().saturating_sub(limit);
        HistoryReply {
            request_id: request.request_id,
            messages: session.entries[skip..].to_vec(),
        }
    }
}

// ---- the simulation -------------------------------------------------------------------------

/// The catalogue: name, tags, nickname; a pet's id is its position + 1.
const PETS: &[(&str, &[&str], Option<&str>)] = &[
    ("Biscuit", &["dog", "puppy"], Some("Biss")),
    ("Pepper", &["cat"], None),
    ("Mochi", &["rabbit", "calm"], Some("Mo")),
    ("Juniper", &["dog"], None),
    ("Clover", &["guinea-pig", "calm"], None),
    ("Noodle", &["dog", "puppy"], Some("Noods")),
    ("Waffles", &["cat", "calm"], None),
    ("Maple", &["bird"], None),
];
const USERS: &[&str] = &["u-1001", "u-1002", "u-1003"];
const CARRIERS: &[&str] = &["PostNord", "DHL", "UPS"];

/// A small deterministic generator (xorshift): the demo needs variety, not security.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(since.as_secs() as i64, since.subsec_nanos())
        .unwrap_or_default()
        .fixed_offset()
}

/// The simulation's dice: the same run of changes every time.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// One store change per tick, forever, the first one tick after the change `main` makes
/// before it answers (so that with a long interval what clients see holds still).
async fn simulate(store: Store, auctions: Auctions, mut dice: Dice, interval: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        ticker.tick().await;
        step(&store, &auctions, &mut dice).await;
    }
}

/// One store change: place an order for an available pet, move an order one stage on
/// (delivery completes the adoption), or put an adopted pet back up; and a tick of the
/// auctions. It works on the store's state, so orders placed through `POST /v1/orders` move
/// on too.
async fn step(store: &Store, auctions: &Auctions, dice: &mut Dice) {
    auctions.tick(dice);
    let (available, adopted, moving, next_order) = {
        let shared = store.lock();
        let with = |wanted: PetStatus| -> Vec<usize> {
            (0..PETS.len())
                .filter(|&pet| shared.pets[pet] == wanted)
                .collect()
        };
        let moving: Vec<(i64, OrderRecord)> = shared
            .orders
            .iter()
            .filter(|(_, order)| !order.adopted)
            .map(|(id, order)| (*id, order.clone()))
            .collect();
        (
            with(PetStatus::Available),
            with(PetStatus::Adopted),
            moving,
            shared.next_order,
        )
    };
    let roll = dice.below(10);
    if (roll < 4 || moving.is_empty()) && !available.is_empty() {
        let pet = available[dice.below(available.len())];
        let user = USERS[dice.below(USERS.len())];
        store
            .publish(Event::OrderPlaced(OrderPlaced {
                order_id: next_order,
                pet_id: pet as i64 + 1,
                user_id: user.to_owned(),
                total: 50.0 + 12.5 * dice.below(12) as f64,
                placed_at: now(),
            }))
            .await;
        store.publish(status_change(pet, PetStatus::Pending)).await;
    } else if !moving.is_empty() && (roll < 9 || adopted.is_empty()) {
        let (id, order) = &moving[dice.below(moving.len())];
        match order.status {
            OrderStatus::Placed => {
                let carrier = CARRIERS[dice.below(CARRIERS.len())];
                store
                    .publish(Event::OrderShipped(OrderShipped {
                        order_id: *id,
                        carrier: carrier.to_owned(),
                        tracking_number: (carrier != "UPS").then(|| format!("TR{:09}", id * 7919)),
                    }))
                    .await;
            }
            OrderStatus::Shipped => {
                store
                    .publish(Event::OrderDelivered(OrderDelivered {
                        order_id: *id,
                        delivered_at: now(),
                    }))
                    .await;
            }
            OrderStatus::Delivered => {
                let pet = pet_index(order.pet).unwrap_or_default();
                store
                    .publish(Event::Adoption(Adoption {
                        pet_id: order.pet,
                        pet_name: PETS[pet].0.to_owned(),
                        user_id: order.user.clone(),
                    }))
                    .await;
                store.publish(status_change(pet, PetStatus::Adopted)).await;
            }
        }
    } else if !adopted.is_empty() {
        let pet = adopted[dice.below(adopted.len())];
        store
            .publish(status_change(pet, PetStatus::Available))
            .await;
    }
}

fn status_change(pet: usize, status: PetStatus) -> Event {
    Event::StatusChange(StatusChange {
        pet_id: pet as i64 + 1,
        status,
    })
}

// ---- the live page ---------------------------------------------------------------------------

/// The live page (`web/`, hand-written, and `web/dist/`, the generated TypeScript clients that
/// `scripts/build-web` compiles): every file it loads, embedded, by path. Nothing is read from
/// disk and no other path is served.
const PAGE: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../web/index.html")),
    ("/app.js", JAVASCRIPT, include_str!("../web/app.js")),
    (
        "/dist/petstore_openapi.js",
        JAVASCRIPT,
        include_str!("../web/dist/petstore_openapi.js"),
    ),
    (
        "/dist/petstore_asyncapi.js",
        JAVASCRIPT,
        include_str!("../web/dist/petstore_asyncapi.js"),
    ),
    (
        "/dist/wiregen-runtime.js",
        JAVASCRIPT,
        include_str!("../web/dist/wiregen-runtime.js"),
    ),
];
const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// A route per file of [`PAGE`].
fn page() -> axum::Router {
    let mut router = axum::Router::new();
    for &(path, content_type, body) in PAGE {
        let headers = [(axum::http::header::CONTENT_TYPE, content_type)];
        router = router.route(
            path,
            axum::routing::get(move || async move { (headers, body) }),
        );
    }
    router
}
