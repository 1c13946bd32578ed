//! Stoplight Prism, a real third-party mock server with request validation, against the
//! generated clients of the pet store and of real corpus documents: every plain operation is
//! called with a request built from values the spec allows (`sample.rs`, `program.rs`), once as
//! is and once per declared status (`Prefer: code=…`), and
//!
//! - Prism must find no request invalid (its `sl-violations` and error answers say what was
//!   wrong, and are quoted with the request wiregen sent);
//! - the generated client must decode every answer Prism gives into the variant of its status
//!   (where Prism's dynamic answer violates the document, `prism-mock.mjs` asks for its static
//!   one, and the table counts them);
//! - every plain operation is called; what Prism cannot take or answer is listed per document
//!   (`Document`) and asserted, so the lists cannot go stale.
//!
//! A control call with a parameter out of its bounds proves that Prism's validation is on and
//! that its complaints are seen. SSE operations are out of scope here (the SSE peers cover
//! them). The program is one crate under `target/` holding every document's generated client
//! and a `main.rs` this test writes (built in the corpus test's target directory, so the
//! dependencies are shared). `cargo test --test prism -- --nocapture` prints the tables.

#[path = "../common/mod.rs"]
mod common;
#[path = "../peers/harness.rs"]
mod peers;
mod program;
mod sample;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use wiregen::emit::{self, RuntimeDep};
use wiregen::ir::{Api, StatusMatch, TypeKind};
use wiregen::{Parts, Settings};

use peers::{Need, Server};
use program::{Control, DocumentCalls, Planned};
use sample::Schemas;

/// The throwaway crate, under `target/`.
const CRATE: &str = "wiregen-prism-check";
/// Its library's name.
const LIB: &str = "wiregen_prism_check";

/// A document the test calls, its control call, and what of it cannot be called against
/// Prism (each asserted: the test fails when the list and the document disagree).
struct Document {
    path: &'static str,
    control: Option<Control>,
    /// Operations not called (their reasons are computed and printed by `program.rs`).
    skipped: &'static [&'static str],
    /// Optional parts of requests left out because Prism cannot read them
    /// (`operation: what`; the reasons are `program.rs`'s `PRISM_*`).
    omitted: &'static [&'static str],
    /// Operations Prism cannot answer from the document at all (neither its dynamic nor its
    /// static mock is valid, or it fails on the schema): the client has nothing to decode.
    unanswerable: &'static [&'static str],
}

/// The pet store (OpenAPI 3.2, which Prism 5 reads as 3.x: its plain operations use nothing
/// 3.2 adds), and corpus documents of both 3.0 and 3.1.
const DOCUMENTS: &[Document] = &[
    Document {
        path: "specs/petstore.openapi.yaml",
        control: Some(Control {
            op: "listPets",
            param: "limit",
            value: "500",
        }),
        skipped: &[],
        omitted: &[],
        unanswerable: &[],
    },
    Document {
        path: "../shared/corpus/openapi/openai/openapi.yaml",
        control: None,
        skipped: &[],
        omitted: &[
            "createFile: form field `expires_after`",
            "create-realtime-call: form field `session`",
        ],
        unanswerable: &[],
    },
    Document {
        path: "../shared/corpus/openapi/tgi/openapi.json",
        control: None,
        skipped: &[],
        omitted: &[],
        unanswerable: &[],
    },
    Document {
        path: "../shared/corpus/openapi/private-gpt/openapi.json",
        control: None,
        skipped: &[],
        omitted: &[
            "list_skills_v1_skills_get: header parameter `anthropic-beta`",
            "create_skill_v1_skills_post: header parameter `anthropic-beta`",
            "get_skill_v1_skills__skill_id__get: header parameter `anthropic-beta`",
            "delete_skill_v1_skills__skill_id__delete: header parameter `anthropic-beta`",
            "list_skill_versions_v1_skills__skill_id__versions_get: header parameter `anthropic-beta`",
            "create_skill_version_v1_skills__skill_id__versions_post: header parameter `anthropic-beta`",
            "get_skill_version_v1_skills__skill_id__versions__version__get: header parameter `anthropic-beta`",
            "delete_skill_version_v1_skills__skill_id__versions__version__delete: header parameter `anthropic-beta`",
        ],
        unanswerable: &[],
    },
    Document {
        path: "../shared/corpus/openapi/agent-protocol/openapi.json",
        control: None,
        skipped: &[],
        omitted: &[],
        unanswerable: &[],
    },
];

