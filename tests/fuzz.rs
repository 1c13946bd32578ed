//! Loader and lowering fuzzing: no input may panic (STYLE.md habit 1, "Diagnostics, not
//! panics"). Any `Err` is fine; a panic, an `Err` without an error, or generated code that does
//! not parse is a failure.
//!
//! - structural mutations of real specs (delete keys, replace nodes, `$ref`s to anywhere
//!   including the node itself and its ancestors, hostile keys), written as JSON or YAML;
//! - text mutations of the same specs (truncation, flipped bytes, YAML indicators and tabs,
//!   invalid UTF-8);
//! - fixed hostile inputs: alias bombs, deep nesting, huge lines.
//!
//! `WIREGEN_FUZZ_CASES` sets the number of cases per property (default 256) and
//! `WIREGEN_FUZZ_SEED` the random seed (a number, or `random`; default a fixed seed, so CI runs
//! are repeatable). The input of the last failing case is kept under
//! `target/wiregen-fuzz-failures/`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};
use serde_json::{Map, Number, Value};
use wiregen::Settings;
use wiregen::diag::{self, Diagnostic};

/// Specs mutated by the fuzzers: both pet stores, and fixtures covering each dialect.
const SEEDS: &[&str] = &[
    "specs/petstore.openapi.yaml",
    "specs/petstore.asyncapi.yaml",
    "tests/fixtures/openapi30.yaml",
    "tests/fixtures/openapi31.yaml",
    "tests/fixtures/openapi32.yaml",
    "tests/fixtures/asyncapi26.yaml",
    "tests/fixtures/asyncapi30.yaml",
    "tests/fixtures/json_payload.json",
];

