//! `petstore-client`: subscribes to the pet store's notifications with the generated client and
//! prints each typed event as it arrives. The stream reconnects and resumes with
//! `Last-Event-ID` by itself when the server goes away and comes back.
//!
//! ```text
//! petstore-client [--url URL] [--user-id ID] [--count N]
//! ```

use std::io::Write as _;
use std::process::ExitCode;

use futures_util::StreamExt;
use petstore_generated::petstore_openapi::client::Client;
use petstore_generated::petstore_openapi::sse::StreamNotificationsRequest;
use petstore_generated::petstore_openapi::types::StreamNotificationsEvent as Event;
use wiregen_runtime::sse::client::Received;

const USAGE: &str = "\
usage: petstore-client [--url URL] [--user-id ID] [--count N]

  --url URL       the server (default http://127.0.0.1:3000)
  --user-id ID    only events about this user's orders and pets, e.g. u-1001
  --count N       exit after N events (default: run until interrupted)";

struct Options {
    url: String,
    user_id: Option<String>,
    count: Option<usize>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        url: "http://127.0.0.1:3000".to_owned(),
        user_id: None,
        count: None,
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
    } = options;
    let client = Client::new(url.trim_end_matches('/'));
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
            // The client reconnects by itself after connection errors; say what happened.
            Err(error) => complain(&format!("petstore-client: {error}")),
        }
    }
    ExitCode::SUCCESS
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
