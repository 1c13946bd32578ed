//! The format phase: the emitted tokens parsed into a syntax tree with syn and printed with
//! prettyplease, once per file.
//!
//! Parsing is also the check that emitters produced valid Rust: an emitter bug fails here, as a
//! [`Kind::Internal`] diagnostic, never in the user's crate.

use std::collections::BTreeSet;

use syn::spanned::Spanned;

use crate::diag::{Diagnostic, Kind, Location};

/// Parse emitted `tokens` as a file and print it with prettyplease, with a blank line between
/// consecutive items (prettyplease prints them back to back). `what` names the file in a
/// diagnostic.
pub fn format_tokens(tokens: proc_macro2::TokenStream, what: &str) -> Result<String, Diagnostic> {
    let file: syn::File = syn::parse2(tokens.clone()).map_err(|error| {
        // Tokens have no lines: show the error in the tokens' text, where it can be found.
        let text = tokens.to_string();
        invalid_rust(
            &text,
            &format!("{what} (as emitted)"),
            &match syn::parse_file(&text) {
                Err(located) => located,
                Ok(_) => error,
            },
        )
    })?;
    let printed = prettyplease::unparse(&file);
    Ok(separate_items(&printed))
}

/// Parse Rust text and print it as [`format_tokens`] does.
pub fn format(rendered: &str, what: &str) -> Result<String, Diagnostic> {
    let file = syn::parse_file(rendered).map_err(|error| invalid_rust(rendered, what, &error))?;
    let printed = prettyplease::unparse(&file);
    Ok(separate_items(&printed))
}

fn invalid_rust(rendered: &str, what: &str, error: &syn::Error) -> Diagnostic {
    let start = error.span().start();
    // Lines are 1-based, columns 0-based (in characters); line 0 means "unknown".
    let line = start.line.max(1);
    let full_line = rendered.lines().nth(line - 1).unwrap_or_default();
    // One line of emitted tokens can be long: show the part around the error.
    let first = start.column.saturating_sub(80);
    let source_line: String = full_line.chars().skip(first).take(200).collect();
    Diagnostic::error(
        Kind::Internal,
        format!("wiregen bug: the emitted code is not valid Rust: {error}"),
    )
    .at(Some(Location {
        file: what.to_owned(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(start.column + 1).unwrap_or(u32::MAX),
        source_line,
        source_offset: u32::try_from(first).unwrap_or(u32::MAX),
    }))
    .help("please report this, with the spec that triggered it")
}

/// Insert a blank line after every item that is followed by another item in the same file,
/// module, impl or trait. Item ends are found by parsing the printed text again, so nothing
/// inside an item (a string literal, a function body) is touched.
fn separate_items(printed: &str) -> String {
    let Ok(file) = syn::parse_file(printed) else {
        // prettyplease output always parses; if not, leave it as printed.
        return printed.to_owned();
    };
    let mut ends = BTreeSet::new();
    after_inner_attrs(&file.attrs, &file.items, &mut ends);
    item_ends(&file.items, &mut ends);
    let mut out = String::with_capacity(printed.len() + 64 * ends.len());
    for (index, line) in printed.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        if ends.contains(&(index + 1)) {
            out.push('\n');
        }
    }
    out
}

/// The last line of every item that another item follows, recursively.
fn item_ends(items: &[syn::Item], ends: &mut BTreeSet<usize>) {
    for pair in items.windows(2) {
        // `mod a;` and `use` declarations stay grouped, as people write them.
        let grouped = |item: &syn::Item| match item {
            syn::Item::Mod(module) => module.content.is_none(),
            syn::Item::Use(_) => true,
            _ => false,
        };
        if !(grouped(&pair[0]) && grouped(&pair[1])) {
            ends.insert(pair[0].span().end().line);
        }
    }
    for item in items {
        match item {
            syn::Item::Mod(module) => {
                if let Some((_, inner)) = &module.content {
                    after_inner_attrs(&module.attrs, inner, ends);
                    item_ends(inner, ends);
                }
            }
            syn::Item::Impl(block) => {
                spans_before_next(block.items.iter().map(Spanned::span), ends)
            }
            syn::Item::Trait(block) => {
                spans_before_next(block.items.iter().map(Spanned::span), ends)
            }
            _ => {}
        }
    }
}

/// The last line of the inner attributes (`//!` docs, `#![allow(..)]`) when items follow them.
fn after_inner_attrs(attrs: &[syn::Attribute], items: &[syn::Item], ends: &mut BTreeSet<usize>) {
    let last_inner = attrs
        .iter()
        .rfind(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    if let (Some(attr), false) = (last_inner, items.is_empty()) {
        ends.insert(attr.span().end().line);
    }
}

fn spans_before_next(spans: impl Iterator<Item = proc_macro2::Span>, ends: &mut BTreeSet<usize>) {
    let spans: Vec<_> = spans.collect();
    for pair in spans.windows(2) {
        ends.insert(pair[0].end().line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_separated_by_blank_lines() {
        // The string literal holds a real line break and a `}`: the text inside stays as is.
        let rendered = "#[doc = \" A\"] pub mod types { #![allow(missing_docs)] pub struct A { pub a: i32 } \
                        pub enum B { X } impl B { pub fn one(&self) -> &'static str { \"}\n\" } pub fn two(&self) {} } \
                        pub type C = A; }";
        let got = format(rendered, "test.rs").expect("valid Rust");
        let want = "/// A
pub mod types {
    #![allow(missing_docs)]

    pub struct A {
        pub a: i32,
    }

    pub enum B {
        X,
    }

    impl B {
        pub fn one(&self) -> &'static str {
            \"}\n\"
        }

        pub fn two(&self) {}
    }

    pub type C = A;
}
";
        assert_eq!(got, want);
    }

    #[test]
    fn invalid_rust_points_into_the_rendered_text() {
        let rendered = "pub mod types {\n    pub struct A {\n        pub a: ,\n    }\n}\n";
        let diagnostic = format(rendered, "x.rs (as rendered)").expect_err("invalid Rust");
        assert_eq!(diagnostic.kind, Kind::Internal);
        assert!(
            diagnostic
                .message
                .starts_with("wiregen bug: the emitted code is not valid Rust")
        );
        let location = diagnostic.location.expect("a location");
        assert_eq!(location.file, "x.rs (as rendered)");
        assert_eq!(location.line, 3);
        assert_eq!(location.column, 16);
        assert_eq!(location.source_line, "        pub a: ,");
    }
}
