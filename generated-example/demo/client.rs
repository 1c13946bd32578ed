//! `petstore-client`: first calls the store's plain operations with the generated client (the
//! available pets, the auctions, and, unless `--no-order`, an order for the first available
//! pet, looked up again by id), printing `store:` lines; then subscribes to the pet store's
//! notifications with the generated SSE client and prints each typed event as it arrives,
//! while it bids in an auction with the generated WebSocket client: an opening bid, then ten
//! more each time it is outbid, up to `--max-bid`. Both reconnect by themselves when the
//! server goes away and comes back (the event stream resumes with `Last-Event-ID`).
//!
//! ```text
//! petstore-client [--url URL] [--user-id ID] [--count N] [--auction ID] [--max-bid N]
//!                 [--no-auction] [--no-order]
//! ```

use std::io::Write as _;
use std::process::ExitCode;

use futures_util::StreamExt;
use petstore_generated::petstore_asyncapi::client::{AuctionClient, ClientConfig};
use petstore_generated::petstore_asyncapi::types::AuctionParams;
use petstore_generated::petstore_asyncapi::types::{
    AuctionClientMessage, AuctionServerMessage, Bid,
};
use petstore_generated::petstore_openapi::client::Client;
use petstore_generated::petstore_openapi::types::{
    GetOrderRequest, GetOrderResponse, ListAuctionsRequest, ListAuctionsResponse, ListPetsRequest,
    ListPetsResponse, NewOrder, PetStatus, PlaceOrderRequest, PlaceOrderResponse,
    StreamNotificationsEvent as Event, StreamNotificationsRequest,
};
use wiregen_runtime::auth::Credential;
use wiregen_runtime::sse::client::Received;
use wiregen_runtime::ws::client::Event as WsEvent;

const USAGE: &str = "\
usage: petstore-client [--url URL] [--user-id ID] [--count N] [--auction ID] [--max-bid N] [--no-auction]

  --url URL       the server (default http://127.0.0.1:3000)
  --user-id ID    only events about this user's orders and pets, e.g. u-1001
  --count N       exit after N notification events (default: run until interrupted)
  --auction ID    the auction to bid in (default a-demo), as --bidder (default u-1001)
  --max-bid N     never bid more than this (default 500)
  --no-auction    only follow the notifications
  --no-order      do not order a pet before following the notifications";

struct Options {
    url: String,
    user_id: Option<String>,
    count: Option<usize>,
    /// The auction to bid in, and as whom.
    auction: Option<(String, String)>,
    max_bid: f64,
    order: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        url: "http://127.0.0.1:3000".to_owned(),
        user_id: None,
        count: None,
        auction: Some(("a-demo".to_owned(), "u-1001".to_owned())),
        max_bid: 500.0,
        order: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--url" => options.url = value("--url")?,
            "--user-id" => options.user_id = Some(value("--user-id")?),
            "--count" => {
                let text = value("--count")?;
                options.count = Some(
                    text.parse()
                        .map_err(|_| format!("--count {text}: expected a number"))?,
                );
            }
            "--auction" => {
                let id = value("--auction")?;
                let bidder = options.auction.take().map(|(_, bidder)| bidder);
                options.auction = Some((id, bidder.unwrap_or_else(|| "u-1001".to_owned())));
            }
            "--bidder" => {
                let bidder = value("--bidder")?;
                let id = options.auction.take().map(|(id, _)| id);
                options.auction = Some((id.unwrap_or_else(|| "a-demo".to_owned()), bidder));
            }
            "--max-bid" => {
                let text = value("--max-bid")?;
                options.max_bid = text
                    .parse::<f64>()
                    .ok()
                    .filter(|max| max.is_finite() && *max > 0.0)
                    .ok_or(format!("--max-bid {text}: expected a positive amount"))?;
            }
            "--no-auction" => options.auction = None,
            "--no-order" => options.order = false,
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
            complain(&format!("petstore-client: {message}\n\n{USAGE}"));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            complain(&format!(
                "petstore-client: cannot start the async runtime: {error}"
            ));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options))
}

