//! Schemathesis (PyPI `schemathesis`, a property-based API tester we did not write) against the
//! generated pet store server: `petstore-server` on a free 127.0.0.1 port, and `schemathesis
//! run` on `specs/petstore.openapi.yaml` with positive and negative cases in all four phases
//! (the spec's examples, coverage of each keyword's edges, random fuzzing, and stateful chains
//! that follow the links Schemathesis infers, such as `POST /v1/orders` then
//! `GET /v1/orders/{orderId}`). The test fails with Schemathesis's own report when any check
//! fails, and then reads Schemathesis's NDJSON event log to prove the run covered what it
//! should: both modes on every operation, a 4xx for bad input on each, a 401 on each secured
//! operation, no 5xx.
//!
//! - **OpenAPI 3.2**: Schemathesis 4.32 reads 3.2 documents itself, so it gets the spec file as
//!   it is; no 3.1 rendering is made.
//! - **Scope**: every operation except the SSE stream `GET /v1/pets/notifications`
//!   (`--exclude-operation-id streamNotifications`): its `200` is an event stream that never
//!   ends, and Schemathesis reads a response to its end. The SSE peers (`tests/peers/`) test it.
//! - **Checks**: `not_a_server_error`, `status_code_conformance`, `content_type_conformance`,
//!   `response_headers_conformance` (`X-Total-Count`, `Location`), `response_schema_conformance`,
//!   `negative_data_rejection`, `positive_data_acceptance`, and `missing_required_header`,
//!   `unsupported_method` (405 with `Allow`), `allow_header_conformance`, `use_after_free`,
//!   `ensure_resource_availability`. Not run: `ignored_auth`, whose invalid-credential probe
//!   (`Bearer SCHEMATHESIS-INVALID-VALUE`) the demo accepts by design (any non-empty bearer token
//!   is a customer); the missing-credential half of it is covered all the same, by the coverage
//!   phase's cases without `Authorization` or `X-Staff-Key`, which must get 401 (asserted
//!   below).
//! - **Credentials**: `Authorization: Bearer u-1001` and the staff key `X-Staff-Key: staff-demo`
//!   on every request, so the secured operations (orders, photo upload) are exercised.
//! - **Known Schemathesis limitations**: `tests/peers/schemathesis_hooks.py` drops exactly two
//!   kinds of `negative_data_rejection` failure whose request is valid on the wire (an empty
//!   `status=` list, and JSON-typed values in multipart parts) and one kind of
//!   `positive_data_acceptance` failure whose request is not (a multipart part named with a
//!   control character, which its header cannot carry); its header says why.
//! - **Bounds**: `--max-examples` [`MAX_EXAMPLES`], one worker, a fixed seed ([`SEED`],
//!   `WIREGEN_SCHEMATHESIS_SEED` overrides it to explore), a request timeout, and the whole run
//!   killed after [`RUN_TIMEOUT`].

#[path = "../../tests/peers/harness.rs"]
mod peers;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use peers::{Need, require};
use serde_json::Value;

/// Test cases per operation and phase (`--max-examples`): enough for every phase to find the
/// bugs it found while this test was written, small enough for a loaded two-core machine.
const MAX_EXAMPLES: &str = "50";

/// The default seed: the same cases in every run, so a failure reproduces.
const SEED: &str = "20261207";

/// The whole Schemathesis run, at most.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// What the run must check on every response.
const CHECKS: &[&str] = &[
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
];

/// The operations in scope, as Schemathesis labels them.
const OPERATIONS: &[&str] = &[
    "GET /v1/pets",
    "GET /v1/pets/{petId}",
    "PUT /v1/pets/{petId}/photo",
    "GET /v1/pets/{petId}/photo",
    "POST /v1/orders",
    "GET /v1/orders/{orderId}",
    "GET /v1/auctions",
];

/// The operations that need a credential: without one they answer 401.
const SECURED: &[&str] = &[
    "PUT /v1/pets/{petId}/photo",
    "POST /v1/orders",
    "GET /v1/orders/{orderId}",
];

