//! Real-world specs: every root document of the shared corpus (`../shared/corpus/`, next to the
//! repository) is generated with the outcome this table expects, and all generated code is
//! compiled and linted together in a standalone crate under `target/` (the code contains the
//! documents' prose, so it is never written anywhere that could be committed).
//!
//! The test prints a table of what each document produced; the README quotes it. Run it with
//! `cargo test --test corpus -- --nocapture` to see it.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use wiregen::diag::{self, Severity};
use wiregen::{Generated, Settings};

/// Where the corpus is, relative to the repository root (the tests' working directory).
const CORPUS: &str = "../shared/corpus";

/// What a document must produce.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Code, possibly with warnings.
    Generates,
    /// Errors, one of whose rendered text contains this.
    Diagnostic(&'static str),
}

use Expect::{Diagnostic, Generates};

/// Every root document of the corpus, relative to [`CORPUS`]. `common/*.yaml` of the
/// social-media example are only reached through `$ref`s, and `licenses/`, `PROVENANCE.md` and
/// `SHA256SUMS` are not specs.
const DOCUMENTS: &[(&str, Expect)] = &[
    (
        "asyncapi/asyncapi-spec/gitter-streaming-asyncapi.yml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/kraken-websocket-request-reply-message-filter-in-reply-asyncapi.yml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/kraken-websocket-request-reply-multiple-channels-asyncapi.yml",
        Generates,
    ),
    ("asyncapi/asyncapi-spec/mercure-asyncapi.yml", Generates),
    ("asyncapi/asyncapi-spec/slack-rtm-asyncapi.yml", Generates),
    (
        "asyncapi/asyncapi-spec/social-media/backend/asyncapi.yaml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/social-media/comments-service/asyncapi.yaml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/social-media/frontend/asyncapi.yaml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/social-media/notification-service/asyncapi.yaml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/social-media/public-api/asyncapi.yaml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/v2.6/gitter-streaming.yml",
        Generates,
    ),
    ("asyncapi/asyncapi-spec/v2.6/mercure.yml", Generates),
    ("asyncapi/asyncapi-spec/v2.6/slack-rtm.yml", Generates),
    (
        "asyncapi/asyncapi-spec/v2.6/websocket-gemini.yml",
        Generates,
    ),
    (
        "asyncapi/asyncapi-spec/websocket-gemini-asyncapi.yml",
        Generates,
    ),
    ("asyncapi/deepgram/asyncapi.yml", Generates),
    ("asyncapi/firezone/asyncapi.yml", Generates),
    ("asyncapi/speechmatics/realtime.yml", Generates),
    ("openapi/agent-protocol/openapi.json", Generates),
    ("openapi/controls/ollama/openapi.yaml", Generates),
    ("openapi/kserve-oip/generate_rest.yaml", Generates),
    ("openapi/letta/openapi.json", Generates),
    (
        "openapi/oai-3.2-fixture/media-type-examples.yaml",
        Generates,
    ),
    ("openapi/openai/openapi.yaml", Generates),
    ("openapi/openrouter/in.openapi.yaml", Generates),
    ("openapi/private-gpt/openapi.json", Generates),
    ("openapi/tgi/openapi.json", Generates),
    ("openapi/wikimedia-eventstreams/spec.yaml", Generates),
];

fn corpus_dir() -> &'static Path {
    let dir = Path::new(CORPUS);
    assert!(
        dir.is_dir(),
        "the corpus is missing: looked for {} (that is {}); it must sit next to the repository",
        CORPUS,
        std::env::current_dir()
            .map(|d| d.join(CORPUS).display().to_string())
            .unwrap_or_default()
    );
    dir
}

#[test]
fn the_table_lists_every_root_document() {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "licenses" && name != "common" {
                    walk(&path, out);
                }
            } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
                let relative = path.strip_prefix(CORPUS).expect("under the corpus");
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(corpus_dir(), &mut found);
    let listed: BTreeSet<String> = DOCUMENTS.iter().map(|(d, _)| (*d).to_owned()).collect();
    assert_eq!(listed.len(), DOCUMENTS.len(), "a document is listed twice");
    let missing: Vec<_> = found.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&found).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the corpus and the table disagree\n  in the corpus, not in the table: {missing:?}\n  in the table, not in the corpus: {extra:?}"
    );
}

/// One row of the printed table.
struct Row {
    document: &'static str,
    outcome: String,
    sse: usize,
    channels: usize,
    types: usize,
    warnings: usize,
    millis: u128,
    /// Plain operations (each with a server method and a client call).
    calls: usize,
}

