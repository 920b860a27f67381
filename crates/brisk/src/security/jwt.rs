//! JSON Web Tokens, HS256, with the algorithm pinned, expiry required and the audience checked.
//!
//! ```
//! use brisk::security::jwt::{now, JwtKeys};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Claims { sub: String, aud: String, exp: u64, scope: String }
//!
//! let keys = JwtKeys::hs256(b"a secret of at least 32 bytes, please!!", "my-api");
//! let token = keys.encode(&Claims { sub: "alice".into(), aud: "my-api".into(), exp: now() + 60, scope: "admin".into() }).unwrap();
//! let claims: Claims = keys.decode(&token).unwrap();
//! assert_eq!(claims.sub, "alice");
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::unauthorized;
use crate::error::Error;

/// Seconds since the Unix epoch (for `exp` and `iat`).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Keys and rules for issuing and verifying tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// HMAC-SHA256 with `secret` (use 32 random bytes or more). Tokens must carry `exp` (checked,
    /// no leeway) and `aud` = `audience`; a token signed with any other algorithm is refused.
    pub fn hs256(secret: &[u8], audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs `claims`.
    pub fn encode<C: Serialize>(&self, claims: &C) -> Result<String, Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(Error::internal)
    }

    /// Verifies a token and returns its claims. Bad, expired, wrongly signed or wrongly
    /// addressed tokens are 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn decode<C: DeserializeOwned>(&self, token: &str) -> Result<C, Error> {
        match jsonwebtoken::decode::<C>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) => {
                let detail = match e.kind() {
                    ErrorKind::ExpiredSignature => "Token expired",
                    _ => "Could not validate credentials",
                };
                Err(unauthorized(detail, "Bearer error=\"invalid_token\""))
            }
        }
    }
}
