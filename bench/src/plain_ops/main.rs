//! `plain-ops`: plain JSON operations of the generated pet store server against a hand-written
//! axum server, driven by `wrk` on 127.0.0.1. Prints figures and ratios; asserts nothing about
//! time.
//!
//! ```text
//! cargo run --release -p wiregen-bench --bin plain-ops -- [OPTIONS]
//!   --connections 16,64,256   wrk connection counts (1 to 512 each, at most 6 counts)
//!   --seconds 5               measured seconds of each wrk run (1 to 60)
//!   --warmup 2                seconds of the wrk warm-up run before each measured run (0 to 10)
//!   --rounds 3                rounds (1 to 10); the servers alternate which goes first
//!   --ops get,post            the operations: GET /v1/pets/3, POST /v1/orders
//!   --no-pin                  do not pin the servers and wrk to separate CPUs
//!   --smoke                   check both servers' answers, then 1 s of wrk with 8 connections
//!                             per server and operation: counts and statuses only
//!   --in-process              no sockets, no wrk: each router's CPU time per request
//!                             (`in_process.rs`), for --rounds rounds of --ops
//!   --requests 200000         requests per router and round of --in-process
//!   --only KIND               --in-process with one router alone (generated or hand-written),
//!                             for a profiler
//! ```
//!
//! Both servers run in child processes of their own (this binary, re-executed with `--serve
//! KIND`), started once and kept for the whole run. With two or more CPUs both are pinned to
//! the first, and `wrk` (one thread, through `taskset`) to the second; only one server is loaded
//! at a time. Before measuring, every answer of both servers is checked (`check.rs`). Then for
//! each connection count, round and operation, each server gets a warm-up run and a measured
//! run of `wrk --latency` with `bench/plain-ops.lua`, the generated server first in odd rounds
//! and the hand-written one first in even rounds, and the pair is printed with its ratios.
//! The run takes (warm-up + seconds) × 2 servers × operations × rounds × connection counts,
//! growing linearly with each; it is printed before the first run.

#[allow(dead_code)]
#[path = "../measure.rs"]
mod measure;

mod check;
mod in_process;
mod servers;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use servers::Kind;

/// How long a server child lives at most, whatever happens to this process.
const SERVER_LIFETIME: Duration = Duration::from_secs(3600);

/// How much longer than its duration a wrk run may take before it is killed.
const WRK_GRACE: Duration = Duration::from_secs(30);

/// An operation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// `GET /v1/pets/3`: 200 with a `Pet`.
    Get,
    /// `POST /v1/orders` with a bearer token and a `NewOrder`: 201 with an `Order` and a
    /// `Location`.
    Post,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "GET",
            Op::Post => "POST",
        }
    }

    fn route(self) -> &'static str {
        match self {
            Op::Get => "GET /v1/pets/{petId}",
            Op::Post => "POST /v1/orders",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Op::Get => servers::GET_PATH,
            Op::Post => servers::POST_PATH,
        }
    }

    /// The script arguments after `--`.
    fn script_args(self) -> Vec<&'static str> {
        match self {
            Op::Get => vec!["GET"],
            Op::Post => vec!["POST", servers::POST_BODY, servers::AUTHORIZATION],
        }
    }
}

