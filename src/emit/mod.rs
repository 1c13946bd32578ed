//! The emit phase: Rust tokens for each API, built with `quote!` from the final IR only, then
//! formatted once ([`crate::format`]).
//!
//! One file per API (`<module>.rs`) with the same layout whatever the protocol: `pub mod types`
//! (every data type), a private `mod wire` (the runtime traits the types implement: how events
//! and messages travel, how requests are read and written), `pub mod server` and
//! `pub mod client`. Identifiers come from the IR; spec text reaches the output only as string
//! literals and doc attributes ([`tokens`]); nothing is decided by reading generated text.
//! [`crate_files`] wraps emitted files into a standalone crate (`wiregen generate --crate`).

mod calls;
mod cargo;
mod http;
mod lints;
mod sse;
mod tokens;
mod types;
pub mod typescript;
mod ws;

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;

use crate::Settings;
use crate::diag::{Diagnostic, Kind};
use crate::format::Module;
use crate::ir::{Api, SourceInfo, TypeKind};

pub use crate::output::{OutputFile, Uses};
pub use cargo::{RuntimeDep, crate_files, validate_crate_name};

/// Emit one API as one formatted file.
///
/// The `types` module and the other modules are emitted and formatted on two threads (token
/// trees and syntax trees cannot cross threads, so each side builds its own from the IR and
/// hands back text).
///
/// Errors are settings wiregen cannot use (an `extra_derives` entry or a `runtime_path` that is
/// not a Rust path: [`Kind::Invalid`]) or wiregen bugs ([`Kind::Internal`]).
pub fn emit(api: &Api, settings: &Settings) -> Result<OutputFile, Diagnostic> {
    check_settings(settings)?;
    let streams = !api.operations.is_empty();
    let channels = api.ws_channels().next().is_some();
    if streams && channels {
        return Err(internal(
            "an API has both event streams and WebSocket channels".to_owned(),
        ));
    }
    let file_name = format!("{}.rs", api.module.rust.unraw());
    let (types, rest) = std::thread::scope(|scope| {
        // Types are always emitted: the server and client parts need them.
        let types = scope.spawn(|| {
            let options = types_options(settings)?;
            let mut uses = Uses::default();
            let module = types::module(api, &options, &mut uses)?;
            let text = crate::format::format_modules(vec![module], &file_name)?;
            Ok::<_, Diagnostic>((text, uses))
        });
        let rest = parts(api, settings, streams, channels).and_then(|(modules, uses)| {
            Ok((crate::format::format_modules(modules, &file_name)?, uses))
        });
        let types = types
            .join()
            .unwrap_or_else(|_| Err(internal("emitting the types module panicked".to_owned())));
        (types, rest)
    });
    let (types, types_uses) = types?;
    let (rest, uses) = rest?;
    let mut contents = format!("{}\n{types}", header(&api.source));
    if !rest.is_empty() {
        contents.push('\n');
        contents.push_str(&rest);
    }
    Ok(OutputFile {
        path: PathBuf::from(file_name),
        contents,
        uses: types_uses.union(uses),
    })
}

/// The modules after `types`, for the parts the settings ask for: `wire`, `server`, `client`.
fn parts(
    api: &Api,
    settings: &Settings,
    streams: bool,
    channels: bool,
) -> Result<(Vec<Module>, Uses), Diagnostic> {
    let options = types_options(settings)?;
    let rt = &options.runtime;
    let mut uses = Uses::default();
    let crate::Parts {
        types: _,
        server,
        client,
    } = settings.parts;
    let mut items = Vec::new();
    if !((server || client) && (streams || channels)) {
        return Ok((items, uses));
    }
    uses.runtime = true;
    let mut wire = sse::wire_items(api, rt, server, client)?;
    wire.extend(calls::wire_items(api, rt, server, client)?);
    wire.extend(ws::wire_items(api, rt, server, client)?);
    wire.extend(param_values(api, rt)?);
    items.push(Module {
        head: quote! {
            /// How the types travel: the runtime's traits for events, messages, requests and
            /// parameters.
            mod wire {}
        },
        items: wire,
    });
    if server {
        if streams {
            uses.server = true;
            items.push(sse::server_module(api, rt)?);
        } else {
            uses.ws_server = true;
            items.push(ws::server_module(api, rt)?);
        }
    }
    if client {
        if streams {
            uses.client = true;
            items.push(sse::client_module(api, rt)?);
        } else {
            uses.ws_client = true;
            items.push(ws::client_module(api, rt)?);
        }
    }
    Ok((items, uses))
}

