//! The two servers of the plain-operation bench, each run in a child process of its own
//! (`plain-ops --serve KIND`): the generated pet store server (the generated `PetStore` trait,
//! routed by the runtime's `api::server::handle`) and a hand-written axum server with the same
//! routes, the same JSON types and the same validation. Both answer from one [`Store`] with the
//! same logic, and both are served by `wiregen_runtime::serve::serve` with the same settings,
//! so that the only difference is the code between the socket and the store.
//!
//! The server prints `port N` once it listens on 127.0.0.1, then serves until its stdin closes
//! (the bench went away) or its lifetime is over.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use petstore_generated::petstore_openapi::server::{self, PetStore};
use petstore_generated::petstore_openapi::types::{
    GetPetRequest, GetPetResponse, NewOrder, Order, OrderStatus, Pet, PetStatus, PlaceOrderRequest,
    PlaceOrderResponse, Problem, StreamNotificationsEvent, StreamNotificationsRequest,
};
use wiregen_runtime::auth::Credential;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::serve::ServeConfig;
use wiregen_runtime::sse::server::EventStream;

/// The request of the GET runs: a pet that exists.
pub const GET_PATH: &str = "/v1/pets/3";
/// The path of the POST runs.
pub const POST_PATH: &str = "/v1/orders";
/// The body of the POST runs: an order for an available pet.
pub const POST_BODY: &str = r#"{"petId":3,"userId":"u-1001"}"#;
/// The `Authorization` of the POST runs (any non-empty bearer token is accepted).
pub const AUTHORIZATION: &str = "Bearer bench-token";

/// The servers under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The generated `PetStore` trait implemented over the store, its generated router.
    Generated,
    /// Plain axum 0.8 handlers over the same store.
    HandWritten,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Generated, Kind::HandWritten];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Generated => "generated",
            Kind::HandWritten => "hand-written",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// The pets of the store, by id (1-based): `(name, status, tags)`.
const PETS: [(&str, PetStatus, &[&str]); 8] = [
    ("Rex", PetStatus::Available, &["dog", "calm"]),
    ("Whiskers", PetStatus::Pending, &["cat"]),
    (
        "Bella",
        PetStatus::Available,
        &["dog", "playful", "good-with-kids"],
    ),
    ("Tweety", PetStatus::Adopted, &["bird"]),
    ("Nemo", PetStatus::Available, &["fish"]),
    ("Luna", PetStatus::Available, &["cat", "shy"]),
    ("Max", PetStatus::Available, &["dog"]),
    ("Coco", PetStatus::Pending, &[]),
];

/// How many placed orders the store keeps (the oldest go first): its memory is bounded however
/// many orders a run places.
const KEPT_ORDERS: usize = 1024;

/// The in-memory pet store both servers answer from: the catalogue, and the orders placed
/// (unlike the demo, placing an order does not reserve the pet, so the same order can be placed
/// again and again).
pub struct Store {
    pets: Vec<Pet>,
    orders: Mutex<Orders>,
}

struct Orders {
    next_id: i64,
    recent: VecDeque<Order>,
}

/// Why an order was not placed.
pub enum Refusal {
    /// `userId` is not an id (400).
    BadUser,
    /// No such pet (404).
    NoPet(i64),
    /// The pet is not available (409).
    Unavailable(Pet),
}

impl Default for Store {
    fn default() -> Self {
        let pets = PETS
            .iter()
            .zip(1..)
            .map(|(&(name, status, tags), id)| Pet {
                id,
                name: name.to_owned(),
                status,
                tags: (!tags.is_empty()).then(|| tags.iter().map(|&t| t.to_owned()).collect()),
                nickname: (id % 3 == 0).then(|| format!("{name}y")),
            })
            .collect();
        Store {
            pets,
            orders: Mutex::new(Orders {
                next_id: 1,
                recent: VecDeque::with_capacity(KEPT_ORDERS),
            }),
        }
    }
}

