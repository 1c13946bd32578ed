//! Spec shapes once read wrong, end to end over 127.0.0.1:
//! - `tests/fixtures/asyncapi30_fidelity.yaml`: binary audio beside tagged JSON commands in one
//!   direction, on a socket shared with a second channel (frames told apart by kind, then tag);
//!   a channel defined by `$ref` whose messages operations name through the channel's pointer;
//!   a channel keyed `/` served at its server's pathname;
//!   a request the server sends (`askUser`) answered by the client with its correlation id,
//!   beside one the client sends (`agentStatus`) on the same channel;
//! - `tests/fixtures/asyncapi26_security.yaml`: AsyncAPI 2.x server security by name, applied
//!   to the handshake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wiregen_runtime::http::HttpError;
use wiregen_runtime::ws::Credential;
use wiregen_runtime::ws::client::ClientConfig;
use wiregen_runtime::ws::server::{CallError, Outbound, ServerConfig};
use wiregen_snapshots::asyncapi26_security::client::PricesClient;
use wiregen_snapshots::asyncapi26_security::server as security_server;
use wiregen_snapshots::asyncapi26_security::types::{
    PricesParams, PricesServerMessage, PricesSubscribePricesMessage0,
};
use wiregen_snapshots::asyncapi30_fidelity::client::{AgentClient, EchoClient, RootFeedClient};
use wiregen_snapshots::asyncapi30_fidelity::server::{self, AgentCalls};
use wiregen_snapshots::asyncapi30_fidelity::types::{
    AgentAnswer, AgentClientMessage, AgentNote, AgentParams, AgentPrompt, AgentServerMessage,
    AgentStatus, AgentStatusRequest, EchoClientMessage, EchoParams, EchoPing, EchoServerMessage,
    RealtimeClientMessage, RealtimeControlClientMessage, RealtimeControlParams,
    RealtimeControlServerMessage, RealtimeParams, RealtimeServerMessage, RealtimeTranscript,
    RootFeedParams, RootFeedServerMessage, RootFeedTick,
};

const WAIT: Duration = Duration::from_secs(10);

/// What the realtime socket received, in order, as the handlers saw it.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

struct Fidelity {
    seen: Arc<Seen>,
    /// What the `agent` channel learnt: the outcome of each `askUser` call, and each message
    /// that reached `on_message`, in order.
    agent: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Fidelity {
    fn new(seen: Arc<Seen>) -> (Self, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (agent, learnt) = tokio::sync::mpsc::unbounded_channel();
        (Fidelity { seen, agent }, learnt)
    }

    fn saw(&self, what: String) {
        self.seen.0.lock().unwrap().push(what);
    }
}

impl server::AgentChannel for Fidelity {
    type Session = ();

    /// Ask every client a question as it connects, from a task of its own.
    async fn on_connect(
        &self,
        _params: AgentParams,
        outbound: Outbound<AgentServerMessage>,
    ) -> Result<(), HttpError> {
        let learnt = self.agent.clone();
        tokio::spawn(async move {
            let question = AgentPrompt {
                prompt_id: None,
                question: "Ready?".into(),
            };
            let outcome = match outbound.ask_user(question).await {
                Ok(answer) => format!("answer {}", answer.text),
                Err(error) => format!("error {error}"),
            };
            let _ = learnt.send(outcome);
        });
        Ok(())
    }

    async fn on_message(&self, _session: &mut (), message: AgentClientMessage) {
        let what = match message {
            AgentClientMessage::Note(note) => format!("note {}", note.text),
            AgentClientMessage::Answer(answer) => format!("unmatched answer {}", answer.text),
            AgentClientMessage::StatusRequest(_) => "status request in on_message".to_owned(),
        };
        let _ = self.agent.send(what);
    }

    async fn agent_status(&self, _session: &mut (), _request: AgentStatusRequest) -> AgentStatus {
        AgentStatus {
            request_id: None,
            busy: true,
        }
    }
}

impl server::EchoChannel for Fidelity {
    type Session = Outbound<EchoServerMessage>;

    async fn on_connect(
        &self,
        _params: EchoParams,
        outbound: Outbound<EchoServerMessage>,
    ) -> Result<Self::Session, HttpError> {
        Ok(outbound)
    }

    async fn on_message(&self, outbound: &mut Self::Session, message: EchoClientMessage) {
        let EchoClientMessage::Ping(_) = message;
        let _ = outbound.send(&EchoServerMessage::Pong);
    }
}

impl server::RootFeedChannel for Fidelity {
    type Session = ();

    async fn on_connect(
        &self,
        _params: RootFeedParams,
        outbound: Outbound<RootFeedServerMessage>,
    ) -> Result<(), HttpError> {
        let _ = outbound.send(&RootFeedServerMessage::Tick(RootFeedTick { seq: 1 }));
        Ok(())
    }
}

impl server::RealtimeChannel for Fidelity {
    type Session = (Outbound<RealtimeServerMessage>, usize);

    async fn on_connect(
        &self,
        _params: RealtimeParams,
        outbound: Outbound<RealtimeServerMessage>,
    ) -> Result<Self::Session, HttpError> {
        Ok((outbound, 0))
    }

