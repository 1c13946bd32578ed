//! Lowering JSON Schemas (OpenAPI and AsyncAPI flavours) into the [`TypeSpace`].
//!
//! Every schema a used endpoint or message needs is lowered once, keyed by where it is (after
//! `$ref`s) and by which tag property a union strips from it, so recursion and sharing fall out of
//! the memo table. Names come from components (`#/components/schemas/Pet` → `Pet`) or, for inline
//! schemas, from the path that reached them (`Order` + `shipping` → `OrderShipping`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diag::{Diagnostic, Diagnostics, Kind};
use crate::ir::{
    AdditionalProperties, Docs, EnumDef, EnumVariant, Field, Presence, Scalar, StructDef, TypeDef,
    TypeId, TypeKind, TypeRef, TypeSpace, UnionDef, UnionRepr, UnionVariant,
};
use crate::names::{self, Case, Name, Namespace};
use crate::spec::{Loc, Sources};

/// A lowered schema: its type and whether `null` is also allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lowered {
    /// The type, without nullability.
    pub ty: TypeRef,
    /// Does the schema also accept `null`?
    pub nullable: bool,
}

impl Lowered {
    fn new(ty: TypeRef) -> Self {
        Lowered {
            ty,
            nullable: false,
        }
    }

    /// The type with nullability folded in (`Option<T>` when nullable).
    pub fn folded(self) -> TypeRef {
        if self.nullable {
            TypeRef::Option(Box::new(self.ty))
        } else {
            self.ty
        }
    }
}

/// Keywords wiregen reads or knows to be annotations/validation only (not enforced, README).
const KNOWN_KEYWORDS: &[&str] = &[
    "$ref",
    "$id",
    "$schema",
    "$comment",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$defs",
    "definitions",
    "$vocabulary",
    "title",
    "description",
    "default",
    "examples",
    "example",
    "deprecated",
    "readOnly",
    "writeOnly",
    "type",
    "enum",
    "const",
    "format",
    "nullable",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "items",
    "prefixItems",
    "contains",
    "minContains",
    "maxContains",
    "additionalItems",
    "unevaluatedItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "allOf",
    "oneOf",
    "anyOf",
    "discriminator",
    "xml",
    "externalDocs",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "unevaluatedProperties",
    "dependentRequired",
];

/// Keywords that change what is valid but that wiregen does not model: a warning, not silence.
const UNMODELLED_KEYWORDS: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "dependentSchemas",
    "dependencies",
];

/// Pointer segments that say nothing about what a schema is, so names come from the path instead.
const GENERIC_SEGMENTS: &[&str] = &[
    "schema",
    "payload",
    "items",
    "additionalProperties",
    "itemSchema",
    "contentSchema",
    "allOf",
    "oneOf",
    "anyOf",
    "properties",
    "data",
    "content",
    "headers",
    "query",
];

/// Builds the type space for one API.
pub struct SchemaLowerer<'a> {
    sources: &'a Sources,
    types: TypeSpace,
    names: Namespace,
    memo: BTreeMap<(Loc, Option<String>), TypeId>,
    warned_keywords: std::collections::BTreeSet<Loc>,
    depth: usize,
    named_later: Vec<(TypeId, String)>,
}

/// How deep inline schemas may nest before wiregen gives up (a guard against hostile input).
const MAX_DEPTH: usize = 200;

impl<'a> SchemaLowerer<'a> {
    /// A lowerer over loaded sources.
    pub fn new(sources: &'a Sources) -> Self {
        SchemaLowerer {
            sources,
            types: TypeSpace::default(),
            names: Namespace::new(),
            memo: BTreeMap::new(),
            warned_keywords: Default::default(),
            depth: 0,
            named_later: Vec::new(),
        }
    }

