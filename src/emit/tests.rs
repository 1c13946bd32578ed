//! Emit tests with hand-built IR: every type shape, hostile names and docs.

use std::path::{Path, PathBuf};

use serde_json::json;
use syn::visit::Visit;

use super::*;
use crate::ir::{
    AdditionalProperties, Docs, EnumDef, EnumVariant, Field, ModuleItems, Presence, Role, Scalar,
    StructDef, TypeDef, TypeId, TypeKind, TypeRef, TypeSpace, UnionDef, UnionRepr, UnionVariant,
};
use crate::names::{Case, Name, Namespace, name};

const HOSTILE: &str = "Ends a comment */ and \"quotes\" and \\ backslashes.\n\
    */ fn pwned() {} /*\n\
    #[doc = \"x\"] } fn pwned2() {\n\
    ```\n\
    fn pwned3() {}\n\
    ```\n\
    \u{202E} reversed \u{2066}isolate\u{2069}\n\
    <script>alert(1)</script> [link] https://example.com\n\
    - a list item\n\
    lazily continued";

fn docs(text: &str) -> Docs {
    Docs::from_text(text)
}

fn field(fields: &mut Namespace, wire: &str, ty: TypeRef, presence: Presence, doc: &str) -> Field {
    Field {
        name: fields.claim_name(wire, Case::Snake).0,
        docs: docs(doc),
        ty,
        presence,
    }
}

fn def(types: &mut Namespace, wire: &str, doc: &str, kind: TypeKind) -> TypeDef {
    TypeDef {
        name: types.claim_name(wire, Case::Camel).0,
        docs: docs(doc),
        kind,
        examples: Vec::new(),
        location: None,
    }
}

fn string() -> TypeRef {
    TypeRef::Scalar(Scalar::String)
}

/// Ids in the order [`api`] pushes the types.
const PET: TypeId = TypeId(0);
const RESULT: TypeId = TypeId(1);
const OPTION: TypeId = TypeId(2);

