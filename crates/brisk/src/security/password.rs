//! Password hashing with Argon2id at OWASP's minimum parameters (19 MiB, 2 passes, 1 lane).
//!
//! Needs feature `password`.
//!
//! ```
//! use brisk::security::password::{hash_password, verify_password};
//! let hash = hash_password("correct horse").unwrap();
//! assert!(hash.starts_with("$argon2id$"));
//! assert!(verify_password("correct horse", &hash));
//! assert!(!verify_password("wrong", &hash));
//! ```

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};

use crate::error::Error;

/// OWASP's recommended minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Result<Argon2<'static>, Error> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| Error::internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a random salt; the result is a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> Result<String, Error> {
    let hash = argon2()?.hash_password(password.as_bytes()).map_err(|e| Error::internal(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (compared in constant time). A malformed
/// hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}
