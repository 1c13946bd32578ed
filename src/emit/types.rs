//! The types part: `pub mod types { ... }` with one Rust item per [`TypeDef`], in type-space order.
//!
//! Everything the template prints is computed here first: identifiers from
//! [`crate::names::RustIdent`], literals and doc lines from [`super::tokens`], type expressions
//! from [`TypeExpr`].

use askama::Template;

use super::Uses;
use super::lints::Allows;
use super::tokens::{TypeExpr, doc_literals, docs_literals, string_literal};
use crate::diag::Diagnostic;
use crate::ir::{
    AdditionalProperties, Api, Docs, EnumDef, EnumVariant, Field, Presence, SourceInfo, StructDef,
    TypeDef, TypeKind, TypeRef, UnionDef, UnionRepr, UnionVariant,
};

/// Derives of every struct and union.
const DATA_DERIVES: &[&str] = &[
    "Clone",
    "Debug",
    "PartialEq",
    "::serde::Serialize",
    "::serde::Deserialize",
];

/// Derives of every string enum.
const ENUM_DERIVES: &[&str] = &[
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "PartialOrd",
    "Ord",
    "::serde::Serialize",
    "::serde::Deserialize",
];

/// `skip_serializing_if` for optional fields.
const SKIP_NONE: &str = r#"skip_serializing_if = "::std::option::Option::is_none""#;

/// What the types part needs from the settings, already validated.
#[derive(Clone, Debug)]
pub(crate) struct TypesOptions {
    /// Extra derive paths, canonical (`::schemars::JsonSchema`).
    pub extra_derives: Vec<String>,
    /// The runtime path, canonical (`::wiregen_runtime`).
    pub runtime_path: String,
}

/// `templates/types.rs.askama`: the whole `pub mod types`.
#[derive(Template)]
#[template(path = "types.rs.askama", escape = "none")]
struct TypesModule {
    docs: Vec<String>,
    allows: Vec<&'static str>,
    items: Vec<Item>,
}

enum Item {
    Struct(StructItem),
    Enum(EnumItem),
    Union(UnionItem),
    Alias(AliasItem),
}

struct StructItem {
    docs: Vec<String>,
    derives: Vec<String>,
    ident: String,
    fields: Vec<FieldItem>,
}

struct FieldItem {
    docs: Vec<String>,
    serde: Vec<String>,
    ident: String,
    ty: String,
}

struct EnumItem {
    docs: Vec<String>,
    derives: Vec<String>,
    ident: String,
    variants: Vec<EnumVariantItem>,
}

struct EnumVariantItem {
    docs: Vec<String>,
    serde: Vec<String>,
    ident: String,
    /// The wire value as a string literal.
    wire: String,
}

struct UnionItem {
    docs: Vec<String>,
    derives: Vec<String>,
    serde: Vec<String>,
    ident: String,
    variants: Vec<UnionVariantItem>,
}

struct UnionVariantItem {
    docs: Vec<String>,
    serde: Vec<String>,
    ident: String,
    ty: Option<String>,
}

struct AliasItem {
    docs: Vec<String>,
    ident: String,
    ty: String,
}

/// Render the types module of an API; records what the code uses in `uses`.
pub(crate) fn render(
    api: &Api,
    options: &TypesOptions,
    uses: &mut Uses,
) -> Result<String, Diagnostic> {
    let mut builder = Builder {
        api,
        options,
        expr: TypeExpr {
            space: &api.types,
            prefix: "",
        },
        allows: Allows::default(),
        uses,
    };
    let docs = builder.module_docs();
    let mut items = Vec::with_capacity(api.types.defs.len());
    for def in &api.types.defs {
        items.push(builder.item(def)?);
    }
    let module = TypesModule {
        docs,
        allows: builder.allows.into_vec(),
        items,
    };
    super::render_template(&module, "types")
}

struct Builder<'a> {
    api: &'a Api,
    options: &'a TypesOptions,
    expr: TypeExpr<'a>,
    allows: Allows,
    uses: &'a mut Uses,
}