fn api() -> Api {
    let mut types = Namespace::new();
    let mut defs = Vec::new();

    let mut f = Namespace::new();
    let mut pet = def(
        &mut types,
        "Pet",
        HOSTILE,
        TypeKind::Struct(StructDef {
            fields: vec![
                field(
                    &mut f,
                    "id",
                    TypeRef::Scalar(Scalar::I64),
                    Presence::Required,
                    "The id.",
                ),
                field(
                    &mut f,
                    "name",
                    string(),
                    Presence::RequiredNullable,
                    "Always there, maybe null.",
                ),
                field(&mut f, "tag", string(), Presence::Optional, HOSTILE),
                field(
                    &mut f,
                    "note",
                    string(),
                    Presence::OptionalNullable,
                    "Absent, null or a string.",
                ),
                field(
                    &mut f,
                    "created-at",
                    TypeRef::Scalar(Scalar::DateTime),
                    Presence::Required,
                    "",
                ),
                field(
                    &mut f,
                    "type",
                    TypeRef::Json,
                    Presence::Required,
                    "A keyword field.",
                ),
                field(
                    &mut f,
                    "*/ fn pwned() {} /*",
                    string(),
                    Presence::Optional,
                    "A hostile name.",
                ),
            ],
            additional: Some(AdditionalProperties {
                field: f.claim_name("additional_properties", Case::Snake).0.rust,
                value: TypeRef::Json,
            }),
            param: false,
        }),
    );
    pet.examples = vec![
        json!({"id": 1, "name": "Rex", "tag": "```\n*/ fn pwned() {}", "created-at": "2024-01-01T00:00:00Z", "type": null}),
        json!("a string example \u{202E}"),
    ];
    defs.push(pet);

    let mut f = Namespace::new();
    defs.push(def(
        &mut types,
        "Result",
        "A type named like the prelude's `Result`.",
        TypeKind::Struct(StructDef {
            fields: vec![
                field(
                    &mut f,
                    "option",
                    TypeRef::Named(OPTION),
                    Presence::Required,
                    "The `Option` next door.",
                ),
                field(
                    &mut f,
                    "children",
                    TypeRef::Vec(Box::new(TypeRef::Named(RESULT))),
                    Presence::Optional,
                    "",
                ),
            ],
            additional: None,
            param: false,
        }),
    ));
    let mut f = Namespace::new();
    defs.push(def(
        &mut types,
        "Option",
        "A type named like the prelude's `Option`.",
        TypeKind::Struct(StructDef {
            fields: vec![field(
                &mut f,
                "result",
                TypeRef::Box(Box::new(TypeRef::Named(RESULT))),
                Presence::Optional,
                "Recursion through `Result`.",
            )],
            additional: None,
            param: false,
        }),
    ));

    let mut variants = Namespace::new();
    defs.push(def(
        &mut types,
        "interval",
        "Candle intervals and exchanges.",
        TypeKind::Enum(EnumDef {
            variants: ["1m", "", "null", "BATS-Y", "1EXCH"]
                .into_iter()
                .map(|wire| EnumVariant {
                    name: variants.claim_name(wire, Case::Camel).0,
                    docs: docs(if wire == "null" { HOSTILE } else { "" }),
                })
                .collect(),
            param: false,
        }),
    ));

    let mut variants = Namespace::new();
    defs.push(def(
        &mut types,
        "event",
        "A tagged union.",
        TypeKind::Union(UnionDef {
            repr: UnionRepr::Internal {
                tag: "type".to_owned(),
            },
            variants: vec![
                UnionVariant {
                    name: variants.claim_name("pet-added", Case::Camel).0,
                    docs: docs("A pet was added."),
                    ty: Some(TypeRef::Named(PET)),
                    skip: false,
                },
                UnionVariant {
                    name: variants.claim_name("Heartbeat", Case::Camel).0,
                    docs: docs("Only the tag."),
                    ty: None,
                    skip: false,
                },
            ],
            unknown: None,
        }),
    ));

    let mut variants = Namespace::new();
    defs.push(def(
        &mut types,
        "value",
        "An untagged union.",
        TypeKind::Union(UnionDef {
            repr: UnionRepr::Untagged,
            variants: vec![
                UnionVariant {
                    name: variants.claim_name("text", Case::Camel).0,
                    docs: Docs::default(),
                    ty: Some(string()),
                    skip: false,
                },
                UnionVariant {
                    name: variants.claim_name("number", Case::Camel).0,
                    docs: Docs::default(),
                    ty: Some(TypeRef::Scalar(Scalar::F64)),
                    skip: false,
                },
                UnionVariant {
                    name: variants.claim_name("pet", Case::Camel).0,
                    docs: Docs::default(),
                    ty: Some(TypeRef::Named(PET)),
                    skip: false,
                },
            ],
            unknown: None,
        }),
    ));

    let mut variants = Namespace::new();
    defs.push(def(
        &mut types,
        "stream event",
        "An adjacently tagged union (an SSE event enum).",
        TypeKind::Union(UnionDef {
            repr: UnionRepr::Adjacent {
                tag: "event".to_owned(),
                content: "data".to_owned(),
            },
            variants: vec![
                UnionVariant {
                    name: variants.claim_name("status-change", Case::Camel).0,
                    docs: docs("Status changed."),
                    ty: Some(TypeRef::Named(PET)),
                    skip: false,
                },
                UnionVariant {
                    name: variants.claim_name("ping", Case::Camel).0,
                    docs: docs("Ping."),
                    ty: None,
                    skip: false,
                },
            ],
            unknown: None,
        }),
    ));

    defs.push(def(
        &mut types,
        "pets",
        "An alias.",
        TypeKind::Alias(TypeRef::Vec(Box::new(TypeRef::Named(PET)))),
    ));
    defs.push(def(
        &mut types,
        "String",
        "A type named `String`.",
        TypeKind::Alias(string()),
    ));
    defs.push(def(
        &mut types,
        "empty",
        "No properties.",
        TypeKind::Struct(StructDef {
            fields: Vec::new(),
            additional: None,
            param: false,
        }),
    ));

    Api {
        module: name("petstore_openapi", Case::Snake),
        items: items(name("Pet \"store\" */ fn pwned() {} /*", Case::Camel)),
        source: SourceInfo {
            file: "specs/petstore.yaml\n*/ fn pwned() {}".to_owned(),
            spec: "OpenAPI 3.1.0 \u{202E}".to_owned(),
            title: "Pet \"store\" */ fn pwned() {} /*".to_owned(),
            version: "1.0.0".to_owned(),
        },
        docs: docs(HOSTILE),
        role: Role::Server,
        operations: Vec::new(),
        channels: Vec::new(),
        sockets: Vec::new(),
        types: TypeSpace { defs },
    }
}