async fn run(options: Options) -> ExitCode {
    let Options {
        url,
        user_id,
        count,
        auction,
        max_bid,
        order,
    } = options;
    let url = url.trim_end_matches('/').to_owned();
    let customer = user_id.clone().unwrap_or_else(|| "u-1001".to_owned());
    // The demo server takes any bearer token for orders; the customer's id will do.
    let client = Client::new(url.as_str()).with_credential(Credential::Bearer(customer.clone()));
    if let Err(error) = shop(&client, &customer, order).await {
        complain(&format!("petstore-client: {error}"));
        return ExitCode::FAILURE;
    }
    if let Some((auction, bidder)) = auction {
        tokio::spawn(bid(url.clone(), auction, bidder, max_bid));
    }
    let request = StreamNotificationsRequest {
        user_id,
        last_event_id: None,
    };
    complain(&format!(
        "petstore-client: subscribing to {url}/v1/pets/notifications"
    ));
    let mut stream = client.stream_notifications(&request);
    let mut printed = 0;
    while count.is_none_or(|count| printed < count) {
        let Some(item) = stream.next().await else {
            complain("petstore-client: the stream ended");
            return ExitCode::FAILURE;
        };
        match item {
            Ok(Received::Event { event, id }) => {
                if !say(&describe(id.as_deref().unwrap_or("-"), &event)) {
                    return ExitCode::SUCCESS;
                }
                printed += 1;
            }
            Ok(Received::Unknown { event, data, id }) => {
                let id = id.unwrap_or_default();
                if !say(&format!("#{id} {event} (not in the spec): {data}")) {
                    return ExitCode::SUCCESS;
                }
                printed += 1;
            }
            // The server could not resume exactly (it restarted, or the client was away longer
            // than it keeps events): say so; what follows is live.
            Ok(Received::Gap {
                last_event_id,
                reason,
                ..
            }) => {
                let after = last_event_id.as_deref().unwrap_or("-");
                if !say(&format!(
                    "# gap: events after {after} were missed ({reason})"
                )) {
                    return ExitCode::SUCCESS;
                }
            }
            // The client reconnects by itself after connection errors; say what happened.
            Err(error) => complain(&format!("petstore-client: {error}")),
        }
    }
    ExitCode::SUCCESS
}

/// The plain operations: the available pets, the auctions, and an order for the first
/// available pet (looked up again by id). Prints `store:` lines.
async fn shop(
    client: &Client,
    customer: &str,
    order: bool,
) -> Result<(), wiregen_runtime::sse::client::ClientError> {
    let available = ListPetsRequest {
        status: vec![PetStatus::Available],
        limit: Some(100),
        ..ListPetsRequest::default()
    };
    let pets = match client.list_pets(&available).await? {
        ListPetsResponse::Ok {
            body,
            x_total_count,
        } => {
            let names: Vec<String> = body
                .items
                .iter()
                .map(|pet| format!("{} ({})", pet.name, pet.id))
                .collect();
            say(&format!(
                "store: {x_total_count} available: {}",
                names.join(", ")
            ));
            body.items
        }
        ListPetsResponse::ClientError { body, .. } => {
            say(&format!("store: pets not listed: {}", body.title));
            Vec::new()
        }
    };
    if let ListAuctionsResponse::Ok(auctions) = client
        .list_auctions(&ListAuctionsRequest::default())
        .await?
    {
        for auction in auctions {
            let leader = match (&auction.bidder, auction.highest_bid) {
                (Some(bidder), Some(amount)) => format!("{bidder} leads at {amount:.2}"),
                _ => "no bids yet".to_owned(),
            };
            say(&format!("store: auction {}: {leader}", auction.auction_id));
        }
    }
    if !order {
        return Ok(());
    }
    let Some(pet) = pets.first() else {
        say("store: nothing to order: no pet is available");
        return Ok(());
    };
    let request = PlaceOrderRequest {
        body: NewOrder {
            pet_id: pet.id,
            user_id: customer.to_owned(),
        },
    };
    let placed = match client.place_order(&request).await? {
        PlaceOrderResponse::Created { body, location } => {
            say(&format!(
                "store: order {} placed for {} at {location}",
                body.id, pet.name
            ));
            body
        }
        // The simulation may have taken the pet since it was listed.
        PlaceOrderResponse::Conflict(problem) | PlaceOrderResponse::NotFound(problem) => {
            say(&format!(
                "store: {} not ordered: {}",
                pet.name,
                problem.detail.unwrap_or(problem.title)
            ));
            return Ok(());
        }
        PlaceOrderResponse::ClientError { status, body } => {
            say(&format!("store: not ordered ({status}): {}", body.title));
            return Ok(());
        }
    };
    if let GetOrderResponse::Ok(order) = client
        .get_order(&GetOrderRequest {
            order_id: placed.id,
        })
        .await?
    {
        say(&format!("store: order {} is {}", order.id, order.status));
    }
    Ok(())
}

