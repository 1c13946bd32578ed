//! A `redis-server` of the tests' own (Debian's package, installed by `scripts/install-peers`):
//! started on a free 127.0.0.1 port in a temporary directory, with an append-only file so that a
//! restart keeps the data, and killed (by its pid) when dropped. A missing `redis-server` is a
//! test failure that says to run `scripts/install-peers`, never a skip.
//!
//! Use it with `#[path = ".../tests/peers/redis.rs"] mod redis_server;`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long starting (or stopping) Redis may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

fn program() -> String {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        let why = if std::env::var_os("CI").is_some_and(|v| v == "true") {
            "CI=true: the peers are required, and scripts/test-all installs them before the tests"
        } else {
            "the backplane tests never skip"
        };
        panic!(
            "redis-server is not installed ({why}); run scripts/install-peers (Debian's redis-server)"
        );
    }
    "redis-server".to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// Sends one inline command and reads the first reply line, within a short deadline.
fn command(port: u16, line: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(format!("{line}\r\n").as_bytes()).ok()?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while reply.len() < 512 {
        if stream.read(&mut byte).ok()? == 0 {
            break;
        }
        if byte[0] == b'\n' {
            break;
        }
        reply.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&reply).trim_end().to_owned())
}

impl RedisServer {
    /// Starts a fresh server (an empty data directory) on a free port.
    pub fn start() -> RedisServer {
        let program = program();
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "wiregen-redis-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory for Redis");
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
        };
        // A port found free may be taken before Redis binds it: try a few.
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn(&program) {
                return server;
            }
        }
        panic!("redis-server did not start:\n{}", server.log());
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether it answers PING.
    pub fn is_up(&self) -> bool {
        command(self.port, "PING").as_deref() == Some("+PONG")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    fn spawn(&mut self, program: &str) -> bool {
        let child = Command::new(program)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start redis-server: {error}"));
        self.child = Some(child);
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if self.is_up() {
                return true;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    /// Stops the server (SIGTERM: it writes its append-only file and exits), and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + TIMEOUT;
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        let program = program();
        let deadline = Instant::now() + TIMEOUT;
        // The old socket may linger for a moment.
        while !self.spawn(&program) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start again on port {}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
