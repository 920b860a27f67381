//! HTTP authentication schemes: Bearer and Basic.

use headers::authorization::{Authorization, Basic};
use headers::HeaderMapExt;
use http::header::AUTHORIZATION;
use http::request::Parts;
use serde_json::json;

use super::oauth2::bearer_token;
use super::{docs, unauthorized};
use crate::error::Error;
use crate::extract::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// `Authorization: Bearer <token>` (OpenAPI `http`/`bearer`, named `HTTPBearer`).
/// Absent or malformed: 401 `Not authenticated`, `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone)]
pub struct HttpBearer {
    /// The token, not yet verified.
    pub token: String,
}

/// `Authorization: Basic <base64(user:password)>` (OpenAPI `http`/`basic`, named `HTTPBasic`).
/// Absent: 401 `Not authenticated`; malformed: 401 `Invalid authentication credentials`; both
/// with `WWW-Authenticate: Basic`.
#[derive(Clone)]
pub struct HttpBasic {
    /// The user name.
    pub username: String,
    /// The password, not yet verified (compare hashes, in constant time).
    pub password: String,
}

impl std::fmt::Debug for HttpBasic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBasic").field("username", &self.username).finish_non_exhaustive()
    }
}

fn bearer(parts: &Parts) -> Result<Option<HttpBearer>, Error> {
    match bearer_token(parts) {
        None => Ok(None),
        Some(Ok(token)) => Ok(Some(HttpBearer { token })),
        Some(Err(())) => Err(unauthorized("Not authenticated", "Bearer")),
    }
}

fn basic(parts: &Parts) -> Result<Option<HttpBasic>, Error> {
    if !parts.headers.contains_key(AUTHORIZATION) {
        return Ok(None);
    }
    match parts.headers.typed_get::<Authorization<Basic>>() {
        Some(auth) => {
            Ok(Some(HttpBasic { username: auth.username().to_owned(), password: auth.password().to_owned() }))
        }
        None => Err(unauthorized("Invalid authentication credentials", "Basic")),
    }
}

impl FromRequestParts for HttpBearer {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        bearer(parts)?.ok_or_else(|| unauthorized("Not authenticated", "Bearer"))
    }
}

impl OptionalFromRequestParts for HttpBearer {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
        bearer(parts)
    }
}

impl DescribeInput for HttpBearer {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        docs::require(cx, op, "HTTPBearer", json!({"type": "http", "scheme": "bearer"}), &[]);
    }
}

impl FromRequestParts for HttpBasic {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        basic(parts)?.ok_or_else(|| unauthorized("Not authenticated", "Basic"))
    }
}

impl OptionalFromRequestParts for HttpBasic {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
        basic(parts)
    }
}

impl DescribeInput for HttpBasic {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        docs::require(cx, op, "HTTPBasic", json!({"type": "http", "scheme": "basic"}), &[]);
    }
}
