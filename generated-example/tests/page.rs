//! The live page that `petstore-server` serves at `/` (`web/index.html`, `web/app.js`, and the
//! generated TypeScript clients compiled into `web/dist/`):
//!
//! - the server answers `/`, `/app.js` and `/dist/<module>.js` with those files as they are now
//!   and their content types, and nothing else (a fixed table, no file system);
//! - `web/dist/` is what `scripts/build-web` writes today: `tsc` (npm `typescript`, pinned in
//!   `tests/peers/package.json`) compiles `web/generated/` into a directory under `target/`, and
//!   the bytes must match;
//! - in headless Chromium (`tests/peers/petstore-page.mjs`), two pages show notifications and
//!   see each other's bids; the server is killed and a new one started on the same port, and
//!   both pages must show their connections reconnecting, then the gap signal (the new server
//!   does not know the old event IDs), new notifications and new bids.
//!
//! `WIREGEN_SCREENSHOT=1` also saves page A as `docs/petstore-page.png`. Every wait is bounded.

#[path = "../../tests/peers/harness.rs"]
mod peers;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use peers::{Need, require};

/// How long a server may take to start, and how long the browser script may take per step.
const STEP: Duration = Duration::from_secs(30);

/// The whole browser run, at most.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// `petstore-server`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// Kept open: the server may print more, and must not meet a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `petstore-server --addr ADDR --interval-ms 100`, retrying while it cannot bind `addr`
/// (it exits), until [`STEP`] has passed; reads the address it prints once it listens.
fn start_server(addr: &str) -> Server {
    let deadline = Instant::now() + STEP;
    loop {
        let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
            .args(["--addr", addr, "--interval-ms", "100"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("petstore-server starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut first = String::new();
        // The first line comes once the server listens; end of file means it exited.
        let _ = stdout.read_line(&mut first);
        if let Some(listening) = first.trim().strip_prefix("listening on http://") {
            return Server {
                addr: listening.to_owned(),
                child,
                _stdout: stdout,
            };
        }
        let _ = child.kill();
        let _ = child.wait();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        assert!(
            Instant::now() < deadline,
            "petstore-server did not start on {addr} within {} s: {first:?}\n{stderr}",
            STEP.as_secs()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// `tests/peers/petstore-page.mjs`, in its own process group (Chromium included), killed with
/// it when dropped; its stdout lines arrive on a channel, its stderr is kept for failures.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Browser {
    fn start(url: &str, screenshot: Option<&Path>) -> Browser {
        let mut command = peers::node("petstore-page.mjs");
        command.arg(url);
        if let Some(path) = screenshot {
            command.arg("--screenshot").arg(path);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("node starts");
        let (sender, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let (sender, stderr) = mpsc::channel();
        let mut pipe = child.stderr.take().expect("stderr is piped");
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = sender.send(text);
        });
        let stdin = child.stdin.take().expect("stdin is piped");
        Browser {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// The next line, which must be the JSON of `step`, before `deadline`.
    fn expect(&mut self, step: &str, deadline: Instant) -> serde_json::Value {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = self.lines.recv_timeout(left) else {
            self.fail(&format!("no `{step}` from petstore-page.mjs in time"));
        };
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| self.fail(&format!("not JSON ({error}): {line}")));
        if value["step"] != step {
            self.fail(&format!("expected step `{step}`, got {line}"));
        }
        eprintln!("page: {line}");
        value
    }

    fn tell(&mut self, line: &str) {
        if writeln!(self.stdin, "{line}").is_err() {
            self.fail(&format!(
                "petstore-page.mjs stopped reading before `{line}`"
            ));
        }
    }

    /// Waits for the script to exit 0.
    fn finish(&mut self, deadline: Instant) {
        loop {
            match self.child.try_wait().expect("wait for node") {
                Some(status) if status.success() => return,
                Some(status) => self.fail(&format!("petstore-page.mjs failed ({status})")),
                None if Instant::now() >= deadline => self.fail("petstore-page.mjs did not exit"),
                None => thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Kills the script and panics with `why` and what it wrote on stderr.
    fn fail(&mut self, why: &str) -> ! {
        self.kill();
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        panic!("{why}\n--- petstore-page.mjs stderr\n{stderr}");
    }

    fn kill(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn page_survives_a_server_restart_in_chromium() {
    require(&[Need::Chromium]);
    let started = Instant::now();
    let deadline = started + RUN_TIMEOUT;
    let mut server = start_server("127.0.0.1:0");
    let addr = server.addr.clone();
    let screenshot = std::env::var_os("WIREGEN_SCREENSHOT")
        .is_some_and(|v| v == "1")
        .then(|| peers::repo_root().join("docs").join("petstore-page.png"));
    if let Some(parent) = screenshot.as_deref().and_then(Path::parent) {
        std::fs::create_dir_all(parent).expect("create docs/");
    }
    let mut browser = Browser::start(&format!("http://{addr}"), screenshot.as_deref());

    let ready = browser.expect("ready", deadline);
    assert_eq!(ready["auction"], ready["b"]["auction"], "{ready}");

    // The server dies: no goodbye, the connections just break.
    let _ = server.child.kill();
    let _ = server.child.wait();
    browser.tell("killed");
    browser.expect("reconnecting", deadline);

    // A new server, with a new history, on the same port.
    server = start_server(&addr);
    assert_eq!(server.addr, addr);
    browser.tell("restarted");
    let done = browser.expect("done", deadline);
    for page in ["a", "b"] {
        let notice = done[page]["feedNotice"].as_str().unwrap_or_default();
        assert!(notice.starts_with("missed events: unknown"), "{done}");
    }
    browser.finish(deadline);
    drop(server);
    eprintln!("page: passed in {:.1} s", started.elapsed().as_secs_f32());
}

/// `GET path` over a raw socket (HTTP/1.0: the server closes when done): the status line, the
/// lowercase headers and the body.
fn get(addr: &str, path: &str) -> (String, String, String) {
    let mut socket = std::net::TcpStream::connect(addr).expect("connect to the demo server");
    socket.set_read_timeout(Some(STEP)).expect("a read timeout");
    write!(socket, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send the request");
    let mut response = String::new();
    socket
        .read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body.to_owned(),
    )
}

/// The page's files, embedded, with their types; nothing else (no way out of the table).
#[test]
fn page_files_are_served() {
    let server = start_server("127.0.0.1:0");
    let web = peers::repo_root().join("generated-example").join("web");
    for (path, file, content_type) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        (
            "/dist/petstore_openapi.js",
            "dist/petstore_openapi.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/dist/petstore_asyncapi.js",
            "dist/petstore_asyncapi.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/dist/wiregen-runtime.js",
            "dist/wiregen-runtime.js",
            "text/javascript; charset=utf-8",
        ),
    ] {
        let (status, headers, body) = get(&server.addr, path);
        assert!(status.ends_with(" 200 OK"), "{path}: {status}");
        let wanted = format!("content-type: {content_type}");
        assert!(
            headers.lines().any(|line| line.trim_end() == wanted),
            "{path}: {headers}"
        );
        let expected = std::fs::read_to_string(web.join(file)).expect("read a page file");
        assert!(
            body == expected,
            "{path} is not {file} as it is now (rebuild the server)"
        );
    }
    for path in [
        "/index.html",
        "/dist/",
        "/dist/wiregen-runtime.ts",
        "/dist/../app.js",
        "/dist/%2e%2e/app.js",
        "/web/app.js",
        "/generated/petstore_openapi.ts",
        "/tsconfig.json",
    ] {
        let (status, _, _) = get(&server.addr, path);
        assert!(status.ends_with(" 404 Not Found"), "{path}: {status}");
    }
}

/// `node tests/peers/node_modules/typescript/bin/tsc`.
fn tsc() -> PathBuf {
    let path = peers::peers_dir()
        .join("node_modules")
        .join("typescript")
        .join("bin")
        .join("tsc");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-peers (the peer tests never skip)",
        path.display()
    );
    path
}

/// The `.js` files of `dir`, by name, with their bytes.
fn js_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "js"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).expect("read a compiled file");
            (name, bytes)
        })
        .collect()
}

#[test]
fn dist_is_fresh() {
    require(&[Need::Node]);
    let root = peers::repo_root();
    let out = root.join("target").join("wiregen-page").join("dist");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create the output directory");
    let mut command = Command::new("node");
    command
        .arg(tsc())
        .args(["-p", "generated-example/web/tsconfig.json", "--outDir"])
        .arg(&out)
        .current_dir(&root);
    peers::run(command, Duration::from_secs(120)).assert_success();
    let fresh = js_files(&out);
    let checked_in = js_files(&root.join("generated-example").join("web").join("dist"));
    assert!(
        !fresh.is_empty(),
        "tsc wrote nothing into {}",
        out.display()
    );
    let names = |files: &std::collections::BTreeMap<String, Vec<u8>>| {
        files.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        names(&checked_in),
        names(&fresh),
        "generated-example/web/dist/ holds other files than tsc writes: run scripts/build-web"
    );
    for (name, bytes) in &fresh {
        assert!(
            checked_in.get(name) == Some(bytes),
            "generated-example/web/dist/{name} differs from what tsc writes: run scripts/build-web"
        );
    }
}