/// The fixed items of the server and client modules, with this service trait.
fn items(service: Name) -> ModuleItems {
    ModuleItems {
        service,
        router: name("router", Case::Snake).rust,
        router_with_config: name("router_with_config", Case::Snake).rust,
        server_config: name("ServerConfig", Case::Camel).rust,
        client: name("Client", Case::Camel).rust,
        client_config: name("ClientConfig", Case::Camel).rust,
        auth: name("Auth", Case::Camel).rust,
        authenticate: name("authenticate", Case::Snake).rust,
    }
}

fn emitted(settings: &Settings) -> OutputFile {
    match emit(&api(), settings) {
        Ok(file) => file,
        Err(d) => panic!("{d}"),
    }
}

/// Every identifier in a syntax tree, including inside attribute token lists (`#[serde(..)]`,
/// `#[derive(..)]`), which syn does not parse. Doc strings are literals, so they hold none.
/// With `code_only`, `#[doc]` and `#[allow]` attributes are skipped: how many doc lines there
/// are and which lints are allowed depend on the docs.
#[derive(Default)]
struct Idents {
    code_only: bool,
    found: Vec<String>,
}

impl Idents {
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => self.found.push(ident.to_string()),
                proc_macro2::TokenTree::Group(group) => self.tokens(group.stream()),
                proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {}
            }
        }
    }
}

impl Visit<'_> for Idents {
    fn visit_ident(&mut self, ident: &proc_macro2::Ident) {
        self.found.push(ident.to_string());
    }

    fn visit_attribute(&mut self, attr: &syn::Attribute) {
        if self.code_only && (attr.path().is_ident("doc") || attr.path().is_ident("allow")) {
            return;
        }
        match &attr.meta {
            syn::Meta::List(list) => {
                self.visit_path(&list.path);
                self.tokens(list.tokens.clone());
            }
            _ => syn::visit::visit_attribute(self, attr),
        }
    }
}

