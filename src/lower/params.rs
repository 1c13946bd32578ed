//! Parameters of both protocols, decided once: what type a path, query, header or cookie
//! parameter has as text the runtime reads and writes, and its field in the request or
//! connection struct.

use super::schema::SchemaLowerer;
use crate::diag::{Diagnostic, Diagnostics, Kind, Location};
use crate::ir::{Docs, Param, ParamIn, Scalar, TypeKind, TypeRef};
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
}

/// A parameter: its field claimed in `fields`, its type made one the runtime can read and write
/// (a scalar or a string enum, or a list of those; lists are not allowed in cookies). Anything
/// else is passed as a string, with a warning at `at`.
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
    } = raw;
    let resolved = resolve(types, &ty);
    let value = match &resolved {
        TypeRef::Vec(inner) if location != ParamIn::Cookie => {
            value_type(types, &resolve(types, inner)).map(|v| (v, true))
        }
        other => value_type(types, other).map(|v| (v, false)),
    };
    let (value, list) = value.unwrap_or_else(|| {
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
        (TypeRef::Scalar(Scalar::String), false)
    });
    if let TypeRef::Named(id) = &value {
        types.mark_param_enum(*id);
    }
    Param {
        name: fields.claim_name(wire, Case::Snake).0,
        location,
        value,
        list,
        // A path parameter is always there when the route matched.
        required: required || location == ParamIn::Path,
        docs,
    }
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
