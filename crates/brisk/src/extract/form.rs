use http::header::CONTENT_TYPE;
use http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::body::read_all;
use super::json::missing_body;
use super::query::from_pairs;
use super::{split_then, FromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::Error;
use crate::validation::{StringSource, Validate};

/// An HTML form body (`application/x-www-form-urlencoded`), typed and validated.
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
/// Another content type is a 415 naming the one this route accepts
/// (`{"detail": "Unsupported Media Type: this route accepts application/x-www-form-urlencoded"}`);
/// failures are 422s at `["body", "<field>"]`. A percent-escape that decodes to bytes that are
/// not UTF-8 is a 400 naming the field (never replaced with `�`).
/// For file uploads use [`Multipart`](crate::extract::Multipart).
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
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.essence_str() == mime::APPLICATION_WWW_FORM_URLENCODED.essence_str());
        let bytes = read_all(&mut body, &parts.headers, cx.body_limit).await?;
        if !is_form {
            return Err(if bytes.is_empty() {
                missing_body()
            } else {
                Error::unsupported_media_type(&[FORM_URLENCODED])
            });
        }
        from_pairs(&bytes, StringSource::Form).map(Form)
    }
}
