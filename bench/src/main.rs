//! `sse-fanout`: SSE fan-out of the generated pet store server against hand-written servers, in
//! one run, on 127.0.0.1. Prints figures and ratios; asserts nothing about time.
//!
//! ```text
//! cargo run --release -p wiregen-bench --bin sse-fanout -- [OPTIONS]
//!   --subscribers 100,1000     subscriber counts (at most 2000 each)
//!   --seconds 3                measured seconds of each phase (at most 60), after
//!   --warmup 1                 seconds of warm-up (at most 10)
//!   --rounds 3                 rounds (at most 10); every figure is the median of the rounds
//!   --paced 200000             deliveries per second of the paced phase
//!   --window 512               events published beyond what every subscriber has (at most 2048)
//!   --servers generated,generated-redis,axum-once,axum-per-subscriber,express
//!   --no-pin                   do not pin the server and the load generator to separate CPUs
//!   --smoke                    5 subscribers x 50 events per server: check every event arrives
//! ```
//!
//! Each server runs in a child process of its own (this binary, re-executed with `--serve KIND`,
//! or Node for `express`), so its CPU time and peak RSS are read from `/proc/<pid>`. With two or
//! more CPUs, the server is pinned to the first and the load generator (this process, one
//! thread) to the second. Two phases per server and subscriber count: *paced* (a fixed rate of
//! deliveries, for latency and CPU per event at moderate load) and *saturated* (as fast as the
//! subscribers take events, bounded by the window, for throughput).

mod loadgen;
mod measure;
#[path = "../../tests/peers/redis.rs"]
mod redis_server;
mod servers;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use loadgen::{MAX_WINDOW, Tally};
use measure::Histogram;
use servers::RustServer;

/// The URL of the `redis-server` of `generated-redis`.
static REDIS_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Starts a `redis-server` on a free 127.0.0.1 port if `servers` has `generated-redis` (a
/// missing `redis-server` is an error); it is stopped when the returned guard is dropped.
fn start_redis(servers: &[Server]) -> Result<Option<redis_server::RedisServer>, String> {
    if !servers.contains(&Server::Rust(RustServer::GeneratedRedis)) {
        return Ok(None);
    }
    let server = std::panic::catch_unwind(redis_server::RedisServer::start)
        .map_err(|_| "redis-server did not start: run scripts/install-peers".to_owned())?;
    let _ = REDIS_URL.set(server.url());
    Ok(Some(server))
}

/// How long a server child lives at most, whatever happens to this process.
const SERVER_LIFETIME: Duration = Duration::from_secs(300);

/// A server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Rust(RustServer),
    /// `express-fanout.mjs` on Node, with the `express` of `tests/peers`.
    Express,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Rust(kind) => kind.name(),
            Server::Express => "express",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "express" => Some(Server::Express),
            _ => RustServer::from_name(name).map(Server::Rust),
        }
    }
}

