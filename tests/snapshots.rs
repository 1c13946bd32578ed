//! Layers (a) and (b) of the tests (STYLE.md, "Three layers of tests").
//!
//! Every fixture spec in `tests/fixtures/` (top level only: `*.yaml`, `*.yml`, `*.json`) and the
//! two pet store specs are generated and compared with their snapshots in `tests/snapshots/`:
//! `<stem>.rs`, the generated code, when generation succeeds, and `<stem>.diag`, the rendered
//! diagnostics (warnings included, empty when there are none), always. The snapshot crate's
//! `src/lib.rs` is generated here too: it compiles every `.rs` snapshot under
//! `#![deny(warnings)]` and has one round-trip test per example value in the IR.
//!
//! A missing, different or stale snapshot fails with a unified diff;
//! `WIREGEN_BLESS=1 cargo test --test snapshots` (re)writes them.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use wiregen::diag::{self, Diagnostic, Severity};
use wiregen::emit::RuntimeDep;
use wiregen::ir::{Api, Payload, Scalar, TypeId, TypeKind, TypeRef, UnionRepr};
use wiregen::names::{self, Case, Namespace};
use wiregen::{Generated, Settings};

const FIXTURES: &str = "tests/fixtures";
const SNAPSHOTS: &str = "tests/snapshots";
const CRATE_LIB: &str = "tests/snapshot-crate/src/lib.rs";

/// Snapshot inputs besides the fixtures: (stem, path).
const EXTRA_INPUTS: &[(&str, &str)] = &[
    ("petstore_openapi", "specs/petstore.openapi.yaml"),
    ("petstore_asyncapi", "specs/petstore.asyncapi.yaml"),
];

/// Fixtures whose name starts with this must fail with located errors; all others must generate.
const BAD_PREFIX: &str = "bad_";

/// One spec to snapshot.
struct Input {
    /// Snapshot file stem and module name in the snapshot crate.
    stem: String,
    /// Relative to the repository root, which is the tests' working directory.
    path: PathBuf,
}

/// The fixtures, sorted, then the extra inputs. Missing inputs are failures.
fn inputs() -> Vec<Input> {
    let entries = fs::read_dir(FIXTURES).unwrap_or_else(|e| {
        panic!(
            "cannot read {FIXTURES}/ from {}: {e}",
            std::env::current_dir().unwrap_or_default().display()
        )
    });
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !path.is_file() || !matches!(extension, "yaml" | "yml" | "json") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_else(|| panic!("{} has no UTF-8 stem", path.display()))
            .to_owned();
        found.push(Input { stem, path });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(!found.is_empty(), "no fixtures in {FIXTURES}/");
    for (stem, path) in EXTRA_INPUTS {
        assert!(
            Path::new(path).is_file(),
            "snapshot input {path} is missing"
        );
        found.push(Input {
            stem: (*stem).to_owned(),
            path: PathBuf::from(path),
        });
    }
    let mut stems = BTreeSet::new();
    for input in &found {
        assert!(
            stems.insert(input.stem.clone()),
            "two inputs share the snapshot stem `{}`",
            input.stem
        );
        assert_eq!(
            names::ident(&input.stem, Case::Snake).as_str(),
            input.stem,
            "{}: snapshot stems are module names, so they must be snake_case identifiers",
            input.path.display()
        );
    }
    found
}

fn generate(input: &Input) -> Result<Generated, Vec<Diagnostic>> {
    wiregen::generate(std::slice::from_ref(&input.path), &Settings::default())
        .map_err(|failure| failure.diagnostics)
}

/// The one generated file of a single-spec generation.
fn only_file<'g>(input: &Input, generated: &'g Generated) -> &'g str {
    match generated.files.as_slice() {
        [file] => &file.contents,
        files => panic!(
            "{}: expected one generated file, got {}",
            input.path.display(),
            files.len()
        ),
    }
}

