//! `petstore-server`: the pet store demo server, built on the generated code. A simulation
//! places, ships and delivers orders, completes adoptions and changes pet statuses in memory,
//! and every change goes out on `GET /v1/pets/notifications` as a typed Server-Sent Event.
//! Auctions run on the WebSocket channel `/auctions/{auctionId}`: simulated bidders compete
//! with whoever connects, and each auction closes after `--auction-secs`.
//!
//! ```text
//! petstore-server [--addr HOST:PORT] [--interval-ms N] [--auction-secs N]
//!                 [--redis redis://HOST:PORT] [--retention N]
//! curl -N http://127.0.0.1:3000/v1/pets/notifications
//! curl -N 'http://127.0.0.1:3000/v1/pets/notifications?userId=u-1001'
//! websocat 'ws://127.0.0.1:3000/auctions/a-demo?userId=u-1001&token=demo'
//! ```
//!
//! Events are encoded once and fanned out to every subscriber by the runtime's `Broadcaster`,
//! which numbers them, keeps them for resuming with `Last-Event-ID` and says so (a `wiregen-gap`
//! event) when it cannot. A `userId` subscription gets the same frames, filtered to the events
//! about that user's orders and pets. In memory by default; with `--redis` every instance on the
//! same Redis shares one event log (a Redis Stream) and the auctions' rooms, so a client can
//! resume on any instance and bidders on different instances see each other's bids.

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
    AuctionClientMessage, AuctionEnd, AuctionServerMessage, BidPlaced, Outbid,
};
use petstore_generated::petstore_openapi::server::{self, PetStoreNotifications};
use petstore_generated::petstore_openapi::types::StreamNotificationsRequest;
use petstore_generated::petstore_openapi::types::{
    Adoption, OrderDelivered, OrderPlaced, OrderShipped, PetStatus, StatusChange,
    StreamNotificationsEvent as Event,
};
use wiregen_runtime::backplane::redis::{Redis, Retention, StreamConfig};
use wiregen_runtime::http::HttpError;
use wiregen_runtime::serve::ServeConfig;
use wiregen_runtime::sse::broadcast::Broadcaster;
use wiregen_runtime::sse::parse::{Item, Parser};
use wiregen_runtime::sse::server::EventStream;
use wiregen_runtime::sse::{EventSet as _, GAP_EVENT, SseEvent};
use wiregen_runtime::ws::Credential;
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

Prints `listening on http://HOST:PORT` once it accepts connections.";

/// How many recent events a reconnecting client can catch up on, in memory.
const REPLAY: usize = 1024;

/// The Redis Stream of the notifications and the hub of the auctions, with `--redis`.
const STREAM: &str = "petstore-notifications";
const AUCTIONS: &str = "petstore-auctions";

/// How many orders the `userId` filter remembers (memory stays bounded however long it runs).
const MAX_ORDERS: usize = 10_000;

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
    let store = Store::new(feed);
    let auctions = Auctions::new(options.auction, hub);
    // Every instance learns who ordered what from the feed itself (orders placed on other
    // instances too), for the `userId` filter.
    tokio::spawn(store.clone().index());
    tokio::spawn(simulate(store.clone(), auctions.clone(), options.interval));
    // Whoever started the server may stop reading its output: never panic over that.
    say(&format!(
        "listening on http://{addr}\n  curl -N http://{addr}/v1/pets/notifications\n  \
         auctions: ws://{addr}/auctions/a-demo?userId=u-1001&token=demo"
    ));
    let app = server::router(store).merge(ws_server::auction_router(
        Arc::new(auctions),
        Arc::new(ws_server::ServerConfig::default()),
    ));
    // TCP_NODELAY (events are small and written one at a time), a timeout for request heads
    // and a connection limit.
    wiregen_runtime::serve::serve(listener, app, ServeConfig::default()).await
}

/// The store: who ordered which pet, and the event feed.
#[derive(Clone)]
struct Store {
    shared: Arc<Mutex<Shared>>,
    /// Numbers each event, encodes it once for every subscriber, and resumes by
    /// `Last-Event-ID` (in memory, or on Redis with `--redis`).
    hub: Broadcaster,
}

struct Shared {
    /// Order id → (user, pet), for the `userId` filter.
    orders: BTreeMap<i64, (String, i64)>,
}

