//! A channel's upgrade request as a client builds it: the URL and headers its connection
//! parameters write ([`ToRequest`]), and the credential placed where the channel's security
//! scheme wants it. Generated channel clients call [`request`].

use super::Credential;
use super::client::{ConnectError, ConnectRequest};
use crate::params::{self, ToRequest, UrlBuilder};

/// Where an API key credential travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPlace {
    /// In this query parameter.
    Query(&'static str),
    /// In this header.
    Header(&'static str),
    /// In this cookie.
    Cookie(&'static str),
}

/// The upgrade request for `params` at `base_url` (for example `ws://127.0.0.1:3000`), with
/// `credential`: a bearer or basic one in `Authorization`, an API key at `api_key`.
pub fn request<P: ToRequest>(
    base_url: &str,
    params: &P,
    credential: Option<&Credential>,
    api_key: Option<KeyPlace>,
) -> Result<ConnectRequest, ConnectError> {
    let invalid = |error: params::ParamError| ConnectError::Request(error.to_string());
    let mut url = UrlBuilder::new(base_url);
    params.write_url(&mut url);
    let mut headers = http::HeaderMap::new();
    params.write_headers(&mut headers).map_err(invalid)?;
    if let (Some(Credential::ApiKey(key)), Some(place)) = (credential, api_key) {
        match place {
            KeyPlace::Query(name) => url.query(name, key),
            KeyPlace::Header(name) => {
                params::set_header(&mut headers, name, key).map_err(invalid)?
            }
            KeyPlace::Cookie(name) => {
                params::add_cookie(&mut headers, name, key).map_err(invalid)?
            }
        }
    }
    let mut request = ConnectRequest::new(url.finish());
    request.headers = headers;
    if let Some(credential) = credential {
        request.authorize(credential)?;
    }
    Ok(request)
}