#[test]
fn corpus_generates_as_expected_and_compiles() {
    let corpus = corpus_dir();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut apis = Vec::new();
    let mut files = Vec::new();
    let mut module_names = BTreeSet::new();
    for &(document, expect) in DOCUMENTS {
        let path = corpus.join(document);
        if !path.is_file() {
            failures.push(format!(
                "{document}: missing (looked at {})",
                path.display()
            ));
            continue;
        }
        let (row, generated) = check_document(document, &path, expect, &mut failures);
        rows.push(row);
        let Some(generated) = generated else { continue };
        for (api, file) in generated.apis.into_iter().zip(generated.files) {
            let name = api.module.rust.unraw().to_owned();
            if module_names.insert(name.clone()) {
                apis.push(api);
                files.push(file);
            } else {
                failures.push(format!("{document}: module `{name}` is generated twice"));
            }
        }
    }
    println!("{}", table(&rows));
    assert!(
        failures.is_empty(),
        "{} corpus failure(s):\n\n{}\n\n{}",
        failures.len(),
        failures.join("\n\n"),
        table(&rows)
    );
    assert!(!files.is_empty(), "no corpus document generated code");
    if let Err(output) = common::clippy_check_crate("wiregen-corpus-check", &apis, &files) {
        panic!("the generated corpus code does not build cleanly:\n{output}");
    }
}

/// Generate one document and hold it to its expectation: failures are pushed, and the code is
/// returned when it generated as expected.
fn check_document(
    document: &'static str,
    path: &Path,
    expect: Expect,
    failures: &mut Vec<String>,
) -> (Row, Option<Generated>) {
    let started = Instant::now();
    let result = wiregen::generate(&[path.to_path_buf()], &Settings::default());
    let mut row = Row {
        document,
        outcome: String::new(),
        sse: 0,
        calls: 0,
        channels: 0,
        types: 0,
        warnings: 0,
        millis: started.elapsed().as_millis(),
    };
    match (result, expect) {
        (Ok(generated), Generates) => {
            summarise(&generated, &mut row);
            row.outcome = "generates".into();
            return (row, Some(generated));
        }
        (Ok(generated), Diagnostic(wanted)) => {
            summarise(&generated, &mut row);
            row.outcome = "generates (unexpected)".into();
            failures.push(format!(
                "{document}: expected an error mentioning {wanted:?}, but it generated; diagnostics:\n{}",
                diag::render(&generated.diagnostics)
            ));
        }
        (Err(wiregen::Failure { diagnostics, .. }), expect) => {
            let rendered = diag::render(&diagnostics);
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            row.warnings = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count();
            row.outcome = format!("{errors} error(s)");
            match expect {
                Generates => failures.push(format!("{document}: generation failed:\n{rendered}")),
                Diagnostic(wanted) if !rendered.contains(wanted) => failures.push(format!(
                    "{document}: expected an error mentioning {wanted:?}, got:\n{rendered}"
                )),
                Diagnostic(_) => {}
            }
            for error in diagnostics.iter().filter(|d| d.is_error()) {
                if error.location.is_none() {
                    failures.push(format!(
                        "{document}: an error without file:line:col:\n{error}"
                    ));
                }
            }
        }
    }
    (row, None)
}

/// The harness itself: an expected diagnostic passes, a wrong expectation fails (checked on
/// fixtures, since no corpus document is expected to fail today).
#[test]
fn expectations_are_enforced() {
    let bad = Path::new("tests/fixtures/bad_swagger2.yaml");
    let good = Path::new("tests/fixtures/openapi31.yaml");
    let run = |path: &Path, expect| {
        let mut failures = Vec::new();
        let (row, generated) = check_document("fixture", path, expect, &mut failures);
        (row, generated.is_some(), failures)
    };
    let (row, generated, failures) = run(bad, Diagnostic("Swagger"));
    assert!(failures.is_empty() && !generated, "{failures:?}");
    assert_eq!(row.outcome, "1 error(s)");
    let (_, _, failures) = run(bad, Diagnostic("a message nobody writes"));
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (_, _, failures) = run(bad, Generates);
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (row, generated, failures) = run(good, Generates);
    assert!(failures.is_empty() && generated, "{failures:?}");
    assert!(
        row.sse > 0 && row.types > 0,
        "the summary counts endpoints and types"
    );
    let (_, generated, failures) = run(good, Diagnostic("anything"));
    assert!(!generated && failures.len() == 1, "{failures:?}");
}

fn summarise(generated: &Generated, row: &mut Row) {
    row.sse = generated.apis.iter().map(|a| a.streams().count()).sum();
    row.calls = generated.apis.iter().map(|a| a.calls().count()).sum();
    row.channels = generated.apis.iter().map(|a| a.channels.len()).sum();
    row.types = generated.apis.iter().map(|a| a.types.defs.len()).sum();
    row.warnings = generated
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
}

/// A Markdown table of the rows.
fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| document | outcome | operations | SSE endpoints | channels | types | warnings | ms |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let Row {
            document,
            outcome,
            sse,
            calls,
            channels,
            types,
            warnings,
            millis,
        } = row;
        let _ = writeln!(
            out,
            "| {document} | {outcome} | {calls} | {sse} | {channels} | {types} | {warnings} | {millis} |"
        );
    }
    out
}
