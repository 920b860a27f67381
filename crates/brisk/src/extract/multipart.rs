//! File uploads: `multipart/form-data`, streamed part by part, with limits.

use std::marker::PhantomData;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;
use http_body_util::BodyDataStream;

use super::body::too_large;
use super::{FromRequest, Request, RequestContext};
use crate::error::Error;

/// Bounds on a multipart body, beside the route's body limit. Defaults follow Starlette:
/// 1000 fields, 1000 files, 1 MiB per part. Override for the whole app with
/// `App::with_state(MultipartLimits { .. })`.
///
/// Needs feature `multipart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Most non-file fields.
    pub max_fields: usize,
    /// Most file parts.
    pub max_files: usize,
    /// Most bytes in one part.
    pub max_part_size: usize,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits { max_fields: 1000, max_files: 1000, max_part_size: 1024 * 1024 }
    }
}

/// A `multipart/form-data` body, read one part at a time.
///
/// Needs feature `multipart`.
///
/// ```
/// use brisk::extract::Multipart;
///
/// async fn upload(mut form: Multipart) -> brisk::Result<String> {
///     let mut sizes = Vec::new();
///     while let Some(field) = form.next_field().await? {
///         let name = field.name().unwrap_or("").to_owned();
///         let bytes = field.bytes().await?;
///         sizes.push(format!("{name}={}", bytes.len()));
///     }
///     Ok(sizes.join(","))
/// }
/// ```
///
/// Another content type is a 415 naming the one this route accepts
/// (`{"detail": "Unsupported Media Type: this route accepts multipart/form-data"}`); a missing
/// boundary or a malformed body a 400; a part over [`MultipartLimits::max_part_size`] or a body
/// over the route's limit a 413; more fields or files than the limits allow a 400.
pub struct Multipart {
    inner: multer::Multipart<'static>,
    limits: MultipartLimits,
    fields: usize,
    files: usize,
}

/// One part of a [`Multipart`] body.
///
/// Needs feature `multipart`.
pub struct Field<'a> {
    inner: multer::Field<'static>,
    _borrow: PhantomData<&'a mut Multipart>,
}

fn multipart_error(e: multer::Error) -> Error {
    match e {
        multer::Error::FieldSizeExceeded { .. } => {
            Error::http(StatusCode::PAYLOAD_TOO_LARGE, "Multipart part too large")
        }
        multer::Error::StreamSizeExceeded { .. } => too_large(),
        other => Error::http(StatusCode::BAD_REQUEST, format!("Invalid multipart body: {other}")),
    }
}

impl Multipart {
    /// The next part, or `None` after the last.
    pub async fn next_field(&mut self) -> Result<Option<Field<'_>>, Error> {
        let Some(field) = self.inner.next_field().await.map_err(multipart_error)? else {
            return Ok(None);
        };
        if field.file_name().is_some() {
            self.files += 1;
            if self.files > self.limits.max_files {
                let msg = format!("Too many files. Maximum number of files is {}.", self.limits.max_files);
                return Err(Error::http(StatusCode::BAD_REQUEST, msg));
            }
        } else {
            self.fields += 1;
            if self.fields > self.limits.max_fields {
                let msg = format!("Too many fields. Maximum number of fields is {}.", self.limits.max_fields);
                return Err(Error::http(StatusCode::BAD_REQUEST, msg));
            }
        }
        Ok(Some(Field { inner: field, _borrow: PhantomData }))
    }
}

impl Field<'_> {
    /// The form field name.
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// The uploaded file's name, for file parts.
    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name()
    }

    /// The part's content type, if it said one.
    pub fn content_type(&self) -> Option<&str> {
        self.inner.content_type().map(|m| m.essence_str())
    }

    /// The next chunk of the part, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.inner.chunk().await.map_err(multipart_error)
    }

    /// The whole part.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        self.inner.bytes().await.map_err(multipart_error)
    }

    /// The whole part as UTF-8 text (400 if it is not).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.into())
            .map_err(|_| Error::http(StatusCode::BAD_REQUEST, "Multipart field is not valid UTF-8"))
    }
}

impl FromRequest for Multipart {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        let (parts, body) = req.into_parts();
        let content_type = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let is_multipart = content_type
            .parse::<mime::Mime>()
            .is_ok_and(|m| m.essence_str() == mime::MULTIPART_FORM_DATA.essence_str());
        if !is_multipart {
            return Err(Error::unsupported_media_type(&[mime::MULTIPART_FORM_DATA.essence_str()]));
        }
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| Error::http(StatusCode::BAD_REQUEST, "Missing boundary in multipart."))?;
        let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > cx.body_limit as u64) {
            return Err(too_large());
        }
        let limits = cx.state::<MultipartLimits>().copied().unwrap_or_default();
        let constraints = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(cx.body_limit as u64)
                .per_field(limits.max_part_size as u64),
        );
        let stream = BodyDataStream::new(body);
        let inner = multer::Multipart::with_constraints(stream, boundary, constraints);
        Ok(Multipart { inner, limits, fields: 0, files: 0 })
    }
}