    async fn on_message(&self, session: &mut Self::Session, message: RealtimeClientMessage) {
        match message {
            RealtimeClientMessage::Start(start) => {
                self.saw(format!("start {}", start.language.unwrap_or_default()));
            }
            RealtimeClientMessage::Audio(bytes) => {
                self.saw(format!("audio {}", bytes.len()));
                session.1 += bytes.len();
            }
            RealtimeClientMessage::End => {
                self.saw("end".to_owned());
                let transcript = RealtimeTranscript {
                    text: format!("{} bytes", session.1),
                };
                let _ = session
                    .0
                    .send(&RealtimeServerMessage::Transcript(transcript));
            }
        }
    }
}

impl server::RealtimeControlChannel for Fidelity {
    type Session = Outbound<RealtimeControlServerMessage>;

    async fn on_connect(
        &self,
        _params: RealtimeControlParams,
        outbound: Outbound<RealtimeControlServerMessage>,
    ) -> Result<Self::Session, HttpError> {
        Ok(outbound)
    }

    async fn on_message(
        &self,
        outbound: &mut Self::Session,
        message: RealtimeControlClientMessage,
    ) {
        let RealtimeControlClientMessage::Pause = message;
        self.saw("pause".to_owned());
        let _ = outbound.send(&RealtimeControlServerMessage::Paused);
    }
}

async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("ws://{addr}")
}

