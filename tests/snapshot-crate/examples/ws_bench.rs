//! WebSocket broadcast benchmark: one auction, N bidders listening, S bidders bidding at once
//! (10 by default); every bid is broadcast to everyone in the auction. Compares the generated
//! pet store server (the generated router and traits, bids broadcast through the runtime's
//! `Hub`, served by the runtime's `serve::serve` as the README shows) with a hand-written axum
//! server (tokio `broadcast`, each frame encoded once, queued frames written and flushed
//! together, 4 KiB buffers, `axum::serve`) and Node's `ws` (`tests/peers/ws-server.mjs`).
//! `generated-axum-serve` is the generated router on `axum::serve` instead.
//!
//! `cargo run --release -p wiregen-snapshots --example ws_bench -- [--clients 100,1000]
//! [--deliveries 2000000] [--window 128] [--senders 10]
//! [--servers handwritten,generated,node-ws]` (also `generated-axum-serve`)
//! (bids per run: deliveries ÷ clients; the first server listed is the baseline of the ratios)
//!
//! Each server runs in its own process (pinned to CPU 0 with `taskset` when there is one; this
//! process pins itself to CPU 1), so its CPU time and RSS are read from `/proc/<pid>`. The load
//! generator keeps at most `--window` bids in flight per listener on average, so no listener
//! overflows its queue. Latency is from a bid's send to its broadcast's arrival. Figures only;
//! nothing is asserted. Every loop is bounded by counts and by a deadline.

#[path = "../tests/ws_support/mod.rs"]
mod ws_support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = ws_support::TOKEN;
/// The servers `--servers` can name.
const SERVERS: &[&str] = &[
    "handwritten",
    "generated",
    "generated-axum-serve",
    "node-ws",
];
const DEADLINE: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let (Some(kind), Some(port_file)) = (args.get(1), args.get(2)) else {
            eprintln!("usage: ws_bench --serve generated|handwritten PORTFILE");
            std::process::exit(2);
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(serve(kind, port_file));
        return;
    }
    let mut clients = vec![100usize, 1000];
    let mut deliveries = 2_000_000usize;
    let mut window = 128u64;
    let mut senders = 10usize;
    let mut servers = vec![
        "handwritten".to_owned(),
        "generated".to_owned(),
        "node-ws".to_owned(),
    ];
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--clients" => clients = value.split(',').filter_map(|c| c.parse().ok()).collect(),
            "--deliveries" => deliveries = value.parse().unwrap_or(deliveries),
            "--window" => window = value.parse().unwrap_or(window),
            "--senders" => senders = value.parse().unwrap_or(senders).max(1),
            "--servers" => servers = value.split(',').map(str::to_owned).collect(),
            other => {
                eprintln!("ws_bench: unknown option {other}; see the module docs");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    if let Some(unknown) = servers.iter().find(|s| !SERVERS.contains(&s.as_str())) {
        eprintln!("ws_bench: unknown server {unknown}; see the module docs");
        std::process::exit(2);
    }
    pin_self_to_cpu_1();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "| server | clients | delivered msg/s | vs hand-written | server CPU ms / 1000 delivered | vs hand-written | p50 / p99 latency ms | idle RSS KiB / connection | peak RSS MiB |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &n in &clients {
        let messages = (deliveries / n.max(1)).max(1);
        let mut baseline: Option<Figures> = None;
        for kind in servers.iter().map(String::as_str) {
            let figures = runtime.block_on(run(kind, n, messages, window, senders));
            match figures {
                Ok(f) => {
                    let (rate, cpu) = match &baseline {
                        Some(b) => (
                            format!("{:.2}×", f.rate / b.rate),
                            format!("{:.2}×", f.cpu_per_1000 / b.cpu_per_1000),
                        ),
                        None => ("1.00×".into(), "1.00×".into()),
                    };
                    println!(
                        "| {kind} | {n} | {:.0} | {rate} | {:.3} | {cpu} | {:.1} / {:.1} | {:.1} | {:.1} |",
                        f.rate, f.cpu_per_1000, f.p50_ms, f.p99_ms, f.idle_kib_per_conn, f.peak_mib
                    );
                    if baseline.is_none() {
                        baseline = Some(f);
                    }
                }
                Err(e) => println!("| {kind} | {n} | failed: {e} | | | | | | |"),
            }
        }
    }
}

