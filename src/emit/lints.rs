//! Which lints a generated module must allow: only those its contents can trigger.
//!
//! Generated code has to build under `#![deny(warnings)]` and `cargo clippy -- -D warnings` in
//! the user's crate, yet spec text (descriptions, names) is not written with rustdoc or clippy
//! in mind. Each check here over-approximates one lint: when in doubt, allow it. Only lints that
//! exist from the workspace's `rust-version` on and are not removed since may be named (a
//! removed lint, like `rustdoc::unportable_markdown`, is itself a warning).

use std::collections::BTreeSet;

use crate::ir::{Scalar, TypeRef};

/// clippy's `enum-variant-name-threshold` default: enums with fewer variants are not checked.
const ENUM_VARIANT_NAME_THRESHOLD: usize = 3;

/// clippy's `type-complexity-threshold` is 250; leave some margin.
const TYPE_COMPLEXITY_LIMIT: u64 = 200;

/// The lints to allow, collected while a module is built.
#[derive(Debug, Default)]
pub(crate) struct Allows {
    lints: BTreeSet<&'static str>,
}

impl Allows {
    /// The lint paths, sorted.
    pub fn into_vec(self) -> Vec<&'static str> {
        self.lints.into_iter().collect()
    }

    /// An item, field or variant has no documentation.
    pub fn undocumented(&mut self) {
        self.lints.insert("missing_docs");
    }

    /// Doc text (before it becomes literals). Fenced code blocks are skipped, except that a
    /// block rustdoc would treat as Rust is itself a reason to allow `invalid_rust_codeblocks`.
    pub fn docs<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        let mut fence: Option<char> = None;
        for line in lines {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let fence_char = trimmed.chars().next().filter(|c| matches!(c, '`' | '~'));
            let opens = fence_char.is_some_and(|c| trimmed.starts_with(&String::from(c).repeat(3)));
            if indent <= 3 && opens {
                match fence {
                    Some(open) if Some(open) == fence_char => fence = None,
                    Some(_) => {}
                    None => {
                        fence = fence_char;
                        let info = trimmed.trim_start_matches(['`', '~']).trim();
                        if is_rust_info_string(info) {
                            self.lints.insert("rustdoc::invalid_rust_codeblocks");
                        }
                    }
                }
                continue;
            }
            if fence.is_some() {
                continue;
            }
            self.prose_line(line, indent, trimmed);
        }
    }

    fn prose_line(&mut self, line: &str, indent: usize, trimmed: &str) {
        if line.contains('\t') {
            self.lints.insert("clippy::tabs_in_doc_comments");
        }
        if indent >= 4 || line.starts_with('\t') {
            // An indented code block is Rust to rustdoc.
            self.lints.insert("rustdoc::invalid_rust_codeblocks");
        }
        if line.contains("://") || line.contains("www.") {
            self.lints.insert("rustdoc::bare_urls");
        }
        if line.contains('[') {
            self.lints.insert("rustdoc::broken_intra_doc_links");
            self.lints.insert("rustdoc::redundant_explicit_links");
        }
        if line.contains("]:") {
            self.lints.insert("clippy::doc_nested_refdefs");
        }
        if line.contains('<') {
            self.lints.insert("rustdoc::invalid_html_tags");
        }
        if starts_block(trimmed) {
            self.lints.insert("clippy::doc_lazy_continuation");
            self.lints.insert("clippy::doc_overindented_list_items");
        }
    }

    /// An enum (string or union) with these variant identifiers.
    pub fn variants(&mut self, count: usize) {
        if count >= ENUM_VARIANT_NAME_THRESHOLD {
            self.lints.insert("clippy::enum_variant_names");
        }
    }

    /// A union whose variants carry data of possibly very different sizes.
    pub fn union_sizes(&mut self, variants: usize, with_data: usize) {
        if variants >= 2 && with_data >= 1 {
            self.lints.insert("clippy::large_enum_variant");
        }
    }

    /// A type written in a field, variant or alias (as a type expression: including the
    /// `Option`s a field's presence adds, given as `options`).
    pub fn field_type(&mut self, ty: &TypeRef, options: u64) {
        // Each `Option` wrapper is one more path level outside the type.
        let wrappers: u64 = (1..=options).map(|nest| 10 * nest).sum();
        if wrappers + complexity(ty, options + 1) > TYPE_COMPLEXITY_LIMIT {
            self.lints.insert("clippy::type_complexity");
        }
        self.allocation(ty);
    }

    /// `Vec<Box<T>>`, `Box<Vec<T>>`, `Box<String>`, `Box<Box<T>>` are each a clippy lint.
    fn allocation(&mut self, ty: &TypeRef) {
        match ty {
            TypeRef::Named(_) | TypeRef::Scalar(_) | TypeRef::Json => {}
            TypeRef::Vec(inner) => {
                if matches!(**inner, TypeRef::Box(_)) {
                    self.lints.insert("clippy::vec_box");
                }
                self.allocation(inner);
            }
            TypeRef::Box(inner) => {
                match **inner {
                    TypeRef::Vec(_) | TypeRef::Map(_) | TypeRef::Scalar(Scalar::String) => {
                        self.lints.insert("clippy::box_collection");
                    }
                    TypeRef::Box(_) => {
                        self.lints.insert("clippy::redundant_allocation");
                    }
                    _ => {}
                }
                self.allocation(inner);
            }
            TypeRef::Map(inner) | TypeRef::Option(inner) => self.allocation(inner),
        }
    }
}

