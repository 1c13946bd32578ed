//! Request bodies made of named fields: `application/x-www-form-urlencoded` and
//! `multipart/form-data`. Generated form structs implement [`FormBody`], writing their fields
//! into a [`FormWriter`] (the client) and reading them from a [`FormReader`] (the server); a
//! field is text (a parameter value), JSON (an object or array, as JSON text) or a [`File`].

use bytes::Bytes;

use crate::params::{self, ParamError, ParamValue};

/// The most parts a multipart body may have.
pub const MAX_PARTS: usize = 1000;

/// A file in a multipart body: its bytes, and the name and media type its part declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    /// The file name the part declares (`filename=` of its `Content-Disposition`).
    pub file_name: Option<String>,
    /// The media type the part declares.
    pub content_type: Option<String>,
    /// The contents.
    pub data: Bytes,
}

impl File {
    /// A file with these contents, no name and no media type.
    pub fn new(data: impl Into<Bytes>) -> Self {
        File {
            file_name: None,
            content_type: None,
            data: data.into(),
        }
    }

    /// The same file with a name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// The same file with a media type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// What one part (or one urlencoded pair) carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartValue {
    /// Text: a parameter value (or, as received, any part that is not a file).
    Text(String),
    /// JSON text of an object or array value: a multipart part of type `application/json`,
    /// OpenAPI's default encoding for such a property.
    Json(String),
    /// A file.
    File(File),
}

/// One named field of a form body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The field name.
    pub name: String,
    /// Its value.
    pub value: PartValue,
}

/// A form struct: written into a form by clients, read back by servers. Implemented by
/// generated code.
pub trait FormBody: Sized {
    /// Write every present field.
    fn write_form(&self, form: &mut FormWriter) -> Result<(), ParamError>;
    /// Read every field; a missing required field or a value that does not parse is an error
    /// naming the field.
    fn read_form(form: &FormReader) -> Result<Self, ParamError>;
}

/// The fields of a form, in the order written.
#[derive(Clone, Debug, Default)]
pub struct FormWriter {
    parts: Vec<Part>,
}

impl FormWriter {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, name: &str, value: PartValue) {
        self.parts.push(Part {
            name: name.to_owned(),
            value,
        });
    }

    /// A text field.
    pub fn text<T: ParamValue>(&mut self, name: &str, value: &T) {
        self.push(name, PartValue::Text(params::to_text(value)));
    }

    /// A text field that may be absent.
    pub fn text_optional<T: ParamValue>(&mut self, name: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.text(name, value);
        }
    }

    /// A list: one field per item, under the same name.
    pub fn text_list<T: ParamValue>(&mut self, name: &str, values: &[T]) {
        for value in values {
            self.text(name, value);
        }
    }

    /// A field holding JSON text (an object or array value).
    pub fn json<T: serde::Serialize>(&mut self, name: &str, value: &T) -> Result<(), ParamError> {
        let text = serde_json::to_string(value).map_err(|error| ParamError {
            name: Some(name.to_owned()),
            message: format!("does not serialize: {error}"),
        })?;
        self.push(name, PartValue::Json(text));
        Ok(())
    }

    /// A JSON field that may be absent.
    pub fn json_optional<T: serde::Serialize>(
        &mut self,
        name: &str,
        value: &Option<T>,
    ) -> Result<(), ParamError> {
        match value {
            Some(value) => self.json(name, value),
            None => Ok(()),
        }
    }

    /// A file field.
    pub fn file(&mut self, name: &str, file: &File) {
        self.push(name, PartValue::File(file.clone()));
    }

    /// A file field that may be absent.
    pub fn file_optional(&mut self, name: &str, file: &Option<File>) {
        if let Some(file) = file {
            self.file(name, file);
        }
    }

    /// Several files under one name.
    pub fn file_list(&mut self, name: &str, files: &[File]) {
        for file in files {
            self.file(name, file);
        }
    }

    /// The fields written.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The fields as an `application/x-www-form-urlencoded` body; a file is an error (only
    /// multipart bodies carry files).
    pub fn urlencoded(&self) -> Result<String, ParamError> {
        let mut out = String::new();
        for part in &self.parts {
            let (PartValue::Text(text) | PartValue::Json(text)) = &part.value else {
                return Err(ParamError {
                    name: Some(part.name.clone()),
                    message: "is a file, which a urlencoded form cannot carry".to_owned(),
                });
            };
            if !out.is_empty() {
                out.push('&');
            }
            params::percent_encode(&part.name, &mut out);
            out.push('=');
            params::percent_encode(text, &mut out);
        }
        Ok(out)
    }
}

