//! `wss://` in the WebSocket client (the `ws-rustls` feature), without leaving 127.0.0.1: a
//! closed port is a connection error (not "TLS not supported"), an `https://` URL opens a TLS
//! connection (the first bytes the server sees are a TLS handshake record), and an `http://`
//! URL opens a plain WebSocket upgrade.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite;
use wiregen_runtime::ws::NoMessages;
use wiregen_runtime::ws::client::{ClientConfig, ConnectError, ConnectRequest, connect};

const WAIT: Duration = Duration::from_secs(10);

async fn attempt(url: String) -> ConnectError {
    let config = ClientConfig::default().connect_timeout(WAIT);
    match connect::<NoMessages, NoMessages>(ConnectRequest::new(url), config).await {
        Ok(_) => panic!("connected to nothing"),
        Err(error) => error,
    }
}

/// A port on 127.0.0.1 that nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn wss_to_a_closed_port_is_a_connection_error() {
    for scheme in ["wss", "https", "WSS"] {
        let port = closed_port().await;
        match attempt(format!("{scheme}://127.0.0.1:{port}/socket")).await {
            ConnectError::Handshake(tungstenite::Error::Io(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{scheme}");
            }
            other => panic!("{scheme}: expected a refused connection, got {other:?}"),
        }
    }
}

/// Accept one connection and return its first bytes.
async fn first_bytes(listener: TcpListener) -> Vec<u8> {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buffer = vec![0; 16];
    let mut read = 0;
    while read < 3 {
        match socket.read(&mut buffer[read..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    buffer.truncate(read);
    buffer
}

#[tokio::test]
async fn https_opens_tls_and_http_opens_a_plain_upgrade() {
    for (scheme, expect_tls) in [
        ("https", true),
        ("wss", true),
        ("http", false),
        ("ws", false),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(first_bytes(listener));
        let error = attempt(format!("{scheme}://127.0.0.1:{port}/socket")).await;
        assert!(
            !matches!(error, ConnectError::Request(_)),
            "{scheme}: {error}"
        );
        let bytes = tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
        if expect_tls {
            // A TLS record of type handshake (22), version 3.x: the ClientHello.
            assert_eq!(
                bytes.get(..2),
                Some(&[0x16, 0x03][..]),
                "{scheme}: {bytes:?}"
            );
        } else {
            assert_eq!(bytes.get(..3), Some(&b"GET"[..]), "{scheme}: {bytes:?}");
        }
    }
}