    /// The sources, for callers that read around schemas.
    pub fn sources(&self) -> &'a Sources {
        self.sources
    }

    /// Finish: name the types added with [`SchemaLowerer::add_type_named_later`] (in the
    /// order they were added), box recursive references and hand over the type space.
    pub fn finish(mut self) -> TypeSpace {
        for (id, wire) in std::mem::take(&mut self.named_later) {
            let name = self.names.claim_name(&wire, Case::Camel).0;
            self.types.defs[id.0].name = name;
        }
        box_recursion(&mut self.types);
        self.types
    }

    /// The current definition of a type.
    pub fn def(&self, id: TypeId) -> &TypeDef {
        self.types.get(id)
    }

    /// Reserve a type name in this API's module (claimed in call order).
    pub fn claim_type_name(&mut self, wire: &str) -> Name {
        self.names.claim_name(wire, Case::Camel).0
    }

    /// Add a type that is not a schema (an event or message enum) and return its id.
    pub fn add_type(&mut self, def: TypeDef) -> TypeId {
        self.types.defs.push(def);
        TypeId(self.types.defs.len() - 1)
    }

    /// Add a type whose name is claimed only when lowering is finished, after every schema's:
    /// a struct wiregen makes (a request, a channel's parameters) never takes a name from a
    /// schema of the spec (`CreateChatCompletionRequest` stays the component's). `def.name` is
    /// replaced.
    pub fn add_type_named_later(&mut self, def: TypeDef, wire: String) -> TypeId {
        let id = self.add_type(def);
        self.named_later.push((id, wire));
        id
    }

    /// Note that a string enum is a parameter's type (it also gets `ParamValue`).
    pub fn mark_param_enum(&mut self, id: TypeId) {
        if let Some(TypeDef {
            kind: TypeKind::Enum(def),
            ..
        }) = self.types.defs.get_mut(id.0)
        {
            def.param = true;
        }
    }

    /// Mark a struct as an object parameter's type (it gets `ParamObject`).
    pub fn mark_param_struct(&mut self, id: TypeId) {
        if let Some(TypeDef {
            kind: TypeKind::Struct(def),
            ..
        }) = self.types.defs.get_mut(id.0)
        {
            def.param = true;
        }
    }

    /// Replace the kind of a type added earlier.
    pub fn set_kind(&mut self, id: TypeId, kind: TypeKind) {
        self.types.defs[id.0].kind = kind;
    }

    /// Lower the schema at `loc`; `hint` names inline types created for it.
    pub fn lower(&mut self, loc: &Loc, hint: &str, diags: &mut Diagnostics) -> Lowered {
        self.lower_stripped(loc, hint, None, diags)
    }

    /// Lower as a union variant's payload: an object schema without its tag property.
    pub fn lower_stripped(
        &mut self,
        loc: &Loc,
        hint: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> Lowered {
        if self.depth > MAX_DEPTH {
            diags.push(
                Diagnostic::error(
                    Kind::Unsupported,
                    "schemas nest too deeply (more than 200 levels)",
                )
                .at(self.sources.locate(loc)),
            );
            return Lowered::new(TypeRef::Json);
        }
        self.depth += 1;
        let out = self.lower_inner(loc, hint, strip, diags);
        self.depth -= 1;
        out
    }

    fn lower_inner(
        &mut self,
        loc: &Loc,
        hint: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> Lowered {
        let Some(value) = self.sources.get(loc) else {
            return Lowered::new(TypeRef::Json);
        };
        let obj = match value {
            Value::Bool(_) => return Lowered::new(TypeRef::Json),
            Value::Object(obj) => obj,
            _ => {
                diags.push(
                    Diagnostic::error(Kind::Invalid, "a schema must be an object or a boolean")
                        .at(self.sources.locate(loc)),
                );
                return Lowered::new(TypeRef::Json);
            }
        };
        // `$ref`: a named type for the target (siblings such as `description` only annotate).
        if let Some(Value::String(reference)) = obj.get("$ref") {
            let nullable = obj.get("nullable") == Some(&Value::Bool(true));
            let target = match self.sources.resolve_ref(loc, reference) {
                Ok(target) => target,
                Err(d) => {
                    diags.push(d);
                    return Lowered::new(TypeRef::Json);
                }
            };
            let target = match self.sources.deref(&target) {
                Ok(t) => t,
                Err(d) => {
                    diags.push(d);
                    return Lowered::new(TypeRef::Json);
                }
            };
            let name = component_name(&target).unwrap_or_else(|| hint.to_owned());
            let mut lowered = self.named(&target, &name, strip, diags);
            lowered.nullable |= nullable;
            return lowered;
        }
        self.check_keywords(loc, obj, diags);
        let analysis = analyse(obj);
        if analysis.is_named_kind() || strip.is_some() {
            let mut lowered = self.named(loc, hint, strip, diags);
            lowered.nullable |= analysis.nullable;
            return lowered;
        }
        self.anonymous(loc, obj, &analysis, hint, diags)
    }

    /// A schema that becomes (or already is) a named type in the type space.
    fn named(
        &mut self,
        loc: &Loc,
        name: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> Lowered {
        let key = (loc.clone(), strip.map(str::to_owned));
        let Some(Value::Object(obj)) = self.sources.get(loc) else {
            return Lowered::new(TypeRef::Json);
        };
        let analysis = analyse(obj);
        if let Some(&id) = self.memo.get(&key) {
            return Lowered {
                ty: TypeRef::Named(id),
                nullable: analysis.nullable,
            };
        }
        // A component that is an alias of a nullable scalar keeps nullability at the use site.
        let type_name = self.names.claim_name(name, Case::Camel).0;
        let id = self.add_type(TypeDef {
            name: type_name.clone(),
            docs: docs_of(obj),
            kind: TypeKind::Alias(TypeRef::Json),
            examples: examples_of(obj),
            location: self.sources.locate(loc),
        });
        self.memo.insert(key, id);
        self.check_keywords(loc, obj, diags);
        let kind = self.kind_of(loc, obj, &analysis, type_name.rust.unraw(), strip, diags);
        self.set_kind(id, kind);
        Lowered {
            ty: TypeRef::Named(id),
            nullable: analysis.nullable,
        }
    }

    /// The kind of a named type.
    fn kind_of(
        &mut self,
        loc: &Loc,
        obj: &Map<String, Value>,
        analysis: &Analysis,
        type_name: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> TypeKind {
        match analysis.shape {
            Shape::AllOf => self.all_of(loc, obj, type_name, strip, diags),
            Shape::Union => self.union(loc, obj, type_name, diags),
            Shape::StringEnum => TypeKind::Enum(string_enum(obj)),
            Shape::StringConst => TypeKind::Enum(string_enum(obj)),
            Shape::Object => self.object(loc, obj, type_name, strip, diags),
            Shape::ScalarUnion => TypeKind::Union(scalar_union(obj)),
            // A union variant's `allOf: [$ref]`: the member without the tag, as the variant
            // needs it (serde hands the variant its object with the tag taken out).
            Shape::Single if strip.is_some() => match single_member(obj, loc) {
                Some(member) => {
                    TypeKind::Alias(self.lower_stripped(&member, type_name, strip, diags).ty)
                }
                None => TypeKind::Alias(TypeRef::Json),
            },
            _ => TypeKind::Alias(self.anonymous(loc, obj, analysis, type_name, diags).ty),
        }
    }

    /// A schema that does not need a named type: scalars, arrays, maps, free-form JSON.
    fn anonymous(
        &mut self,
        loc: &Loc,
        obj: &Map<String, Value>,
        analysis: &Analysis,
        hint: &str,
        diags: &mut Diagnostics,
    ) -> Lowered {
        let ty = match analysis.shape {
            Shape::Scalar(scalar) => TypeRef::Scalar(scalar),
            Shape::Array => {
                let items = loc.child("items");
                if self.sources.get(&items).is_some() {
                    let item_hint = format!("{hint}Item");
                    TypeRef::Vec(Box::new(self.lower(&items, &item_hint, diags).folded()))
                } else {
                    if obj.contains_key("prefixItems") {
                        diags.push(
                            Diagnostic::warning(
                                Kind::Unsupported,
                                "tuple arrays (`prefixItems`) are generated as arrays of JSON values",
                            )
                            .at(self.sources.locate(&loc.child("prefixItems"))),
                        );
                    }
                    TypeRef::Vec(Box::new(TypeRef::Json))
                }
            }
            Shape::Map => {
                let additional = loc.child("additionalProperties");
                let value = match obj.get("additionalProperties") {
                    Some(Value::Object(_)) => {
                        let value_hint = format!("{hint}Value");
                        self.lower(&additional, &value_hint, diags).folded()
                    }
                    _ => TypeRef::Json,
                };
                TypeRef::Map(Box::new(value))
            }
            Shape::Single => {
                let Some(member) = single_member(obj, loc) else {
                    return Lowered {
                        ty: TypeRef::Json,
                        nullable: analysis.nullable,
                    };
                };
                let mut lowered = self.lower(&member, hint, diags);
                lowered.nullable |= analysis.nullable;
                return lowered;
            }
            Shape::ScalarUnion => {
                let name = self.names.claim_name(hint, Case::Camel).0;
                let id = self.add_type(TypeDef {
                    name,
                    docs: docs_of(obj),
                    kind: TypeKind::Union(scalar_union(obj)),
                    examples: examples_of(obj),
                    location: self.sources.locate(loc),
                });
                TypeRef::Named(id)
            }
            Shape::Any => TypeRef::Json,
            Shape::AllOf
            | Shape::Union
            | Shape::StringEnum
            | Shape::StringConst
            | Shape::Object => {
                return self.named(loc, hint, None, diags);
            }
        };
        Lowered {
            ty,
            nullable: analysis.nullable,
        }
    }

    /// An object schema: a struct, with `strip` left out.
    fn object(
        &mut self,
        loc: &Loc,
        obj: &Map<String, Value>,
        type_name: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> TypeKind {
        let mut parts = ObjectParts::default();
        self.collect_object(loc, obj, &mut parts, diags);
        self.struct_from_parts(parts, type_name, strip, diags)
    }

    /// Gather the properties, required list and additionalProperties of an object schema (and,
    /// through `allOf`, of the schemas it merges).
    fn collect_object(
        &mut self,
        loc: &Loc,
        obj: &Map<String, Value>,
        parts: &mut ObjectParts,
        diags: &mut Diagnostics,
    ) {
        if parts.visited.contains(loc) || parts.visited.len() > 64 {
            return;
        }
        parts.visited.push(loc.clone());
        if let Some(Value::Array(members)) = obj.get("allOf") {
            for i in 0..members.len() {
                let member = loc.child("allOf").index(i);
                let member = match self.sources.deref(&member) {
                    Ok(m) => m,
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                };
                if let Some(Value::Object(member_obj)) = self.sources.get(&member) {
                    if member_obj.contains_key("oneOf") || member_obj.contains_key("anyOf") {
                        diags.push(
                            Diagnostic::warning(
                                Kind::Unsupported,
                                "a union inside `allOf` is not merged; its variants' fields are left out",
                            )
                            .at(self.sources.locate(&member)),
                        );
                    }
                    self.collect_object(&member, member_obj, parts, diags);
                }
            }
        }
        if let Some(Value::Array(required)) = obj.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if !parts.required.iter().any(|x| x == r) {
                    parts.required.push(r.to_owned());
                }
            }
        }
        if let Some(Value::Object(props)) = obj.get("properties") {
            for key in props.keys() {
                let prop_loc = loc.child("properties").child(key);
                match parts.properties.iter_mut().find(|(k, _)| k == key) {
                    // A later `allOf` member refines an earlier one: the later schema wins.
                    Some(existing) => existing.1 = prop_loc,
                    None => parts.properties.push((key.clone(), prop_loc)),
                }
            }
        }
        if let Some(Value::Object(_)) = obj.get("additionalProperties") {
            parts.additional = Some(loc.child("additionalProperties"));
        }
    }

    fn struct_from_parts(
        &mut self,
        parts: ObjectParts,
        type_name: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> TypeKind {
        let mut field_names = Namespace::new();
        let mut fields = Vec::new();
        for (wire, prop_loc) in &parts.properties {
            if Some(wire.as_str()) == strip {
                continue;
            }
            let (name, _) = field_names.claim_name(wire, Case::Snake);
            let hint = format!("{type_name}_{}", name.rust.unraw());
            let lowered = self.lower(prop_loc, &hint, diags);
            let required = parts.required.iter().any(|r| r == wire);
            let presence = match (required, lowered.nullable) {
                (true, false) => Presence::Required,
                (true, true) => Presence::RequiredNullable,
                (false, false) => Presence::Optional,
                (false, true) => Presence::OptionalNullable,
            };
            let docs = match self.sources.get(prop_loc) {
                Some(Value::Object(p)) => docs_of(p),
                _ => Docs::default(),
            };
            fields.push(Field {
                name,
                docs,
                ty: lowered.ty,
                presence,
            });
        }
        // A required property the schema does not describe (`required: [run_id]` with no
        // `run_id` under `properties`) must still be sent: a field of the additional
        // properties' type, or any JSON.
        for wire in &parts.required {
            if Some(wire.as_str()) == strip || parts.properties.iter().any(|(k, _)| k == wire) {
                continue;
            }
            let (name, _) = field_names.claim_name(wire, Case::Snake);
            let lowered = match &parts.additional {
                Some(loc) => {
                    let hint = format!("{type_name}_{}", name.rust.unraw());
                    self.lower(loc, &hint, diags)
                }
                None => Lowered::new(TypeRef::Json),
            };
            let presence = if lowered.nullable {
                Presence::RequiredNullable
            } else {
                Presence::Required
            };
            fields.push(Field {
                name,
                docs: Docs::from_text("Required, and not described by the schema's `properties`."),
                ty: lowered.ty,
                presence,
            });
        }
        let additional = parts.additional.map(|loc| {
            let value_hint = format!("{type_name}Value");
            let value = self.lower(&loc, &value_hint, diags).folded();
            let field = field_names
                .claim_name("additional_properties", Case::Snake)
                .0
                .rust;
            AdditionalProperties { field, value }
        });
        TypeKind::Struct(StructDef {
            fields,
            additional,
            param: false,
        })
    }

    /// `allOf` with several members (or own properties): the members merged into one struct.
    fn all_of(
        &mut self,
        loc: &Loc,
        obj: &Map<String, Value>,
        type_name: &str,
        strip: Option<&str>,
        diags: &mut Diagnostics,
    ) -> TypeKind {
        self.object(loc, obj, type_name, strip, diags)
    }

    /// `oneOf`/`anyOf`: a tagged enum if a tag can be found, else untagged with a warning.
    fn union(
        &mut self,
        loc: &Loc,
        obj: &Map<String, Value>,
        type_name: &str,
        diags: &mut Diagnostics,
    ) -> TypeKind {
        let keyword = if obj.contains_key("oneOf") {
            "oneOf"
        } else {
            "anyOf"
        };
        let members: Vec<Loc> = match obj.get(keyword) {
            Some(Value::Array(items)) => (0..items.len())
                .map(|i| loc.child(keyword).index(i))
                .filter(|m| !is_null_schema(self.sources, m))
                .collect(),
            _ => Vec::new(),
        };
        if obj.contains_key("properties") {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!("properties beside `{keyword}` are not merged into the variants"),
                )
                .at(self.sources.locate(&loc.child("properties"))),
            );
        }
        let discriminator = Discriminator::read(obj);
        let candidates: Vec<Variant> = members
            .iter()
            .map(|m| Variant::inspect(self.sources, m, diags))
            .collect();
        // `type` beside the union constrains every variant; `object` is what object variants
        // are anyway, anything else is not applied: say so.
        if let Some(ty) = obj.get("type") {
            let declared = type_names(ty);
            let agrees = |candidate: &Variant| {
                let own = self
                    .sources
                    .get(&candidate.target)
                    .and_then(|v| v.get("type"))
                    .map(type_names)
                    .unwrap_or_default();
                (candidate.is_object && declared.contains(&"object"))
                    || (!own.is_empty() && own.iter().all(|t| declared.contains(t)))
            };
            if !declared.is_empty() && !candidates.iter().all(agrees) {
                diags.push(
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!("`type` beside `{keyword}` is not applied to its variants: each variant's own schema decides"),
                    )
                    .at(self.sources.locate_key(&loc.child("type")))
                    .help(format!("move the `type` into the `{keyword}` variants")),
                );
            }
        }
        // A `const` property tells the variants apart only where every variant requires it: an
        // object without it is valid, and an internally tagged enum could not read it.
        let mut optional_tag = None;
        let tag = discriminator
            .as_ref()
            .map(|d| d.property.clone())
            .or_else(|| {
                let tag = common_const_property(&candidates)?;
                if candidates.iter().all(|c| c.required.contains(&tag)) {
                    Some(tag)
                } else {
                    optional_tag = Some(tag);
                    None
                }
            });
        if let Some(tag) = tag
            && let Some(variants) = self.tagged_variants(
                loc,
                type_name,
                &tag,
                discriminator.as_ref(),
                &candidates,
                diags,
            )
        {
            return TypeKind::Union(UnionDef {
                repr: UnionRepr::Internal { tag },
                variants,
                unknown: None,
            });
        }
        if let Some(keys) = wrapper_keys(&candidates) {
            let mut variant_names = Namespace::new();
            let variants = candidates
                .iter()
                .zip(keys)
                .map(|(candidate, key)| {
                    let inner = candidate
                        .wrapped
                        .clone()
                        .unwrap_or_else(|| candidate.target.clone());
                    let hint = format!("{type_name}_{key}");
                    UnionVariant {
                        name: Name {
                            wire: key.clone(),
                            rust: variant_names.claim_name(&key, Case::Camel).0.rust,
                        },
                        docs: candidate.docs.clone(),
                        ty: Some(self.lower(&inner, &hint, diags).folded()),
                        skip: false,
                    }
                })
                .collect();
            return TypeKind::Union(UnionDef {
                repr: UnionRepr::External,
                variants,
                unknown: None,
            });
        }
        let all_objects = candidates.iter().all(|c| c.is_object);
        if let Some(tag) = optional_tag {
            diags.push(
                Diagnostic::warning(
                    Kind::Untagged,
                    format!(
                        "the `const` property `{tag}` of the `{keyword}` variants is optional in \
                         some, so it is generated as an untagged enum (variants are tried in order)"
                    ),
                )
                .at(self.sources.locate(&loc.child(keyword)))
                .help(format!(
                    "add `{tag}` to every variant's `required`, or a `discriminator`"
                )),
            );
        } else if all_objects {
            diags.push(
                Diagnostic::warning(
                    Kind::Untagged,
                    format!(
                        "`{keyword}` has no discriminator and no `const` property shared by every \
                         variant, so it is generated as an untagged enum (variants are tried in order)"
                    ),
                )
                .at(self.sources.locate(&loc.child(keyword)))
                .help("add a `discriminator`, or a property with a distinct `const` in every variant"),
            );
        }
        let mut variant_names = Namespace::new();
        let mut variants = Vec::new();
        for (i, candidate) in candidates.iter().enumerate() {
            let wire = candidate
                .name
                .clone()
                .unwrap_or_else(|| format!("variant{}", i + 1));
            let hint = format!("{type_name}_{wire}");
            let ty = self.lower(&candidate.entry, &hint, diags).folded();
            let variant_wire = variant_label(&ty, &self.types, &wire);
            variants.push(UnionVariant {
                name: variant_names.claim_name(&variant_wire, Case::Camel).0,
                docs: candidate.docs.clone(),
                ty: Some(ty),
                skip: false,
            });
        }
        TypeKind::Union(UnionDef {
            repr: UnionRepr::Untagged,
            variants,
            unknown: None,
        })
    }

    /// Variants of an internally tagged union, or `None` if some variant cannot carry the tag.
    fn tagged_variants(
        &mut self,
        loc: &Loc,
        type_name: &str,
        tag: &str,
        discriminator: Option<&Discriminator>,
        candidates: &[Variant],
        diags: &mut Diagnostics,
    ) -> Option<Vec<UnionVariant>> {
        if candidates.iter().any(|c| !c.is_object) {
            return None;
        }
        let mut wires: Vec<Vec<String>> = Vec::new();
        for candidate in candidates {
            let mut names = Vec::new();
            if let Some(d) = discriminator {
                for (key, target) in &d.mapping {
                    let resolved = self
                        .sources
                        .resolve_ref(loc, &mapping_ref(target))
                        .ok()
                        .and_then(|t| self.sources.deref(&t).ok());
                    if resolved.as_ref() == Some(&candidate.target) {
                        names.push(key.clone());
                    }
                }
            }
            if names.is_empty()
                && let Some(value) = candidate.const_values.get(tag)
            {
                names.extend(value.iter().cloned());
            }
            // OpenAPI's implicit mapping: the component name.
            if names.is_empty()
                && discriminator.is_some()
                && let Some(component) = component_name(&candidate.target)
            {
                names.push(component);
            }
            if names.is_empty() {
                return None;
            }
            wires.push(names);
        }
        let mut variant_names = Namespace::new();
        let mut variants = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (candidate, names) in candidates.iter().zip(wires) {
            let hint = candidate
                .name
                .clone()
                .unwrap_or_else(|| format!("{type_name}_{}", names[0]));
            // A variant that is nothing but its tag is a unit variant.
            let only_tag = candidate.property_names.iter().all(|p| p == tag);
            let ty = if only_tag {
                None
            } else {
                let lowered = self.lower_stripped(&candidate.entry, &hint, Some(tag), diags);
                Some(lowered.folded())
            };
            for wire in names {
                if !seen.insert(wire.clone()) {
                    diags.push(
                        Diagnostic::warning(
                            Kind::Invalid,
                            format!("two variants share the tag value `{wire}`; the first is kept"),
                        )
                        .at(self.sources.locate(&candidate.entry)),
                    );
                    continue;
                }
                variants.push(UnionVariant {
                    name: Name {
                        wire: wire.clone(),
                        rust: variant_names.claim_name(&wire, Case::Camel).0.rust,
                    },
                    docs: candidate.docs.clone(),
                    ty: ty.clone(),
                    skip: false,
                });
            }
        }
        Some(variants)
    }

    fn check_keywords(&mut self, loc: &Loc, obj: &Map<String, Value>, diags: &mut Diagnostics) {
        if !self.warned_keywords.insert(loc.clone()) {
            return;
        }
        for key in obj.keys() {
            if key.starts_with("x-") || KNOWN_KEYWORDS.contains(&key.as_str()) {
                continue;
            }
            // The keyword's own place (its key), not its value's.
            let at = self.sources.locate_key(&loc.child(key));
            if UNMODELLED_KEYWORDS.contains(&key.as_str()) {
                diags.push(
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!("`{key}` is not modelled: the generated type accepts more than the schema"),
                    )
                    .at(at),
                );
            } else {
                diags.push(
                    Diagnostic::warning(
                        Kind::UnknownKeyword,
                        format!("unknown schema keyword `{key}` is ignored"),
                    )
                    .at(at),
                );
            }
        }
    }
}

