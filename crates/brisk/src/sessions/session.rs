//! [`Session`]: the extractor, its typed data, and what the layer saves after the handler.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::Extensions;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use super::config::SessionConfig;
use super::record::{Record, SessionId};
use super::store::SessionStore;
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// The app's sessions: the config with its store resolved (one per app).
pub(crate) struct Sessions {
    pub(crate) config: SessionConfig,
    pub(crate) store: Arc<dyn SessionStore>,
}

impl Sessions {
    pub(crate) fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    /// Whether `record` is still valid at `now` under this config (its own deadline, and the
    /// absolute lifetime in force now, which may be shorter than when it was saved).
    fn is_live(&self, record: &Record, now: SystemTime) -> bool {
        !record.is_expired(now)
            && self.config.absolute_lifetime.is_none_or(|life| now < record.created + life)
    }

    /// The deadline of a session created at `created` and used at `now`.
    fn deadline(&self, created: SystemTime, now: SystemTime) -> SystemTime {
        let idle = now + self.config.idle_timeout;
        match self.config.absolute_lifetime {
            Some(life) => idle.min(created + life),
            None => idle,
        }
    }
}

/// One request's session, as loaded.
#[derive(Default)]
struct State {
    /// The stored session's id (`None`: a new session, given an id when first saved).
    id: Option<SessionId>,
    data: Map<String, Value>,
    created: Option<SystemTime>,
    expires: Option<SystemTime>,
    /// A live session was loaded for the request's cookie.
    existed: bool,
    modified: bool,
    /// Ids to delete from the store once this request's session is saved (flushed, cycled).
    forget: Vec<SessionId>,
}

struct Inner {
    sessions: Arc<Sessions>,
    /// The request's session cookie, if it sent one.
    cookie: Option<String>,
    loaded: OnceCell<()>,
    state: Mutex<State>,
}

/// The request's session: typed data kept between requests of one browser, behind a cookie.
/// Enable it with [`App::sessions`](crate::App::sessions).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::sessions::Session;
///
/// async fn visit(session: Session) -> Result<String> {
///     let visits: u32 = session.get("visits")?.unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     Ok(format!("visit number {visits}"))
/// }
/// ```
///
/// The session is read from its store when a handler (or a dependency, or the CSRF check)
/// first asks for it, and written back after the handler only when its data changed (or its
/// idle deadline must move): a request that does not change it sends no `Set-Cookie` and
/// writes nothing. A missing, expired, forged or tampered-with cookie gives an empty session.
/// Keys starting with `_` are brisk's (`_flashes`, `_csrf`).
#[derive(Clone)]
pub struct Session(Arc<Inner>);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Session")
            .field("id", &state.id)
            .field("keys", &state.data.keys().collect::<Vec<_>>())
            .field("modified", &state.modified)
            .finish()
    }
}

fn sessions_not_enabled() -> Error {
    Error::internal("the Session extractor needs sessions: add App::sessions(SessionConfig::from_env())")
}

impl Session {
    pub(crate) fn new(sessions: Arc<Sessions>, cookie: Option<String>) -> Self {
        Session(Arc::new(Inner { sessions, cookie, loaded: OnceCell::new(), state: Mutex::default() }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The request's session, loaded, from its extensions (for middleware; handlers take
    /// `Session` as an argument). Fails when sessions are not enabled, or the store fails.
    pub async fn from_extensions(extensions: &Extensions) -> Result<Session, Error> {
        let session = extensions.get::<Session>().cloned().ok_or_else(sessions_not_enabled)?;
        session.load().await?;
        Ok(session)
    }

    /// The request's session from its extensions if something (a handler's `Session` or
    /// `CsrfToken` argument, a dependency, the `Templates` extractor) has loaded it already:
    /// for synchronous code, such as a template context processor.
    ///
    /// ```
    /// use brisk::http::request::Parts;
    /// use brisk::sessions::Session;
    ///
    /// fn flashes_for_templates(parts: &Parts) -> Vec<brisk::sessions::Flash> {
    ///     Session::loaded(&parts.extensions).map(|s| s.take_flashes()).unwrap_or_default()
    /// }
    /// ```
    pub fn loaded(extensions: &Extensions) -> Option<Session> {
        extensions.get::<Session>().filter(|s| s.is_loaded()).cloned()
    }

    /// Whether the session has been read from its store during this request (only then do
    /// its data and changes count).
    pub fn is_loaded(&self) -> bool {
        self.0.loaded.get().is_some()
    }

    /// Whether the request came with a session cookie (valid or not).
    pub fn has_cookie(&self) -> bool {
        self.0.cookie.is_some()
    }

    /// Reads the session from its store, once.
    pub(crate) async fn load(&self) -> Result<(), Error> {
        self.0
            .loaded
            .get_or_try_init(|| async {
                let sessions = &self.0.sessions;
                let now = sessions.now();
                let record = match &self.0.cookie {
                    Some(cookie) => sessions.store.load(cookie).await?,
                    None => None,
                };
                let mut fresh = State { created: Some(now), ..State::default() };
                match record {
                    Some(record) if sessions.is_live(&record, now) => {
                        fresh = State {
                            id: Some(record.id),
                            data: record.data,
                            created: Some(record.created),
                            expires: Some(record.expires),
                            existed: true,
                            ..State::default()
                        };
                    }
                    Some(expired) => {
                        // Cleaned on access; the timer gets the ones never brought back.
                        if let Err(e) = sessions.store.delete(&expired.id).await {
                            tracing::warn!(target: "brisk::sessions", error = %e, "could not delete an expired session");
                        }
                    }
                    None => {}
                }
                *self.state() = fresh;
                Ok::<(), Error>(())
            })
            .await
            .map(|_| ())
    }

    /// The value at `key`, read as `T`; `None` when absent. A value that is not a `T` is an
    /// error (a 500: the code and the data disagree).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let state = self.state();
        match state.data.get(key) {
            None => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|e| {
                Error::internal(format!("the session's {key:?} is not the type asked for: {e}"))
            }),
        }
    }

    /// Sets `key` to `value`. Setting the value it already has changes nothing (and saves
    /// nothing). Fails when the value does not serialize, or the session would no longer fit
    /// its store (the cookie store's size limit).
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), Error> {
        let value = serde_json::to_value(value).map_err(Error::internal)?;
        let mut state = self.state();
        if state.data.get(key) == Some(&value) {
            return Ok(());
        }
        let before = state.data.insert(key.to_owned(), value);
        if let Err(e) = self.0.sessions.store.check_size(&state.data) {
            match before {
                Some(before) => state.data.insert(key.to_owned(), before),
                None => state.data.remove(key),
            };
            return Err(e);
        }
        state.modified = true;
        Ok(())
    }

