//! Passwords: hashed with Argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane) or
//! stronger, verified in constant time, rehashed at login when the parameters changed; Django's
//! `pbkdf2_sha256$...` and `argon2$...` hashes verify too, so users move over from a Django
//! database and are upgraded at their next login. [`validators`] say whether a new password
//! is acceptable.
//!
//! ```
//! use brisk_auth::password::{Hasher, Verified};
//! let hasher = Hasher::default();
//! let hash = hasher.hash("correct horse battery staple").unwrap();
//! assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//! assert_eq!(hasher.verify("correct horse battery staple", &hash), Verified::Match { needs_rehash: false });
//! assert_eq!(hasher.verify("wrong", &hash), Verified::Mismatch);
//! ```

mod memory;
pub mod validators;

use std::sync::{Arc, OnceLock};

use argon2::password_hash::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

pub use validators::{
    CommonPassword, MaximumLength, MinimumLength, NumericPassword, PasswordErrors, PasswordValidator,
    PasswordValidators, UserAttributeSimilarity, UserAttributes,
};

/// Argon2id's cost: memory in KiB, passes, lanes. The default is OWASP's minimum for
/// Argon2id (m = 19 MiB, t = 2, p = 1); raise it and old hashes are upgraded at each login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Argon2Cost { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The password is right; `needs_rehash` when the hash is not Argon2id at today's cost
    /// (a Django hash, weaker parameters): store a new [`Hasher::hash`] of it.
    Match {
        /// Whether to store a new hash.
        needs_rehash: bool,
    },
    /// Wrong password, or a hash that cannot match (empty, unusable `!...`, malformed).
    Mismatch,
}

impl Verified {
    /// Whether the password was right.
    pub fn is_match(self) -> bool {
        matches!(self, Verified::Match { .. })
    }
}

/// Hashes and verifies passwords (cheap to clone). Hashing takes tens of milliseconds of
/// CPU on purpose: from async code call [`Hasher::hash_blocking`] and
/// [`Hasher::verify_blocking`], which run it off the async workers.
#[derive(Debug, Clone)]
pub struct Hasher(Arc<HasherInner>);

#[derive(Debug)]
struct HasherInner {
    cost: Argon2Cost,
    /// A hash of a random password at this cost: what unknown users are checked against, so
    /// that a wrong name takes as long as a wrong password.
    decoy: OnceLock<String>,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new(Argon2Cost::default())
    }
}

/// An error of the hashing itself (parameters out of range, no randomness): not a wrong
/// password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError(pub String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "password hashing failed: {}", self.0)
    }
}

impl std::error::Error for HashError {}

impl Hasher {
    /// A hasher at `cost` (at least OWASP's minimum is wise: see [`Argon2Cost::default`]).
    pub fn new(cost: Argon2Cost) -> Self {
        Hasher(Arc::new(HasherInner { cost, decoy: OnceLock::new() }))
    }

    /// Its cost.
    pub fn cost(&self) -> Argon2Cost {
        self.0.cost
    }

    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let c = self.0.cost;
        let params = Params::new(c.memory_kib, c.iterations, c.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// `password` hashed with a random salt: a PHC string `$argon2id$v=19$m=...,t=...,p=...$salt$hash`.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let hash = self.argon2()?.hash_password(password.as_bytes()).map_err(|e| HashError(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Checks `password` against `encoded` (Argon2 PHC, Django's `argon2$...` or
    /// `pbkdf2_sha256$...`), comparing in constant time.
    pub fn verify(&self, password: &str, encoded: &str) -> Verified {
        if let Some(django) = encoded.strip_prefix("pbkdf2_sha256$") {
            return match verify_pbkdf2(password, django) {
                true => Verified::Match { needs_rehash: true },
                false => Verified::Mismatch,
            };
        }
        // Django's Argon2PasswordHasher writes `argon2` before the PHC string.
        let phc = encoded.strip_prefix("argon2").filter(|rest| rest.starts_with('$')).unwrap_or(encoded);
        let Ok(parsed) = PasswordHash::new(phc) else { return Verified::Mismatch };
        let Ok(params) = Params::try_from(&parsed) else { return Verified::Mismatch };
        let algorithm = match parsed.algorithm.as_str() {
            "argon2id" => Algorithm::Argon2id,
            "argon2i" => Algorithm::Argon2i,
            "argon2d" => Algorithm::Argon2d,
            _ => return Verified::Mismatch,
        };
        let version = match parsed.version {
            Some(0x10) => Version::V0x10,
            _ => Version::V0x13,
        };
        let current = self.0.cost;
        let same_cost = params.m_cost() == current.memory_kib
            && params.t_cost() == current.iterations
            && params.p_cost() == current.parallelism;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Verified::Mismatch };
        // A stored hash cannot make the server spend more than this memory on it.
        if params.m_cost() > MAX_MEMORY_KIB {
            return Verified::Mismatch;
        }
        let checker = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.as_bytes().len()];
        let computed = memory::with_memory(params.block_count(), |blocks| {
            checker.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks).is_ok()
        });
        if computed && brisk::security::constant_time_eq(&out, expected.as_bytes()) {
            Verified::Match {
                needs_rehash: !(same_cost && algorithm == Algorithm::Argon2id && version == Version::V0x13)
                    || phc.len() != encoded.len(),
            }
        } else {
            Verified::Mismatch
        }
    }

    /// Spends the time of a real [`verify`](Self::verify) and always fails: for a username
    /// that does not exist, so that it cannot be told from a wrong password by the time taken.
    pub fn verify_decoy(&self, password: &str) -> Verified {
        let decoy = self.0.decoy.get_or_init(|| {
            let mut random = [0u8; 24];
            let _ = getrandom::fill(&mut random);
            self.hash(&STANDARD.encode(random)).unwrap_or_default()
        });
        let _ = self.verify(password, decoy);
        Verified::Mismatch
    }

    /// [`Hasher::hash`] on tokio's blocking threads.
    pub async fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let (hasher, password) = (self.clone(), password.to_owned());
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| HashError(format!("the hashing thread stopped: {e}")))?
    }

    /// [`Hasher::verify`] (or, for `None`, [`Hasher::verify_decoy`]) on tokio's blocking threads.
    pub async fn verify_blocking(&self, password: &str, encoded: Option<&str>) -> Verified {
        let (hasher, password, encoded) = (self.clone(), password.to_owned(), encoded.map(str::to_owned));
        tokio::task::spawn_blocking(move || match encoded {
            Some(encoded) => hasher.verify(&password, &encoded),
            None => hasher.verify_decoy(&password),
        })
        .await
        .unwrap_or(Verified::Mismatch)
    }
}