/// How long Prism may take to read a document and listen.
const PRISM_STARTUP: Duration = Duration::from_secs(300);
/// How long one document's calls may take.
const CALLS_TIMEOUT: Duration = Duration::from_secs(300);

/// One generated document, ready to call.
struct Prepared {
    document: &'static Document,
    path: &'static str,
    spec: String,
    api: Api,
    calls: DocumentCalls,
}

#[test]
fn generated_clients_call_every_operation_against_prism() {
    peers::require(&[Need::Prism]);
    let root = common::repo_root();
    let work = root.join("target").join(CRATE);
    std::fs::create_dir_all(&work).expect("the work directory");

    // Generate each document's client, and the calls.
    let settings = Settings {
        parts: Parts {
            types: true,
            server: false,
            client: true,
        },
        ..Settings::default()
    };
    let mut prepared = Vec::new();
    let mut apis = Vec::new();
    let mut files = Vec::new();
    for document in DOCUMENTS {
        let path = root.join(document.path);
        assert!(
            path.is_file(),
            "{} is missing (the corpus must sit next to the repository)",
            path.display()
        );
        let generated =
            wiregen::generate(std::slice::from_ref(&path), &settings).unwrap_or_else(|failure| {
                panic!(
                    "{} does not generate:\n{}",
                    document.path,
                    wiregen::diag::render(&failure.diagnostics)
                )
            });
        let mut diags = wiregen::diag::Diagnostics::new();
        let loaded = wiregen::spec::load(&path, &mut diags);
        let _ = diags.finish();
        let loaded = loaded.unwrap_or_else(|| panic!("{} does not load", document.path));
        let value = &loaded.sources.file(loaded.root).value;
        let spec = match &loaded.kind {
            wiregen::spec::SpecKind::OpenApi { version, .. } => format!("OpenAPI {version}"),
            other => format!("{other:?}"),
        };
        let api = generated.apis.into_iter().next().expect("one API");
        let calls = program::document_calls(LIB, &api, &Schemas::new(value), document.control);
        apis.push(api.clone());
        files.extend(generated.files);
        prepared.push(Prepared {
            document,
            path: document.path,
            spec,
            api,
            calls,
        });
    }

    // Prism reads the documents while the program builds (the OpenAI one takes it tens of
    // seconds).
    let records: Vec<PathBuf> = prepared
        .iter()
        .map(|p| work.join(format!("{}.record.jsonl", p.api.module.rust.unraw())))
        .collect();
    // A fixed seed makes Prism's answers the same from run to run; another explores others
    // (the lists of `DOCUMENTS` hold for seed 1).
    let seed = std::env::var("WIREGEN_PRISM_SEED").unwrap_or_else(|_| "1".to_owned());
    let starting: Vec<_> = prepared
        .iter()
        .zip(&records)
        .map(|(p, record)| {
            let mut command = peers::node("prism-mock.mjs");
            command
                .arg("--record")
                .arg(record)
                .args(["--lifetime", "3600", "--seed", &seed, "--startup-timeout"])
                .arg(PRISM_STARTUP.as_secs().to_string())
                .arg(root.join(p.path));
            let started = Instant::now();
            std::thread::spawn(move || {
                let server = Server::start_within(command, PRISM_STARTUP + Duration::from_secs(5));
                (server, started.elapsed())
            })
        })
        .collect();

    let build_started = Instant::now();
    let binary = build_program(&work, &apis, &files, &prepared);
    let build_time = build_started.elapsed();

    let servers: Vec<(Server, Duration)> = starting
        .into_iter()
        .map(|handle| handle.join().expect("Prism started"))
        .collect();

    let mut report = String::new();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for ((document, (server, startup)), record) in prepared.iter().zip(&servers).zip(&records) {
        let started = Instant::now();
        let mut command = Command::new(&binary);
        command
            .arg(document.api.module.rust.unraw())
            .arg(format!("http://127.0.0.1:{}", server.port));
        let finished = peers::run(command, CALLS_TIMEOUT);
        finished.assert_success();
        let lines = finished.json_lines();
        let exchanges = read_records(record);
        let outcome = judge(document, &lines, &exchanges);
        let _ = writeln!(
            report,
            "\n## {} ({})\nPrism read it in {:.1} s; calls took {:.1} s\n{}",
            document.path,
            document.spec,
            startup.as_secs_f32(),
            started.elapsed().as_secs_f32(),
            outcome.details
        );
        failures.extend(
            outcome
                .failures
                .iter()
                .map(|f| format!("{}: {f}", document.path)),
        );
        rows.push((document, outcome));
        drop(finished);
        let _ = server.log_text();
    }

    let mut table = String::from(
        "| document | spec | plain operations | called | requests | decoded | answered statically | skipped | parts left out | SSE (out of scope) | rejected by Prism | not decoded | Prism could not answer |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (document, outcome) in &rows {
        let calls = &document.calls;
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            document.path,
            document.spec,
            calls.planned.len() + calls.skipped.len(),
            calls.planned.len(),
            outcome.requests,
            outcome.decoded,
            outcome.answered_statically,
            calls.skipped.len(),
            calls.omitted.len(),
            calls.streams.len(),
            outcome.rejected,
            outcome.undecoded,
            outcome.mock_invalid,
        );
    }
    println!(
        "{table}\nprogram built in {:.1} s\n{report}",
        build_time.as_secs_f32()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}\n\n{table}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Write the program's crate (every document's generated module, the calls, `main.rs`) and
