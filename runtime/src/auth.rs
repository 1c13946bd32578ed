//! Credentials and where security schemes carry them, for servers and clients of both
//! protocols: a server finds the credential a request presents ([`credential`]) in the order of
//! its schemes; a client presents one where a scheme wants it ([`present`]).
//!
//! Basic credentials are base64 (RFC 4648) through the `base64` crate.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::params::{self, ParamError, UrlBuilder};

/// A credential, as a request presents it and as the security schemes of an operation or a
/// channel describe it.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic …`, decoded.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// An API key from a query parameter, header or cookie.
    ApiKey(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(..)"),
            Credential::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, .. }}"),
            Credential::ApiKey(_) => f.write_str("ApiKey(..)"),
        }
    }
}

/// Where a security scheme finds its credential on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme<'a> {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: Basic`.
    Basic,
    /// An API key in this query parameter.
    ApiKeyQuery(&'a str),
    /// An API key in this header.
    ApiKeyHeader(&'a str),
    /// An API key in this cookie.
    ApiKeyCookie(&'a str),
}

/// Standard base64, padding written, and accepted or not when read.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The first credential the request carries for one of `schemes`, in their order.
pub fn credential(
    uri: &http::Uri,
    headers: &http::HeaderMap,
    schemes: &[Scheme<'_>],
) -> Option<Credential> {
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    schemes.iter().find_map(|scheme| match *scheme {
        Scheme::Bearer => {
            let (kind, token) = authorization?.split_once(' ')?;
            kind.eq_ignore_ascii_case("bearer")
                .then(|| Credential::Bearer(token.trim().to_owned()))
        }
        Scheme::Basic => {
            let (kind, encoded) = authorization?.split_once(' ')?;
            if !kind.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
            let (user, password) = decoded.split_once(':')?;
            Some(Credential::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            })
        }
        Scheme::ApiKeyQuery(name) => params::query_optional::<String>(uri, name)
            .ok()
            .flatten()
            .map(Credential::ApiKey),
        Scheme::ApiKeyHeader(name) => params::header_optional::<String>(headers, name)
            .ok()
            .flatten()
            .map(Credential::ApiKey),
        Scheme::ApiKeyCookie(name) => params::cookie_optional::<String>(headers, name)
            .ok()
            .flatten()
            .map(Credential::ApiKey),
    })
}

/// The `Authorization` header value of a bearer or basic credential (`None` for an API key,
/// which travels where its scheme says).
pub fn authorization(credential: &Credential) -> Option<Result<http::HeaderValue, ParamError>> {
    let value = match credential {
        Credential::Bearer(token) => format!("Bearer {token}"),
        Credential::Basic { user, .. } if user.contains(':') => {
            return Some(Err(ParamError {
                name: Some("Authorization".to_owned()),
                message: "a Basic user name cannot contain `:` (RFC 7617)".to_owned(),
            }));
        }
        Credential::Basic { user, password } => {
            format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
        }
        Credential::ApiKey(_) => return None,
    };
    Some(http::HeaderValue::from_str(&value).map_err(|_| ParamError {
        name: Some("Authorization".to_owned()),
        message: "the credential is not a valid header value".to_owned(),
    }))
}

/// Present `credential` on a request the way the first of `schemes` that takes its kind wants
/// it (bearer and basic in `Authorization`, an API key in its query parameter, header or
/// cookie). Nothing is added when no scheme takes it.
pub fn present(
    credential: &Credential,
    schemes: &[Scheme<'_>],
    url: &mut UrlBuilder,
    headers: &mut http::HeaderMap,
) -> Result<(), ParamError> {
    let scheme = schemes.iter().find(|scheme| {
        matches!(
            (credential, scheme),
            (Credential::Bearer(_), Scheme::Bearer)
                | (Credential::Basic { .. }, Scheme::Basic)
                | (
                    Credential::ApiKey(_),
                    Scheme::ApiKeyQuery(_) | Scheme::ApiKeyHeader(_) | Scheme::ApiKeyCookie(_)
                )
        )
    });
    match (scheme, credential) {
        (None, _) => Ok(()),
        (Some(Scheme::ApiKeyQuery(name)), Credential::ApiKey(key)) => {
            url.query(name, key);
            Ok(())
        }
        (Some(Scheme::ApiKeyHeader(name)), Credential::ApiKey(key)) => {
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| ParamError {
                name: Some((*name).to_owned()),
                message: "is not a valid header name".to_owned(),
            })?;
            let value = http::HeaderValue::from_str(key).map_err(|_| ParamError {
                name: Some(name.to_string()),
                message: "the API key is not a valid header value".to_owned(),
            })?;
            headers.insert(name, value);
            Ok(())
        }
        (Some(Scheme::ApiKeyCookie(name)), Credential::ApiKey(key)) => {
            params::add_cookie(headers, name, key)
        }
        (Some(_), _) => match authorization(credential) {
            Some(value) => {
                headers.insert(http::header::AUTHORIZATION, value?);
                Ok(())
            }
            None => Ok(()),
        },
    }
}

/// The `WWW-Authenticate` challenge of a 401 for `schemes` (RFC 9110 section 11.6.1): one per
/// HTTP scheme (`Bearer`, `Basic`); API keys have no standard challenge.
pub fn challenge(schemes: &[Scheme<'_>]) -> Option<http::HeaderValue> {
    let mut parts = Vec::new();
    for scheme in schemes {
        let part = match scheme {
            Scheme::Bearer => "Bearer",
            Scheme::Basic => "Basic realm=\"api\"",
            _ => continue,
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    (!parts.is_empty()).then(|| http::HeaderValue::from_str(&parts.join(", ")).ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors_both_ways() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(BASE64.encode(plain), encoded);
            assert_eq!(BASE64.decode(encoded).unwrap(), plain.as_bytes());
            // Padding is optional when reading.
            assert_eq!(
                BASE64.decode(encoded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert!(BASE64.decode("a b").is_err());
    }

    #[test]
    fn credentials_follow_scheme_order() {
        let uri: http::Uri = "/x?token=abc%20d".parse().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "Basic dXNlcjpwYXNz".parse().unwrap(),
        );
        assert_eq!(
            credential(
                &uri,
                &headers,
                &[Scheme::Bearer, Scheme::ApiKeyQuery("token")]
            ),
            Some(Credential::ApiKey("abc d".into()))
        );
        assert_eq!(
            credential(&uri, &headers, &[Scheme::Basic]),
            Some(Credential::Basic {
                user: "user".into(),
                password: "pass".into()
            })
        );
        assert_eq!(
            credential(&uri, &headers, &[Scheme::ApiKeyHeader("x-key")]),
            None
        );
    }

    #[test]
    fn a_presented_credential_is_found_again() {
        let cases = [
            (Credential::Bearer("t0k".into()), Scheme::Bearer),
            (
                Credential::Basic {
                    user: "ann".into(),
                    password: "p:w d".into(),
                },
                Scheme::Basic,
            ),
            (Credential::ApiKey("k 1".into()), Scheme::ApiKeyQuery("key")),
            (
                Credential::ApiKey("k2".into()),
                Scheme::ApiKeyHeader("x-api-key"),
            ),
            (
                Credential::ApiKey("k3".into()),
                Scheme::ApiKeyCookie("session"),
            ),
        ];
        for (presented, scheme) in cases {
            // The scheme that takes the credential's kind is used, whatever comes first.
            let schemes = [Scheme::ApiKeyHeader("other"), scheme, Scheme::Bearer];
            let schemes = if matches!(presented, Credential::ApiKey(_)) {
                vec![scheme]
            } else {
                schemes.to_vec()
            };
            let mut url = UrlBuilder::new("http://127.0.0.1");
            let mut headers = http::HeaderMap::new();
            present(&presented, &schemes, &mut url, &mut headers).unwrap();
            let uri: http::Uri = url.finish().parse().unwrap();
            assert_eq!(
                credential(&uri, &headers, &schemes),
                Some(presented.clone()),
                "{scheme:?}"
            );
        }
    }

    #[test]
    fn challenges_name_http_schemes_once() {
        assert_eq!(
            challenge(&[Scheme::Bearer, Scheme::ApiKeyHeader("k"), Scheme::Bearer]).unwrap(),
            "Bearer"
        );
        assert_eq!(
            challenge(&[Scheme::Basic, Scheme::Bearer]).unwrap(),
            "Basic realm=\"api\", Bearer"
        );
        assert_eq!(challenge(&[Scheme::ApiKeyQuery("k")]), None);
    }
}
