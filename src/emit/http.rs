//! What both protocols share on the HTTP side, as tokens: reading a request struct (or a
//! channel's connection parameters) from a request on the server, writing it into a URL and
//! headers on the client, and where the handshake's credential travels. Used by the SSE and
//! WebSocket emitters alike (and by plain operations next).

use proc_macro2::TokenStream;
use quote::quote;

use super::tokens::{Runtime, TypeExpr, lit};
use crate::diag::Diagnostic;
use crate::ir::{
    Body, MediaFormat, Param, ParamField, ParamIn, ParamsDef, PathSegment, Route, Security,
};

/// `impl FromRequest for <ty>`: every field read from the request by its place, shape and
/// style, and the body by its `Content-Type`.
pub(crate) fn from_request_impl(
    rt: &Runtime,
    outer: &TypeExpr<'_>,
    ty: &TokenStream,
    def: &ParamsDef,
) -> Result<TokenStream, Diagnostic> {
    let ParamsDef {
        params,
        body,
        last_event_id,
        of: _,
    } = def;
    let mut fields = Vec::new();
    for param in params {
        let field = &param.name.rust;
        let read = read_param(rt, param);
        fields.push(quote!(#field: #read,));
    }
    if let Some(body) = body {
        let field = &body.field;
        let read = read_body(rt, body, &outer.ty(&body.ty)?);
        fields.push(quote!(#field: #read,));
    }
    if let Some(field) = last_event_id {
        fields.push(quote!(#field: request.last_event_id(),));
    }
    let request = if fields.is_empty() {
        quote!(_request)
    } else {
        quote!(request)
    };
    Ok(quote! {
        impl #rt::request::FromRequest for #ty {
            fn from_request(
                #request: &#rt::request::RequestParts,
            ) -> ::std::result::Result<Self, #rt::http::HttpError> {
                ::std::result::Result::Ok(Self { #(#fields)* })
            }
        }
    })
}

/// The runtime's `Style` of a parameter.
fn style(rt: &Runtime, param: &Param) -> TokenStream {
    let variant = proc_macro2::Ident::new(param.style.as_str(), proc_macro2::Span::call_site());
    quote!(#rt::params::Style::#variant)
}

/// The expression reading one parameter on the server (a `Result` already unwrapped with `?`).
fn read_param(rt: &Runtime, param: &Param) -> TokenStream {
    let Param {
        name,
        location,
        required,
        explode,
        ..
    } = param;
    let wire = lit(&name.wire);
    let shape = param.field();
    let styled = !param.style.is_default(*location, *explode);
    let style = style(rt, param);
    let required_value = |read: TokenStream| match shape {
        ParamField::Plain => quote!(#rt::http::required(#read, #wire)?),
        ParamField::Optional | ParamField::List => read,
    };
    if param.object {
        return match location {
            ParamIn::Path => quote!(request.path_object(#wire, #style, #explode)?),
            ParamIn::Query => required_value(quote!(
                request.query_object(#wire, #style, #explode, #required)?
            )),
            ParamIn::Header => {
                required_value(quote!(request.header_object(#wire, #explode, #required)?))
            }
            ParamIn::Cookie => required_value(quote!(request.cookie_object(#wire, #required)?)),
        };
    }
    match (location, shape) {
        // A list always goes through the styled reader, which splits the segment before
        // decoding it (so an encoded delimiter inside an item survives).
        (ParamIn::Path, ParamField::List) => {
            quote!(request.path_styled(#wire, #style, #explode)?)
        }
        (ParamIn::Path, ParamField::Plain) if styled => quote!(#rt::http::single(
            request.path_styled(#wire, #style, #explode)?,
            #wire
        )?),
        (ParamIn::Path, ParamField::Optional) if styled => quote!(::std::option::Option::Some(
            #rt::http::single(request.path_styled(#wire, #style, #explode)?, #wire)?
        )),
        (ParamIn::Path, ParamField::Plain) => quote!(request.path_required(#wire)?),
        (ParamIn::Path, ParamField::Optional) => quote!(request.path_optional(#wire)?),
        (ParamIn::Query, ParamField::List) if styled => {
            quote!(request.query_styled(#wire, #style, #explode, #required)?)
        }
        (ParamIn::Query, ParamField::Plain) => quote!(request.query_required(#wire)?),
        (ParamIn::Query, ParamField::Optional) => quote!(request.query_optional(#wire)?),
        (ParamIn::Query, ParamField::List) => quote!(request.query_list(#wire, #required)?),
        (ParamIn::Header, ParamField::Plain) => quote!(request.header_required(#wire)?),
        (ParamIn::Header, ParamField::Optional) => quote!(request.header_optional(#wire)?),
        (ParamIn::Header, ParamField::List) => quote!(request.header_list(#wire, #required)?),
        (ParamIn::Cookie, ParamField::Plain) => quote!(request.cookie_required(#wire)?),
        (ParamIn::Cookie, ParamField::Optional) => quote!(request.cookie_optional(#wire)?),
        (ParamIn::Cookie, ParamField::List) => quote!(request.cookie_list(#wire, #required)?),
    }
}

/// The expression reading the body on the server: the media type chosen by `Content-Type`,
/// read its way (415 for another type; 400 for a missing required body).
fn read_body(rt: &Runtime, body: &Body, body_ty: &TokenStream) -> TokenStream {
    let Body {
        ty: _,
        required,
        contents,
        ..
    } = body;
    let accepted: Vec<proc_macro2::Literal> = contents.iter().map(|c| lit(&c.media_type)).collect();
    let mut arms = Vec::new();
    for (index, content) in contents.iter().enumerate() {
        let read = match content.format {
            MediaFormat::Json => quote!(#rt::api::server::read_json(request)?),
            MediaFormat::Form => quote!(#rt::api::server::read_form(request)?),
            MediaFormat::Multipart => quote!(#rt::api::server::read_multipart(request)?),
            MediaFormat::Text => quote!(#rt::api::server::read_text(request)?),
            MediaFormat::Bytes => quote!(#rt::api::server::read_bytes(request).to_vec()),
        };
        let value = match &content.variant {
            Some(variant) => quote!(#body_ty::#variant(#read)),
            None => read,
        };
        let value = if *required {
            value
        } else {
            quote!(::std::option::Option::Some(#value))
        };
        let pattern = if index + 1 == contents.len() {
            quote!(::std::option::Option::Some(_))
        } else {
            let index = proc_macro2::Literal::usize_unsuffixed(index);
            quote!(::std::option::Option::Some(#index))
        };
        arms.push(quote!(#pattern => #value,));
    }
    let none = if *required {
        quote!(return ::std::result::Result::Err(#rt::api::server::body_required()))
    } else {
        quote!(::std::option::Option::None)
    };
    quote! {
        match #rt::api::server::media(request, &[#(#accepted),*])? {
            #(#arms)*
            ::std::option::Option::None => #none,
        }
    }
}

/// `impl ToRequest for <ty>`: the route's path with its parameters, the query, the headers and
/// cookies (each in its style), and, for a stream's JSON body, `json_body`; `Last-Event-ID`.
pub(crate) fn to_request_impl(
    rt: &Runtime,
    ty: &TokenStream,
    def: &ParamsDef,
    route: &Route,
) -> TokenStream {
    let ParamsDef {
        params,
        body,
        last_event_id,
        of: _,
    } = def;
    let mut url = Vec::new();
    for segment in &route.segments {
        url.push(match segment {
            PathSegment::Literal(text) => {
                let text = lit(text);
                quote!(url.literal(#text);)
            }
            PathSegment::Param(index) => match params.get(*index) {
                Some(param) => write_path(rt, param),
                None => TokenStream::new(),
            },
        });
    }
    let mut headers = Vec::new();
    for param in params {
        match param.location {
            ParamIn::Path => {}
            ParamIn::Query => url.push(write_query(rt, param)),
            ParamIn::Header | ParamIn::Cookie => headers.push(write_header(rt, param)),
        }
    }
    let url_arg = if url.is_empty() {
        quote!(_url)
    } else {
        quote!(url)
    };
    let headers_arg = if headers.is_empty() {
        quote!(_headers)
    } else {
        quote!(headers)
    };
    let json_only = body
        .as_ref()
        .filter(|b| matches!(b.contents.as_slice(), [one] if one.format == MediaFormat::Json));
    let body = json_only.map(|Body { required, field, .. }| {
        let encode = if *required {
            quote!(#rt::codegen::serde_json::to_vec(&self.#field).map(::std::option::Option::Some))
        } else {
            quote!(self.#field.as_ref().map(#rt::codegen::serde_json::to_vec).transpose())
        };
        quote! {
            fn json_body(
                &self,
            ) -> ::std::result::Result<
                ::std::option::Option<::std::vec::Vec<u8>>,
                #rt::codegen::serde_json::Error,
            > {
                #encode
            }
        }
    });
    let last_event_id = last_event_id.as_ref().map(|field| {
        quote! {
            fn last_event_id(&self) -> ::std::option::Option<&str> {
                self.#field.as_deref()
            }
        }
    });
    quote! {
        impl #rt::params::ToRequest for #ty {
            fn write_url(&self, #url_arg: &mut #rt::params::UrlBuilder) {
                #(#url)*
            }

            fn write_headers(
                &self,
                #headers_arg: &mut #rt::codegen::http::HeaderMap,
            ) -> ::std::result::Result<(), #rt::params::ParamError> {
                #(#headers)*
                ::std::result::Result::Ok(())
            }

            #body
            #last_event_id
        }
    }
}

/// `value` bound to the field's value: the field itself, or what an `Option` holds.
fn with_value(param: &Param, write: impl Fn(TokenStream) -> TokenStream) -> TokenStream {
    let field = &param.name.rust;
    match param.field() {
        ParamField::Optional => {
            let body = write(quote!(value));
            quote! {
                if let ::std::option::Option::Some(value) = &self.#field {
                    #body
                }
            }
        }
        ParamField::Plain | ParamField::List => write(quote!(&self.#field)),
    }
}

fn write_path(rt: &Runtime, param: &Param) -> TokenStream {
    let wire = lit(&param.name.wire);
    let explode = param.explode;
    let style = style(rt, param);
    let styled = !param.style.is_default(ParamIn::Path, explode);
    with_value(param, |value| {
        if param.object {
            quote!(url.path_object(#wire, #value, #style, #explode);)
        } else if param.list {
            // Items are encoded one by one, then joined (a delimiter inside one stays encoded).
            quote!(url.path_styled(#wire, #value, #style, #explode);)
        } else if !styled {
            quote!(url.path(#value);)
        } else {
            quote!(url.path_styled(#wire, ::std::slice::from_ref(#value), #style, #explode);)
        }
    })
}

fn write_query(rt: &Runtime, param: &Param) -> TokenStream {
    let wire = lit(&param.name.wire);
    let field = &param.name.rust;
    let explode = param.explode;
    let style = style(rt, param);
    let styled = !param.style.is_default(ParamIn::Query, explode);
    if param.object {
        return with_value(
            param,
            |value| quote!(url.query_object(#wire, #value, #style, #explode);),
        );
    }
    match param.field() {
        ParamField::Plain => quote!(url.query(#wire, &self.#field);),
        ParamField::Optional => quote!(url.query_optional(#wire, &self.#field);),
        ParamField::List if styled => {
            quote!(url.query_styled(#wire, &self.#field, #style, #explode);)
        }
        ParamField::List => quote!(url.query_list(#wire, &self.#field);),
    }
}

fn write_header(rt: &Runtime, param: &Param) -> TokenStream {
    let wire = lit(&param.name.wire);
    let field = &param.name.rust;
    let explode = param.explode;
    if param.object {
        return with_value(param, |value| match param.location {
            ParamIn::Cookie => quote!(#rt::params::add_cookie_object(headers, #wire, #value)?;),
            _ => quote!(#rt::params::set_header_object(headers, #wire, #value, #explode)?;),
        });
    }
    match (param.location, param.field()) {
        (ParamIn::Cookie, ParamField::Plain) => {
            quote!(#rt::params::add_cookie(headers, #wire, &self.#field)?;)
        }
        (ParamIn::Cookie, ParamField::Optional) => {
            quote!(#rt::params::add_cookie_optional(headers, #wire, &self.#field)?;)
        }
        (ParamIn::Cookie, ParamField::List) => {
            quote!(#rt::params::add_cookie_list(headers, #wire, &self.#field)?;)
        }
        (_, ParamField::Plain) => quote!(#rt::params::set_header(headers, #wire, &self.#field)?;),
        (_, ParamField::Optional) => {
            quote!(#rt::params::set_header_optional(headers, #wire, &self.#field)?;)
        }
        (_, ParamField::List) => {
            quote!(#rt::params::set_header_list(headers, #wire, &self.#field)?;)
        }
    }
}

/// The schemes a server finds a handshake's credential by, in order, as a slice expression.
pub(crate) fn server_schemes(rt: &Runtime, security: &[Security]) -> TokenStream {
    let schemes = security.iter().map(|s| match s {
        Security::Bearer => quote!(#rt::ws::server::Scheme::Bearer),
        Security::Basic => quote!(#rt::ws::server::Scheme::Basic),
        Security::ApiKey { location, name } => {
            let name = lit(name);
            match location {
                ParamIn::Query => quote!(#rt::ws::server::Scheme::ApiKeyQuery(#name)),
                ParamIn::Cookie => quote!(#rt::ws::server::Scheme::ApiKeyCookie(#name)),
                ParamIn::Header | ParamIn::Path => {
                    quote!(#rt::ws::server::Scheme::ApiKeyHeader(#name))
                }
            }
        }
    });
    quote!(&[#(#schemes),*])
}

/// Where a client puts an API key credential: the first API-key scheme's place (`None` when
/// the schemes have none: bearer and basic use `Authorization`).
pub(crate) fn client_key_place(rt: &Runtime, security: &[Security]) -> TokenStream {
    let place = security.iter().find_map(|s| match s {
        Security::ApiKey { location, name } => {
            let name = lit(name);
            Some(match location {
                ParamIn::Query => quote!(#rt::ws::connect::KeyPlace::Query(#name)),
                ParamIn::Cookie => quote!(#rt::ws::connect::KeyPlace::Cookie(#name)),
                ParamIn::Header | ParamIn::Path => {
                    quote!(#rt::ws::connect::KeyPlace::Header(#name))
                }
            })
        }
        Security::Bearer | Security::Basic => None,
    });
    match place {
        Some(place) => quote!(::std::option::Option::Some(#place)),
        None => quote!(::std::option::Option::None),
    }
}
