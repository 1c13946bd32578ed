//! Runs the third-party peers of `tests/peers/` (browsers, SSE clients, SSE servers; see
//! `tests/peers/README.md`) from Rust integration tests, with every wait bounded.
//!
//! Use it from a test file with
//! `#[path = "peers/harness.rs"] mod peers;`
//! and call [`require`] first: a missing peer is a test failure that says to run
//! `scripts/install-peers`, never a skip. Each test binary uses a different subset, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a peer may take, unless a test says otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The event names of the pet store stream (`specs/petstore.openapi.yaml`), for `--events`.
pub const PETSTORE_EVENT_NAMES: &str =
    "adoption,status-change,order-placed,order-shipped,order-delivered";

/// The repository root: the nearest directory at or above the test's package that holds
/// `tests/peers/` (test packages in subdirectories use this harness too).
pub fn repo_root() -> PathBuf {
    let package = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    package
        .ancestors()
        .find(|dir| dir.join("tests").join("peers").join("harness.rs").is_file())
        .unwrap_or(&package)
        .to_path_buf()
}

/// `tests/peers/`.
pub fn peers_dir() -> PathBuf {
    repo_root().join("tests").join("peers")
}

/// One thing a test needs installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// `node` and the npm packages of `tests/peers/package.json` (`typescript` among them).
    Node,
    /// Debian's `/usr/bin/chromium` (and the npm packages, which drive it).
    Chromium,
    /// The virtualenv `tests/peers/.venv` with `tests/peers/requirements.txt`.
    Python,
    /// Schemathesis (`tests/peers/.venv/bin/schemathesis`, from `tests/peers/requirements.txt`).
    Schemathesis,
    /// `curl` (and `bash`).
    Curl,
    /// `node` and Stoplight Prism (`@stoplight/prism-cli` of `tests/peers/package.json`).
    Prism,
}

/// Panics, naming everything missing and how to install it, unless every `needs` is there.
pub fn require(needs: &[Need]) {
    let mut missing = Vec::new();
    for need in needs {
        match need {
            Need::Node | Need::Chromium => {
                if !runs("node", &["--version"]) {
                    missing.push("node (Node 20 or newer) is not on PATH".to_owned());
                }
                for package in [
                    "playwright-core",
                    "eventsource",
                    "express",
                    "ws",
                    "typescript",
                ] {
                    let manifest = peers_dir()
                        .join("node_modules")
                        .join(package)
                        .join("package.json");
                    if !manifest.is_file() {
                        missing.push(format!(
                            "the npm package {package} is not in tests/peers/node_modules"
                        ));
                    }
                }
                if *need == Need::Chromium && !Path::new("/usr/bin/chromium").exists() {
                    missing
                        .push("/usr/bin/chromium (Debian's chromium) is not installed".to_owned());
                }
            }
            Need::Python => {
                let python = venv_python();
                if !python.exists() {
                    missing.push(format!("{} does not exist", python.display()));
                } else if !runs(
                    &python,
                    &["-c", "import sse_starlette, starlette, uvicorn, websockets"],
                ) {
                    missing.push(
                        "the packages of tests/peers/requirements.txt are not in tests/peers/.venv"
                            .to_owned(),
                    );
                }
            }
            Need::Schemathesis => {
                if !runs(venv_schemathesis(), &["--version"]) {
                    missing.push(
                        "tests/peers/.venv/bin/schemathesis (tests/peers/requirements.txt) does \
                         not run"
                            .to_owned(),
                    );
                }
            }
            Need::Curl => {
                if !runs("curl", &["--version"]) {
                    missing.push("curl is not installed".to_owned());
                }
            }
            Need::Prism => {
                if !runs("node", &["--version"]) {
                    missing.push("node (Node 20 or newer) is not on PATH".to_owned());
                }
                let manifest = peers_dir()
                    .join("node_modules")
                    .join("@stoplight")
                    .join("prism-cli")
                    .join("package.json");
                if !manifest.is_file() {
                    missing.push(
                        "the npm package @stoplight/prism-cli is not in tests/peers/node_modules"
                            .to_owned(),
                    );
                }
            }
        }
    }
    missing.dedup();
    if !missing.is_empty() {
        let why = if std::env::var_os("CI").is_some_and(|v| v == "true") {
            "CI=true: the peers are required, and scripts/test-all installs them before the tests"
        } else {
            "the peer tests never skip"
        };
        panic!(
            "test peers are missing ({why}); run scripts/install-peers:\n  - {}",
            missing.join("\n  - ")
        );
    }
}

