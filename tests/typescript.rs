//! The TypeScript output (`--lang typescript`), held to what a TypeScript user relies on:
//!
//! - every document that generates Rust also generates TypeScript that passes
//!   `tsc --strict --noEmit` (npm `typescript`, pinned in `tests/peers/package.json`) with the
//!   unused-code checks on: the pet store, the hostile fixtures, `typescript_names.yaml` (names
//!   TypeScript gives a meaning to) and every corpus document, in one `tsc` run;
//! - the pet store's unions are real discriminated unions: `tests/ts/petstore-usage.ts` narrows
//!   them exhaustively (a `never` check per `switch`) and compiles against the generated module;
//! - nothing planted in a spec becomes code: the TypeScript scanner lists every identifier of
//!   the hostile output, and no marker is among them;
//! - the output is the same bytes from two processes;
//! - channels that share one socket get one working client (the Kraken document, against a
//!   `ws` server).

#[path = "peers/harness.rs"]
mod peers;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wiregen::{Lang, Settings};

const PETSTORE: &[&str] = &[
    "specs/petstore.openapi.yaml",
    "specs/petstore.asyncapi.yaml",
];
const HOSTILE: &[&str] = &[
    "tests/fixtures/hostile.yaml",
    "tests/fixtures/hostile_asyncapi.yaml",
];
/// Names TypeScript gives a meaning to: keywords, the globals generated code uses (`Promise`,
/// `Headers`, `Uint8Array`, …), parameters that share a wire name, a parameter called `body`.
const NAMES: &str = "tests/fixtures/typescript_names.yaml";
/// The code the hostile fixtures plant in names and descriptions (`fn pwned() {}`,
/// `fn injected_quote() {`, …). A property really named `injected` is a wire name, not a marker.
const MARKERS: &[&str] = &[
    "pwned",
    "injected_quote",
    "injected_attr",
    "injected_brace",
    "injected_title",
    "injected_event",
];

fn settings() -> Settings {
    Settings {
        lang: Lang::TypeScript,
        ..Settings::default()
    }
}

/// Generate `specs` into `dir` (emptied first); `None` when they do not generate.
fn generate_into(specs: &[PathBuf], dir: &Path) -> Option<Vec<PathBuf>> {
    let generated = wiregen::generate(specs, &settings()).ok()?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the output directory");
    let mut paths = Vec::new();
    for file in &generated.files {
        let path = dir.join(&file.path);
        std::fs::write(&path, &file.contents).expect("write a generated file");
        paths.push(path);
    }
    Some(paths)
}

fn scratch(name: &str) -> PathBuf {
    peers::repo_root()
        .join("target")
        .join("wiregen-typescript")
        .join(name)
}

/// `node tests/peers/node_modules/typescript/bin/tsc <args>`, with a deadline.
fn tsc(args: &[&str]) -> peers::Finished {
    let mut command = Command::new("node");
    command
        .arg(
            peers::peers_dir()
                .join("node_modules")
                .join("typescript")
                .join("bin")
                .join("tsc"),
        )
        .args(args)
        .current_dir(peers::repo_root());
    peers::run(command, Duration::from_secs(300))
}

/// A `tsconfig.json` in `dir` checking `files` as strictly as a demanding project does: `strict`,
/// the unused-code checks, and the options that change what a well-typed module may write
/// (`exactOptionalPropertyTypes`, `noUncheckedIndexedAccess`, `verbatimModuleSyntax`, …), and
/// `erasableSyntaxOnly`, so runtimes that strip types (Node's type stripping) run them as they are.
fn write_tsconfig(dir: &Path, files: &[PathBuf]) -> PathBuf {
    let files: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string())
        .collect();
    let config = serde_json::json!({
        "compilerOptions": {
            "strict": true,
            "noEmit": true,
            "noUnusedLocals": true,
            "noUnusedParameters": true,
            "noImplicitReturns": true,
            "noFallthroughCasesInSwitch": true,
            "noImplicitOverride": true,
            "exactOptionalPropertyTypes": true,
            "noUncheckedIndexedAccess": true,
            "noPropertyAccessFromIndexSignature": true,
            "isolatedModules": true,
            "verbatimModuleSyntax": true,
            "erasableSyntaxOnly": true,
            "target": "ES2022",
            "module": "ES2022",
            "moduleResolution": "bundler",
            "lib": ["ES2022", "DOM"],
            "types": [],
            "skipLibCheck": false
        },
        "files": files,
    });
    let path = dir.join("tsconfig.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).expect("json"))
        .expect("write tsconfig.json");
    path
}

