//! Server pathnames (`tests/fixtures/asyncapi30_pathnames.yaml`) over 127.0.0.1: a channel whose
//! servers agree on `/api/{version}` (default `v2`) is routed at `/api/v2/<address>` and not at
//! the bare address, and the generated client joins its base URL, the pathname and the address
//! with single slashes, whether or not the base URL ends with `/`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::ws::NoMessages;
use wiregen_runtime::ws::client::ClientConfig;
use wiregen_runtime::ws::server::{Outbound, ServerConfig};
use wiregen_snapshots::asyncapi30_pathnames::client::SharedClient;
use wiregen_snapshots::asyncapi30_pathnames::server;
use wiregen_snapshots::asyncapi30_pathnames::types::SharedClientMessage;
use wiregen_snapshots::asyncapi30_pathnames::types::SharedParams;

const WAIT: Duration = Duration::from_secs(10);

/// Reports the room of every ping it receives.
struct Rooms(mpsc::UnboundedSender<String>);

impl server::SharedChannel for Rooms {
    type Session = String;

    async fn on_connect(
        &self,
        params: SharedParams,
        _outbound: Outbound<NoMessages>,
    ) -> Result<String, HttpError> {
        Ok(params.room_id)
    }

    async fn on_message(&self, room: &mut String, message: SharedClientMessage) {
        match message {
            SharedClientMessage::Ping => {
                let _ = self.0.send(room.clone());
            }
        }
    }
}

async fn serve() -> (std::net::SocketAddr, mpsc::UnboundedReceiver<String>) {
    let (pings, received) = mpsc::unbounded_channel();
    let router = server::shared_router(Arc::new(Rooms(pings)), Arc::new(ServerConfig::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_answers_under_the_pathname_only() {
    let (addr, _received) = serve().await;
    let (_socket, response) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v2/shared/r-1"))
            .await
            .expect("upgrades under the pathname");
    assert_eq!(response.status().as_u16(), 101);
    for bare in [
        "/shared/r-1",
        "/api/v2//shared/r-1",
        "/api/{version}/shared/r-1",
    ] {
        let error = tokio_tungstenite::connect_async(format!("ws://{addr}{bare}"))
            .await
            .expect_err(bare);
        match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status().as_u16(), 404, "{bare}");
            }
            other => panic!("{bare}: expected 404, got {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_joins_base_url_pathname_and_address() {
    let (addr, mut received) = serve().await;
    for (base, room) in [
        (format!("ws://{addr}"), "plain"),
        (format!("ws://{addr}/"), "slash"),
    ] {
        let params = SharedParams {
            room_id: room.into(),
        };
        let request = SharedClient::request(&base, &params).unwrap();
        assert_eq!(request.url, format!("ws://{addr}/api/v2/shared/{room}"));
        let (client, _rx) = SharedClient::connect(&base, &params, ClientConfig::default())
            .await
            .expect("connects");
        client.send(&SharedClientMessage::Ping).await.unwrap();
        let got = tokio::time::timeout(WAIT, received.recv()).await;
        assert_eq!(got.ok().flatten().as_deref(), Some(room));
    }
}
