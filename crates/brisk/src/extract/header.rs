use http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::error::{Error, Loc, ValidationError};
use crate::validation::{from_strings, StringSource, Validate};

/// Request headers read into a struct, FastAPI-style: a field `user_agent` reads the header
/// `user-agent` (case-insensitive); a `Vec` field collects a repeated header.
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Client {
///     user_agent: Option<String>,
///     #[validate(ge = 1)]
///     x_request_budget: Option<u32>,
/// }
///
/// async fn who(Header(client): Header<Client>) -> String {
///     client.user_agent.unwrap_or_default()
/// }
/// ```
///
/// Failures are 422s at `["header", "<header-name>"]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Header<T>(pub T);

impl<T> FromRequestParts for Header<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        let pairs: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        from_strings(&pairs, StringSource::Header).map(Header)
    }
}

/// One header decoded by its type from the [`headers`](::headers) crate
/// (`TypedHeader<headers::UserAgent>`, `TypedHeader<headers::Authorization<Bearer>>` ...).
///
/// Absent: a 422 `missing` at `["header", "<name>"]` (use `Option<TypedHeader<T>>` when it
/// may be absent); malformed: a 422 `value_error` at the same place.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypedHeader<T>(pub T);

fn decode<T: headers::Header>(parts: &Parts) -> Result<Option<T>, Error> {
    let mut values = parts.headers.get_all(T::name()).iter().peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    T::decode(&mut values).map(Some).map_err(|_| {
        let input =
            parts.headers.get(T::name()).and_then(|v| v.to_str().ok()).map_or(Value::Null, Value::from);
        Error::validation(vec![ValidationError::new(
            "value_error",
            Loc::root("header").key(T::name().as_str().to_owned()),
            format!("Value error, invalid {} header", T::name()),
            input,
        )])
    })
}

impl<T: headers::Header + Send> FromRequestParts for TypedHeader<T> {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        match decode::<T>(parts)? {
            Some(value) => Ok(TypedHeader(value)),
            None => Err(Error::validation(vec![ValidationError::new(
                "missing",
                Loc::root("header").key(T::name().as_str().to_owned()),
                "Field required",
                Value::Null,
            )])),
        }
    }
}

impl<T: headers::Header + Send> OptionalFromRequestParts for TypedHeader<T> {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
        Ok(decode::<T>(parts)?.map(TypedHeader))
    }
}