impl Store {
    fn new(hub: Broadcaster) -> Self {
        Store {
            shared: Arc::new(Mutex::new(Shared {
                orders: BTreeMap::new(),
            })),
            hub,
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
    /// Remember who placed an order (idempotent: every subscriber may tell it).
    fn remember(&mut self, event: &Event) {
        if let Event::OrderPlaced(order) = event {
            self.orders
                .insert(order.order_id, (order.user_id.clone(), order.pet_id));
            if self.orders.len() > MAX_ORDERS {
                self.orders.pop_first();
            }
        }
    }

    /// Is the event about one of `user`'s orders or a pet they ordered or adopted?
    fn concerns(&self, user: &str, event: &Event) -> bool {
        let order_of_user = |order_id: i64| {
            self.orders
                .get(&order_id)
                .is_some_and(|(owner, _)| owner == user)
        };
        match event {
            Event::Adoption(adoption) => adoption.user_id == user,
            Event::OrderPlaced(order) => order.user_id == user,
            Event::OrderShipped(order) => order_of_user(order.order_id),
            Event::OrderDelivered(order) => order_of_user(order.order_id),
            Event::StatusChange(change) => self
                .orders
                .values()
                .any(|(owner, pet)| owner == user && *pet == change.pet_id),
        }
    }
}

impl PetStoreNotifications for Store {
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
        if user.is_empty()
            || user.len() > 64
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
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

// ---- the simulation -------------------------------------------------------------------------

const PETS: &[&str] = &[
    "Biscuit", "Pepper", "Mochi", "Juniper", "Clover", "Noodle", "Waffles", "Maple",
];
const USERS: &[&str] = &["u-1001", "u-1002", "u-1003"];
const CARRIERS: &[&str] = &["PostNord", "DHL", "UPS"];

/// An order on its way: placed, then shipped, then delivered, then the adoption completes.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Placed,
    Shipped,
    Delivered,
}

struct Order {
    id: i64,
    pet: usize,
    user: usize,
    stage: Stage,
}

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

/// One store change per tick, forever: place an order for an available pet, move an order
/// one stage on (delivery completes the adoption), or put an adopted pet back up.
async fn simulate(store: Store, auctions: Auctions, interval: Duration) {
    let mut status = vec![PetStatus::Available; PETS.len()];
    let mut orders: Vec<Order> = Vec::new();
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut next_order = 5001;
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        auctions.tick(&mut dice);
        let available: Vec<usize> = (0..PETS.len())
            .filter(|&pet| status[pet] == PetStatus::Available)
            .collect();
        let adopted: Vec<usize> = (0..PETS.len())
            .filter(|&pet| status[pet] == PetStatus::Adopted)
            .collect();
        let roll = dice.below(10);
        if (roll < 4 || orders.is_empty()) && !available.is_empty() {
            let pet = available[dice.below(available.len())];
            let user = dice.below(USERS.len());
            let order = Order {
                id: next_order,
                pet,
                user,
                stage: Stage::Placed,
            };
            next_order += 1;
            store
                .publish(Event::OrderPlaced(OrderPlaced {
                    order_id: order.id,
                    pet_id: pet as i64 + 1,
                    user_id: USERS[user].to_owned(),
                    total: 50.0 + 12.5 * dice.below(12) as f64,
                    placed_at: now(),
                }))
                .await;
            status[pet] = PetStatus::Pending;
            store.publish(status_change(pet, PetStatus::Pending)).await;
            orders.push(order);
        } else if !orders.is_empty() && (roll < 9 || adopted.is_empty()) {
            let index = dice.below(orders.len());
            let order = &mut orders[index];
            match order.stage {
                Stage::Placed => {
                    order.stage = Stage::Shipped;
                    let carrier = CARRIERS[dice.below(CARRIERS.len())];
                    store
                        .publish(Event::OrderShipped(OrderShipped {
                            order_id: order.id,
                            carrier: carrier.to_owned(),
                            tracking_number: (carrier != "UPS")
                                .then(|| format!("TR{:09}", order.id * 7919)),
                        }))
                        .await;
                }
                Stage::Shipped => {
                    order.stage = Stage::Delivered;
                    store
                        .publish(Event::OrderDelivered(OrderDelivered {
                            order_id: order.id,
                            delivered_at: now(),
                        }))
                        .await;
                }
                Stage::Delivered => {
                    let order = orders.swap_remove(index);
                    store
                        .publish(Event::Adoption(Adoption {
                            pet_id: order.pet as i64 + 1,
                            pet_name: PETS[order.pet].to_owned(),
                            user_id: USERS[order.user].to_owned(),
                        }))
                        .await;
                    status[order.pet] = PetStatus::Adopted;
                    store
                        .publish(status_change(order.pet, PetStatus::Adopted))
                        .await;
                }
            }
        } else if !adopted.is_empty() {
            let pet = adopted[dice.below(adopted.len())];
            status[pet] = PetStatus::Available;
            store
                .publish(status_change(pet, PetStatus::Available))
                .await;
        }
    }
}

fn status_change(pet: usize, status: PetStatus) -> Event {
    Event::StatusChange(StatusChange {
        pet_id: pet as i64 + 1,
        status,
    })
}