async fn next_frame<S>(socket: &mut S) -> Message
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("a frame");
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_and_tagged_commands_share_one_socket() {
    let seen = Arc::new(Seen::default());
    let base = serve_router(server::router(Fidelity::new(seen.clone()).0)).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{base}/v1/realtime"))
        .await
        .expect("upgrades at the pathname, not under it twice");
    let text = |t: &str| Message::Text(t.to_owned().into());
    socket
        .send(text(r#"{"message":"Start","language":"en"}"#))
        .await
        .unwrap();
    socket
        .send(Message::Binary(vec![1u8; 640].into()))
        .await
        .unwrap();
    socket
        .send(Message::Binary(vec![2u8; 360].into()))
        .await
        .unwrap();
    socket.send(text(r#"{"message":"End"}"#)).await.unwrap();
    // The transcript arrives after End: every frame before it was handled, in order.
    let Message::Text(transcript) = next_frame(&mut socket).await else {
        panic!("a text frame")
    };
    let transcript: serde_json::Value = serde_json::from_str(transcript.as_str()).unwrap();
    assert_eq!(
        transcript,
        serde_json::json!({"message": "Transcript", "text": "1000 bytes"})
    );
    // The second channel of the socket, by its tag.
    socket.send(text(r#"{"message":"Pause"}"#)).await.unwrap();
    let Message::Text(paused) = next_frame(&mut socket).await else {
        panic!("a text frame")
    };
    assert_eq!(paused.as_str(), r#"{"message":"Paused"}"#);
    assert_eq!(
        *seen.0.lock().unwrap(),
        ["start en", "audio 640", "audio 360", "end", "pause"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_by_ref_and_a_channel_keyed_slash_are_served() {
    let base = serve_router(server::router(Fidelity::new(Arc::default()).0)).await;
    // `echo` is a `$ref` to `#/components/channels/echo`; its operations name its messages
    // through `#/channels/echo/messages/...`.
    let (echo, mut received) = EchoClient::connect(&base, &EchoParams {}, ClientConfig::default())
        .await
        .expect("connects to /raw/echo");
    echo.send(&EchoClientMessage::Ping(EchoPing { note: None }))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, received.next_message()).await;
    assert_eq!(pong.ok().flatten(), Some(EchoServerMessage::Pong));
    // The channel keyed `/` is named after its title, served at its server's `/raw`.
    let request = RootFeedClient::request(&base, &RootFeedParams {}).unwrap();
    assert_eq!(request.url, format!("{base}/raw"));
    let (_feed, mut ticks) =
        RootFeedClient::connect(&base, &RootFeedParams {}, ClientConfig::default())
            .await
            .expect("connects to /raw");
    let tick = tokio::time::timeout(WAIT, ticks.next_message()).await;
    assert_eq!(
        tick.ok().flatten(),
        Some(RootFeedServerMessage::Tick(RootFeedTick { seq: 1 }))
    );
}

async fn learnt(from: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, from.recv())
        .await
        .expect("in time")
        .expect("the server is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_asks_and_the_client_answers_with_the_correlation_id() {
    let (fidelity, mut learnt_by_server) = Fidelity::new(Arc::default());
    let base = serve_router(server::router(fidelity)).await;
    let (agent, mut received) =
        AgentClient::connect(&base, &AgentParams {}, ClientConfig::default())
            .await
            .expect("connects to /raw/agent");
    let prompt = match tokio::time::timeout(WAIT, received.next_message()).await {
        Ok(Some(AgentServerMessage::Prompt(prompt))) => prompt,
        other => panic!("expected the server's prompt, got {other:?}"),
    };
    assert_eq!(prompt.question, "Ready?");
    let id = prompt
        .prompt_id
        .clone()
        .expect("the runtime sets a correlation id");
    assert!(!id.is_empty());
    // While the server's call waits, the client's own request on the channel is answered.
    let status = agent
        .agent_status(AgentStatusRequest { request_id: None })
        .await
        .expect("the server answers the client's request");
    assert!(status.busy);
    // A message that is not the reply still reaches on_message, in order.
    agent
        .send(&AgentClientMessage::Note(AgentNote {
            text: "thinking".into(),
        }))
        .await
        .unwrap();
    let answer = AgentAnswer {
        prompt_id: String::new(),
        text: "yes".into(),
    };
    agent.answer_ask_user(&prompt, answer).await.unwrap();
    assert_eq!(learnt(&mut learnt_by_server).await, "note thinking");
    assert_eq!(learnt(&mut learnt_by_server).await, "answer yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_client_leaves_unanswered_times_out_and_a_late_reply_is_a_message() {
    let (fidelity, mut learnt_by_server) = Fidelity::new(Arc::default());
    let config = ServerConfig::default().call_timeout(Duration::from_millis(300));
    let base = serve_router(server::router_with_config(fidelity, config)).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{base}/raw/agent"))
        .await
        .expect("upgrades");
    let Message::Text(prompt) = next_frame(&mut socket).await else {
        panic!("a text frame")
    };
    let prompt: serde_json::Value = serde_json::from_str(prompt.as_str()).unwrap();
    assert_eq!(prompt["type"], "prompt");
    let id = prompt["promptId"]
        .as_str()
        .expect("a correlation id")
        .to_owned();
    // An answer with another id is no reply: it goes to on_message, and the call goes on.
    let answer = |id: &str, text: &str| {
        let json = serde_json::json!({"type": "answer", "promptId": id, "text": text});
        Message::Text(json.to_string().into())
    };
    socket.send(answer("not-the-id", "wrong")).await.unwrap();
    // Which of the two the server learns first depends on the machine's load.
    let mut two = [
        learnt(&mut learnt_by_server).await,
        learnt(&mut learnt_by_server).await,
    ];
    two.sort();
    assert_eq!(
        two,
        [
            format!("error {}", CallError::Timeout),
            "unmatched answer wrong".to_owned()
        ]
    );
    // The right id after the call gave up is an ordinary message too.
    socket.send(answer(&id, "too late")).await.unwrap();
    assert_eq!(
        learnt(&mut learnt_by_server).await,
        "unmatched answer too late"
    );

    // A client that leaves while asked ends the call at once, not at its timeout.
    let config = ServerConfig::default().call_timeout(Duration::from_secs(600));
    let (fidelity, mut learnt_by_server) = Fidelity::new(Arc::default());
    let base = serve_router(server::router_with_config(fidelity, config)).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{base}/raw/agent"))
        .await
        .expect("upgrades");
    next_frame(&mut socket).await;
    socket.close(None).await.unwrap();
    assert_eq!(
        learnt(&mut learnt_by_server).await,
        format!("error {}", CallError::Disconnected)
    );
}

struct Prices;

impl security_server::PricesChannel for Prices {
    type Session = ();
    type Auth = ();

    async fn authenticate(
        &self,
        credential: Option<Credential>,
        _params: &PricesParams,
    ) -> Result<(), HttpError> {
        match credential {
            Some(Credential::ApiKey(key)) if key == "secret" => Ok(()),
            _ => Err(HttpError::new(401, "the X-Token header is required")),
        }
    }

    async fn on_connect(
        &self,
        _params: PricesParams,
        _auth: (),
        outbound: Outbound<PricesServerMessage>,
    ) -> Result<(), HttpError> {
        let price = PricesSubscribePricesMessage0 {
            symbol: "ACME".into(),
            price: 2.5,
        };
        let _ = outbound.send(&PricesServerMessage::SubscribePricesMessage0(price));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncapi_2_server_security_by_name_guards_the_handshake() {
    let base = serve_router(security_server::router(Prices)).await;
    for credential in [None, Some(Credential::ApiKey("wrong".into()))] {
        let error = PricesClient::connect(
            &base,
            &PricesParams {},
            credential.as_ref(),
            ClientConfig::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), Some(401), "{error}");
    }
    let key = Credential::ApiKey("secret".into());
    let request = PricesClient::request(&base, &PricesParams {}, Some(&key)).unwrap();
    assert_eq!(
        request.headers.get("x-token").map(|v| v.as_bytes()),
        Some(&b"secret"[..]),
        "the key travels in the scheme's header"
    );
    let (_client, mut received) =
        PricesClient::connect(&base, &PricesParams {}, Some(&key), ClientConfig::default())
            .await
            .expect("connects with the key");
    let price = tokio::time::timeout(WAIT, received.next_message()).await;
    assert!(
        matches!(
            price.ok().flatten(),
            Some(PricesServerMessage::SubscribePricesMessage0(p)) if p.symbol == "ACME"
        ),
        "the price arrives"
    );
}