struct Figures {
    rate: f64,
    cpu_per_1000: f64,
    p50_ms: f64,
    p99_ms: f64,
    idle_kib_per_conn: f64,
    peak_mib: f64,
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pin_self_to_cpu_1() {
    if has_taskset() {
        let _ = Command::new("taskset")
            .args(["-a", "-cp", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    }
}

struct ServerProcess {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(kind: &str) -> Result<ServerProcess, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port_file = dir.path().join("port");
    let mut command = if has_taskset() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]);
        c
    } else {
        Command::new("env")
    };
    if kind == "node-ws" {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../peers/ws-server.mjs");
        command.arg("node").arg(script).arg(&port_file);
    } else {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        command.arg(me).arg("--serve").arg(kind).arg(&port_file);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the {kind} server: {e}"))?;
    let mut server = ServerProcess {
        child,
        port: 0,
        _dir: dir,
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(text) = std::fs::read_to_string(&port_file)
            && let Ok(port) = text.trim().parse()
        {
            server.port = port;
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("the {kind} server wrote no port"))
}

fn proc_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of `pid` (clock ticks of 10 ms, Linux's USER_HZ).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(port: u16, user: &str) -> Result<Socket, String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let url = format!("ws://127.0.0.1:{port}/auctions/bench?token={TOKEN}&userId={user}");
    tokio_tungstenite::client_async(url, stream)
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| e.to_string())
}

/// The bid number in `{"type":"bid","userId":…,"amount":K}`.
fn amount(text: &str) -> Option<usize> {
    let at = text.find("\"amount\":")? + 9;
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

async fn run(
    kind: &str,
    clients: usize,
    messages: usize,
    window: u64,
    senders: usize,
) -> Result<Figures, String> {
    let server = start_server(kind)?;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = proc_field(pid, "VmRSS:").unwrap_or(0);
    let mut listeners = Vec::with_capacity(clients);
    for i in 0..clients {
        listeners.push(open(server.port, &format!("l{i}")).await?);
    }
    // The senders are in the auction too: what they receive is read and dropped.
    let mut bidders = Vec::with_capacity(senders);
    for s in 0..senders {
        let (sink, mut stream) = open(server.port, &format!("bench{s}")).await?.split();
        tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        bidders.push(sink);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = proc_field(pid, "VmRSS:").unwrap_or(0);
    let idle_kib_per_conn = rss_idle.saturating_sub(rss_before) as f64 / (clients + senders) as f64;

    let base = Instant::now();
    let sent_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..=messages).map(|_| AtomicU64::new(0)).collect());
    let received = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let started = Instant::now();
    let mut readers = Vec::with_capacity(clients);
    for mut socket in listeners {
        let sent_at = sent_at.clone();
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages / 4 + 1);
            let mut got = 0;
            while got < messages {
                let next = tokio::time::timeout(DEADLINE, socket.next()).await;
                let Ok(Some(Ok(Message::Text(text)))) = next else {
                    match next {
                        Ok(Some(Ok(_))) => continue,
                        _ => break,
                    }
                };
                got += 1;
                received.fetch_add(1, Ordering::Relaxed);
                if got % 4 == 0
                    && let Some(k) = amount(&text)
                    && let Some(at) = sent_at.get(k)
                {
                    let now = base.elapsed().as_micros() as u64;
                    latencies.push(now.saturating_sub(at.load(Ordering::Relaxed)));
                }
            }
            (got, latencies)
        }));
    }
    // Bids 1..=messages, taking turns among the senders, at most `window` in flight per
    // listener on average. Each sender writes its bids 16 at a time; all of them write what they
    // have before the generator waits for the listeners.
    let mut pending = vec![0usize; senders];
    for k in 1..=messages {
        let deadline = Instant::now() + DEADLINE;
        while (k as u64 - 1) * clients as u64 - received.load(Ordering::Relaxed)
            > window * clients as u64
        {
            if Instant::now() > deadline {
                return Err("listeners stopped receiving".into());
            }
            for (sender, pending) in bidders.iter_mut().zip(&mut pending) {
                if *pending > 0 {
                    sender.flush().await.map_err(|e| e.to_string())?;
                    *pending = 0;
                }
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        sent_at[k].store(base.elapsed().as_micros() as u64, Ordering::Relaxed);
        let s = k % senders;
        let sender = &mut bidders[s];
        sender
            .feed(Message::text(format!(r#"{{"type":"bid","amount":{k}}}"#)))
            .await
            .map_err(|e| e.to_string())?;
        pending[s] += 1;
        if pending[s] == 16 {
            sender.flush().await.map_err(|e| e.to_string())?;
            pending[s] = 0;
        }
    }
    for (sender, pending) in bidders.iter_mut().zip(&pending) {
        if *pending > 0 {
            sender.flush().await.map_err(|e| e.to_string())?;
        }
    }
    let mut latencies = Vec::new();
    let mut delivered = 0;
    for reader in readers {
        let (got, mut l) = reader.await.map_err(|e| e.to_string())?;
        delivered += got;
        latencies.append(&mut l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let peak = proc_field(pid, "VmHWM:").unwrap_or(0);
    if delivered != clients * messages {
        return Err(format!("delivered {delivered} of {}", clients * messages));
    }
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    Ok(Figures {
        rate: delivered as f64 / elapsed,
        cpu_per_1000: cpu * 1000.0 / (delivered as f64 / 1000.0),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        idle_kib_per_conn,
        peak_mib: peak as f64 / 1024.0,
    })
}

async fn serve(kind: &str, port_file: &str) {
    use axum::serve::ListenerExt;
    let router = match kind {
        "generated" | "generated-axum-serve" => {
            wiregen_snapshots::petstore_asyncapi::server::auction_router(
                std::sync::Arc::new(bench_auction::BenchAuction::default()),
                std::sync::Arc::new(
                    wiregen_runtime::ws::server::ServerConfig::default().queue_capacity(4096),
                ),
            )
        }
        _ => handwritten::router(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("an address").port();
    let tmp = format!("{port_file}.tmp");
    std::fs::write(&tmp, port.to_string()).expect("writes the port");
    std::fs::rename(&tmp, port_file).expect("renames the port file");
    if kind == "generated" {
        // `TCP_NODELAY` is the runtime's default.
        let config = wiregen_runtime::serve::ServeConfig::default();
        let _ = wiregen_runtime::serve::serve(listener, router, config).await;
        return;
    }
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let _ = axum::serve(listener, router).await;
}

/// The generated server's side of the benchmark: the generated `AuctionChannel` trait, every
/// bid broadcast to the auction through the runtime's `Hub` (as the hand-written server does;
/// the end-to-end tests' `Store` ignores bids that do not beat the leader, which concurrent
/// senders' bids often do not).
mod bench_auction {
    use wiregen_runtime::http::HttpError;
    use wiregen_runtime::ws::Credential;
    use wiregen_runtime::ws::server::{Hub, Membership, Outbound};
    use wiregen_snapshots::petstore_asyncapi::server::AuctionChannel;
    use wiregen_snapshots::petstore_asyncapi::types::{
        AuctionClientMessage, AuctionParams, AuctionServerMessage, BidPlaced,
    };

    #[derive(Clone, Default)]
    pub struct BenchAuction {
        hub: Hub<String, AuctionServerMessage>,
    }

    pub struct Bidder {
        auction: String,
        user: String,
        _room: Membership<String, AuctionServerMessage>,
    }

    impl AuctionChannel for BenchAuction {
        type Session = Bidder;
        type Auth = ();

        async fn authenticate(
            &self,
            credential: Option<Credential>,
            _params: &AuctionParams,
        ) -> Result<(), HttpError> {
            match credential {
                Some(Credential::ApiKey(key)) if key == super::TOKEN => Ok(()),
                _ => Err(HttpError::new(401, "a valid `token` is required")),
            }
        }

        async fn on_connect(
            &self,
            params: AuctionParams,
            _auth: (),
            outbound: Outbound<AuctionServerMessage>,
        ) -> Result<Bidder, HttpError> {
            Ok(Bidder {
                _room: self.hub.join(params.auction_id.clone(), &outbound),
                auction: params.auction_id,
                user: params.user_id.unwrap_or_default(),
            })
        }

        async fn on_message(&self, session: &mut Bidder, message: AuctionClientMessage) {
            if let AuctionClientMessage::Bid(bid) = message {
                let _ = self.hub.send(
                    &session.auction,
                    &AuctionServerMessage::BidPlaced(BidPlaced {
                        user_id: session.user.clone(),
                        amount: bid.amount,
                    }),
                );
            }
        }
    }
}

/// The hand-written baseline: what a careful person writes with axum alone.
mod handwritten {
    use axum::Router;
    use axum::extract::State;
    use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
    use axum::response::Response;
    use futures_util::{SinkExt, StreamExt};
    use tokio::sync::broadcast;

    #[derive(serde::Deserialize)]
    struct BidIn {
        amount: f64,
    }

    #[derive(serde::Serialize)]
    struct BidOut<'a> {
        r#type: &'static str,
        #[serde(rename = "userId")]
        user_id: &'a str,
        amount: f64,
    }

    pub fn router() -> Router {
        let (room, _) = broadcast::channel::<Utf8Bytes>(4096);
        Router::new()
            .route("/auctions/{id}", axum::routing::get(upgrade))
            .with_state(room)
    }

    async fn upgrade(
        State(room): State<broadcast::Sender<Utf8Bytes>>,
        uri: axum::http::Uri,
        ws: WebSocketUpgrade,
    ) -> Response {
        let user = wiregen_runtime::params::query_optional::<String>(&uri, "userId")
            .ok()
            .flatten()
            .unwrap_or_default();
        ws.read_buffer_size(4096)
            .write_buffer_size(4096)
            .on_upgrade(move |socket| connection(socket, room, user))
    }

    async fn connection(mut socket: WebSocket, room: broadcast::Sender<Utf8Bytes>, user: String) {
        let mut frames = room.subscribe();
        loop {
            tokio::select! {
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(bid) = serde_json::from_str::<BidIn>(&text)
                            && let Ok(out) = serde_json::to_string(&BidOut { r#type: "bid", user_id: &user, amount: bid.amount })
                        {
                            let _ = room.send(out.into());
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                frame = frames.recv() => match frame {
                    Ok(frame) => {
                        if socket.feed(Message::Text(frame)).await.is_err() {
                            break;
                        }
                        while let Ok(more) = frames.try_recv() {
                            if socket.feed(Message::Text(more)).await.is_err() {
                                return;
                            }
                        }
                        if socket.flush().await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    }
}
