//! The synchronizer token: a secret kept in the session, handed out masked.
//!
//! Each [`CsrfToken`] is `base64url(mask ‖ secret ⊕ mask)` with a fresh random mask, so the
//! token on a page changes every time it is rendered (no secret for BREACH to guess from a
//! compressed response) while every one of them checks against the same secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::request::Parts;
use serde_json::Value;

use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};
use crate::secret_key::random_bytes;
use crate::security::constant_time_eq;
use crate::sessions::{Session, CSRF_KEY};

const SECRET_BYTES: usize = 32;

/// A CSRF token of the request's session, for a form or a JavaScript client. The form sends it
/// in the `csrf_token` field, a script in the `X-CSRF-Token` header; the CSRF check asks for it
/// when the browser sent neither `Origin` nor `Sec-Fetch-Site`.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::csrf::CsrfToken;
///
/// async fn form(token: CsrfToken) -> Html<String> {
///     Html(format!(r#"<form method="post">{}<input name="title"></form>"#, token.hidden_input()))
/// }
/// ```
///
/// Asking for a token keeps a secret in the session (saved with it) the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The form field the check reads: `csrf_token`.
    pub const FIELD: &'static str = "csrf_token";
    /// The header the check reads: `X-CSRF-Token`.
    pub const HEADER: &'static str = "x-csrf-token";

    /// A token of `session` (for a template's `csrf_token()`). The session must be loaded
    /// (see [`Session::loaded`]), or its secret could not be kept.
    pub fn for_session(session: &Session) -> Result<CsrfToken, Error> {
        if !session.is_loaded() {
            return Err(Error::internal(
                "a CSRF token needs the session loaded: take `Session` or `CsrfToken` in the handler, \
                 or load it with Session::from_extensions",
            ));
        }
        let fresh: [u8; SECRET_BYTES] = random_bytes().map_err(Error::internal)?;
        let secret = session.update(|data| match data.get(CSRF_KEY).and_then(decode_secret) {
            Some(secret) => (secret, false),
            None => {
                data.insert(CSRF_KEY.into(), Value::from(URL_SAFE_NO_PAD.encode(fresh)));
                (fresh, true)
            }
        });
        let mask: [u8; SECRET_BYTES] = random_bytes().map_err(Error::internal)?;
        let mut token = Vec::with_capacity(2 * SECRET_BYTES);
        token.extend_from_slice(&mask);
        token.extend(secret.iter().zip(mask).map(|(s, m)| s ^ m));
        Ok(CsrfToken(URL_SAFE_NO_PAD.encode(token)))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<input type="hidden" name="csrf_token" value="...">`, for a form (the token is
    /// base64url: nothing in it needs escaping).
    pub fn hidden_input(&self) -> String {
        format!(r#"<input type="hidden" name="{}" value="{}">"#, CsrfToken::FIELD, self.0)
    }
}

impl std::fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn decode_secret(value: &Value) -> Option<[u8; SECRET_BYTES]> {
    URL_SAFE_NO_PAD.decode(value.as_str()?).ok()?.try_into().ok()
}

/// Whether `token` is a token of `session` (which must be loaded). A session without a
/// secret has handed out no token, so nothing matches.
pub(crate) fn verify(session: &Session, token: &str) -> bool {
    let Some(secret) = session.update(|data| (data.get(CSRF_KEY).and_then(decode_secret), false)) else {
        return false;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else { return false };
    if bytes.len() != 2 * SECRET_BYTES {
        return false;
    }
    let (mask, masked) = bytes.split_at(SECRET_BYTES);
    let unmasked: Vec<u8> = masked.iter().zip(mask).map(|(m, k)| m ^ k).collect();
    constant_time_eq(&unmasked, &secret)
}

impl FromRequestParts for CsrfToken {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        CsrfToken::for_session(&Session::from_extensions(&parts.extensions).await?)
    }
}

/// The token is the page's own: documents nothing.
impl DescribeInput for CsrfToken {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}
