use http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::body::read_all;
#[cfg(feature = "multipart")]
use super::form_errors::read_multipart;
use super::form_errors::{essence, FormValues, ACCEPTED};
use super::json::missing_body;
use super::percent::{decode_form, FormSource};
use super::{split_then, FromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::Error;
use crate::validation::{from_strings, StringSource, Validate};

/// An HTML form body (`application/x-www-form-urlencoded`, or `multipart/form-data` as
/// `curl -F`, a browser's `FormData` and Python's `requests` with `files=` send it), typed and
/// validated.
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Login {
///     #[validate(min_length = 1)]
///     username: String,
///     password: String,
/// }
///
/// async fn login(Form(form): Form<Login>) -> String {
///     format!("hello {}", form.username)
/// }
/// ```
///
/// As in FastAPI, a field sent empty (`grant_type=`) counts as absent: an `Option` field is
/// `None` (or its default), a required one is a 422 `missing`.
///
/// Another content type is a 415 naming the ones this route accepts
/// (`{"detail": "Unsupported Media Type: this route accepts application/x-www-form-urlencoded or multipart/form-data"}`);
/// failures are 422s at `["body", "<field>"]`. A percent-escape that decodes to bytes that are
/// not UTF-8 is a 400 naming the field (never replaced with `�`). In a multipart body only the
/// text fields are read (a part with a file name is skipped): for file uploads use
/// [`Multipart`](crate::extract::Multipart). Multipart needs feature `multipart` (on by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

/// The media type [`Form`] reads.
pub(crate) const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

impl<T> FromRequest for Form<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        split_then(req, cx).await
    }

    async fn from_parts_and_body(
        parts: &mut Parts,
        mut body: Body,
        cx: &RequestContext,
    ) -> Result<Self, Error> {
        // The same reading as `FormResult` (an empty field counts as absent there too).
        let essence = essence(parts);
        #[cfg(feature = "multipart")]
        if essence.as_deref() == Some(mime::MULTIPART_FORM_DATA.essence_str()) {
            let (values, _files) = read_multipart(parts, body, cx).await?;
            return from_strings(&values.pairs(), StringSource::Form).map(Form);
        }
        let bytes = read_all(&mut body, &parts.headers, cx.body_limit).await?;
        if essence.as_deref() != Some(mime::APPLICATION_WWW_FORM_URLENCODED.essence_str()) {
            return Err(if bytes.is_empty() {
                missing_body()
            } else {
                Error::unsupported_media_type(ACCEPTED)
            });
        }
        let values: FormValues = decode_form(&bytes, FormSource::Body)?.into_iter().collect();
        from_strings(&values.pairs(), StringSource::Form).map(Form)
    }
}
