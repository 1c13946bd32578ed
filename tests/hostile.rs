//! Spec text is untrusted (STYLE.md habit 5): `tests/fixtures/hostile.yaml` (OpenAPI) and
//! `tests/fixtures/hostile_asyncapi.yaml` (AsyncAPI) plant Rust in every name and description
//! they can. The generated code must contain none of it as code: the injected markers may
//! appear only inside string literals (doc attributes, serde renames, `as_str` values, tags),
//! every wire name must survive exactly, and the output must build under `#![deny(warnings)]`
//! and clippy.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};
use wiregen::Settings;

/// A hostile fixture: what it plants, and what must reach the output as text.
struct Fixture {
    path: &'static str,
    /// Markers that are in its descriptions or wire names, so in string literals of the output.
    in_text: &'static [&'static str],
    /// Wire names that must reach the output exactly, as string literals.
    wire_names: &'static [&'static str],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        path: "tests/fixtures/hostile.yaml",
        in_text: &[
            "pwned",
            "injected_quote",
            "injected_attr",
            "injected_brace",
            "injected_title",
            "injected_event",
        ],
        wire_names: WIRE_NAMES,
    },
    Fixture {
        path: "tests/fixtures/hostile_asyncapi.yaml",
        in_text: &[
            "pwned",
            "injected_quote",
            "injected_attr",
            "injected_brace",
            "injected_title",
        ],
        // Tags reach the known-tags lists and serde renames unchanged (no `RT::` rewriting),
        // and so do route texts with quotes and bidi code points (escaped in the literal).
        wire_names: &[
            "RT::x",
            "RT::reply \"}",
            "\"); fn injected_quote() { (\"",
            "on_message",
            "kind",
            "}",
            "*/ fn pwned() {} /*",
            "/ws\"\u{202e}/self",
            "/ws\"\u{202e}/Self",
            "/router/{id}",
        ],
    },
];

/// Names of functions the fixtures try to inject (in `*/ fn pwned() {} /*` and similar), none
/// of which may become an identifier.
const MARKERS: &[&str] = &[
    "pwned",
    "injected_quote",
    "injected_attr",
    "injected_brace",
    "injected_schema",
    "injected_title",
    "injected_event",
];

/// Wire names from the fixture that must reach the output exactly, as string literals.
const WIRE_NAMES: &[&str] = &[
    "*/ fn pwned() {} /*",
    "\"); fn injected_quote() { (\"",
    "} fn injected_event() {",
    "\"quoted\"",
    "back\\slash",
    "*/",
    "/*",
    "#[attr]",
    "}",
    "a-b",
    "a_b",
    "self",
    "Self",
    "type",
    "x\"y\\z",
    "café",
    "日本",
    "r#raw",
];

/// Macros that would define code, read files or the environment, or emit assembly.
const FORBIDDEN_MACROS: &[&str] = &[
    "macro_rules",
    "include",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
    "concat_idents",
    "asm",
    "global_asm",
    "naked_asm",
];

/// The only attributes generated code may carry (extend it when the emitter starts using
/// another one on purpose).
const ATTRIBUTES: &[&str] = &["doc", "derive", "serde", "allow", "must_use"];

fn generate(fixture: &Fixture) -> wiregen::Generated {
    let generated = wiregen::generate(&[PathBuf::from(fixture.path)], &Settings::default())
        .unwrap_or_else(|f| panic!("{}", wiregen::diag::render(&f.diagnostics)));
    assert_eq!(generated.files.len(), 1);
    generated
}

fn generated(fixture: &Fixture) -> String {
    generate(fixture).files.remove(0).contents
}

