//! JSON Web Tokens (RFC 7519), HS256 only, with the algorithm pinned, expiry required and the
//! audience checked.
//!
//! Needs feature `jwt`.
//!
//! Written on `hmac` + `sha2` rather than a JWT crate: brisk needs one algorithm, and the JWT
//! crates' pure-Rust backends bring RSA along (with an open timing advisory, RUSTSEC-2023-0071)
//! whether or not it is used.
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

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use super::unauthorized;
use crate::error::Error;

/// Seconds since the Unix epoch (for `exp` and `iat`).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `{"alg":"HS256","typ":"JWT"}`, base64url: the header of every token brisk issues.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Keys and rules for issuing and verifying tokens.
#[derive(Clone)]
pub struct JwtKeys {
    mac: Hmac<Sha256>,
    audience: String,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").field("audience", &self.audience).finish_non_exhaustive()
    }
}

/// Why a token was refused (all are 401 to the client; only expiry is told apart).
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    Expired,
    Invalid,
}

impl JwtKeys {
    /// HMAC-SHA256 with `secret` (use 32 random bytes or more). Tokens must carry `exp` (checked,
    /// no leeway) and `aud` = `audience` (a string, or an array holding it); `nbf`, when
    /// present, is checked too; a token whose header names any other algorithm is refused.
    ///
    /// A secret shorter than 32 bytes (256 bits, RFC 7518 §3.2's minimum for HS256) is logged as
    /// a warning at start-up: it still works, but can be brute-forced offline from one token.
    pub fn hs256(secret: &[u8], audience: &str) -> Self {
        if secret.len() < 32 {
            tracing::warn!(
                target: "brisk::security",
                bytes = secret.len(),
                "the HS256 secret is shorter than 32 bytes (RFC 7518 requires at least 256 bits)"
            );
        }
        // HMAC takes a key of any length (longer ones are hashed first): this cannot fail.
        let mac = match Hmac::<Sha256>::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        JwtKeys { mac, audience: audience.to_owned() }
    }

    fn sign(&self, signing_input: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Signs `claims`.
    pub fn encode<C: Serialize>(&self, claims: &C) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(Error::internal)?;
        let signing_input = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = self.sign(&signing_input);
        Ok(format!("{signing_input}.{signature}"))
    }

    /// Verifies a token and returns its claims. Bad, expired, wrongly signed or wrongly
    /// addressed tokens are 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn decode<C: DeserializeOwned>(&self, token: &str) -> Result<C, Error> {
        self.verify(token, now()).map_err(|refused| {
            let detail = match refused {
                Refused::Expired => "Token expired",
                Refused::Invalid => "Could not validate credentials",
            };
            unauthorized(detail, "Bearer error=\"invalid_token\"")
        })
    }

    fn verify<C: DeserializeOwned>(&self, token: &str, now: u64) -> Result<C, Refused> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refused::Invalid);
        };
        // The signature first: nothing else of an unsigned token is read.
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Refused::Invalid)?;
        let mut mac = self.mac.clone();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| Refused::Invalid)?;
        // The header must name HS256 (the key could be a valid HMAC key for another algorithm)
        // and carry no critical extension brisk doesn't know.
        let header: Value = decode_json(header)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") || header.get("crit").is_some() {
            return Err(Refused::Invalid);
        }
        let claims: Value = decode_json(payload)?;
        let exp = claims.get("exp").and_then(Value::as_u64).ok_or(Refused::Invalid)?;
        if now >= exp {
            return Err(Refused::Expired);
        }
        if let Some(nbf) = claims.get("nbf") {
            if nbf.as_u64().is_none_or(|nbf| now < nbf) {
                return Err(Refused::Invalid);
            }
        }
        let addressed = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(&self.audience)),
            _ => false,
        };
        if !addressed {
            return Err(Refused::Invalid);
        }
        serde_json::from_value(claims).map_err(|_| Refused::Invalid)
    }
}

