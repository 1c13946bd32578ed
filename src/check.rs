//! The check phase: what can only be seen with whole APIs lowered, between lower and emit.
//!
//! - **Routes.** axum refuses two routes of the same shape (the same path with parameter names
//!   blanked) unless they are the same text with different methods, and panics when asked to:
//!   every route an API's router would serve is compared with the earlier ones, and one that
//!   conflicts is left out of it (a located warning names both; a channel's own router still
//!   serves it, and its client is still generated).
//! - **Modules.** Two specs whose files give the same module name would overwrite each other.
//! - **The IR's own invariants.** Type ids, parameter and message indices in range, and every
//!   identifier of a generated module unique in it: a failure is a wiregen bug, reported as
//!   [`Kind::Internal`] rather than as Rust that does not compile.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Diagnostics, Kind, Location};
use crate::ir::{
    Api, ChannelProtocol, HttpMethod, OperationKind, PathSegment, Route, TypeId, TypeKind, TypeRef,
};
use crate::lower::routes::shape;

/// Check every API (in place: conflicting routes are not served).
pub fn check(apis: &mut [Api], diags: &mut Diagnostics) {
    module_names(apis, diags);
    for api in apis.iter_mut() {
        routes(api, diags);
        invariants(api, diags);
    }
}

/// Two APIs with the same module name.
fn module_names(apis: &[Api], diags: &mut Diagnostics) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for api in apis {
        let module = api.module.rust.unraw();
        if let Some(first) = seen.insert(module, &api.source.file) {
            diags.push(
                Diagnostic::error(
                    Kind::Invalid,
                    format!(
                        "`{first}` and `{}` would both be module `{module}` (`{module}.rs`)",
                        api.source.file
                    ),
                )
                .help("rename one of the spec files: the module name comes from the file name"),
            );
        }
    }
}

/// One route of an API's router.
struct Served<'a> {
    method: HttpMethod,
    route: &'a mut Route,
    what: String,
    at: Option<Location>,
}

/// Unserve every route that conflicts with an earlier one of the same router.
fn routes(api: &mut Api, diags: &mut Diagnostics) {
    let Api {
        operations,
        channels,
        sockets,
        ..
    } = api;
    let leaders: Vec<usize> = sockets
        .iter()
        .filter_map(|s| s.members.first().copied())
        .collect();
    let mut table: Vec<Served<'_>> = Vec::new();
    for op in operations.iter_mut() {
        let what = format!("`{} {}`", op.method.as_str(), op.route.path);
        table.push(Served {
            method: op.method,
            route: &mut op.route,
            what,
            at: op.location.clone(),
        });
    }
    for (index, channel) in channels.iter_mut().enumerate() {
        let ChannelProtocol::WebSocket(ws) = &mut channel.protocol else {
            continue;
        };
        // A socket is routed once, by its first channel.
        if ws.socket.is_some() && !leaders.contains(&index) {
            continue;
        }
        table.push(Served {
            method: HttpMethod::Get,
            route: &mut ws.route,
            what: format!("channel `{}`", channel.name.wire),
            at: channel.location.clone(),
        });
    }
    // Each route's shape once; routes of one shape are compared with each other only.
    let mut by_shape: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for later in 0..table.len() {
        let Some(text) = table[later].route.served().map(str::to_owned) else {
            continue;
        };
        let earlier_ones = by_shape.entry(shape(&text)).or_default();
        let earlier = earlier_ones.iter().copied().find(|&e| {
            table[e]
                .route
                .served()
                .is_some_and(|served| served != text || table[e].method == table[later].method)
        });
        let Some(earlier) = earlier else {
            earlier_ones.push(later);
            continue;
        };
        let message = format!(
            "{} is served at `{text}`, which axum cannot serve beside {} (`{}`): the generated router leaves {} out",
            table[later].what,
            table[earlier].what,
            table[earlier].route.served().unwrap_or_default(),
            table[later].what,
        );
        diags.push(
            Diagnostic::warning(Kind::Unsupported, message)
                .at(table[later].at.clone())
                .help("routes conflict when they are the same path with the parameters renamed, or the same path and method; its client is still generated"),
        );
        table[later].route.in_router = false;
    }
}