#[derive(Clone, Debug)]
struct Options {
    connections: Vec<u32>,
    seconds: u32,
    warmup: u32,
    rounds: u32,
    ops: Vec<Op>,
    pin: bool,
    smoke: bool,
    in_process: bool,
    requests: u32,
    only: Option<Kind>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connections: vec![16, 64, 256],
            seconds: 5,
            warmup: 2,
            rounds: 3,
            ops: vec![Op::Get, Op::Post],
            pin: true,
            smoke: false,
            in_process: false,
            requests: 200_000,
            only: None,
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
                smoke()
            } else if options.in_process {
                in_process(&options)
            } else {
                bench(&options)
            }
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("plain-ops: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--serve KIND [--cpu N]`: be one of the servers.
fn serve_main(args: &[String]) -> Result<(), String> {
    let kind = args
        .first()
        .and_then(|name| Kind::from_name(name))
        .ok_or("--serve needs generated or hand-written")?;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        let value = rest.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--cpu" => measure::pin_to(value.parse().map_err(|_| "--cpu needs a number")?)?,
            _ => return Err(format!("unknown server option {arg}")),
        }
    }
    servers::serve(kind, SERVER_LIFETIME)
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let whole = |text: &String, range: std::ops::RangeInclusive<u32>| -> Result<u32, String> {
            text.parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or(format!(
                    "{arg} takes a whole number from {} to {}, not {text:?}",
                    range.start(),
                    range.end()
                ))
        };
        match arg.as_str() {
            "--connections" => {
                options.connections = value()?
                    .split(',')
                    .map(|n| n.parse().ok().filter(|n| (1..=512).contains(n)))
                    .collect::<Option<_>>()
                    .filter(|counts: &Vec<u32>| counts.len() <= 6)
                    .ok_or("--connections takes up to 6 counts from 1 to 512, like 16,64,256")?;
            }
            "--seconds" => options.seconds = whole(value()?, 1..=60)?,
            "--warmup" => options.warmup = whole(value()?, 0..=10)?,
            "--rounds" => options.rounds = whole(value()?, 1..=10)?,
            "--ops" => {
                let mut ops = value()?
                    .split(',')
                    .map(|name| match name.to_ascii_lowercase().as_str() {
                        "get" => Ok(Op::Get),
                        "post" => Ok(Op::Post),
                        _ => Err(format!("unknown operation {name} (get, post)")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                ops.dedup();
                options.ops = ops;
            }
            "--no-pin" => options.pin = false,
            "--smoke" => options.smoke = true,
            "--in-process" => options.in_process = true,
            "--requests" => {
                options.requests = whole(value()?, in_process::BLOCK..=10_000_000)?;
            }
            "--only" => {
                let name = value()?;
                options.only = Some(Kind::from_name(name).ok_or(format!(
                    "--only takes generated or hand-written, not {name}"
                ))?);
            }
            "-h" | "--help" => {
                return Err("see the top of bench/src/plain_ops/main.rs for the options".into());
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
    fn spawn(kind: Kind, cpu: Option<usize>) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut command = Command::new(exe);
        command.args(["--serve", kind.name()]);
        if let Some(cpu) = cpu {
            command.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {} server: {e}", kind.name()))?;
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
            .map_err(|_| format!("the {} server did not start in 30 s", kind.name()))?;
        process.port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|port| port.parse().ok())
            .ok_or(format!(
                "the {} server did not print its port (got {line:?})",
                kind.name()
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

/// How wrk is started: its script, and the CPU `taskset` pins it to.
struct Wrk {
    script: PathBuf,
    cpu: Option<usize>,
    taskset: bool,
}

impl Wrk {
    /// Find `wrk` (a missing one is an error naming `scripts/install-peers`).
    fn find(cpu: Option<usize>) -> Result<Self, String> {
        // `wrk -v` prints its version and usage and exits 1: that it runs is what counts.
        let found = Command::new("wrk")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Err(
                "wrk is not installed: run scripts/install-peers (Debian's wrk package)".into(),
            );
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plain-ops.lua");
        if !script.is_file() {
            return Err(format!("the wrk script {} is missing", script.display()));
        }
        Ok(Wrk {
            script,
            cpu,
            taskset: cpu.is_some() && has_taskset(),
        })
    }

    fn command(&self, port: u16, op: Op, connections: u32, seconds: u32) -> Command {
        let mut command = match (self.cpu, self.taskset) {
            (Some(cpu), true) => {
                let mut command = Command::new("taskset");
                command.args(["-c", &cpu.to_string(), "wrk"]);
                command
            }
            _ => Command::new("wrk"),
        };
        command
            .args(["-t", "1", "-c", &connections.to_string()])
            .args(["-d", &format!("{seconds}s"), "--timeout", "5s", "--latency"])
            .arg("-s")
            .arg(&self.script)
            .arg(format!("http://127.0.0.1:{port}{}", op.path()))
            .arg("--")
            .args(op.script_args());
        command
    }

    /// Run wrk once (bounded: killed after its duration plus [`WRK_GRACE`]).
    fn run(&self, port: u16, op: Op, connections: u32, seconds: u32) -> Result<WrkRun, String> {
        let mut child = self
            .command(port, op, connections, seconds)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start wrk: {e}"))?;
        let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = String::new();
            let mut err = String::new();
            if let Some(stdout) = stdout.as_mut() {
                let _ = stdout.read_to_string(&mut out);
            }
            if let Some(stderr) = stderr.as_mut() {
                let _ = stderr.read_to_string(&mut err);
            }
            let _ = sender.send((out, err));
        });
        let limit = Duration::from_secs(u64::from(seconds)) + WRK_GRACE;
        let Ok((out, err)) = receiver.recv_timeout(limit) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("wrk did not finish within {limit:?}"));
        };
        let status = child.wait().map_err(|e| format!("wrk: {e}"))?;
        let parsed = out
            .lines()
            .find_map(|line| line.strip_prefix("plain-ops-result "))
            .map(WrkRun::parse);
        match parsed {
            Some(Some(run)) if status.success() => Ok(run),
            _ => Err(format!(
                "wrk failed ({status}); its output:\n{out}{err}\ncommand: {:?}",
                self.command(port, op, connections, seconds)
            )),
        }
    }
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// What one wrk run reports (`done()` of `plain-ops.lua`).
#[derive(Clone, Debug, Default)]
struct WrkRun {
    requests: u64,
    duration_us: f64,
    p50_us: f64,
    p99_us: f64,
    /// Socket errors (connect, read, write) and timeouts.
    socket_errors: u64,
    /// Responses with a status over 399.
    status_errors: u64,
}

impl WrkRun {
    fn parse(line: &str) -> Option<Self> {
        let fields: BTreeMap<&str, f64> = line
            .split_whitespace()
            .filter_map(|field| field.split_once('='))
            .filter_map(|(key, value)| Some((key, value.parse().ok()?)))
            .collect();
        let get = |key: &str| fields.get(key).copied();
        Some(WrkRun {
            requests: get("requests")? as u64,
            duration_us: get("duration_us")?,
            p50_us: get("p50_us")?,
            p99_us: get("p99_us")?,
            socket_errors: (get("connect")? + get("read")? + get("write")? + get("timeout")?)
                as u64,
            status_errors: get("status")? as u64,
        })
    }

    fn requests_per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us / 1e6)
    }
}

/// One measured run of one server, with the CPU it and wrk used.
#[derive(Clone, Debug)]
struct Measured {
    wrk: WrkRun,
    /// Server CPU time per request, in µs.
    server_us_per_request: f64,
    /// Server CPU time per second of the run (1.0 = its core busy).
    server_busy: f64,
    /// wrk's CPU time per second of the run.
    wrk_busy: f64,
}

/// The CPU time of this process's children that have been waited for, in seconds.
fn children_cpu_seconds() -> f64 {
    // SAFETY: a zeroed rusage is a valid output buffer for getrusage.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) != 0 {
            return f64::NAN;
        }
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

fn measure_once(
    wrk: &Wrk,
    server: &ServerProcess,
    op: Op,
    connections: u32,
    options: &Options,
) -> Result<Measured, String> {
    if options.warmup > 0 {
        wrk.run(server.port, op, connections, options.warmup)?;
    }
    let cpu = || measure::cpu_seconds(server.pid()).ok_or("cannot read the server's CPU time");
    let (server_before, wrk_before) = (cpu()?, children_cpu_seconds());
    let run = wrk.run(server.port, op, connections, options.seconds)?;
    let (server_after, wrk_after) = (cpu()?, children_cpu_seconds());
    if run.status_errors > 0 {
        return Err(format!(
            "{} of {} responses to {} had an error status (the answers were checked before \
             measuring: the server broke under load)",
            run.status_errors,
            run.requests,
            op.route()
        ));
    }
    let seconds = run.duration_us / 1e6;
    Ok(Measured {
        server_us_per_request: (server_after - server_before) * 1e6 / run.requests.max(1) as f64,
        server_busy: (server_after - server_before) / seconds,
        wrk_busy: (wrk_after - wrk_before) / seconds,
        wrk: run,
    })
}

/// One round of one operation at one connection count: both servers, in the order run.
#[derive(Clone, Debug)]
struct Pair {
    connections: u32,
    op: Op,
    round: u32,
    first: Kind,
    load: String,
    generated: Measured,
    hand_written: Measured,
}

impl Pair {
    fn rps_ratio(&self) -> f64 {
        self.generated.wrk.requests_per_second() / self.hand_written.wrk.requests_per_second()
    }

    fn p99_ratio(&self) -> f64 {
        self.generated.wrk.p99_us / self.hand_written.wrk.p99_us
    }

    fn cpu_ratio(&self) -> f64 {
        self.generated.server_us_per_request / self.hand_written.server_us_per_request
    }
}

/// Which CPU the servers get and which wrk gets, after pinning this process to wrk's.
fn pin(options: &Options) -> Result<(Option<usize>, Option<usize>), String> {
    let cpus = measure::allowed_cpus();
    if !options.pin || cpus.len() < 2 {
        return Ok((None, None));
    }
    measure::pin_to(cpus[1])?;
    Ok((Some(cpus[0]), Some(cpus[1])))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|load| {
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// Start both servers and check their answers (every check, both servers, before any error).
fn start_checked(cpu: Option<usize>) -> Result<(ServerProcess, ServerProcess), String> {
    let generated = ServerProcess::spawn(Kind::Generated, cpu)?;
    let hand_written = ServerProcess::spawn(Kind::HandWritten, cpu)?;
    let mut failures = Vec::new();
    for (kind, server) in [
        (Kind::Generated, &generated),
        (Kind::HandWritten, &hand_written),
    ] {
        match check::check_server(server.port) {
            Ok(passed) => println!("check {}: {passed} checks passed", kind.name()),
            Err(failed) => {
                for failure in &failed {
                    println!("check {}: FAILED: {failure}", kind.name());
                }
                failures.push(kind.name());
            }
        }
    }
    if failures.is_empty() {
        Ok((generated, hand_written))
    } else {
        Err(format!("wrong answers from {}", failures.join(", ")))
    }
}

fn bench(options: &Options) -> Result<(), String> {
    let cpus = measure::allowed_cpus().len();
    let (server_cpu, wrk_cpu) = pin(options)?;
    let wrk = Wrk::find(wrk_cpu)?;
    describe(options, cpus, server_cpu, &wrk);
    let (generated, hand_written) = start_checked(server_cpu)?;
    println!();
    println!(
        "| connections | operation | round | first | load | generated req/s | hand-written req/s | req/s ratio | generated p50 / p99 µs | hand-written p50 / p99 µs | p99 ratio | server CPU µs/req gen / hand | CPU ratio | server busy gen / hand | wrk busy | socket errors |"
    );
    println!(
        "| ---: | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut pairs = Vec::new();
    for &connections in &options.connections {
        for round in 1..=options.rounds {
            for &op in &options.ops {
                let first = if round % 2 == 1 {
                    Kind::Generated
                } else {
                    Kind::HandWritten
                };
                let load = load_average();
                let mut results = BTreeMap::new();
                for kind in [first, other(first)] {
                    eprintln!(
                        "plain-ops: {connections} connections, round {round}/{}, {}: {}",
                        options.rounds,
                        op.route(),
                        kind.name()
                    );
                    let server = match kind {
                        Kind::Generated => &generated,
                        Kind::HandWritten => &hand_written,
                    };
                    let measured = measure_once(&wrk, server, op, connections, options)?;
                    results.insert(kind.name(), measured);
                }
                let (Some(g), Some(h)) =
                    (results.remove("generated"), results.remove("hand-written"))
                else {
                    return Err("a run is missing".into());
                };
                let pair = Pair {
                    connections,
                    op,
                    round,
                    first,
                    load,
                    generated: g,
                    hand_written: h,
                };
                print_pair(&pair);
                pairs.push(pair);
            }
        }
    }
    println!();
    println!("load average at the end: {}", load_average());
    summary(&pairs, options);
    Ok(())
}

fn other(kind: Kind) -> Kind {
    match kind {
        Kind::Generated => Kind::HandWritten,
        Kind::HandWritten => Kind::Generated,
    }
}

fn describe(options: &Options, cpus: usize, server_cpu: Option<usize>, wrk: &Wrk) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("Plain operations on 127.0.0.1: {model}, {cpus} CPUs available");
    println!("load average at the start: {}", load_average());
    match (server_cpu, wrk.cpu) {
        (Some(server), Some(load)) if wrk.taskset => println!(
            "servers pinned to CPU {server} (sched_setaffinity), wrk to CPU {load} (taskset -c {load})"
        ),
        (Some(server), Some(load)) => println!(
            "servers pinned to CPU {server}; taskset is not available, so wrk runs on CPU {load} \
             by inheriting this process's affinity"
        ),
        _ => println!("no CPU pinning"),
    }
    let runs = options.connections.len() as u32 * options.rounds * options.ops.len() as u32 * 2;
    let seconds = runs * (options.warmup + options.seconds);
    println!(
        "{runs} measured wrk runs of {} s, each after {} s of warm-up: about {} min {} s in all \
         (linear in connection counts × rounds × operations)",
        options.seconds,
        options.warmup,
        seconds / 60,
        seconds % 60
    );
    let example = wrk.command(0, Op::Post, options.connections[0], options.seconds);
    let words: Vec<String> = std::iter::once(example.get_program())
        .chain(example.get_args())
        .map(|word| {
            let word = word.to_string_lossy();
            if word.contains([' ', '"', '{']) {
                format!("'{word}'")
            } else {
                word.into_owned()
            }
        })
        .collect();
    println!(
        "wrk command (POST, PORT = the server's): {}",
        words.join(" ").replace(":0/", ":PORT/")
    );
}

fn print_pair(pair: &Pair) {
    let (g, h) = (&pair.generated, &pair.hand_written);
    println!(
        "| {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.3}× | {:.0} / {:.0} | {:.0} / {:.0} | {:.3}× | {:.1} / {:.1} | {:.3}× | {:.0}% / {:.0}% | {:.0}% / {:.0}% | {} / {} |",
        pair.connections,
        pair.op.name(),
        pair.round,
        pair.first.name(),
        pair.load,
        g.wrk.requests_per_second(),
        h.wrk.requests_per_second(),
        pair.rps_ratio(),
        g.wrk.p50_us,
        g.wrk.p99_us,
        h.wrk.p50_us,
        h.wrk.p99_us,
        pair.p99_ratio(),
        g.server_us_per_request,
        h.server_us_per_request,
        pair.cpu_ratio(),
        g.server_busy * 100.0,
        h.server_busy * 100.0,
        g.wrk_busy * 100.0,
        h.wrk_busy * 100.0,
        g.wrk.socket_errors,
        h.wrk.socket_errors,
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn range(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.3}–{max:.3}")
}

fn summary(pairs: &[Pair], options: &Options) {
    println!();
    println!(
        "Medians over {} rounds (ratios are generated ÷ hand-written, each computed within its round; the range is over the rounds):",
        options.rounds
    );
    println!();
    println!(
        "| operation | connections | generated req/s | hand-written req/s | req/s ratio (range) | generated p99 µs | hand-written p99 µs | p99 ratio (range) | server CPU ratio | req/s ≥ 0.95× | p99 ≤ 1.05× |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    for &op in &options.ops {
        for &connections in &options.connections {
            let runs: Vec<&Pair> = pairs
                .iter()
                .filter(|pair| pair.op == op && pair.connections == connections)
                .collect();
            let of = |figure: fn(&Pair) -> f64| runs.iter().map(|pair| figure(pair)).collect();
            let rps: Vec<f64> = of(Pair::rps_ratio);
            let p99: Vec<f64> = of(Pair::p99_ratio);
            let (rps_median, p99_median) = (median(rps.clone()), median(p99.clone()));
            println!(
                "| {} | {connections} | {:.0} | {:.0} | {rps_median:.3}× ({}) | {:.0} | {:.0} | {p99_median:.3}× ({}) | {:.3}× | {} | {} |",
                op.route(),
                median(of(|p| p.generated.wrk.requests_per_second())),
                median(of(|p| p.hand_written.wrk.requests_per_second())),
                range(&rps),
                median(of(|p| p.generated.wrk.p99_us)),
                median(of(|p| p.hand_written.wrk.p99_us)),
                range(&p99),
                median(of(Pair::cpu_ratio)),
                verdict(rps_median >= 0.95),
                verdict(p99_median <= 1.05),
            );
        }
    }
    let errors: u64 = pairs
        .iter()
        .map(|p| p.generated.wrk.socket_errors + p.hand_written.wrk.socket_errors)
        .sum();
    println!();
    println!("socket errors and timeouts over all measured runs: {errors}");
}

/// `--in-process`: each router's CPU time per request without sockets, on the servers' CPU.
fn in_process(options: &Options) -> Result<(), String> {
    let cpus = measure::allowed_cpus();
    if options.pin && !cpus.is_empty() {
        measure::pin_to(cpus[0])?;
    }
    match options.only {
        Some(kind) => {
            for &op in &options.ops {
                in_process::only(kind, op, options.requests)?;
            }
            Ok(())
        }
        None => in_process::measure(&options.ops, options.rounds, options.requests),
    }
}

/// `--smoke`: both servers' answers checked, then 1 s of wrk with 8 connections per server and
/// operation (every request must be answered without an error status or a socket error), the
/// answers checked again, and a short in-process round.
fn smoke() -> Result<(), String> {
    let wrk = Wrk::find(None)?;
    let (generated, hand_written) = start_checked(None)?;
    let mut failures = Vec::new();
    for (kind, server) in [
        (Kind::Generated, &generated),
        (Kind::HandWritten, &hand_written),
    ] {
        for op in [Op::Get, Op::Post] {
            match wrk.run(server.port, op, 8, 1) {
                Ok(run) => {
                    println!(
                        "smoke {} {}: {} requests, {} error statuses, {} socket errors",
                        kind.name(),
                        op.name(),
                        run.requests,
                        run.status_errors,
                        run.socket_errors
                    );
                    if run.requests == 0 || run.status_errors > 0 || run.socket_errors > 0 {
                        failures.push(format!("{} {}", kind.name(), op.name()));
                    }
                }
                Err(error) => {
                    println!("smoke {} {}: failed: {error}", kind.name(), op.name());
                    failures.push(format!("{} {}", kind.name(), op.name()));
                }
            }
        }
    }
    // The load changed nothing a client sees.
    for (kind, server) in [
        (Kind::Generated, &generated),
        (Kind::HandWritten, &hand_written),
    ] {
        match check::check_server(server.port) {
            Ok(passed) => println!("smoke {} after load: {passed} checks passed", kind.name()),
            Err(failed) => {
                println!(
                    "smoke {} after load: FAILED: {}",
                    kind.name(),
                    failed.join("; ")
                );
                failures.push(format!("{} after load", kind.name()));
            }
        }
    }
    // The in-process comparison, briefly: every request answered, a figure for each operation.
    if let Err(error) = in_process::measure(&[Op::Get, Op::Post], 1, 2 * in_process::BLOCK) {
        println!("smoke in process: failed: {error}");
        failures.push("in process".to_owned());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("smoke run failed for {}", failures.join(", ")))
    }
}