impl Builder<'_> {
    /// `<title> <version>: payload types.`, then the API's description (without a first line
    /// that only repeats the title).
    fn module_docs(&mut self) -> Vec<String> {
        let SourceInfo {
            file: _,
            spec: _,
            title,
            version,
        } = &self.api.source;
        let mut lines = vec![format!("{title} {version}: payload types.")];
        let mut description = self.api.docs.lines.as_slice();
        if let Some((first, rest)) = description.split_first()
            && (first.trim() == title.trim()
                || first.trim() == format!("{} {}", title.trim(), version.trim()))
        {
            description = rest;
        }
        let description: Vec<&String> = description
            .iter()
            .skip_while(|l| l.trim().is_empty())
            .collect();
        if !description.is_empty() {
            lines.push(String::new());
            lines.extend(description.into_iter().cloned());
        }
        self.allows.docs(lines.iter().map(String::as_str));
        doc_literals(lines.iter().map(String::as_str))
    }

    /// Doc literals for an item, field or variant, noting what they need allowed.
    fn docs(&mut self, docs: &Docs) -> Vec<String> {
        self.allows.docs(docs.lines.iter().map(String::as_str));
        let literals = docs_literals(docs);
        if literals.is_empty() {
            self.allows.undocumented();
        }
        literals
    }

    /// A type's docs followed by its examples as JSON blocks.
    fn type_docs(
        &mut self,
        docs: &Docs,
        examples: &[serde_json::Value],
    ) -> Result<Vec<String>, Diagnostic> {
        let mut all = docs.clone();
        if !examples.is_empty() {
            let mut section = vec![
                if examples.len() == 1 {
                    "# Example"
                } else {
                    "# Examples"
                }
                .to_owned(),
            ];
            for (i, example) in examples.iter().enumerate() {
                let json = serde_json::to_string_pretty(example).map_err(|e| {
                    super::internal(format!("an example could not be printed as JSON: {e}"))
                })?;
                if i > 0 {
                    section.push(String::new());
                }
                section.push("```json".to_owned());
                section.extend(json.lines().map(str::to_owned));
                section.push("```".to_owned());
            }
            all.push_paragraph(Docs { lines: section });
        }
        Ok(self.docs(&all))
    }

    fn ty(&mut self, ty: &TypeRef, options: u64) -> Result<String, Diagnostic> {
        self.uses.note_type(ty);
        self.allows.field_type(ty, options);
        self.expr.render(ty)
    }

    fn derives(&self, builtin: &[&str]) -> Vec<String> {
        let last_segment = |path: &str| path.rsplit("::").next().unwrap_or(path).to_owned();
        let builtin_names: Vec<String> = builtin.iter().map(|p| last_segment(p)).collect();
        let mut derives: Vec<String> = builtin.iter().map(|d| (*d).to_owned()).collect();
        for extra in &self.options.extra_derives {
            // A derive the type already has (`Eq` on a string enum) would be a conflicting impl.
            if !builtin_names.contains(&last_segment(extra)) && !derives.contains(extra) {
                derives.push(extra.clone());
            }
        }
        derives
    }

    fn item(&mut self, def: &TypeDef) -> Result<Item, Diagnostic> {
        let TypeDef {
            name,
            docs,
            kind,
            examples,
            location: _,
        } = def;
        let docs = self.type_docs(docs, examples)?;
        let ident = name.rust.as_str().to_owned();
        Ok(match kind {
            TypeKind::Struct(def) => Item::Struct(self.structure(docs, ident, def)?),
            TypeKind::Enum(def) => Item::Enum(self.string_enum(docs, ident, def)),
            TypeKind::Union(def) => Item::Union(self.union(docs, ident, def)?),
            TypeKind::Alias(ty) => Item::Alias(AliasItem {
                docs,
                ident,
                ty: self.ty(ty, 0)?,
            }),
        })
    }

    fn structure(
        &mut self,
        docs: Vec<String>,
        ident: String,
        def: &StructDef,
    ) -> Result<StructItem, Diagnostic> {
        let StructDef { fields, additional } = def;
        let mut items = Vec::with_capacity(fields.len() + 1);
        for field in fields {
            items.push(self.field(field)?);
        }
        if let Some(AdditionalProperties { field, value }) = additional {
            // The flattened catch-all is exactly a map type.
            let ty = self.ty(&TypeRef::Map(Box::new(value.clone())), 0)?;
            items.push(FieldItem {
                docs: doc_literals(["Properties not listed above."]),
                serde: vec!["flatten".to_owned()],
                ident: field.as_str().to_owned(),
                ty,
            });
        }
        Ok(StructItem {
            docs,
            derives: self.derives(DATA_DERIVES),
            ident,
            fields: items,
        })
    }

    fn field(&mut self, field: &Field) -> Result<FieldItem, Diagnostic> {
        let Field {
            name,
            docs,
            ty,
            presence,
        } = field;
        let docs = self.docs(docs);
        let mut serde = Vec::new();
        if name.needs_rename() {
            serde.push(format!("rename = {}", string_literal(&name.wire)));
        }
        let ty = match presence {
            Presence::Required => self.ty(ty, 0)?,
            Presence::RequiredNullable => format!("::std::option::Option<{}>", self.ty(ty, 1)?),
            Presence::Optional => {
                serde.push("default".to_owned());
                serde.push(SKIP_NONE.to_owned());
                format!("::std::option::Option<{}>", self.ty(ty, 1)?)
            }
            Presence::OptionalNullable => {
                self.uses.runtime = true;
                serde.push("default".to_owned());
                serde.push(SKIP_NONE.to_owned());
                let with = format!("{}::double_option", self.options.runtime_path);
                serde.push(format!("with = {}", string_literal(&with)));
                format!(
                    "::std::option::Option<::std::option::Option<{}>>",
                    self.ty(ty, 2)?
                )
            }
        };
        Ok(FieldItem {
            docs,
            serde,
            ident: name.rust.as_str().to_owned(),
            ty,
        })
    }

    fn string_enum(&mut self, docs: Vec<String>, ident: String, def: &EnumDef) -> EnumItem {
        let EnumDef { variants } = def;
        self.allows.variants(variants.len());
        let variants = variants
            .iter()
            .map(|variant| {
                let EnumVariant { name, docs } = variant;
                let mut serde = Vec::new();
                if name.needs_rename() {
                    serde.push(format!("rename = {}", string_literal(&name.wire)));
                }
                EnumVariantItem {
                    docs: self.docs(docs),
                    serde,
                    ident: name.rust.as_str().to_owned(),
                    wire: string_literal(&name.wire),
                }
            })
            .collect();
        EnumItem {
            docs,
            derives: self.derives(ENUM_DERIVES),
            ident,
            variants,
        }
    }

    fn union(
        &mut self,
        docs: Vec<String>,
        ident: String,
        def: &UnionDef,
    ) -> Result<UnionItem, Diagnostic> {
        let UnionDef {
            repr,
            variants,
            unknown,
        } = def;
        let count = variants.len() + usize::from(unknown.is_some());
        self.allows.variants(count);
        let with_data =
            variants.iter().filter(|v| v.ty.is_some()).count() + usize::from(unknown.is_some());
        self.allows.union_sizes(count, with_data);
        let (serde, tagged) = match repr {
            UnionRepr::Internal { tag } => (vec![format!("tag = {}", string_literal(tag))], true),
            UnionRepr::Adjacent { tag, content } => (
                vec![
                    format!("tag = {}", string_literal(tag)),
                    format!("content = {}", string_literal(content)),
                ],
                true,
            ),
            UnionRepr::External => (Vec::new(), true),
            UnionRepr::Untagged => (vec!["untagged".to_owned()], false),
        };
        let mut items = Vec::with_capacity(variants.len());
        for variant in variants {
            let UnionVariant { name, docs, ty } = variant;
            let mut serde = Vec::new();
            // Untagged variants never appear on the wire by name.
            if tagged && name.needs_rename() {
                serde.push(format!("rename = {}", string_literal(&name.wire)));
            }
            let ty = match ty {
                Some(ty) => Some(self.ty(ty, 0)?),
                None => None,
            };
            items.push(UnionVariantItem {
                docs: self.docs(docs),
                serde,
                ident: name.rust.as_str().to_owned(),
                ty,
            });
        }
        if let Some(ident) = unknown {
            items.push(UnionVariantItem {
                docs: doc_literals([
                    "A message whose tag names none of the other variants, as received (the",
                    "unknown-message fallback). serde skips this variant: the channel's wire code",
                    "decodes into it and sends its value as is.",
                ]),
                serde: vec!["skip".to_owned()],
                ident: ident.as_str().to_owned(),
                ty: Some(self.ty(&TypeRef::Json, 0)?),
            });
        }
        Ok(UnionItem {
            docs,
            derives: self.derives(DATA_DERIVES),
            serde,
            ident,
            variants: items,
        })
    }
}