/// `petstore-server` in its own process group, killed (with the group) when dropped.
struct PetStore {
    child: Child,
    addr: String,
}

impl PetStore {
    /// Starts it on a free loopback port and waits (bounded) for the address it prints.
    fn start() -> PetStore {
        let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
            .args(["--addr", "127.0.0.1:0", "--interval-ms", "100"])
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

/// What the NDJSON event log says about one operation (outside the stateful phase).
#[derive(Default)]
struct Coverage {
    positive: usize,
    negative: usize,
    /// Response statuses of the negative cases.
    negative_statuses: BTreeMap<u16, usize>,
    /// Every response status.
    statuses: BTreeMap<u16, usize>,
    /// Cases sent without a credential that got 401, and whether every check passed on them.
    unauthorized: usize,
    unauthorized_failed_checks: usize,
}

/// Everything the run's NDJSON log (`--report ndjson`) records, by operation.
#[derive(Default)]
struct Log {
    operations: BTreeMap<String, Coverage>,
    /// Responses of the stateful phase (sequences of calls following links).
    stateful_responses: usize,
    /// Every response status in the run, stateful phase included.
    all_statuses: BTreeMap<u16, usize>,
    /// Check name → (passed, failed).
    checks: BTreeMap<String, (usize, usize)>,
}

fn read_log(text: &str) -> Log {
    let mut log = Log::default();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("the NDJSON log has a line that is not JSON: {error}"));
        let Some(recorder) = event.pointer("/ScenarioFinished/recorder") else {
            continue;
        };
        let label = recorder["label"].as_str().unwrap_or_default().to_owned();
        let stateful = label == "Stateful tests";
        let empty = serde_json::Map::new();
        let cases = recorder["cases"].as_object().unwrap_or(&empty);
        let interactions = recorder["interactions"].as_object().unwrap_or(&empty);
        let checks = recorder["checks"].as_object().unwrap_or(&empty);
        for (id, case) in cases {
            let case = &case["value"];
            let negative = case.pointer("/meta/generation/mode") == Some(&"negative".into());
            let status = interactions
                .get(id)
                .and_then(|interaction| interaction.pointer("/response/status_code"))
                .and_then(Value::as_u64)
                .and_then(|status| u16::try_from(status).ok());
            let results: Vec<(&str, &str)> = checks
                .get(id)
                .and_then(Value::as_array)
                .map(|results| {
                    results
                        .iter()
                        .map(|result| {
                            (
                                result["name"].as_str().unwrap_or_default(),
                                result["status"].as_str().unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            for (name, outcome) in &results {
                let counts = log.checks.entry((*name).to_owned()).or_default();
                match *outcome {
                    "success" => counts.0 += 1,
                    "failure" => counts.1 += 1,
                    _ => {}
                }
            }
            if let Some(status) = status {
                *log.all_statuses.entry(status).or_default() += 1;
            }
            if stateful {
                log.stateful_responses += usize::from(status.is_some());
                continue;
            }
            let coverage = log.operations.entry(label.clone()).or_default();
            if negative {
                coverage.negative += 1;
            } else {
                coverage.positive += 1;
            }
            let Some(status) = status else { continue };
            *coverage.statuses.entry(status).or_default() += 1;
            if negative {
                *coverage.negative_statuses.entry(status).or_default() += 1;
            }
            // What was sent (the case's own headers include the `--header` ones even when the
            // coverage phase leaves one out).
            let headers = interactions
                .get(id)
                .and_then(|interaction| interaction.pointer("/request/headers"))
                .and_then(Value::as_object);
            let has = |name: &str| {
                headers
                    .is_some_and(|headers| headers.keys().any(|key| key.eq_ignore_ascii_case(name)))
            };
            if status == 401 && !(has("Authorization") && has("X-Staff-Key")) {
                coverage.unauthorized += 1;
                if results.iter().any(|(_, outcome)| *outcome == "failure") {
                    coverage.unauthorized_failed_checks += 1;
                }
            }
        }
    }
    log
}

#[test]
fn schemathesis_finds_nothing_wrong_with_the_pet_store_server() {
    require(&[Need::Schemathesis]);
    let server = PetStore::start();
    let work = tempfile::tempdir().expect("a temporary directory");
    // An empty configuration file: nothing from the machine (a `schemathesis.toml` in a parent
    // directory) changes the run.
    let config = work.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        "# the test passes everything on the command line\n",
    )
    .expect("write the configuration file");
    let events = work.path().join("events.ndjson");
    let spec = peers::repo_root()
        .join("specs")
        .join("petstore.openapi.yaml");
    let hooks = peers::peers_dir().join("schemathesis_hooks.py");
    let seed = std::env::var("WIREGEN_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned());

    let mut command = Command::new(peers::venv_schemathesis());
    command
        .current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&spec)
        .args(["--url", &format!("http://{}", server.addr)])
        .args(["--checks", &CHECKS.join(",")])
        .args(["--mode", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .args(["--header", "Authorization: Bearer u-1001"])
        .args(["--header", "X-Staff-Key: staff-demo"])
        .args(["--exclude-operation-id", "streamNotifications"])
        .args(["--generation-database", "none"])
        .args(["--report", "ndjson", "--report-ndjson-path"])
        .arg(&events);
    let started = Instant::now();
    let finished = peers::run(command, RUN_TIMEOUT);
    let elapsed = started.elapsed();
    finished.assert_success();

    let text = std::fs::read_to_string(&events).expect("Schemathesis wrote its NDJSON log");
    let log = read_log(&text);
    let mut summary = format!(
        "schemathesis: {:.1} s, seed {seed}, {} responses in the stateful phase; all statuses {:?}\n",
        elapsed.as_secs_f32(),
        log.stateful_responses,
        log.all_statuses
    );
    for (label, coverage) in &log.operations {
        summary.push_str(&format!(
            "  {label}: {} positive, {} negative cases; statuses {:?}; negative {:?}; {} unauthorized\n",
            coverage.positive,
            coverage.negative,
            coverage.statuses,
            coverage.negative_statuses,
            coverage.unauthorized
        ));
    }
    for (check, (passed, failed)) in &log.checks {
        summary.push_str(&format!(
            "  check {check}: {passed} passed, {failed} failed\n"
        ));
    }
    eprint!("{summary}");
    let context = format!("{summary}{}", finished.transcript());

    for operation in OPERATIONS {
        let coverage = log
            .operations
            .get(*operation)
            .unwrap_or_else(|| panic!("Schemathesis did not test {operation}:\n{context}"));
        assert!(
            coverage.positive > 0 && coverage.negative > 0,
            "{operation} did not get both positive and negative cases:\n{context}"
        );
        assert!(
            coverage
                .negative_statuses
                .keys()
                .any(|status| (400..500).contains(status)),
            "no negative case of {operation} got a 4xx:\n{context}"
        );
    }
    for operation in SECURED {
        let coverage = &log.operations[*operation];
        assert!(
            coverage.unauthorized > 0,
            "no case of {operation} without a credential got 401:\n{context}"
        );
        assert_eq!(
            coverage.unauthorized_failed_checks, 0,
            "a check failed on a 401 of {operation}:\n{context}"
        );
    }
    assert!(
        log.stateful_responses > 0,
        "the stateful phase sent nothing:\n{context}"
    );
    let server_errors: usize = log.all_statuses.range(500..).map(|(_, n)| n).sum();
    assert_eq!(server_errors, 0, "the server answered 5xx:\n{context}");
    let ran: BTreeSet<&str> = log
        .checks
        .iter()
        .filter(|(_, (passed, _))| *passed > 0)
        .map(|(name, _)| name.as_str())
        .collect();
    for check in CHECKS {
        assert!(
            ran.contains(check),
            "the check {check} never ran:\n{context}"
        );
    }
}
