//! How an app turns sessions on: [`App::sessions`], the default store a battery installs, and
//! the layers, hooks and checks added when the app is built.

use std::sync::{Arc, Mutex};

use super::config::SessionConfig;
use super::cookie_store::CookieStore;
use super::layer::SessionLayer;
use super::session::Sessions;
use super::store::SessionStore;
use crate::app::{App, BuildError};
use crate::error::BoxError;
use crate::secret_key::SecretKey;

/// What the app was told about sessions, applied when it is built (so the order of
/// `sessions`, `csrf` and `install` calls does not matter).
#[derive(Default)]
pub(crate) struct AppSessions {
    config: Option<SessionConfig>,
    /// What a battery that needs sessions turned on (brisk-auth), used when the app does not.
    default_config: Option<SessionConfig>,
    default_store: Option<Arc<dyn SessionStore>>,
    /// The store used when no battery installs a default one (brisk-orm's database store).
    fallback_store: Option<Arc<dyn SessionStore>>,
    #[cfg(feature = "csrf")]
    pub(crate) csrf: Option<crate::csrf::Csrf>,
}

impl App {
    /// Turns sessions on: every request gets a [`Session`](super::Session), saved after the
    /// handler when it changed. CSRF protection comes with them, on by default (feature `csrf`):
    /// see `App::csrf` to configure it or turn it off.
    ///
    /// Needs feature `sessions`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::sessions::{Session, SessionConfig};
    ///
    /// async fn remember(session: Session, Path(id): Path<u64>) -> Result<&'static str> {
    ///     session.insert("last_seen", id)?;
    ///     Ok("noted")
    /// }
    ///
    /// let app = App::new().sessions(SessionConfig::from_env()).route("/items/{id}", post(remember));
    /// ```
    ///
    /// When the app is built the secret key is resolved ([`SecretKey::from_env`] unless the
    /// config has one): a missing key in production or a weak key stops the build with a
    /// sentence saying how to make one. The key is also shared as `State<SecretKey>`. The store
    /// is the config's, else a battery's default (brisk-redis's), else the fallback
    /// (brisk-orm's `Database` gives its `DatabaseStore`), else the signed [`CookieStore`]. Before the server accepts
    /// connections the store is prepared, and expired sessions are removed on a timer (see
    /// [`SessionConfig::cleanup_interval`]).
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions.config = Some(config);
        self
    }

    /// Turns sessions on with `config` unless the app turns them on itself with
    /// [`App::sessions`] (before or after): what a battery that needs sessions installs
    /// (brisk-auth). The first default given is kept.
    ///
    /// Needs feature `sessions`.
    pub fn default_sessions(mut self, config: SessionConfig) -> Self {
        if self.sessions.default_config.is_none() {
            self.sessions.default_config = Some(config);
        }
        self
    }

    /// The store [`App::sessions`] uses when its config names none: what a battery installs
    /// (brisk-redis's `Redis` installs its store). The last given wins; without one, the
    /// [`App::fallback_session_store`], else the signed cookie.
    ///
    /// Needs feature `sessions`.
    pub fn default_session_store(mut self, store: impl SessionStore) -> Self {
        self.sessions.default_store = Some(Arc::new(store));
        self
    }

    /// The store [`App::sessions`] uses when neither its config nor a battery's
    /// [`App::default_session_store`] names one, whatever the order they were installed in:
    /// brisk-orm's `Database` gives its `DatabaseStore` this way, so brisk-redis's store wins
    /// when both are installed. Without any, the signed cookie.
    ///
    /// Needs feature `sessions`.
    pub fn fallback_session_store(mut self, store: impl SessionStore) -> Self {
        self.sessions.fallback_store = Some(Arc::new(store));
        self
    }
}

/// Adds the session (and CSRF) layers and hooks the app was told about; called as the app is
/// built, after every other layer, so these wrap them all.
pub(crate) fn apply(mut app: App) -> Result<App, BuildError> {
    let setup = std::mem::take(&mut app.sessions);
    let Some(mut config) = setup.config.or(setup.default_config) else {
        #[cfg(feature = "csrf")]
        if setup.csrf.as_ref().is_some_and(|csrf| csrf.enabled) {
            return Err(BuildError(vec![
                "App::csrf protects requests that carry the session cookie, and the app has no sessions: \
                 add App::sessions(SessionConfig::from_env())"
                    .into(),
            ]));
        }
        return Ok(app);
    };
    let mut problems = std::mem::take(&mut config.problems);
    let key = match config.key.clone().map_or_else(SecretKey::from_env, Ok) {
        Ok(key) => Some(key),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    #[cfg(feature = "csrf")]
    let csrf = match crate::csrf::layer(setup.csrf.unwrap_or_default()) {
        Ok(layer) => layer,
        Err(mut more) => {
            problems.append(&mut more);
            None
        }
    };
    let (Some(key), true) = (key, problems.is_empty()) else {
        return Err(BuildError(problems));
    };
    #[cfg(not(feature = "csrf"))]
    tracing::warn!(
        target: "brisk::sessions",
        "sessions are on without CSRF protection: enable brisk's `csrf` feature (it includes `sessions`)"
    );
    let store = config
        .store
        .clone()
        .or(setup.default_store)
        .or(setup.fallback_store)
        .unwrap_or_else(|| Arc::new(CookieStore::new(&key)));
    let sessions = Arc::new(Sessions { config, store });
    app = app.with_state(key);
    #[cfg(feature = "csrf")]
    if let Some(csrf) = csrf {
        app = app.layer(csrf);
    }
    app = app.layer(SessionLayer(sessions.clone()));
    #[cfg(feature = "templates")]
    {
        app = super::in_templates::wire(app);
    }
    Ok(with_hooks(app, sessions))
}

/// Prepares the store at start-up, then removes expired sessions on a timer until shutdown.
fn with_hooks(app: App, sessions: Arc<Sessions>) -> App {
    let timer: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>> = Arc::default();
    let stop = timer.clone();
    app.on_startup(move || async move {
        sessions.store.prepare().await.map_err(|e| -> BoxError { format!("the session store: {e}").into() })?;
        if let Some(every) = sessions.config.cleanup_interval {
            let cleaning = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match sessions.store.delete_expired(sessions.now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(target: "brisk::sessions", removed = n, "expired sessions removed"),
                        Err(e) => tracing::warn!(target: "brisk::sessions", error = %e, "could not remove expired sessions"),
                    }
                }
            });
            *timer.lock().unwrap_or_else(|p| p.into_inner()) = Some(cleaning);
        }
        Ok(())
    })
    .on_shutdown(move || async move {
        if let Some(cleaning) = stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            cleaning.abort();
        }
        Ok(())
    })
}
