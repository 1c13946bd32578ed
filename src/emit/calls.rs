//! What plain OpenAPI operations contribute to each module: in `wire`, how their requests are
//! read (server) and written (client), how their response enums are written (server) and read
//! (client), and the runtime traits of form bodies and object parameters; in `server`, a trait
//! method and an operation type per call (the router serves them beside the streams); in
//! `client`, a method per call. The runtime's `api` module does the work.

use proc_macro2::TokenStream;
use quote::quote;

use super::http::{from_request_impl, to_request_impl};
use super::tokens::{Runtime, TypeExpr, doc, docs, lit};
use crate::diag::Diagnostic;
use crate::ir::{
    Api, Body, Call, Docs, FormDef, FormField, FormValue, MediaFormat, Operation,
    OperationSecurity, ParamField, ParamIn, Presence, ResponseBody, ResponseCase, ResponsesDef,
    Security, StatusMatch, StructDef, TypeId, TypeKind,
};

/// The `wire` items of the calls, and of every form body and object parameter type.
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
    for (op, call) in api.calls() {
        let request = outer.named(op.request)?;
        let params = api.types.params(op.request).ok_or_else(|| {
            super::internal(format!(
                "operation `{}` has no request struct",
                op.name.wire
            ))
        })?;
        let responses = responses_def(api, call)?;
        let response = outer.named(call.responses)?;
        if server {
            items.push(from_request_impl(rt, &outer, &request, params)?);
            items.push(into_response_impl(rt, &response, responses));
        }
        if client {
            items.push(to_request_impl(rt, &request, params, &op.route));
            items.push(write_body_impl(rt, &outer, &request, params.body.as_ref())?);
            items.push(from_response_impl(rt, &response, responses));
        }
    }
    if server || client {
        for (index, def) in api.types.defs.iter().enumerate() {
            let id = TypeId(index);
            match &def.kind {
                TypeKind::Form(form) => items.push(form_impl(rt, &outer.named(id)?, form)),
                TypeKind::Struct(def) if def.param => {
                    items.push(param_object_impl(rt, &outer, &outer.named(id)?, def)?);
                }
                _ => {}
            }
        }
    }
    Ok(items)
}

fn responses_def<'a>(api: &'a Api, call: &Call) -> Result<&'a ResponsesDef, Diagnostic> {
    match &api.types.get(call.responses).kind {
        TypeKind::Responses(def) => Ok(def),
        _ => Err(super::internal(
            "a call's responses are not a responses enum".to_owned(),
        )),
    }
}

/// A media type as a `Content-Type` a response or request can carry: a range (`image/*`,
/// `*/*`) is sent as `application/octet-stream`.
fn sent_media(media: &str) -> proc_macro2::Literal {
    if media.contains('*') {
        lit("application/octet-stream")
    } else {
        lit(media)
    }
}

