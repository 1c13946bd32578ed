//! What OpenAPI operations answering with an event stream contribute to each module: in
//! `wire`, the wire form of each event enum ([`EventSet`](::wiregen_runtime::sse::EventSet));
//! in `server`, the service trait, the router and one thin handler per operation; in `client`,
//! `Client` with one method per operation. The runtime's `sse::operation` does the work.

use proc_macro2::TokenStream;
use quote::quote;

use super::http::{from_request_impl, to_request_impl};
use super::tokens::{Runtime, TypeExpr, doc, docs, lit};
use crate::diag::Diagnostic;
use crate::format::Module;
use crate::ir::{
    Api, Docs, EventStream, HttpMethod, JsonAlternative, Operation, Payload, SseEvent, SseFraming,
};

/// `impl EventSet` for every stream's event enum, and the request structs' `FromRequest`
/// (server) and `ToRequest` (client) impls.
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
    for (op, stream) in api.streams() {
        items.push(event_set(rt, &outer.named(stream.event_enum)?, stream));
        let request = outer.named(op.request)?;
        let params = api.types.params(op.request).ok_or_else(|| {
            super::internal(format!(
                "operation `{}` has no request struct",
                op.name.wire
            ))
        })?;
        if server {
            items.push(from_request_impl(rt, &outer, &request, params)?);
        }
        if client {
            items.push(to_request_impl(rt, &request, params, &op.route));
        }
    }
    Ok(items)
}

