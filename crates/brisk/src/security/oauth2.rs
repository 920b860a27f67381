//! OAuth2's password flow: a bearer token obtained at a token URL, with scopes.

use std::marker::PhantomData;

use http::header::AUTHORIZATION;
use http::request::Parts;
use serde_json::{json, Map, Value};

use super::{docs, unauthorized};
use crate::error::Error;
use crate::extract::{FromRequestParts, OptionalFromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// An OAuth2 password flow: where tokens come from and which scopes exist.
pub trait OAuth2Flow: Send + Sync + 'static {
    /// The scheme's name in the document (default `OAuth2PasswordBearer`, as FastAPI).
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    /// Where clients post `username` and `password` for a token (relative to the API).
    const TOKEN_URL: &'static str;
    /// Every scope: name and description.
    const SCOPES: &'static [(&'static str, &'static str)] = &[];
}

/// Scopes an operation requires (see [`OAuth2Scoped`]).
pub trait RequiredScopes: Send + Sync + 'static {
    /// The scope names.
    const SCOPES: &'static [&'static str];
}

/// The bearer token of an OAuth2 password flow: `Authorization: Bearer <token>`.
/// Absent or not a bearer token: 401 `Not authenticated`, `WWW-Authenticate: Bearer`.
pub struct OAuth2PasswordBearer<F> {
    /// The token, not yet verified.
    pub token: String,
    _flow: PhantomData<fn() -> F>,
}

/// The bearer token of an operation that requires the scopes `S` (documented on it). Checking
/// that the token grants them is the app's (answer [`insufficient_scope`](super::insufficient_scope)).
pub struct OAuth2Scoped<F, S> {
    /// The token, not yet verified.
    pub token: String,
    _flow: PhantomData<fn() -> (F, S)>,
}

impl<F, S: RequiredScopes> OAuth2Scoped<F, S> {
    /// The scopes this operation requires.
    pub fn required(&self) -> &'static [&'static str] {
        S::SCOPES
    }
}

/// The token of `Authorization: Bearer <token>`, if the header says that.
pub(super) fn bearer_token(parts: &Parts) -> Option<Result<String, ()>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    let text = value.to_str().map_err(|_| ());
    Some(text.and_then(|text| match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(()),
    }))
}

fn token(parts: &Parts) -> Result<Option<String>, Error> {
    match bearer_token(parts) {
        None => Ok(None),
        Some(Ok(token)) => Ok(Some(token)),
        Some(Err(())) => Err(unauthorized("Not authenticated", "Bearer")),
    }
}

fn scheme<F: OAuth2Flow>() -> Value {
    let scopes: Map<String, Value> = F::SCOPES.iter().map(|(n, d)| ((*n).to_owned(), json!(d))).collect();
    json!({"type": "oauth2", "flows": {"password": {"tokenUrl": F::TOKEN_URL, "scopes": scopes}}})
}

impl<F: OAuth2Flow> FromRequestParts for OAuth2PasswordBearer<F> {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        match token(parts)? {
            Some(token) => Ok(OAuth2PasswordBearer { token, _flow: PhantomData }),
            None => Err(unauthorized("Not authenticated", "Bearer")),
        }
    }
}

impl<F: OAuth2Flow> OptionalFromRequestParts for OAuth2PasswordBearer<F> {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Option<Self>, Error> {
        Ok(token(parts)?.map(|token| OAuth2PasswordBearer { token, _flow: PhantomData }))
    }
}

impl<F: OAuth2Flow> DescribeInput for OAuth2PasswordBearer<F> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        docs::require(cx, op, F::SCHEME_NAME, scheme::<F>(), &[]);
    }
}

impl<F: OAuth2Flow, S: RequiredScopes> FromRequestParts for OAuth2Scoped<F, S> {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        match token(parts)? {
            Some(token) => Ok(OAuth2Scoped { token, _flow: PhantomData }),
            None => Err(unauthorized("Not authenticated", "Bearer")),
        }
    }
}

impl<F: OAuth2Flow, S: RequiredScopes> DescribeInput for OAuth2Scoped<F, S> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        docs::require(cx, op, F::SCHEME_NAME, scheme::<F>(), S::SCOPES);
    }
}