fn decode_json(part: &str) -> Result<Value, Refused> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| Refused::Invalid)?;
    match serde_json::from_slice(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(Refused::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_800_000_000;

    /// A token with any header and claims, signed with `secret`.
    fn token(secret: &[u8], header: &Value, claims: &Value) -> String {
        let keys = JwtKeys::hs256(secret, "api");
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = keys.sign(&input);
        format!("{input}.{signature}")
    }

    fn hs256() -> Value {
        json!({"alg": "HS256", "typ": "JWT"})
    }

    fn check(token: &str) -> Result<Value, Refused> {
        JwtKeys::hs256(SECRET, "api").verify(token, NOW)
    }

    #[test]
    fn signs_like_every_other_implementation() {
        // The example token of jwt.io (RFC 7519's form), secret "your-256-bit-secret"; the same
        // signature comes out of Python's hmac/hashlib.
        let keys = JwtKeys::hs256(b"your-256-bit-secret", "api");
        let input = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ";
        assert_eq!(keys.sign(input), "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
        assert_eq!(URL_SAFE_NO_PAD.decode(HEADER).ok(), Some(br#"{"alg":"HS256","typ":"JWT"}"#.to_vec()));
    }

    #[test]
    fn accepts_a_good_token_with_aud_as_string_or_array() {
        let claims = json!({"sub": "alice", "aud": "api", "exp": NOW + 1});
        assert_eq!(check(&token(SECRET, &hs256(), &claims)), Ok(claims));
        let claims = json!({"sub": "alice", "aud": ["web", "api"], "exp": NOW + 1, "nbf": NOW});
        assert_eq!(check(&token(SECRET, &hs256(), &claims)), Ok(claims));
    }

    #[test]
    fn refuses_expired_and_not_yet_valid_tokens() {
        let at = |exp: u64| token(SECRET, &hs256(), &json!({"aud": "api", "exp": exp}));
        assert_eq!(check(&at(NOW)), Err(Refused::Expired), "exp is the first second it is invalid");
        assert_eq!(check(&at(NOW - 100)), Err(Refused::Expired));
        let early = token(SECRET, &hs256(), &json!({"aud": "api", "exp": NOW + 60, "nbf": NOW + 1}));
        assert_eq!(check(&early), Err(Refused::Invalid));
    }

    #[test]
    fn refuses_missing_or_malformed_claims() {
        for claims in [
            json!({"aud": "api"}),
            json!({"aud": "api", "exp": "tomorrow"}),
            json!({"aud": "api", "exp": -1}),
            json!({"exp": NOW + 60}),
            json!({"aud": "other", "exp": NOW + 60}),
            json!({"aud": ["other"], "exp": NOW + 60}),
            json!({"aud": "api", "exp": NOW + 60, "nbf": "now"}),
            json!(["not", "an", "object"]),
        ] {
            assert_eq!(check(&token(SECRET, &hs256(), &claims)), Err(Refused::Invalid), "{claims}");
        }
    }

    #[test]
    fn refuses_other_algorithms_forgeries_and_broken_tokens() {
        let claims = json!({"aud": "api", "exp": NOW + 60});
        let good = token(SECRET, &hs256(), &claims);
        // Correctly signed with our key, but the header names another algorithm.
        for alg in ["HS384", "HS512", "RS256", "none", "hs256"] {
            let header = json!({"alg": alg, "typ": "JWT"});
            assert_eq!(check(&token(SECRET, &header, &claims)), Err(Refused::Invalid), "{alg}");
        }
        let crit = json!({"alg": "HS256", "crit": ["exp"]});
        assert_eq!(check(&token(SECRET, &crit, &claims)), Err(Refused::Invalid));
        // Another key.
        let forged = token(b"another secret, 32 bytes long!!!", &hs256(), &claims);
        assert_eq!(check(&forged), Err(Refused::Invalid));
        // `alg: none`, no signature.
        let payload = good.split('.').nth(1).unwrap_or_default();
        assert_eq!(check(&format!("eyJhbGciOiJub25lIn0.{payload}.")), Err(Refused::Invalid));
        // A claim changed after signing.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({"aud": "api", "exp": NOW + 9999}).to_string());
        assert_eq!(check(&parts.join(".")), Err(Refused::Invalid));
        // Framing: parts missing or extra, padding, characters outside base64url.
        for bad in [
            String::new(),
            "not.a.token".to_owned(),
            good.rsplit_once('.').map(|(head, _)| head.to_owned()).unwrap_or_default(),
            format!("{good}."),
            format!("{good}="),
            good.replace('.', ".."),
            format!("{good}\u{e9}"),
        ] {
            assert_eq!(check(&bad), Err(Refused::Invalid), "{bad}");
        }
        assert_eq!(check(&good), Ok(claims));
    }
}