#[test]
fn output_parses_and_holds_no_injected_code() {
    let file = emitted(&Settings::default());
    assert_eq!(file.path, Path::new("petstore_openapi.rs"));
    let first = file.contents.lines().next().expect("a header");
    assert!(first.starts_with(&format!(
        "// @generated by wiregen {} from specs/petstore.yaml",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(first.ends_with("). Do not edit."), "{first}");
    let parsed = syn::parse_file(&file.contents).expect("emitted code parses");
    // Usable through `include!`: no inner attributes or inner docs at the top.
    assert!(parsed.attrs.is_empty());
    assert_eq!(parsed.items.len(), 1);
    let mut idents = Idents::default();
    idents.visit_file(&parsed);
    assert!(
        idents.found.iter().any(|i| i == "rename"),
        "attribute tokens are walked"
    );
    for bad in ["pwned", "pwned2", "pwned3", "alert", "script"] {
        assert!(
            !idents.found.iter().any(|i| i == bad),
            "`{bad}` escaped into code"
        );
    }
    // Every line of the header and of the body stays a single comment or code line.
    for line in file.contents.lines() {
        assert!(
            !line.contains(['\u{202E}', '\u{2066}', '\u{2069}', '\r']),
            "{line:?}"
        );
    }
}

#[test]
fn every_type_shape_is_emitted() {
    let text = emitted(&Settings::default()).contents;
    // The identifier comes from the names module; only its rename is this module's business.
    assert_eq!(crate::names::ident("1EXCH", Case::Camel).as_str(), "V1Exch");
    let expect = [
        "    #![allow(\n",
        "#[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\n    pub struct Pet {",
        "        pub id: i64,\n",
        "        pub name: ::std::option::Option<::std::string::String>,\n",
        "        #[serde(default, skip_serializing_if = \"::std::option::Option::is_none\")]\n        pub tag: ::std::option::Option<::std::string::String>,",
        "        #[serde(\n            default,\n            skip_serializing_if = \"::std::option::Option::is_none\",\n            with = \"::wiregen_runtime::double_option\"\n        )]\n        pub note: ::std::option::Option<::std::option::Option<::std::string::String>>,",
        "        #[serde(rename = \"created-at\")]\n        pub created_at: ::chrono::DateTime<::chrono::FixedOffset>,",
        "        pub r#type: ::serde_json::Value,\n",
        "        #[serde(flatten)]\n        pub additional_properties: ::std::collections::BTreeMap<\n            ::std::string::String,\n            ::serde_json::Value,\n        >,",
        "        pub option: Option,\n",
        "        pub children: ::std::option::Option<::std::vec::Vec<Result>>,\n",
        "        pub result: ::std::option::Option<::std::boxed::Box<Result>>,\n",
        "#[derive(\n        Clone,\n        Copy,\n        Debug,\n        PartialEq,\n        Eq,\n        Hash,\n        PartialOrd,\n        Ord,\n        ::serde::Serialize,\n        ::serde::Deserialize\n    )]\n    pub enum Interval {",
        "        #[serde(rename = \"1m\")]\n        V1m,\n        #[serde(rename = \"\")]\n        Empty,\n",
        "        #[serde(rename = \"null\")]\n        Null,\n        #[serde(rename = \"BATS-Y\")]\n        BatsY,\n        #[serde(rename = \"1EXCH\")]\n        V1Exch,\n",
        "                Self::V1m => \"1m\",\n                Self::Empty => \"\",\n",
        "    impl ::std::fmt::Display for Interval {",
        "    #[serde(tag = \"type\")]\n    pub enum Event {",
        "        #[serde(rename = \"pet-added\")]\n        PetAdded(Pet),\n",
        "        Heartbeat,\n    }",
        "    #[serde(untagged)]\n    pub enum Value {\n        Text(::std::string::String),\n        Number(f64),\n        Pet(Pet),\n    }",
        "    #[serde(tag = \"event\", content = \"data\")]\n    pub enum StreamEvent {",
        "    pub type Pets = ::std::vec::Vec<Pet>;\n",
        "    pub type String = ::std::string::String;\n",
        "    pub struct Empty {}\n",
        "    /// # Examples\n",
        "    /// ```json\n    /// {\n    ///   \"id\": 1,\n",
        "    /// */ fn pwned() {} /*\n",
        "    /// \\u{202e} reversed \\u{2066}isolate\\u{2069}\n",
        "    /// ```text\n",
    ];
    for snippet in expect {
        assert!(
            text.contains(snippet),
            "missing:\n{snippet}\n--- in ---\n{text}"
        );
    }
    // Items are separated by blank lines.
    assert!(text.contains("    }\n\n    impl Interval {"), "{text}");
    assert!(
        text.contains("    pub type Pets = ::std::vec::Vec<Pet>;\n\n"),
        "{text}"
    );
}

#[test]
fn allows_only_what_the_contents_need() {
    let text = emitted(&Settings::default()).contents;
    let parsed = syn::parse_file(&text).expect("parses");
    let syn::Item::Mod(module) = &parsed.items[0] else {
        panic!("a module")
    };
    let allow = module
        .attrs
        .iter()
        .find(|a| a.path().is_ident("allow"))
        .expect("an allow");
    assert!(
        matches!(allow.style, syn::AttrStyle::Inner(_)),
        "the allow is inside the module"
    );
    let inner = text
        .split("#![allow(")
        .nth(1)
        .and_then(|t| t.split(")]").next())
        .expect("an allow");
    let lints: Vec<&str> = inner
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lints,
        [
            "clippy::doc_lazy_continuation",
            "clippy::doc_overindented_list_items",
            "clippy::enum_variant_names",
            "clippy::large_enum_variant",
            "missing_docs",
            "rustdoc::bare_urls",
            "rustdoc::broken_intra_doc_links",
            "rustdoc::invalid_html_tags",
            "rustdoc::redundant_explicit_links",
        ]
    );

    // A tame API needs nothing.
    let mut tame = api();
    tame.docs = Docs::default();
    tame.source.title = "Tame".to_owned();
    tame.types.defs.truncate(3);
    for def in &mut tame.types.defs {
        def.docs = docs("Documented.");
        def.examples.clear();
        if let TypeKind::Struct(StructDef { fields, .. }) = &mut def.kind {
            for field in fields {
                field.docs = docs("Documented.");
            }
        }
    }
    let text = emit(&tame, &Settings::default()).expect("emits").contents;
    assert!(!text.contains("allow"), "{text}");
}

#[test]
fn emission_is_deterministic() {
    let settings = Settings {
        extra_derives: vec!["Eq".to_owned()],
        ..Settings::default()
    };
    let first = emitted(&settings);
    let second = emitted(&settings);
    assert_eq!(first, second);
    assert_eq!(
        first.uses,
        Uses {
            serde_json: true,
            chrono: true,
            uuid: false,
            runtime: true,
            server: false,
            client: false,
            ws_server: false,
            ws_client: false,
            forms: false,
        }
    );
}

#[test]
fn extra_derives_and_runtime_path() {
    let settings = Settings {
        extra_derives: vec!["Eq".to_owned(), " :: schemars :: JsonSchema ".to_owned()],
        runtime_path: "crate::rt".to_owned(),
        ..Settings::default()
    };
    let text = emitted(&settings).contents;
    assert!(text.contains("#[derive(\n        Clone,\n        Debug,\n        PartialEq,\n        ::serde::Serialize,\n        ::serde::Deserialize,\n        Eq,\n        ::schemars::JsonSchema\n    )]\n    pub struct Pet"), "{text}");
    // The string enum already derives `Eq`.
    assert!(text.contains("        ::serde::Deserialize,\n        ::schemars::JsonSchema\n    )]\n    pub enum Interval"), "{text}");
    assert!(
        text.contains("with = \"crate::rt::double_option\""),
        "{text}"
    );

    for bad in ["Vec<u8>", "Eq)] fn pwned() {} #[derive(Eq", ""] {
        let settings = Settings {
            extra_derives: vec![bad.to_owned()],
            ..Settings::default()
        };
        let d = emit(&api(), &settings).expect_err(bad);
        assert_eq!(d.kind, Kind::Invalid, "{bad}");
    }
    let settings = Settings {
        runtime_path: "not a path".to_owned(),
        ..Settings::default()
    };
    assert_eq!(
        emit(&api(), &settings).expect_err("bad runtime path").kind,
        Kind::Invalid
    );
}

#[test]
fn a_dangling_type_id_is_an_internal_error() {
    let mut broken = api();
    broken.types.defs.truncate(1);
    broken.types.defs[0].kind = TypeKind::Alias(TypeRef::Named(TypeId(7)));
    let d = emit(&broken, &Settings::default()).expect_err("dangling id");
    assert_eq!(d.kind, Kind::Internal);
}

#[test]
fn crate_files_list_exactly_the_used_dependencies() {
    let first = api();
    let mut second = api();
    second.module = name("a_stream", Case::Snake);
    second.source.file = "specs/a.yaml".to_owned();
    // Only a uuid and a plain string: no chrono, no serde_json, no runtime.
    second.types.defs = vec![TypeDef {
        name: name("Ids", Case::Camel),
        docs: docs("Ids."),
        kind: TypeKind::Struct(StructDef {
            fields: vec![Field {
                name: name("id", Case::Snake),
                docs: docs("Id."),
                ty: TypeRef::Scalar(Scalar::Uuid),
                presence: Presence::Required,
            }],
            additional: None,
            param: false,
        }),
        examples: Vec::new(),
        location: None,
    }];
    let settings = Settings::default();
    let files: Vec<OutputFile> = [&first, &second]
        .iter()
        .map(|a| emit(a, &settings).expect("emits"))
        .collect();

    let runtime = RuntimeDep::Path("../runtime".to_owned());
    let only_second = crate_files(&[second.clone()], &files[1..], "ids", &runtime).expect("crate");
    let toml = &only_second[0].contents;
    assert!(toml.contains("\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nuuid = { version = \"1\", features = [\"serde\"] }\n"), "{toml}");
    assert!(
        !toml.contains("chrono")
            && !toml.contains("serde_json")
            && !toml.contains("wiregen-runtime"),
        "{toml}"
    );

    let out = crate_files(
        &[first.clone(), second.clone()],
        &files,
        "petstore-api",
        &runtime,
    )
    .expect("crate");
    let paths: Vec<PathBuf> = out.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "Cargo.toml",
            "src/lib.rs",
            "src/a_stream.rs",
            "src/petstore_openapi.rs"
        ]
        .map(PathBuf::from)
    );
    let toml = &out[0].contents;
    assert!(toml.starts_with("# @generated by wiregen "), "{toml}");
    for line in [
        "name = \"petstore-api\"",
        "edition = \"2024\"",
        "publish = false",
        "chrono = { version = \"0.4\", default-features = false, features = [\"serde\", \"std\"] }",
        "serde_json = \"1\"",
        "uuid = { version = \"1\", features = [\"serde\"] }",
        "wiregen-runtime = { path = \"../runtime\" }",
    ] {
        assert!(toml.lines().any(|l| l == line), "missing {line}\n{toml}");
    }
    let lib = &out[1].contents;
    assert!(lib.starts_with("// @generated by wiregen"), "{lib}");
    assert!(
        lib.contains("//! - [`a_stream`] from `specs/a.yaml` (`OpenAPI 3.1.0 \\u{202e}`)\n"),
        "{lib}"
    );
    assert!(
        lib.ends_with(
            "\n\n/// Generated from `specs/a.yaml` (`OpenAPI 3.1.0 \\u{202e}`).\n#[rustfmt::skip]\npub mod a_stream;\n\
             /// Generated from `specs/petstore.yaml */ fn pwned() {}` (`OpenAPI 3.1.0 \\u{202e}`).\n\
             #[rustfmt::skip]\npub mod petstore_openapi;\n\
             /// The runtime the generated code uses (`wiregen-runtime`), re-exported: its types\n\
             /// appear in the traits to implement.\npub use ::wiregen_runtime;\n"
        ),
        "{lib}"
    );
    let parsed = syn::parse_file(lib).expect("lib.rs parses");
    let mut idents = Idents::default();
    idents.visit_file(&parsed);
    assert!(!idents.found.iter().any(|i| i.contains("pwned")));
    assert_eq!(out[3].contents, files[0].contents);

    let version = RuntimeDep::Version("0.1.0".to_owned());
    let out = crate_files(std::slice::from_ref(&first), &files[..1], "p", &version).expect("crate");
    assert!(
        out[0]
            .contents
            .contains("wiregen-runtime = { version = \"0.1.0\" }")
    );

    let d = crate_files(
        &[first.clone(), first.clone()],
        &[files[0].clone(), files[0].clone()],
        "p",
        &version,
    )
    .expect_err("same module twice");
    assert_eq!(d.kind, Kind::Invalid);
    let d = crate_files(&[first], &files[..1], "fn", &version).expect_err("keyword");
    assert_eq!(d.kind, Kind::Invalid);
}

