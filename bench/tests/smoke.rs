//! Keeps the benches from rotting. SSE fan-out: its whole pipeline (server child processes,
//! control line, subscribers, counting) with 5 subscribers × 50 events per server. Plain
//! operations: both servers' answers checked, then wrk for 1 s with 8 connections per server and
//! operation (wrk comes from `scripts/install-peers`; without it this fails), the answers
//! checked again, and 1,000 requests per operation through each router in process. Counts,
//! statuses and bodies only, no times.

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

#[test]
fn both_plain_operation_servers_answer_right_before_and_after_wrk() {
    let output = Command::new(env!("CARGO_BIN_EXE_plain-ops"))
        .arg("--smoke")
        .output()
        .expect("the plain-ops binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "plain-ops --smoke failed (is wrk installed? scripts/install-peers installs it)\n\
         stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for server in ["generated", "hand-written"] {
        for line in [
            format!("check {server}: 14 checks passed"),
            format!("smoke {server} after load: 14 checks passed"),
        ] {
            assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
        }
        for op in ["GET", "POST"] {
            let prefix = format!("smoke {server} {op}: ");
            let line = stdout
                .lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{stdout}"));
            let requests: u64 = line
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no request count in {line:?}"));
            assert!(requests > 0, "{server} {op}: {line}");
            assert!(
                line.ends_with(" requests, 0 error statuses, 0 socket errors"),
                "{server} {op}: {line}"
            );
        }
    }
    for route in ["GET /v1/pets/{petId}", "POST /v1/orders"] {
        let line = format!("in process {route}: median CPU ratio ");
        assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
    }
}