fn cases() -> u32 {
    std::env::var("WIREGEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// The default seed: fixed, so that a CI run is repeatable.
const DEFAULT_SEED: u64 = 0x5EED_2026;

fn seed() -> RngSeed {
    match std::env::var("WIREGEN_FUZZ_SEED").ok().as_deref() {
        None => RngSeed::Fixed(DEFAULT_SEED),
        Some("random") => RngSeed::Random,
        Some(n) => RngSeed::Fixed(
            n.parse()
                .expect("WIREGEN_FUZZ_SEED is a number or `random`"),
        ),
    }
}

fn config() -> Config {
    Config {
        cases: cases(),
        rng_seed: seed(),
        // A failure prints its minimal case; nothing is written next to the sources.
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

fn seed_text(index: usize) -> String {
    let path = SEEDS[index % SEEDS.len()];
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("seed {path} is missing: {e}"))
}

/// The seeds as JSON values, parsed with yaml-rust2 (JSON is YAML too).
fn seed_values() -> Vec<Value> {
    (0..SEEDS.len())
        .map(|i| {
            let text = seed_text(i);
            let docs = yaml_rust2::YamlLoader::load_from_str(&text)
                .unwrap_or_else(|e| panic!("seed {} does not parse: {e}", SEEDS[i]));
            yaml_to_json(docs.first().expect("one document"))
        })
        .collect()
}

fn yaml_to_json(yaml: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => "~".to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

/// Run a spec file through `generate` and `lower_all`. Panics propagate (that is the failure
/// being looked for); results that break the API's promises are returned as `Err`.
fn exercise(path: &Path) -> Result<(), String> {
    let specs = [path.to_path_buf()];
    let settings = Settings::default();
    match wiregen::generate(&specs, &settings) {
        Ok(generated) => {
            if generated.diagnostics.iter().any(Diagnostic::is_error) {
                return Err("generate returned Ok with an error".into());
            }
            for file in &generated.files {
                if let Err(e) = syn::parse_file(&file.contents) {
                    return Err(format!(
                        "generated code does not parse: {e}\n{}",
                        file.contents
                    ));
                }
            }
        }
        Err(failure) => check_err(&failure.diagnostics, "generate")?,
    }
    match wiregen::lower_all(&specs, &settings) {
        Ok(lowered) if lowered.diagnostics.iter().any(Diagnostic::is_error) => {
            Err("lower_all returned Ok with an error".into())
        }
        Ok(_) => Ok(()),
        Err(failure) => check_err(&failure.diagnostics, "lower_all"),
    }
}

fn check_err(diagnostics: &[Diagnostic], what: &str) -> Result<(), String> {
    // Rendering must not panic either (odd columns, control characters, long lines).
    let rendered = diag::render(diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        Ok(())
    } else {
        Err(format!("{what} returned Err without an error:\n{rendered}"))
    }
}

// ---- structural mutations -----------------------------------------------------------------

/// A step of a JSON path.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    At(usize),
}

/// Every node's path, in document order (the root first).
fn node_paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(path.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    path.push(Step::Key(k.clone()));
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(Step::At(i));
                    walk(v, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn pointer(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        out.push('/');
        match step {
            Step::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Step::At(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

fn node_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut node = value;
    for step in path {
        node = match (node, step) {
            (Value::Object(map), Step::Key(k)) => map.get_mut(k)?,
            (Value::Array(items), Step::At(i)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Remove the node from its parent.
    Delete(Index),
    /// Replace the node with a random value.
    Replace(Index, Value),
    /// Replace the node with a `$ref` to another node (possibly itself or an ancestor).
    RefTo(Index, Index),
    /// Replace the node with a `$ref` string that resolves badly, or to another file.
    RefText(Index, String),
    /// Rename an object key.
    Rename(Index, String),
    /// Copy one node over another.
    Copy(Index, Index),
}

fn apply(value: &mut Value, mutation: &Mutation) {
    let paths = node_paths(value);
    let pick = |index: &Index| paths[index.index(paths.len())].clone();
    match mutation {
        Mutation::Delete(at) => {
            let path = pick(at);
            let Some((last, parent)) = path.split_last() else {
                *value = Value::Null;
                return;
            };
            match (node_mut(value, parent), last) {
                (Some(Value::Object(map)), Step::Key(k)) => {
                    map.shift_remove(k);
                }
                (Some(Value::Array(items)), Step::At(i)) if *i < items.len() => {
                    items.remove(*i);
                }
                _ => {}
            }
        }
        Mutation::Replace(at, new) => {
            if let Some(node) = node_mut(value, &pick(at)) {
                *node = new.clone();
            }
        }
        Mutation::RefTo(at, target) => {
            let reference = format!("#{}", pointer(&pick(target)));
            if let Some(node) = node_mut(value, &pick(at)) {
                *node = serde_json::json!({ "$ref": reference });
            }
        }
        Mutation::RefText(at, reference) => {
            if let Some(node) = node_mut(value, &pick(at)) {
                *node = serde_json::json!({ "$ref": reference });
            }
        }
        Mutation::Rename(at, key) => {
            let path = pick(at);
            if let Some((Step::Key(old), parent)) = path.split_last()
                && let Some(Value::Object(map)) = node_mut(value, parent)
                && let Some(moved) = map.shift_remove(old)
            {
                map.insert(key.clone(), moved);
            }
        }
        Mutation::Copy(at, from) => {
            let copied = node_mut(value, &pick(from)).map(|v| v.clone());
            if let (Some(copied), Some(node)) = (copied, node_mut(value, &pick(at))) {
                *node = copied;
            }
        }
    }
}

/// Strings that mean something to a spec reader, or to a code generator.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "$ref",
            "#",
            "#/",
            "~",
            "~0~1~2",
            "type",
            "properties",
            "oneOf",
            "allOf",
            "discriminator",
            "items",
            "additionalProperties",
            "text/event-stream",
            "application/json",
            "itemSchema",
            "send",
            "receive",
            "publish",
            "subscribe",
            "3.1.0",
            "2.6.0",
            "null",
            "self",
            "Self",
            "*/ fn pwned() {} /*",
            "\"\\",
            "{id}",
            "/v1/{a}/{b}",
            "a\nb\r\nc\rd",
            "\u{7}\u{1b}\u{202e}",
            "日本",
            "🦀",
            "-1",
            "99999999999999999999999",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,24}",
        Just("x".repeat(5000)),
    ]
}

fn hostile_ref() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "#",
            "#/",
            "#/nope",
            "#/components/schemas/",
            "#/components/schemas/~2",
            "#/%zz",
            "#/paths/~1v1~1pets",
            "spec.json#/components",
            "spec.yaml",
            "./spec.json#",
            "missing.yaml#/a",
            "multi/common.yaml#/components/schemas/User",
            "https://example.com/spec.yaml#/a",
            "file:///nonexistent",
            "../nonexistent/../x.json",
            "#/components/schemas/Pet/properties/id",
            "#/info",
        ])
        .prop_map(str::to_owned),
        "#(/[a-zA-Z0-9~]{0,8}){0,4}",
    ]
}

fn random_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((hostile_string(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), random_value()).prop_map(|(a, v)| Mutation::Replace(a, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::RefTo(a, b)),
        (any::<Index>(), hostile_ref()).prop_map(|(a, r)| Mutation::RefText(a, r)),
        (any::<Index>(), hostile_string()).prop_map(|(a, k)| Mutation::Rename(a, k)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Copy(a, b)),
    ]
}

/// Write `contents` as `spec.<extension>` in a fresh directory and exercise it. A panic becomes
/// an `Err`, and the input is kept as `target/wiregen-fuzz-failures/last-failure.<extension>`
/// (while shrinking, the last failure written is the smallest). What cannot be caught (a stack
/// overflow aborts the process) leaves its input as `target/wiregen-fuzz-failures/current.*`.
fn exercise_text(contents: &[u8], extension: &str) -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix("wiregen-fuzz-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let path: PathBuf = dir.path().join(format!("spec.{extension}"));
    std::fs::write(&path, contents).map_err(|e| format!("write {}: {e}", path.display()))?;
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/wiregen-fuzz-failures");
    let _ = std::fs::create_dir_all(&kept)
        .and_then(|()| std::fs::write(kept.join(format!("current.{extension}")), contents));
    let outcome = match std::panic::catch_unwind(|| exercise(&path)) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("wiregen panicked: {message}"))
        }
    };
    if let Err(problem) = outcome {
        let file = kept.join(format!("last-failure.{extension}"));
        let _ = std::fs::write(&file, contents);
        return Err(format!("{problem}\n(input kept at {})", file.display()));
    }
    Ok(())
}

