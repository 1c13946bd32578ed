//! What AsyncAPI WebSocket channels contribute to each module: in `wire`, how each message enum
//! travels ([`MessageSet`](::wiregen_runtime::ws::MessageSet)) and how connection parameters
//! are read and written; in `server`, a trait per channel, the endpoint adapting it to the
//! runtime's generic channel (`ws::channel`), and the routers; in `client`, a typed client per
//! channel and per shared socket.

use proc_macro2::TokenStream;
use quote::quote;

use super::http::{client_key_place, from_request_impl, server_schemes, to_request_impl};
use super::tokens::{Runtime, TypeExpr, doc, docs, lit};
use crate::diag::Diagnostic;
use crate::format::Module;
use crate::ir::{
    Api, Channel, Docs, Initiator, Message, MessageSet, Payload, RequestReply, Socket,
    TextDecoding, TypeKind, UnionVariant, WebSocketChannel,
};
use crate::names::RustIdent;

/// How a message set's enum is named outside `types`: the enum, or the runtime's `NoMessages`
/// when a direction has none.
fn set_type(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    set: Option<&MessageSet>,
) -> Result<TokenStream, Diagnostic> {
    match set {
        Some(set) => outer.named(set.enum_id),
        None => Ok(quote!(#rt::ws::NoMessages)),
    }
}

/// The variants of a message set's enum, in message order.
fn variants<'a>(api: &'a Api, set: &MessageSet) -> Result<&'a [UnionVariant], Diagnostic> {
    match &api.types.get(set.enum_id).kind {
        TypeKind::Union(union) if union.variants.len() == set.messages.len() => Ok(&union.variants),
        _ => Err(super::internal(
            "a message set's enum is not a union of its messages".to_owned(),
        )),
    }
}

/// `MessageSet` impls for every channel direction and shared socket, and the connection
/// parameters' `FromRequest` (server) and `ToRequest` (client) impls.
pub(crate) fn wire_items(
    api: &Api,
    rt: &Runtime,
    server: bool,
    client: bool,
) -> Result<Vec<TokenStream>, Diagnostic> {
    let outer = TypeExpr {
        space: &api.types,
        outside: true,
    };
    let mut items = Vec::new();
    for (_, channel, ws) in api.ws_channels() {
        for set in [&channel.to_server, &channel.to_client]
            .into_iter()
            .flatten()
        {
            items.push(message_set(api, rt, &outer, set)?);
        }
        let params = outer.named(ws.params)?;
        let def = api.types.params(ws.params).ok_or_else(|| {
            super::internal(format!(
                "channel `{}` has no parameters struct",
                channel.name.wire
            ))
        })?;
        if server {
            items.push(from_request_impl(rt, &outer, &params, def)?);
        }
        if client {
            items.push(to_request_impl(rt, &params, def, &ws.route));
        }
    }
    for socket in &api.sockets {
        for (to_server, combined) in [(true, &socket.to_server), (false, &socket.to_client)] {
            if let Some(combined) = combined {
                items.push(socket_set(
                    api,
                    rt,
                    &outer,
                    to_server,
                    &combined.ident,
                    &combined.variants,
                )?);
            }
        }
    }
    Ok(items)
}