#[test]
fn snapshots_match() {
    let bless = common::blessing();
    let inputs = inputs();
    let mut expected: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut generated = Vec::new();
    for input in &inputs {
        let snapshot = |ext: &str| Path::new(SNAPSHOTS).join(format!("{}.{ext}", input.stem));
        match generate(input) {
            Ok(g) => {
                expected.insert(snapshot("rs"), only_file(input, &g).to_owned());
                expected.insert(snapshot("diag"), diag::render(&g.diagnostics));
                generated.push((input, g));
            }
            Err(diagnostics) => {
                expected.insert(snapshot("diag"), diag::render(&diagnostics));
            }
        }
    }
    expected.insert(PathBuf::from(CRATE_LIB), snapshot_crate_lib(&generated));

    let mut failures = Vec::new();
    if bless {
        fs::create_dir_all(SNAPSHOTS).expect("create tests/snapshots");
    }
    for (path, contents) in &expected {
        if let Some(failure) = compare_or_bless(path, contents, bless) {
            failures.push(failure);
        }
    }
    // Stale snapshots: files no input produces.
    match fs::read_dir(SNAPSHOTS) {
        Ok(entries) => {
            let mut stale: Vec<PathBuf> = entries
                .map(|e| e.expect("a directory entry").path())
                .filter(|p| !expected.contains_key(p))
                .collect();
            stale.sort();
            for path in stale {
                if bless && path.is_file() {
                    fs::remove_file(&path)
                        .unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
                } else {
                    failures.push(format!(
                        "{} is stale: no input produces it (delete it, or run with {}=1)",
                        path.display(),
                        common::BLESS_VAR
                    ));
                }
            }
        }
        Err(e) => failures.push(format!("cannot read {SNAPSHOTS}/: {e}")),
    }
    assert!(
        failures.is_empty(),
        "{} snapshot problem(s):\n\n{}\n\nIf the new output is right, run `{}=1 cargo test --test snapshots` and review the diff.",
        failures.len(),
        failures.join("\n"),
        common::BLESS_VAR
    );
}

/// Compare a snapshot with what it should contain, or (blessing) write it. A failure message
/// with a unified diff, or `None`.
fn compare_or_bless(path: &Path, contents: &str, bless: bool) -> Option<String> {
    let on_disk = fs::read_to_string(path).ok();
    if on_disk.as_deref() == Some(contents) {
        return None;
    }
    if bless {
        fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return None;
    }
    let shown = path.to_string_lossy().replace('\\', "/");
    Some(match on_disk {
        None => format!("{shown} is missing (new snapshot)"),
        Some(old) => format!(
            "{shown} differs:\n{}",
            common::unified_diff(&old, contents, &shown)
        ),
    })
}

