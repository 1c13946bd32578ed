//! Keeps the SSE fan-out bench from rotting: its whole pipeline (server child processes, control
//! line, subscribers, counting) with 5 subscribers × 50 events per server. Counts only, no times.

use std::process::Command;

#[test]
fn every_server_delivers_every_event_to_every_subscriber() {
    let output = Command::new(env!("CARGO_BIN_EXE_sse-fanout"))
        .arg("--smoke")
        .output()
        .expect("the sse-fanout binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sse-fanout --smoke failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for server in [
        "generated",
        "generated-redis",
        "axum-once",
        "axum-per-subscriber",
        "express",
    ] {
        let line = format!(
            "smoke {server}: delivered 250/250 events to 5 subscribers, 0 lost, 0 duplicated"
        );
        assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
    }
}
