//! Safe Rust text from IR values: string literals, doc attributes, paths and type expressions.
//!
//! Templates print only what these functions (or a [`crate::names::RustIdent`]) return, so spec
//! text never reaches generated code except inside a string literal built by
//! [`proc_macro2::Literal`].

use crate::diag::{Diagnostic, Kind};
use crate::ir::{Docs, Scalar, TypeId, TypeRef, TypeSpace};

/// A string literal token for `text`, escaped as Rust requires (`"a\"b"`).
pub(crate) fn string_literal(text: &str) -> String {
    proc_macro2::Literal::string(text).to_string()
}

/// Code points that rustc rejects in comments and doc comments (`text_direction_codepoint_in_*`,
/// deny-by-default): prettyplease prints `#[doc = "..."]` as `///` followed by the decoded text,
/// so these must not survive into a doc line.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line of comment text made safe: no line breaks, no control characters except tab, no
/// bidirectional overrides (shown as `\u{..}` instead), no trailing spaces.
pub(crate) fn comment_text(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else if c.is_control() && c != '\t' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Doc lines as string literal tokens, one per line, for `#[doc = <literal>]`: each non-empty
/// line gets a leading space so it prints as `/// text`. Lines are split again at any line
/// break (the IR promises none, but the emitter does not rely on it), and blank lines at either
/// end are dropped.
pub(crate) fn doc_literals<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    for line in lines {
        for piece in line.replace("\r\n", "\n").split(['\n', '\r']) {
            texts.push(comment_text(piece));
        }
    }
    while texts.last().is_some_and(String::is_empty) {
        texts.pop();
    }
    let first = texts
        .iter()
        .position(|t| !t.is_empty())
        .unwrap_or(texts.len());
    texts
        .drain(first..)
        .map(|t| {
            if t.is_empty() {
                string_literal("")
            } else {
                string_literal(&format!(" {t}"))
            }
        })
        .collect()
}

/// The doc lines of a parameter's field: its own docs, then ` The `name` <where> parameter<what>.`
/// (`what` continues the sentence, e.g. ` of the upgrade request`).
pub(crate) fn param_doc_literals(
    docs: &Docs,
    wire: &str,
    location: crate::ir::ParamIn,
    what: &str,
) -> Vec<String> {
    let where_ = match location {
        crate::ir::ParamIn::Path => "path",
        crate::ir::ParamIn::Query => "query",
        crate::ir::ParamIn::Header => "header",
        crate::ir::ParamIn::Cookie => "cookie",
    };
    let mut lines = docs_literals(docs);
    if !lines.is_empty() {
        lines.push(string_literal(""));
    }
    lines.push(string_literal(&format!(
        " The `{wire}` {where_} parameter{what}."
    )));
    lines
}

/// [`doc_literals`] for IR docs.
pub(crate) fn docs_literals(docs: &Docs) -> Vec<String> {
    doc_literals(docs.lines.iter().map(String::as_str))
}

/// Parse a user-supplied path (a derive, the runtime path) and print it canonically
/// (`::serde::Serialize`). `None` unless it is a plain path: segments without generic arguments.
pub(crate) fn plain_path(text: &str) -> Option<String> {
    let path: syn::Path = syn::parse_str(text).ok()?;
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if !segment.arguments.is_none() {
            return None;
        }
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
    }
    Some(out)
}

/// Renders [`TypeRef`]s as Rust type expressions with absolute paths, so no spec type name can
/// shadow a standard type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TypeExpr<'a> {
    /// Where the named types are.
    pub space: &'a TypeSpace,
    /// Printed before a named type's identifier: `""` in the types module itself,
    /// `super::types::` from a sibling module.
    pub prefix: &'a str,
}

impl TypeExpr<'_> {
    /// The Rust type for `ty`. An id outside the type space is a wiregen bug, reported as such.
    pub fn render(&self, ty: &TypeRef) -> Result<String, Diagnostic> {
        Ok(match ty {
            TypeRef::Named(id) => format!("{}{}", self.prefix, named_ident(self.space, *id)?),
            TypeRef::Scalar(scalar) => scalar_type(*scalar).to_owned(),
            TypeRef::Json => "::serde_json::Value".to_owned(),
            TypeRef::Vec(inner) => format!("::std::vec::Vec<{}>", self.render(inner)?),
            TypeRef::Map(inner) => format!(
                "::std::collections::BTreeMap<::std::string::String, {}>",
                self.render(inner)?
            ),
            TypeRef::Option(inner) => format!("::std::option::Option<{}>", self.render(inner)?),
            TypeRef::Box(inner) => format!("::std::boxed::Box<{}>", self.render(inner)?),
        })
    }
}

/// The identifier of a type in the type space.
pub(crate) fn named_ident(space: &TypeSpace, id: TypeId) -> Result<&str, Diagnostic> {
    match space.defs.get(id.0) {
        Some(def) => Ok(def.name.rust.as_str()),
        None => Err(Diagnostic::error(
            Kind::Internal,
            format!(
                "wiregen bug: type id {} is outside the type space ({} types)",
                id.0,
                space.defs.len()
            ),
        )),
    }
}

/// The Rust type of a scalar.
pub(crate) fn scalar_type(scalar: Scalar) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_lines_are_single_literals() {
        let got = doc_literals([
            "",
            "a \"quoted\" \\ line",
            "",
            "two\nlines\r\nhere",
            "bidi \u{202E}x",
            "",
        ]);
        assert_eq!(
            got,
            [
                r#"" a \"quoted\" \\ line""#,
                r#""""#,
                r#"" two""#,
                r#"" lines""#,
                r#"" here""#,
                r#"" bidi \\u{202e}x""#,
            ]
        );
        for literal in got {
            let parsed: syn::LitStr = syn::parse_str(&literal).expect("a string literal");
            assert!(!parsed.value().contains(['\n', '\r', '\u{202E}']));
        }
    }

    #[test]
    fn literals_escape_what_rustc_would_reject() {
        // `text_direction_codepoint_in_literal` is deny-by-default: escape, never embed.
        assert_eq!(string_literal("a\u{202E}b"), r#""a\u{202e}b""#);
        assert_eq!(string_literal("\"\\\n\0"), r#""\"\\\n\0""#);
    }

    #[test]
    fn paths_must_be_plain() {
        assert_eq!(plain_path("Eq").as_deref(), Some("Eq"));
        assert_eq!(
            plain_path(" :: serde :: Serialize ").as_deref(),
            Some("::serde::Serialize")
        );
        assert_eq!(plain_path("r#type::X").as_deref(), Some("r#type::X"));
        for bad in [
            "",
            "Vec<u8>",
            "Eq)] fn pwned() {} #[derive(Eq",
            "a b",
            "1x",
            "::",
        ] {
            assert_eq!(plain_path(bad), None, "{bad:?}");
        }
    }
}