#[test]
fn raw_module_names_use_their_plain_file_name() {
    let mut api = api();
    api.module = Name {
        wire: "type".to_owned(),
        rust: crate::names::ident("type", Case::Snake),
    };
    let file = emit(&api, &Settings::default()).expect("emits");
    assert_eq!(file.path, Path::new("type.rs"));
    let out = crate_files(
        &[api],
        &[file],
        "types-crate",
        &RuntimeDep::Version("1".to_owned()),
    )
    .expect("crate");
    assert_eq!(out[2].path, Path::new("src/type.rs"));
    assert!(out[1].contents.contains("pub mod r#type;"));
}

/// One of each type shape whose spec text (docs, title, wire names, tag) is `text`, while every
/// identifier stays fixed.
fn api_with_text(text: &str) -> Api {
    let wire = |case: Case, ident: &str| Name {
        wire: text.to_owned(),
        rust: name(ident, case).rust,
    };
    // Docs can only be made by `Docs::from_text`, which escapes them once.
    let docs = Docs::from_text(text);
    let defs = vec![
        TypeDef {
            name: name("Holder", Case::Camel),
            docs: docs.clone(),
            kind: TypeKind::Struct(StructDef {
                fields: vec![Field {
                    name: wire(Case::Snake, "field"),
                    docs: docs.clone(),
                    ty: string(),
                    presence: Presence::OptionalNullable,
                }],
                additional: None,
                param: false,
            }),
            examples: vec![json!({ text: text })],
            location: None,
        },
        TypeDef {
            name: name("Kind", Case::Camel),
            docs: docs.clone(),
            kind: TypeKind::Enum(EnumDef {
                variants: vec![EnumVariant {
                    name: wire(Case::Camel, "Only"),
                    docs: docs.clone(),
                }],
                param: false,
            }),
            examples: Vec::new(),
            location: None,
        },
        TypeDef {
            name: name("Tagged", Case::Camel),
            docs: docs.clone(),
            kind: TypeKind::Union(UnionDef {
                repr: UnionRepr::Internal {
                    tag: text.to_owned(),
                },
                variants: vec![UnionVariant {
                    name: wire(Case::Camel, "Holder"),
                    docs: docs.clone(),
                    ty: Some(TypeRef::Named(TypeId(0))),
                    skip: false,
                }],
                unknown: None,
            }),
            examples: Vec::new(),
            location: None,
        },
    ];
    Api {
        module: name("fuzzed", Case::Snake),
        items: items(name(text, Case::Camel)),
        source: SourceInfo {
            file: text.to_owned(),
            spec: text.to_owned(),
            title: text.to_owned(),
            version: text.to_owned(),
        },
        docs,
        role: Role::Client,
        operations: Vec::new(),
        channels: Vec::new(),
        sockets: Vec::new(),
        types: TypeSpace { defs },
    }
}

fn idents_of(file: &OutputFile) -> Vec<String> {
    let parsed =
        syn::parse_file(&file.contents).unwrap_or_else(|e| panic!("{e}\n{}", file.contents));
    let mut idents = Idents {
        code_only: true,
        found: Vec::new(),
    };
    idents.visit_file(&parsed);
    idents.found
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever the spec text, the code has the same identifiers as with harmless text: spec
    /// text only ever lands inside literals and comments.
    #[test]
    fn spec_text_never_becomes_code(text in "(\\PC|[\\n\\r\\t\"\\\\`*/{}#!\\[\\]<>\\u{202E}\\u{2066}\\u{0}])*") {
        // Text equal to an identifier would need no `rename`.
        proptest::prop_assume!(!["field", "Only", "Holder"].contains(&text.as_str()));
        let settings = Settings::default();
        let baseline = emit(&api_with_text("x"), &settings).expect("emits");
        let file = emit(&api_with_text(&text), &settings).expect("emits");
        proptest::prop_assert_eq!(idents_of(&file), idents_of(&baseline));
        for line in file.contents.lines() {
            proptest::prop_assert!(!line.contains(['\u{202E}', '\u{2066}', '\r', '\0']), "{:?}", line);
        }
    }
}