fn runs(program: impl AsRef<OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `tests/peers/.venv/bin/python`.
pub fn venv_python() -> PathBuf {
    peers_dir().join(".venv").join("bin").join("python")
}

/// `tests/peers/.venv/bin/schemathesis`.
pub fn venv_schemathesis() -> PathBuf {
    peers_dir().join(".venv").join("bin").join("schemathesis")
}

/// `node tests/peers/<script>`.
pub fn node(script: &str) -> Command {
    let mut command = Command::new("node");
    command
        .arg(peers_dir().join(script))
        .current_dir(repo_root());
    command
}

/// `tests/peers/.venv/bin/python tests/peers/<script>`.
pub fn python(script: &str) -> Command {
    let mut command = Command::new(venv_python());
    command
        .arg(peers_dir().join(script))
        .current_dir(repo_root());
    command
}

/// `bash tests/peers/<script>`.
pub fn bash(script: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(peers_dir().join(script))
        .current_dir(repo_root());
    command
}

/// What a peer printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// What the command was (for messages).
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Panics with everything the peer printed unless it exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "{} failed ({}):\n{}",
            self.what,
            self.status,
            self.transcript()
        );
        self
    }

    /// Panics with everything the peer printed unless it exited non-zero.
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.status.success(),
            "{} succeeded but should have failed:\n{}",
            self.what,
            self.transcript()
        );
        self
    }

    /// Every stdout line parsed as JSON (panics on a line that is not JSON).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|error| {
                    panic!(
                        "{} printed a line that is not JSON ({error}): {line}\n{}",
                        self.what,
                        self.transcript()
                    )
                })
            })
            .collect()
    }

    /// stdout and stderr, for failure messages.
    pub fn transcript(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// Runs a peer to its end, or kills it (and its process group) after `timeout` and panics.
pub fn run(mut command: Command, timeout: Duration) -> Finished {
    let what = describe(&command);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("waiting for {what}: {error}"),
        }
    };
    let Some(status) = status else {
        kill_group(&mut child);
        panic!(
            "{what} did not finish within {} s and was killed:\n--- stdout\n{}--- stderr\n{}",
            timeout.as_secs_f32(),
            stdout.finish(),
            stderr.finish()
        );
    };
    Finished {
        what,
        status,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
    }
}

/// A peer server (`*-server.*`) running in the background; killed when dropped.
pub struct Server {
    child: Child,
    what: String,
    /// Where its stderr goes (printed when it fails to start).
    log: PathBuf,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl Server {
    /// Starts `command PORTFILE` (the servers' CLI) and waits, up to [`TIMEOUT`], for the port.
    pub fn start(command: Command) -> Server {
        Self::start_within(command, TIMEOUT)
    }

    /// [`Server::start`], waiting up to `timeout` for the port (a server that reads a large
    /// document first, such as Prism).
    pub fn start_within(mut command: Command, timeout: Duration) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port_file = dir.path().join("port");
        let log = dir.path().join("stderr.log");
        command.arg(&port_file);
        let what = describe(&command);
        let log_file = std::fs::File::create(&log).expect("a log file in the temporary directory");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        let mut server = Server {
            child,
            what,
            log,
            _dir: dir,
            port: 0,
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                server.port = port;
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "{} exited ({status}) before writing its port:\n{}",
                    server.what,
                    server.log_text()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} wrote no port within {} s:\n{}",
                    server.what,
                    timeout.as_secs(),
                    server.log_text()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What the server wrote to stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Kills a child started with `process_group(0)` together with everything it started.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    let root = format!("{}/", repo_root().display());
    words.join(" ").replace(&root, "")
}

/// A pipe read to its end on a thread; [`Collected::finish`] waits a bounded time for it.
struct Collected(mpsc::Receiver<String>);

fn collect(pipe: Option<impl Read + Send + 'static>) -> Collected {
    let (sender, receiver) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
        });
    }
    Collected(receiver)
}

impl Collected {
    /// The pipe's text; a grandchild that still holds the pipe open gets five seconds.
    fn finish(self) -> String {
        self.0
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "<still open: a process the peer started holds it>\n".to_owned())
    }
}