fn event_set(rt: &Runtime, ty: &TokenStream, stream: &EventStream) -> TokenStream {
    let mut names = Vec::new();
    let mut writes = Vec::new();
    let mut decodes = Vec::new();
    for SseEvent {
        name,
        docs: _,
        payload,
    } in &stream.events
    {
        let v = &name.rust;
        let wire = lit(&name.wire);
        let (pattern, write, decode) = match payload {
            Payload::Json(_) => (
                quote!(Self::#v(_)),
                quote!(Self::#v(data) => #rt::sse::write_json(out, data),),
                quote!(#rt::sse::read_json(data).map(Self::#v)),
            ),
            Payload::Text | Payload::Binary => (
                quote!(Self::#v(_)),
                quote! {
                    Self::#v(data) => {
                        out.extend_from_slice(data.as_bytes());
                        ::std::result::Result::Ok(())
                    }
                },
                quote!(::std::result::Result::Ok(Self::#v(::std::string::String::from(data)))),
            ),
            Payload::Empty => (
                quote!(Self::#v),
                quote!(Self::#v => ::std::result::Result::Ok(()),),
                quote!(::std::result::Result::Ok(Self::#v)),
            ),
        };
        names.push(quote!(#pattern => #wire,));
        writes.push(write);
        decodes.push((wire, decode, matches!(payload, Payload::Empty)));
    }
    let decode = if stream.framing == SseFraming::Named {
        let arms = decodes
            .iter()
            .map(|(wire, decode, _)| quote!(#wire => #decode,));
        quote! {
            match event {
                #(#arms)*
                _ => ::std::result::Result::Err(#rt::sse::DecodeError::UnknownEvent),
            }
        }
    } else {
        // Every event carries the same payload, whatever its name.
        match decodes.first() {
            Some((_, decode, empty)) => {
                let unused = empty.then(|| quote!(let _ = data;));
                quote! {
                    let _ = event;
                    #unused
                    #decode
                }
            }
            None => quote! {
                let _ = (event, data);
                ::std::result::Result::Err(#rt::sse::DecodeError::UnknownEvent)
            },
        }
    };
    quote! {
        impl #rt::sse::EventSet for #ty {
            fn event_name(&self) -> &'static str {
                match self { #(#names)* }
            }

            fn write_data(
                &self,
                out: &mut ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), #rt::sse::EncodeError> {
                match self { #(#writes)* }
            }

            fn decode(
                event: &str,
                data: &str,
            ) -> ::std::result::Result<Self, #rt::sse::DecodeError> {
                #decode
            }
        }
    }
}

/// The `server` module of an OpenAPI document: the service trait, `router`, and a handler
/// per served operation.
pub(crate) fn server_module(api: &Api, rt: &Runtime) -> Result<Module, Diagnostic> {
    let outer = TypeExpr {
        space: &api.types,
        outside: true,
    };
    let items = &api.items;
    let service = &items.service.rust;
    let (router, router_with_config, server_config) = (
        &items.router,
        &items.router_with_config,
        &items.server_config,
    );
    let mut methods = Vec::new();
    let mut handlers = Vec::new();
    // Routes by path, each with its methods in document order.
    let mut routes: Vec<(String, Vec<TokenStream>)> = Vec::new();
    let mut add_route =
        |path: &str, routing: TokenStream| match routes.iter_mut().find(|(p, _)| p == path) {
            Some((_, methods)) => methods.push(routing),
            None => routes.push((path.to_owned(), vec![routing])),
        };
    let secured = api
        .operations
        .iter()
        .any(|op| !op.security.schemes.is_empty());
    if secured {
        let (auth, authenticate) = (&api.items.auth, &api.items.authenticate);
        methods.push(quote! {
            /// Who a caller is, as [`authenticate`](Self::authenticate) decided; secured
            /// operations receive it.
            type #auth: ::std::marker::Send + 'static;

            /// Check the credential of a request to a secured operation (`operation`, its
            /// `operationId`): `None` when the request carries none and the operation lets
            /// it through (a request without a required credential is answered 401 before
            /// this is called). An error answers the request with its status (401, 403).
            /// Unless implemented, every credential is refused (401).
            fn #authenticate(
                &self,
                credential: ::std::option::Option<#rt::auth::Credential>,
                operation: &'static str,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<Self::#auth, #rt::http::HttpError>,
            > + ::std::marker::Send {
                let _ = (credential, operation);
                ::std::future::ready(::std::result::Result::Err(#rt::http::HttpError::unauthorized(
                    "credentials are not checked by this server",
                )))
            }
        });
    }
    for op in &api.operations {
        let stream = match &op.kind {
            crate::ir::OperationKind::Stream(stream) => stream,
            crate::ir::OperationKind::Call(call) => {
                let parts = super::calls::server_parts(api, rt, &outer, op, call)?;
                methods.push(parts.method);
                handlers.push(parts.operation);
                if let Some((path, handler)) = parts.route {
                    let routing = method_fn(op.method);
                    add_route(&path, quote!(#routing(#handler)));
                }
                continue;
            }
        };
        let request = outer.named(op.request)?;
        let event = outer.named(stream.event_enum)?;
        let name = &op.name.rust;
        let mut method_docs = op.docs.clone().with_paragraph(Docs::from_text(&format!(
            "Serves `{} {}` as a stream of events.",
            op.method.as_str(),
            op.route.path
        )));
        if let Some(sentinel) = &stream.sentinel {
            method_docs.push_paragraph(Docs::from_text(&format!(
                "When the stream ends, the router sends the end marker `{}` as a last event's data.",
                sentinel.escape_debug()
            )));
        }
        let op_secured = !op.security.schemes.is_empty();
        if op_secured {
            method_docs.push_paragraph(Docs::from_text(
                "Its caller is authenticated first: `auth` is what `authenticate` returned.",
            ));
        }
        let method_docs = docs(&method_docs);
        let auth_ty = &api.items.auth;
        let auth_param = op_secured.then(|| quote!(auth: Self::#auth_ty,));
        methods.push(quote! {
            #method_docs
            fn #name(
                &self,
                #auth_param
                request: #request,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<
                    #rt::sse::server::EventStream<#event>,
                    #rt::http::HttpError,
                >,
            > + ::std::marker::Send;
        });
        if let Some(JsonAlternative { ty, method }) = &stream.json_alternative {
            let ty = outer.ty(ty)?;
            let unused = if op_secured {
                quote!(let _ = (auth, request);)
            } else {
                quote!(let _ = request;)
            };
            methods.push(quote! {
                /// The same endpoint answered with one JSON document, for requests that do not accept
                /// `text/event-stream`. Unless implemented, it answers 406 Not Acceptable.
                fn #method(
                    &self,
                    #auth_param
                    request: #request,
                ) -> impl ::std::future::Future<
                    Output = ::std::result::Result<#ty, #rt::http::HttpError>,
                > + ::std::marker::Send {
                    #unused
                    ::std::future::ready(::std::result::Result::Err(#rt::http::HttpError::not_acceptable()))
                }
            });
        }
        let Some(served) = op.route.served() else {
            continue;
        };
        let handler = &op.handler;
        let sentinel = match &stream.sentinel {
            Some(text) => {
                let text = lit(text);
                quote!(::std::option::Option::Some(#text))
            }
            None => quote!(::std::option::Option::None),
        };
        let security = {
            let schemes = super::calls::schemes(rt, &op.security.schemes);
            let optional = op.security.optional;
            quote!(#rt::api::server::Security { schemes: #schemes, optional: #optional })
        };
        let authenticate = &api.items.authenticate;
        let wire = lit(&op.name.wire);
        let respond = match &stream.json_alternative {
            Some(JsonAlternative { method, .. }) if op_secured => quote! {
                #rt::sse::operation::respond_or_json_secured(
                    request,
                    &state.config,
                    #sentinel,
                    #security,
                    |credential| state.service.#authenticate(credential, #wire),
                    |auth, request| state.service.#name(auth, request),
                    |auth, request| state.service.#method(auth, request),
                )
                .await
            },
            None if op_secured => quote! {
                #rt::sse::operation::respond_secured(
                    request,
                    &state.config,
                    #sentinel,
                    #security,
                    |credential| state.service.#authenticate(credential, #wire),
                    |auth, request| state.service.#name(auth, request),
                )
                .await
            },
            Some(JsonAlternative { method, .. }) => quote! {
                #rt::sse::operation::respond_or_json(
                    request,
                    &state.config,
                    #sentinel,
                    |request| state.service.#name(request),
                    |request| state.service.#method(request),
                )
                .await
            },
            None => quote! {
                #rt::sse::operation::respond(
                    request,
                    &state.config,
                    #sentinel,
                    |request| state.service.#name(request),
                )
                .await
            },
        };
        handlers.push(quote! {
            async fn #handler<S: #service>(
                #rt::codegen::axum::extract::State(state): #rt::codegen::axum::extract::State<
                    ::std::sync::Arc<#rt::sse::operation::Service<S>>,
                >,
                request: #rt::codegen::axum::extract::Request,
            ) -> #rt::codegen::axum::response::Response {
                #respond
            }
        });
        let routing = method_fn(op.method);
        add_route(served, quote!(#routing(#handler::<S>)));
    }
    let router_body = if routes.is_empty() {
        // No operation has a path axum can route (wiregen warned about each).
        quote! {
            let _ = (service, config);
            #rt::codegen::axum::Router::new()
        }
    } else {
        let routes = routes.iter().map(|(path, methods)| {
            let path = lit(path);
            let (first, rest) = methods
                .split_first()
                .map_or((None, &[][..]), |(f, r)| (Some(f), r));
            quote! {
                .route(#path, #rt::codegen::axum::routing::#first #(.#rest)*)
            }
        });
        quote! {
            let state = ::std::sync::Arc::new(#rt::sse::operation::Service { service, config });
            #rt::codegen::axum::Router::new()
                #(#routes)*
                .with_state(state)
        }
    };
    let trait_docs = docs(&api.docs.clone().with_paragraph(Docs::from_text(&format!(
        "The `{}` API: implement this trait (one method per operation) and serve [`{router}`].",
        api.source.title
    ))));
    let module_docs = doc(&format!(
        "The server side: implement [`server::{service}`]({service}) and serve [`server::{router}`]({router})."
    ));
    let mut items = vec![quote! {
        #trait_docs
        pub trait #service: ::std::marker::Send + ::std::marker::Sync + 'static {
            #(#methods)*
        }

        /// Settings of the generated server: keep-alive interval, batching, request limits.
        pub type #server_config = #rt::sse::server::ServerConfig;

        /// An axum router serving every operation of the trait, with the default settings.
        pub fn #router<S: #service>(service: S) -> #rt::codegen::axum::Router {
            #router_with_config(service, #server_config::default())
        }

        /// An axum router serving every operation of the trait.
        pub fn #router_with_config<S: #service>(
            service: S,
            config: #server_config,
        ) -> #rt::codegen::axum::Router {
            #router_body
        }
    }];
    items.extend(handlers);
    let allows = super::spec_doc_allows(api)?;
    Ok(Module {
        head: quote! {
            #module_docs
            pub mod server { #allows }
        },
        items,
    })
}

/// axum's routing function for a method (QUERY is never served: lowering leaves it out).
fn method_fn(method: HttpMethod) -> proc_macro2::Ident {
    let name = match method {
        HttpMethod::Get | HttpMethod::Query => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Patch => "patch",
        HttpMethod::Delete => "delete",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
    };
    proc_macro2::Ident::new(name, proc_macro2::Span::call_site())
}

/// The HTTP method as a value of the runtime's `http` crate.
fn method_value(rt: &Runtime, method: HttpMethod) -> TokenStream {
    match method {
        HttpMethod::Query => quote!(#rt::params::extension_method("QUERY")),
        other => {
            let name = proc_macro2::Ident::new(other.as_str(), proc_macro2::Span::call_site());
            quote!(#rt::codegen::http::Method::#name)
        }
    }
}

/// The `client` module of an OpenAPI document: `Client`, one method per operation.
pub(crate) fn client_module(api: &Api, rt: &Runtime) -> Result<Module, Diagnostic> {
    let outer = TypeExpr {
        space: &api.types,
        outside: true,
    };
    let items = &api.items;
    let (client, client_config) = (&items.client, &items.client_config);
    let mut methods = Vec::new();
    for op in &api.operations {
        match &op.kind {
            crate::ir::OperationKind::Stream(stream) => {
                methods.push(client_methods(rt, &outer, op, stream)?);
            }
            crate::ir::OperationKind::Call(call) => methods.push(super::calls::client_method(
                rt,
                &outer,
                op,
                call,
                method_value(rt, op.method),
            )?),
        }
    }
    let client_docs = doc(&format!(
        "A client of the `{}` API: one method per operation; calls time out after `request_timeout`, and every stream it opens reconnects with backoff and resumes with `Last-Event-ID` by itself.",
        api.source.title
    ));
    let module_docs = doc(&format!(
        "The client side: [`client::{client}`]({client}), one method per operation."
    ));
    let allows = super::spec_doc_allows(api)?;
    Ok(Module {
        head: quote! {
            #module_docs
            pub mod client { #allows }
        },
        items: vec![quote! {
            /// Settings of a client: timeouts, backoff, reconnection.
            pub type #client_config = #rt::sse::client::ClientConfig;

            #client_docs
            #[derive(Clone, Debug)]
            pub struct #client {
                inner: #rt::api::client::ApiClient,
            }

            impl #client {
                /// A client of the server at `base_url` (for example `http://127.0.0.1:3000`), with the
                /// default settings.
                pub fn new(base_url: impl ::std::convert::Into<::std::string::String>) -> Self {
                    Self::with_config(base_url, #client_config::default())
                }

                /// A client with explicit settings (timeouts, backoff, reconnection).
                pub fn with_config(
                    base_url: impl ::std::convert::Into<::std::string::String>,
                    config: #client_config,
                ) -> Self {
                    Self {
                        inner: #rt::api::client::ApiClient::new(base_url, config),
                    }
                }

                /// The same client presenting `credential` to every secured operation (bearer and
                /// basic in `Authorization`, an API key where the operation's scheme wants it).
                pub fn with_credential(self, credential: #rt::auth::Credential) -> Self {
                    Self {
                        inner: self.inner.with_credential(credential),
                    }
                }

                #(#methods)*
            }
        }],
    })
}

fn client_methods(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    op: &Operation,
    stream: &EventStream,
) -> Result<TokenStream, Diagnostic> {
    let request = outer.named(op.request)?;
    let event = outer.named(stream.event_enum)?;
    let method = method_value(rt, op.method);
    let schemes = super::calls::schemes(rt, &op.security.schemes);
    let name = &op.name.rust;
    let sentinel = match &stream.sentinel {
        Some(text) => {
            let text = lit(text);
            quote!(::std::option::Option::Some(#text))
        }
        None => quote!(::std::option::Option::None),
    };
    let method_docs = docs(&op.docs.clone().with_paragraph(Docs::from_text(&format!(
        "Subscribes to `{} {}`: a stream of typed events that reconnects and resumes by itself.",
        op.method.as_str(),
        op.route.path
    ))));
    let json = match &stream.json_alternative {
        Some(JsonAlternative { ty, method: json }) => {
            let ty = outer.ty(ty)?;
            quote! {
                /// The same endpoint, asking for one JSON document instead of a stream.
                pub async fn #json(
                    &self,
                    request: &#request,
                ) -> ::std::result::Result<#ty, #rt::sse::client::ClientError> {
                    self.inner.fetch_json(#method, request, #schemes).await
                }
            }
        }
        None => TokenStream::new(),
    };
    Ok(quote! {
        #method_docs
        pub fn #name(
            &self,
            request: &#request,
        ) -> #rt::sse::client::EventStream<#event> {
            self.inner.subscribe(#method, request, #sentinel, #schemes)
        }

        #json
    })
}
