//! The generated TypeScript clients (`generated-example/web/generated/`) in Node 20 against the
//! generated Rust server: the checked-in modules compiled with the pinned `tsc` into
//! `target/wiregen-typescript-client/`, `petstore-server` on a free 127.0.0.1 port, and
//! `tests/ts/petstore-client.mjs` driving it with them (every plain operation, the notification
//! stream with its resume and gap, the auction WebSocket, malformed input, the support chat's
//! agent and history request/reply; out-of-order replies, timeouts and a close while a request
//! waits against a `ws` server of the script, since the demo cannot be made to do them). The script prints one JSON line per check; the test fails unless every check of
//! [`CHECKS`] is there and ok, so a check that silently did not run fails too. Every wait is
//! bounded.

#[path = "../../tests/peers/harness.rs"]
mod peers;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use peers::{Need, require};
use serde_json::Value;

/// Every check the script must report, ok.
const CHECKS: &[&str] = &[
    "listPets-filtered-paged",
    "listPets-400-problem",
    "getPet-200",
    "getPet-404-problem",
    "uploadPetPhoto-multipart-201",
    "getPetPhoto-bytes-round-trip",
    "getPetPhoto-404-problem",
    "uploadPetPhoto-401-403-problem",
    "uploadPetPhoto-404-problem",
    "placeOrder-bearer-201",
    "placeOrder-409-problem",
    "placeOrder-404-problem",
    "placeOrder-without-token-401-problem",
    "getOrder-200",
    "getOrder-404-and-401-problem",
    "http-errors-are-typed-WiregenErrors",
    "sse-every-event-kind",
    "sse-resume-after-cut-no-duplicate-no-hole",
    "sse-gap-after-unknown-id",
    "sse-user-filter",
    "sse-4xx-typed-WiregenError",
    "ws-auction-bid-broadcast",
    "ws-auction-outbid",
    "listAuctions",
    "ws-auction-end",
    "ws-refused-without-token",
    "ws-malformed-frame-error-item",
    "ws-oversized-frame-typed-close",
    "supportChat-demo-agent-and-history",
    "supportChat-requestHistory-out-of-order",
    "supportChat-messages-both-ways-and-unknown-tag",
    "supportChat-request-timeout",
    "supportChat-request-closed",
];

/// `tsc` on the three modules, at most.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// The script, at most (it cuts itself off at 28 s).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(45);

/// `petstore-server` in its own process group, killed (with the group) when dropped.
struct PetStore {
    child: Child,
    addr: String,
}

impl PetStore {
    /// Starts it on a free loopback port, a store change every 50 ms (every event kind within
    /// seconds) and five-second auctions (one ends while the script runs), and waits (bounded)
    /// for the address it prints.
    fn start() -> PetStore {
        let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
            .args([
                "--addr",
                "127.0.0.1:0",
                "--interval-ms",
                "50",
                "--auction-secs",
                "5",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("petstore-server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        // Reads every line, so the server never meets a full or closed pipe.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = sender.send(line);
            }
        });
        let mut server = PetStore {
            child,
            addr: String::new(),
        };
        let first = receiver
            .recv_timeout(peers::TIMEOUT)
            .expect("petstore-server prints `listening on http://ADDR` within the timeout");
        server.addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
            .to_owned();
        server
    }
}

impl Drop for PetStore {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles `generated-example/web/generated/*.ts` as a user's bundler would see them
/// (`--strict`, ES2022 modules) into a fresh directory Node reads as ES modules.
fn compile() -> PathBuf {
    let root = peers::repo_root();
    let out = root.join("target").join("wiregen-typescript-client");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create the output directory");
    let generated = root.join("generated-example").join("web").join("generated");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&generated)
        .expect("generated-example/web/generated/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ts"))
        .collect();
    sources.sort();
    assert_eq!(
        sources.len(),
        3,
        "expected the two pet store modules and the runtime: {sources:?}"
    );
    let mut tsc = Command::new(
        peers::peers_dir()
            .join("node_modules")
            .join(".bin")
            .join("tsc"),
    );
    tsc.args([
        "--strict",
        "--target",
        "ES2022",
        "--module",
        "ES2022",
        "--moduleResolution",
        "bundler",
        "--lib",
        "ES2022,DOM",
        "--outDir",
    ])
    .arg(&out)
    .args(&sources)
    .current_dir(&root);
    peers::run(tsc, COMPILE_TIMEOUT).assert_success();
    // Without it Node would read the .js files as CommonJS.
    std::fs::write(out.join("package.json"), "{\"type\": \"module\"}\n")
        .expect("write package.json");
    out
}

#[test]
fn the_typescript_clients_drive_the_rust_server_in_node() {
    require(&[Need::Node]);
    let began = Instant::now();
    let compiled = compile();
    let compiled_in = began.elapsed();
    let server = PetStore::start();
    let mut script = Command::new("node");
    script
        .arg(
            peers::repo_root()
                .join("tests")
                .join("ts")
                .join("petstore-client.mjs"),
        )
        .arg(&compiled)
        .arg(format!("http://{}", server.addr))
        .current_dir(peers::repo_root());
    let ran = Instant::now();
    let finished = peers::run(script, SCRIPT_TIMEOUT);
    let ran_in = ran.elapsed();
    drop(server);

    let mut reported: BTreeMap<String, Value> = BTreeMap::new();
    for line in finished.json_lines() {
        let name = line["check"]
            .as_str()
            .unwrap_or_else(|| panic!("a line without `check`: {line}\n{}", finished.transcript()))
            .to_owned();
        assert!(
            reported.insert(name.clone(), line).is_none(),
            "check {name} reported twice:\n{}",
            finished.transcript()
        );
    }
    let mut problems = Vec::new();
    for check in CHECKS {
        match reported.get(*check) {
            None => problems.push(format!("{check}: not reported")),
            Some(line) if line["ok"] != Value::Bool(true) => {
                problems.push(format!("{check}: failed: {}", line["error"]))
            }
            Some(_) => {}
        }
    }
    for name in reported.keys() {
        if !CHECKS.contains(&name.as_str()) {
            problems.push(format!("{name}: reported, but not in CHECKS"));
        }
    }
    assert!(
        problems.is_empty(),
        "the TypeScript clients in Node:\n  {}\n{}",
        problems.join("\n  "),
        finished.transcript()
    );
    finished.assert_success();
    eprintln!(
        "typescript_client: {} checks ok; tsc {:.1} s, script {:.1} s",
        CHECKS.len(),
        compiled_in.as_secs_f32(),
        ran_in.as_secs_f32()
    );
}