impl Store {
    /// The pet with this id.
    pub fn pet(&self, id: i64) -> Option<Pet> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.pets.get(index).cloned()
    }

    /// Place an order for an available pet.
    pub fn place(&self, order: NewOrder) -> Result<Order, Refusal> {
        let NewOrder { pet_id, user_id } = order;
        if !valid_user(&user_id) {
            return Err(Refusal::BadUser);
        }
        let pet = self.pet(pet_id).ok_or(Refusal::NoPet(pet_id))?;
        if pet.status != PetStatus::Available {
            return Err(Refusal::Unavailable(pet));
        }
        let placed_at = now();
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        let order = Order {
            id: orders.next_id,
            pet_id,
            user_id,
            total: 100.0 + 12.5 * (pet_id % 8) as f64,
            status: OrderStatus::Placed,
            placed_at,
            carrier: None,
            tracking_number: None,
            delivered_at: None,
        };
        orders.next_id += 1;
        if orders.recent.len() == KEPT_ORDERS {
            orders.recent.pop_front();
        }
        orders.recent.push_back(order.clone());
        Ok(order)
    }
}

/// Now, as `placedAt` takes it.
pub fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()).fixed_offset()
}

/// Letters, digits, `-` and `_`, 1 to 64 of them.
fn valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The URL of an order (its `Location`).
pub fn order_location(id: i64) -> String {
    format!("/v1/orders/{id}")
}

/// An RFC 9457 problem with the status's own title.
pub fn problem(status: u16, detail: impl Into<String>) -> Problem {
    let title = StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Error");
    Problem {
        r#type: "about:blank".to_owned(),
        title: title.to_owned(),
        status: i32::from(status),
        detail: Some(detail.into()),
        instance: None,
    }
}

const BAD_USER: &str = "userId may only contain letters, digits, '-' and '_' (at most 64)";

fn unavailable(pet: &Pet) -> String {
    format!("{} is {}, not AVAILABLE", pet.name, pet.status)
}

// ---- generated ---------------------------------------------------------------------------------

/// Who called a secured operation (any non-empty bearer token is a customer).
pub struct Customer;

/// The generated trait, implemented as a user would, over the store.
struct GeneratedStore {
    store: Store,
}

impl PetStore for GeneratedStore {
    type Auth = Customer;

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        _operation: &'static str,
    ) -> Result<Customer, HttpError> {
        match credential {
            Some(Credential::Bearer(token)) if !token.is_empty() => Ok(Customer),
            _ => Err(HttpError::unauthorized("a bearer token is required")),
        }
    }

    async fn stream_notifications(
        &self,
        _request: StreamNotificationsRequest,
    ) -> Result<EventStream<StreamNotificationsEvent>, HttpError> {
        Err(HttpError::new(501, "this bench serves no notifications"))
    }

    async fn get_pet(&self, request: GetPetRequest) -> Result<GetPetResponse, HttpError> {
        Ok(match self.store.pet(request.pet_id) {
            Some(pet) => GetPetResponse::Ok(pet),
            None => {
                GetPetResponse::NotFound(problem(404, format!("no pet with id {}", request.pet_id)))
            }
        })
    }

    async fn place_order(
        &self,
        _customer: Customer,
        request: PlaceOrderRequest,
    ) -> Result<PlaceOrderResponse, HttpError> {
        Ok(match self.store.place(request.body) {
            Ok(order) => PlaceOrderResponse::Created {
                location: order_location(order.id),
                body: order,
            },
            Err(Refusal::BadUser) => return Err(HttpError::bad_request(BAD_USER)),
            Err(Refusal::NoPet(id)) => {
                PlaceOrderResponse::NotFound(problem(404, format!("no pet with id {id}")))
            }
            Err(Refusal::Unavailable(pet)) => {
                PlaceOrderResponse::Conflict(problem(409, unavailable(&pet)))
            }
        })
    }
}

fn generated() -> Router {
    server::router(GeneratedStore {
        store: Store::default(),
    })
}

// ---- hand-written ------------------------------------------------------------------------------

