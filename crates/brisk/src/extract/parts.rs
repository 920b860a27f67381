//! Pieces of the request head as extractors.

use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};

use super::{FromRequestParts, RequestContext};
use crate::error::Error;

macro_rules! from_parts {
    ($($ty:ty => |$parts:ident| $expr:expr;)*) => {$(
        impl FromRequestParts for $ty {
            async fn from_request_parts($parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
                Ok($expr)
            }
        }
    )*};
}

from_parts! {
    Method => |parts| parts.method.clone();
    Uri => |parts| parts.uri.clone();
    Version => |parts| parts.version;
    HeaderMap => |parts| parts.headers.clone();
    Parts => |parts| parts.clone();
}

impl FromRequestParts for RequestContext {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        Ok(cx.clone())
    }
}