#[derive(Default)]
struct ObjectParts {
    properties: Vec<(String, Loc)>,
    required: Vec<String>,
    additional: Option<Loc>,
    visited: Vec<Loc>,
}

/// `type: [string, integer]`: an untagged union of scalars.
fn scalar_union(obj: &Map<String, Value>) -> UnionDef {
    let mut variants = Vec::new();
    let mut variant_names = Namespace::new();
    for kind in type_list(obj).into_iter().filter(|t| *t != "null") {
        let ty = match kind {
            "string" => TypeRef::Scalar(Scalar::String),
            "integer" => TypeRef::Scalar(Scalar::I64),
            "number" => TypeRef::Scalar(Scalar::F64),
            "boolean" => TypeRef::Scalar(Scalar::Bool),
            "array" => TypeRef::Vec(Box::new(TypeRef::Json)),
            _ => TypeRef::Map(Box::new(TypeRef::Json)),
        };
        variants.push(UnionVariant {
            name: variant_names.claim_name(kind, Case::Camel).0,
            docs: Docs::default(),
            ty: Some(ty),
            skip: false,
        });
    }
    UnionDef {
        repr: UnionRepr::Untagged,
        variants,
        unknown: None,
    }
}

/// The one member of a [`Shape::Single`] schema (an `allOf`'s annotation-only members left
/// out).
fn single_member(obj: &Map<String, Value>, loc: &Loc) -> Option<Loc> {
    for keyword in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = obj.get(keyword) {
            let i = members.iter().position(|m| {
                let annotates = keyword == "allOf" && is_annotation_schema(m);
                !(is_null_value_schema(m) || annotates)
            })?;
            return Some(loc.child(keyword).index(i));
        }
    }
    None
}

