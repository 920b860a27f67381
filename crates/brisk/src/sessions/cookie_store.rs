//! [`CookieStore`]: the whole session in the cookie, signed with the app's secret key
//! (HMAC-SHA256), so the server keeps nothing.
//!
//! The client can read the data (it is signed, not encrypted): keep secrets out of it. A
//! cookie the key (or one of its fallbacks) did not sign is ignored: the request gets a new,
//! empty session. Browsers keep about 4 KB a cookie, so a session that would not fit is refused
//! when it is written, with an error that says so. And since the server keeps nothing,
//! `flush` and `cycle_id` cannot make an old copy of the cookie invalid before it expires (the
//! same holds for Django's signed-cookie sessions); use a server-side store where that matters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::record::{Record, SessionId};
use super::store::SessionStore;
use crate::error::Error;
use crate::handler::BoxFuture;
use crate::secret_key::{SecretKey, Signer};

/// The largest cookie (`name=value`) the store writes by default: 4093 bytes, what every
/// browser keeps (RFC 6265 asks for at least 4096 bytes including attributes).
pub const DEFAULT_MAX_COOKIE_BYTES: usize = 4093;

/// What signs session cookies: the key's purpose (a cookie signed for anything else fails).
const PURPOSE: &str = "brisk.sessions.cookie";

/// Room for the id, the two timestamps and the JSON around them, in the payload (65 bytes
/// until the year 2286).
const RECORD_OVERHEAD: usize = 72;

/// Room for the cookie's name and `=` (`__Host-session=` is 15).
const NAME_ALLOWANCE: usize = 25;

/// The dot and the base64url signature.
const SIGNATURE: usize = 1 + 43;

/// Sessions kept in a signed cookie.
///
/// ```
/// use brisk::secret_key::SecretKey;
/// use brisk::sessions::{CookieStore, SessionConfig};
///
/// let key = SecretKey::generate().unwrap();
/// let config = SessionConfig::new(key.clone()).store(CookieStore::new(&key).max_cookie_bytes(2048));
/// ```
#[derive(Clone, Debug)]
pub struct CookieStore {
    signer: Signer,
    max_cookie_bytes: usize,
}

impl CookieStore {
    /// Cookies signed with `key` (and verified with its fallbacks too).
    pub fn new(key: &SecretKey) -> Self {
        CookieStore { signer: key.signer(PURPOSE), max_cookie_bytes: DEFAULT_MAX_COOKIE_BYTES }
    }

    /// The largest cookie it writes (default [`DEFAULT_MAX_COOKIE_BYTES`]).
    pub fn max_cookie_bytes(mut self, bytes: usize) -> Self {
        self.max_cookie_bytes = bytes;
        self
    }

    fn too_large(&self, bytes: usize) -> Error {
        Error::internal(format!(
            "the session does not fit in its cookie: {bytes} bytes, over the limit of {} \
             (browsers keep about 4 KB a cookie). Keep less in the session (an id rather than a \
             whole record), or keep sessions on the server: brisk_orm::sessions::DatabaseStore",
            self.max_cookie_bytes
        ))
    }

    /// The cookie value of `record`: `base64url(json).base64url(hmac)`.
    fn encode(&self, record: &Record) -> Result<String, Error> {
        let payload = URL_SAFE_NO_PAD.encode(record.to_json()?);
        let tag = URL_SAFE_NO_PAD.encode(self.signer.sign(payload.as_bytes()));
        Ok(format!("{payload}.{tag}"))
    }

    fn decode(&self, cookie: &str) -> Option<Record> {
        if cookie.len() > self.max_cookie_bytes.max(DEFAULT_MAX_COOKIE_BYTES) {
            return None;
        }
        let (payload, tag) = cookie.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // The signature first: nothing of an unsigned cookie is parsed.
        if !self.signer.verify(payload.as_bytes(), &tag) {
            return None;
        }
        Record::from_json(&URL_SAFE_NO_PAD.decode(payload).ok()?)
    }
}

impl SessionStore for CookieStore {
    fn load<'a>(&'a self, cookie: &'a str) -> BoxFuture<'a, Result<Option<Record>, Error>> {
        Box::pin(std::future::ready(Ok(self.decode(cookie))))
    }