/// Every root document of the shared corpus (as `tests/corpus.rs` lists them: `common/` and
/// `licenses/` hold no root documents).
fn corpus_documents() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "licenses" && name != "common" {
                    walk(&path, out);
                }
            } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
                out.push(path);
            }
        }
    }
    let corpus = peers::repo_root().join("..").join("shared").join("corpus");
    assert!(
        corpus.is_dir(),
        "the corpus is missing at {}",
        corpus.display()
    );
    let mut out = Vec::new();
    walk(&corpus, &mut out);
    out
}

#[test]
fn typescript_output_compiles_strict() {
    peers::require(&[peers::Need::Node]);
    let root = scratch("strict");
    let _ = std::fs::remove_dir_all(&root);
    let mut files = Vec::new();
    let petstore: Vec<PathBuf> = PETSTORE.iter().map(PathBuf::from).collect();
    let store = root.join("petstore");
    files.extend(generate_into(&petstore, &store).expect("the pet store generates"));
    // The usage file imports the generated modules from the directory it is copied into.
    let usage = store.join("petstore-usage.ts");
    std::fs::copy("tests/ts/petstore-usage.ts", &usage).expect("copy the usage file");
    files.push(usage);
    for (i, hostile) in HOSTILE.iter().chain([&NAMES]).enumerate() {
        let dir = root.join(format!("hostile{i}"));
        files.extend(
            generate_into(&[PathBuf::from(hostile)], &dir).expect("a hostile fixture generates"),
        );
    }
    let mut generated = 0;
    let mut refused = Vec::new();
    for (i, document) in corpus_documents().into_iter().enumerate() {
        let dir = root.join(format!("corpus{i:02}"));
        match generate_into(std::slice::from_ref(&document), &dir) {
            Some(paths) => {
                generated += 1;
                files.extend(paths);
            }
            None => {
                // The same front end as the Rust output: a document refused here is refused
                // there too (tests/corpus.rs holds those to their diagnostics).
                let rust = wiregen::generate(std::slice::from_ref(&document), &Settings::default());
                assert!(
                    rust.is_err(),
                    "{} generates Rust but not TypeScript",
                    document.display()
                );
                refused.push(document);
            }
        }
    }
    assert!(
        generated >= 20,
        "only {generated} corpus documents generated"
    );
    let config = write_tsconfig(&root, &files);
    let started = std::time::Instant::now();
    let finished = tsc(&["-p", &config.display().to_string()]);
    println!(
        "tsc --strict: {} files ({generated} corpus documents, {} refused by both outputs) in {:.1} s",
        files.len(),
        refused.len(),
        started.elapsed().as_secs_f64()
    );
    finished.assert_success();
}

#[test]
fn hostile_specs_inject_no_code() {
    peers::require(&[peers::Need::Node]);
    for (i, hostile) in HOSTILE.iter().enumerate() {
        let dir = scratch(&format!("hostile-scan{i}"));
        let files =
            generate_into(&[PathBuf::from(hostile)], &dir).expect("a hostile fixture generates");
        let mut command = peers::node("../ts/identifiers.mjs");
        command.args(files.iter().map(|f| f.display().to_string()));
        let finished = peers::run(command, Duration::from_secs(60));
        finished.assert_success();
        let identifiers: BTreeSet<String> = finished
            .json_lines()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        assert!(
            identifiers.len() > 20,
            "{hostile}: the scan found too little: {identifiers:?}"
        );
        for marker in MARKERS {
            let planted: Vec<&String> = identifiers.iter().filter(|i| i.contains(marker)).collect();
            assert!(
                planted.is_empty(),
                "{hostile}: `{marker}` became code: {planted:?}"
            );
        }
        // The markers did reach the output, as text.
        let text: String = files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("read"))
            .collect();
        assert!(
            text.contains("pwned"),
            "{hostile}: the descriptions were dropped"
        );
        let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !text.contains(bidi),
            "{hostile}: a bidirectional control reached the output"
        );
    }
}