/// Keywords that describe a schema without constraining its values.
const ANNOTATION_KEYWORDS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "example",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
    "externalDocs",
    "$comment",
];

/// A schema object of annotations only (`{nullable: true}`, `{description: …}`), which as an
/// `allOf` member adds nothing to what the other members accept (but `nullable`).
fn is_annotation_schema(schema: &Value) -> bool {
    match schema {
        Value::Object(o) => o
            .keys()
            .all(|k| k.starts_with("x-") || ANNOTATION_KEYWORDS.contains(&k.as_str())),
        _ => false,
    }
}

/// What a schema is, decided from its keywords alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `allOf`/`oneOf`/`anyOf` with a single (non-null) member and nothing else: that member.
    Single,
    AllOf,
    Union,
    StringEnum,
    StringConst,
    Object,
    Map,
    Array,
    Scalar(Scalar),
    ScalarUnion,
    Any,
}

struct Analysis {
    shape: Shape,
    nullable: bool,
}

impl Analysis {
    /// Shapes that always become a named type.
    fn is_named_kind(&self) -> bool {
        matches!(
            self.shape,
            Shape::AllOf | Shape::Union | Shape::StringEnum | Shape::StringConst | Shape::Object
        )
    }
}

fn type_list(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn analyse(obj: &Map<String, Value>) -> Analysis {
    let types = type_list(obj);
    let mut nullable = obj.get("nullable") == Some(&Value::Bool(true)) || types.contains(&"null");
    if let Some(Value::Array(values)) = obj.get("enum") {
        nullable |= values.iter().any(Value::is_null);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = obj.get(keyword) {
            nullable |= members.iter().any(is_null_value_schema);
        }
    }
    let non_null: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
    let union_members = ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| obj.get(*k).and_then(Value::as_array))
        .map(|members| members.iter().filter(|m| !is_null_value_schema(m)).count())
        .max();
    let all_of_members = obj.get("allOf").and_then(Value::as_array);
    let all_of = all_of_members.map_or(0, Vec::len);
    // `allOf: [X, {nullable: true}]` (or a `description`): X, the other members only annotate.
    let all_of_annotations = all_of_members.map_or(0, |members| {
        members.iter().filter(|m| is_annotation_schema(m)).count()
    });
    if let Some(members) = all_of_members {
        nullable |= members
            .iter()
            .any(|m| is_annotation_schema(m) && m.get("nullable") == Some(&Value::Bool(true)));
    }
    let has_properties = obj.contains_key("properties");
    let shape = if let Some(count) = union_members.filter(|c| *c > 0) {
        if count == 1 && all_of == 0 && !has_properties {
            Shape::Single
        } else {
            Shape::Union
        }
    } else if all_of >= 1 && all_of - all_of_annotations == 1 && !has_properties {
        Shape::Single
    } else if all_of > 0 {
        Shape::AllOf
    } else if let Some(Value::Array(values)) = obj.get("enum") {
        if values.iter().filter(|v| !v.is_null()).all(Value::is_string)
            && values.iter().any(Value::is_string)
        {
            Shape::StringEnum
        } else {
            scalar_shape(obj, &non_null)
        }
    } else if let Some(Value::String(_)) = obj.get("const") {
        Shape::StringConst
    } else if non_null.len() > 1 {
        Shape::ScalarUnion
    } else if non_null.first() == Some(&"object")
        || (non_null.is_empty() && (obj.contains_key("properties") || obj.contains_key("required")))
    {
        let has_props = obj
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if has_props { Shape::Object } else { Shape::Map }
    } else if non_null.first() == Some(&"array")
        || (non_null.is_empty() && obj.contains_key("items"))
    {
        Shape::Array
    } else if non_null.is_empty() && obj.contains_key("additionalProperties") {
        Shape::Map
    } else {
        scalar_shape(obj, &non_null)
    };
    Analysis { shape, nullable }
}