#[test]
fn structural_mutations_never_panic() {
    let seeds = seed_values();
    let strategy = (
        0..seeds.len(),
        prop::collection::vec(mutation(), 1..6),
        any::<bool>(),
    );
    proptest!(config(), |((seed, mutations, as_yaml) in strategy)| {
        let mut value = seeds[seed].clone();
        for m in &mutations {
            apply(&mut value, m);
        }
        // JSON is valid YAML: a `.yaml` name sends the same text through the YAML reader.
        let text = serde_json::to_string_pretty(&value).expect("a JSON value prints");
        let extension = if as_yaml { "yaml" } else { "json" };
        let outcome = exercise_text(text.as_bytes(), extension);
        prop_assert!(outcome.is_ok(), "{}: {}", SEEDS[seed], outcome.unwrap_err());
    });
}

// ---- text mutations -----------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Edit {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, &'static [u8]),
    Remove(Index, usize),
}

const INSERTS: &[&[u8]] = &[
    b": ",
    b":",
    b"[",
    b"]",
    b"{",
    b"}",
    b"&a ",
    b"*a",
    b"&a [*a, *a, *a]",
    b"<<: *a\n",
    b"!",
    b"!!binary ",
    b"%YAML 1.1\n",
    b"%",
    b"\t",
    b"- ",
    b"? ",
    b"|",
    b">-",
    b"'",
    b"\"",
    b"#",
    b"\n",
    b"\r",
    b"---\n",
    b"...\n",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\xC0\xAF",
    b"\x00",
    b"$ref: '#'",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| Edit::Flip(at, mask)),
        (any::<Index>(), prop::sample::select(INSERTS)).prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<Index>(), 1..64usize).prop_map(|(at, n)| Edit::Remove(at, n)),
    ]
}

fn apply_edit(bytes: &mut Vec<u8>, edit: &Edit) {
    let at = |index: &Index| index.index(bytes.len() + 1);
    match edit {
        Edit::Truncate(i) => {
            let n = at(i);
            bytes.truncate(n);
        }
        Edit::Flip(i, mask) => {
            if !bytes.is_empty() {
                let n = i.index(bytes.len());
                bytes[n] ^= mask;
            }
        }
        Edit::Insert(i, text) => {
            let n = at(i);
            bytes.splice(n..n, text.iter().copied());
        }
        Edit::Remove(i, len) => {
            let n = at(i);
            let end = (n + len).min(bytes.len());
            bytes.drain(n..end);
        }
    }
}