/// The hand-written server: the routes of the whole API, as the generated router has them (so
/// that both route alike), with what a careful axum user writes for the two measured ones; the
/// others answer 501, as the bench's implementation of the generated trait leaves them.
fn hand_written() -> Router {
    Router::new()
        .route("/v1/pets/notifications", get(not_here))
        .route("/v1/pets", get(not_here))
        .route("/v1/pets/{petId}", get(hand_get_pet))
        .route("/v1/pets/{petId}/photo", get(not_here).put(not_here))
        .route("/v1/orders", post(hand_place_order))
        .route("/v1/orders/{orderId}", get(not_here))
        .route("/v1/auctions", get(not_here))
        .with_state(Arc::new(Store::default()))
}

/// An operation this bench does not implement.
async fn not_here() -> Response {
    problem_response(&problem(501, "this operation is not part of the bench"))
}

/// A problem document as a response.
fn problem_response(problem: &Problem) -> Response {
    let status = u16::try_from(problem.status)
        .ok()
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

async fn hand_get_pet(
    State(store): State<Arc<Store>>,
    pet_id: Result<Path<i64>, PathRejection>,
) -> Response {
    let pet_id = match pet_id {
        Ok(Path(pet_id)) => pet_id,
        Err(rejection) => {
            return problem_response(&problem(rejection.status().as_u16(), rejection.body_text()));
        }
    };
    match store.pet(pet_id) {
        Some(pet) => Json(pet).into_response(),
        None => problem_response(&problem(404, format!("no pet with id {pet_id}"))),
    }
}

/// A caller with `Authorization: Bearer <token>`; else a 401 problem with a challenge.
struct Bearer;

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(kind, _)| kind.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match token {
            Some(token) if !token.is_empty() => Ok(Bearer),
            _ => {
                let mut response = problem_response(&problem(401, "a bearer token is required"));
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                Err(response)
            }
        }
    }
}

async fn hand_place_order(
    State(store): State<Arc<Store>>,
    _caller: Bearer,
    body: Result<Json<NewOrder>, JsonRejection>,
) -> Response {
    let order = match body {
        Ok(Json(order)) => order,
        Err(rejection) => {
            // The spec's 400 for a body that does not parse or match (axum says 422 for the
            // latter), 415 for another media type, 413 for too large.
            let status = match rejection {
                JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => 400,
                _ => rejection.status().as_u16(),
            };
            return problem_response(&problem(status, rejection.body_text()));
        }
    };
    match store.place(order) {
        Ok(order) => {
            let location = HeaderValue::try_from(order_location(order.id));
            let mut response = (StatusCode::CREATED, Json(order)).into_response();
            if let Ok(location) = location {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(Refusal::BadUser) => problem_response(&problem(400, BAD_USER)),
        Err(Refusal::NoPet(id)) => problem_response(&problem(404, format!("no pet with id {id}"))),
        Err(Refusal::Unavailable(pet)) => problem_response(&problem(409, unavailable(&pet))),
    }
}

/// The router of `kind`, over a fresh store.
pub fn router(kind: Kind) -> Router {
    match kind {
        Kind::Generated => generated(),
        Kind::HandWritten => hand_written(),
    }
}

// ---- serving -----------------------------------------------------------------------------------

/// Serve `kind` on 127.0.0.1 until stdin closes or `lifetime` passes.
pub fn serve(kind: Kind, lifetime: Duration) -> Result<(), String> {
    // The default multi-threaded runtime, as `#[tokio::main]` makes it: one worker per CPU this
    // process may run on (one, when the bench pins it).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))?
            .port();
        let app = router(kind);
        // End of stdin (the bench went away) or the end of the lifetime ends the process.
        std::thread::spawn(|| {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
            }
            std::process::exit(0);
        });
        tokio::spawn(async move {
            tokio::time::sleep(lifetime).await;
            eprintln!("plain-ops server: lifetime is over, exiting");
            std::process::exit(0);
        });
        let mut stdout = std::io::stdout();
        writeln!(stdout, "port {port}")
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("cannot write the port: {e}"))?;
        // Both servers the same way: the runtime's `serve` (TCP_NODELAY, hyper's HTTP/1.1 with
        // keep-alive, a header-read timeout, a connection limit), default settings.
        wiregen_runtime::serve::serve(listener, app, ServeConfig::default())
            .await
            .map_err(|e| format!("server failed: {e}"))
    })
}