/// Bid in one auction until the process ends: an opening bid, ten more whenever outbid (up to
/// `max_bid`), and a new opening bid when the auction closes and the next one starts.
async fn bid(url: String, auction: String, bidder: String, max_bid: f64) {
    const OPENING: f64 = 50.0;
    let base = match url.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{url}"),
    };
    let params = AuctionParams {
        auction_id: auction.clone(),
        user_id: Some(bidder.clone()),
    };
    // The demo server accepts any non-empty token.
    let token = Credential::ApiKey("demo".to_owned());
    let (client, mut receiver) =
        match AuctionClient::connect(&base, &params, Some(&token), ClientConfig::default()).await {
            Ok(connected) => connected,
            Err(error) => {
                complain(&format!(
                    "petstore-client: cannot join auction {auction}: {error}"
                ));
                return;
            }
        };
    let place = |amount: f64| {
        let client = client.clone();
        async move {
            let message = AuctionClientMessage::Bid(Bid { amount });
            if let Err(error) = client.send(&message).await {
                complain(&format!("petstore-client: bid not sent: {error}"));
            }
        }
    };
    say(&format!(
        "auction {auction}: {bidder} joins and bids {OPENING:.2}"
    ));
    place(OPENING).await;
    while let Some(event) = receiver.recv().await {
        match event {
            WsEvent::Message(AuctionServerMessage::BidPlaced(placed)) => {
                say(&format!(
                    "auction {auction}: {} bids {:.2}",
                    placed.user_id, placed.amount
                ));
            }
            WsEvent::Message(AuctionServerMessage::Outbid(outbid)) => {
                let raise = outbid.new_amount + 10.0;
                if raise <= max_bid {
                    say(&format!(
                        "auction {auction}: outbid at {:.2}, {bidder} raises to {raise:.2}",
                        outbid.new_amount
                    ));
                    place(raise).await;
                } else {
                    say(&format!(
                        "auction {auction}: outbid at {:.2}, over the limit of {max_bid:.2}",
                        outbid.new_amount
                    ));
                }
            }
            WsEvent::Message(AuctionServerMessage::AuctionEnd(end)) => {
                let winner = end.winner.as_deref().unwrap_or("nobody");
                say(&format!("auction {auction}: closed, won by {winner}"));
                say(&format!(
                    "auction {auction}: {bidder} bids {OPENING:.2} in the next one"
                ));
                place(OPENING).await;
            }
            WsEvent::Invalid(error) => {
                complain(&format!(
                    "petstore-client: auction message not understood: {error}"
                ));
            }
            WsEvent::Connected => {
                say(&format!(
                    "auction {auction}: reconnected, {bidder} bids {OPENING:.2}"
                ));
                place(OPENING).await;
            }
            WsEvent::Disconnected(_) | WsEvent::Reconnecting { .. } => {}
        }
    }
}

/// A line on stdout; `false` once nobody reads it (`petstore-client | head`).
fn say(text: &str) -> bool {
    writeln!(std::io::stdout().lock(), "{text}").is_ok()
}

/// A line on stderr; a closed stderr is ignored.
fn complain(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// One line per event, from its typed fields.
fn describe(id: &str, event: &Event) -> String {
    let what = match event {
        Event::Adoption(a) => format!(
            "adoption         {} (pet {}) adopted by {}",
            a.pet_name, a.pet_id, a.user_id
        ),
        Event::StatusChange(s) => format!("status-change    pet {} is now {}", s.pet_id, s.status),
        Event::OrderPlaced(o) => format!(
            "order-placed     order {}: {} ordered pet {} for {:.2} at {}",
            o.order_id, o.user_id, o.pet_id, o.total, o.placed_at
        ),
        Event::OrderShipped(o) => format!(
            "order-shipped    order {} with {}{}",
            o.order_id,
            o.carrier,
            o.tracking_number
                .as_deref()
                .map(|n| format!(", tracking {n}"))
                .unwrap_or_default()
        ),
        Event::OrderDelivered(o) => format!(
            "order-delivered  order {} at {}",
            o.order_id, o.delivered_at
        ),
    };
    format!("#{id:<5} {what}")
}