fn scalar_shape(obj: &Map<String, Value>, non_null: &[&str]) -> Shape {
    let format = obj.get("format").and_then(Value::as_str).unwrap_or("");
    match non_null.first().copied() {
        Some("string") => Shape::Scalar(match format {
            "date-time" => Scalar::DateTime,
            "date" => Scalar::Date,
            "uuid" => Scalar::Uuid,
            _ => Scalar::String,
        }),
        Some("integer") => Shape::Scalar(match format {
            "int8" => Scalar::I8,
            "int16" => Scalar::I16,
            "int32" => Scalar::I32,
            "uint8" => Scalar::U8,
            "uint16" => Scalar::U16,
            "uint32" => Scalar::U32,
            "uint64" => Scalar::U64,
            _ => Scalar::I64,
        }),
        Some("number") => Shape::Scalar(if format == "float" {
            Scalar::F32
        } else {
            Scalar::F64
        }),
        Some("boolean") => Shape::Scalar(Scalar::Bool),
        Some("array") => Shape::Array,
        Some("object") => Shape::Map,
        _ => Shape::Any,
    }
}

fn string_enum(obj: &Map<String, Value>) -> EnumDef {
    let values: Vec<String> = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(values)), _) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        (_, Some(Value::String(c))) => vec![c.clone()],
        _ => Vec::new(),
    };
    let mut names = Namespace::new();
    let mut seen = std::collections::BTreeSet::new();
    let variants = values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .map(|v| EnumVariant {
            name: names.claim_name(&v, Case::Camel).0,
            docs: Docs::default(),
        })
        .collect();
    EnumDef {
        variants,
        param: false,
    }
}

