//! API keys in a header, the query string or a cookie.

use std::marker::PhantomData;

use http::request::Parts;
use serde_json::json;

use super::{docs, unauthorized};
use crate::error::Error;
use crate::extract::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// An API key scheme: the parameter's name and the scheme's name in the document.
///
/// ```
/// use brisk::security::{ApiKey, ApiKeyHeader};
///
/// struct ServiceKey;
/// impl ApiKey for ServiceKey {
///     const NAME: &'static str = "x-api-key";
/// }
///
/// async fn ingest(key: ApiKeyHeader<ServiceKey>) -> String {
///     format!("{} bytes of key", key.key.len())
/// }
/// ```
pub trait ApiKey: Send + Sync + 'static {
    /// The header, query parameter or cookie that carries the key.
    const NAME: &'static str;
    /// The scheme's name in the document (default: `NAME`).
    const SCHEME_NAME: &'static str = Self::NAME;
}

macro_rules! api_key {
    ($(#[$doc:meta])* $ty:ident, $location:literal, |$parts:ident, $name:ident| $find:expr) => {
        $(#[$doc])*
        /// Absent: 401 `Not authenticated` with `WWW-Authenticate: APIKey`. Compare the key with
        /// [`constant_time_eq`](super::constant_time_eq).
        pub struct $ty<K> {
            /// The key, not yet verified.
            pub key: String,
            _scheme: PhantomData<fn() -> K>,
        }

        impl<K: ApiKey> $ty<K> {
            fn find($parts: &Parts) -> Option<String> {
                let $name = K::NAME;
                $find
            }
        }

        impl<K: ApiKey> FromRequestParts for $ty<K> {
            async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
                match Self::find(parts) {
                    Some(key) => Ok($ty { key, _scheme: PhantomData }),
                    None => Err(unauthorized("Not authenticated", "APIKey")),
                }
            }
        }

        impl<K: ApiKey> OptionalFromRequestParts for $ty<K> {
            async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
                Ok(Self::find(parts).map(|key| $ty { key, _scheme: PhantomData }))
            }
        }

        impl<K: ApiKey> DescribeInput for $ty<K> {
            fn describe_input(cx: &mut DocContext, op: &mut Operation) {
                let scheme = json!({"type": "apiKey", "in": $location, "name": K::NAME});
                docs::require(cx, op, K::SCHEME_NAME, scheme, &[]);
            }
        }
    };
}

api_key!(
    /// An API key in a request header.
    ApiKeyHeader, "header", |parts, name| {
        parts.headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).map(str::to_owned)
    }
);

api_key!(
    /// An API key in the query string.
    ApiKeyQuery, "query", |parts, name| {
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    }
);

api_key!(
    /// An API key in a cookie.
    ApiKeyCookie, "cookie", |parts, name| {
        crate::extract::parse_cookies(&parts.headers)
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    }
);