/// build it; the binary's path.
fn build_program(
    work: &Path,
    apis: &[Api],
    files: &[emit::OutputFile],
    prepared: &[Prepared],
) -> PathBuf {
    let root = common::repo_root();
    let runtime = root.join("runtime").to_string_lossy().replace('\\', "/");
    let crate_files = emit::crate_files(apis, files, CRATE, &RuntimeDep::Path(runtime))
        .unwrap_or_else(|d| panic!("wiregen could not lay out the crate:\n{d}"));
    let mut wanted: BTreeMap<PathBuf, String> = BTreeMap::new();
    for file in crate_files {
        let contents = if file.path == Path::new("Cargo.toml") {
            let mut manifest = file.contents;
            if !manifest.lines().any(|l| l.starts_with("tokio ")) {
                manifest.push_str(
                    "\n[dependencies.tokio]\nversion = \"1\"\nfeatures = [\"macros\", \"rt\"]\n",
                );
            }
            // No debug info and no incremental state: the program is run, never debugged,
            // and its one large crate builds a third faster so.
            manifest
                .push_str("\n[workspace]\n\n[profile.dev]\ndebug = false\nincremental = false\n");
            manifest
        } else {
            file.contents
        };
        wanted.insert(file.path, contents);
    }
    let mut main = String::from(
        "//! Calls every plain operation of the documents through their generated clients, against\n\
         //! the mock server at BASE; one JSON line per call. Written by wiregen's tests/prism.\n\
         //!\n\
         //! Usage: wiregen-prism-check MODULE BASE\n\n",
    );
    let mut arms = String::new();
    for p in prepared {
        let module = p.api.module.rust.unraw();
        let _ = writeln!(main, "mod calls_{module};");
        let _ = writeln!(arms, "        {module:?} => calls_{module}::CALLS,");
        wanted.insert(
            PathBuf::from(format!("src/calls_{module}.rs")),
            p.calls.source.clone(),
        );
    }
    main.push_str(MAIN_BODY.replace("ARMS\n", &arms).as_str());
    wanted.insert(PathBuf::from("src/main.rs"), main);
    // The lock file of the workspace pins the versions the other tests build with.
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    wanted.insert(PathBuf::from("Cargo.lock"), lock);
    // Written only when changed, so that a second run rebuilds nothing.
    for (path, contents) in &wanted {
        let path = work.join(path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(contents) {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
            std::fs::write(&path, contents).expect("a file of the program");
        }
    }
    for entry in std::fs::read_dir(work.join("src")).expect("src/").flatten() {
        let relative = Path::new("src").join(entry.file_name());
        if !wanted.contains_key(&relative) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let target = root.join("target").join("wiregen-corpus-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet"])
        .current_dir(work)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo build runs");
    assert!(
        output.status.success(),
        "the program does not build ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug").join(CRATE)
}

/// `main.rs` after the `mod` lines; `ARMS` becomes the match arms of the modules.
const MAIN_BODY: &str = r#"
/// One operation's calls.
pub type Call = for<'a> fn(&'a str) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + 'a>>;