/// The most memory a stored hash may ask for (256 MiB), so a hostile row cannot exhaust the
/// server.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 key>` (the part after the first `$`).
fn verify_pbkdf2(password: &str, rest: &str) -> bool {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    // Django has never used fewer than 10 000 rounds; 10 million bounds the work a stored
    // value can ask of the server.
    let Ok(iterations) = iterations.parse::<u32>() else { return false };
    if !(1..=10_000_000).contains(&iterations) {
        return false;
    }
    let Ok(expected) = STANDARD.decode(expected) else { return false };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut derived);
    brisk::security::constant_time_eq(&derived, &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cheap cost, so the tests do not spend 19 MiB per hash.
    fn quick() -> Hasher {
        Hasher::new(Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 })
    }

    #[test]
    fn hashes_verify_and_are_salted() {
        let hasher = quick();
        let a = hasher.hash("s3cret pass").unwrap();
        let b = hasher.hash("s3cret pass").unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert_eq!(hasher.verify("s3cret pass", &a), Verified::Match { needs_rehash: false });
        assert_eq!(hasher.verify("s3cret Pass", &a), Verified::Mismatch);
    }

    #[test]
    fn a_hash_at_another_cost_verifies_and_asks_for_a_rehash() {
        let old = quick().hash("pw-old-cost").unwrap();
        let stronger = Hasher::new(Argon2Cost { memory_kib: 128, iterations: 1, parallelism: 1 });
        assert_eq!(stronger.verify("pw-old-cost", &old), Verified::Match { needs_rehash: true });
        assert_eq!(stronger.verify("nope", &old), Verified::Mismatch);
    }

    #[test]
    fn django_pbkdf2_hashes_verify_and_ask_for_a_rehash() {
        // Made with Python's hashlib as Django's PBKDF2PasswordHasher makes it:
        // base64(pbkdf2_hmac("sha256", b"correct horse", b"Zq2eXYcQ5Fh3zV0A", 1000)).
        let django = "pbkdf2_sha256$1000$Zq2eXYcQ5Fh3zV0A$MOnZ7OkMcMwWIeHNsjCo5NTviFx/T+cfWrfE/xr72Ac=";
        let hasher = quick();
        assert_eq!(hasher.verify("correct horse", django), Verified::Match { needs_rehash: true });
        assert_eq!(hasher.verify("correct horsf", django), Verified::Mismatch);
        for broken in [
            "pbkdf2_sha256$abc$salt$MOnZ7OkMcMwWIeHNsjCo5NTviFx/T+cfWrfE/xr72Ac=",
            "pbkdf2_sha256$0$Zq2eXYcQ5Fh3zV0A$MOnZ7OkMcMwWIeHNsjCo5NTviFx/T+cfWrfE/xr72Ac=",
            "pbkdf2_sha256$1000$Zq2eXYcQ5Fh3zV0A$not base64!",
            "pbkdf2_sha256$1000$Zq2eXYcQ5Fh3zV0A",
        ] {
            assert_eq!(hasher.verify("correct horse", broken), Verified::Mismatch, "{broken}");
        }
    }

    #[test]
    fn django_argon2_hashes_verify() {
        let hasher = quick();
        let phc = hasher.hash("from django").unwrap();
        let django = format!("argon2{phc}");
        assert_eq!(hasher.verify("from django", &django), Verified::Match { needs_rehash: true });
    }

    #[test]
    fn unusable_and_malformed_hashes_never_match() {
        let hasher = quick();
        for encoded in ["", "!", "!unusable", "$argon2id$v=19$garbage", "md5$abc$def", "plain text"] {
            assert_eq!(hasher.verify("", encoded), Verified::Mismatch, "{encoded:?}");
            assert_eq!(hasher.verify("plain text", encoded), Verified::Mismatch, "{encoded:?}");
        }
        assert_eq!(hasher.verify_decoy("anything"), Verified::Mismatch);
    }

    #[test]
    fn the_default_cost_is_owasps_minimum() {
        let hash = Hasher::default().hash("x").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }
}