/// The fields of a received form, by name.
#[derive(Clone, Debug, Default)]
pub struct FormReader {
    parts: Vec<Part>,
}

impl FormReader {
    /// A form of these fields.
    pub fn new(parts: Vec<Part>) -> Self {
        FormReader { parts }
    }

    /// The fields of an `application/x-www-form-urlencoded` body (`+` is a space).
    pub fn from_urlencoded(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let parts = text
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Part {
                    name: params::percent_decode(name, true),
                    value: PartValue::Text(params::percent_decode(value, true)),
                }
            })
            .collect();
        FormReader { parts }
    }

    /// The fields of a `multipart/form-data` body with this boundary, read with `multer`
    /// (the body is already in memory, so nothing waits). At most [`MAX_PARTS`] parts.
    #[cfg(feature = "sse-server")]
    pub fn from_multipart(body: Bytes, boundary: &str) -> Result<Self, String> {
        use futures_util::FutureExt as _;

        let stream =
            futures_util::stream::once(std::future::ready(Ok::<_, std::convert::Infallible>(body)));
        let mut multipart = multer::Multipart::new(stream, boundary.to_owned());
        let mut parts = Vec::new();
        loop {
            let field = match multipart.next_field().now_or_never() {
                Some(Ok(Some(field))) => field,
                Some(Ok(None)) => break,
                Some(Err(error)) => return Err(error.to_string()),
                None => return Err("the multipart body is incomplete".to_owned()),
            };
            if parts.len() == MAX_PARTS {
                return Err(format!(
                    "the multipart body has more than {MAX_PARTS} parts"
                ));
            }
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let data = match field.bytes().now_or_never() {
                Some(Ok(data)) => data,
                Some(Err(error)) => return Err(error.to_string()),
                None => return Err("the multipart body is incomplete".to_owned()),
            };
            let value = match (&file_name, String::from_utf8(data.to_vec())) {
                (None, Ok(text)) => PartValue::Text(text),
                _ => PartValue::File(File {
                    file_name,
                    content_type,
                    data,
                }),
            };
            parts.push(Part { name, value });
        }
        Ok(FormReader { parts })
    }

    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s PartValue> + 's {
        self.parts
            .iter()
            .filter(move |part| part.name == name)
            .map(|part| &part.value)
    }

    fn text_of(name: &str, value: &PartValue) -> Result<String, ParamError> {
        match value {
            PartValue::Text(text) | PartValue::Json(text) => Ok(text.clone()),
            PartValue::File(file) => {
                String::from_utf8(file.data.to_vec()).map_err(|_| ParamError {
                    name: Some(name.to_owned()),
                    message: "is not UTF-8 text".to_owned(),
                })
            }
        }
    }

    fn parse<T: ParamValue>(name: &str, value: &PartValue) -> Result<T, ParamError> {
        let text = Self::text_of(name, value)?;
        T::parse_param(&text).map_err(|error| ParamError {
            name: Some(name.to_owned()),
            message: error.message,
        })
    }

    fn missing(name: &str) -> ParamError {
        ParamError {
            name: Some(name.to_owned()),
            message: "is required".to_owned(),
        }
    }

    /// A text field that must be present.
    pub fn text_required<T: ParamValue>(&self, name: &str) -> Result<T, ParamError> {
        self.text_optional(name)?.ok_or_else(|| Self::missing(name))
    }

    /// A text field that may be absent.
    pub fn text_optional<T: ParamValue>(&self, name: &str) -> Result<Option<T>, ParamError> {
        self.values(name)
            .next()
            .map(|value| Self::parse(name, value))
            .transpose()
    }

    /// Every field of this name, each one item (empty when absent, unless `required`).
    pub fn text_list<T: ParamValue>(
        &self,
        name: &str,
        required: bool,
    ) -> Result<Vec<T>, ParamError> {
        let values = self
            .values(name)
            .map(|value| Self::parse(name, value))
            .collect::<Result<Vec<T>, _>>()?;
        if required && values.is_empty() {
            return Err(Self::missing(name));
        }
        Ok(values)
    }

    /// A JSON field that must be present.
    pub fn json_required<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<T, ParamError> {
        self.json_optional(name)?.ok_or_else(|| Self::missing(name))
    }

    /// A JSON field that may be absent.
    pub fn json_optional<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, ParamError> {
        let Some(value) = self.values(name).next() else {
            return Ok(None);
        };
        let text = Self::text_of(name, value)?;
        crate::json::from_str(&text)
            .map(Some)
            .map_err(|error| ParamError {
                name: Some(name.to_owned()),
                message: format!("is not valid JSON for its schema: {error}"),
            })
    }

    /// Every JSON field of this name, each one item.
    pub fn json_list<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Vec<T>, ParamError> {
        self.values(name)
            .map(|value| {
                let text = Self::text_of(name, value)?;
                crate::json::from_str(&text).map_err(|error| ParamError {
                    name: Some(name.to_owned()),
                    message: format!("is not valid JSON for its schema: {error}"),
                })
            })
            .collect()
    }

    /// A file field that must be present (a text part is a file of its text).
    pub fn file_required(&self, name: &str) -> Result<File, ParamError> {
        self.file_optional(name)?.ok_or_else(|| Self::missing(name))
    }

    /// A file field that may be absent.
    pub fn file_optional(&self, name: &str) -> Result<Option<File>, ParamError> {
        Ok(self.values(name).next().map(Self::file_of))
    }

    /// Every file of this name (empty when absent, unless `required`).
    pub fn file_list(&self, name: &str, required: bool) -> Result<Vec<File>, ParamError> {
        let files: Vec<File> = self.values(name).map(Self::file_of).collect();
        if required && files.is_empty() {
            return Err(Self::missing(name));
        }
        Ok(files)
    }

    fn file_of(value: &PartValue) -> File {
        match value {
            PartValue::File(file) => file.clone(),
            PartValue::Text(text) => File::new(Bytes::from(text.clone().into_bytes())),
            PartValue::Json(text) => File::new(Bytes::from(text.clone().into_bytes()))
                .with_content_type("application/json"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Upload {
        title: String,
        tags: Vec<String>,
        size: Option<i64>,
        meta: Option<serde_json::Value>,
    }

    impl FormBody for Upload {
        fn write_form(&self, form: &mut FormWriter) -> Result<(), ParamError> {
            form.text("title", &self.title);
            form.text_list("tags", &self.tags);
            form.text_optional("size", &self.size);
            form.json_optional("meta", &self.meta)
        }

        fn read_form(form: &FormReader) -> Result<Self, ParamError> {
            Ok(Upload {
                title: form.text_required("title")?,
                tags: form.text_list("tags", false)?,
                size: form.text_optional("size")?,
                meta: form.json_optional("meta")?,
            })
        }
    }

    #[test]
    fn urlencoded_forms_round_trip_hostile_text() {
        let upload = Upload {
            title: "a&b=c d+e%f/é".to_owned(),
            tags: vec!["x".to_owned(), String::new(), "y z".to_owned()],
            size: Some(-3),
            meta: Some(serde_json::json!({"k": [1, "&="]})),
        };
        let mut form = FormWriter::new();
        upload.write_form(&mut form).unwrap();
        let body = form.urlencoded().unwrap();
        assert!(!body.contains(' '), "{body}");
        let read = Upload::read_form(&FormReader::from_urlencoded(body.as_bytes())).unwrap();
        assert_eq!(read, upload);
    }

    #[test]
    fn form_errors_name_the_field() {
        let form = FormReader::from_urlencoded(b"size=big");
        let error = Upload::read_form(&form).unwrap_err();
        assert_eq!(error.to_string(), "parameter `title`: is required");
        let form = FormReader::from_urlencoded(b"title=t&size=big");
        let error = Upload::read_form(&form).unwrap_err();
        assert_eq!(error.name.as_deref(), Some("size"));
        let form = FormReader::from_urlencoded(b"title=t&meta=%7Bnope");
        let error = Upload::read_form(&form).unwrap_err();
        assert_eq!(error.name.as_deref(), Some("meta"));
        let mut writer = FormWriter::new();
        writer.file("f", &File::new(&b"\xff"[..]));
        assert_eq!(writer.urlencoded().unwrap_err().name.as_deref(), Some("f"));
    }

    #[cfg(feature = "sse-server")]
    #[test]
    fn multipart_bodies_give_text_and_files() {
        let body = "--XyZ\r\n\
            Content-Disposition: form-data; name=\"title\"\r\n\r\n\
            Hello\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\
            Content-Type: image/png\r\n\r\n\
            \u{1}\u{2}\u{3}\r\n\
            --XyZ--\r\n";
        let form = FormReader::from_multipart(Bytes::from(body), "XyZ").unwrap();
        assert_eq!(form.text_required::<String>("title").unwrap(), "Hello");
        let photo = form.file_required("photo").unwrap();
        assert_eq!(photo.file_name.as_deref(), Some("a.png"));
        assert_eq!(photo.content_type.as_deref(), Some("image/png"));
        assert_eq!(&photo.data[..], &[1, 2, 3]);
        assert!(FormReader::from_multipart(Bytes::from("--XyZ\r\nbroken"), "XyZ").is_err());
    }
}
