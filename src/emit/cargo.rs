//! `--crate` output: a standalone crate around emitted files (`Cargo.toml`, `src/lib.rs`,
//! `src/<module>.rs`), whose dependencies are exactly what the emitted code uses.
//!
//! `Cargo.toml` ends with [`crate::write::KEEP_BELOW_MARKER`]: the write phase keeps whatever
//! a project adds below it (binaries, more dependencies) when it regenerates the crate.

use std::path::{Path, PathBuf};

use quote::quote;

use super::tokens::comment_text;
use super::{OutputFile, Uses, internal};
use crate::diag::{Diagnostic, Kind};
use crate::ir::{Api, Docs, SourceInfo};

/// How the generated crate depends on `wiregen-runtime`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeDep {
    /// `{ path = "..." }`: a path relative to the generated crate's directory, with `/`
    /// separators (never absolute: generated files are checked in).
    Path(String),
    /// `{ version = "..." }`.
    Version(String),
}

/// Cargo's rules for a package name, plus crates.io's (ASCII, starting with a letter).
pub fn validate_crate_name(name: &str) -> Result<(), Diagnostic> {
    const RESERVED: &[&str] = &[
        "std",
        "core",
        "alloc",
        "proc_macro",
        "proc-macro",
        "test",
        "self",
        "build",
    ];
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 64 {
        Some("it is longer than 64 characters")
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it does not start with an ASCII letter")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some("it contains characters other than ASCII letters, digits, `-` and `_`")
    } else if RESERVED.contains(&name) || is_keyword(&name.replace('-', "_")) {
        Some("it is a Rust keyword or a reserved crate name")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Diagnostic::error(
            Kind::Invalid,
            format!(
                "`{}` cannot be a package name: {problem}",
                comment_text(name)
            ),
        )
        .help("use letters, digits, `-` and `_`, starting with a letter, e.g. `petstore-api`")),
        None => Ok(()),
    }
}

/// Is `lib_name` a Rust keyword (which the names module would have to rewrite)?
fn is_keyword(lib_name: &str) -> bool {
    let lower = lib_name.to_ascii_lowercase();
    let ident = crate::names::ident(&lower, crate::names::Case::Snake);
    ident.as_str().starts_with("r#") || ident.as_str() == format!("{lower}_")
}

/// Wrap emitted files (one per API, in the order of `apis`) into a crate: `Cargo.toml`,
/// `src/lib.rs` with one `pub mod` per API (sorted by module name), and the files moved under
/// `src/`. Errors: an invalid crate name, or two APIs with the same module name
/// ([`Kind::Invalid`]).
pub fn crate_files(
    apis: &[Api],
    files: &[OutputFile],
    crate_name: &str,
    runtime: &RuntimeDep,
) -> Result<Vec<OutputFile>, Diagnostic> {
    validate_crate_name(crate_name)?;
    if apis.len() != files.len() {
        return Err(internal(format!(
            "{} APIs but {} emitted files",
            apis.len(),
            files.len()
        )));
    }
    let mut modules: Vec<(&Api, &OutputFile)> = apis.iter().zip(files).collect();
    modules.sort_by(|a, b| a.0.module.rust.unraw().cmp(b.0.module.rust.unraw()));
    for pair in modules.windows(2) {
        let (first, second) = (pair[0].0, pair[1].0);
        if first.module.rust.unraw() == second.module.rust.unraw() {
            return Err(Diagnostic::error(
                Kind::Invalid,
                format!(
                    "`{}` and `{}` would both be module `{}`",
                    comment_text(&first.source.file),
                    comment_text(&second.source.file),
                    first.module.rust.unraw()
                ),
            )
            .help("rename one of the spec files: the module name comes from the file name"));
        }
    }
    let uses = files
        .iter()
        .fold(Uses::default(), |all, file| all.union(file.uses));
    let sources: Vec<&SourceInfo> = modules.iter().map(|(api, _)| &api.source).collect();

    let mut out = vec![OutputFile {
        path: PathBuf::from("Cargo.toml"),
        contents: cargo_toml(crate_name, &sources, uses, runtime),
        uses: Uses::default(),
    }];
    out.push(OutputFile {
        path: PathBuf::from("src/lib.rs"),
        contents: lib_rs(&modules)?,
        uses,
    });
    for (api, file) in &modules {
        let expected = format!("{}.rs", api.module.rust.unraw());
        if file.path != Path::new(&expected) {
            return Err(internal(format!(
                "the file emitted for module `{}` is `{}`",
                api.module.rust,
                file.path.display()
            )));
        }
        out.push(OutputFile {
            path: Path::new("src").join(&file.path),
            contents: file.contents.clone(),
            uses: file.uses,
        });
    }
    Ok(out)
}

fn generated_from(sources: &[&SourceInfo]) -> String {
    let files: Vec<String> = sources.iter().map(|s| comment_text(&s.file)).collect();
    format!(
        "@generated by wiregen {} from {}. Do not edit.",
        env!("CARGO_PKG_VERSION"),
        files.join(", ")
    )
}