#[test]
fn typescript_output_is_deterministic_across_processes() {
    let exe = env!("CARGO_BIN_EXE_wiregen");
    let mut outputs = Vec::new();
    for run in 0..2 {
        let dir = scratch(&format!("determinism{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let output = Command::new(exe)
            .arg("generate")
            .args(PETSTORE)
            .args(HOSTILE)
            .args(["--lang", "typescript", "--out"])
            .arg(&dir)
            .output()
            .expect("run wiregen");
        assert!(output.status.success(), "{output:?}");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("read the output") {
            let path = entry.expect("an entry").path();
            files.push((
                path.file_name().expect("a name").to_owned(),
                std::fs::read(&path).expect("read"),
            ));
        }
        files.sort();
        outputs.push(files);
    }
    assert_eq!(outputs[0].len(), 5, "four modules and the runtime");
    assert!(outputs[0] == outputs[1], "two runs wrote different bytes");
}

#[test]
fn rust_only_flags_are_refused_with_typescript() {
    let exe = env!("CARGO_BIN_EXE_wiregen");
    for flag in [&["--crate", "x"][..], &["--no-client"], &["--derive", "Eq"]] {
        let output = Command::new(exe)
            .arg("generate")
            .args(PETSTORE)
            .args(["--lang", "typescript", "--out"])
            .arg(scratch("refused"))
            .args(flag)
            .output()
            .expect("run wiregen");
        assert_eq!(output.status.code(), Some(2), "{flag:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("does not apply to --lang typescript"),
            "{stderr}"
        );
    }
}

/// The runtime's own tests (`tests/ts/runtime.test.mjs`, `node:test`): the WHATWG parser table
/// of `runtime/tests/sse_cases.json` (the one the Rust parser and Chromium run), streams, calls
/// and WebSockets against real servers on 127.0.0.1.
#[test]
fn runtime_node_tests_pass() {
    peers::require(&[peers::Need::Node]);
    let mut command = Command::new("node");
    command
        .args(["--test", "--test-reporter=tap", "tests/ts/runtime.test.mjs"])
        .current_dir(peers::repo_root());
    let finished = peers::run(command, Duration::from_secs(180));
    finished.assert_success();
    let transcript = finished.transcript();
    let count = |label: &str| -> usize {
        transcript
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{transcript}"))
    };
    assert_eq!(count("# fail "), 0, "{transcript}");
    assert!(
        count("# pass ") >= 30,
        "too few runtime tests ran:\n{transcript}"
    );
}

/// Channels that share one socket get one client: the Kraken document's, compiled with the
/// pinned `tsc`, against a `ws` server that sends a frame of each of its channels
/// (`tests/ts/socket-client.mjs`): each decoded as that channel's message, an unknown tag as an
/// `unknown` item, a frame that is not JSON as `malformed`, and a sent message as its JSON.
#[test]
fn a_shared_socket_has_one_client() {
    peers::require(&[peers::Need::Node]);
    let document = corpus_documents()
        .into_iter()
        .find(|d| {
            d.file_name().and_then(|n| n.to_str())
                == Some("kraken-websocket-request-reply-multiple-channels-asyncapi.yml")
        })
        .expect("the corpus has the Kraken document whose channels share a socket");
    let dir = scratch("socket");
    let files = generate_into(&[document], &dir).expect("the Kraken document generates");
    let module = files
        .iter()
        .find(|f| f.file_name().is_some_and(|n| n != "wiregen-runtime.ts"))
        .expect("a module");
    let out = dir.join("js");
    let mut args = vec![
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
    ];
    let out_text = out.display().to_string();
    let module_text = module.display().to_string();
    args.extend([out_text.as_str(), module_text.as_str()]);
    tsc(&args).assert_success();
    std::fs::write(out.join("package.json"), r#"{"type": "module"}"#).expect("package.json");
    let compiled = out.join(
        module
            .with_extension("js")
            .file_name()
            .expect("a file name"),
    );
    let mut command = peers::node("../ts/socket-client.mjs");
    command.arg(&compiled);
    let finished = peers::run(command, Duration::from_secs(60));
    finished.assert_success();
    let lines = finished.json_lines();
    assert_eq!(lines.len(), 1, "{}", finished.transcript());
    assert_eq!(lines[0]["ok"], true, "{}", finished.transcript());
}