/// `impl MessageSet` of one direction: binary frames decode into the binary message, text frames
/// by the direction's [`TextDecoding`].
fn message_set(
    api: &Api,
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    set: &MessageSet,
) -> Result<TokenStream, Diagnostic> {
    let ty = outer.named(set.enum_id)?;
    let variants = variants(api, set)?;
    // encode: serde for the serde variants of a tagged set; each other message by its kind.
    let serde_encoded = matches!(
        set.text,
        TextDecoding::Tagged { .. } | TextDecoding::Wrapped
    );
    let mut arms = Vec::new();
    let mut all_explicit = true;
    for (message, variant) in set.messages.iter().zip(variants) {
        let v = &variant.name.rust;
        let arm = match (&message.payload, &variant.ty) {
            (Payload::Binary, _) => {
                quote!(Self::#v(m) => ::std::result::Result::Ok(#rt::ws::Frame::binary(m.as_slice())),)
            }
            (Payload::Text, _) => {
                quote!(Self::#v(m) => ::std::result::Result::Ok(#rt::ws::Frame::text(m.as_str())),)
            }
            (_, None) if !serde_encoded => {
                quote!(Self::#v => ::std::result::Result::Ok(#rt::ws::Frame::text("")),)
            }
            (Payload::Json(_) | Payload::Empty, Some(_)) if !serde_encoded => {
                quote!(Self::#v(m) => #rt::ws::encode_json(m),)
            }
            _ => {
                all_explicit = false;
                continue;
            }
        };
        arms.push(arm);
    }
    if let Some(unknown) = &set.unknown {
        arms.push(quote!(Self::#unknown(value) => #rt::ws::encode_json(value),));
    }
    let encode = if arms.is_empty() {
        quote!(#rt::ws::encode_json(self))
    } else {
        let rest = (!all_explicit).then(|| quote!(_ => #rt::ws::encode_json(self),));
        quote!(match self { #(#arms)* #rest })
    };
    let known: Vec<_> = variants
        .iter()
        .filter(|v| !v.skip)
        .map(|v| lit(&v.name.wire))
        .collect();
    let decode_text = match (&set.text, &set.unknown) {
        (TextDecoding::None, _) => quote! {
            let _ = text;
            ::std::result::Result::Err(#rt::ws::DecodeError::UnexpectedText)
        },
        (TextDecoding::Tagged { tag }, None) => {
            let tag = lit(tag);
            quote!(#rt::ws::decode_tagged_json(text, #tag, &[#(#known),*]))
        }
        (TextDecoding::Tagged { tag }, Some(unknown)) => {
            let tag = lit(tag);
            quote!(#rt::ws::decode_tagged_json_or(text, #tag, &[#(#known),*], Self::#unknown))
        }
        (TextDecoding::Wrapped, Some(unknown)) => {
            quote!(#rt::ws::decode_wrapped_json_or(text, &[#(#known),*], Self::#unknown))
        }
        (TextDecoding::Wrapped, None) => quote!(#rt::ws::decode_json(text)),
        (TextDecoding::TryEach, _) => try_each(rt, outer, set, variants)?,
    };
    let decode_binary = set.binary.map(|index| {
        let v = &variants[index].name.rust;
        quote! {
            fn decode_binary(data: &[u8]) -> ::std::result::Result<Self, #rt::ws::DecodeError> {
                ::std::result::Result::Ok(Self::#v(data.to_vec()))
            }
        }
    });
    let correlation = correlation(set, variants);
    Ok(quote! {
        impl #rt::ws::MessageSet for #ty {
            fn encode(&self) -> ::std::result::Result<#rt::ws::Frame, #rt::ws::EncodeError> {
                #encode
            }

            fn decode_text(text: &str) -> ::std::result::Result<Self, #rt::ws::DecodeError> {
                #decode_text
            }

            #decode_binary
            #correlation
        }
    })
}

/// Text frames of a set without a tag: each JSON message tried in order, then an empty frame
/// for a message without payload, then the plain-text message.
fn try_each(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    set: &MessageSet,
    variants: &[UnionVariant],
) -> Result<TokenStream, Diagnostic> {
    let mut json = Vec::new();
    let (mut empty, mut text) = (None, None);
    for (message, variant) in set.messages.iter().zip(variants) {
        let v = &variant.name.rust;
        match (&message.payload, &variant.ty) {
            (Payload::Binary, _) => {}
            (Payload::Text, _) => {
                text.get_or_insert(v);
            }
            (_, None) => {
                empty.get_or_insert(v);
            }
            (Payload::Json(_) | Payload::Empty, Some(ty)) => json.push((v, outer.ty(ty)?)),
        }
    }
    let mut steps = Vec::new();
    let mut first_error = false;
    for (i, (v, ty)) in json.iter().enumerate() {
        steps.push(if i == 0 && text.is_none() {
            first_error = true;
            quote! {
                let error = match #rt::ws::decode_json::<#ty>(text) {
                    ::std::result::Result::Ok(m) => return ::std::result::Result::Ok(Self::#v(m)),
                    ::std::result::Result::Err(error) => error,
                };
            }
        } else {
            quote! {
                if let ::std::result::Result::Ok(m) = #rt::ws::decode_json::<#ty>(text) {
                    return ::std::result::Result::Ok(Self::#v(m));
                }
            }
        });
    }
    if let Some(v) = empty {
        steps.push(quote! {
            if text.trim().is_empty() {
                return ::std::result::Result::Ok(Self::#v);
            }
        });
    }
    steps.push(match (text, first_error) {
        (Some(v), _) => {
            quote!(::std::result::Result::Ok(Self::#v(::std::string::String::from(text))))
        }
        (None, true) => quote!(::std::result::Result::Err(error)),
        (None, false) => quote!(::std::result::Result::Err(#rt::ws::DecodeError::UnexpectedText)),
    });
    Ok(quote!(#(#steps)*))
}

/// `correlation_id` and `set_correlation_id`, when messages of the set carry one.
fn correlation(set: &MessageSet, variants: &[UnionVariant]) -> TokenStream {
    let mut gets = Vec::new();
    let mut sets = Vec::new();
    for (message, variant) in set.messages.iter().zip(variants) {
        let (Some(correlation), Some(_)) = (&message.correlation, &variant.ty) else {
            continue;
        };
        let v = &variant.name.rust;
        let field = &correlation.field;
        if correlation.optional {
            gets.push(quote!(Self::#v(m) => m.#field.as_deref(),));
            sets.push(quote! {
                Self::#v(m) => {
                    m.#field = ::std::option::Option::Some(::std::string::String::from(id));
                    true
                }
            });
        } else {
            gets.push(quote!(Self::#v(m) => ::std::option::Option::Some(m.#field.as_str()),));
            sets.push(quote! {
                Self::#v(m) => {
                    m.#field = ::std::string::String::from(id);
                    true
                }
            });
        }
    }
    if gets.is_empty() {
        return TokenStream::new();
    }
    let every = gets.len() == set.messages.len() && set.unknown.is_none();
    let (get_rest, set_rest) = if every {
        (TokenStream::new(), TokenStream::new())
    } else {
        (
            quote!(_ => ::std::option::Option::None,),
            quote!(_ => false,),
        )
    };
    quote! {
        fn correlation_id(&self) -> ::std::option::Option<&str> {
            match self { #(#gets)* #get_rest }
        }

        fn set_correlation_id(&mut self, id: &str) -> bool {
            match self { #(#sets)* #set_rest }
        }
    }
}

/// `impl MessageSet` of a shared socket's combined enum: each variant wraps one channel's enum;
/// decoding tries each channel (their tags are distinct, lowering made sure), a known message
/// winning over a catch-all one.
fn socket_set(
    api: &Api,
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    to_server: bool,
    ident: &RustIdent,
    members: &[(usize, RustIdent)],
) -> Result<TokenStream, Diagnostic> {
    let mut encode = Vec::new();
    let mut decode = Vec::new();
    let mut gets = Vec::new();
    let mut sets = Vec::new();
    let mut decode_binary = None;
    for (index, v) in members {
        let Some(set) = api.channels[*index].direction(to_server) else {
            continue;
        };
        let ty = outer.named(set.enum_id)?;
        // Lowering lets at most one channel of a socket carry binary frames.
        if set.binary.is_some() {
            decode_binary = Some(quote! {
                fn decode_binary(data: &[u8]) -> ::std::result::Result<Self, #rt::ws::DecodeError> {
                    <#ty as #rt::ws::MessageSet>::decode_binary(data).map(Self::#v)
                }
            });
        }
        encode.push(quote!(Self::#v(m) => #rt::ws::MessageSet::encode(m),));
        let unknown = set.unknown.as_ref().map(|unknown| {
            quote! {
                ::std::result::Result::Ok(#ty::#unknown(value)) => attempts.unknown(Self::#v(#ty::#unknown(value))),
            }
        });
        decode.push(quote! {
            match <#ty as #rt::ws::MessageSet>::decode_text(text) {
                #unknown
                ::std::result::Result::Ok(message) => return ::std::result::Result::Ok(Self::#v(message)),
                ::std::result::Result::Err(error) => attempts.failed(error),
            }
        });
        gets.push(quote!(Self::#v(m) => #rt::ws::MessageSet::correlation_id(m),));
        sets.push(quote!(Self::#v(m) => #rt::ws::MessageSet::set_correlation_id(m, id),));
    }
    Ok(quote! {
        impl #rt::ws::MessageSet for super::types::#ident {
            fn encode(&self) -> ::std::result::Result<#rt::ws::Frame, #rt::ws::EncodeError> {
                match self { #(#encode)* }
            }

            fn decode_text(text: &str) -> ::std::result::Result<Self, #rt::ws::DecodeError> {
                let mut attempts = #rt::ws::Attempts::new();
                #(#decode)*
                attempts.finish()
            }

            #decode_binary

            fn correlation_id(&self) -> ::std::option::Option<&str> {
                match self { #(#gets)* }
            }

            fn set_correlation_id(&mut self, id: &str) -> bool {
                match self { #(#sets)* }
            }
        }
    })
}

/// The typed request and reply of a request/reply operation, as a method sees them.
struct ReplyShape<'a> {
    reply: &'a RequestReply,
    request: &'a Message,
    /// The request variant, and its payload type (`None` for a message that is only its tag).
    request_variant: &'a RustIdent,
    request_ty: Option<TokenStream>,
    /// The one reply's variant and payload type; `None` when several messages may answer (the
    /// method then takes or returns the whole enum of the answering direction).
    reply_variant: Option<(&'a RustIdent, Option<TokenStream>)>,
}

/// The request/reply operations of `channel` that `initiator` starts.
fn reply_shapes<'a>(
    api: &'a Api,
    channel: &'a Channel,
    outer: &TypeExpr<'_>,
    initiator: Initiator,
) -> Result<Vec<ReplyShape<'a>>, Diagnostic> {
    let client_asks = initiator == Initiator::Client;
    let (Some(asks), Some(answers)) = (
        channel.direction(client_asks),
        channel.direction(!client_asks),
    ) else {
        return Ok(Vec::new());
    };
    let (ask_variants, answer_variants) = (variants(api, asks)?, variants(api, answers)?);
    let mut out = Vec::new();
    for reply in channel.replies.iter().filter(|r| r.initiator == initiator) {
        let request = &ask_variants[reply.request];
        let reply_variant = match reply.replies.as_slice() {
            [one] => {
                let variant = &answer_variants[*one];
                Some((
                    &variant.name.rust,
                    variant.ty.as_ref().map(|t| outer.ty(t)).transpose()?,
                ))
            }
            _ => None,
        };
        out.push(ReplyShape {
            reply,
            request: &asks.messages[reply.request],
            request_variant: &request.name.rust,
            request_ty: request.ty.as_ref().map(|t| outer.ty(t)).transpose()?,
            reply_variant,
        });
    }
    Ok(out)
}

/// The `server` module of an AsyncAPI document.
pub(crate) fn server_module(api: &Api, rt: &Runtime) -> Result<Module, Diagnostic> {
    let outer = TypeExpr {
        space: &api.types,
        outside: true,
    };
    let items = &api.items;
    let (router, router_with_config, server_config) = (
        &items.router,
        &items.router_with_config,
        &items.server_config,
    );
    let mut out = Vec::new();
    let mut bounds = Vec::new();
    let mut merged = Vec::new();
    for (_, channel, ws) in api.ws_channels() {
        out.push(channel_server(api, rt, &outer, channel, ws)?);
        bounds.push(&ws.items.server_trait);
        if ws.route.served().is_some() && ws.socket.is_none() {
            let channel_router = &ws.items.router;
            merged.push(quote!(.merge(#channel_router(service.clone(), config.clone()))));
        }
    }
    for socket in &api.sockets {
        out.push(socket_server(api, rt, socket)?);
        let leader = socket
            .members
            .first()
            .and_then(|&i| api.channels[i].websocket());
        if leader.is_some_and(|ws| ws.route.served().is_some()) {
            let socket_router = &socket.router;
            merged.push(quote!(.merge(#socket_router(service.clone(), config.clone()))));
        }
    }
    let bound = quote!(#(#bounds)+*);
    let body = if merged.is_empty() {
        quote! {
            let _ = (service, config);
            #rt::codegen::axum::Router::new()
        }
    } else {
        quote! {
            let service = ::std::sync::Arc::new(service);
            let config = ::std::sync::Arc::new(config);
            #rt::codegen::axum::Router::new() #(#merged)*
        }
    };
    let module_docs = doc(&format!(
        "The server side: implement each channel's trait and serve [`server::{router}`]({router})."
    ));
    let mut items = vec![quote! {
            /// Settings of the served channels: message size, buffers, queue bounds, keep-alive,
            /// request limits, and what to do with invalid frames.
            pub type #server_config = #rt::ws::server::ServerConfig;

            /// An axum router serving every channel, with the default settings.
            pub fn #router<S: #bound>(service: S) -> #rt::codegen::axum::Router {
                #router_with_config(service, #server_config::default())
            }

            /// An axum router serving every channel: channels sharing a socket on one connection
            /// each; a channel whose route conflicts with an earlier one's is left out (wiregen
            /// warned about it).
            pub fn #router_with_config<S: #bound>(
                service: S,
                config: #server_config,
            ) -> #rt::codegen::axum::Router {
                #body
            }
    }];
    items.extend(out);
    let allows = super::spec_doc_allows(api)?;
    Ok(Module {
        head: quote! {
            #module_docs
            pub mod server { #allows }
        },
        items,
    })
}

/// A channel's trait, its endpoint and its router.
fn channel_server(
    api: &Api,
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    channel: &Channel,
    ws: &WebSocketChannel,
) -> Result<TokenStream, Diagnostic> {
    let items = &ws.items;
    let (server_trait, endpoint, channel_router) =
        (&items.server_trait, &items.endpoint, &items.router);
    let server_config = &api.items.server_config;
    let params = outer.named(ws.params)?;
    let in_ty = set_type(rt, outer, channel.to_server.as_ref())?;
    let out_ty = set_type(rt, outer, channel.to_client.as_ref())?;
    let secured = !ws.security.is_empty();
    let replies = reply_shapes(api, channel, outer, Initiator::Client)?;
    let asked = reply_shapes(api, channel, outer, Initiator::Server)?;
    let requests: Vec<usize> = replies.iter().map(|r| r.reply.request).collect();
    let other_messages = channel.to_server.as_ref().is_some_and(|set| {
        (0..set.messages.len()).any(|i| !requests.contains(&i)) || set.unknown.is_some()
    });

    // The trait.
    let auth = secured.then(|| {
        quote! {
            /// Who a connection is, as [`authenticate`](Self::authenticate) decided.
            type Auth: ::std::marker::Send + 'static;

            /// Check the credential of the upgrade request (`None` if it carried none); an error
            /// refuses the upgrade with that HTTP status.
            fn authenticate(
                &self,
                credential: ::std::option::Option<#rt::ws::Credential>,
                params: &#params,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<Self::Auth, #rt::http::HttpError>,
            > + ::std::marker::Send;
        }
    });
    let auth_param = secured.then(|| quote!(auth: Self::Auth,));
    let on_message = other_messages.then(|| {
        let more = (!replies.is_empty())
            .then(|| quote!(#[doc = " Requests of request/reply operations go to their own methods, never here."]));
        let late = (!asked.is_empty()).then(|| {
            let calls = &ws.items.calls;
            let text = format!(
                " Replies to the server's requests ([`{calls}`]) go to the calls waiting for them; one that comes after its call gave up comes here."
            );
            quote!(#[doc = #text])
        });
        quote! {
            /// One message from the client, in the order they came.
            #more
            #late
            fn on_message(
                &self,
                session: &mut Self::Session,
                message: #in_ty,
            ) -> impl ::std::future::Future<Output = ()> + ::std::marker::Send;
        }
    });
    let mut reply_methods = Vec::new();
    let mut reply_arms = Vec::new();
    for shape in &replies {
        let method = &shape.reply.name.rust;
        let method_docs = docs(&shape.request.docs.clone().with_paragraph(Docs::from_text(&format!(
            "Request/reply `{}`: answers a `{}` request; the reply's correlation id is set to the request's.",
            shape.reply.name.wire, shape.request.name.wire
        ))));
        let request_param = shape.request_ty.as_ref().map(|ty| quote!(request: #ty,));
        let reply_ty = match &shape.reply_variant {
            Some((_, Some(ty))) => ty.clone(),
            Some((_, None)) => quote!(()),
            None => out_ty.clone(),
        };
        reply_methods.push(quote! {
            #method_docs
            fn #method(
                &self,
                session: &mut Self::Session,
                #request_param
            ) -> impl ::std::future::Future<Output = #reply_ty> + ::std::marker::Send;
        });
        let request_variant = shape.request_variant;
        let (pattern, call) = match &shape.request_ty {
            Some(_) => (
                quote!(#in_ty::#request_variant(request)),
                quote!(service.#method(session, request).await),
            ),
            None => (
                quote!(#in_ty::#request_variant),
                quote!(service.#method(session).await),
            ),
        };
        let reply = match &shape.reply_variant {
            Some((variant, Some(_))) => quote!(#out_ty::#variant(#call)),
            Some((variant, None)) => quote!({ #call; #out_ty::#variant }),
            None => call,
        };
        reply_arms.push(quote! {
            #pattern => #rt::ws::channel::reply(outbound, correlation.as_deref(), #reply),
        });
    }
    let channel_docs = docs(&channel.docs.clone().with_paragraph(Docs::from_text(&format!(
        "The `{}` channel at `{}`: implement this trait and serve [`{}`] (or [`{channel_router}`]).",
        channel.name.wire, ws.route.path, api.items.router
    ))));

    // The endpoint.
    let open = {
        let authenticate = secured.then(|| {
            let schemes = server_schemes(rt, &ws.security);
            quote! {
                let credential = #rt::ws::server::credential(request.uri(), request.headers(), #schemes);
                let auth = service.authenticate(credential, &params).await?;
            }
        });
        let auth_arg = secured.then(|| quote!(auth,));
        quote! {
            let params = <#params as #rt::request::FromRequest>::from_request(request)?;
            #authenticate
            service.on_connect(params, #auth_arg outbound.clone()).await
        }
    };
    let (message_args, message_body) = if channel.to_server.is_none() {
        (
            quote!(_service: &S, _session: &mut S::Session, _outbound),
            quote!(match message {}),
        )
    } else if replies.is_empty() && asked.is_empty() {
        (
            quote!(service: &S, session: &mut S::Session, _outbound),
            quote!(service.on_message(session, message).await;),
        )
    } else {
        // Replies to the server's own requests go to the calls waiting for them first.
        let answered = (!asked.is_empty()).then(|| {
            quote! {
                let ::std::option::Option::Some(message) = outbound.answered(message) else {
                    return;
                };
            }
        });
        let body = if replies.is_empty() {
            quote!(service.on_message(session, message).await;)
        } else {
            let rest =
                other_messages.then(|| quote!(other => service.on_message(session, other).await,));
            quote! {
                let correlation = #rt::ws::MessageSet::correlation_id(&message).map(::std::string::String::from);
                match message {
                    #(#reply_arms)*
                    #rest
                }
            }
        };
        (
            quote!(service: &S, session: &mut S::Session, outbound),
            quote!(#answered #body),
        )
    };
    let answer_count = channel.to_server.as_ref().map_or(0, |set| {
        set.messages.len() + usize::from(set.unknown.is_some())
    });
    let calls = server_calls(
        rt,
        ws,
        &asked,
        (&in_ty, answer_count),
        &out_ty,
        server_config,
    )?;
    let route = match &ws.route.axum {
        Some(path) => {
            let path = lit(path);
            quote!(#rt::ws::channel::route::<S, #endpoint>(#path, service, config))
        }
        None => quote! {
            let _ = (service, config);
            #rt::codegen::axum::Router::new()
        },
    };
    let router_docs = if ws.route.axum.is_some() {
        doc("An axum router serving only this channel.")
    } else {
        doc(
            "An axum router serving only this channel: empty, because its route cannot be served (wiregen warned why).",
        )
    };
    Ok(quote! {
        #channel_docs
        pub trait #server_trait: ::std::marker::Send + ::std::marker::Sync + 'static {
            /// What the server keeps for one connection, from [`on_connect`](Self::on_connect) until
            /// [`on_disconnect`](Self::on_disconnect).
            type Session: ::std::marker::Send + 'static;

            #auth

            /// A client asks to connect: accept it with its session (keep `outbound` to send it
            /// messages, or join it to a hub), or refuse the upgrade with an HTTP error.
            fn on_connect(
                &self,
                params: #params,
                #auth_param
                outbound: #rt::ws::server::Outbound<#out_ty>,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<Self::Session, #rt::http::HttpError>,
            > + ::std::marker::Send;

            #on_message
            #(#reply_methods)*

            /// A frame that is not a message of this channel. Return how to answer it, or `None`
            /// for the configured [`ServerConfig::on_invalid`].
            fn on_invalid(
                &self,
                session: &mut Self::Session,
                error: #rt::ws::DecodeError,
            ) -> impl ::std::future::Future<
                Output = ::std::option::Option<#rt::ws::server::InvalidPolicy>,
            > + ::std::marker::Send {
                let _ = (session, error);
                ::std::future::ready(::std::option::Option::None)
            }

            /// The connection ended.
            fn on_disconnect(
                &self,
                session: Self::Session,
                reason: #rt::ws::server::Disconnect,
            ) -> impl ::std::future::Future<Output = ()> + ::std::marker::Send {
                let _ = (session, reason);
                ::std::future::ready(())
            }
        }

        /// Serves the channel's trait through the runtime's generic channel.
        struct #endpoint;

        impl<S: #server_trait> #rt::ws::channel::Endpoint<S> for #endpoint {
            type In = #in_ty;
            type Out = #out_ty;
            type Session = S::Session;

            async fn open(
                service: &S,
                request: &#rt::request::RequestParts,
                outbound: &#rt::ws::server::Outbound<#out_ty>,
            ) -> ::std::result::Result<S::Session, #rt::http::HttpError> {
                #open
            }

            async fn message(
                #message_args: &#rt::ws::server::Outbound<#out_ty>,
                message: #in_ty,
            ) {
                #message_body
            }

            async fn invalid(
                service: &S,
                session: &mut S::Session,
                error: #rt::ws::DecodeError,
            ) -> ::std::option::Option<#rt::ws::server::InvalidPolicy> {
                service.on_invalid(session, error).await
            }

            async fn disconnect(
                service: &S,
                session: S::Session,
                reason: #rt::ws::server::Disconnect,
            ) {
                service.on_disconnect(session, reason).await;
            }
        }

        #calls

        #router_docs
        pub fn #channel_router<S: #server_trait>(
            service: ::std::sync::Arc<S>,
            config: ::std::sync::Arc<#server_config>,
        ) -> #rt::codegen::axum::Router {
            #route
        }
    })
}

/// The trait of the requests the server sends on a channel, implemented for its outbound
/// queue; nothing when the server asks nothing.
fn server_calls(
    rt: &Runtime,
    ws: &WebSocketChannel,
    asked: &[ReplyShape<'_>],
    (in_ty, answer_count): (&TokenStream, usize),
    out_ty: &TokenStream,
    server_config: &RustIdent,
) -> Result<TokenStream, Diagnostic> {
    if asked.is_empty() {
        return Ok(TokenStream::new());
    }
    let calls = &ws.items.calls;
    let mut methods = Vec::new();
    let mut bodies = Vec::new();
    for shape in asked {
        let method = &shape.reply.name.rust;
        let method_docs = docs(&shape.request.docs.clone().with_paragraph(Docs::from_text(&format!(
            "Request/reply `{}`: sends a `{}` request to this client and waits for its reply with the same correlation id (set here unless the request has one), until [`{server_config}::call_timeout`]. Await it from a task of your own, never from a handler of this connection's messages: they are read one at a time, so the reply would wait behind the handler.",
            shape.reply.name.wire, shape.request.name.wire
        ))));
        let request_variant = shape.request_variant;
        let (request_param, request) = match &shape.request_ty {
            Some(ty) => (
                quote!(request: #ty),
                quote!(#out_ty::#request_variant(request)),
            ),
            None => (TokenStream::new(), quote!(#out_ty::#request_variant)),
        };
        let (reply_ty, unpack) = match &shape.reply_variant {
            Some((variant, ty)) => {
                let (ty, pattern, value) = match ty {
                    Some(ty) => (ty.clone(), quote!(#in_ty::#variant(reply)), quote!(reply)),
                    None => (quote!(()), quote!(#in_ty::#variant), quote!(())),
                };
                let rest = (answer_count > 1).then(|| {
                    quote!(_ => ::std::result::Result::Err(#rt::ws::server::CallError::UnexpectedReply),)
                });
                (
                    ty,
                    quote! {
                        match reply {
                            #pattern => ::std::result::Result::Ok(#value),
                            #rest
                        }
                    },
                )
            }
            None => (in_ty.clone(), quote!(::std::result::Result::Ok(reply))),
        };
        methods.push(quote! {
            #method_docs
            fn #method(
                &self,
                #request_param
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<#reply_ty, #rt::ws::server::CallError>,
            > + ::std::marker::Send;
        });
        bodies.push(quote! {
            async fn #method(
                &self,
                #request_param
            ) -> ::std::result::Result<#reply_ty, #rt::ws::server::CallError> {
                let reply: #in_ty = self.call(#request).await?;
                #unpack
            }
        });
    }
    Ok(quote! {
        /// The requests the server sends on this channel: call them on the connection's
        /// outbound queue (the one `on_connect` receives).
        pub trait #calls {
            #(#methods)*
        }

        impl #calls for #rt::ws::server::Outbound<#out_ty> {
            #(#bodies)*
        }
    })
}

/// A shared socket's endpoint (its channels' endpoints side by side) and its router.
fn socket_server(api: &Api, rt: &Runtime, socket: &Socket) -> Result<TokenStream, Diagnostic> {
    let server_config = &api.items.server_config;
    let members: Vec<(&Channel, &WebSocketChannel)> = socket
        .members
        .iter()
        .filter_map(|&i| api.channels[i].websocket().map(|ws| (&api.channels[i], ws)))
        .collect();
    let bound: Vec<&RustIdent> = members
        .iter()
        .map(|(_, ws)| &ws.items.server_trait)
        .collect();
    let bound = quote!(#(#bound)+*);
    let in_ty = match &socket.to_server {
        Some(e) => {
            let ident = &e.ident;
            quote!(super::types::#ident)
        }
        None => quote!(#rt::ws::NoMessages),
    };
    let out_ty = match &socket.to_client {
        Some(e) => {
            let ident = &e.ident;
            quote!(super::types::#ident)
        }
        None => quote!(#rt::ws::NoMessages),
    };
    let endpoint_of = |ws: &WebSocketChannel| {
        let endpoint = &ws.items.endpoint;
        quote!(<#endpoint as #rt::ws::channel::Endpoint<S>>)
    };
    let sessions: Vec<TokenStream> = members
        .iter()
        .map(|(_, ws)| {
            let e = endpoint_of(ws);
            quote!(#e::Session)
        })
        .collect();
    let mut opens = Vec::new();
    let mut locals = Vec::new();
    for (n, (_, ws)) in members.iter().enumerate() {
        let e = endpoint_of(ws);
        let local =
            proc_macro2::Ident::new(&format!("session_{n}"), proc_macro2::Span::call_site());
        let undo = locals.iter().rev().zip((0..n).rev()).map(|(earlier, k): (&proc_macro2::Ident, usize)| {
            let earlier_endpoint = endpoint_of(members[k].1);
            quote!(#earlier_endpoint::disconnect(service, #earlier, #rt::ws::server::Disconnect::Dropped).await;)
        });
        opens.push(quote! {
            let #local = match #e::open(service, request, &outbound.share()).await {
                ::std::result::Result::Ok(session) => session,
                ::std::result::Result::Err(error) => {
                    #(#undo)*
                    return ::std::result::Result::Err(error);
                }
            };
        });
        locals.push(local);
    }
    let mut dispatch = Vec::new();
    if let Some(combined) = &socket.to_server {
        for (index, variant) in &combined.variants {
            let Some(n) = socket.members.iter().position(|m| m == index) else {
                continue;
            };
            let e = endpoint_of(members[n].1);
            let field = syn::Index::from(n);
            dispatch.push(quote! {
                #in_ty::#variant(message) => #e::message(service, &mut session.#field, &outbound.share(), message).await,
            });
        }
    }
    let disconnects = members.iter().enumerate().map(|(n, (_, ws))| {
        let e = endpoint_of(ws);
        let field = syn::Index::from(n);
        quote!(#e::disconnect(service, session.#field, reason.clone()).await;)
    });
    let leader = endpoint_of(
        members
            .first()
            .map(|(_, ws)| *ws)
            .ok_or_else(|| super::internal("a socket has no channels".to_owned()))?,
    );
    let (endpoint, socket_router) = (&socket.endpoint, &socket.router);
    let served = members.first().and_then(|(_, ws)| ws.route.axum.as_ref());
    let route = match served {
        Some(path) => {
            let path = lit(path);
            quote!(#rt::ws::channel::route::<S, #endpoint>(#path, service, config))
        }
        None => quote! {
            let _ = (service, config);
            #rt::codegen::axum::Router::new()
        },
    };
    let names: Vec<String> = members
        .iter()
        .map(|(c, _)| format!("`{}`", c.name.wire))
        .collect();
    let first = members
        .first()
        .map(|(c, _)| c.name.wire.as_str())
        .unwrap_or_default();
    let router_docs = doc(&format!(
        "An axum router serving the socket at `{}`, which the channels {} share: one connection per client, each of its messages handed to the channel it belongs to, every channel's messages to the client queued on one outbound queue. Every channel's `on_connect` runs on the upgrade request, in the order above; if one refuses it, those already accepted get `on_disconnect` with [`Disconnect::Dropped`]({}::ws::server::Disconnect::Dropped). A frame no channel decodes goes to `{first}`'s `on_invalid`.",
        socket.name.wire,
        names.join(", "),
        rt.path_text(),
    ));
    let (message_params, message_body) = if dispatch.is_empty() {
        (
            quote!(_service: &S, _session: &mut Self::Session, _outbound),
            quote!(match message {}),
        )
    } else {
        (
            quote!(service: &S, session: &mut Self::Session, outbound),
            quote!(match message { #(#dispatch)* }),
        )
    };
    Ok(quote! {
        /// Serves the channels of a shared socket through the runtime's generic channel.
        struct #endpoint;

        impl<S: #bound> #rt::ws::channel::Endpoint<S> for #endpoint {
            type In = #in_ty;
            type Out = #out_ty;
            type Session = (#(#sessions,)*);

            async fn open(
                service: &S,
                request: &#rt::request::RequestParts,
                outbound: &#rt::ws::server::Outbound<#out_ty>,
            ) -> ::std::result::Result<Self::Session, #rt::http::HttpError> {
                #(#opens)*
                ::std::result::Result::Ok((#(#locals,)*))
            }

            async fn message(
                #message_params: &#rt::ws::server::Outbound<#out_ty>,
                message: #in_ty,
            ) {
                #message_body
            }

            async fn invalid(
                service: &S,
                session: &mut Self::Session,
                error: #rt::ws::DecodeError,
            ) -> ::std::option::Option<#rt::ws::server::InvalidPolicy> {
                #leader::invalid(service, &mut session.0, error).await
            }

            async fn disconnect(
                service: &S,
                session: Self::Session,
                reason: #rt::ws::server::Disconnect,
            ) {
                #(#disconnects)*
            }
        }

        #router_docs
        pub fn #socket_router<S: #bound>(
            service: ::std::sync::Arc<S>,
            config: ::std::sync::Arc<#server_config>,
        ) -> #rt::codegen::axum::Router {
            #route
        }
    })
}

/// The `client` module of an AsyncAPI document.
pub(crate) fn client_module(api: &Api, rt: &Runtime) -> Result<Module, Diagnostic> {
    let outer = TypeExpr {
        space: &api.types,
        outside: true,
    };
    let client_config = &api.items.client_config;
    let mut out = Vec::new();
    for (_, channel, ws) in api.ws_channels() {
        out.push(channel_client(api, rt, &outer, channel, ws)?);
    }
    for socket in &api.sockets {
        out.push(socket_client(api, rt, socket)?);
    }
    let mut items = vec![quote! {
        /// Settings of a client: timeouts, queue sizes, reconnection.
        pub type #client_config = #rt::ws::client::ClientConfig;
    }];
    items.extend(out);
    let allows = super::spec_doc_allows(api)?;
    Ok(Module {
        head: quote! {
            /// The client side: one typed client per channel.
            pub mod client { #allows }
        },
        items,
    })
}

fn channel_client(
    api: &Api,
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    channel: &Channel,
    ws: &WebSocketChannel,
) -> Result<TokenStream, Diagnostic> {
    let client = &ws.items.client;
    let client_config = &api.items.client_config;
    let params = outer.named(ws.params)?;
    // The client sends client → server messages and receives server → client ones.
    let out_ty = set_type(rt, outer, channel.to_server.as_ref())?;
    let in_ty = set_type(rt, outer, channel.to_client.as_ref())?;
    let secured = !ws.security.is_empty();
    let (credential_param, credential_arg) = if secured {
        (
            quote!(credential: ::std::option::Option<&#rt::ws::Credential>,),
            quote!(credential),
        )
    } else {
        (TokenStream::new(), quote!(::std::option::Option::None))
    };
    let credential_pass = secured.then(|| quote!(credential,));
    let key_place = client_key_place(rt, &ws.security);
    let mut calls = Vec::new();
    let answer_count = channel.to_client.as_ref().map_or(0, |set| {
        set.messages.len() + usize::from(set.unknown.is_some())
    });
    for shape in reply_shapes(api, channel, outer, Initiator::Client)? {
        let method = &shape.reply.name.rust;
        let method_docs = docs(&shape.request.docs.clone().with_paragraph(Docs::from_text(&format!(
            "Request/reply `{}`: sends a `{}` request and waits for the reply with the same correlation id (set here unless the request has one), until [`{client_config}::call_timeout`].",
            shape.reply.name.wire, shape.request.name.wire
        ))));
        let request_variant = shape.request_variant;
        let (request_param, request) = match &shape.request_ty {
            Some(ty) => (
                quote!(request: #ty),
                quote!(#out_ty::#request_variant(request)),
            ),
            None => (TokenStream::new(), quote!(#out_ty::#request_variant)),
        };
        let (reply_ty, unpack) = match &shape.reply_variant {
            Some((variant, ty)) => {
                let (ty, pattern, value) = match ty {
                    Some(ty) => (ty.clone(), quote!(#in_ty::#variant(reply)), quote!(reply)),
                    None => (quote!(()), quote!(#in_ty::#variant), quote!(())),
                };
                let rest = (answer_count > 1).then(|| {
                    quote!(_ => ::std::result::Result::Err(#rt::ws::client::ClientError::UnexpectedReply),)
                });
                (
                    ty,
                    quote! {
                        match reply {
                            #pattern => ::std::result::Result::Ok(#value),
                            #rest
                        }
                    },
                )
            }
            None => (in_ty.clone(), quote!(::std::result::Result::Ok(reply))),
        };
        calls.push(quote! {
            #method_docs
            pub async fn #method(
                &self,
                #request_param
            ) -> ::std::result::Result<#reply_ty, #rt::ws::client::ClientError> {
                let reply = self.sender.call(#request).await?;
                #unpack
            }
        });
    }
    for shape in reply_shapes(api, channel, outer, Initiator::Server)? {
        calls.push(client_answer(rt, &shape, &out_ty)?);
    }
    let sender_docs = doc(&format!(
        "The untyped sender underneath, for [`call`]({}::ws::client::Sender::call) with any message.",
        rt.path_text()
    ));
    let client_docs = docs(&channel.docs.clone().with_paragraph(Docs::from_text(&format!(
        "A typed client of the `{}` channel at `{}`.\n\n[`connect`](Self::connect) returns the client (cheap to clone; the connection closes when every clone is dropped) and the stream of what the server sends.",
        channel.name.wire, ws.route.path
    ))));
    Ok(quote! {
        #client_docs
        #[derive(Clone, Debug)]
        pub struct #client {
            sender: #rt::ws::client::Sender<#out_ty, #in_ty>,
        }

        impl #client {
            /// Connect to the server at `base_url` (for example `ws://127.0.0.1:3000`).
            pub async fn connect(
                base_url: &str,
                params: &#params,
                #credential_param
                config: #client_config,
            ) -> ::std::result::Result<
                (Self, #rt::ws::client::Receiver<#in_ty>),
                #rt::ws::client::ConnectError,
            > {
                let request = Self::request(base_url, params, #credential_pass)?;
                let (sender, receiver) = #rt::ws::client::connect(request, config).await?;
                ::std::result::Result::Ok((Self { sender }, receiver))
            }

            /// The URL and headers [`connect`](Self::connect) uses.
            pub fn request(
                base_url: &str,
                params: &#params,
                #credential_param
            ) -> ::std::result::Result<
                #rt::ws::client::ConnectRequest,
                #rt::ws::client::ConnectError,
            > {
                #rt::ws::connect::request(base_url, params, #credential_arg, #key_place)
            }

            /// Send a message.
            pub async fn send(
                &self,
                message: &#out_ty,
            ) -> ::std::result::Result<(), #rt::ws::client::ClientError> {
                self.sender.send(message).await
            }

            /// Close the connection normally (1000); reconnection stops.
            pub async fn close(&self) -> ::std::result::Result<(), #rt::ws::client::ClientError> {
                self.sender.close(#rt::ws::close_code::NORMAL).await
            }

            #sender_docs
            pub fn sender(&self) -> &#rt::ws::client::Sender<#out_ty, #in_ty> {
                &self.sender
            }

            #(#calls)*
        }
    })
}

/// The client's method answering a request the server sends: the reply gets the request's
/// correlation id.
fn client_answer(
    rt: &Runtime,
    shape: &ReplyShape<'_>,
    out_ty: &TokenStream,
) -> Result<TokenStream, Diagnostic> {
    let method = &shape.reply.answer;
    let (Some(request_ty), Some(correlation)) = (&shape.request_ty, &shape.request.correlation)
    else {
        return Err(super::internal(format!(
            "request/reply `{}` asks with a message that carries no correlation id",
            shape.reply.name.wire
        )));
    };
    let field = &correlation.field;
    let id = if correlation.optional {
        quote!(request.#field.as_deref())
    } else {
        quote!(::std::option::Option::Some(request.#field.as_str()))
    };
    let (reply_param, reply) = match &shape.reply_variant {
        Some((variant, Some(ty))) => (quote!(reply: #ty), quote!(#out_ty::#variant(reply))),
        Some((variant, None)) => (TokenStream::new(), quote!(#out_ty::#variant)),
        None => (quote!(reply: #out_ty), quote!(reply)),
    };
    let method_docs = docs(&shape.request.docs.clone().with_paragraph(Docs::from_text(&format!(
        "Request/reply `{}`: answers a `{}` request the server sent (it comes from the receiver like any message); the reply is sent with the request's correlation id.",
        shape.reply.name.wire, shape.request.name.wire
    ))));
    Ok(quote! {
        #method_docs
        pub async fn #method(
            &self,
            request: &#request_ty,
            #reply_param
        ) -> ::std::result::Result<(), #rt::ws::client::ClientError> {
            let mut reply = #reply;
            if let ::std::option::Option::Some(id) = #id {
                #rt::ws::MessageSet::set_correlation_id(&mut reply, id);
            }
            self.sender.send(&reply).await
        }
    })
}

fn socket_client(api: &Api, rt: &Runtime, socket: &Socket) -> Result<TokenStream, Diagnostic> {
    let client = &socket.client;
    let client_config = &api.items.client_config;
    let ty = |combined: &Option<crate::ir::SocketEnum>| match combined {
        Some(e) => {
            let ident = &e.ident;
            quote!(super::types::#ident)
        }
        None => quote!(#rt::ws::NoMessages),
    };
    let (out_ty, in_ty) = (ty(&socket.to_server), ty(&socket.to_client));
    let names: Vec<String> = socket
        .members
        .iter()
        .map(|&i| format!("`{}`", api.channels[i].name.wire))
        .collect();
    let first = socket
        .members
        .first()
        .and_then(|&i| api.channels[i].websocket())
        .map(|ws| ws.items.client.to_string())
        .unwrap_or_default();
    let client_docs = doc(&format!(
        "A typed client of the socket at `{}`, which the channels {} share: one connection sends the messages of every channel, and its receiver yields what the server sends on any of them.\n\n[`connect`](Self::connect) takes the request a channel's client builds (for example with [`{first}::request`]); when the channels declare different query or header parameters, add the others' to it.",
        socket.name.wire,
        names.join(", ")
    ));
    let sender_docs = doc(&format!(
        "The untyped sender underneath, for [`call`]({}::ws::client::Sender::call): request/reply operations of the channels, their correlation ids matched across the connection.",
        rt.path_text()
    ));
    Ok(quote! {
        #client_docs
        #[derive(Clone, Debug)]
        pub struct #client {
            sender: #rt::ws::client::Sender<#out_ty, #in_ty>,
        }

        impl #client {
            /// Connect with `request` (its URL and headers).
            pub async fn connect(
                request: #rt::ws::client::ConnectRequest,
                config: #client_config,
            ) -> ::std::result::Result<
                (Self, #rt::ws::client::Receiver<#in_ty>),
                #rt::ws::client::ConnectError,
            > {
                let (sender, receiver) = #rt::ws::client::connect(request, config).await?;
                ::std::result::Result::Ok((Self { sender }, receiver))
            }

            /// Send a message of any of the channels.
            pub async fn send(
                &self,
                message: &#out_ty,
            ) -> ::std::result::Result<(), #rt::ws::client::ClientError> {
                self.sender.send(message).await
            }

            /// Close the connection normally (1000); reconnection stops.
            pub async fn close(&self) -> ::std::result::Result<(), #rt::ws::client::ClientError> {
                self.sender.close(#rt::ws::close_code::NORMAL).await
            }

            #sender_docs
            pub fn sender(&self) -> &#rt::ws::client::Sender<#out_ty, #in_ty> {
                &self.sender
            }
        }
    })
}