#[derive(Clone, Debug)]
struct Options {
    subscribers: Vec<usize>,
    seconds: f64,
    warmup: f64,
    rounds: usize,
    paced: u64,
    window: u64,
    servers: Vec<Server>,
    pin: bool,
    smoke: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            subscribers: vec![100, 1000],
            seconds: 3.0,
            warmup: 1.0,
            rounds: 3,
            paced: 200_000,
            window: 512,
            servers: vec![
                Server::Rust(RustServer::Generated),
                Server::Rust(RustServer::GeneratedRedis),
                Server::Rust(RustServer::AxumOnce),
                Server::Rust(RustServer::AxumPerSubscriber),
                Server::Express,
            ],
            pin: true,
            smoke: false,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--serve") {
        serve_main(&args[1..])
    } else {
        parse_options(&args).and_then(|options| {
            if options.smoke {
                smoke(&options)
            } else {
                bench(&options)
            }
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sse-fanout: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--serve KIND [--cpu N] [--window W]`: be one of the Rust servers.
fn serve_main(args: &[String]) -> Result<(), String> {
    let kind = args
        .first()
        .and_then(|name| RustServer::from_name(name))
        .ok_or("--serve needs generated, axum-once or axum-per-subscriber")?;
    let mut window = Options::default().window;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        let value = rest.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--cpu" => measure::pin_to(value.parse().map_err(|_| "--cpu needs a number")?)?,
            "--window" => window = value.parse().map_err(|_| "--window needs a number")?,
            _ => return Err(format!("unknown server option {arg}")),
        }
    }
    servers::serve(kind, window, SERVER_LIFETIME)
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |text: &String| -> Result<f64, String> {
            text.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or(format!("{arg} needs a number, not {text:?}"))
        };
        match arg.as_str() {
            "--subscribers" => {
                options.subscribers = value()?
                    .split(',')
                    .map(|n| n.parse().ok().filter(|n| (1..=2000).contains(n)))
                    .collect::<Option<_>>()
                    .ok_or("--subscribers takes counts from 1 to 2000, like 100,1000")?;
            }
            "--seconds" => options.seconds = number(value()?)?.clamp(0.5, 60.0),
            "--warmup" => options.warmup = number(value()?)?.min(10.0),
            "--rounds" => options.rounds = (number(value()?)? as usize).clamp(1, 10),
            "--paced" => options.paced = number(value()?)?.max(1.0) as u64,
            "--window" => options.window = (number(value()?)? as u64).clamp(1, MAX_WINDOW),
            "--servers" => {
                options.servers = value()?
                    .split(',')
                    .map(|name| Server::from_name(name).ok_or(format!("unknown server {name}")))
                    .collect::<Result<_, _>>()?;
            }
            "--no-pin" => options.pin = false,
            "--smoke" => options.smoke = true,
            "-h" | "--help" => {
                return Err("see the top of bench/src/main.rs for the options".into());
            }
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    Ok(options)
}

/// A server child process: killed and reaped when dropped, on every path.
struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    fn spawn(server: Server, cpu: Option<usize>, window: u64) -> Result<Self, String> {
        let mut command = match server {
            Server::Rust(kind) => {
                let exe = std::env::current_exe()
                    .map_err(|e| format!("cannot find this program: {e}"))?;
                let mut command = Command::new(exe);
                command.args(["--serve", kind.name(), "--window", &window.to_string()]);
                if let Some(url) = REDIS_URL.get() {
                    command.env(servers::REDIS_URL_ENV, url);
                }
                if let Some(cpu) = cpu {
                    command.args(["--cpu", &cpu.to_string()]);
                }
                command
            }
            Server::Express => {
                let script = express_script();
                let mut command = match cpu {
                    Some(cpu) if has_taskset() => {
                        let mut command = Command::new("taskset");
                        command.args(["-c", &cpu.to_string(), "node"]);
                        command
                    }
                    _ => Command::new("node"),
                };
                command.arg(script).args([
                    "--window",
                    &window.to_string(),
                    "--lifetime",
                    &SERVER_LIFETIME.as_secs().to_string(),
                ]);
                command
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {} server: {e}", server.name()))?;
        let stdout = child.stdout.take();
        // From here on, dropping `process` kills the child.
        let mut process = ServerProcess { child, port: 0 };
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(stdout) = stdout {
                let _ = BufReader::new(stdout).read_line(&mut line);
            }
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| format!("the {} server did not start in 30 s", server.name()))?;
        process.port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|port| port.parse().ok())
            .ok_or(format!(
                "the {} server did not print its port (got {line:?})",
                server.name()
            ))?;
        Ok(process)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn express_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("express-fanout.mjs")
}

/// Whether `node` and the `express` package of `tests/peers` (`scripts/install-peers`) are there.
fn express_available() -> bool {
    let express = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/peers/node_modules/express/package.json");
    express.is_file()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// One server with its subscribers connected.
struct Session {
    process: ServerProcess,
    tally: Rc<RefCell<Tally>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Session {
    /// Start `server` and connect `subscribers` to it; every one has its response head.
    async fn open(
        server: Server,
        subscribers: usize,
        cpu: Option<usize>,
        window: u64,
    ) -> Result<Self, String> {
        let mut process = ServerProcess::spawn(server, cpu, window)?;
        let control = process
            .child
            .stdin
            .take()
            .ok_or("the server has no stdin")?;
        let tally = Rc::new(RefCell::new(Tally::new(
            subscribers,
            window,
            Box::new(control),
        )));
        let mut session = Session {
            process,
            tally,
            tasks: Vec::with_capacity(subscribers),
        };
        // In waves of 100, so the accept queue never overflows.
        for wave in (0..subscribers).step_by(100) {
            for _ in wave..(wave + 100).min(subscribers) {
                let task = loadgen::subscribe(session.process.port, Rc::clone(&session.tally));
                session.tasks.push(tokio::task::spawn_local(task));
            }
            let want = (wave + 100).min(subscribers);
            session
                .wait_for(Duration::from_secs(30), |tally| tally.ready >= want)
                .await
                .map_err(|()| format!("only {} subscribers connected", session.ready()))?;
        }
        Ok(session)
    }

    fn ready(&self) -> usize {
        self.tally.borrow().ready
    }

    /// Wait until `done` holds, a subscriber fails, or `limit` passes.
    async fn wait_for(&self, limit: Duration, done: impl Fn(&Tally) -> bool) -> Result<(), ()> {
        let start = Instant::now();
        loop {
            {
                let tally = self.tally.borrow();
                if done(&tally) {
                    return Ok(());
                }
                if let Some(error) = tally.errors.first() {
                    eprintln!("sse-fanout: a subscriber failed: {error}");
                    return Err(());
                }
            }
            if start.elapsed() > limit {
                return Err(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn send(&self, line: &str) -> Result<(), String> {
        self.tally.borrow_mut().send(line)
    }

    /// Warm up, then measure for `seconds`.
    async fn phase(&self, options: &Options) -> Result<Phase, String> {
        tokio::time::sleep(Duration::from_secs_f64(options.warmup)).await;
        let own = std::process::id();
        let pid = self.process.pid();
        let cpu = || measure::cpu_seconds(pid).ok_or("cannot read the server's CPU time");
        let own_cpu = || measure::cpu_seconds(own).ok_or("cannot read this process's CPU time");
        let (server_before, own_before) = (cpu()?, own_cpu()?);
        let start = Instant::now();
        self.tally.borrow_mut().begin();
        tokio::time::sleep(Duration::from_secs_f64(options.seconds)).await;
        let (delivered, latency) = self.tally.borrow_mut().end();
        let elapsed = start.elapsed().as_secs_f64();
        let (server_after, own_after) = (cpu()?, own_cpu()?);
        if let Some(error) = self.tally.borrow().errors.first() {
            return Err(format!("a subscriber failed: {error}"));
        }
        Ok(Phase::new(
            delivered,
            &latency,
            elapsed,
            server_after - server_before,
            own_after - own_before,
        ))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The figures of one phase.
#[derive(Clone, Debug)]
struct Phase {
    events_per_second: f64,
    cpu_ms_per_1000: f64,
    /// Server CPU time per second of the phase (1.0 = one core busy).
    server_cpu: f64,
    /// The same for the load generator.
    loadgen_cpu: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Phase {
    fn new(
        delivered: u64,
        latency: &Histogram,
        seconds: f64,
        server_cpu: f64,
        loadgen_cpu: f64,
    ) -> Self {
        Phase {
            events_per_second: delivered as f64 / seconds,
            cpu_ms_per_1000: if delivered == 0 {
                f64::NAN
            } else {
                server_cpu * 1e3 / (delivered as f64 / 1000.0)
            },
            server_cpu: server_cpu / seconds,
            loadgen_cpu: loadgen_cpu / seconds,
            p50_ms: latency.quantile(0.50) as f64 / 1000.0,
            p99_ms: latency.quantile(0.99) as f64 / 1000.0,
        }
    }

    /// Each figure's median over several rounds (figure by figure).
    fn median(phases: &[&Phase]) -> Phase {
        let median = |figure: fn(&Phase) -> f64| {
            let mut values: Vec<f64> = phases.iter().map(|phase| figure(phase)).collect();
            values.sort_by(f64::total_cmp);
            match values.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => values[n / 2],
                n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
            }
        };
        Phase {
            events_per_second: median(|p| p.events_per_second),
            cpu_ms_per_1000: median(|p| p.cpu_ms_per_1000),
            server_cpu: median(|p| p.server_cpu),
            loadgen_cpu: median(|p| p.loadgen_cpu),
            p50_ms: median(|p| p.p50_ms),
            p99_ms: median(|p| p.p99_ms),
        }
    }
}

/// The figures of one server at one subscriber count.
#[derive(Clone, Debug)]
struct Row {
    server: Server,
    subscribers: usize,
    paced: Phase,
    saturated: Phase,
    peak_rss_kib: u64,
    lost: u64,
    duplicated: u64,
}

/// Which CPU the server gets, after pinning this process to another one (or `None`).
fn pin(options: &Options) -> Result<Option<usize>, String> {
    let cpus = measure::allowed_cpus();
    if !options.pin || cpus.len() < 2 {
        return Ok(None);
    }
    measure::pin_to(cpus[1])?;
    Ok(Some(cpus[0]))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))
}

fn bench(options: &Options) -> Result<(), String> {
    let cpus = measure::allowed_cpus().len();
    let server_cpu = pin(options)?;
    let mut servers = options.servers.clone();
    if servers.contains(&Server::Express) && !express_available() {
        eprintln!(
            "sse-fanout: skipping express: node or tests/peers/node_modules/express is missing \
             (run scripts/install-peers)"
        );
        servers.retain(|server| *server != Server::Express);
    }
    let _redis = start_redis(&servers)?;
    describe(options, cpus, server_cpu);
    let runtime = runtime()?;
    let local = tokio::task::LocalSet::new();
    // Rounds interleave the servers, so a burst of other work on the machine hits them alike.
    let mut rounds: Vec<Row> = Vec::new();
    for round in 1..=options.rounds {
        for &subscribers in &options.subscribers {
            for &server in &servers {
                eprintln!(
                    "sse-fanout: round {round}/{}: {} with {subscribers} subscribers",
                    options.rounds,
                    server.name()
                );
                let row = local.block_on(
                    &runtime,
                    measure_server(server, subscribers, server_cpu, options),
                )?;
                print_row_progress(&row);
                rounds.push(row);
            }
        }
    }
    let mut rows = Vec::new();
    for &subscribers in &options.subscribers {
        for &server in &servers {
            let runs: Vec<&Row> = rounds
                .iter()
                .filter(|row| row.server == server && row.subscribers == subscribers)
                .collect();
            rows.push(Row {
                server,
                subscribers,
                paced: Phase::median(&runs.iter().map(|row| &row.paced).collect::<Vec<_>>()),
                saturated: Phase::median(
                    &runs.iter().map(|row| &row.saturated).collect::<Vec<_>>(),
                ),
                peak_rss_kib: runs.iter().map(|row| row.peak_rss_kib).max().unwrap_or(0),
                lost: runs.iter().map(|row| row.lost).sum(),
                duplicated: runs.iter().map(|row| row.duplicated).sum(),
            });
        }
    }
    report(&rows, options);
    Ok(())
}

async fn measure_server(
    server: Server,
    subscribers: usize,
    cpu: Option<usize>,
    options: &Options,
) -> Result<Row, String> {
    let session = Session::open(server, subscribers, cpu, options.window).await?;
    let rate = (options.paced / subscribers as u64).max(1);
    session.send(&format!("go {rate} 0"))?;
    let paced = session.phase(options).await?;
    session.send("go 0 0")?;
    let saturated = session.phase(options).await?;
    session.send("stop")?;
    let peak_rss_kib = measure::peak_rss_kib(session.process.pid()).unwrap_or(0);
    let tally = session.tally.borrow();
    Ok(Row {
        server,
        subscribers,
        paced,
        saturated,
        peak_rss_kib,
        lost: tally.lost,
        duplicated: tally.duplicated,
    })
}

/// `--smoke`: every server, 5 subscribers, 50 events; every event must reach every subscriber.
fn smoke(options: &Options) -> Result<(), String> {
    const SUBSCRIBERS: usize = 5;
    const EVENTS: u64 = 50;
    let servers = options.servers.clone();
    // The smoke run is a test: a missing peer is a failure, never a skip.
    if servers.contains(&Server::Express) && !express_available() {
        return Err(
            "node or tests/peers/node_modules/express is missing: run scripts/install-peers"
                .to_owned(),
        );
    }
    let _redis = start_redis(&servers)?;
    let runtime = runtime()?;
    let local = tokio::task::LocalSet::new();
    let mut failures = Vec::new();
    for server in servers {
        let result: Result<(u64, u64, u64), String> = local.block_on(&runtime, async {
            let session = Session::open(server, SUBSCRIBERS, None, 16).await?;
            session.send(&format!("go 0 {EVENTS}"))?;
            let want = SUBSCRIBERS as u64 * EVENTS;
            let arrived = session
                .wait_for(Duration::from_secs(20), |tally| tally.total >= want)
                .await;
            // Anything extra would arrive now.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let tally = session.tally.borrow();
            if arrived.is_err() {
                eprintln!("smoke {}: timed out", server.name());
            }
            Ok((tally.total, tally.lost, tally.duplicated))
        });
        let want = SUBSCRIBERS as u64 * EVENTS;
        match result {
            Ok((total, lost, duplicated)) => {
                println!(
                    "smoke {}: delivered {total}/{want} events to {SUBSCRIBERS} subscribers, \
                     {lost} lost, {duplicated} duplicated",
                    server.name()
                );
                if (total, lost, duplicated) != (want, 0, 0) {
                    failures.push(server.name());
                }
            }
            Err(error) => {
                println!("smoke {}: failed: {error}", server.name());
                failures.push(server.name());
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("smoke run failed for {}", failures.join(", ")))
    }
}

fn describe(options: &Options, cpus: usize, server_cpu: Option<usize>) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("SSE fan-out on 127.0.0.1: {model}, {cpus} CPUs available");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        // Other work on the machine disturbs every figure: say how busy it was.
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average at the start: {}", load.join(" "));
    }
    match server_cpu {
        Some(cpu) => println!(
            "server pinned to CPU {cpu}, load generator (one thread) to CPU {}",
            measure::allowed_cpus().first().copied().unwrap_or(0)
        ),
        None => println!("no CPU pinning"),
    }
    println!(
        "each server and count: {}s warm-up + {}s paced ({} deliveries/s), {}s warm-up + {}s \
         saturated; window {} events; {} rounds, servers interleaved, figures are medians",
        options.warmup,
        options.seconds,
        options.paced,
        options.warmup,
        options.seconds,
        options.window,
        options.rounds
    );
}

fn print_row_progress(row: &Row) {
    eprintln!(
        "  paced {:.0} ev/s, {:.3} ms CPU/1000 ev, p50 {:.2} ms, p99 {:.2} ms | saturated {:.0} ev/s, \
         {:.3} ms CPU/1000 ev (server {:.0}% of a core, load generator {:.0}%), p99 {:.1} ms | RSS {} MiB",
        row.paced.events_per_second,
        row.paced.cpu_ms_per_1000,
        row.paced.p50_ms,
        row.paced.p99_ms,
        row.saturated.events_per_second,
        row.saturated.cpu_ms_per_1000,
        row.saturated.server_cpu * 100.0,
        row.saturated.loadgen_cpu * 100.0,
        row.saturated.p99_ms,
        row.peak_rss_kib / 1024,
    );
}

fn ratio(value: f64, baseline: f64) -> String {
    if baseline > 0.0 && value.is_finite() && baseline.is_finite() {
        format!("{:.2}×", value / baseline)
    } else {
        "–".into()
    }
}

fn report(rows: &[Row], options: &Options) {
    let baseline = |subscribers: usize| {
        rows.iter().find(|row| {
            row.subscribers == subscribers && row.server == Server::Rust(RustServer::AxumOnce)
        })
    };
    println!();
    println!(
        "Saturated: as many events as the subscribers take (window {}).",
        options.window
    );
    println!();
    println!(
        "| server | subscribers | delivered events/s | vs axum-once | server CPU ms / 1000 events | vs axum-once | p50 / p99 latency ms | server / load gen CPU | peak RSS MiB | lost / dup |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let base = baseline(row.subscribers);
        let s = &row.saturated;
        println!(
            "| {} | {} | {:.0} | {} | {:.3} | {} | {:.1} / {:.1} | {:.0}% / {:.0}% | {:.1} | {} / {} |",
            row.server.name(),
            row.subscribers,
            s.events_per_second,
            base.map_or("–".into(), |b| ratio(
                s.events_per_second,
                b.saturated.events_per_second
            )),
            s.cpu_ms_per_1000,
            base.map_or("–".into(), |b| ratio(
                s.cpu_ms_per_1000,
                b.saturated.cpu_ms_per_1000
            )),
            s.p50_ms,
            s.p99_ms,
            s.server_cpu * 100.0,
            s.loadgen_cpu * 100.0,
            row.peak_rss_kib as f64 / 1024.0,
            row.lost,
            row.duplicated,
        );
    }
    println!();
    println!(
        "Paced: {} deliveries/s in total (events/s × subscribers).",
        options.paced
    );
    println!();
    println!(
        "| server | subscribers | delivered events/s | server CPU ms / 1000 events | vs axum-once | p50 latency ms | p99 latency ms | p99 vs axum-once |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let base = baseline(row.subscribers);
        let p = &row.paced;
        println!(
            "| {} | {} | {:.0} | {:.3} | {} | {:.2} | {:.2} | {} |",
            row.server.name(),
            row.subscribers,
            p.events_per_second,
            p.cpu_ms_per_1000,
            base.map_or("–".into(), |b| ratio(
                p.cpu_ms_per_1000,
                b.paced.cpu_ms_per_1000
            )),
            p.p50_ms,
            p.p99_ms,
            base.map_or("–".into(), |b| ratio(p.p99_ms, b.paced.p99_ms)),
        );
    }
    println!();
    println!("Targets (reported, not asserted):");
    for &subscribers in &options.subscribers {
        let find = |server: Server| {
            rows.iter()
                .find(|row| row.subscribers == subscribers && row.server == server)
        };
        let (Some(generated), Some(once)) = (
            find(Server::Rust(RustServer::Generated)),
            find(Server::Rust(RustServer::AxumOnce)),
        ) else {
            continue;
        };
        let verdict = |met: bool| if met { "met" } else { "MISSED" };
        let throughput = generated.saturated.events_per_second / once.saturated.events_per_second;
        let cpu = generated.saturated.cpu_ms_per_1000 / once.saturated.cpu_ms_per_1000;
        let cpu_paced = generated.paced.cpu_ms_per_1000 / once.paced.cpu_ms_per_1000;
        let p99 = generated.paced.p99_ms / once.paced.p99_ms;
        let p99_saturated = generated.saturated.p99_ms / once.saturated.p99_ms;
        println!("- {subscribers} subscribers:");
        println!(
            "  - throughput ≥ 0.95× axum-once: {throughput:.3}× ({})",
            verdict(throughput >= 0.95)
        );
        println!(
            "  - CPU per event ≤ 1.05× axum-once: saturated {cpu:.3}× ({}), paced {cpu_paced:.3}× ({})",
            verdict(cpu <= 1.05),
            verdict(cpu_paced <= 1.05)
        );
        println!(
            "  - p99 no worse than axum-once: paced {p99:.3}× ({}), saturated {p99_saturated:.3}× ({})",
            verdict(p99 <= 1.0),
            verdict(p99_saturated <= 1.0)
        );
        if let Some(redis) = find(Server::Rust(RustServer::GeneratedRedis)) {
            let vs = redis.saturated.events_per_second / generated.saturated.events_per_second;
            println!(
                "  - Redis backplane ≥ 0.8× in memory, saturated: {vs:.3}× ({}); CPU per event \
                 {:.3}×; paced latency added p50 {:+.2} ms, p99 {:+.2} ms",
                verdict(vs >= 0.8),
                redis.saturated.cpu_ms_per_1000 / generated.saturated.cpu_ms_per_1000,
                redis.paced.p50_ms - generated.paced.p50_ms,
                redis.paced.p99_ms - generated.paced.p99_ms,
            );
        }
        if let Some(express) = find(Server::Express) {
            let vs = generated.saturated.events_per_second / express.saturated.events_per_second;
            println!(
                "  - ≥ 5× express throughput: {vs:.1}× ({})",
                verdict(vs >= 5.0)
            );
        }
    }
}
