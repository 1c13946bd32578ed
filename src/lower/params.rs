//! Parameters of both protocols, decided once: what type a path, query, header or cookie
//! parameter has as text the runtime reads and writes, and its field in the request or
//! connection struct.

use super::schema::SchemaLowerer;
use crate::diag::{Diagnostic, Diagnostics, Kind, Location};
use crate::ir::{Docs, Param, ParamIn, ParamStyle, Presence, Scalar, TypeKind, TypeRef};
use crate::names::{Case, Namespace};

/// What one parameter is, as read from the spec, before it becomes a [`Param`].
pub(crate) struct RawParam<'a> {
    /// The wire name.
    pub wire: &'a str,
    /// Where it travels.
    pub location: ParamIn,
    /// Its schema's type.
    pub ty: TypeRef,
    /// Must it be present?
    pub required: bool,
    /// Its description.
    pub docs: Docs,
    /// OpenAPI `style`, as written (`None`: the place's default).
    pub style: Option<&'a str>,
    /// OpenAPI `explode`, as written (`None`: true for `form`, false otherwise).
    pub explode: Option<bool>,
}

/// A parameter: its field claimed in `fields`, its type made one the runtime can read and write
/// (a scalar or a string enum, a list of those, or an object whose fields are those), and its
/// style checked against its place. Anything else is passed as a string, and a style its place
/// does not allow is replaced by the default, with a warning at `at`.
pub(crate) fn param(
    types: &mut SchemaLowerer<'_>,
    fields: &mut Namespace,
    raw: RawParam<'_>,
    at: &Option<Location>,
    diags: &mut Diagnostics,
) -> Param {
    let RawParam {
        wire,
        location,
        ty,
        required,
        docs,
        style,
        explode,
    } = raw;
    let resolved = resolve(types, &ty);
    // (value, list, object)
    let value = match &resolved {
        TypeRef::Vec(inner) => value_type(types, &resolve(types, inner)).map(|v| (v, true, false)),
        TypeRef::Named(id) if object_fields(types, *id) => Some((resolved.clone(), false, true)),
        other => value_type(types, other).map(|v| (v, false, false)),
    };
    let (value, list, object) = value.unwrap_or_else(|| {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                format!(
                    "the {} parameter `{wire}` is not a scalar, a string enum or a list of those, so it is passed as its text",
                    location.as_str()
                ),
            )
            .at(at.clone())
            .help("its field is a `String` holding the text as it travels"),
        );
        (TypeRef::Scalar(Scalar::String), false, false)
    });
    if let TypeRef::Named(id) = &value {
        if object {
            types.mark_param_struct(*id);
            for field in field_enums(types, *id) {
                types.mark_param_enum(field);
            }
        } else {
            types.mark_param_enum(*id);
        }
    }
    let (style, explode) = param_style(
        location,
        style,
        explode,
        list || object,
        object,
        wire,
        at,
        diags,
    );
    Param {
        name: fields.claim_name(wire, Case::Snake).0,
        location,
        value,
        list,
        object,
        style,
        explode,
        // A path parameter is always there when the route matched.
        required: required || location == ParamIn::Path,
        docs,
    }
}

