//! Tokens from IR values: doc attributes, string literals, paths and type expressions.
//!
//! Emitters build code with `quote!` from what these functions (or a
//! [`crate::names::RustIdent`]) return, so spec text never reaches generated code except inside
//! a string literal built by [`proc_macro2::Literal`] — and doc text only through
//! [`Docs`](crate::ir::Docs), which escaped it once.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};

use crate::diag::{Diagnostic, Kind};
use crate::ir::{Docs, Scalar, TypeId, TypeRef, TypeSpace};
use crate::names::RustIdent;

impl ToTokens for RustIdent {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.to_ident().to_tokens(tokens);
    }
}

/// A string literal token for `text`, escaped as Rust requires.
pub(crate) fn lit(text: &str) -> Literal {
    Literal::string(text)
}

/// One `#[doc = "..."]` per line of `docs` (a non-empty line gets a leading space, so it prints
/// as `/// text`). `inner` gives `#![doc = "..."]`.
pub(crate) fn doc_attrs(docs: &Docs, inner: bool) -> TokenStream {
    let mut out = TokenStream::new();
    for line in docs.lines() {
        let text = if line.is_empty() {
            lit("")
        } else {
            lit(&format!(" {line}"))
        };
        out.extend(if inner {
            quote!(#![doc = #text])
        } else {
            quote!(#[doc = #text])
        });
    }
    out
}

/// Outer doc attributes.
pub(crate) fn docs(docs: &Docs) -> TokenStream {
    doc_attrs(docs, false)
}

/// Outer doc attributes from generated text (made safe by [`Docs::from_text`]).
pub(crate) fn doc(text: &str) -> TokenStream {
    docs(&Docs::from_text(text))
}

/// Parse a user-supplied path (a derive, the runtime path). `None` unless it is a plain path:
/// segments without generic arguments.
pub(crate) fn plain_path(text: &str) -> Option<syn::Path> {
    let path: syn::Path = syn::parse_str(text).ok()?;
    path.segments
        .iter()
        .all(|segment| segment.arguments.is_none())
        .then_some(path)
}

/// How generated code names the runtime crate (`::wiregen_runtime`): the path as tokens.
#[derive(Clone)]
pub(crate) struct Runtime {
    path: syn::Path,
}

impl Runtime {
    /// The runtime at `path` (a plain path, see [`plain_path`]).
    pub fn new(path: syn::Path) -> Self {
        Runtime { path }
    }

    /// The path as text, as a string literal naming it needs it (`::wiregen_runtime`).
    pub fn path_text(&self) -> String {
        let mut out = String::new();
        if self.path.leading_colon.is_some() {
            out.push_str("::");
        }
        for (i, segment) in self.path.segments.iter().enumerate() {
            if i > 0 {
                out.push_str("::");
            }
            out.push_str(&segment.ident.to_string());
        }
        out
    }
}

impl ToTokens for Runtime {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.path.to_tokens(tokens);
    }
}

/// Writes [`TypeRef`]s as Rust types with absolute paths, so no spec type name can shadow a
/// standard type.
#[derive(Clone, Copy)]
pub(crate) struct TypeExpr<'a> {
    /// Where the named types are.
    pub space: &'a TypeSpace,
    /// Does a named type need `super::types::` in front (outside the types module)?
    pub outside: bool,
}

impl TypeExpr<'_> {
    /// The Rust type for `ty`. An id outside the type space is a wiregen bug, reported as such.
    pub fn ty(&self, ty: &TypeRef) -> Result<TokenStream, Diagnostic> {
        Ok(match ty {
            TypeRef::Named(id) => self.named(*id)?,
            TypeRef::Scalar(scalar) => scalar_type(*scalar),
            TypeRef::Json => quote!(::serde_json::Value),
            TypeRef::Vec(inner) => {
                let inner = self.ty(inner)?;
                quote!(::std::vec::Vec<#inner>)
            }
            TypeRef::Map(inner) => {
                let inner = self.ty(inner)?;
                quote!(::std::collections::BTreeMap<::std::string::String, #inner>)
            }
            TypeRef::Option(inner) => {
                let inner = self.ty(inner)?;
                quote!(::std::option::Option<#inner>)
            }
            TypeRef::Box(inner) => {
                let inner = self.ty(inner)?;
                quote!(::std::boxed::Box<#inner>)
            }
        })
    }

    /// A named type.
    pub fn named(&self, id: TypeId) -> Result<TokenStream, Diagnostic> {
        let ident = named_ident(self.space, id)?;
        Ok(if self.outside {
            quote!(super::types::#ident)
        } else {
            quote!(#ident)
        })
    }
}

/// The identifier of a type in the type space.
pub(crate) fn named_ident(space: &TypeSpace, id: TypeId) -> Result<&RustIdent, Diagnostic> {
    match space.defs.get(id.0) {
        Some(def) => Ok(&def.name.rust),
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
pub(crate) fn scalar_type(scalar: Scalar) -> TokenStream {
    match scalar {
        Scalar::String => quote!(::std::string::String),
        Scalar::Bool => quote!(bool),
        Scalar::I8 => quote!(i8),
        Scalar::I16 => quote!(i16),
        Scalar::I32 => quote!(i32),
        Scalar::I64 => quote!(i64),
        Scalar::U8 => quote!(u8),
        Scalar::U16 => quote!(u16),
        Scalar::U32 => quote!(u32),
        Scalar::U64 => quote!(u64),
        Scalar::F32 => quote!(f32),
        Scalar::F64 => quote!(f64),
        Scalar::DateTime => quote!(::chrono::DateTime<::chrono::FixedOffset>),
        Scalar::Date => quote!(::chrono::NaiveDate),
        Scalar::Uuid => quote!(::uuid::Uuid),
        Scalar::Bytes => quote!(::std::vec::Vec<u8>),
    }
}

/// `// text` made safe for a comment line: no line breaks, no control characters, no
/// bidirectional overrides (spelled out instead).
pub(crate) fn comment_text(text: &str) -> String {
    Docs::from_text(&text.replace(['\n', '\r'], " "))
        .lines()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_lines_are_single_literals() {
        let docs = Docs::from_text("a \"quoted\" \\ line\n\ntwo\r\nbidi \u{202E}x");
        let got = doc_attrs(&docs, false).to_string();
        assert_eq!(
            got,
            r##"# [doc = " a \"quoted\" \\ line"] # [doc = ""] # [doc = " two"] # [doc = " bidi \\u{202e}x"]"##
        );
    }

    #[test]
    fn literals_escape_what_rustc_would_reject() {
        // `text_direction_codepoint_in_literal` is deny-by-default: escape, never embed.
        assert_eq!(lit("a\u{202E}b").to_string(), r#""a\u{202e}b""#);
        assert_eq!(lit("\"\\\n\0").to_string(), r#""\"\\\n\0""#);
    }

    #[test]
    fn paths_must_be_plain() {
        let printed = |text: &str| plain_path(text).map(|p| p.to_token_stream().to_string());
        assert_eq!(printed("Eq").as_deref(), Some("Eq"));
        assert_eq!(
            printed(" :: serde :: Serialize ").as_deref(),
            Some(":: serde :: Serialize")
        );
        assert_eq!(printed("r#type::X").as_deref(), Some("r#type :: X"));
        for bad in [
            "",
            "Vec<u8>",
            "Eq)] fn pwned() {} #[derive(Eq",
            "a b",
            "1x",
            "::",
        ] {
            assert!(plain_path(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn comments_hold_one_safe_line() {
        assert_eq!(comment_text("a\nb\u{202E}"), "a b\\u{202e}");
    }
}
