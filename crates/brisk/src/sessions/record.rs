//! What a store keeps of one session: its [`SessionId`], its data, and its two clocks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::secret_key::random_bytes;

/// A session's id: 128 bits from the operating system's random generator, as 22 base64url
/// characters. A store never adopts an id a client made up: an unknown id loads nothing, and
/// the session saved after it gets a new one.
///
/// ```
/// use brisk::sessions::SessionId;
/// let id = SessionId::generate().unwrap();
/// assert_eq!(id.as_str().len(), 22);
/// assert_eq!(SessionId::parse(id.as_str()), Some(id));
/// assert_eq!(SessionId::parse("not an id"), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Enough to tell two apart in a log, not enough to hijack one.
        write!(f, "SessionId({}…)", &self.0[..4])
    }
}

impl SessionId {
    /// A new random id.
    pub fn generate() -> Result<SessionId, Error> {
        let bytes = random_bytes::<16>().map_err(Error::internal)?;
        Ok(SessionId(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id `text` is, if it has an id's form (22 base64url characters).
    pub fn parse(text: &str) -> Option<SessionId> {
        let ok =
            text.len() == 22 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        // The last character carries 2 bits of padding; only canonical encodings are ids.
        (ok && URL_SAFE_NO_PAD.decode(text).is_ok_and(|b| b.len() == 16)).then(|| SessionId(text.to_owned()))
    }

    /// The id as text (what a server-side store keys on, and its cookie holds).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One session as a store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its id.
    pub id: SessionId,
    /// Its data: JSON values by key.
    pub data: Map<String, Value>,
    /// When it was created (for the absolute lifetime); whole seconds.
    pub created: SystemTime,
    /// When it expires unless used again (the idle timeout, capped by the absolute lifetime);
    /// whole seconds. A store may forget it after this.
    pub expires: SystemTime,
}

/// Seconds since the Unix epoch (0 before it).
pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(crate) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The record's serialized form: short keys, whole seconds (it travels in cookies).
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    i: std::borrow::Cow<'a, str>,
    c: u64,
    e: u64,
    d: std::borrow::Cow<'a, Map<String, Value>>,
}

impl Record {
    /// The record as compact JSON (`{"i": id, "c": created, "e": expires, "d": data}`), the
    /// form the cookie and database stores keep.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let wire = Wire {
            i: self.id.as_str().into(),
            c: unix(self.created),
            e: unix(self.expires),
            d: std::borrow::Cow::Borrowed(&self.data),
        };
        serde_json::to_vec(&wire).map_err(Error::internal)
    }

    /// A record from [`Record::to_json`]'s form; `None` when it is not one.
    pub fn from_json(json: &[u8]) -> Option<Record> {
        let wire: Wire<'static> = serde_json::from_slice(json).ok()?;
        Some(Record {
            id: SessionId::parse(&wire.i)?,
            data: wire.d.into_owned(),
            created: from_unix(wire.c),
            expires: from_unix(wire.e),
        })
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_strictly_parsed() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        assert!(SessionId::parse(&a.as_str()[..21]).is_none());
        assert!(SessionId::parse(&format!("{}=", &a.as_str()[..21])).is_none());
        assert!(SessionId::parse("AAAAAAAAAAAAAAAAAAAAA/").is_none());
        assert!(!format!("{a:?}").contains(a.as_str()));
    }

    #[test]
    fn json_round_trip() {
        let mut data = Map::new();
        data.insert("user".into(), Value::from(42));
        let record = Record {
            id: SessionId::generate().unwrap(),
            data,
            created: from_unix(1_000),
            expires: from_unix(2_000),
        };
        assert_eq!(Record::from_json(&record.to_json().unwrap()), Some(record));
        assert_eq!(Record::from_json(b"{\"i\":\"x\",\"c\":1,\"e\":2,\"d\":{}}"), None);
        assert_eq!(Record::from_json(b"garbage"), None);
    }
}