/// The style a parameter is written in: the one the spec names when its place allows it for
/// its value, else the place's default (with a warning); `explode` defaults to true for `form`.
#[allow(clippy::too_many_arguments)]
fn param_style(
    location: ParamIn,
    style: Option<&str>,
    explode: Option<bool>,
    composite: bool,
    object: bool,
    wire: &str,
    at: &Option<Location>,
    diags: &mut Diagnostics,
) -> (ParamStyle, bool) {
    let default = ParamStyle::default_for(location);
    let named = match style {
        None => default,
        Some("form") => ParamStyle::Form,
        Some("simple") => ParamStyle::Simple,
        Some("label") => ParamStyle::Label,
        Some("matrix") => ParamStyle::Matrix,
        Some("spaceDelimited") => ParamStyle::SpaceDelimited,
        Some("pipeDelimited") => ParamStyle::PipeDelimited,
        Some("deepObject") => ParamStyle::DeepObject,
        Some(other) => {
            diags.push(
                Diagnostic::warning(
                    Kind::Invalid,
                    format!("parameter `{wire}` has an unknown style `{other}`, so it is written in the {} default", location.as_str()),
                )
                .at(at.clone()),
            );
            default
        }
    };
    let allowed = match (location, named) {
        (ParamIn::Path, ParamStyle::Simple | ParamStyle::Label | ParamStyle::Matrix) => true,
        (ParamIn::Query, ParamStyle::Form) => true,
        (ParamIn::Query, ParamStyle::SpaceDelimited | ParamStyle::PipeDelimited) => composite,
        (ParamIn::Query, ParamStyle::DeepObject) => object,
        (ParamIn::Header, ParamStyle::Simple) => true,
        (ParamIn::Cookie, ParamStyle::Form) => true,
        _ => false,
    };
    let style = if allowed {
        named
    } else {
        diags.push(
            Diagnostic::warning(
                Kind::Invalid,
                format!(
                    "style `{}` is not one a {} parameter{} can have (OpenAPI's style table), so `{wire}` is written in the default style",
                    style.unwrap_or_default(),
                    location.as_str(),
                    if composite { "" } else { " holding one value" }
                ),
            )
            .at(at.clone()),
        );
        default
    };
    (style, explode.unwrap_or(style == ParamStyle::Form))
}

/// Is `id` a struct whose fields are all scalars or string enums (an object parameter)?
fn object_fields(types: &SchemaLowerer<'_>, id: crate::ir::TypeId) -> bool {
    let TypeKind::Struct(def) = &types.def(id).kind else {
        return false;
    };
    def.additional.is_none()
        && !def.fields.is_empty()
        && def.fields.iter().all(|field| {
            let ty = resolve(types, &field.ty);
            matches!(field.presence, Presence::Required | Presence::Optional)
                && !matches!(field.ty, TypeRef::Option(_))
                && !matches!(ty, TypeRef::Scalar(Scalar::Bytes))
                && value_type(types, &ty).is_some_and(|value| value == ty)
        })
}

/// The string enums an object parameter's fields hold (through aliases).
fn field_enums(types: &SchemaLowerer<'_>, id: crate::ir::TypeId) -> Vec<crate::ir::TypeId> {
    let TypeKind::Struct(def) = &types.def(id).kind else {
        return Vec::new();
    };
    def.fields
        .iter()
        .filter_map(|field| match resolve(types, &field.ty) {
            TypeRef::Named(id) => Some(id),
            _ => None,
        })
        .collect()
}
/// `ty` without nullability and aliases (aliases of aliases, to a bounded depth).
fn resolve(types: &SchemaLowerer<'_>, ty: &TypeRef) -> TypeRef {
    let mut current = ty.clone();
    for _ in 0..64 {
        current = match current {
            TypeRef::Option(inner) | TypeRef::Box(inner) => *inner,
            TypeRef::Named(id) => match &types.def(id).kind {
                TypeKind::Alias(inner) => inner.clone(),
                _ => return TypeRef::Named(id),
            },
            other => return other,
        };
    }
    current
}

/// The value type of a scalar parameter: a scalar (bytes travel as text) or a string enum.
fn value_type(types: &SchemaLowerer<'_>, ty: &TypeRef) -> Option<TypeRef> {
    match ty {
        TypeRef::Scalar(Scalar::Bytes) => Some(TypeRef::Scalar(Scalar::String)),
        TypeRef::Scalar(scalar) => Some(TypeRef::Scalar(*scalar)),
        TypeRef::Named(id) => match types.def(*id).kind {
            TypeKind::Enum(_) => Some(ty.clone()),
            _ => None,
        },
        _ => None,
    }
}