/// The status a case's variant is written with, as an expression.
fn status_expr(case: &ResponseCase) -> TokenStream {
    match (case.status, &case.status_field) {
        (StatusMatch::Code(code), _) => {
            let code = proc_macro2::Literal::u16_unsuffixed(code);
            quote!(#code)
        }
        (StatusMatch::Class(_), Some(field)) => quote!(#field),
        (_, Some(field)) => quote!(#field),
        (_, None) => quote!(500),
    }
}

/// `impl IntoResponse for <Response>`: each variant with its status, body and headers.
fn into_response_impl(rt: &Runtime, ty: &TokenStream, def: &ResponsesDef) -> TokenStream {
    let mut arms = Vec::new();
    for case in &def.cases {
        let variant = &case.name;
        let status = status_expr(case);
        let body_field = case
            .body
            .as_ref()
            .map(|b| b.field.clone())
            .unwrap_or_else(|| crate::names::ident("body", crate::names::Case::Snake));
        let respond = match &case.body {
            Some(ResponseBody {
                media_type, format, ..
            }) => {
                let media = sent_media(media_type);
                match format {
                    MediaFormat::Json => {
                        quote!(#rt::api::server::json(#status, #media, &#body_field))
                    }
                    MediaFormat::Text => {
                        quote!(#rt::api::server::text(#status, #media, #body_field))
                    }
                    _ => quote!(#rt::api::server::bytes(#status, #media, #body_field)),
                }
            }
            None => quote!(#rt::api::server::empty(#status)),
        };
        if case.is_tuple() {
            let pattern = match &case.body {
                Some(_) => quote!(Self::#variant(#body_field)),
                None => quote!(Self::#variant),
            };
            arms.push(quote!(#pattern => #respond,));
            continue;
        }
        let mut bound = Vec::new();
        if let Some(field) = &case.status_field {
            bound.push(quote!(#field));
        }
        if case.body.is_some() {
            bound.push(quote!(#body_field));
        }
        let mut sets = Vec::new();
        for header in &case.headers {
            let field = &header.name.rust;
            bound.push(quote!(#field));
            let wire = lit(&header.name.wire.to_ascii_lowercase());
            sets.push(match header.field() {
                ParamField::Plain => {
                    quote!(#rt::api::server::set_header(&mut response, #wire, &#field);)
                }
                ParamField::Optional => {
                    quote!(#rt::api::server::set_header_optional(&mut response, #wire, &#field);)
                }
                ParamField::List => {
                    quote!(#rt::api::server::set_header_list(&mut response, #wire, &#field);)
                }
            });
        }
        let respond = if sets.is_empty() {
            respond
        } else {
            quote! {{
                let mut response = #respond;
                #(#sets)*
                response
            }}
        };
        // A status outside the case's class is the service's bug: a 500 problem instead.
        let respond = match (case.status, &case.status_field) {
            (StatusMatch::Class(class), Some(field)) => {
                let class = proc_macro2::Literal::u16_unsuffixed(class);
                quote! {
                    match #rt::api::server::in_class(#field, #class) {
                        ::std::result::Result::Ok(#field) => #respond,
                        ::std::result::Result::Err(error) => {
                            #rt::codegen::axum::response::IntoResponse::into_response(error)
                        }
                    }
                }
            }
            _ => respond,
        };
        arms.push(quote!(Self::#variant { #(#bound),* } => #respond,));
    }
    quote! {
        impl #rt::codegen::axum::response::IntoResponse for #ty {
            fn into_response(self) -> #rt::codegen::axum::response::Response {
                match self { #(#arms)* }
            }
        }
    }
}

/// `impl FromResponse for <Response>`: the variant of the status (a code before a class
/// before `default`), its body and headers decoded; an undeclared status is an error.
fn from_response_impl(rt: &Runtime, ty: &TokenStream, def: &ResponsesDef) -> TokenStream {
    let mut arms = Vec::new();
    let mut ordered: Vec<&ResponseCase> = def
        .cases
        .iter()
        .filter(|c| matches!(c.status, StatusMatch::Code(_)))
        .collect();
    ordered.extend(
        def.cases
            .iter()
            .filter(|c| matches!(c.status, StatusMatch::Class(_))),
    );
    ordered.extend(
        def.cases
            .iter()
            .filter(|c| matches!(c.status, StatusMatch::Default)),
    );
    let mut has_default = false;
    let mut values = Vec::new();
    for case in ordered {
        let variant = &case.name;
        let pattern = match case.status {
            StatusMatch::Code(code) => {
                let code = proc_macro2::Literal::u16_unsuffixed(code);
                quote!(#code)
            }
            StatusMatch::Class(class) => {
                // A guard rather than a range: a code of the class matched above overlaps it.
                let class = proc_macro2::Literal::u16_unsuffixed(class);
                quote!(code if code / 100 == #class)
            }
            StatusMatch::Default => {
                has_default = true;
                quote!(_)
            }
        };
        let body = case
            .body
            .as_ref()
            .map(|ResponseBody { format, .. }| match format {
                MediaFormat::Json => quote!(response.json()?),
                MediaFormat::Text => quote!(response.text()?),
                _ => quote!(response.bytes().to_vec()),
            });
        let value = if case.is_tuple() {
            match body {
                Some(body) => quote!(Self::#variant(#body)),
                None => quote!(Self::#variant),
            }
        } else {
            let mut fields = Vec::new();
            if let Some(field) = &case.status_field {
                fields.push(quote!(#field: response.status()));
            }
            if let (Some(body), Some(ResponseBody { field, .. })) = (body, &case.body) {
                fields.push(quote!(#field: #body));
            }
            for header in &case.headers {
                let field = &header.name.rust;
                let wire = lit(&header.name.wire);
                fields.push(match header.field() {
                    ParamField::Plain => quote!(#field: response.header_required(#wire)?),
                    ParamField::Optional => quote!(#field: response.header_optional(#wire)?),
                    ParamField::List => quote!(#field: response.header_list(#wire)?),
                });
            }
            quote!(Self::#variant { #(#fields),* })
        };
        arms.push(quote!(#pattern => #value,));
        values.push(value);
    }
    if !has_default {
        arms.push(quote!(_ => return ::std::result::Result::Err(response.undeclared()),));
    }
    // A lone `default` takes every status: no match.
    let decoded = match (def.cases.as_slice(), values.as_slice()) {
        ([only], [value]) if only.status == StatusMatch::Default => value.clone(),
        _ => quote!(match response.status() { #(#arms)* }),
    };
    // The media types decoded, for `Accept`: a server offering several answers in one the
    // client reads.
    let mut media: Vec<&str> = Vec::new();
    for case in &def.cases {
        if let Some(body) = &case.body
            && !media.contains(&body.media_type.as_str())
            && body
                .media_type
                .chars()
                .all(|c| c.is_ascii_graphic() || c == ' ')
        {
            media.push(&body.media_type);
        }
    }
    let accept = (!media.is_empty()).then(|| {
        let accept = lit(&media.join(", "));
        quote!(const ACCEPT: ::std::option::Option<&'static str> = ::std::option::Option::Some(#accept);)
    });
    quote! {
        impl #rt::api::client::FromResponse for #ty {
            #accept

            fn from_response(
                response: #rt::api::client::Received,
            ) -> ::std::result::Result<Self, #rt::sse::client::ClientError> {
                ::std::result::Result::Ok(#decoded)
            }
        }
    }
}

/// `impl WriteBody for <Request>`: the body in the media type its value (or the one declared)
/// travels as.
fn write_body_impl(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    ty: &TokenStream,
    body: Option<&Body>,
) -> Result<TokenStream, Diagnostic> {
    let Some(body) = body else {
        return Ok(quote!(impl #rt::api::client::WriteBody for #ty {}));
    };
    let field = &body.field;
    let encode = |content: &crate::ir::BodyContent, value: TokenStream| {
        let media = sent_media(&content.media_type);
        match content.format {
            MediaFormat::Json => quote!(#rt::api::client::Body::json(#media, #value)?),
            MediaFormat::Form => quote!(#rt::api::client::Body::form(#media, #value)?),
            MediaFormat::Multipart => quote!(#rt::api::client::Body::multipart(#value)?),
            MediaFormat::Text => quote!(#rt::api::client::Body::text(#media, #value)),
            MediaFormat::Bytes => quote!(#rt::api::client::Body::bytes(#media, #value.clone())),
        }
    };
    let written = match body.contents.as_slice() {
        [one] if one.variant.is_none() => encode(one, quote!(value)),
        several => {
            let enum_ty = outer.ty(&body.ty)?;
            let mut arms = Vec::new();
            for content in several {
                let Some(variant) = &content.variant else {
                    return Err(super::internal(format!(
                        "body content `{}` has no variant",
                        content.media_type
                    )));
                };
                let encoded = encode(content, quote!(value));
                arms.push(quote!(#enum_ty::#variant(value) => #encoded,));
            }
            quote!(match value { #(#arms)* })
        }
    };
    let write = if body.required {
        quote! {
            let value = &self.#field;
            ::std::result::Result::Ok(::std::option::Option::Some(#written))
        }
    } else {
        quote! {
            match &self.#field {
                ::std::option::Option::Some(value) => {
                    ::std::result::Result::Ok(::std::option::Option::Some(#written))
                }
                ::std::option::Option::None => ::std::result::Result::Ok(::std::option::Option::None),
            }
        }
    };
    Ok(quote! {
        impl #rt::api::client::WriteBody for #ty {
            fn write_body(
                &self,
            ) -> ::std::result::Result<
                ::std::option::Option<#rt::api::client::Body>,
                #rt::params::ParamError,
            > {
                #write
            }
        }
    })
}

/// `impl FormBody for <Form>`: each field written and read by its value and shape.
fn form_impl(rt: &Runtime, ty: &TokenStream, def: &FormDef) -> TokenStream {
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    for FormField {
        name, value, shape, ..
    } in &def.fields
    {
        let field = &name.rust;
        let wire = lit(&name.wire);
        let (write, read) = match (value, shape) {
            (FormValue::Text(_), ParamField::Plain) => (
                quote!(form.text(#wire, &self.#field);),
                quote!(form.text_required(#wire)?),
            ),
            (FormValue::Text(_), ParamField::Optional) => (
                quote!(form.text_optional(#wire, &self.#field);),
                quote!(form.text_optional(#wire)?),
            ),
            (FormValue::Text(_), ParamField::List) => (
                quote!(form.text_list(#wire, &self.#field);),
                quote!(form.text_list(#wire, false)?),
            ),
            (FormValue::Json(_), ParamField::Plain) => (
                quote!(form.json(#wire, &self.#field)?;),
                quote!(form.json_required(#wire)?),
            ),
            (FormValue::Json(_), ParamField::Optional) => (
                quote!(form.json_optional(#wire, &self.#field)?;),
                quote!(form.json_optional(#wire)?),
            ),
            (FormValue::Json(_), ParamField::List) => (
                quote! {
                    for item in &self.#field {
                        form.json(#wire, item)?;
                    }
                },
                quote!(form.json_list(#wire)?),
            ),
            (FormValue::File, ParamField::Plain) => (
                quote!(form.file(#wire, &self.#field);),
                quote!(form.file_required(#wire)?),
            ),
            (FormValue::File, ParamField::Optional) => (
                quote!(form.file_optional(#wire, &self.#field);),
                quote!(form.file_optional(#wire)?),
            ),
            (FormValue::File, ParamField::List) => (
                quote!(form.file_list(#wire, &self.#field);),
                quote!(form.file_list(#wire, false)?),
            ),
        };
        writes.push(write);
        reads.push(quote!(#field: #read,));
    }
    let form_arg = if def.fields.is_empty() {
        quote!(_form)
    } else {
        quote!(form)
    };
    quote! {
        impl #rt::api::body::FormBody for #ty {
            fn write_form(
                &self,
                #form_arg: &mut #rt::api::body::FormWriter,
            ) -> ::std::result::Result<(), #rt::params::ParamError> {
                #(#writes)*
                ::std::result::Result::Ok(())
            }

            fn read_form(
                #form_arg: &#rt::api::body::FormReader,
            ) -> ::std::result::Result<Self, #rt::params::ParamError> {
                ::std::result::Result::Ok(Self { #(#reads)* })
            }
        }
    }
}

/// `impl ParamObject for <Struct>`: an object parameter's fields as text pairs.
fn param_object_impl(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    ty: &TokenStream,
    def: &StructDef,
) -> Result<TokenStream, Diagnostic> {
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    for field in &def.fields {
        let ident = &field.name.rust;
        let wire = lit(&field.name.wire);
        let value_ty = outer.ty(&field.ty)?;
        match field.presence {
            Presence::Required => {
                writes.push(quote!(out.push((#wire, #rt::params::to_text(&self.#ident)));));
                reads.push(
                    quote!(#ident: #rt::params::field_required::<#value_ty>(fields, #wire)?,),
                );
            }
            _ => {
                writes.push(quote! {
                    if let ::std::option::Option::Some(value) = &self.#ident {
                        out.push((#wire, #rt::params::to_text(value)));
                    }
                });
                reads.push(
                    quote!(#ident: #rt::params::field_optional::<#value_ty>(fields, #wire)?,),
                );
            }
        }
    }
    Ok(quote! {
        impl #rt::params::ParamObject for #ty {
            fn write_fields(&self, out: &mut ::std::vec::Vec<(&'static str, ::std::string::String)>) {
                #(#writes)*
            }

            fn read_fields(
                fields: &[(::std::string::String, ::std::string::String)],
            ) -> ::std::result::Result<Self, #rt::params::ParamError> {
                ::std::result::Result::Ok(Self { #(#reads)* })
            }
        }
    })
}

/// The schemes of an operation's security as the runtime's `Scheme`s, a slice expression.
pub(crate) fn schemes(rt: &Runtime, security: &[Security]) -> TokenStream {
    let schemes = security.iter().map(|s| match s {
        Security::Bearer => quote!(#rt::auth::Scheme::Bearer),
        Security::Basic => quote!(#rt::auth::Scheme::Basic),
        Security::ApiKey { location, name } => {
            let name = lit(name);
            match location {
                ParamIn::Query => quote!(#rt::auth::Scheme::ApiKeyQuery(#name)),
                ParamIn::Cookie => quote!(#rt::auth::Scheme::ApiKeyCookie(#name)),
                ParamIn::Header | ParamIn::Path => quote!(#rt::auth::Scheme::ApiKeyHeader(#name)),
            }
        }
    });
    quote!(&[#(#schemes),*])
}

/// What a call contributes to the server module: its trait method, and its operation type.
pub(crate) struct ServerParts {
    /// The service trait's method.
    pub method: TokenStream,
    /// The operation type and its `Operation` impl (empty when the route is not served).
    pub operation: TokenStream,
    /// The handler expression for the router, when served: `(path, method fn, handler)`.
    pub route: Option<(String, TokenStream)>,
}

/// The server parts of one call of `service`.
pub(crate) fn server_parts(
    api: &Api,
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    op: &Operation,
    call: &Call,
) -> Result<ServerParts, Diagnostic> {
    let service = &api.items.service.rust;
    let (auth_ty, authenticate) = (&api.items.auth, &api.items.authenticate);
    let request = outer.named(op.request)?;
    let response = outer.named(call.responses)?;
    let name = &op.name.rust;
    let secured = !op.security.schemes.is_empty();
    let method_docs = docs(&op.docs.clone().with_paragraph(Docs::from_text(&format!(
        "Answers `{} {}`{}. Unless implemented, it answers 501 Not Implemented.",
        op.method.as_str(),
        op.route.path,
        if secured {
            " (its caller authenticated: `auth`)"
        } else {
            ""
        }
    ))));
    let auth_param = secured.then(|| quote!(auth: Self::#auth_ty,));
    let unused = if secured {
        quote!(let _ = (auth, request);)
    } else {
        quote!(let _ = request;)
    };
    let not_implemented = lit(&format!("`{}` is not implemented", op.name.wire));
    let method = quote! {
        #method_docs
        fn #name(
            &self,
            #auth_param
            request: #request,
        ) -> impl ::std::future::Future<
            Output = ::std::result::Result<#response, #rt::http::HttpError>,
        > + ::std::marker::Send {
            #unused
            ::std::future::ready(::std::result::Result::Err(#rt::http::HttpError::new(
                501,
                #not_implemented,
            )))
        }
    };
    let Some(served) = op.route.served() else {
        return Ok(ServerParts {
            method,
            operation: TokenStream::new(),
            route: None,
        });
    };
    let endpoint = &call.endpoint;
    let wire = lit(&op.name.wire);
    let OperationSecurity {
        schemes: security,
        optional,
    } = &op.security;
    let operation = if secured {
        let schemes = schemes(rt, security);
        quote! {
            type Auth = S::#auth_ty;
            const SECURITY: #rt::api::server::Security<'static> = #rt::api::server::Security {
                schemes: #schemes,
                optional: #optional,
            };

            fn authenticate(
                service: &S,
                credential: ::std::option::Option<#rt::auth::Credential>,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<Self::Auth, #rt::http::HttpError>,
            > + ::std::marker::Send {
                service.#authenticate(credential, #wire)
            }

            fn call(
                service: &S,
                auth: Self::Auth,
                request: Self::Request,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<Self::Response, #rt::http::HttpError>,
            > + ::std::marker::Send {
                service.#name(auth, request)
            }
        }
    } else {
        quote! {
            type Auth = ();
            const SECURITY: #rt::api::server::Security<'static> = #rt::api::server::Security::NONE;

            fn authenticate(
                _service: &S,
                _credential: ::std::option::Option<#rt::auth::Credential>,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<(), #rt::http::HttpError>,
            > + ::std::marker::Send {
                ::std::future::ready(::std::result::Result::Ok(()))
            }

            fn call(
                service: &S,
                (): (),
                request: Self::Request,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<Self::Response, #rt::http::HttpError>,
            > + ::std::marker::Send {
                service.#name(request)
            }
        }
    };
    let operation_docs = doc(&format!(
        "`{} {}` as the runtime serves it.",
        op.method.as_str(),
        op.route.path
    ));
    let operation = quote! {
        #operation_docs
        struct #endpoint;

        impl<S: #service> #rt::api::server::Operation<S> for #endpoint {
            type Request = #request;
            type Response = #response;
            #operation
        }
    };
    Ok(ServerParts {
        method,
        operation,
        route: Some((
            served.to_owned(),
            quote!(#rt::api::server::handle::<S, #endpoint>),
        )),
    })
}

/// The client's method of a call.
pub(crate) fn client_method(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    op: &Operation,
    call: &Call,
    method_value: TokenStream,
) -> Result<TokenStream, Diagnostic> {
    let request = outer.named(op.request)?;
    let response = outer.named(call.responses)?;
    let name = &op.name.rust;
    let schemes = schemes(rt, &op.security.schemes);
    let method_docs = docs(&op.docs.clone().with_paragraph(Docs::from_text(&format!(
        "Calls `{} {}`: the response of a declared status, or an error (an undeclared status is [`ClientError::Status`]({}::sse::client::ClientError::Status)).",
        op.method.as_str(),
        op.route.path,
        rt.path_text()
    ))));
    Ok(quote! {
        #method_docs
        pub async fn #name(
            &self,
            request: &#request,
        ) -> ::std::result::Result<#response, #rt::sse::client::ClientError> {
            self.inner.call(#method_value, request, #schemes).await
        }
    })
}
