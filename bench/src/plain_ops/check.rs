//! What both servers must answer, checked over raw HTTP/1.1 on 127.0.0.1 before anything is
//! measured (and by `--smoke`): the two benchmarked requests and the errors a careful server
//! gives (bad path parameter, unknown pet, missing or wrong credential, malformed body, wrong
//! media type, unavailable pet, bad user id), by status, content type, headers and body.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use petstore_generated::petstore_openapi::types::{Order, OrderStatus, Pet, Problem};

use crate::servers::{AUTHORIZATION, GET_PATH, POST_BODY, POST_PATH, Store, order_location};

/// How long one exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest response read.
const MAX_RESPONSE: usize = 64 * 1024;

/// A response, as read from the socket.
pub struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Send one request (`Connection: close`) and read the whole response, within
/// [`EXCHANGE_TIMEOUT`].
pub fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply, String> {
    let deadline = Instant::now() + EXCHANGE_TIMEOUT;
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), EXCHANGE_TIMEOUT)
        .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("Connection: close\r\n\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no whole response within {EXCHANGE_TIMEOUT:?}"));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| format!("cannot set a read timeout: {e}"))?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            Err(e) => return Err(format!("cannot read the response: {e}")),
        }
        if raw.len() > MAX_RESPONSE {
            return Err(format!("the response is over {MAX_RESPONSE} bytes"));
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Reply, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the response has no end of head")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "the response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP/1.1 status line: {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = raw[end + 4..].to_vec();
    let reply = Reply {
        status,
        headers,
        body,
    };
    if reply
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        return Err("a chunked response where a sized one was expected".into());
    }
    if let Some(length) = reply.header("content-length")
        && length.parse::<usize>().ok() != Some(reply.body.len())
    {
        return Err(format!(
            "Content-Length {length} but {} body bytes",
            reply.body.len()
        ));
    }
    Ok(reply)
}

/// One expectation on one request.
struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    status: u16,
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const AUTH: (&str, &str) = ("Authorization", AUTHORIZATION);

/// The error cases (each answered with an `application/problem+json` problem of its status).
const ERRORS: &[Case] = &[
    Case {
        what: "a path parameter that is not an integer",
        method: "GET",
        path: "/v1/pets/three",
        headers: &[],
        body: "",
        status: 400,
    },
    Case {
        what: "an unknown pet",
        method: "GET",
        path: "/v1/pets/999",
        headers: &[],
        body: "",
        status: 404,
    },
    Case {
        what: "no credential",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON],
        body: POST_BODY,
        status: 401,
    },
    Case {
        what: "a Basic credential",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON, ("Authorization", "Basic dTpw")],
        body: POST_BODY,
        status: 401,
    },
    Case {
        what: "a body that is not JSON",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON, AUTH],
        body: r#"{"petId":"#,
        status: 400,
    },
    Case {
        what: "a body of the wrong shape",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON, AUTH],
        body: r#"{"petId":"three","userId":"u-1001"}"#,
        status: 400,
    },
    Case {
        what: "a text/plain body",
        method: "POST",
        path: POST_PATH,
        headers: &[("Content-Type", "text/plain"), AUTH],
        body: POST_BODY,
        status: 415,
    },
    Case {
        what: "an order for an unknown pet",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON, AUTH],
        body: r#"{"petId":999,"userId":"u-1001"}"#,
        status: 404,
    },
    Case {
        what: "an order for a pending pet",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON, AUTH],
        body: r#"{"petId":2,"userId":"u-1001"}"#,
        status: 409,
    },
    Case {
        what: "an order with a bad user id",
        method: "POST",
        path: POST_PATH,
        headers: &[JSON, AUTH],
        body: r#"{"petId":3,"userId":"no spaces"}"#,
        status: 400,
    },
];

/// Check every case against the server on `port`: `Ok(n)` checks passed, or what failed.
pub fn check_server(port: u16) -> Result<usize, Vec<String>> {
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut expect = |what: &str, result: Result<(), String>| match result {
        Ok(()) => passed += 1,
        Err(error) => failures.push(format!("{what}: {error}")),
    };
    let store = Store::default();
    // The benchmarked GET, twice (placing orders below must not change it).
    let pet = store
        .pet(3)
        .ok_or_else(|| vec!["the store has no pet 3".to_owned()])?;
    expect("GET a pet", check_pet(port, &pet));
    // The benchmarked POST, twice: orders get new ids, and the pet stays available.
    let mut last_id = None;
    for _ in 0..2 {
        let result = check_order(port).and_then(|id| match last_id {
            Some(last) if id <= last => Err(format!("order id {id} after {last}")),
            _ => {
                last_id = Some(id);
                Ok(())
            }
        });
        expect("POST an order", result);
    }
    for case in ERRORS {
        expect(case.what, check_error(port, case));
    }
    expect("GET a pet after the orders", check_pet(port, &pet));
    if failures.is_empty() {
        Ok(passed)
    } else {
        Err(failures)
    }
}

fn content_type(reply: &Reply, want: &str) -> Result<(), String> {
    match reply.header("content-type") {
        Some(found) if found == want => Ok(()),
        found => Err(format!("Content-Type {found:?}, not {want:?}")),
    }
}

fn status(reply: &Reply, want: u16) -> Result<(), String> {
    if reply.status == want {
        Ok(())
    } else {
        Err(format!(
            "status {} (body {:?}), not {want}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ))
    }
}

fn check_pet(port: u16, pet: &Pet) -> Result<(), String> {
    let reply = exchange(port, "GET", GET_PATH, &[], "")?;
    status(&reply, 200)?;
    content_type(&reply, "application/json")?;
    let got: Pet = serde_json::from_slice(&reply.body).map_err(|e| format!("not a Pet: {e}"))?;
    if &got != pet {
        return Err(format!("got {got:?}, not {pet:?}"));
    }
    Ok(())
}

/// Place the benchmarked order; its id.
fn check_order(port: u16) -> Result<i64, String> {
    let reply = exchange(port, "POST", POST_PATH, &[JSON, AUTH], POST_BODY)?;
    status(&reply, 201)?;
    content_type(&reply, "application/json")?;
    let order: Order =
        serde_json::from_slice(&reply.body).map_err(|e| format!("not an Order: {e}"))?;
    let want = (3, "u-1001", 137.5, OrderStatus::Placed);
    let got = (
        order.pet_id,
        order.user_id.as_str(),
        order.total,
        order.status,
    );
    if got != want {
        return Err(format!("order {got:?}, not {want:?}"));
    }
    let age = crate::servers::now() - order.placed_at;
    if age.num_seconds().abs() > 60 {
        return Err(format!("placedAt {} is not now", order.placed_at));
    }
    let location = order_location(order.id);
    if reply.header("location") != Some(location.as_str()) {
        return Err(format!(
            "Location {:?}, not {location:?}",
            reply.header("location")
        ));
    }
    Ok(order.id)
}

fn check_error(port: u16, case: &Case) -> Result<(), String> {
    let reply = exchange(port, case.method, case.path, case.headers, case.body)?;
    status(&reply, case.status)?;
    content_type(&reply, "application/problem+json")?;
    let problem: Problem =
        serde_json::from_slice(&reply.body).map_err(|e| format!("not a problem: {e}"))?;
    if problem.status != i32::from(case.status) || problem.detail.is_none() {
        return Err(format!("problem {problem:?}"));
    }
    if case.status == 401 && reply.header("www-authenticate") != Some("Bearer") {
        return Err(format!(
            "WWW-Authenticate {:?}, not \"Bearer\"",
            reply.header("www-authenticate")
        ));
    }
    Ok(())
}