/// Every identifier and string literal in a token stream, attributes and macro bodies included.
fn tokens(stream: TokenStream, idents: &mut BTreeSet<String>, strings: &mut Vec<String>) {
    for tree in stream {
        match tree {
            TokenTree::Group(group) => tokens(group.stream(), idents, strings),
            TokenTree::Ident(ident) => {
                idents.insert(ident.to_string());
            }
            TokenTree::Literal(literal) => {
                if let Ok(string) = syn::parse_str::<syn::LitStr>(&literal.to_string()) {
                    strings.push(string.value());
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// What the syntax tree holds that injected code could hide in.
#[derive(Default)]
struct Audit {
    functions: Vec<String>,
    macros: Vec<String>,
    unsafe_code: Vec<String>,
    externs: Vec<String>,
    attributes: BTreeSet<String>,
    allowed_lints: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for Audit {
    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        self.functions.push(sig.ident.to_string());
        if sig.unsafety.is_some() {
            self.unsafe_code.push(format!("unsafe fn {}", sig.ident));
        }
        if sig.abi.is_some() {
            self.externs.push(format!("extern fn {}", sig.ident));
        }
        visit::visit_signature(self, sig);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let path = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>();
        let last = path.last().map(String::as_str).unwrap_or_default();
        if FORBIDDEN_MACROS.contains(&last) {
            self.macros.push(path.join("::"));
        }
        visit::visit_macro(self, mac);
    }

    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        // An item-level macro (`macro_rules! x { .. }`, `include!(..)`) is never generated.
        let path = item
            .mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>();
        self.macros
            .push(format!("{}! at item level", path.join("::")));
        visit::visit_item_macro(self, item);
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.unsafe_code.push("unsafe block".into());
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if item.unsafety.is_some() {
            self.unsafe_code.push("unsafe impl".into());
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if item.unsafety.is_some() {
            self.unsafe_code
                .push(format!("unsafe trait {}", item.ident));
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.externs.push("extern block".into());
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        self.externs.push(format!("extern crate {}", item.ident));
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_none() {
            self.externs
                .push(format!("mod {}; (an out-of-line module)", item.ident));
        }
        visit::visit_item_mod(self, item);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        let name = attr
            .path()
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>();
        let name = name.join("::");
        if name == "allow"
            && let syn::Meta::List(list) = &attr.meta
        {
            for lint in list.tokens.to_string().split(',') {
                self.allowed_lints.insert(lint.split_whitespace().collect());
            }
        }
        self.attributes.insert(name);
        visit::visit_attribute(self, attr);
    }
}

/// Everything in `contents` that is code a spec must not be able to produce.
fn problems(contents: &str) -> Vec<String> {
    let file = match syn::parse_file(contents) {
        Ok(file) => file,
        Err(e) => return vec![format!("the output does not parse: {e}")],
    };
    let mut audit = Audit::default();
    audit.visit_file(&file);
    let mut idents = BTreeSet::new();
    let mut strings = Vec::new();
    tokens(
        contents.parse().expect("it parsed, so it tokenizes"),
        &mut idents,
        &mut strings,
    );

    let mut problems = Vec::new();
    for marker in MARKERS {
        if idents.contains(*marker) {
            problems.push(format!("`{marker}` is an identifier"));
        }
        for function in audit.functions.iter().filter(|f| f.contains(marker)) {
            problems.push(format!("a function named after `{marker}`: {function}"));
        }
    }
    problems.extend(
        audit
            .macros
            .iter()
            .map(|m| format!("a forbidden macro: {m}")),
    );
    problems.extend(
        audit
            .unsafe_code
            .iter()
            .map(|u| format!("unsafe code: {u}")),
    );
    problems.extend(
        audit
            .externs
            .iter()
            .map(|e| format!("an extern or out-of-line item: {e}")),
    );
    for attribute in &audit.attributes {
        if !ATTRIBUTES.contains(&attribute.as_str()) {
            problems.push(format!("an unexpected attribute: #[{attribute}]"));
        }
    }
    for lint in &audit.allowed_lints {
        if lint == "warnings" || lint.is_empty() || lint.contains(['"', '(']) {
            problems.push(format!("a suspicious allowed lint: {lint:?}"));
        }
    }
    problems
}

#[test]
fn injected_code_never_becomes_code() {
    for fixture in FIXTURES {
        let contents = generated(fixture);
        let problems = problems(&contents);
        assert!(
            problems.is_empty(),
            "{}: {}",
            fixture.path,
            problems.join("\n")
        );
        let mut idents = BTreeSet::new();
        let mut strings = Vec::new();
        tokens(
            contents.parse().expect("the output tokenizes"),
            &mut idents,
            &mut strings,
        );
        for marker in fixture.in_text {
            // Proof that the hostile text reached the generator and was kept as text.
            assert!(
                strings.iter().any(|s| s.contains(marker)),
                "{}: `{marker}` appears in no string literal: was the hostile text dropped?",
                fixture.path
            );
        }
    }
}

/// The audit has teeth: each kind of injection in hand-written code is found.
#[test]
fn the_audit_finds_injections() {
    let cases = [
        ("pub fn pwned() {}", "`pwned` is an identifier"),
        (
            "pub struct S { pub injected_quote: u8 }",
            "`injected_quote` is an identifier",
        ),
        (
            "pub fn run_pwned_now() {}",
            "a function named after `pwned`",
        ),
        (
            "#[serde(rename = \"x\", with = pwned)] pub struct S;",
            "`pwned` is an identifier",
        ),
        (
            "macro_rules! m { () => {} }",
            "a forbidden macro: macro_rules! at item level",
        ),
        (
            "include!(\"x.rs\");",
            "a forbidden macro: include! at item level",
        ),
        (
            "const X: &str = include_str!(\"/etc/passwd\");",
            "a forbidden macro: include_str",
        ),
        ("const X: &str = env!(\"HOME\");", "a forbidden macro: env"),
        ("pub fn f() { unsafe {} }", "unsafe code: unsafe block"),
        ("pub unsafe fn f() {}", "unsafe code: unsafe fn f"),
        ("unsafe impl Send for S {}", "unsafe code: unsafe impl"),
        (
            "extern \"C\" { fn abort(); }",
            "an extern or out-of-line item: extern block",
        ),
        (
            "extern crate core;",
            "an extern or out-of-line item: extern crate core",
        ),
        ("mod other;", "an extern or out-of-line item: mod other;"),
        (
            "#[no_mangle] pub fn f() {}",
            "an unexpected attribute: #[no_mangle]",
        ),
        (
            "#![allow(warnings)]",
            "a suspicious allowed lint: \"warnings\"",
        ),
        ("fn f() {", "the output does not parse"),
    ];
    for (source, expected) in cases {
        let found = problems(source);
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{source:?}: expected {expected:?}, found {found:?}"
        );
    }
    assert_eq!(
        problems("/// fn pwned() {}\n#[doc = \"*/ fn pwned() {} /*\"]\npub struct S;"),
        Vec::<String>::new(),
        "markers inside doc strings are fine"
    );
}

#[test]
fn wire_names_survive_exactly() {
    for fixture in FIXTURES {
        let contents = generated(fixture);
        let mut idents = BTreeSet::new();
        let mut strings = Vec::new();
        tokens(
            contents.parse().expect("the output tokenizes"),
            &mut idents,
            &mut strings,
        );
        let strings: BTreeSet<&str> = strings.iter().map(String::as_str).collect();
        let missing: Vec<_> = fixture
            .wire_names
            .iter()
            .filter(|w| !strings.contains(*w))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: wire names missing from the string literals (renames, tags, routes): {missing:?}",
            fixture.path
        );
    }
}

/// Names that meet after sanitising, and names of generated items, each get items of their own.
#[test]
fn colliding_names_get_distinct_items() {
    let contents = generated(&FIXTURES[1]);
    for item in [
        "pub trait SelfChannel",
        "pub trait Self2Channel",
        "pub fn self_router<",
        "pub fn self2_router<",
        "pub trait RouterChannel",
        "pub fn router_router<",
        "pub fn router<",
        "fn on_message(",
        "fn on_message_2(",
    ] {
        assert!(contents.contains(item), "missing `{item}`");
    }
    let contents = generated(&FIXTURES[0]);
    for item in [
        "pub struct GetPetsRequest",
        "pub struct GetPets2Request",
        "fn get_pets(",
        "fn get_pets_2(",
        "fn new_2(",
    ] {
        assert!(contents.contains(item), "missing `{item}`");
    }
}

#[test]
fn doc_lines_are_single_clean_lines() {
    for fixture in FIXTURES {
        doc_lines_are_clean(fixture);
    }
}

fn doc_lines_are_clean(fixture: &Fixture) {
    let contents = generated(fixture);
    let file = syn::parse_file(&contents).expect("the output parses");
    #[derive(Default)]
    struct Docs(Vec<String>);
    impl<'ast> Visit<'ast> for Docs {
        fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
            if attr.path().is_ident("doc")
                && let syn::Meta::NameValue(nv) = &attr.meta
                && let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
            {
                self.0.push(s.value());
            }
        }
    }
    let mut docs = Docs::default();
    docs.visit_file(&file);
    assert!(docs.0.len() > 50, "the fixture's descriptions became docs");
    for line in &docs.0 {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "a control character in a doc line: {line:?}"
        );
        assert!(
            !line
                .chars()
                .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
            "a bidirectional override in a doc line: {line:?}"
        );
    }
    // No code block that rustdoc would compile as a doctest: every fence says `text` or `json`,
    // and outside fences no line is indented four spaces (an indented code block). Doc lines
    // are printed as `/// <line>`, so the literal's first space is not indentation.
    let mut in_fence = false;
    for line in &docs.0 {
        let text = line.strip_prefix(' ').unwrap_or(line);
        let trimmed = text.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            if !in_fence {
                let info = trimmed.trim_start_matches(['`', '~']).trim();
                assert!(
                    ["text", "json"].contains(&info),
                    "a code fence that rustdoc might compile: {line:?}"
                );
            }
            in_fence = !in_fence;
            continue;
        }
        let indent = text.len() - text.trim_start().len();
        assert!(
            in_fence || indent < 4 || trimmed.is_empty(),
            "an indented code block in a doc line: {line:?}"
        );
    }
    assert!(!in_fence, "a code fence is never closed");
}

#[test]
fn hostile_output_builds_under_deny_warnings_and_clippy() {
    let lib =
        std::fs::read_to_string("tests/snapshot-crate/src/lib.rs").expect("the snapshot crate");
    assert!(lib.contains("#![deny(warnings)]"));
    let paths: Vec<PathBuf> = FIXTURES.iter().map(|f| PathBuf::from(f.path)).collect();
    for fixture in FIXTURES {
        let stem = std::path::Path::new(fixture.path)
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name");
        // The checked-in snapshot is this output, and the snapshot crate compiles it...
        let snapshot = std::fs::read_to_string(format!("tests/snapshots/{stem}.rs"))
            .expect("the hostile snapshot");
        assert!(
            snapshot == generated(fixture),
            "tests/snapshots/{stem}.rs is stale (see tests/snapshots.rs)"
        );
        assert!(
            lib.contains(&format!("pub mod {stem};")),
            "the snapshot crate compiles {stem} under #![deny(warnings)]"
        );
    }
    // ...and so does a standalone crate of both, under clippy, right now.
    let generated = wiregen::generate(&paths, &Settings::default())
        .unwrap_or_else(|f| panic!("{}", wiregen::diag::render(&f.diagnostics)));
    if let Err(output) =
        common::clippy_check_crate("wiregen-hostile-check", &generated.apis, &generated.files)
    {
        panic!("the hostile output does not build cleanly:\n{output}");
    }
}