/// The IR's invariants (see the module docs).
fn invariants(api: &Api, diags: &mut Diagnostics) {
    let mut problems = Vec::new();
    let types = api.types.defs.len();
    let id_ok = |id: TypeId| id.0 < types;
    for def in &api.types.defs {
        let mut refs = Vec::new();
        match &def.kind {
            TypeKind::Struct(s) => {
                refs.extend(s.fields.iter().map(|f| &f.ty));
                refs.extend(s.additional.iter().map(|a| &a.value));
            }
            TypeKind::Union(u) => refs.extend(u.variants.iter().filter_map(|v| v.ty.as_ref())),
            TypeKind::Alias(ty) => refs.push(ty),
            TypeKind::Params(p) => {
                refs.extend(p.params.iter().map(|p| &p.value));
                refs.extend(p.body.iter().map(|b| &b.ty));
                refs.extend(p.body.iter().flat_map(|b| b.contents.iter().map(|c| &c.ty)));
            }
            TypeKind::Responses(r) => {
                for case in &r.cases {
                    refs.extend(case.body.iter().map(|b| &b.ty));
                    refs.extend(case.headers.iter().map(|h| &h.value));
                }
            }
            TypeKind::Form(f) => refs.extend(f.fields.iter().filter_map(|f| match &f.value {
                crate::ir::FormValue::Text(ty) | crate::ir::FormValue::Json(ty) => Some(ty),
                crate::ir::FormValue::File => None,
            })),
            TypeKind::Content(c) => refs.extend(c.variants.iter().map(|v| &v.ty)),
            TypeKind::Enum(_) => {}
        }
        if !refs.iter().all(|ty| ty_ok(ty, &id_ok)) {
            problems.push(format!(
                "type `{}` refers to a type outside the type space",
                def.name.rust
            ));
        }
    }
    let params_ok = |id: TypeId, route: &Route| match api.types.params(id) {
        Some(params) => route.segments.iter().all(|s| match s {
            PathSegment::Param(i) => params.params.get(*i).is_some(),
            PathSegment::Literal(_) => true,
        }),
        None => false,
    };
    for op in &api.operations {
        let kind_ok = match &op.kind {
            OperationKind::Stream(stream) => id_ok(stream.event_enum),
            OperationKind::Call(call) => matches!(
                api.types.defs.get(call.responses.0).map(|d| &d.kind),
                Some(TypeKind::Responses(_))
            ),
        };
        if !params_ok(op.request, &op.route) || !kind_ok {
            problems.push(format!(
                "operation `{}` refers to a missing type or parameter",
                op.name.wire
            ));
        }
    }
    for channel in &api.channels {
        for to_server in [true, false] {
            if let Some(set) = channel.direction(to_server)
                && (!id_ok(set.enum_id) || set.binary.is_some_and(|b| b >= set.messages.len()))
            {
                problems.push(format!(
                    "channel `{}` refers to a missing message type",
                    channel.name.wire
                ));
            }
        }
        for reply in &channel.replies {
            let client_asks = reply.initiator == crate::ir::Initiator::Client;
            let asks = channel
                .direction(client_asks)
                .map_or(0, |s| s.messages.len());
            let answers = channel
                .direction(!client_asks)
                .map_or(0, |s| s.messages.len());
            if reply.request >= asks || reply.replies.iter().any(|&r| r >= answers) {
                problems.push(format!(
                    "request/reply `{}` refers to a missing message",
                    reply.name.wire
                ));
            }
        }
        if let Some(ws) = channel.websocket()
            && (!params_ok(ws.params, &ws.route)
                || ws.socket.is_some_and(|s| s.0 >= api.sockets.len()))
        {
            problems.push(format!(
                "channel `{}` refers to a missing parameter or socket",
                channel.name.wire
            ));
        }
    }
    for socket in &api.sockets {
        if socket.members.iter().any(|&m| m >= api.channels.len()) {
            problems.push(format!(
                "socket `{}` refers to a missing channel",
                socket.name.wire
            ));
        }
    }
    problems.extend(duplicate_idents(api));
    for problem in problems {
        diags.push(
            Diagnostic::error(Kind::Internal, format!("wiregen bug: {problem}"))
                .help("please report this, with the spec that triggered it"),
        );
    }
}

fn ty_ok(ty: &TypeRef, id_ok: &dyn Fn(TypeId) -> bool) -> bool {
    match ty {
        TypeRef::Named(id) => id_ok(*id),
        TypeRef::Scalar(_) | TypeRef::Json => true,
        TypeRef::Vec(inner)
        | TypeRef::Map(inner)
        | TypeRef::Option(inner)
        | TypeRef::Box(inner) => ty_ok(inner, id_ok),
    }
}

/// Identifiers that two items of one generated module share.
fn duplicate_idents<'a>(api: &'a Api) -> Vec<String> {
    let mut modules: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    let mut add = |module: &'static str, ident: &'a crate::names::RustIdent| {
        modules.entry(module).or_default().push(ident.unraw());
    };
    for def in &api.types.defs {
        add("types", &def.name.rust);
    }
    for socket in &api.sockets {
        for e in socket.to_server.iter().chain(&socket.to_client) {
            add("types", &e.ident);
        }
        add("server", &socket.endpoint);
        add("server", &socket.router);
        add("client", &socket.client);
    }
    let items = &api.items;
    for ident in [
        &items.router,
        &items.router_with_config,
        &items.server_config,
        &items.service.rust,
    ] {
        add("server", ident);
    }
    for ident in [&items.client, &items.client_config] {
        add("client", ident);
    }
    for op in &api.operations {
        add("server", &op.handler);
        add("methods", &op.name.rust);
        match &op.kind {
            OperationKind::Stream(stream) => {
                if let Some(json) = &stream.json_alternative {
                    add("methods", &json.method);
                }
            }
            OperationKind::Call(call) => add("server", &call.endpoint),
        }
    }
    for (_, _, ws) in api.ws_channels() {
        add("server", &ws.items.server_trait);
        add("server", &ws.items.endpoint);
        add("server", &ws.items.router);
        add("client", &ws.items.client);
    }
    let mut out = Vec::new();
    for (module, mut idents) in modules {
        idents.sort_unstable();
        for pair in idents.windows(2) {
            if pair[0] == pair[1] {
                out.push(format!("`{}` is defined twice in `{module}`", pair[0]));
            }
        }
    }
    out
}
