//! A hand-written message set in the shape wiregen generates, shared by the WebSocket tests.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use wiregen_runtime::ws::{
    DecodeError, EncodeError, Frame, MessageSet, decode_tagged_json, encode_json,
};

/// What a client sends: a tagged JSON union with a request/reply member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToServer {
    #[serde(rename = "bid")]
    Bid { amount: f64 },
    #[serde(rename = "history")]
    History {
        #[serde(rename = "requestId")]
        request_id: String,
        limit: u32,
    },
}

impl MessageSet for ToServer {
    fn encode(&self) -> Result<Frame, EncodeError> {
        encode_json(self)
    }

    fn decode_text(text: &str) -> Result<Self, DecodeError> {
        decode_tagged_json(text, "type", &["bid", "history"])
    }

    fn correlation_id(&self) -> Option<&str> {
        match self {
            ToServer::History { request_id, .. } => Some(request_id),
            _ => None,
        }
    }

    fn set_correlation_id(&mut self, id: &str) -> bool {
        match self {
            ToServer::History { request_id, .. } => {
                *request_id = id.to_owned();
                true
            }
            _ => false,
        }
    }
}

/// What a server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToClient {
    #[serde(rename = "bid")]
    BidPlaced { amount: f64, room: String },
    #[serde(rename = "history")]
    History {
        #[serde(rename = "requestId")]
        request_id: String,
        count: u32,
    },
}

impl MessageSet for ToClient {
    fn encode(&self) -> Result<Frame, EncodeError> {
        encode_json(self)
    }

    fn decode_text(text: &str) -> Result<Self, DecodeError> {
        decode_tagged_json(text, "type", &["bid", "history"])
    }

    fn correlation_id(&self) -> Option<&str> {
        match self {
            ToClient::History { request_id, .. } => Some(request_id),
            _ => None,
        }
    }
}

pub mod raw {
    //! A WebSocket client written by hand over TCP, for what a well-behaved client library
    //! will not do: send invalid UTF-8, never answer pings, never read.

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub struct RawClient {
        pub stream: TcpStream,
        buffer: Vec<u8>,
    }

    /// One frame from the server: opcode and payload.
    #[derive(Debug)]
    pub struct RawFrame {
        pub opcode: u8,
        pub payload: Vec<u8>,
    }

    impl RawFrame {
        /// The close code of a Close frame.
        pub fn close_code(&self) -> Option<u16> {
            (self.opcode == 8 && self.payload.len() >= 2)
                .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
        }
    }

    impl RawClient {
        /// Connect and upgrade; `recv_buffer` shrinks the socket's receive buffer first.
        pub async fn connect(
            addr: std::net::SocketAddr,
            path: &str,
            recv_buffer: Option<u32>,
        ) -> RawClient {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            if let Some(size) = recv_buffer {
                socket.set_recv_buffer_size(size).unwrap();
            }
            RawClient::connect_sending(addr, path, socket, &[]).await
        }

        /// Connect and upgrade over `socket`, sending `frames` (opcode, payload) in the same
        /// write as the handshake request, before its answer.
        pub async fn connect_sending(
            addr: std::net::SocketAddr,
            path: &str,
            socket: tokio::net::TcpSocket,
            frames: &[(u8, &[u8])],
        ) -> RawClient {
            let mut stream = socket.connect(addr).await.unwrap();
            let mut request = format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .into_bytes();
            for (opcode, payload) in frames {
                request.extend_from_slice(&masked(*opcode, payload));
            }
            stream.write_all(&request).await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                assert_eq!(
                    stream.read(&mut byte).await.unwrap(),
                    1,
                    "handshake cut short"
                );
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            assert!(head.starts_with("HTTP/1.1 101"), "{head}");
            RawClient {
                stream,
                buffer: Vec::new(),
            }
        }

        /// Send one masked frame.
        pub async fn send(&mut self, opcode: u8, payload: &[u8]) {
            // The server may already have closed: errors are the test's to observe.
            let _ = self.stream.write_all(&masked(opcode, payload)).await;
        }

        /// The next frame, or `None` when the connection ends.
        pub async fn recv(&mut self) -> Option<RawFrame> {
            loop {
                if let Some((frame, used)) = parse(&self.buffer) {
                    self.buffer.drain(..used);
                    return Some(frame);
                }
                let mut chunk = [0u8; 4096];
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                }
            }
        }

        /// Frames until a Close: returns it (or `None` if the connection ended without one).
        pub async fn until_close(&mut self) -> Option<RawFrame> {
            while let Some(frame) = self.recv().await {
                if frame.opcode == 8 {
                    return Some(frame);
                }
            }
            None
        }
    }

    /// One final frame, masked as a client's must be.
    fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x80 | opcode];
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    fn parse(buf: &[u8]) -> Option<(RawFrame, usize)> {
        if buf.len() < 2 {
            return None;
        }
        let opcode = buf[0] & 0x0f;
        let (len, mut at) = match buf[1] & 0x7f {
            126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
            127 => (
                u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        if buf[1] & 0x80 != 0 {
            at += 4; // servers do not mask, but be lenient
        }
        let payload = buf.get(at..at + len)?.to_vec();
        Some((RawFrame { opcode, payload }, at + len))
    }
}
