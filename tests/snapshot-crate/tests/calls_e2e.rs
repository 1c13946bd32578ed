//! Plain operations end to end over 127.0.0.1: the generated client calls the generated server
//! of `tests/fixtures/openapi31_operations.yaml`, whose service echoes what it read (the typed
//! request, in Rust's debug form). Every parameter style and place, every body media type
//! (a multipart upload with binary files among them), every declared status with its headers,
//! each kind of security, the client's timeout; and, from a raw HTTP client, the 4xx answers
//! of requests that do not match the spec.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiregen_runtime::api::body::File;
use wiregen_runtime::auth::Credential;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::sse::SseEvent;
use wiregen_runtime::sse::client::{ClientError, Received};
use wiregen_runtime::sse::server::EventStream;
use wiregen_snapshots::openapi31_operations::client::{Client, ClientConfig};
use wiregen_snapshots::openapi31_operations::server::{self, Operations};
use wiregen_snapshots::openapi31_operations::types::*;

const WAIT: Duration = Duration::from_secs(10);

/// Echoes every request; answers `statuses` with the status asked for.
struct Echoing;

fn echo(seen: impl std::fmt::Debug) -> Echo {
    Echo {
        seen: format!("{seen:?}"),
    }
}

/// What `authenticate` decided, as it is.
fn caller(auth: String) -> Echo {
    Echo { seen: auth }
}

fn problem(status: u16) -> Problem {
    Problem {
        r#type: "about:blank".into(),
        title: format!("status {status}"),
        status: i64::from(status),
        detail: None,
    }
}

fn point(x: i64, y: i64) -> Point {
    Point { x, y, label: None }
}