#[test]
fn fixture_outcomes() {
    let mut failures = Vec::new();
    for input in inputs() {
        let shown = input.path.display().to_string();
        let first = generate(&input);
        let second = generate(&input);
        match (&first, &second) {
            (Ok(a), Ok(b)) => {
                if a.files != b.files || a.diagnostics != b.diagnostics {
                    failures.push(format!("{shown}: two generations differ"));
                }
            }
            (Err(a), Err(b)) => {
                if a != b {
                    failures.push(format!("{shown}: two runs report different diagnostics"));
                }
            }
            _ => failures.push(format!("{shown}: one run failed and the other did not")),
        }
        let bad = input.stem.starts_with(BAD_PREFIX);
        match first {
            Ok(g) if bad => failures.push(format!(
                "{shown}: a bad spec generated code; diagnostics:\n{}",
                diag::render(&g.diagnostics)
            )),
            Ok(g) => {
                if g.diagnostics.iter().any(Diagnostic::is_error) {
                    failures.push(format!("{shown}: Ok with an error among its diagnostics"));
                }
                if g.apis.len() != 1 || g.files.len() != 1 {
                    failures.push(format!(
                        "{shown}: {} APIs and {} files for one spec",
                        g.apis.len(),
                        g.files.len()
                    ));
                }
                if !g.inputs.iter().any(|p| p == &input.path) {
                    failures.push(format!(
                        "{shown}: not listed in its own inputs {:?}",
                        g.inputs
                    ));
                }
            }
            Err(diagnostics) if !bad => failures.push(format!(
                "{shown}: generation failed:\n{}",
                diag::render(&diagnostics)
            )),
            Err(diagnostics) => check_bad_spec(&shown, &diagnostics, &mut failures),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A bad spec: at least one error, every error located, all sorted by place.
fn check_bad_spec(shown: &str, diagnostics: &[Diagnostic], failures: &mut Vec<String>) {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    if errors.is_empty() {
        failures.push(format!("{shown}: Err without an error"));
    }
    for error in &errors {
        if error.location.is_none() {
            failures.push(format!("{shown}: error without a location:\n{error}"));
        }
    }
    let places: Vec<(String, u32, u32)> = diagnostics
        .iter()
        .filter_map(|d| d.location.as_ref())
        .map(|l| (l.file.clone(), l.line, l.column))
        .collect();
    if places.windows(2).any(|w| w[0] > w[1]) {
        failures.push(format!(
            "{shown}: diagnostics are not sorted by place: {places:?}"
        ));
    }
    if places
        .iter()
        .any(|(file, _, _)| Path::new(file).is_absolute())
    {
        failures.push(format!(
            "{shown}: a diagnostic names an absolute path: {places:?}"
        ));
    }
}

#[test]
fn several_errors_are_reported_at_once() {
    let input = Input {
        stem: "bad_many_errors".into(),
        path: PathBuf::from(FIXTURES).join("bad_many_errors.yaml"),
    };
    let diagnostics = generate(&input).expect_err("bad_many_errors.yaml must fail");
    let lines: BTreeSet<u32> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter_map(|d| d.location.as_ref().map(|l| l.line))
        .collect();
    // A parameter without a name (line 11), `in: body` (15), two dangling references (24, 38)
    // and a property schema that is a number (36).
    assert!(
        lines.len() >= 4,
        "expected errors on at least four different lines, got {lines:?}:\n{}",
        diag::render(&diagnostics)
    );
}

#[test]
fn multi_file_inputs_are_listed() {
    let input = Input {
        stem: "asyncapi31_multi".into(),
        path: PathBuf::from(FIXTURES).join("asyncapi31_multi.yaml"),
    };
    let generated = generate(&input).unwrap_or_else(|d| panic!("{}", diag::render(&d)));
    let common = Path::new(FIXTURES).join("multi").join("common.yaml");
    let normalised: Vec<PathBuf> = generated
        .inputs
        .iter()
        .map(|p| p.components().collect::<PathBuf>())
        .collect();
    assert!(
        normalised
            .iter()
            .any(|p| p == &common || p.ends_with("multi/common.yaml")),
        "{} is not among the inputs {:?} (build scripts would miss changes to it)",
        common.display(),
        generated.inputs
    );
}

// ---- the snapshot crate ---------------------------------------------------------------------

const CRATE_MANIFEST: &str = "tests/snapshot-crate/Cargo.toml";

/// The snapshot crate's hand-written `Cargo.toml` has every dependency, with every feature,
/// that wiregen's `--crate` output would list for the snapshots.
#[test]
fn snapshot_crate_manifest_covers_generated_code() {
    let mut apis = Vec::new();
    let mut files = Vec::new();
    for input in inputs() {
        if let Ok(mut g) = generate(&input) {
            apis.append(&mut g.apis);
            files.append(&mut g.files);
        }
    }
    let runtime = RuntimeDep::Path("../../runtime".into());
    let laid_out = wiregen::emit::crate_files(&apis, &files, "wiregen-snapshots", &runtime)
        .unwrap_or_else(|d| panic!("{d}"));
    let wanted = &laid_out
        .iter()
        .find(|f| f.path == Path::new("Cargo.toml"))
        .expect("a Cargo.toml")
        .contents;
    let have = fs::read_to_string(CRATE_MANIFEST).expect("the snapshot crate's manifest");
    let have = dependencies(&have);
    let mut missing = Vec::new();
    for (name, features) in dependencies(wanted) {
        match have.iter().find(|(n, _)| *n == name) {
            None => missing.push(format!("dependency `{name}`")),
            Some((_, present)) => missing.extend(
                features
                    .iter()
                    .filter(|f| !present.contains(f))
                    .map(|f| format!("feature `{f}` of `{name}`")),
            ),
        }
    }
    assert!(
        missing.is_empty(),
        "{CRATE_MANIFEST} lacks {}; the generated code needs:\n{wanted}",
        missing.join(", ")
    );
}

/// `[dependencies]` of a manifest written one dependency per line: (name, features).
fn dependencies(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        let Some((name, spec)) = line.split_once('=').filter(|_| in_dependencies) else {
            continue;
        };
        let features = spec
            .split_once("features = [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| {
                list.split(',')
                    .map(|f| f.trim().trim_matches('"').to_owned())
                    .filter(|f| !f.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        out.push((name.trim().to_owned(), features));
    }
    out
}

/// One round-trip test: its name, the Rust type, and the example as JSON text.
struct RoundTrip {
    test: String,
    ty: String,
    json: String,
}

/// `tests/snapshot-crate/src/lib.rs`: a module per `.rs` snapshot and a round trip per example.
///
/// The snapshots and the round-trip module are printed by prettyplease, not rustfmt, so they
/// carry `#[rustfmt::skip]` (`cargo fmt --all --check` would otherwise reformat them); the rest
/// is written in rustfmt's style.
fn snapshot_crate_lib(generated: &[(&Input, Generated)]) -> String {
    let mut text = String::from(
        "// @generated by tests/snapshots.rs. Do not edit.\n\
         //! Every `.rs` snapshot in `tests/snapshots/`, compiled under `#![deny(warnings)]` (and linted by\n\
         //! `cargo clippy --workspace --all-targets`), with one round-trip test per example value the\n\
         //! specs give.\n\
         //!\n\
         //! Generated by `tests/snapshots.rs`; refresh with `WIREGEN_BLESS=1 cargo test --test snapshots`.\n\
         #![deny(warnings)]\n",
    );
    let mut tests = Namespace::new();
    let mut round_trips = Vec::new();
    for (input, g) in generated {
        let path = format!("../../snapshots/{}.rs", input.stem);
        let origin = input.path.to_string_lossy().replace('\\', "/");
        let _ = write!(
            text,
            "\n/// Generated from `{origin}`.\n#[rustfmt::skip]\n#[path = {}]\npub mod {};\n",
            literal(&path),
            input.stem
        );
        let api = &g.apis[0];
        let modules = type_modules(only_file(input, g), &input.stem);
        round_trips.extend(api_round_trips(api, &input.stem, &modules, &mut tests));
    }
    text.push_str("\n#[cfg(test)]\nmod support;\n\n");
    let mut module = String::from("#[cfg(test)]\n#[rustfmt::skip]\nmod round_trips {\n");
    for RoundTrip { test, ty, json } in &round_trips {
        let _ = write!(
            module,
            "#[test]\nfn {test}() {{\ncrate::support::round_trip::<{ty}>({});\n}}\n",
            literal(json)
        );
    }
    module.push_str("}\n");
    let module = syn::parse_file(&module)
        .unwrap_or_else(|e| panic!("the round-trip module does not parse: {e}\n{module}"));
    text.push_str(&prettyplease::unparse(&module));
    if let Err(e) = syn::parse_file(&text) {
        panic!("the snapshot crate's lib.rs does not parse: {e}\n{text}");
    }
    text
}

/// A string literal token.
fn literal(text: &str) -> String {
    proc_macro2::Literal::string(text).to_string()
}

/// Where each type of a generated file is: type identifier → `crate::<stem>::<modules>::<ident>`.
/// Found by parsing the file, so tests follow the emitter's module layout.
fn type_modules(contents: &str, stem: &str) -> BTreeMap<String, Vec<String>> {
    fn walk(items: &[syn::Item], path: &mut Vec<String>, out: &mut BTreeMap<String, Vec<String>>) {
        for item in items {
            let ident = match item {
                syn::Item::Struct(s) => &s.ident,
                syn::Item::Enum(e) => &e.ident,
                syn::Item::Type(t) => &t.ident,
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        path.push(m.ident.to_string());
                        walk(items, path, out);
                        path.pop();
                    }
                    continue;
                }
                _ => continue,
            };
            out.entry(ident.to_string())
                .or_default()
                .push(path.join("::"));
        }
    }
    let file =
        syn::parse_file(contents).unwrap_or_else(|e| panic!("{stem}.rs does not parse: {e}"));
    let mut out = BTreeMap::new();
    walk(&file.items, &mut Vec::new(), &mut out);
    out.into_iter()
        .map(|(ident, paths)| {
            let full = paths
                .iter()
                .map(|p| {
                    let mut full = format!("crate::{stem}");
                    if !p.is_empty() {
                        full.push_str("::");
                        full.push_str(p);
                    }
                    full.push_str("::");
                    full.push_str(&ident);
                    full
                })
                .collect();
            (ident, full)
        })
        .collect()
}

/// The round trips of one API: every type's examples, and every channel message's examples
/// (against its direction's enum when the message is tagged, else against its payload type).
fn api_round_trips(
    api: &Api,
    stem: &str,
    modules: &BTreeMap<String, Vec<String>>,
    tests: &mut Namespace,
) -> Vec<RoundTrip> {
    let mut out = Vec::new();
    let mut push = |label: &str, ty: String, examples: &[serde_json::Value]| {
        for (i, example) in examples.iter().enumerate() {
            let base = names::ident(&format!("{stem} {label} {i}"), Case::Snake);
            let test = tests.claim(base, Case::Snake).0.as_str().to_owned();
            let json = serde_json::to_string(example).expect("a JSON value prints");
            out.push(RoundTrip {
                test,
                ty: ty.clone(),
                json,
            });
        }
    };
    for (index, def) in api.types.defs.iter().enumerate() {
        if def.examples.is_empty() {
            continue;
        }
        // A variant of an internally tagged union leaves the tag to the union, so an example
        // that carries the tag goes through the union.
        let (tagged, untagged): (Vec<_>, Vec<_>) = def
            .examples
            .iter()
            .cloned()
            .partition(|example| tagging_union(api, TypeId(index), example).is_some());
        let ty = named_path(api, modules, stem, def.name.rust.as_str());
        push(def.name.rust.unraw(), ty, &untagged);
        for example in tagged {
            let union = tagging_union(api, TypeId(index), &example).expect("partitioned on it");
            let ty = named_path(
                api,
                modules,
                stem,
                api.types.defs[union.0].name.rust.as_str(),
            );
            push(def.name.rust.unraw(), ty, std::slice::from_ref(&example));
        }
    }
    for channel in &api.channels {
        let directions = [
            ("to server", &channel.to_server),
            ("to client", &channel.to_client),
        ];
        for (direction, set) in directions {
            let Some(set) = set else { continue };
            for message in set.messages.iter().filter(|m| !m.examples.is_empty()) {
                let ty = match (&message.tag, &message.payload) {
                    (Some(_), _) => rust_type(api, modules, stem, &TypeRef::Named(set.enum_id)),
                    (None, Payload::Json(ty)) => rust_type(api, modules, stem, ty),
                    // Text and binary payloads have no JSON type to go through.
                    (None, Payload::Text | Payload::Binary | Payload::Empty) => continue,
                };
                let label = format!(
                    "{} {direction} {}",
                    channel.name.rust.unraw(),
                    message.name.rust.unraw()
                );
                push(&label, ty, &message.examples);
            }
        }
    }
    out
}

/// The internally tagged union that has `variant` as the variant `example`'s tag names.
fn tagging_union(api: &Api, variant: TypeId, example: &serde_json::Value) -> Option<TypeId> {
    api.types.defs.iter().enumerate().find_map(|(index, def)| {
        let TypeKind::Union(union) = &def.kind else {
            return None;
        };
        let UnionRepr::Internal { tag } = &union.repr else {
            return None;
        };
        let wire = example.get(tag)?.as_str()?;
        union
            .variants
            .iter()
            .any(|v| v.name.wire == wire && v.ty == Some(TypeRef::Named(variant)))
            .then_some(TypeId(index))
    })
}

/// The full path of a generated type, by its identifier.
fn named_path(
    api: &Api,
    modules: &BTreeMap<String, Vec<String>>,
    stem: &str,
    ident: &str,
) -> String {
    match modules.get(ident).map(Vec::as_slice) {
        Some([path]) => path.clone(),
        Some(paths) => panic!("{stem}: type `{ident}` is defined more than once: {paths:?}"),
        None => panic!(
            "{stem}: type `{ident}` of the IR ({} types) is not defined in the generated file",
            api.types.defs.len()
        ),
    }
}

/// A type expression for a [`TypeRef`], with absolute paths.
fn rust_type(
    api: &Api,
    modules: &BTreeMap<String, Vec<String>>,
    stem: &str,
    ty: &TypeRef,
) -> String {
    let inner = |t: &TypeRef| rust_type(api, modules, stem, t);
    match ty {
        TypeRef::Named(TypeId(i)) => {
            let def = api
                .types
                .defs
                .get(*i)
                .unwrap_or_else(|| panic!("{stem}: type id {i} is outside the type space"));
            named_path(api, modules, stem, def.name.rust.as_str())
        }
        TypeRef::Scalar(scalar) => scalar_type(*scalar).to_owned(),
        TypeRef::Json => "::serde_json::Value".to_owned(),
        TypeRef::Vec(t) => format!("::std::vec::Vec<{}>", inner(t)),
        TypeRef::Map(t) => format!(
            "::std::collections::BTreeMap<::std::string::String, {}>",
            inner(t)
        ),
        TypeRef::Option(t) => format!("::std::option::Option<{}>", inner(t)),
        TypeRef::Box(t) => format!("::std::boxed::Box<{}>", inner(t)),
    }
}

fn scalar_type(scalar: Scalar) -> &'static str {
    match scalar {
        Scalar::String => "::std::string::String",
        Scalar::Bool => "bool",
        Scalar::I8 => "i8",
        Scalar::I16 => "i16",
        Scalar::I32 => "i32",
        Scalar::I64 => "i64",
        Scalar::U8 => "u8",
        Scalar::U16 => "u16",
        Scalar::U32 => "u32",
        Scalar::U64 => "u64",
        Scalar::F32 => "f32",
        Scalar::F64 => "f64",
        Scalar::DateTime => "::chrono::DateTime<::chrono::FixedOffset>",
        Scalar::Date => "::chrono::NaiveDate",
        Scalar::Uuid => "::uuid::Uuid",
        Scalar::Bytes => "::std::vec::Vec<u8>",
    }
}
