//! Security schemes that are extractors and OpenAPI `securitySchemes` at once, like FastAPI's
//! `fastapi.security`: OAuth2 password bearer (with scopes), HTTP Bearer, HTTP Basic, and API
//! keys in a header, the query or a cookie. Each documents itself in `components` and adds the
//! operation's `security` requirement, so Swagger UI's "Authorize" button works against it.
//!
//! Missing or malformed credentials answer 401 with the scheme's `WWW-Authenticate` header and
//! FastAPI's body (`{"detail": "Not authenticated"}`); `Option<Scheme>` makes one optional.
//! Checking the credentials themselves is the app's: usually a [`Dependency`](crate::depends::Dependency)
//! that takes the scheme as input, verifies a token or a password, and answers
//! [`insufficient_scope`] (403) when a token lacks a scope. For the checks:
//!
// The modules are linked only when their feature is on (a link to a missing item is a warning).
#![cfg_attr(feature = "jwt", doc = "- tokens: [`jwt`] (needs feature `jwt`);")]
#![cfg_attr(not(feature = "jwt"), doc = "- tokens: module `jwt` (needs feature `jwt`);")]
#![cfg_attr(feature = "password", doc = "- passwords: [`password`] (needs feature `password`).")]
#![cfg_attr(not(feature = "password"), doc = "- passwords: module `password` (needs feature `password`).")]
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::security::{OAuth2Flow, OAuth2PasswordBearer};
//!
//! struct Auth;
//! impl OAuth2Flow for Auth {
//!     const TOKEN_URL: &'static str = "/token";
//!     const SCOPES: &'static [(&'static str, &'static str)] = &[("admin", "Read statistics")];
//! }
//!
//! async fn me(auth: OAuth2PasswordBearer<Auth>) -> String {
//!     format!("token {}", auth.token)
//! }
//! ```

mod api_key;
mod docs;
mod form;
mod http_auth;
mod oauth2;

#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "password")]
pub mod password;

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, StatusCode};

use crate::error::Error;

pub use api_key::{ApiKey, ApiKeyCookie, ApiKeyHeader, ApiKeyQuery};
pub use form::OAuth2PasswordRequestForm;
pub use http_auth::{HttpBasic, HttpBearer};
pub use oauth2::{OAuth2Flow, OAuth2PasswordBearer, OAuth2Scoped, RequiredScopes};

/// 401 with `WWW-Authenticate: {challenge}` and `{"detail": detail}`.
pub fn unauthorized(detail: &str, challenge: &'static str) -> Error {
    Error::http(StatusCode::UNAUTHORIZED, detail)
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
}

/// 403 "Not enough permissions" with `WWW-Authenticate: Bearer scope="..."` (RFC 6750's
/// `insufficient_scope`).
pub fn insufficient_scope(scopes: &[&str]) -> Error {
    let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{}\"", scopes.join(" "));
    let error = Error::http(StatusCode::FORBIDDEN, "Not enough permissions");
    match HeaderValue::from_str(&challenge) {
        Ok(value) => error.with_header(WWW_AUTHENTICATE, value),
        Err(_) => error,
    }
}

/// Compares two secrets in time that does not depend on where they differ.
///
/// ```
/// assert!(brisk::security::constant_time_eq(b"s3cret", b"s3cret"));
/// assert!(!brisk::security::constant_time_eq(b"s3cret", b"s3creT"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