/// A sampled value, as JSON text, into the type the request field has.
pub fn v<T: ::serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, String> {
    ::serde_json::from_str(json).map_err(|error| format!("`{what}` = {json}: {error}"))
}

/// The base URL labelling a call's requests for the recording proxy.
pub fn tagged(base: &str, tag: &str, code: Option<u16>) -> String {
    match code {
        Some(code) => format!("{base}/__wg/{tag}@{code}"),
        None => format!("{base}/__wg/{tag}"),
    }
}

/// Print what a call gave: the variant it decoded into, or the error.
pub fn report<T: ::std::fmt::Debug, E: ::std::fmt::Display>(
    tag: &str,
    code: Option<u16>,
    op: &str,
    result: Result<T, E>,
) {
    let line = match result {
        Ok(response) => {
            let debug = format!("{response:?}");
            let variant: String = debug
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            ::serde_json::json!({"tag": tag, "prefer": code, "op": op, "decoded": variant})
        }
        Err(error) => {
            ::serde_json::json!({"tag": tag, "prefer": code, "op": op, "error": error.to_string()})
        }
    };
    println!("{line}");
}

/// Print that a request could not be built from its sampled values.
pub fn built(tag: &str, op: &str, error: String) {
    println!("{}", ::serde_json::json!({"tag": tag, "op": op, "build_error": error}));
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, module, base] = args.as_slice() else {
        eprintln!("usage: wiregen-prism-check MODULE BASE");
        std::process::exit(2);
    };
    let calls: &[Call] = match module.as_str() {
ARMS
        other => {
            eprintln!("unknown module {other}");
            std::process::exit(2);
        }
    };
    for call in calls {
        call(base).await;
    }
}
"#;

/// One exchange the proxy recorded.
struct Exchange {
    method: String,
    url: String,
    request_headers: Value,
    request_body: String,
    status: u16,
    response_headers: Value,
    response_body: String,
    /// Prism's dynamic answer, when it violated the document and the proxy asked again for a
    /// static one (`prism-mock.mjs`).
    dynamic_failure: Option<String>,
}

/// The recorded exchanges by (tag, prefer).
fn read_records(path: &Path) -> BTreeMap<(String, Option<u16>), Vec<Exchange>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the record {}: {e}", path.display()));
    let mut out: BTreeMap<(String, Option<u16>), Vec<Exchange>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line).expect("a JSON record");
        let Some(tag) = record["tag"].as_str() else {
            continue;
        };
        let prefer = record["prefer"]
            .as_str()
            .and_then(|p| p.parse::<u16>().ok());
        let text_of = |part: &Value| {
            if part["bodyBase64"] == Value::Bool(true) {
                format!(
                    "<{} base64 characters>",
                    part["body"].as_str().unwrap_or("").len()
                )
            } else {
                part["body"].as_str().unwrap_or("").to_owned()
            }
        };
        out.entry((tag.to_owned(), prefer))
            .or_default()
            .push(Exchange {
                method: record["method"].as_str().unwrap_or("").to_owned(),
                url: record["url"].as_str().unwrap_or("").to_owned(),
                request_headers: record["request"]["headers"].clone(),
                request_body: text_of(&record["request"]),
                status: record["response"]["status"].as_u64().unwrap_or(0) as u16,
                response_headers: record["response"]["headers"].clone(),
                response_body: text_of(&record["response"]),
                dynamic_failure: record.get("dynamicFailure").map(text_of),
            });
    }
    out
}