    fn save<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<String, Error>> {
        let cookie = self.encode(record).and_then(|cookie| {
            let bytes = NAME_ALLOWANCE + cookie.len();
            if bytes > self.max_cookie_bytes {
                Err(self.too_large(bytes))
            } else {
                Ok(cookie)
            }
        });
        Box::pin(std::future::ready(cookie))
    }

    fn delete<'a>(&'a self, _id: &'a SessionId) -> BoxFuture<'a, Result<(), Error>> {
        // Nothing is kept on the server; the layer expires the cookie.
        Box::pin(std::future::ready(Ok(())))
    }

    fn check_size(&self, data: &Map<String, Value>) -> Result<(), Error> {
        let json = serde_json::to_vec(data).map_err(Error::internal)?.len() + RECORD_OVERHEAD;
        let bytes = NAME_ALLOWANCE + json.div_ceil(3) * 4 + SIGNATURE;
        if bytes > self.max_cookie_bytes {
            return Err(self.too_large(bytes));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::record::from_unix;

    fn record() -> Record {
        let mut data = Map::new();
        data.insert("user".into(), Value::from("alice"));
        Record { id: SessionId::generate().unwrap(), data, created: from_unix(10), expires: from_unix(20) }
    }

    fn key(text: &str) -> SecretKey {
        SecretKey::new(text).unwrap()
    }

    const NEW: &str = "the new key, at least thirty-two bytes long";
    const OLD: &str = "the old key, at least thirty-two bytes long";

    #[tokio::test]
    async fn signed_round_trip_and_tampering() {
        let store = CookieStore::new(&key(NEW));
        let record = record();
        let cookie = store.save(&record).await.unwrap();
        assert_eq!(store.load(&cookie).await.unwrap(), Some(record));
        // Any change to the payload or the tag: ignored.
        let (payload, tag) = cookie.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD
            .encode(br#"{"i":"AAAAAAAAAAAAAAAAAAAAAA","c":1,"e":9999999999,"d":{"user":"admin"}}"#);
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", &tag[1..]),
            format!("{payload}x.{tag}"),
            payload.to_owned(),
            String::new(),
            "....".to_owned(),
        ] {
            assert_eq!(store.load(&bad).await.unwrap(), None, "{bad}");
        }
        // Another key's cookie: ignored.
        assert_eq!(CookieStore::new(&key(OLD)).load(&cookie).await.unwrap(), None);
    }

    #[tokio::test]
    async fn key_rotation_keeps_old_cookies_valid() {
        let record = record();
        let old_cookie = CookieStore::new(&key(OLD)).save(&record).await.unwrap();
        let rotated = CookieStore::new(&key(NEW).with_fallbacks([OLD]).unwrap());
        assert_eq!(rotated.load(&old_cookie).await.unwrap(), Some(record.clone()));
        // What it writes is signed with the new key only.
        let new_cookie = rotated.save(&record).await.unwrap();
        assert_eq!(CookieStore::new(&key(OLD)).load(&new_cookie).await.unwrap(), None);
        assert_eq!(CookieStore::new(&key(NEW)).load(&new_cookie).await.unwrap(), Some(record));
    }

    #[tokio::test]
    async fn size_limit_is_checked_before_and_at_write() {
        let store = CookieStore::new(&key(NEW)).max_cookie_bytes(600);
        let mut big = record();
        big.data.insert("blob".into(), Value::from("x".repeat(600)));
        let e = store.save(&big).await.unwrap_err();
        assert!(e.to_string().contains("does not fit in its cookie"), "{e}");
        assert!(e.to_string().contains("over the limit of 600"), "{e}");
        assert!(store.check_size(&big.data).is_err());
        assert!(store.check_size(&record().data).is_ok());
        // The estimate never lets through what the write refuses.
        for n in (0..600).step_by(7) {
            let mut r = record();
            r.data.insert("blob".into(), Value::from("y".repeat(n)));
            if store.check_size(&r.data).is_ok() {
                assert!(store.save(&r).await.is_ok(), "{n}");
            }
        }
    }
}
