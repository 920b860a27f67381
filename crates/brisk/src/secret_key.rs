//! The app's secret key: what signs session cookies (and anything else that must come back
//! unchanged). Django's `SECRET_KEY`, with its `SECRET_KEY_FALLBACKS` for rotation.
//!
//! Needs feature `sessions`.
//!
//! [`SecretKey::from_env`] resolves it, in this order:
//!
//! 1. `SECRET_KEY` from the environment wins.
//! 2. Else the key file, `SECRET_KEY_FILE` (default `.secret_key` in the working directory).
//!    When it does not exist it is created with 256 random bits from the operating system (as
//!    64 hex characters, mode 0600) and a warning is logged, so a development server starts
//!    with no set-up and its restarts keep sessions valid.
//! 3. With `BRISK_ENV=production` no key file is created: a missing key refuses to start (a
//!    key file is read only when `SECRET_KEY_FILE` names it, a mounted secret, say).
//!
//! A key shorter than 32 bytes, or made of fewer than 5 distinct bytes, always refuses to
//! start, with a sentence saying how to make one. `SECRET_KEY_FALLBACKS` (comma- or
//! space-separated) lists old keys that still verify what they signed while a rotation rolls
//! out; only the current key signs.
//!
//! ```
//! use brisk::secret_key::SecretKey;
//!
//! let key = SecretKey::new("0123456789abcdef0123456789abcdef0123456789abcdef")?
//!     .with_fallbacks(["an old key of at least thirty-two bytes, rotated"])?;
//! let signer = key.signer("my-purpose");
//! let tag = signer.sign(b"hello");
//! assert!(signer.verify(b"hello", &tag));
//! assert!(!signer.verify(b"hellO", &tag));
//! # Ok::<_, brisk::secret_key::SecretKeyError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The fewest bytes a key may have: 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

/// The key file's name when `SECRET_KEY_FILE` is not set.
pub const DEFAULT_KEY_FILE: &str = ".secret_key";

const HOW_TO_MAKE_ONE: &str = "make one with `openssl rand -hex 32` (or `head -c 32 /dev/urandom | base64`)";

/// The app's secret key, and the old keys that still verify during a rotation.
#[derive(Clone)]
pub struct SecretKey {
    current: Arc<[u8]>,
    fallbacks: Arc<[Arc<[u8]>]>,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("fallbacks", &self.fallbacks.len()).finish_non_exhaustive()
    }
}

/// Why no usable key was found: each says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKeyError {
    /// Production, and neither `SECRET_KEY` nor a key file named by `SECRET_KEY_FILE`.
    Missing,
    /// A key (from `source`) that is shorter than [`MIN_KEY_BYTES`] or nearly constant.
    Weak {
        /// Where it came from: `SECRET_KEY`, `SECRET_KEY_FALLBACKS`, the key file's path.
        source: String,
        /// Its length in bytes.
        bytes: usize,
    },
    /// The key file could not be read or created.
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The operating system's random generator failed.
    Random(String),
}

impl fmt::Display for SecretKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretKeyError::Missing => write!(
                f,
                "BRISK_ENV=production and no SECRET_KEY is set: set SECRET_KEY to at least {MIN_KEY_BYTES} random bytes; {HOW_TO_MAKE_ONE}"
            ),
            SecretKeyError::Weak { source, bytes } => write!(
                f,
                "the secret key from {source} is too weak ({bytes} bytes; at least {MIN_KEY_BYTES} random bytes are needed): {HOW_TO_MAKE_ONE}"
            ),
            SecretKeyError::File { path, message } => {
                write!(f, "cannot use the secret key file {}: {message}", path.display())
            }
            SecretKeyError::Random(message) => write!(f, "the operating system's random generator failed: {message}"),
        }
    }
}

impl std::error::Error for SecretKeyError {}

fn check(source: &str, key: &[u8]) -> Result<Arc<[u8]>, SecretKeyError> {
    let mut distinct = [false; 256];
    key.iter().for_each(|b| distinct[usize::from(*b)] = true);
    if key.len() < MIN_KEY_BYTES || distinct.iter().filter(|d| **d).count() < 5 {
        return Err(SecretKeyError::Weak { source: source.to_owned(), bytes: key.len() });
    }
    Ok(Arc::from(key))
}