/// What one document's calls came to.
struct Outcome {
    requests: usize,
    decoded: usize,
    answered_statically: usize,
    rejected: usize,
    undecoded: usize,
    mock_invalid: usize,
    failures: Vec<String>,
    details: String,
}

/// Prism's error types that mean the request was wrong.
const REQUEST_ERRORS: &[&str] = &[
    "UNPROCESSABLE_ENTITY",
    "UNAUTHORIZED",
    "NO_PATH_MATCHED_ERROR",
    "NO_METHOD_MATCHED_ERROR",
    "INVALID_CONTENT_TYPE",
    "NOT_ACCEPTABLE",
    "NO_SERVER_MATCHED_ERROR",
];

/// The start of the `type` of Prism's own problem answers.
const PRISM_ERRORS: &str = "https://stoplight.io/prism/errors#";

/// What Prism said about an exchange.
enum Verdict {
    /// The request was valid and Prism answered from the document.
    Answered,
    /// Prism found the request invalid: its complaints.
    Rejected(String),
    /// Prism's own answer violates the document (500 `VIOLATIONS` on the response only), or
    /// Prism failed to make one: the client has nothing of the document's to decode.
    MockFailed(String),
}

fn verdict(exchange: &Exchange) -> Verdict {
    let header = |name: &str| exchange.response_headers[name].as_str().unwrap_or("");
    let violations: Vec<Value> = serde_json::from_str(header("sl-violations")).unwrap_or_default();
    let request_violations: Vec<&Value> = violations
        .iter()
        .filter(|v| v["location"][0] == "request")
        .collect();
    if !request_violations.is_empty() {
        let text: Vec<String> = request_violations
            .iter()
            .map(|v| {
                format!(
                    "{} ({}): {}",
                    v["location"]
                        .as_array()
                        .map(|l| l
                            .iter()
                            .map(|s| s.as_str().unwrap_or("?"))
                            .collect::<Vec<_>>()
                            .join("."))
                        .unwrap_or_default(),
                    v["code"].as_str().unwrap_or("?"),
                    v["message"].as_str().unwrap_or("?")
                )
            })
            .collect();
        return Verdict::Rejected(text.join("; "));
    }
    let problem: Value = serde_json::from_str(&exchange.response_body).unwrap_or(Value::Null);
    // The record cuts long bodies, and a cut problem is no JSON: its type is still at the start.
    let kind = problem["type"].as_str().map(str::to_owned).or_else(|| {
        let content_type = header("content-type");
        let at = exchange.response_body.find(PRISM_ERRORS)?;
        (content_type.starts_with("application/problem+json") && at < 16).then(|| {
            exchange.response_body[at..]
                .chars()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '_' | '#' | '/' | ':' | '.')
                })
                .collect()
        })
    });
    if let Some(kind) = kind.as_deref().and_then(|t| t.strip_prefix(PRISM_ERRORS)) {
        let detail = format!(
            "{kind}: {} {}",
            problem["title"].as_str().unwrap_or(""),
            problem["detail"].as_str().unwrap_or("")
        );
        let detail = match problem.get("validation") {
            Some(validation) => format!("{detail} {validation}"),
            None => detail,
        };
        return if REQUEST_ERRORS.contains(&kind) {
            Verdict::Rejected(detail)
        } else {
            Verdict::MockFailed(detail)
        };
    }
    Verdict::Answered
}

