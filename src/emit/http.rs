//! What both protocols share on the HTTP side, as tokens: reading a request struct (or a
//! channel's connection parameters) from a request on the server, writing it into a URL and
//! headers on the client, and where the handshake's credential travels. Used by the SSE and
//! WebSocket emitters alike (and by plain operations next).

use proc_macro2::TokenStream;
use quote::quote;

use super::tokens::{Runtime, lit};
use crate::ir::{Body, Param, ParamField, ParamIn, ParamsDef, PathSegment, Route, Security};

/// `impl FromRequest for <ty>`: every field read from the request by its place and shape.
pub(crate) fn from_request_impl(rt: &Runtime, ty: &TokenStream, def: &ParamsDef) -> TokenStream {
    let ParamsDef {
        params,
        body,
        last_event_id,
        of: _,
    } = def;
    let mut fields = Vec::new();
    for param in params {
        let Param {
            name,
            location,
            required,
            ..
        } = param;
        let wire = lit(&name.wire);
        let read = match (location, param.field()) {
            (ParamIn::Path, ParamField::Plain) => quote!(path_required(#wire)),
            (ParamIn::Path, ParamField::Optional) => quote!(path_optional(#wire)),
            (ParamIn::Path, ParamField::List) => quote!(path_list(#wire)),
            (ParamIn::Query, ParamField::Plain) => quote!(query_required(#wire)),
            (ParamIn::Query, ParamField::Optional) => quote!(query_optional(#wire)),
            (ParamIn::Query, ParamField::List) => quote!(query_list(#wire, #required)),
            (ParamIn::Header, ParamField::Plain) => quote!(header_required(#wire)),
            (ParamIn::Header, ParamField::Optional) => quote!(header_optional(#wire)),
            (ParamIn::Header, ParamField::List) => quote!(header_list(#wire, #required)),
            // Lowering never makes a cookie a list.
            (ParamIn::Cookie, ParamField::Plain | ParamField::List) => {
                quote!(cookie_required(#wire))
            }
            (ParamIn::Cookie, ParamField::Optional) => quote!(cookie_optional(#wire)),
        };
        let field = &name.rust;
        fields.push(quote!(#field: request.#read?,));
    }
    if let Some(Body {
        required, field, ..
    }) = body
    {
        fields.push(if *required {
            quote!(#field: request.json_body()?,)
        } else {
            quote!(#field: request.optional_json_body()?,)
        });
    }
    if let Some(field) = last_event_id {
        fields.push(quote!(#field: request.last_event_id(),));
    }
    let request = if fields.is_empty() {
        quote!(_request)
    } else {
        quote!(request)
    };
    quote! {
        impl #rt::request::FromRequest for #ty {
            fn from_request(
                #request: &#rt::request::RequestParts,
            ) -> ::std::result::Result<Self, #rt::http::HttpError> {
                ::std::result::Result::Ok(Self { #(#fields)* })
            }
        }
    }
}

/// `impl ToRequest for <ty>`: the route's path with its parameters, the query, the headers and
/// cookies, and (for an operation's request) the JSON body and `Last-Event-ID`.
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
                Some(param) => {
                    let field = &param.name.rust;
                    match param.field() {
                        ParamField::Optional => quote! {
                            if let ::std::option::Option::Some(value) = &self.#field {
                                url.path(value);
                            }
                        },
                        ParamField::Plain | ParamField::List => quote!(url.path(&self.#field);),
                    }
                }
                None => TokenStream::new(),
            },
        });
    }
    let mut headers = Vec::new();
    for param in params {
        let field = &param.name.rust;
        let wire = lit(&param.name.wire);
        let shape = param.field();
        match param.location {
            ParamIn::Path => {}
            ParamIn::Query => url.push(match shape {
                ParamField::Plain => quote!(url.query(#wire, &self.#field);),
                ParamField::Optional => quote!(url.query_optional(#wire, &self.#field);),
                ParamField::List => quote!(url.query_list(#wire, &self.#field);),
            }),
            ParamIn::Header => headers.push(match shape {
                ParamField::Plain => {
                    quote!(#rt::params::set_header(headers, #wire, &self.#field)?;)
                }
                ParamField::Optional => {
                    quote!(#rt::params::set_header_optional(headers, #wire, &self.#field)?;)
                }
                ParamField::List => {
                    quote!(#rt::params::set_header_list(headers, #wire, &self.#field)?;)
                }
            }),
            ParamIn::Cookie => headers.push(match shape {
                ParamField::Optional => {
                    quote!(#rt::params::add_cookie_optional(headers, #wire, &self.#field)?;)
                }
                ParamField::Plain | ParamField::List => {
                    quote!(#rt::params::add_cookie(headers, #wire, &self.#field)?;)
                }
            }),
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
    let body = body.as_ref().map(|Body { required, field, .. }| {
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
