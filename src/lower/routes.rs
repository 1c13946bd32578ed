//! Routes of both protocols, decided once: a path split into literal text and parameters, and
//! whether axum can serve it. The check phase ([`crate::check`]) then finds routes that
//! conflict with each other.

use crate::diag::{Diagnostic, Diagnostics, Kind, Location};
use crate::ir::{HttpMethod, Param, ParamIn, PathSegment, Route};

/// The route of `path`: its segments (a `{name}` that names one of `params`' path parameters
/// becomes that parameter; any other stays literal text) and the axum route serving it, or
/// `None` with a warning at `at` when axum cannot serve it (`what` names the route's owner).
pub(crate) fn route(
    path: &str,
    params: &[Param],
    method: HttpMethod,
    what: &str,
    at: &Option<Location>,
    diags: &mut Diagnostics,
) -> Route {
    let segments = segments(path, params);
    let served = match unroutable(path, method) {
        None => Some(path.to_owned()),
        Some(problem) => {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "{problem}, so the generated server does not serve {what} (the client still calls it)"
                    ),
                )
                .at(at.clone()),
            );
            None
        }
    };
    Route {
        path: path.to_owned(),
        segments,
        axum: served,
        in_router: true,
    }
}

/// `/v1/pets/{petId}` → literal `/v1/pets/`, the parameter `petId`.
fn segments(path: &str, params: &[Param]) -> Vec<PathSegment> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        literal.push_str(&rest[..start]);
        let name = &rest[start + 1..start + len];
        match params
            .iter()
            .position(|p| p.location == ParamIn::Path && p.name.wire == name)
        {
            Some(index) => {
                if !literal.is_empty() {
                    out.push(PathSegment::Literal(std::mem::take(&mut literal)));
                }
                out.push(PathSegment::Param(index));
            }
            // A `{name}` no parameter describes stays as written.
            None => literal.push_str(&rest[start..start + len + 1]),
        }
        rest = &rest[start + len + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        out.push(PathSegment::Literal(literal));
    }
    out
}

/// Why axum cannot serve `path` with `method`, if it cannot: the path must start with `/`, have
/// no query or fragment, and every `{param}` must be a whole segment with a plain name; no
/// segment may start with axum's `*` or `:` syntax.
fn unroutable(path: &str, method: HttpMethod) -> Option<String> {
    if method == HttpMethod::Query {
        return Some("axum has no QUERY method".to_owned());
    }
    if !path.starts_with('/') || path.contains(['?', '#']) {
        return Some(format!("the path `{path}` is not a plain absolute path"));
    }
    let bad = path.split('/').any(|segment| {
        let has_param = segment.contains(['{', '}']);
        let whole = segment.len() > 2
            && segment.starts_with('{')
            && segment.ends_with('}')
            && segment[1..segment.len() - 1]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        (has_param && !whole) || segment.starts_with(['*', ':'])
    });
    bad.then(|| format!("a parameter in `{path}` is not a whole path segment"))
}

/// A channel's path: the pathname of its servers joined with its address, without a doubled
/// or trailing `/` (`/v1` + `/auctions/{id}` → `/v1/auctions/{id}`; `/raw` + `/` → `/raw`; an
/// address without a leading `/` is relative to the pathname). An address that already
/// starts with the pathname is taken as the whole path (with a warning at `at`): servers and
/// channels are often both written with the full path.
pub(crate) fn join_pathname(
    pathname: &str,
    address: &str,
    channel: &str,
    at: &Option<Location>,
    diags: &mut Diagnostics,
) -> String {
    let pathname = pathname.trim_end_matches('/');
    let relative = address.trim_start_matches('/');
    if pathname.is_empty() {
        return format!("/{relative}");
    }
    let repeats = relative
        .strip_prefix(pathname.trim_start_matches('/'))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if repeats && address.starts_with('/') {
        diags.push(
            Diagnostic::warning(
                Kind::Conversion,
                format!(
                    "the address of channel `{channel}` (`{address}`) already starts with its servers' pathname `{pathname}`, so it is served at `{address}`, not under the pathname again"
                ),
            )
            .at(at.clone())
            .help("write the address relative to the server's pathname to silence this"),
        );
        return address.to_owned();
    }
    if relative.is_empty() {
        pathname.to_owned()
    } else {
        format!("{pathname}/{relative}")
    }
}

/// A route with its parameter names blanked: axum cannot serve two routes of the same shape
/// unless they are the same text with different methods.
pub(crate) fn shape(served: &str) -> String {
    served
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(pathname: &str, address: &str) -> (String, usize) {
        let mut diags = Diagnostics::new();
        let path = join_pathname(pathname, address, "c", &None, &mut diags);
        (path, diags.into_vec().len())
    }

    #[test]
    fn pathnames_join_without_doubled_slashes() {
        assert_eq!(joined("", "/a/{id}"), ("/a/{id}".to_owned(), 0));
        assert_eq!(joined("", "chat"), ("/chat".to_owned(), 0));
        assert_eq!(joined("", "/"), ("/".to_owned(), 0));
        assert_eq!(joined("/raw", "/"), ("/raw".to_owned(), 0));
        assert_eq!(joined("/v1/", "/a"), ("/v1/a".to_owned(), 0));
        assert_eq!(joined("/v1", "a"), ("/v1/a".to_owned(), 0));
        assert_eq!(
            joined("/v1/realtime", "/v1/realtime"),
            ("/v1/realtime".to_owned(), 1)
        );
        assert_eq!(joined("/v1", "/v1/x"), ("/v1/x".to_owned(), 1));
        assert_eq!(joined("/v1", "/v10"), ("/v1/v10".to_owned(), 0));
        assert_eq!(joined("/v1", "v1"), ("/v1/v1".to_owned(), 0));
    }

    #[test]
    fn routability_is_one_rule() {
        for good in ["/", "/a/{id}", "/a/{a-b.c}/x", "/a b"] {
            assert_eq!(unroutable(good, HttpMethod::Get), None, "{good}");
        }
        for bad in [
            "",
            "a",
            "/a?x",
            "/a/{x}.json",
            "/a/{x}{y}",
            "/a/*x",
            "/:x",
            "/a/{}",
        ] {
            assert!(unroutable(bad, HttpMethod::Get).is_some(), "{bad}");
        }
        assert!(unroutable("/a", HttpMethod::Query).is_some());
        assert_eq!(shape("/a/{x}/b/{y}"), "/a/{}/b/{}");
    }
}