/// Does a fence's info string make rustdoc treat the block as Rust?
fn is_rust_info_string(info: &str) -> bool {
    const RUSTISH: &[&str] = &[
        "rust",
        "ignore",
        "should_panic",
        "no_run",
        "compile_fail",
        "test_harness",
        "standalone_crate",
    ];
    let mut words = info
        .split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek().is_none() {
        return true;
    }
    words.any(|w| RUSTISH.contains(&w) || w.starts_with("edition") || w.starts_with('{'))
}

/// Does a doc line start a Markdown list item or block quote?
fn starts_block(trimmed: &str) -> bool {
    if trimmed.starts_with(['-', '*', '+', '>']) {
        return true;
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && trimmed[digits..].starts_with(['.', ')'])
}

/// clippy's `type_complexity` score of a type written at nesting level `nest`: every path
/// counts `10 * nest`, and its generic arguments are one level deeper.
fn complexity(ty: &TypeRef, nest: u64) -> u64 {
    let path = 10 * nest;
    match ty {
        TypeRef::Named(_) | TypeRef::Json => path,
        TypeRef::Scalar(Scalar::DateTime) => path + 10 * (nest + 1),
        TypeRef::Scalar(_) => path,
        TypeRef::Map(inner) => path + 10 * (nest + 1) + complexity(inner, nest + 1),
        TypeRef::Vec(inner) | TypeRef::Option(inner) | TypeRef::Box(inner) => {
            path + complexity(inner, nest + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_in_fences_are_skipped() {
        let mut allows = Allows::default();
        allows.docs(["plain text", "```json", "[\"<http://x>\"]", "```"]);
        assert!(allows.into_vec().is_empty());
        let mut allows = Allows::default();
        allows.docs([
            "see https://example.com",
            "- item",
            "a [link]",
            "```",
            "fn x() {}",
            "```",
        ]);
        assert_eq!(
            allows.into_vec(),
            [
                "clippy::doc_lazy_continuation",
                "clippy::doc_overindented_list_items",
                "rustdoc::bare_urls",
                "rustdoc::broken_intra_doc_links",
                "rustdoc::invalid_rust_codeblocks",
                "rustdoc::redundant_explicit_links",
            ]
        );
    }

    #[test]
    fn complexity_matches_clippy_scoring() {
        // Option<Option<BTreeMap<String, Vec<i64>>>> as clippy scores it:
        // 10 + 20 + 30 + 40 (String) + 40 (Vec) + 50 (i64).
        let map = TypeRef::Map(Box::new(TypeRef::Vec(Box::new(TypeRef::Scalar(
            Scalar::I64,
        )))));
        assert_eq!(10 + 20 + complexity(&map, 3), 190);
        let mut allows = Allows::default();
        allows.field_type(&map, 2);
        assert!(allows.into_vec().is_empty());
        let deep = TypeRef::Vec(Box::new(TypeRef::Vec(Box::new(map))));
        let mut allows = Allows::default();
        allows.field_type(&deep, 2);
        assert_eq!(allows.into_vec(), ["clippy::type_complexity"]);
    }
}
