//! The client half: [`ApiClient`], shared by every method of a generated `Client`. A plain
//! call ([`ApiClient::call`]) sends a typed request (its URL, headers, credential and body) and
//! decodes the response into the operation's response enum ([`FromResponse`]) within the
//! configured `request_timeout`; an event stream ([`ApiClient::subscribe`]) reconnects and
//! resumes by itself and has no whole-request timeout.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::body::{FormBody, FormWriter, PartValue};
use crate::auth::{Credential, Scheme};
use crate::params::{ParamError, ParamValue, ToRequest, UrlBuilder};
use crate::sse::EventSet;
use crate::sse::client::{
    ClientConfig, ClientError, EventStream, HttpClient, STATUS_BODY_LIMIT, StreamRequest,
    error_chain, fetch_json, http_client, is_unsupported_scheme, subscribe,
};

/// The body of a plain call's request.
#[derive(Debug)]
pub enum Body {
    /// Bytes of one media type (JSON, text, binary, a urlencoded form).
    Bytes {
        /// The `Content-Type`.
        content_type: &'static str,
        /// The bytes.
        data: Bytes,
    },
    /// A `multipart/form-data` form.
    Multipart(FormWriter),
}

impl Body {
    /// `value` as a JSON body of this media type.
    pub fn json<T: serde::Serialize>(
        content_type: &'static str,
        value: &T,
    ) -> Result<Self, ParamError> {
        let data = serde_json::to_vec(value).map_err(|error| ParamError {
            name: None,
            message: format!("the request body does not serialize: {error}"),
        })?;
        Ok(Body::Bytes {
            content_type,
            data: data.into(),
        })
    }

    /// Text of this media type.
    pub fn text(content_type: &'static str, value: &str) -> Self {
        Body::Bytes {
            content_type,
            data: Bytes::from(value.to_owned()),
        }
    }

    /// Bytes of this media type.
    pub fn bytes(content_type: &'static str, value: impl Into<Bytes>) -> Self {
        Body::Bytes {
            content_type,
            data: value.into(),
        }
    }

    /// A form, urlencoded.
    pub fn form<F: FormBody>(content_type: &'static str, value: &F) -> Result<Self, ParamError> {
        let mut form = FormWriter::new();
        value.write_form(&mut form)?;
        Ok(Body::Bytes {
            content_type,
            data: Bytes::from(form.urlencoded()?),
        })
    }

    /// A form, as `multipart/form-data`.
    pub fn multipart<F: FormBody>(value: &F) -> Result<Self, ParamError> {
        let mut form = FormWriter::new();
        value.write_form(&mut form)?;
        Ok(Body::Multipart(form))
    }
}

/// The body a request struct sends: implemented by generated code (the default sends none).
pub trait WriteBody {
    /// The body, if the request has one.
    fn write_body(&self) -> Result<Option<Body>, ParamError> {
        Ok(None)
    }
}

/// A response as received, for [`FromResponse`].
#[derive(Debug)]
pub struct Received {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn invalid(&self, reason: String) -> ClientError {
        ClientError::Invalid {
            status: self.status,
            reason,
        }
    }

    /// The body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClientError> {
        crate::json::from_slice(&self.body)
            .map_err(|error| self.invalid(format!("the body is not the declared JSON: {error}")))
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<String, ClientError> {
        String::from_utf8(self.body.to_vec())
            .map_err(|_| self.invalid("the body is not UTF-8 text".to_owned()))
    }

    /// The body's bytes.
    pub fn bytes(&self) -> Bytes {
        self.body.clone()
    }

    fn header_text(&self, name: &str) -> Result<Option<String>, ClientError> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(value) => std::str::from_utf8(value.as_bytes())
                .map(|text| Some(text.trim().to_owned()))
                .map_err(|_| self.invalid(format!("header `{name}` is not UTF-8 text"))),
        }
    }

    /// A header that may be absent.
    pub fn header_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, ClientError> {
        self.header_text(name)?
            .map(|text| {
                T::parse_param(&text)
                    .map_err(|error| self.invalid(format!("header `{name}`: {}", error.message)))
            })
            .transpose()
    }

    /// A header that must be there.
    pub fn header_required<T: ParamValue>(&self, name: &str) -> Result<T, ClientError> {
        self.header_optional(name)?
            .ok_or_else(|| self.invalid(format!("header `{name}` is missing")))
    }

    /// A comma-separated list header (empty when absent).
    pub fn header_list<T: ParamValue>(&self, name: &str) -> Result<Vec<T>, ClientError> {
        Ok(self.header_optional::<Vec<T>>(name)?.unwrap_or_default())
    }

    /// The error of a status the operation does not declare, with the start of the body.
    pub fn undeclared(self) -> ClientError {
        let end = self.body.len().min(STATUS_BODY_LIMIT);
        ClientError::Status {
            status: self.status,
            body: String::from_utf8_lossy(&self.body[..end]).into_owned(),
        }
    }
}