#[test]
fn text_mutations_never_panic() {
    let seeds: Vec<String> = (0..SEEDS.len()).map(seed_text).collect();
    let strategy = (0..seeds.len(), prop::collection::vec(edit(), 1..8));
    proptest!(config(), |((seed, edits) in strategy)| {
        let mut bytes = seeds[seed].clone().into_bytes();
        for e in &edits {
            apply_edit(&mut bytes, e);
        }
        let extension = Path::new(SEEDS[seed]).extension().and_then(|e| e.to_str()).unwrap_or("yaml");
        let outcome = exercise_text(&bytes, extension);
        prop_assert!(outcome.is_ok(), "{}: {}", SEEDS[seed], outcome.unwrap_err());
    });
}

// ---- fixed hostile inputs -----------------------------------------------------------------

/// Exercise `contents` on a thread with a deadline: a hang or a blow-up is a failure too.
fn exercise_bounded(name: &str, contents: Vec<u8>, extension: &'static str) {
    let (done, wait) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = done.send(exercise_text(&contents, extension));
        })
        .expect("spawn");
    match wait.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => panic!("{name}: {problem}"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: still running after 60 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: panicked (see above)"),
    }
}

#[test]
fn alias_bomb_is_bounded() {
    let mut yaml = String::from(
        "openapi: 3.1.0\ninfo: {title: bomb, version: '1'}\nx-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        yaml.push_str(&format!(
            "x-a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    yaml.push_str("paths: {}\n");
    exercise_bounded("alias bomb", yaml.into_bytes(), "yaml");
}

#[test]
fn deep_nesting_is_bounded() {
    let depth = 100_000;
    let yaml = format!(
        "openapi: 3.1.0\ninfo: {{title: deep, version: '1'}}\nx-deep: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    exercise_bounded("deep YAML flow", yaml.into_bytes(), "yaml");
    let json = format!(
        "{{\"openapi\": \"3.1.0\", \"info\": {{\"title\": \"deep\", \"version\": \"1\"}}, \"x-deep\": {}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    exercise_bounded("deep JSON", json.into_bytes(), "json");
}

/// A schema nested through properties, deeper than the lowering's limit, reached from an event
/// stream so that it is lowered.
#[test]
fn deep_schemas_are_bounded() {
    let depth = 400;
    let mut schema = String::from("{\"type\": \"string\"}");
    for _ in 0..depth {
        schema = format!("{{\"type\": \"object\", \"properties\": {{\"a\": {schema}}}}}");
    }
    let json = format!(
        "{{\"openapi\": \"3.1.0\", \"info\": {{\"title\": \"deep\", \"version\": \"1\"}}, \"paths\": {{\"/s\": {{\"get\": {{\"responses\": {{\"200\": {{\"description\": \"d\", \"content\": {{\"text/event-stream\": {{\"schema\": {schema}}}}}}}}}}}}}}}}}"
    );
    exercise_bounded("deep schema", json.into_bytes(), "json");
}

/// Found by the structural fuzzer: a channel that is not an object shifted the indices of the
/// channels after it.
#[test]
fn a_channel_that_is_not_an_object_is_reported() {
    let yaml = "asyncapi: 3.0.0
info: {title: t, version: '1'}
channels:
  broken: 42
  chat:
    address: /chat
    messages:
      hello:
        payload: {type: object, properties: {type: {const: hello}}}
operations:
  receiveHello:
    action: receive
    channel:
      $ref: '#/channels/chat'
";
    exercise_bounded(
        "a channel that is a number",
        yaml.as_bytes().to_vec(),
        "yaml",
    );
}

#[test]
fn huge_lines_and_odd_bytes_are_handled() {
    let long = "x".repeat(2_000_000);
    let yaml = format!(
        "openapi: 3.1.0\ninfo: {{title: '{long}', version: '1'}}\npaths: {{}}\n\u{7f}\u{1b}[31m: red\n"
    );
    exercise_bounded("huge line", yaml.into_bytes(), "yaml");
    exercise_bounded("empty file", Vec::new(), "yaml");
    exercise_bounded("only a BOM", b"\xEF\xBB\xBF".to_vec(), "json");
    exercise_bounded("NUL bytes", b"openapi: 3.1.0\x00\x00\n".to_vec(), "yaml");
    exercise_bounded("UTF-16", b"\xFF\xFEo\x00p\x00".to_vec(), "yaml");
}