/// `n` bytes from the operating system's random generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], SecretKeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SecretKeyError::Random(e.to_string()))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SecretKey {
    /// A key from its bytes (or text): at least [`MIN_KEY_BYTES`], not nearly constant.
    pub fn new(key: impl AsRef<[u8]>) -> Result<SecretKey, SecretKeyError> {
        Ok(SecretKey { current: check("the given key", key.as_ref())?, fallbacks: Arc::from([]) })
    }

    /// A fresh random key (256 bits, as 64 hex characters), for tests and examples.
    pub fn generate() -> Result<SecretKey, SecretKeyError> {
        SecretKey::new(hex(&random_bytes::<32>()?))
    }

    /// Adds old keys that still verify (never sign), during a rotation.
    pub fn with_fallbacks<K: AsRef<[u8]>>(
        mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<SecretKey, SecretKeyError> {
        let mut all: Vec<Arc<[u8]>> = self.fallbacks.to_vec();
        for key in keys {
            all.push(check("SECRET_KEY_FALLBACKS", key.as_ref())?);
        }
        self.fallbacks = Arc::from(all);
        Ok(self)
    }

    /// The key as the environment says (see the [module docs](self)).
    pub fn from_env() -> Result<SecretKey, SecretKeyError> {
        KeySettings::from_env().resolve()
    }

    /// A signer for one purpose (`"brisk.sessions"`): keys derived from this key and its
    /// fallbacks with HMAC-SHA256, so a value signed for one purpose never verifies for
    /// another (Django's `salted_hmac`).
    pub fn signer(&self, purpose: &str) -> Signer {
        let derive = |key: &[u8]| -> Hmac<Sha256> {
            let mut kdf = hmac_of(key);
            kdf.update(b"brisk.secret_key.derive:");
            kdf.update(purpose.as_bytes());
            hmac_of(&kdf.finalize().into_bytes())
        };
        let macs = std::iter::once(&self.current).chain(self.fallbacks.iter()).map(|k| derive(k)).collect();
        Signer { macs: Arc::new(macs) }
    }
}

fn hmac_of(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length (longer ones are hashed first): this cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// Signs with the current key, verifies with it and with the fallbacks: see
/// [`SecretKey::signer`].
#[derive(Clone)]
pub struct Signer {
    macs: Arc<Vec<Hmac<Sha256>>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("keys", &self.macs.len()).finish()
    }
}

impl Signer {
    /// The 32-byte HMAC-SHA256 tag of `message` under the current key.
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.macs[0].clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is `message`'s tag under the current key or a fallback (compared in
    /// constant time).
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        self.macs.iter().any(|mac| {
            let mut mac = mac.clone();
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        })
    }
}

/// What [`SecretKey::from_env`] reads, as plain data (tests build it by hand).
#[derive(Debug, Clone, Default)]
pub struct KeySettings {
    /// `SECRET_KEY`.
    pub secret_key: Option<String>,
    /// `SECRET_KEY_FALLBACKS`, split on commas and whitespace.
    pub fallbacks: Vec<String>,
    /// `SECRET_KEY_FILE`, when set.
    pub key_file: Option<PathBuf>,
    /// `BRISK_ENV=production`.
    pub production: bool,
}

impl KeySettings {
    /// The settings from the process environment.
    pub fn from_env() -> KeySettings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        KeySettings {
            secret_key: var("SECRET_KEY"),
            fallbacks: var("SECRET_KEY_FALLBACKS")
                .map(|v| {
                    v.split([',', ' ', '\n', '\t']).filter(|k| !k.is_empty()).map(str::to_owned).collect()
                })
                .unwrap_or_default(),
            key_file: var("SECRET_KEY_FILE").map(PathBuf::from),
            production: is_production(),
        }
    }

    /// The key these settings give (see the [module docs](super::secret_key)).
    pub fn resolve(&self) -> Result<SecretKey, SecretKeyError> {
        let current = match (&self.secret_key, &self.key_file) {
            (Some(key), _) => check("SECRET_KEY", key.trim().as_bytes())?,
            (None, Some(path)) if self.production => read_key_file(path)?.ok_or(SecretKeyError::Missing)?,
            (None, _) if self.production => return Err(SecretKeyError::Missing),
            (None, path) => {
                let path = path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE));
                match read_key_file(&path)? {
                    Some(key) => key,
                    None => create_key_file(&path)?,
                }
            }
        };
        SecretKey { current, fallbacks: Arc::from([]) }.with_fallbacks(&self.fallbacks)
    }
}

/// Whether `BRISK_ENV` is `production` (or `prod`).
pub fn is_production() -> bool {
    matches!(std::env::var("BRISK_ENV").as_deref().map(str::trim), Ok("production" | "prod"))
}

fn file_error(path: &Path, e: impl fmt::Display) -> SecretKeyError {
    SecretKeyError::File { path: path.to_owned(), message: e.to_string() }
}