/// The request as sent, for failure messages.
fn describe_request(exchange: &Exchange) -> String {
    let mut headers: Vec<String> = exchange
        .request_headers
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| !matches!(name.as_str(), "accept-encoding" | "content-length"))
        .map(|(name, value)| format!("{name}: {}", value.as_str().unwrap_or("?")))
        .collect();
    headers.sort();
    format!(
        "{} {}\n      {}\n      body: {}",
        exchange.method,
        exchange.url,
        headers.join("\n      "),
        excerpt(&exchange.request_body, 1500)
    )
}

fn excerpt(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(limit).collect();
        format!("{cut}… ({} characters)", text.chars().count())
    }
}

/// The variant the client should have decoded a status into.
fn expected_variant(api: &Api, planned: &Planned, status: u16) -> Option<String> {
    let wiregen::ir::OperationKind::Call(call) = &api.operations[planned.index].kind else {
        return None;
    };
    let TypeKind::Responses(def) = &api.types.get(call.responses).kind else {
        return None;
    };
    let by = |wanted: &dyn Fn(StatusMatch) -> bool| {
        def.cases
            .iter()
            .find(|case| wanted(case.status))
            .map(|case| case.name.unraw().to_owned())
    };
    by(&|s| s == StatusMatch::Code(status))
        .or_else(|| by(&|s| s == StatusMatch::Class(status / 100)))
        .or_else(|| by(&|s| s == StatusMatch::Default))
}