/// The types a `type` keyword names, `null` left out (a nullable union says nothing about its
/// variants by it).
fn type_names(ty: &Value) -> Vec<&str> {
    let names: Vec<&str> = match ty {
        Value::String(t) => vec![t.as_str()],
        Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    names.into_iter().filter(|t| *t != "null").collect()
}

fn is_null_value_schema(schema: &Value) -> bool {
    match schema {
        Value::Object(o) => {
            o.get("type") == Some(&Value::String("null".into()))
                || (o
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.len() == 1 && e[0].is_null()))
                || o.get("const") == Some(&Value::Null) && o.contains_key("const")
        }
        _ => false,
    }
}

fn is_null_schema(sources: &Sources, loc: &Loc) -> bool {
    let loc = sources.deref(loc).unwrap_or_else(|_| loc.clone());
    sources.get(&loc).is_some_and(is_null_value_schema)
}

/// The documentation of a schema or object: its description, else its title (or summary).
pub fn docs_of(obj: &Map<String, Value>) -> Docs {
    for key in ["description", "title", "summary"] {
        if let Some(Value::String(text)) = obj.get(key)
            && !text.trim().is_empty()
        {
            return Docs::from_text(text);
        }
    }
    Docs::default()
}

/// `example` and `examples` (an array in JSON Schema) of a schema.
pub fn examples_of(obj: &Map<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(example) = obj.get("example") {
        out.push(example.clone());
    }
    if let Some(Value::Array(examples)) = obj.get("examples") {
        out.extend(examples.iter().cloned());
    }
    out
}