/// `ParamValue` for the string enums parameters use: their wire text.
fn param_values(api: &Api, rt: &tokens::Runtime) -> Result<Vec<TokenStream>, Diagnostic> {
    let outer = tokens::TypeExpr {
        space: &api.types,
        outside: true,
    };
    let mut out = Vec::new();
    for (index, def) in api.types.defs.iter().enumerate() {
        let TypeKind::Enum(e) = &def.kind else {
            continue;
        };
        if !e.param {
            continue;
        }
        let ty = outer.named(crate::ir::TypeId(index))?;
        out.push(quote! {
            impl #rt::params::ParamValue for #ty {
                fn write_param(&self, out: &mut ::std::string::String) {
                    out.push_str(self.as_str());
                }

                fn parse_param(text: &str) -> ::std::result::Result<Self, #rt::params::ParamError> {
                    #rt::params::parse_with_serde(text)
                }
            }
        });
    }
    Ok(out)
}

/// `#![allow(..)]` for a `server` or `client` module: the lints the spec's own doc text in it
/// may trigger (the API's, operations', channels' and messages' descriptions), as the types
/// module allows them for its docs. Empty when none.
pub(crate) fn spec_doc_allows(api: &Api) -> Result<TokenStream, Diagnostic> {
    let mut allows = lints::Allows::default();
    let mut note = |docs: &crate::ir::Docs| allows.docs(docs.lines().iter().map(String::as_str));
    note(&api.docs);
    for op in &api.operations {
        note(&op.docs);
    }
    for channel in &api.channels {
        note(&channel.docs);
        for set in [&channel.to_server, &channel.to_client]
            .into_iter()
            .flatten()
        {
            for message in &set.messages {
                note(&message.docs);
            }
        }
    }
    let lints = allows.into_vec();
    if lints.is_empty() {
        return Ok(TokenStream::new());
    }
    let paths: Vec<syn::Path> = lints
        .iter()
        .map(|lint| syn::parse_str(lint))
        .collect::<Result<_, _>>()
        .map_err(|e| internal(format!("a lint name does not parse: {e}")))?;
    Ok(quote!(#![allow(#(#paths),*)]))
}

/// Check the settings [`emit`] uses, before any spec is read: front ends report a problem here
/// as a usage error. The same [`Kind::Invalid`] errors [`emit`] would return.
pub fn check_settings(settings: &Settings) -> Result<(), Diagnostic> {
    types_options(settings).map(|_| ())
}

fn types_options(settings: &Settings) -> Result<types::TypesOptions, Diagnostic> {
    let Settings {
        role: _,
        parts: _,
        runtime_path,
        extra_derives,
        unknown_messages: _,
        lang: _,
    } = settings;
    Ok(types::TypesOptions {
        extra_derives: extra_derives
            .iter()
            .map(|d| {
                tokens::plain_path(d).ok_or_else(|| {
                    Diagnostic::error(Kind::Invalid, format!("extra derive `{d}` is not a Rust path"))
                        .help("give a path such as `Eq` or `schemars::JsonSchema`, without generic arguments")
                })
            })
            .collect::<Result<_, _>>()?,
        runtime: tokens::Runtime::new(tokens::plain_path(runtime_path).ok_or_else(|| {
            Diagnostic::error(Kind::Invalid, format!("runtime path `{runtime_path}` is not a Rust path"))
                .help("give a path such as `::wiregen_runtime` or `crate::runtime`")
        })?),
    })
}

/// `// @generated by wiregen <version> from <file> (<spec>). Do not edit.`
fn header(source: &SourceInfo) -> String {
    let SourceInfo {
        file,
        spec,
        title: _,
        version: _,
    } = source;
    format!(
        "// @generated by wiregen {} from {} ({}). Do not edit.",
        env!("CARGO_PKG_VERSION"),
        tokens::comment_text(file),
        tokens::comment_text(spec)
    )
}

/// A [`Kind::Internal`] error.
pub(crate) fn internal(message: String) -> Diagnostic {
    Diagnostic::error(Kind::Internal, format!("wiregen bug: {message}"))
        .help("please report this, with the spec that triggered it")
}

#[cfg(test)]
mod tests;
