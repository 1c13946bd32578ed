//! The types module: `pub mod types { ... }` with one Rust item per [`TypeDef`], in type-space
//! order, then the combined message enums of shared sockets.
//!
//! Every identifier comes from the IR, literals and doc attributes from [`super::tokens`], type
//! expressions from [`TypeExpr`]; [`Allows`] collects the lints the contents need.

use proc_macro2::TokenStream;
use quote::quote;

use super::Uses;
use super::lints::Allows;
use super::tokens::{TypeExpr, doc_attrs, lit};
use crate::diag::Diagnostic;
use crate::format::Module;
use crate::ir::{
    AdditionalProperties, Api, Body, BodyContent, ContentDef, Docs, EnumDef, EnumVariant, Field,
    FormDef, FormField, FormValue, Param, ParamField, ParamsDef, ParamsOf, Presence, ResponseBody,
    ResponseCase, ResponsesDef, SourceInfo, StatusMatch, StructDef, TypeDef, TypeKind, TypeRef,
    UnionDef, UnionRepr, UnionVariant,
};

/// Derives of every struct and union (the last segment names them for deduplication).
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

/// Derives of request and connection-parameter structs (no serde: they travel as parameters).
const PARAMS_DERIVES: &[&str] = &["Clone", "Debug", "PartialEq"];

/// What the types module needs from the settings, already validated.
#[derive(Clone)]
pub(crate) struct TypesOptions {
    /// Extra derive paths.
    pub extra_derives: Vec<syn::Path>,
    /// The runtime path.
    pub runtime: super::tokens::Runtime,
}