/// The key in `path`, `None` when there is no such file.
fn read_key_file(path: &Path) -> Result<Option<Arc<[u8]>>, SecretKeyError> {
    // A key file being written by another process starting at the same moment is created
    // whole (see `create_key_file`), so what is read here is complete.
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_error(path, e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    target: "brisk::secret_key",
                    path = %path.display(),
                    "the secret key file can be read by other users: chmod 600 it"
                );
            }
        }
    }
    check(&path.display().to_string(), text.trim().as_bytes()).map(Some)
}

/// Creates `path` with 256 random bits (64 hex characters), mode 0600, all at once: written
/// to a temporary file first, then linked into place, so two processes starting together
/// agree on one key (the second finds the first's file).
fn create_key_file(path: &Path) -> Result<Arc<[u8]>, SecretKeyError> {
    let key = hex(&random_bytes::<32>()?);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".secret_key.{}.{}.tmp", std::process::id(), hex(&random_bytes::<4>()?)));
    let written = write_private(&tmp, &key);
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::warn!(
                target: "brisk::secret_key",
                path = %path.display(),
                "no SECRET_KEY is set: created a new random secret key in {} (mode 0600). Keep it out of \
                 version control; in production set SECRET_KEY instead",
                path.display()
            );
            check(&path.display().to_string(), key.as_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key_file(path)?.ok_or_else(|| file_error(path, "it vanished while being read"))
        }
        Err(e) => Err(file_error(path, e)),
    }
}

fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("brisk_key_{}", hex(&random_bytes::<8>().unwrap())));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn env_key_wins_over_the_file() {
        let dir = temp_dir();
        let file = dir.join("key");
        std::fs::write(&file, "a key file key, long enough to be accepted, 1234").unwrap();
        let settings =
            KeySettings { secret_key: Some(KEY.into()), key_file: Some(file), ..Default::default() };
        let key = settings.resolve().unwrap();
        assert_eq!(&*key.current, KEY.as_bytes());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = temp_dir();
        let file = dir.join("nested").join("secret");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let settings = KeySettings { key_file: Some(file.clone()), ..Default::default() };
        let first = settings.resolve().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.trim().len(), 64);
        assert!(text.trim().bytes().all(|b| b.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = settings.resolve().unwrap();
        assert_eq!(first.current, second.current, "a restart reads the same key");
        // Nothing but the key file is left behind.
        assert_eq!(std::fs::read_dir(file.parent().unwrap()).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn production_refuses_a_missing_key_and_creates_no_file() {
        let dir = temp_dir();
        let file = dir.join("key");
        let settings = KeySettings { production: true, key_file: Some(file.clone()), ..Default::default() };
        let e = settings.resolve().unwrap_err();
        assert_eq!(e, SecretKeyError::Missing);
        assert!(e.to_string().contains("set SECRET_KEY"), "{e}");
        assert!(e.to_string().contains("openssl rand -hex 32"), "{e}");
        assert!(!file.exists());
        let settings = KeySettings { production: true, ..Default::default() };
        assert_eq!(settings.resolve().unwrap_err(), SecretKeyError::Missing);
        // A key file given explicitly (a mounted secret) is read in production.
        std::fs::write(&file, KEY).unwrap();
        let settings = KeySettings { production: true, key_file: Some(file), ..Default::default() };
        assert!(settings.resolve().is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn short_or_constant_keys_always_refuse() {
        for production in [false, true] {
            let settings = KeySettings { secret_key: Some("short".into()), production, ..Default::default() };
            let e = settings.resolve().unwrap_err();
            assert_eq!(e, SecretKeyError::Weak { source: "SECRET_KEY".into(), bytes: 5 });
            assert!(e.to_string().contains("at least 32 random bytes"), "{e}");
            assert!(e.to_string().contains("openssl rand -hex 32"), "{e}");
        }
        assert!(SecretKey::new("a".repeat(64)).is_err());
        let settings =
            KeySettings { secret_key: Some(KEY.into()), fallbacks: vec!["old".into()], ..Default::default() };
        assert!(matches!(settings.resolve(), Err(SecretKeyError::Weak { .. })));
    }

    #[test]
    fn fallbacks_verify_but_do_not_sign() {
        let old = SecretKey::new("the old key, thirty-two bytes or more").unwrap();
        let new =
            SecretKey::new(KEY).unwrap().with_fallbacks(["the old key, thirty-two bytes or more"]).unwrap();
        let tag = old.signer("p").sign(b"m");
        assert!(new.signer("p").verify(b"m", &tag));
        assert_ne!(new.signer("p").sign(b"m"), tag);
        assert!(!new.signer("other purpose").verify(b"m", &tag));
        assert!(!SecretKey::new(KEY).unwrap().signer("p").verify(b"m", &tag));
    }
}