/// The name a `$ref` target gives its type: the last pointer segment, unless that says nothing
/// (`schema`, `payload`, an index…).
pub fn component_name(target: &Loc) -> Option<String> {
    let last = target.last_segment();
    if last.is_empty()
        || last.chars().all(|c| c.is_ascii_digit())
        || GENERIC_SEGMENTS.contains(&last.as_str())
    {
        return None;
    }
    Some(last)
}

/// A discriminator: OpenAPI's object form or AsyncAPI's string form.
struct Discriminator {
    property: String,
    mapping: Vec<(String, String)>,
}

impl Discriminator {
    fn read(obj: &Map<String, Value>) -> Option<Discriminator> {
        match obj.get("discriminator")? {
            Value::String(property) => Some(Discriminator {
                property: property.clone(),
                mapping: Vec::new(),
            }),
            Value::Object(d) => {
                let property = d.get("propertyName")?.as_str()?.to_owned();
                let mapping = d
                    .get("mapping")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                Some(Discriminator { property, mapping })
            }
            _ => None,
        }
    }
}

/// A mapping value is a `$ref` or a bare component name.
fn mapping_ref(target: &str) -> String {
    if target.contains('#') || target.contains('/') || target.contains('.') {
        target.to_owned()
    } else {
        format!("#/components/schemas/{target}")
    }
}

/// What a union member looks like, read before lowering it.
pub(crate) struct Variant {
    /// Where the member is written (possibly a `$ref`).
    pub entry: Loc,
    /// Where it points after `$ref`s.
    pub target: Loc,
    /// A name for the variant: the component name of its `$ref`, or its title.
    pub name: Option<String>,
    pub docs: Docs,
    pub is_object: bool,
    pub property_names: Vec<String>,
    /// Required properties, merged through allOf.
    pub required: Vec<String>,
    /// Where the schema of its only property is, if it has exactly one.
    pub wrapped: Option<Loc>,
    /// Properties with a string `const` (or single-valued string `enum`), merged through allOf.
    pub const_values: BTreeMap<String, Vec<String>>,
}