/// The types module of an API; records what the code uses in `uses`.
pub(crate) fn module(
    api: &Api,
    options: &TypesOptions,
    uses: &mut Uses,
) -> Result<Module, Diagnostic> {
    let mut builder = Builder {
        options,
        expr: TypeExpr {
            space: &api.types,
            outside: false,
        },
        allows: Allows::default(),
        uses,
        derives: Derives::default(),
    };
    builder.derives = Derives {
        data: builder.derives(DATA_DERIVES, true)?,
        enums: builder.derives(ENUM_DERIVES, true)?,
        params: builder.derives(PARAMS_DERIVES, false)?,
        params_default: builder.derives(&[PARAMS_DERIVES, &["Default"]].concat(), false)?,
    };
    let module_docs = builder.module_docs(api);
    let mut items = Vec::with_capacity(api.types.defs.len());
    for def in &api.types.defs {
        items.push(builder.item(def)?);
    }
    for socket in &api.sockets {
        for (to_server, combined) in [(true, &socket.to_server), (false, &socket.to_client)] {
            let Some(combined) = combined else { continue };
            let direction = if to_server {
                "client → server"
            } else {
                "server → client"
            };
            let channels: Vec<String> = combined
                .variants
                .iter()
                .map(|(i, _)| format!("`{}`", api.channels[*i].name.wire))
                .collect();
            let enum_docs = Docs::from_text(&format!(
                "Every {direction} message of the socket at `{}`, which the channels {} share: one variant per channel, told apart on the wire by the messages' tags.",
                socket.name.wire,
                channels.join(", ")
            ));
            let mut variants = Vec::new();
            for (index, variant) in &combined.variants {
                let channel = &api.channels[*index];
                let id = channel
                    .direction(to_server)
                    .map(|set| set.enum_id)
                    .ok_or_else(|| {
                        super::internal(format!("socket variant `{variant}` has no messages"))
                    })?;
                let ty = builder.expr.named(id)?;
                let variant_docs = builder.docs(&Docs::from_text(&format!(
                    "A message of the `{}` channel.",
                    channel.name.wire
                )));
                variants.push(quote! { #variant_docs #variant(#ty), });
            }
            builder.allows.variants(variants.len());
            builder.allows.union_sizes(variants.len(), variants.len());
            let enum_docs = builder.docs(&enum_docs);
            let ident = &combined.ident;
            items.push(quote! {
                #enum_docs
                #[derive(Clone, Debug, PartialEq)]
                pub enum #ident { #(#variants)* }
            });
        }
    }
    let allows = builder.allows.into_vec();
    let allows: Vec<syn::Path> = allows
        .iter()
        .map(|lint| syn::parse_str(lint))
        .collect::<Result<_, _>>()
        .map_err(|e| super::internal(format!("a lint name does not parse: {e}")))?;
    let allow_attr = (!allows.is_empty()).then(|| quote!(#![allow(#(#allows),*)]));
    Ok(Module {
        head: quote! {
            #module_docs
            pub mod types {
                #allow_attr
            }
        },
        items,
    })
}

struct Builder<'a> {
    options: &'a TypesOptions,
    expr: TypeExpr<'a>,
    allows: Allows,
    uses: &'a mut Uses,
    derives: Derives,
}

/// The `#[derive(..)]` attributes of each kind of item, made once per module.
#[derive(Default)]
struct Derives {
    data: TokenStream,
    enums: TokenStream,
    params: TokenStream,
    params_default: TokenStream,
}

impl Builder<'_> {
    /// `<title> <version>: payload types.`, then the API's description (without a first line
    /// that only repeats the title).
    fn module_docs(&mut self, api: &Api) -> TokenStream {
        let SourceInfo {
            file: _,
            spec: _,
            title,
            version,
        } = &api.source;
        let description = api
            .docs
            .without_title(&[title, &format!("{} {}", title.trim(), version.trim())]);
        let docs = Docs::from_text(&format!("{title} {version}: payload types."))
            .with_paragraph(description);
        self.allows.docs(docs.lines().iter().map(String::as_str));
        doc_attrs(&docs, false)
    }

    /// Doc attributes for an item, field or variant, noting what they need allowed.
    fn docs(&mut self, docs: &Docs) -> TokenStream {
        self.allows.docs(docs.lines().iter().map(String::as_str));
        if docs.is_empty() {
            self.allows.undocumented();
        }
        super::tokens::docs(docs)
    }

    /// A type's docs followed by its examples as JSON blocks.
    fn type_docs(
        &mut self,
        docs: &Docs,
        examples: &[serde_json::Value],
    ) -> Result<TokenStream, Diagnostic> {
        let mut all = docs.clone();
        if !examples.is_empty() {
            let mut section = String::from(if examples.len() == 1 {
                "# Example"
            } else {
                "# Examples"
            });
            for (i, example) in examples.iter().enumerate() {
                let json = serde_json::to_string_pretty(example).map_err(|e| {
                    super::internal(format!("an example could not be printed as JSON: {e}"))
                })?;
                if i > 0 {
                    section.push('\n');
                }
                section.push_str("\n```json\n");
                section.push_str(&json);
                section.push_str("\n```");
            }
            all.push_paragraph(Docs::from_text(&section));
        }
        Ok(self.docs(&all))
    }

    fn ty(&mut self, ty: &TypeRef, options: u64) -> Result<TokenStream, Diagnostic> {
        self.uses.note_type(ty);
        self.allows.field_type(ty, options);
        self.expr.ty(ty)
    }

    /// `#[derive(..)]` with the builtin derives (parsed once per module) and, with `extra`,
    /// the settings' extra derives the type does not have already.
    fn derives(&self, builtin: &[&str], extra: bool) -> Result<TokenStream, Diagnostic> {
        let last_segment = |path: &syn::Path| {
            path.segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default()
        };
        let mut derives: Vec<syn::Path> = builtin
            .iter()
            .map(|d| syn::parse_str(d))
            .collect::<Result<_, _>>()
            .map_err(|e| super::internal(format!("a derive does not parse: {e}")))?;
        if extra {
            for path in &self.options.extra_derives {
                // A derive the type already has (`Eq` on a string enum) would be a conflicting impl.
                if !derives
                    .iter()
                    .any(|d| last_segment(d) == last_segment(path))
                {
                    derives.push(path.clone());
                }
            }
        }
        Ok(quote!(#[derive(#(#derives),*)]))
    }

    fn item(&mut self, def: &TypeDef) -> Result<TokenStream, Diagnostic> {
        let TypeDef {
            name,
            docs,
            kind,
            examples,
            location: _,
        } = def;
        let docs = self.type_docs(docs, examples)?;
        let ident = &name.rust;
        match kind {
            TypeKind::Struct(def) => self.structure(docs, ident, def),
            TypeKind::Enum(def) => self.string_enum(docs, ident, def),
            TypeKind::Union(def) => self.union(docs, ident, def),
            TypeKind::Alias(ty) => {
                let ty = self.ty(ty, 0)?;
                Ok(quote! { #docs pub type #ident = #ty; })
            }
            TypeKind::Params(def) => self.params(docs, ident, def),
            TypeKind::Responses(def) => self.responses(docs, ident, def),
            TypeKind::Form(def) => self.form(docs, ident, def),
            TypeKind::Content(def) => self.content(docs, ident, def),
        }
    }

    /// An operation's response enum: a variant per declared response, a tuple of its body (or
    /// a unit) when that is all it has, named fields when it has headers or a status to choose.
    fn responses(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &ResponsesDef,
    ) -> Result<TokenStream, Diagnostic> {
        let ResponsesDef { cases } = def;
        self.allows.variants(cases.len());
        self.allows.union_sizes(cases.len(), cases.len());
        let mut variants = Vec::with_capacity(cases.len());
        for case in cases {
            let ResponseCase {
                name,
                status,
                docs,
                body,
                headers,
                status_field,
            } = case;
            let what = match status {
                StatusMatch::Code(code) => format!("Status {code}."),
                StatusMatch::Class(class) => format!("A {class}XX status."),
                StatusMatch::Default => "Any status no other variant names.".to_owned(),
            };
            let variant_docs = self.docs(&docs.clone().with_paragraph(Docs::from_text(&what)));
            if case.is_tuple() {
                variants.push(match body {
                    Some(ResponseBody { ty, .. }) => {
                        let ty = self.ty(ty, 0)?;
                        quote! { #variant_docs #name(#ty), }
                    }
                    None => quote! { #variant_docs #name, },
                });
                continue;
            }
            let mut fields = Vec::new();
            if let Some(field) = status_field {
                let field_docs = self.docs(&Docs::from_text("The status code."));
                fields.push(quote! { #field_docs #field: u16, });
            }
            if let Some(ResponseBody { ty, field, .. }) = body {
                let field_docs = self.docs(&Docs::from_text("The body."));
                let ty = self.ty(ty, 0)?;
                fields.push(quote! { #field_docs #field: #ty, });
            }
            for header in headers {
                let header_docs = self.docs(&header.docs.clone().with_paragraph(Docs::from_text(
                    &format!("The `{}` header.", header.name.wire),
                )));
                let value = self.ty(&header.value, 1)?;
                let ty = match header.field() {
                    ParamField::Plain => value,
                    ParamField::Optional => quote!(::std::option::Option<#value>),
                    ParamField::List => quote!(::std::vec::Vec<#value>),
                };
                let field = &header.name.rust;
                fields.push(quote! { #header_docs #field: #ty, });
            }
            variants.push(quote! { #variant_docs #name { #(#fields)* }, });
        }
        Ok(quote! {
            #docs
            #[derive(Clone, Debug, PartialEq)]
            pub enum #ident { #(#variants)* }
        })
    }

    /// A form body: a field per form field, files as the runtime's `File`.
    fn form(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &FormDef,
    ) -> Result<TokenStream, Diagnostic> {
        let FormDef { fields } = def;
        let rt = &self.options.runtime;
        let mut items = Vec::with_capacity(fields.len());
        let mut all_optional = true;
        for field in fields {
            let FormField {
                name,
                docs,
                value,
                shape,
            } = field;
            let field_docs = self.docs(docs);
            let value = match value {
                FormValue::Text(ty) | FormValue::Json(ty) => self.ty(ty, 1)?,
                FormValue::File => {
                    self.uses.runtime = true;
                    self.uses.forms = true;
                    quote!(#rt::api::body::File)
                }
            };
            let ty = match shape {
                ParamField::Plain => {
                    all_optional = false;
                    value
                }
                ParamField::Optional => quote!(::std::option::Option<#value>),
                ParamField::List => quote!(::std::vec::Vec<#value>),
            };
            let ident = &name.rust;
            items.push(quote! { #field_docs pub #ident: #ty, });
        }
        let derives = if all_optional {
            &self.derives.params_default
        } else {
            &self.derives.params
        };
        Ok(quote! { #docs #derives pub struct #ident { #(#items)* } })
    }

    /// A body of one of several media types: a variant per type.
    fn content(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &ContentDef,
    ) -> Result<TokenStream, Diagnostic> {
        let ContentDef { variants } = def;
        self.allows.variants(variants.len());
        self.allows.union_sizes(variants.len(), variants.len());
        let mut items = Vec::with_capacity(variants.len());
        for content in variants {
            let BodyContent {
                media_type,
                format: _,
                ty,
                variant,
            } = content;
            let Some(variant) = variant else {
                return Err(super::internal(format!(
                    "body content `{media_type}` of `{ident}` has no variant"
                )));
            };
            let variant_docs = self.docs(&Docs::from_text(&format!("Sent as `{media_type}`.")));
            let ty = self.ty(ty, 0)?;
            items.push(quote! { #variant_docs #variant(#ty), });
        }
        Ok(quote! {
            #docs
            #[derive(Clone, Debug, PartialEq)]
            pub enum #ident { #(#items)* }
        })
    }

    fn structure(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &StructDef,
    ) -> Result<TokenStream, Diagnostic> {
        let StructDef {
            fields,
            additional,
            param: _,
        } = def;
        let mut items = Vec::with_capacity(fields.len() + 1);
        for field in fields {
            items.push(self.field(field)?);
        }
        if let Some(AdditionalProperties { field, value }) = additional {
            // The flattened catch-all is exactly a map type.
            let ty = self.ty(&TypeRef::Map(Box::new(value.clone())), 0)?;
            let field_docs = self.docs(&Docs::from_text("Properties not listed above."));
            items.push(quote! { #field_docs #[serde(flatten)] pub #field: #ty, });
        }
        let derives = &self.derives.data;
        Ok(quote! { #docs #derives pub struct #ident { #(#items)* } })
    }

    fn field(&mut self, field: &Field) -> Result<TokenStream, Diagnostic> {
        let Field {
            name,
            docs,
            ty,
            presence,
        } = field;
        let docs = self.docs(docs);
        let mut serde = Vec::new();
        if name.needs_rename() {
            let wire = lit(&name.wire);
            serde.push(quote!(rename = #wire));
        }
        let ty = match presence {
            Presence::Required => self.ty(ty, 0)?,
            Presence::RequiredNullable => {
                let inner = self.ty(ty, 1)?;
                quote!(::std::option::Option<#inner>)
            }
            Presence::Optional => {
                serde.push(quote!(default));
                serde.push(quote!(
                    skip_serializing_if = "::std::option::Option::is_none"
                ));
                let inner = self.ty(ty, 1)?;
                quote!(::std::option::Option<#inner>)
            }
            Presence::OptionalNullable => {
                self.uses.runtime = true;
                serde.push(quote!(default));
                serde.push(quote!(
                    skip_serializing_if = "::std::option::Option::is_none"
                ));
                let with = lit(&format!(
                    "{}::double_option",
                    self.options.runtime.path_text()
                ));
                serde.push(quote!(with = #with));
                let inner = self.ty(ty, 2)?;
                quote!(::std::option::Option<::std::option::Option<#inner>>)
            }
        };
        let serde = (!serde.is_empty()).then(|| quote!(#[serde(#(#serde),*)]));
        let ident = &name.rust;
        Ok(quote! { #docs #serde pub #ident: #ty, })
    }

    fn string_enum(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &EnumDef,
    ) -> Result<TokenStream, Diagnostic> {
        let EnumDef { variants, param: _ } = def;
        self.allows.variants(variants.len());
        let mut items = Vec::new();
        let mut arms = Vec::new();
        for variant in variants {
            let EnumVariant { name, docs } = variant;
            let docs = self.docs(docs);
            let wire = lit(&name.wire);
            let serde = name
                .needs_rename()
                .then(|| quote!(#[serde(rename = #wire)]));
            let v = &name.rust;
            items.push(quote! { #docs #serde #v, });
            arms.push(quote! { Self::#v => #wire, });
        }
        let derives = &self.derives.enums;
        Ok(quote! {
            #docs
            #derives
            pub enum #ident { #(#items)* }

            impl #ident {
                /// The value as it appears on the wire.
                #[must_use]
                pub fn as_str(&self) -> &'static str {
                    match *self { #(#arms)* }
                }
            }

            impl ::std::fmt::Display for #ident {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        })
    }

    fn union(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &UnionDef,
    ) -> Result<TokenStream, Diagnostic> {
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
            UnionRepr::Internal { tag } => {
                let tag = lit(tag);
                (quote!(#[serde(tag = #tag)]), true)
            }
            UnionRepr::Adjacent { tag, content } => {
                let (tag, content) = (lit(tag), lit(content));
                (quote!(#[serde(tag = #tag, content = #content)]), true)
            }
            UnionRepr::External => (TokenStream::new(), true),
            UnionRepr::Untagged => (quote!(#[serde(untagged)]), false),
        };
        let mut items = Vec::with_capacity(count);
        for variant in variants {
            let UnionVariant {
                name,
                docs,
                ty,
                skip,
            } = variant;
            let docs = self.docs(docs);
            let wire = lit(&name.wire);
            // Untagged variants never appear on the wire by name.
            let attr = if *skip {
                quote!(#[serde(skip)])
            } else if tagged && name.needs_rename() {
                quote!(#[serde(rename = #wire)])
            } else {
                TokenStream::new()
            };
            let v = &name.rust;
            items.push(match ty {
                Some(ty) => {
                    let ty = self.ty(ty, 0)?;
                    quote! { #docs #attr #v(#ty), }
                }
                None => quote! { #docs #attr #v, },
            });
        }
        if let Some(v) = unknown {
            let docs = self.docs(&Docs::from_text(
                "A message whose tag names none of the other variants, as received (the unknown-message fallback). serde skips this variant: the channel's wire code decodes into it and sends its value as is.",
            ));
            let ty = self.ty(&TypeRef::Json, 0)?;
            items.push(quote! { #docs #[serde(skip)] #v(#ty), });
        }
        let derives = &self.derives.data;
        Ok(quote! { #docs #derives #serde pub enum #ident { #(#items)* } })
    }

    /// A request or connection-parameters struct: one field per parameter, then the body and
    /// `Last-Event-ID`.
    fn params(
        &mut self,
        docs: TokenStream,
        ident: &crate::names::RustIdent,
        def: &ParamsDef,
    ) -> Result<TokenStream, Diagnostic> {
        let ParamsDef {
            params,
            body,
            last_event_id,
            of,
        } = def;
        let mut fields = Vec::new();
        let mut all_optional = true;
        for param in params {
            let Param {
                name,
                location,
                value,
                list: _,
                object: _,
                style: _,
                explode: _,
                required: _,
                docs,
            } = param;
            let what = match of {
                ParamsOf::Request => "",
                ParamsOf::Connection => " of the upgrade request",
            };
            let docs = self.docs(&docs.clone().with_paragraph(Docs::from_text(&format!(
                "The `{}` {} parameter{what}.",
                name.wire,
                location.as_str()
            ))));
            let value = self.ty(value, 1)?;
            let ty = match param.field() {
                ParamField::Plain => {
                    all_optional = false;
                    value
                }
                ParamField::Optional => quote!(::std::option::Option<#value>),
                ParamField::List => quote!(::std::vec::Vec<#value>),
            };
            let field = &name.rust;
            fields.push(quote! { #docs pub #field: #ty, });
        }
        if let Some(Body {
            ty,
            required,
            docs,
            field,
            contents,
        }) = body
        {
            let media: Vec<String> = contents
                .iter()
                .map(|c| format!("`{}`", c.media_type))
                .collect();
            let sent = Docs::from_text(&format!(
                "The request body, sent as {}.",
                media.join(" or ")
            ));
            let docs = if docs.is_empty() {
                sent
            } else {
                docs.clone().with_paragraph(sent)
            };
            let docs = self.docs(&docs);
            let inner = self.ty(ty, u64::from(!required))?;
            let ty = if *required {
                all_optional = false;
                inner
            } else {
                quote!(::std::option::Option<#inner>)
            };
            fields.push(quote! { #docs pub #field: #ty, });
        }
        if let Some(field) = last_event_id {
            let docs = self.docs(&Docs::from_text(
                "Resume after this event id: the `Last-Event-ID` header. The client fills it in by itself when it reconnects.",
            ));
            fields.push(quote! { #docs pub #field: ::std::option::Option<::std::string::String>, });
        }
        let derives = if all_optional {
            &self.derives.params_default
        } else {
            &self.derives.params
        };
        Ok(quote! { #docs #derives pub struct #ident { #(#fields)* } })
    }
}
