//! Every plain operation of the pet store, with each status it declares: the generated client
//! against `petstore-server` (the demo, on a free 127.0.0.1 port, its simulation slowed down so
//! the catalogue holds still), and the 4xx a raw request that does not match the spec gets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use petstore_generated::petstore_asyncapi::client::{AuctionClient, ClientConfig as WsConfig};
use petstore_generated::petstore_asyncapi::types::AuctionParams;
use petstore_generated::petstore_openapi::client::Client;
use petstore_generated::petstore_openapi::types::*;
use wiregen_runtime::api::body::File;
use wiregen_runtime::auth::Credential;

/// The server process, killed when the test ends however it ends.
struct Server {
    child: Child,
    base: String,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `petstore-server` whose simulation makes one change at start and then none for an hour.
fn start_server() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
        .args(["--addr", "127.0.0.1:0", "--interval-ms", "3600000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("petstore-server starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("petstore-server prints its address");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_owned();
    Server {
        child,
        base: format!("http://{addr}"),
        _stdout: stdout,
    }
}

/// A raw request's status and body (HTTP/1.0: the server closes after answering).
fn raw(base: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

fn client_error<T: std::fmt::Debug>(response: T) -> u16 {
    let text = format!("{response:?}");
    let start = text
        .find("ClientError { status: ")
        .unwrap_or_else(|| panic!("expected the 4XX case, got {text}"))
        + 22;
    text[start..start + 3].parse().expect("a status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_filters_pages_and_finds_pets() {
    let server = start_server();
    let client = Client::new(server.base.clone());
    let all = ListPetsRequest {
        limit: Some(100),
        ..ListPetsRequest::default()
    };
    let ListPetsResponse::Ok {
        body,
        x_total_count,
    } = client.list_pets(&all).await.unwrap()
    else {
        panic!("200 expected")
    };
    assert_eq!((x_total_count, body.items.len()), (8, 8));
    assert_eq!(body.next_cursor, None);
    let available = body
        .items
        .iter()
        .filter(|p| p.status == PetStatus::Available)
        .count() as i64;
    // Filters: a status list (comma-separated on the wire), tags (repeated).
    let request = ListPetsRequest {
        status: vec![PetStatus::Available, PetStatus::Adopted],
        limit: Some(100),
        ..ListPetsRequest::default()
    };
    match client.list_pets(&request).await.unwrap() {
        ListPetsResponse::Ok { x_total_count, .. } => assert_eq!(x_total_count, available),
        other => panic!("{other:?}"),
    }
    let cats = ListPetsRequest {
        tag: vec!["cat".into(), "calm".into()],
        ..ListPetsRequest::default()
    };
    match client.list_pets(&cats).await.unwrap() {
        ListPetsResponse::Ok { body, .. } => {
            let names: Vec<&str> = body.items.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["Waffles"]);
        }
        other => panic!("{other:?}"),
    }
    // Paging: three at a time, by cursor, until the last page.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = ListPetsRequest {
            limit: Some(3),
            cursor: cursor.clone(),
            ..ListPetsRequest::default()
        };
        let ListPetsResponse::Ok { body, .. } = client.list_pets(&page).await.unwrap() else {
            panic!("200 expected")
        };
        seen.extend(body.items.iter().map(|p| p.id));
        cursor = body.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, (1..=8).collect::<Vec<i64>>());
    // The server's own validation, and the runtime's: both are the declared 4XX problem.
    for bad in [Some(0), Some(101)] {
        let request = ListPetsRequest {
            limit: bad,
            ..ListPetsRequest::default()
        };
        assert_eq!(client_error(client.list_pets(&request).await.unwrap()), 400);
    }
    let (status, body) = raw(&server.base, "GET /v1/pets?limit=lots HTTP/1.0\r\n\r\n");
    assert_eq!(status, 400);
    assert!(body.contains("parameter `limit`"), "{body}");
    let (status, _) = raw(
        &server.base,
        "GET /v1/pets?status=AVAILABLE,SOLD HTTP/1.0\r\n\r\n",
    );
    assert_eq!(status, 400);
    // One pet, and one that does not exist.
    match client.get_pet(&GetPetRequest { pet_id: 2 }).await.unwrap() {
        GetPetResponse::Ok(pet) => assert_eq!((pet.id, pet.name.as_str()), (2, "Pepper")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.get_pet(&GetPetRequest { pet_id: 99 }).await.unwrap(),
        GetPetResponse::NotFound(problem) if problem.status == 404
    ));
    let (status, body) = raw(&server.base, "GET /v1/pets/abc HTTP/1.0\r\n\r\n");
    assert_eq!(status, 400);
    assert!(body.contains("parameter `petId`"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_need_the_staff_key_and_come_back_as_uploaded() {
    let server = start_server();
    let photo = File::new((0..=255u8).cycle().take(5000).collect::<Vec<u8>>())
        .with_name("biscuit.png")
        .with_content_type("image/png");
    let upload = UploadPetPhotoRequest {
        pet_id: 1,
        body: UploadPetPhotoBody {
            photo: photo.clone(),
            caption: Some("Biscuit in the garden".into()),
        },
    };
    // No key: 401 before the service is asked; a wrong key: the service's 403.
    let anonymous = Client::new(server.base.clone());
    assert_eq!(
        client_error(anonymous.upload_pet_photo(&upload).await.unwrap()),
        401
    );
    let wrong = Client::new(server.base.clone()).with_credential(Credential::ApiKey("no".into()));
    assert_eq!(
        client_error(wrong.upload_pet_photo(&upload).await.unwrap()),
        403
    );
    let staff =
        Client::new(server.base.clone()).with_credential(Credential::ApiKey("staff-demo".into()));
    match staff.upload_pet_photo(&upload).await.unwrap() {
        UploadPetPhotoResponse::Created { body, location } => {
            assert_eq!(location, "/v1/pets/1/photo");
            assert_eq!(
                (
                    body.size,
                    body.content_type.as_str(),
                    body.caption.as_deref()
                ),
                (5000, "image/png", Some("Biscuit in the garden"))
            );
        }
        other => panic!("{other:?}"),
    }
    let elsewhere = UploadPetPhotoRequest {
        pet_id: 99,
        ..upload.clone()
    };
    assert!(matches!(
        staff.upload_pet_photo(&elsewhere).await.unwrap(),
        UploadPetPhotoResponse::NotFound(_)
    ));
    let huge = UploadPetPhotoRequest {
        pet_id: 1,
        body: UploadPetPhotoBody {
            photo: File::new(vec![7u8; 1024 * 1024 + 1]).with_name("big.png"),
            caption: None,
        },
    };
    assert_eq!(
        client_error(staff.upload_pet_photo(&huge).await.unwrap()),
        413
    );
    // The photo comes back byte for byte; a pet without one is 404.
    assert_eq!(
        anonymous
            .get_pet_photo(&GetPetPhotoRequest { pet_id: 1 })
            .await
            .unwrap(),
        GetPetPhotoResponse::Ok(photo.data.to_vec())
    );
    assert!(matches!(
        anonymous
            .get_pet_photo(&GetPetPhotoRequest { pet_id: 2 })
            .await
            .unwrap(),
        GetPetPhotoResponse::NotFound(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_placed_once_per_pet_and_found_again() {
    let server = start_server();
    let anonymous = Client::new(server.base.clone());
    let customer = anonymous
        .clone()
        .with_credential(Credential::Bearer("u-1001".into()));
    let ListPetsResponse::Ok { body, .. } = anonymous
        .list_pets(&ListPetsRequest {
            status: vec![PetStatus::Available],
            ..ListPetsRequest::default()
        })
        .await
        .unwrap()
    else {
        panic!("200 expected")
    };
    let pet = body.items.first().expect("an available pet").id;
    let order = |pet_id: i64, user_id: &str| PlaceOrderRequest {
        body: NewOrder {
            pet_id,
            user_id: user_id.into(),
        },
    };
    assert_eq!(
        client_error(anonymous.place_order(&order(pet, "u-1001")).await.unwrap()),
        401
    );
    let placed = match customer.place_order(&order(pet, "u-1001")).await.unwrap() {
        PlaceOrderResponse::Created { body, location } => {
            assert_eq!(location, format!("/v1/orders/{}", body.id));
            assert_eq!(
                (body.pet_id, body.user_id.as_str(), body.status),
                (pet, "u-1001", OrderStatus::Placed)
            );
            body
        }
        other => panic!("{other:?}"),
    };
    // The pet is now pending: a second order for it conflicts.
    assert!(matches!(
        customer.place_order(&order(pet, "u-1002")).await.unwrap(),
        PlaceOrderResponse::Conflict(problem) if problem.status == 409
    ));
    assert!(matches!(
        customer.place_order(&order(99, "u-1001")).await.unwrap(),
        PlaceOrderResponse::NotFound(_)
    ));
    assert_eq!(
        client_error(
            customer
                .place_order(&order(pet, "not a user!"))
                .await
                .unwrap()
        ),
        400
    );
    match customer
        .get_order(&GetOrderRequest {
            order_id: placed.id,
        })
        .await
        .unwrap()
    {
        GetOrderResponse::Ok(found) => assert_eq!(found, placed),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        customer
            .get_order(&GetOrderRequest { order_id: 1 })
            .await
            .unwrap(),
        GetOrderResponse::NotFound(_)
    ));
    assert_eq!(
        client_error(
            anonymous
                .get_order(&GetOrderRequest {
                    order_id: placed.id
                })
                .await
                .unwrap()
        ),
        401
    );
    // The catalogue says so too.
    match anonymous
        .get_pet(&GetPetRequest { pet_id: pet })
        .await
        .unwrap()
    {
        GetPetResponse::Ok(found) => assert_eq!(found.status, PetStatus::Pending),
        other => panic!("{other:?}"),
    }
    let (status, body) = raw(
        &server.base,
        "POST /v1/orders HTTP/1.0\r\nAuthorization: Bearer u-1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"pet\":",
    );
    assert_eq!(status, 400);
    assert!(body.contains("not valid"), "{body}");
    let (status, _) = raw(
        &server.base,
        "POST /v1/orders HTTP/1.0\r\nAuthorization: Bearer u-1\r\nContent-Type: text/csv\r\nContent-Length: 1\r\n\r\nx",
    );
    assert_eq!(status, 415);
    // `99.0` is an integer to JSON Schema: the order reaches the service (no pet 99), while
    // `99.5` is not one.
    let order = |pet: &str| {
        let body = format!("{{\"petId\": {pet}, \"userId\": \"u-1001\"}}");
        format!(
            "POST /v1/orders HTTP/1.0\r\nAuthorization: Bearer u-1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let (status, body) = raw(&server.base, &order("99.0"));
    assert_eq!(status, 404, "{body}");
    let (status, body) = raw(&server.base, &order("99.5"));
    assert_eq!(status, 400);
    assert!(body.contains("99.5"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auctions_are_listed_once_joined() {
    let server = start_server();
    let client = Client::new(server.base.clone());
    let all = ListAuctionsRequest::default();
    assert_eq!(
        client.list_auctions(&all).await.unwrap(),
        ListAuctionsResponse::Ok(Vec::new())
    );
    let params = AuctionParams {
        auction_id: "a-test".into(),
        user_id: Some("u-1001".into()),
    };
    let token = Credential::ApiKey("demo".into());
    let (_bidder, _events) =
        AuctionClient::connect(&server.base, &params, Some(&token), WsConfig::default())
            .await
            .expect("joins the auction");
    let ListAuctionsResponse::Ok(listed) = client.list_auctions(&all).await.unwrap() else {
        panic!("200 expected")
    };
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].auction_id.as_str(), listed[0].open),
        ("a-test", true)
    );
    let closed = ListAuctionsRequest { open: Some(false) };
    assert_eq!(
        client.list_auctions(&closed).await.unwrap(),
        ListAuctionsResponse::Ok(Vec::new())
    );
}