impl Variant {
    pub(crate) fn inspect(sources: &Sources, entry: &Loc, diags: &mut Diagnostics) -> Variant {
        let target = match sources.deref(entry) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                entry.clone()
            }
        };
        let via_ref = &target != entry;
        let obj = sources.get(&target).and_then(Value::as_object);
        let mut variant = Variant {
            entry: entry.clone(),
            target: target.clone(),
            name: if via_ref {
                component_name(&target)
            } else {
                None
            },
            docs: obj.map(docs_of).unwrap_or_default(),
            is_object: false,
            property_names: Vec::new(),
            required: Vec::new(),
            wrapped: None,
            const_values: BTreeMap::new(),
        };
        if variant.name.is_none() {
            variant.name = obj
                .and_then(|o| o.get("title"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        let mut stack = vec![target];
        let mut seen = Vec::new();
        while let Some(loc) = stack.pop() {
            if seen.contains(&loc) || seen.len() > 64 {
                continue;
            }
            seen.push(loc.clone());
            let Some(Value::Object(o)) = sources.get(&loc) else {
                continue;
            };
            let analysis = analyse(o);
            if matches!(analysis.shape, Shape::Object | Shape::Map | Shape::AllOf) {
                variant.is_object = true;
            }
            if let Some(Value::Array(required)) = o.get("required") {
                variant
                    .required
                    .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            if let Some(Value::Object(props)) = o.get("properties") {
                for (key, prop) in props {
                    if !variant.property_names.contains(key) {
                        variant.property_names.push(key.clone());
                    }
                    let prop_loc = loc.child("properties").child(key);
                    variant.wrapped = Some(prop_loc.clone());
                    let prop = sources
                        .deref(&prop_loc)
                        .ok()
                        .and_then(|l| sources.get(&l))
                        .unwrap_or(prop);
                    if let Some(values) = const_strings(prop) {
                        variant.const_values.insert(key.clone(), values);
                    }
                }
            }
            if analysis.shape == Shape::Single
                && let Some(member) = single_member(o, &loc).and_then(|m| sources.deref(&m).ok())
            {
                stack.push(member);
            }
            if let Some(Value::Array(members)) = o.get("allOf") {
                for i in (0..members.len()).rev() {
                    if let Ok(member) = sources.deref(&loc.child("allOf").index(i)) {
                        stack.push(member);
                    }
                }
            }
        }
        variant
    }
}

/// Externally tagged unions: every variant is an object with exactly one property, required,
/// and the property names are distinct (`{"add_rule": {...}}`, `{"delete_rule": {...}}`).
/// Returns the keys, in variant order.
pub(crate) fn wrapper_keys(candidates: &[Variant]) -> Option<Vec<String>> {
    if candidates.len() < 2 {
        return None;
    }
    let mut keys = Vec::new();
    for c in candidates {
        let [only] = c.property_names.as_slice() else {
            return None;
        };
        if !c.required.contains(only) || c.wrapped.is_none() || keys.contains(only) {
            return None;
        }
        keys.push(only.clone());
    }
    Some(keys)
}

/// The string values a property schema pins a tag to: `const`, or a small string `enum`.
fn const_strings(prop: &Value) -> Option<Vec<String>> {
    let obj = prop.as_object()?;
    if let Some(Value::String(c)) = obj.get("const") {
        return Some(vec![c.clone()]);
    }
    let values = obj.get("enum")?.as_array()?;
    if values.is_empty() || !values.iter().all(Value::is_string) {
        return None;
    }
    Some(
        values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

/// A property that every variant pins to distinct string values: the implicit tag. Well-known
/// tag names are preferred, then the first such property of the first variant.
pub(crate) fn common_const_property(candidates: &[Variant]) -> Option<String> {
    let first = candidates.first()?;
    if candidates.len() < 2 {
        // One object variant with a const property is still a tag (a one-message direction).
        return first
            .property_names
            .iter()
            .find(|p| first.const_values.get(*p).is_some_and(|v| v.len() == 1))
            .cloned();
    }
    let usable = |prop: &str| {
        let mut seen = std::collections::BTreeSet::new();
        candidates.iter().all(|c| {
            c.const_values
                .get(prop)
                .is_some_and(|values| values.iter().all(|v| seen.insert(v.clone())))
        })
    };
    let preferred = [
        "type",
        "event",
        "kind",
        "op",
        "action",
        "method",
        "messageType",
        "event_type",
    ];
    preferred
        .iter()
        .map(|p| p.to_string())
        .chain(first.property_names.iter().cloned())
        .find(|p| usable(p))
}

/// A readable variant name for an untagged union member that has no name of its own.
fn variant_label(ty: &TypeRef, types: &TypeSpace, fallback: &str) -> String {
    if !fallback.starts_with("variant") {
        return fallback.to_owned();
    }
    match ty {
        TypeRef::Named(id) => types.get(*id).name.rust.unraw().to_owned(),
        TypeRef::Scalar(Scalar::String) => "String".into(),
        TypeRef::Scalar(Scalar::Bool) => "Bool".into(),
        TypeRef::Scalar(Scalar::F32 | Scalar::F64) => "Number".into(),
        TypeRef::Scalar(_) => "Integer".into(),
        TypeRef::Vec(_) => "Array".into(),
        TypeRef::Map(_) => "Object".into(),
        _ => fallback.to_owned(),
    }
}

/// Wrap references that close a cycle of direct containment in `Box`, so recursive types have a
/// size. References through `Vec` and maps are already indirect.
fn box_recursion(types: &mut TypeSpace) {
    let n = types.defs.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, def) in types.defs.iter().enumerate() {
        for_each_type_ref(&def.kind, |ty| direct_named(ty, &mut edges[i]));
    }
    let component = strongly_connected(&edges);
    for i in 0..n {
        let same = |id: usize| component[id] == component[i];
        let kind = &mut types.defs[i].kind;
        for_each_type_ref_mut(kind, |ty| box_if(ty, &same));
    }
}

fn direct_named(ty: &TypeRef, out: &mut Vec<usize>) {
    match ty {
        TypeRef::Named(id) => out.push(id.0),
        TypeRef::Option(inner) => direct_named(inner, out),
        _ => {}
    }
}

fn box_if(ty: &mut TypeRef, same: &dyn Fn(usize) -> bool) {
    match ty {
        TypeRef::Named(id) if same(id.0) => {
            let inner = std::mem::replace(ty, TypeRef::Json);
            *ty = TypeRef::Box(Box::new(inner));
        }
        TypeRef::Option(inner) => box_if(inner, same),
        _ => {}
    }
}

fn for_each_type_ref(kind: &TypeKind, mut f: impl FnMut(&TypeRef)) {
    match kind {
        TypeKind::Struct(s) => s.fields.iter().for_each(|field| f(&field.ty)),
        TypeKind::Union(u) => u.variants.iter().filter_map(|v| v.ty.as_ref()).for_each(f),
        TypeKind::Alias(ty) => f(ty),
        // Parameters are scalars, and a body is behind its own struct field: requests,
        // responses, forms and body enums are never part of a cycle (nothing refers to them).
        TypeKind::Enum(_)
        | TypeKind::Params(_)
        | TypeKind::Responses(_)
        | TypeKind::Form(_)
        | TypeKind::Content(_) => {}
    }
}

fn for_each_type_ref_mut(kind: &mut TypeKind, mut f: impl FnMut(&mut TypeRef)) {
    match kind {
        TypeKind::Struct(s) => s.fields.iter_mut().for_each(|field| f(&mut field.ty)),
        TypeKind::Union(u) => u
            .variants
            .iter_mut()
            .filter_map(|v| v.ty.as_mut())
            .for_each(f),
        TypeKind::Alias(ty) => f(ty),
        TypeKind::Enum(_)
        | TypeKind::Params(_)
        | TypeKind::Responses(_)
        | TypeKind::Form(_)
        | TypeKind::Content(_) => {}
    }
}

/// Tarjan's strongly connected components, iteratively (type graphs can be thousands deep).
/// Returns the component index of every node; a node alone without a self-edge is its own
/// component and is never boxed unless it refers to itself.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<usize> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_component = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = edges[node].get(*edge) {
                *edge += 1;
                if index[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut members = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    members.push(member);
                    if member == node {
                        break;
                    }
                }
                let recursive = members.len() > 1 || edges[node].contains(&node);
                for member in members {
                    // Non-recursive singletons get a component of their own that nothing shares.
                    component[member] = if recursive {
                        next_component
                    } else {
                        usize::MAX - member
                    };
                }
                next_component += 1;
            }
        }
    }
    component
}

/// The name of an inline type built from a parent name and a segment.
pub fn joined(parent: &str, segment: &str) -> String {
    format!("{parent}_{}", names::ident(segment, Case::Camel).unraw())
}