/// An operation's response enum, decoded from a response: implemented by generated code.
pub trait FromResponse: Sized {
    /// The media types of the bodies it decodes, as an `Accept` header value (`None`: it reads
    /// no body, and the request says nothing). A server that can answer in several media types
    /// then picks one the client reads.
    const ACCEPT: Option<&'static str> = None;

    /// The response of a declared status, or [`Received::undeclared`].
    fn from_response(response: Received) -> Result<Self, ClientError>;
}

/// A client of one server: its base URL, an HTTP client, the settings and the credential,
/// shared by every call (cheap to clone).
#[derive(Clone, Debug)]
pub struct ApiClient {
    base_url: String,
    http: HttpClient,
    config: ClientConfig,
    credential: Option<Credential>,
}

impl ApiClient {
    /// A client of the server at `base_url` (for example `http://127.0.0.1:3000`).
    pub fn new(base_url: impl Into<String>, config: ClientConfig) -> Self {
        ApiClient {
            base_url: base_url.into(),
            http: http_client(&config),
            config,
            credential: None,
        }
    }

    /// The same client presenting `credential` to every secured operation, where the
    /// operation's security scheme of its kind wants it.
    pub fn with_credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn url_and_headers<R: ToRequest>(
        &self,
        request: &R,
        schemes: &[Scheme<'_>],
    ) -> Result<(String, HeaderMap), ClientError> {
        let mut url = UrlBuilder::new(&self.base_url);
        request.write_url(&mut url);
        let mut headers = HeaderMap::new();
        request.write_headers(&mut headers)?;
        if let Some(credential) = &self.credential {
            crate::auth::present(credential, schemes, &mut url, &mut headers)?;
        }
        Ok((url.finish(), headers))
    }

    /// Call a plain operation: send `request` with `method` (and the credential, placed as
    /// `schemes` want it) and decode the response as `T`.
    pub async fn call<R, T>(
        &self,
        method: Method,
        request: &R,
        schemes: &[Scheme<'_>],
    ) -> Result<T, ClientError>
    where
        R: ToRequest + WriteBody,
        T: FromResponse,
    {
        let (url, mut headers) = self.url_and_headers(request, schemes)?;
        if let Some(accept) = T::ACCEPT
            && !headers.contains_key(http::header::ACCEPT)
        {
            let value = http::HeaderValue::from_str(accept).map_err(|_| {
                ClientError::Request(format!("`{accept}` is not an Accept header value"))
            })?;
            headers.insert(http::header::ACCEPT, value);
        }
        let mut built = self.http.request(method, url).headers(headers);
        match request.write_body()? {
            None => {}
            Some(Body::Bytes { content_type, data }) => {
                built = built
                    .header(http::header::CONTENT_TYPE, content_type)
                    .body(data);
            }
            Some(Body::Multipart(form)) => built = built.multipart(multipart(form)?),
        }
        let exchange = async {
            let response = built.send().await.map_err(|error| {
                if error.is_builder() || is_unsupported_scheme(&error) {
                    ClientError::Request(error_chain(&error))
                } else {
                    ClientError::Transport(error_chain(&error))
                }
            })?;
            read(response, self.config.max_response_size).await
        };
        let received = match self.config.request_timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .map_err(|_| ClientError::Timeout)??,
            None => exchange.await?,
        };
        T::from_response(received)
    }

    /// The HTTP request opening the stream of `request`, with the client's credential placed
    /// as `schemes` want it.
    pub fn stream_request<R: ToRequest>(
        &self,
        method: Method,
        request: &R,
        sentinel: Option<&'static str>,
        schemes: &[Scheme<'_>],
    ) -> Result<StreamRequest, ClientError> {
        let (url, headers) = self.url_and_headers(request, schemes)?;
        let body = request.json_body().map_err(|error| {
            ClientError::Request(format!("the request body does not serialize: {error}"))
        })?;
        let mut built = StreamRequest::new(method, url);
        built.headers = headers;
        built.body = body.map(Bytes::from);
        built.last_event_id = request.last_event_id().map(str::to_owned);
        built.sentinel = sentinel.map(str::to_owned);
        Ok(built)
    }

    /// Subscribe to the stream of `request` (with the credential, as `schemes` want it): it
    /// reconnects and resumes by itself.
    pub fn subscribe<R: ToRequest, E: EventSet + Send + 'static>(
        &self,
        method: Method,
        request: &R,
        sentinel: Option<&'static str>,
        schemes: &[Scheme<'_>],
    ) -> EventStream<E> {
        match self.stream_request(method, request, sentinel, schemes) {
            Ok(built) => subscribe(self.http.clone(), built, self.config.clone()),
            Err(error) => EventStream::failed(error),
        }
    }

    /// Ask for the JSON form of a stream's endpoint, once.
    pub async fn fetch_json<R: ToRequest, T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        request: &R,
        schemes: &[Scheme<'_>],
    ) -> Result<T, ClientError> {
        let built = self.stream_request(method, request, None, schemes)?;
        fetch_json(&self.http, built, &self.config).await
    }
}

/// A form as reqwest's multipart body.
fn multipart(form: FormWriter) -> Result<reqwest::multipart::Form, ClientError> {
    let mut out = reqwest::multipart::Form::new();
    for part in form.parts() {
        let name = part.name.clone();
        out = match &part.value {
            PartValue::Text(text) => out.text(name, text.clone()),
            PartValue::Json(text) => {
                let piece = reqwest::multipart::Part::text(text.clone())
                    .mime_str("application/json")
                    .map_err(|error| ClientError::Request(error_chain(&error)))?;
                out.part(name, piece)
            }
            PartValue::File(file) => {
                let mut piece =
                    reqwest::multipart::Part::stream(reqwest::Body::from(file.data.clone()));
                if let Some(file_name) = &file.file_name {
                    piece = piece.file_name(file_name.clone());
                }
                if let Some(content_type) = &file.content_type {
                    piece = piece.mime_str(content_type).map_err(|_| {
                        ClientError::Request(format!(
                            "field `{name}`: `{content_type}` is not a media type"
                        ))
                    })?;
                }
                out.part(name, piece)
            }
        };
    }
    Ok(out)
}

/// The whole response, its body at most `limit` bytes.
async fn read(mut response: reqwest::Response, limit: usize) -> Result<Received, ClientError> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| ClientError::Transport(error_chain(&error)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::Transport(format!(
                "the response body is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Received {
        status,
        headers,
        body: body.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::body::FormReader;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A form with a text field and a JSON field.
    struct Upload;

    impl FormBody for Upload {
        fn write_form(&self, form: &mut FormWriter) -> Result<(), ParamError> {
            form.text("title", &"cat".to_owned());
            form.json("meta", &serde_json::json!({"k": [1, 2]}))
        }

        fn read_form(_: &FormReader) -> Result<Self, ParamError> {
            Ok(Upload)
        }
    }

    impl ToRequest for Upload {
        fn write_url(&self, url: &mut UrlBuilder) {
            url.literal("/upload");
        }

        fn write_headers(&self, _: &mut HeaderMap) -> Result<(), ParamError> {
            Ok(())
        }
    }

    impl WriteBody for Upload {
        fn write_body(&self) -> Result<Option<Body>, ParamError> {
            Body::multipart(self).map(Some)
        }
    }

    /// Any answer, as its status.
    struct Status(u16);

    impl FromResponse for Status {
        fn from_response(response: Received) -> Result<Self, ClientError> {
            Ok(Status(response.status()))
        }
    }

    #[tokio::test]
    async fn json_fields_of_a_multipart_form_are_application_json_parts() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // The whole request is in once its closing boundary is.
            loop {
                let text = String::from_utf8_lossy(&request).into_owned();
                let boundary = text
                    .split_once("boundary=")
                    .and_then(|(_, rest)| rest.split("\r\n").next())
                    .filter(|_| text.contains("\r\n\r\n"));
                if boundary.is_some_and(|b| text.contains(&format!("--{b}--"))) {
                    break;
                }
                let n = socket.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the client closed before its body ended");
                request.extend_from_slice(&chunk[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let client = ApiClient::new(base, ClientConfig::default());
        let answer: Status = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            client.call(Method::POST, &Upload, &[]),
        )
        .await
        .expect("the call ends")
        .expect("the call succeeds");
        assert_eq!(answer.0, 204);
        let request = server.await.unwrap().to_ascii_lowercase();
        let meta = request
            .split("\r\n--")
            .find(|part| part.contains("name=\"meta\""))
            .expect("a meta part");
        assert!(
            meta.contains("content-type: application/json\r\n"),
            "{meta}"
        );
        assert!(meta.ends_with("{\"k\":[1,2]}"), "{meta}");
        let title = request
            .split("\r\n--")
            .find(|part| part.contains("name=\"title\""))
            .expect("a title part");
        assert!(!title.contains("content-type"), "{title}");
    }
}