fn judge(
    document: &Prepared,
    lines: &[Value],
    exchanges: &BTreeMap<(String, Option<u16>), Vec<Exchange>>,
) -> Outcome {
    let mut outcome = Outcome {
        requests: 0,
        decoded: 0,
        answered_statically: 0,
        rejected: 0,
        undecoded: 0,
        mock_invalid: 0,
        failures: Vec::new(),
        details: String::new(),
    };
    let mut by_call: BTreeMap<(String, Option<u16>), &Value> = BTreeMap::new();
    let mut build_errors: BTreeMap<String, &Value> = BTreeMap::new();
    for line in lines {
        let tag = line["tag"].as_str().unwrap_or("").to_owned();
        if line.get("build_error").is_some() {
            build_errors.insert(tag, line);
        } else {
            let prefer = line["prefer"].as_u64().map(|p| p as u16);
            by_call.insert((tag, prefer), line);
        }
    }
    let calls = &document.calls;
    let mut mock_failures = Vec::new();
    let mut static_answers = Vec::new();
    for planned in &calls.planned {
        let what = format!("{} ({})", planned.op, planned.route);
        if let Some(line) = build_errors.get(&planned.tag) {
            outcome.failures.push(format!(
                "{what}: the sampled values do not fit the generated request type: {}",
                line["build_error"]
            ));
            continue;
        }
        for prefer in std::iter::once(None).chain(planned.codes.iter().copied().map(Some)) {
            let asked = prefer
                .map(|c| format!(" (Prefer: code={c})"))
                .unwrap_or_default();
            let Some(line) = by_call.get(&(planned.tag.clone(), prefer)) else {
                outcome
                    .failures
                    .push(format!("{what}{asked}: the program printed nothing for it"));
                continue;
            };
            let Some(exchange) = exchanges
                .get(&(planned.tag.clone(), prefer))
                .and_then(|e| e.first())
            else {
                outcome.failures.push(format!(
                    "{what}{asked}: no request reached Prism; the client said: {}",
                    line["error"]
                ));
                continue;
            };
            outcome.requests += 1;
            if let Some(failure) = &exchange.dynamic_failure {
                outcome.answered_statically += 1;
                static_answers.push(format!("{what}{asked}: {}", excerpt(failure, 300)));
            }
            match verdict(exchange) {
                Verdict::Rejected(complaint) => {
                    outcome.rejected += 1;
                    outcome.failures.push(format!(
                        "{what}{asked}: Prism rejected the request: {complaint}\n    the request wiregen sent:\n      {}",
                        describe_request(exchange)
                    ));
                }
                Verdict::MockFailed(detail) => {
                    outcome.mock_invalid += 1;
                    mock_failures.push((
                        planned.op.as_str(),
                        format!("{what}{asked}: {}", excerpt(&detail, 600)),
                    ));
                }
                Verdict::Answered => {
                    let expected = expected_variant(&document.api, planned, exchange.status);
                    match (line["decoded"].as_str(), expected) {
                        (Some(variant), Some(expected)) if variant == expected => {
                            outcome.decoded += 1;
                        }
                        (Some(variant), expected) => {
                            outcome.undecoded += 1;
                            outcome.failures.push(format!(
                                "{what}{asked}: status {} decoded as `{variant}`, expected `{}`",
                                exchange.status,
                                expected
                                    .as_deref()
                                    .unwrap_or("an error (undeclared status)")
                            ));
                        }
                        (None, _) => {
                            outcome.undecoded += 1;
                            outcome.failures.push(format!(
                                "{what}{asked}: the client did not decode Prism's answer: {}\n    status {} {}\n    body: {}",
                                line["error"].as_str().unwrap_or("?"),
                                exchange.status,
                                exchange.response_headers["content-type"].as_str().unwrap_or("(no content type)"),
                                excerpt(&exchange.response_body, 1500)
                            ));
                        }
                    }
                }
            }
        }
    }
    if let Some(tag) = &calls.control {
        let rejected = exchanges
            .get(&(tag.clone(), None))
            .and_then(|e| e.first())
            .map(verdict);
        match rejected {
            Some(Verdict::Rejected(_)) => {}
            _ => outcome.failures.push(
                "the control call (a parameter out of its bounds) was not rejected by Prism: its validation is off, or its complaints are not seen".to_owned(),
            ),
        }
    }
    let mut unanswerable: Vec<&str> = mock_failures.iter().map(|(op, _)| *op).collect();
    unanswerable.dedup();
    if unanswerable != document.document.unanswerable {
        outcome.failures.push(format!(
            "the operations Prism cannot answer are {unanswerable:?}, and the test lists {:?}",
            document.document.unanswerable
        ));
    }
    let operations = calls.planned.len() + calls.skipped.len();
    let skipped: Vec<String> = calls.skipped.iter().map(|s| s.op.clone()).collect();
    if skipped != document.document.skipped {
        outcome.failures.push(format!(
            "the operations not called are {skipped:?}, and the test lists {:?}:\n{}",
            document.document.skipped,
            calls
                .skipped
                .iter()
                .map(|s| format!("  {}: {}", s.op, s.reason))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    let omitted: Vec<String> = calls
        .omitted
        .iter()
        .map(|o| format!("{}: {}", o.op, o.what))
        .collect();
    if omitted != document.document.omitted {
        outcome.failures.push(format!(
            "the request parts left out for Prism are {omitted:?}, and the test lists {:?}",
            document.document.omitted
        ));
    }
    let details = &mut outcome.details;
    let _ = writeln!(
        details,
        "{} plain operations: {} called ({} requests), {} skipped; {} SSE operations out of scope",
        operations,
        calls.planned.len(),
        outcome.requests,
        calls.skipped.len(),
        calls.streams.len()
    );
    for skipped in &calls.skipped {
        let _ = writeln!(details, "- skipped {}: {}", skipped.op, skipped.reason);
    }
    for omitted in &calls.omitted {
        let _ = writeln!(
            details,
            "- left out of {}: {} ({})",
            omitted.op, omitted.what, omitted.reason
        );
    }
    for answer in &static_answers {
        let _ = writeln!(
            details,
            "- answered statically (Prism's dynamic answer violated the document, or Prism failed making it): {answer}"
        );
    }
    for (_, failure) in &mock_failures {
        let _ = writeln!(
            details,
            "- Prism could not answer from the document: {failure}"
        );
    }
    outcome
}