    /// Removes `key` and returns its value read as `T` (`None` when absent).
    pub fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let value = self.get::<T>(key)?;
        let mut state = self.state();
        if state.data.remove(key).is_some() {
            state.modified = true;
        }
        Ok(value)
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.state().data.contains_key(key)
    }

    /// The keys set.
    pub fn keys(&self) -> Vec<String> {
        self.state().data.keys().cloned().collect()
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.state().data.is_empty()
    }

    /// Removes every key, keeping the session's id (Django's `clear`).
    pub fn clear(&self) {
        let mut state = self.state();
        if !state.data.is_empty() {
            state.data.clear();
            state.modified = true;
        }
    }

    /// Ends the session: its data is removed, it is deleted from the store and its cookie
    /// expired (Django's `flush`: what logout does). Data set after this starts a new session
    /// with a new id.
    pub fn flush(&self) {
        let now = self.0.sessions.now();
        let mut state = self.state();
        if let Some(id) = state.id.take() {
            state.forget.push(id);
        }
        state.data.clear();
        state.created = Some(now);
        state.existed = false;
        state.modified = true;
    }

    /// Gives the session a new id and keeps its data; the old id stops working (Django's
    /// `cycle_key`). Call it when the user logs in, so an id planted before login (session
    /// fixation) is worthless after it. The CSRF token is renewed too, as Django's login does.
    pub fn cycle_id(&self) {
        let mut state = self.state();
        if let Some(id) = state.id.take() {
            state.forget.push(id);
        }
        if state.data.remove(super::CSRF_KEY).is_some() {
            tracing::trace!(target: "brisk::sessions", "CSRF secret renewed with the session id");
        }
        state.modified = true;
    }

    /// The session's id, once it has one (a session loaded from a server-side store, or saved);
    /// for the cookie store it is the id inside the signed cookie.
    pub fn id(&self) -> Option<SessionId> {
        self.state().id.clone()
    }

    /// Whether this request changed the session (it will be saved).
    pub fn is_modified(&self) -> bool {
        self.state().modified
    }

    /// Runs `f` on the data, marking the session changed when `f` says so (flash, CSRF).
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Map<String, Value>) -> (R, bool)) -> R {
        let mut state = self.state();
        let (result, changed) = f(&mut state.data);
        if changed {
            state.modified = true;
        }
        result
    }

    /// What to write after the handler, decided once.
    pub(crate) fn outcome(&self) -> Outcome {
        if self.0.loaded.get().is_none() {
            return Outcome::Nothing;
        }
        let sessions = &self.0.sessions;
        let now = sessions.now();
        let mut state = self.state();
        let mut forget = std::mem::take(&mut state.forget);
        if state.data.is_empty() {
            // An empty session is not kept: its stored copy goes, and the cookie with it.
            if state.modified {
                forget.extend(state.id.take());
            }
            let stale_cookie = self.0.cookie.is_some() && (state.modified || !state.existed);
            return if forget.is_empty() && !stale_cookie {
                Outcome::Nothing
            } else {
                Outcome::Remove { forget, expire_cookie: self.0.cookie.is_some() }
            };
        }
        let created = state.created.unwrap_or(now);
        let expires = sessions.deadline(created, now);
        let refresh = state.existed
            && state.expires.is_some_and(|old| expires > old + (sessions.config.idle_timeout / 100));
        if !state.modified && !refresh {
            return Outcome::Nothing;
        }
        let id = match state.id.clone() {
            Some(id) => id,
            None => match SessionId::generate() {
                Ok(id) => id,
                Err(e) => return Outcome::Failed(e),
            },
        };
        let record = Record { id, data: state.data.clone(), created, expires };
        let max_age = expires.duration_since(now).unwrap_or(Duration::ZERO);
        Outcome::Save { record, forget, max_age }
    }

    pub(crate) fn sessions(&self) -> &Arc<Sessions> {
        &self.0.sessions
    }
}

/// What the layer does after the handler.
pub(crate) enum Outcome {
    Nothing,
    Save { record: Record, forget: Vec<SessionId>, max_age: Duration },
    Remove { forget: Vec<SessionId>, expire_cookie: bool },
    Failed(Error),
}

impl FromRequestParts for Session {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        Session::from_extensions(&parts.extensions).await
    }
}

/// The session cookie is the server's own: documents nothing.
impl DescribeInput for Session {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}