fn cargo_toml(name: &str, sources: &[&SourceInfo], uses: Uses, runtime: &RuntimeDep) -> String {
    let Uses {
        serde_json,
        chrono,
        uuid,
        runtime: needs_runtime,
        server,
        client,
        ws_server,
        ws_client,
        forms,
    } = uses;
    // The runtime's features: its HTTP and WebSocket halves, and parameter support for chrono
    // and uuid types.
    let mut features: Vec<&str> = Vec::new();
    if server {
        features.push("http-server");
    }
    if client {
        features.push("http-client");
    }
    if forms && !server && !client {
        features.push("forms");
    }
    if ws_server {
        features.push("ws-server");
    }
    if ws_client {
        features.push("ws-client");
    }
    let any_part = server || client || ws_server || ws_client;
    if any_part && chrono {
        features.push("chrono");
    }
    if any_part && uuid {
        features.push("uuid");
    }
    let features = if features.is_empty() {
        String::new()
    } else {
        format!(
            ", features = [{}]",
            features
                .iter()
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    // Sorted by name, as `cargo add` keeps them.
    let mut deps: Vec<String> = Vec::new();
    if chrono {
        deps.push(r#"chrono = { version = "0.4", default-features = false, features = ["serde", "std"] }"#.to_owned());
    }
    deps.push(r#"serde = { version = "1", features = ["derive"] }"#.to_owned());
    if serde_json {
        deps.push(r#"serde_json = "1""#.to_owned());
    }
    if uuid {
        deps.push(r#"uuid = { version = "1", features = ["serde"] }"#.to_owned());
    }
    if needs_runtime {
        deps.push(match runtime {
            RuntimeDep::Path(path) => {
                format!(
                    "wiregen-runtime = {{ path = {}{features} }}",
                    toml_string(path)
                )
            }
            RuntimeDep::Version(version) => {
                format!(
                    "wiregen-runtime = {{ version = {}{features} }}",
                    toml_string(version)
                )
            }
        });
    }
    format!(
        "# {}\n\
         [package]\n\
         name = {}\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         {}\n\
         \n\
         {}\n",
        generated_from(sources),
        toml_string(name),
        deps.join("\n"),
        crate::write::KEEP_BELOW_MARKER
    )
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Markdown code span that holds `text` whatever backticks it contains.
fn code_span(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// `` `specs/petstore.yaml` (OpenAPI 3.1.0) ``, safe as Markdown.
fn source_description(source: &SourceInfo) -> String {
    let SourceInfo {
        file,
        spec,
        title: _,
        version: _,
    } = source;
    let spec = comment_text(spec);
    let plain = spec
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " .,()-".contains(c));
    let spec = if plain { spec } else { code_span(&spec) };
    format!("{} ({spec})", code_span(&comment_text(file)))
}

fn lib_rs(modules: &[(&Api, &OutputFile)]) -> Result<String, Diagnostic> {
    // Spec titles and descriptions stay in the modules' own docs, which allow the lints they
    // need; here only file names (in code spans, where Markdown means nothing) appear.
    let mut lines = vec![
        format!("Generated by wiregen {} from:", env!("CARGO_PKG_VERSION")),
        String::new(),
    ];
    let mut items = Vec::with_capacity(modules.len());
    for (api, _) in modules {
        let from = source_description(&api.source);
        // Not `- [x]: ...`: that would be a link reference definition.
        lines.push(format!("- [`{}`] from {from}", api.module.rust.unraw()));
        let docs = super::tokens::doc(&format!("Generated from {from}."));
        let ident = &api.module.rust;
        // `rustfmt::skip`: wiregen formats each module already (prettyplease), and `cargo fmt`
        // in the user's workspace must neither rewrite it nor make `--check` see drift.
        items.push(quote! {
            #docs
            #[rustfmt::skip]
            pub mod #ident;
        });
    }
    let uses_runtime = modules.iter().any(|(_, file)| file.uses.runtime);
    if uses_runtime {
        // Users implement the server traits with the runtime's types (`EventStream`,
        // `Outbound`, `HttpError`): they reach them through this crate, without naming the
        // runtime in their own Cargo.toml.
        items.push(quote! {
            /// The runtime the generated code uses (`wiregen-runtime`), re-exported: its types
            /// appear in the traits to implement.
            pub use ::wiregen_runtime;
        });
    }
    let docs = super::tokens::doc_attrs(&Docs::from_text(&lines.join("\n")), true);
    let formatted = crate::format::format_tokens(quote!(#docs #(#items)*), "src/lib.rs")?;
    let sources: Vec<&SourceInfo> = modules.iter().map(|(api, _)| &api.source).collect();
    Ok(format!("// {}\n{formatted}", generated_from(&sources)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names() {
        for good in ["petstore", "petstore-api", "a_b2"] {
            assert!(validate_crate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1x",
            "-x",
            "a b",
            "fn",
            "self",
            "std",
            "a\"b",
            "ü",
            &"x".repeat(65),
        ] {
            let d = validate_crate_name(bad).expect_err(bad);
            assert_eq!(d.kind, Kind::Invalid);
        }
    }

    #[test]
    fn toml_strings_and_code_spans() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("a\nb"), r#""a\u000Ab""#);
        assert_eq!(code_span("x.yaml"), "`x.yaml`");
        assert_eq!(code_span("a`b"), "`` a`b ``");
    }
}