impl Operations for Echoing {
    type Auth = String;

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        operation: &'static str,
    ) -> Result<String, HttpError> {
        match credential {
            Some(Credential::Bearer(token)) if token == "good" => {
                Ok(format!("{operation}: bearer"))
            }
            Some(Credential::Basic { user, password }) if password == "se:cret" => {
                Ok(format!("{operation}: basic {user}"))
            }
            Some(Credential::ApiKey(key)) => Ok(format!("{operation}: key {key}")),
            None => Ok(format!("{operation}: anonymous")),
            Some(_) => Err(HttpError::forbidden("wrong credential")),
        }
    }

    async fn styles(&self, request: StylesRequest) -> Result<StylesResponse, HttpError> {
        Ok(StylesResponse::Ok(echo(request)))
    }

    async fn post_json(&self, request: PostJsonRequest) -> Result<PostJsonResponse, HttpError> {
        Ok(PostJsonResponse::Ok(echo(request)))
    }

    async fn post_either(
        &self,
        request: PostEitherRequest,
    ) -> Result<PostEitherResponse, HttpError> {
        Ok(PostEitherResponse::Ok(echo(request)))
    }

    async fn upload(&self, request: UploadRequest) -> Result<UploadResponse, HttpError> {
        Ok(UploadResponse::Ok(echo(request)))
    }

    async fn put_text(&self, request: PutTextRequest) -> Result<PutTextResponse, HttpError> {
        Ok(PutTextResponse::Ok(request.body.chars().rev().collect()))
    }

    async fn put_bytes(&self, request: PutBytesRequest) -> Result<PutBytesResponse, HttpError> {
        let mut bytes = request.body;
        bytes.reverse();
        Ok(PutBytesResponse::Ok(bytes))
    }

    async fn statuses(&self, request: StatusesRequest) -> Result<StatusesResponse, HttpError> {
        let code = u16::try_from(request.code).unwrap_or(500);
        Ok(match code {
            200 => StatusesResponse::Ok {
                body: point(1, 2),
                x_rate_limit: 10,
                x_request_ids: vec!["a".into(), "b c".into()],
                x_note: None,
            },
            204 => StatusesResponse::NoContent,
            404 => StatusesResponse::NotFound(problem(404)),
            // A 2XX case the service fills with a status outside its class is its own bug: 500.
            299 => StatusesResponse::Success {
                status: 404,
                body: point(0, 0),
            },
            code if (200..300).contains(&code) => StatusesResponse::Success {
                status: code,
                body: point(3, 4),
            },
            _ => StatusesResponse::Default {
                status: code,
                body: problem(code),
            },
        })
    }

    async fn bearer_only(
        &self,
        auth: String,
        _request: BearerOnlyRequest,
    ) -> Result<BearerOnlyResponse, HttpError> {
        Ok(BearerOnlyResponse::Ok(caller(auth)))
    }

    async fn basic_only(
        &self,
        auth: String,
        _request: BasicOnlyRequest,
    ) -> Result<BasicOnlyResponse, HttpError> {
        Ok(BasicOnlyResponse::Ok(caller(auth)))
    }

    async fn keys(&self, auth: String, _request: KeysRequest) -> Result<KeysResponse, HttpError> {
        Ok(KeysResponse::Ok(caller(auth)))
    }

    async fn optional_auth(
        &self,
        auth: String,
        _request: OptionalAuthRequest,
    ) -> Result<OptionalAuthResponse, HttpError> {
        Ok(OptionalAuthResponse::Ok(caller(auth)))
    }

    async fn secured_events(
        &self,
        auth: String,
        _request: SecuredEventsRequest,
    ) -> Result<EventStream<SecuredEventsEvent>, HttpError> {
        let event = SseEvent::new(SecuredEventsEvent::Message(caller(auth)));
        Ok(EventStream::new(futures_util::stream::iter([event])))
    }

    async fn slow(&self, request: SlowRequest) -> Result<SlowResponse, HttpError> {
        tokio::time::sleep(Duration::from_millis(request.ms.clamp(0, 60_000) as u64)).await;
        Ok(SlowResponse::NoContent)
    }
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::router(Echoing);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The seen text of an echoing response.
fn seen<T: std::fmt::Debug>(response: Result<T, ClientError>) -> String {
    let response = response.unwrap_or_else(|e| panic!("the call failed: {e}"));
    let text = format!("{response:?}");
    let start = text.find("seen: \"").expect("an echo") + 7;
    let end = text.rfind("\" })").expect("an echo");
    text[start..end].replace("\\\"", "\"").replace("\\\\", "\\")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_parameter_style_arrives_as_sent() {
    let base = serve().await;
    let client = Client::new(base);
    let hostile = "a,b.c;d=e|f g&h#i%j[k]/é";
    let requests = [
        StylesRequest {
            plain: "plain".into(),
            label: 7,
            matrix: "m".into(),
            simple_list: vec!["s1".into(), "s2".into()],
            label_list: vec![1, 2, 3],
            matrix_list: vec!["x".into(), "y".into()],
            point: point(5, -6),
            form_list: vec!["f1".into(), "f2".into()],
            comma_list: vec![Color::Red, Color::Blue],
            space_list: vec![10, 20],
            pipe_list: vec!["p".into(), "q".into()],
            filter: Some(Filter {
                color: Some(Color::Green),
                min: Some(1.5),
                name: Some("n".into()),
            }),
            place: Some(Point {
                x: 1,
                y: 2,
                label: Some("home".into()),
            }),
            x_tags: vec!["t1".into(), "t2".into()],
            x_point: Some(point(8, 9)),
            session: Some("s".into()),
            prefs: vec!["dark".into(), "compact".into()],
        },
        // Delimiters and reserved characters inside the values, empty lists and absences.
        StylesRequest {
            plain: hostile.into(),
            label: -1,
            matrix: hostile.into(),
            simple_list: vec![hostile.into(), "".into()],
            label_list: vec![0],
            matrix_list: vec![hostile.into()],
            point: Point {
                x: 0,
                y: 0,
                label: Some(hostile.into()),
            },
            form_list: vec![hostile.into()],
            comma_list: Vec::new(),
            space_list: Vec::new(),
            pipe_list: vec![hostile.into()],
            filter: Some(Filter {
                color: None,
                min: None,
                name: Some(hostile.into()),
            }),
            place: None,
            x_tags: Vec::new(),
            x_point: None,
            session: Some(hostile.into()),
            prefs: Vec::new(),
        },
    ];
    for request in requests {
        let seen = seen(
            tokio::time::timeout(WAIT, client.styles(&request))
                .await
                .expect("in time"),
        );
        assert_eq!(seen, format!("{request:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_media_type_arrives_as_sent() {
    let base = serve().await;
    let client = Client::new(base);
    let json = PostJsonRequest { body: point(1, 2) };
    assert_eq!(seen(client.post_json(&json).await), format!("{json:?}"));
    for body in [
        Some(PostEitherBody::Json(point(3, 4))),
        Some(PostEitherBody::Form(PointForm {
            x: 5,
            y: 6,
            label: Some("a&b=c d".into()),
        })),
        None,
    ] {
        let request = PostEitherRequest { body };
        assert_eq!(
            seen(client.post_either(&request).await),
            format!("{request:?}")
        );
    }
    // A multipart upload: binary files (not UTF-8) with names and types, repeated fields, a
    // JSON field.
    let upload = UploadRequest {
        body: UploadBody {
            file: File::new(vec![0u8, 159, 146, 150, 255])
                .with_name("photo.bin")
                .with_content_type("application/octet-stream"),
            extras: vec![
                File::new(b"\xff\xfe".to_vec()).with_name("a.bin"),
                File::new(vec![1u8; 70_000]).with_name("b.bin"),
            ],
            title: "Hello \"world\"\r\n--boundary".into(),
            count: Some(3),
            labels: vec!["l1".into(), "l2".into()],
            meta: Some(point(7, 8)),
        },
    };
    assert_eq!(seen(client.upload(&upload).await), format!("{upload:?}"));
    let text = client
        .put_text(&PutTextRequest {
            body: "héllo\n".into(),
        })
        .await
        .unwrap();
    assert_eq!(text, PutTextResponse::Ok("\nolléh".into()));
    let bytes = client
        .put_bytes(&PutBytesRequest {
            body: vec![0, 1, 255],
        })
        .await
        .unwrap();
    assert_eq!(bytes, PutBytesResponse::Ok(vec![255, 1, 0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_status_decodes_with_its_headers() {
    let base = serve().await;
    let client = Client::new(base);
    let call = |code: i32| {
        let client = client.clone();
        async move { client.statuses(&StatusesRequest { code }).await }
    };
    assert_eq!(
        call(200).await.unwrap(),
        StatusesResponse::Ok {
            body: point(1, 2),
            x_rate_limit: 10,
            x_request_ids: vec!["a".into(), "b c".into()],
            x_note: None,
        }
    );
    assert_eq!(call(204).await.unwrap(), StatusesResponse::NoContent);
    assert_eq!(
        call(201).await.unwrap(),
        StatusesResponse::Success {
            status: 201,
            body: point(3, 4)
        }
    );
    assert_eq!(
        call(404).await.unwrap(),
        StatusesResponse::NotFound(problem(404))
    );
    for code in [400, 409, 503] {
        assert_eq!(
            call(code).await.unwrap(),
            StatusesResponse::Default {
                status: code as u16,
                body: problem(code as u16)
            }
        );
    }
    // The service put 404 in the 2XX case: the server answers 500, which `default` takes
    // (its body, the runtime's problem document, decodes as `Problem`).
    match call(299).await.unwrap() {
        StatusesResponse::Default { status: 500, body } => assert_eq!(body.status, 500),
        other => panic!("expected the 500 of a misused range, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_security_reaches_authenticate() {
    let base = serve().await;
    let anonymous = Client::new(base.clone());
    // Without a credential a secured operation is refused before `authenticate`, with a
    // challenge; an undeclared 401 is a typed `Status` error for the client.
    match anonymous.bearer_only(&BearerOnlyRequest {}).await {
        Err(ClientError::Status { status, body }) => {
            assert_eq!(status.as_u16(), 401);
            assert!(body.contains("needs a credential"), "{body}");
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    assert_eq!(
        seen(anonymous.optional_auth(&OptionalAuthRequest {}).await),
        "optionalAuth: anonymous"
    );
    let bearer = Client::new(base.clone()).with_credential(Credential::Bearer("good".into()));
    assert_eq!(
        seen(bearer.bearer_only(&BearerOnlyRequest {}).await),
        "bearerOnly: bearer"
    );
    assert_eq!(
        seen(bearer.optional_auth(&OptionalAuthRequest {}).await),
        "optionalAuth: bearer"
    );
    let wrong = Client::new(base.clone()).with_credential(Credential::Bearer("bad".into()));
    match wrong.bearer_only(&BearerOnlyRequest {}).await {
        Err(ClientError::Status { status, .. }) => assert_eq!(status.as_u16(), 403),
        other => panic!("expected a 403, got {other:?}"),
    }
    let basic = Client::new(base.clone()).with_credential(Credential::Basic {
        user: "ann".into(),
        // A password may hold colons: only the first one ends the user name.
        password: "se:cret".into(),
    });
    assert_eq!(
        seen(basic.basic_only(&BasicOnlyRequest {}).await),
        "basicOnly: basic ann"
    );
    // RFC 7617: a user name cannot hold the `:` that ends it; the client refuses to send it.
    let colon = Client::new(base.clone()).with_credential(Credential::Basic {
        user: "ann:e".into(),
        password: "se:cret".into(),
    });
    match colon.basic_only(&BasicOnlyRequest {}).await {
        Err(ClientError::Request(reason)) => assert!(reason.contains("RFC 7617"), "{reason}"),
        other => panic!("expected the request to be refused, got {other:?}"),
    }
    let key = Client::new(base).with_credential(Credential::ApiKey("k 1&2".into()));
    assert_eq!(seen(key.keys(&KeysRequest {}).await), "keys: key k 1&2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secured_stream_authenticates_its_caller() {
    let base = serve().await;
    // Without a credential: the stream's one item is the 401, and it ends.
    let mut refused = Client::new(base.clone()).secured_events(&SecuredEventsRequest {});
    match tokio::time::timeout(WAIT, refused.next())
        .await
        .expect("in time")
    {
        Some(Err(ClientError::Status { status, .. })) => assert_eq!(status.as_u16(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
    // With one, the client presents it and the service sees who called.
    let client = Client::new(base).with_credential(Credential::Bearer("good".into()));
    let mut events = client.secured_events(&SecuredEventsRequest {});
    match tokio::time::timeout(WAIT, events.next())
        .await
        .expect("in time")
    {
        Some(Ok(Received::Event {
            event: SecuredEventsEvent::Message(echo),
            ..
        })) => assert_eq!(echo.seen, "securedEvents: bearer"),
        other => panic!("expected the caller's event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_timeout_is_a_timeout_error() {
    let base = serve().await;
    let config = ClientConfig {
        request_timeout: Some(Duration::from_millis(200)),
        ..ClientConfig::default()
    };
    let client = Client::with_config(base, config);
    assert_eq!(
        client.slow(&SlowRequest { ms: 0 }).await.unwrap(),
        SlowResponse::NoContent
    );
    match client.slow(&SlowRequest { ms: 30_000 }).await {
        Err(ClientError::Timeout) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
}

/// One raw HTTP/1.1 exchange: the status and the body.
async fn raw(base: &str, request: &[u8]) -> (u16, String, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("in time")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn post(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_do_not_match_the_spec_get_a_problem_naming_what_is_wrong() {
    let base = serve().await;
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let styles = "/styles/p/.7/;matrix=m/a,b/.1.2/;matrixList=x,y/;x=1;y=2";
    let cases: Vec<(Vec<u8>, u16, &str)> =
        vec![
        (get(styles).into_bytes(), 200, "label: 7"),
        (
            get("/styles/p/.seven/;matrix=m/a/.1/;matrixList=x/;x=1;y=2").into_bytes(),
            400,
            "parameter `label`",
        ),
        (
            get(&format!("{styles}?commaList=red,purple")).into_bytes(),
            400,
            "parameter `commaList`",
        ),
        (
            get("/styles/p/.7/;matrix=m/a/.1/;matrixList=x/;x=1").into_bytes(),
            400,
            "parameter `point`",
        ),
        (
            post("/bodies/json", "text/plain", b"{\"x\":1,\"y\":2}"),
            415,
            "accepts `application/json`",
        ),
        (
            post("/bodies/json", "application/json", b"{\"x\":1"),
            400,
            "the request body is not valid",
        ),
        (
            post("/bodies/json", "application/json", b""),
            400,
            "a request body is required",
        ),
        (
            post("/bodies/upload", "multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
            400,
            "multipart",
        ),
        (
            post(
                "/bodies/upload",
                "multipart/form-data; boundary=zz",
                b"--zz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nt\r\n--zz--\r\n",
            ),
            400,
            "`file`: is required",
        ),
        (get("/slow?ms=soon").into_bytes(), 400, "parameter `ms`"),
    ];
    for (request, status, detail) in cases {
        let (got, head, body) = raw(&base, &request).await;
        assert_eq!(got, status, "{body}");
        if status >= 400 {
            assert!(
                head.contains("content-type: application/problem+json"),
                "{head}"
            );
            let problem: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(problem["status"], status, "{body}");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(detail),
                "{body}"
            );
        } else {
            assert!(body.contains(detail), "{body}");
        }
    }
    // A body over the configured limit is 413, and the server goes on serving.
    let big = vec![b' '; 3 * 1024 * 1024];
    let (got, _, _) = raw(&base, &post("/bodies/json", "application/json", &big)).await;
    assert_eq!(got, 413);
    let client = Client::new(base);
    let json = PostJsonRequest { body: point(1, 2) };
    assert_eq!(seen(client.post_json(&json).await), format!("{json:?}"));
}

/// The router the generated code builds serves what this test needs of it, shared with other
/// routes through axum as a user would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_merges_with_other_routes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::router(Echoing)
        .merge(axum::Router::new().route("/health", axum::routing::get(|| async { "ok" })));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    let (status, _, body) = raw(
        &base,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let client = Client::new(base);
    assert_eq!(
        client
            .statuses(&StatusesRequest { code: 204 })
            .await
            .unwrap(),
        StatusesResponse::NoContent
    );
}
