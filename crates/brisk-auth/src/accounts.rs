//! [`Accounts`]: what brisk-auth does with users — check a login (throttled, without telling
//! unknown names from wrong passwords), log a session in and out, make users, change
//! passwords, and answer permission questions. Handlers take it as an argument; the commands
//! and tests build it from an [`Auth`](crate::Auth).

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use brisk::extract::{FromRequestParts, RequestContext};
use brisk::http::request::Parts;
use brisk::http::{HeaderValue, StatusCode};
use brisk::openapi::{DescribeInput, DocContext, Operation};
use brisk::rate_limit::RateLimitStore;
use brisk::secret_key::SecretKey;
use brisk::sessions::Session;
use brisk_orm::{DateTime, Executor, Raw};

use crate::models::User;
use crate::password::{Hasher, PasswordErrors, PasswordValidators, Verified};
use crate::throttle::{Attempt, Throttle};
use crate::user::{AuthUser, NewUser};

/// The session keys a logged-in session holds.
pub(crate) const USER_ID_KEY: &str = "_auth_user_id";
pub(crate) const USER_HASH_KEY: &str = "_auth_user_hash";

/// The settings [`Accounts`] runs with; made by [`Auth`](crate::Auth).
pub(crate) struct Settings {
    pub(crate) hasher: Hasher,
    pub(crate) validators: PasswordValidators,
    pub(crate) throttle: Throttle,
}

/// What brisk-auth does with users of model `U` (see the module docs). Cheap to clone.
///
/// ```no_run
/// use brisk::prelude::*;
/// use brisk::sessions::Session;
/// use brisk_auth::Accounts;
/// use brisk_orm::Db;
///
/// async fn end_everything(accounts: Accounts, user: brisk_auth::CurrentUser, db: Db) -> Result<&'static str> {
///     accounts.logout_everywhere(&db, &user).await?; // every session of the user ends
///     Ok("done")
/// }
/// ```
pub struct Accounts<U: AuthUser = User> {
    settings: Arc<Settings>,
    key: Option<SecretKey>,
    /// The app's rate-limit store when every process shares it (Redis): the login throttle
    /// counts there unless its settings name a store.
    shared_store: Option<Arc<dyn RateLimitStore>>,
    user: PhantomData<fn() -> U>,
}

impl<U: AuthUser> Clone for Accounts<U> {
    fn clone(&self) -> Self {
        Accounts {
            settings: self.settings.clone(),
            key: self.key.clone(),
            shared_store: self.shared_store.clone(),
            user: PhantomData,
        }
    }
}

impl<U: AuthUser> std::fmt::Debug for Accounts<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("user_model", &U::META.name)
            .field("throttle", &self.settings.throttle)
            .finish_non_exhaustive()
    }
}

/// Why a login was refused. Unknown user, wrong password and deactivated user are one
/// variant on purpose: a client cannot tell them apart.
#[derive(Debug)]
pub enum LoginError {
    /// Unknown username, wrong password, or a deactivated user.
    Invalid,
    /// Too many failures for this username or address; try again after this long.
    Throttled(Duration),
    /// The database failed.
    Database(brisk_orm::Error),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Invalid => f.write_str("Incorrect username or password"),
            LoginError::Throttled(_) => f.write_str("Too many failed login attempts; try again later"),
            LoginError::Database(e) => write!(f, "{e}"),
        }
    }
}

impl From<brisk_orm::Error> for LoginError {
    fn from(e: brisk_orm::Error) -> Self {
        LoginError::Database(e)
    }
}

impl From<LoginError> for brisk::Error {
    /// 400 `{"detail": "Incorrect username or password"}`; 429 with `Retry-After`.
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Invalid => brisk::Error::http(StatusCode::BAD_REQUEST, e.to_string()),
            LoginError::Throttled(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                brisk::Error::http(StatusCode::TOO_MANY_REQUESTS, e.to_string())
                    .with_header(brisk::http::header::RETRY_AFTER, HeaderValue::from(secs.max(1)))
            }
            LoginError::Database(e) => e.into(),
        }
    }
}

/// Why a user could not be made or given a password: messages per field (`username`,
/// `password`), or the database's error.
#[derive(Debug)]
pub enum AccountError {
    /// What is wrong, by field.
    Invalid(Vec<(&'static str, String)>),
    /// The database failed.
    Database(brisk_orm::Error),
    /// Hashing failed.
    Hash(crate::password::HashError),
}

impl std::fmt::Display for AccountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountError::Invalid(problems) => {
                let parts: Vec<String> = problems.iter().map(|(field, m)| format!("{field}: {m}")).collect();
                f.write_str(&parts.join(" "))
            }
            AccountError::Database(e) => write!(f, "{e}"),
            AccountError::Hash(e) => write!(f, "{e}"),
        }
    }
}

impl From<brisk_orm::Error> for AccountError {
    fn from(e: brisk_orm::Error) -> Self {
        AccountError::Database(e)
    }
}

impl From<crate::password::HashError> for AccountError {
    fn from(e: crate::password::HashError) -> Self {
        AccountError::Hash(e)
    }
}

impl From<AccountError> for brisk::Error {
    /// 422 in FastAPI's shape, one entry per problem (`loc: ["body", field]`).
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(problems) => {
                let detail: Vec<serde_json::Value> = problems
                    .iter()
                    .map(|(field, msg)| {
                        serde_json::json!({"type": "value_error", "loc": ["body", field], "msg": msg, "input": null})
                    })
                    .collect();
                brisk::Error::http(StatusCode::UNPROCESSABLE_ENTITY, serde_json::Value::from(detail))
            }
            AccountError::Database(e) => e.into(),
            AccountError::Hash(e) => brisk::Error::internal(e.to_string()),
        }
    }
}

/// Django's username rule: 1 to 150 characters, letters, digits and `@ . + - _`.
pub fn check_username(username: &str) -> Result<(), String> {
    let n = username.chars().count();
    if n == 0 {
        return Err("A username is required.".into());
    }
    if n > 150 {
        return Err("A username has at most 150 characters.".into());
    }
    if !username.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
        return Err("Enter a valid username: letters, digits and @/./+/-/_ only.".into());
    }
    Ok(())
}

impl<U: AuthUser> Accounts<U> {
    pub(crate) fn new(settings: Arc<Settings>, key: Option<SecretKey>) -> Self {
        Accounts { settings, key, shared_store: None, user: PhantomData }
    }

    /// Counts login failures in the app's rate-limit `store` when the throttle's settings name
    /// none and every process shares it (see [`RateLimitStore::is_shared`]).
    pub(crate) fn with_app_store(mut self, store: Option<&Arc<dyn RateLimitStore>>) -> Self {
        self.shared_store = store.filter(|s| s.is_shared()).cloned();
        self
    }

    /// The password hasher.
    pub fn hasher(&self) -> &Hasher {
        &self.settings.hasher
    }

    /// The password validators.
    pub fn validators(&self) -> &PasswordValidators {
        &self.settings.validators
    }

    /// The login throttle [`Accounts::authenticate`] uses — for a login view of your own: the
    /// configured one, counting in the app's rate-limit store when every process shares it
    /// (brisk-redis's) and the throttle names no store of its own.
    pub fn throttle(&self) -> Throttle {
        match (&self.settings.throttle.store, &self.shared_store) {
            (None, Some(store)) => Throttle { store: Some(store.clone()), ..self.settings.throttle.clone() },
            _ => self.settings.throttle.clone(),
        }
    }

    /// The user called `username`, if any.
    pub async fn find(&self, db: &impl Executor, username: &str) -> Result<Option<U>, brisk_orm::Error> {
        U::objects().filter(U::username_field().eq(username)).first(db).await
    }

    /// The user with key `id`, if any.
    pub async fn get(&self, db: &impl Executor, id: i64) -> Result<Option<U>, brisk_orm::Error> {
        U::objects().filter(U::id_field().eq(id)).first(db).await
    }

    /// Checks a login: the user when `password` is theirs and they are active. Throttled (see
    /// [`Throttle`]: the attempt is counted before the password is checked); an unknown name
    /// costs the same hashing as a wrong password, and every refusal is the same
    /// [`LoginError::Invalid`]. Under `atomic_requests` on SQLite the failure's count is the
    /// request's write, so a failed login marks the request's transaction to be kept
    /// ([`Transaction::keep_on_error`](brisk_orm::Transaction::keep_on_error)): whatever else
    /// the handler wrote before it is kept too when it then answers with an error. A right
    /// password whose hash is old (a Django hash, an older cost) is rehashed. Failures are
    /// logged, never the password.
    pub async fn authenticate(
        &self,
        db: &impl Executor,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<U, LoginError> {
        let throttle = self.throttle();
        // Counted before the password is checked: attempts made at once cannot all pass.
        let counted = match throttle.attempt(db, username, client).await? {
            Attempt::Counted(counted) => counted,
            Attempt::Refused(wait) => {
                tracing::warn!(target: "brisk_auth", username, client = ?client, "login refused: too many failures");
                return Err(LoginError::Throttled(wait));
            }
        };
        let user = self.find(db, username).await?;
        let verified =
            self.settings.hasher.verify_blocking(password, user.as_ref().map(|u| u.password_hash())).await;
        match (user, verified) {
            (Some(user), Verified::Match { needs_rehash }) if user.is_active() => {
                throttle.succeeded(db, counted).await?;
                if needs_rehash {
                    if let Ok(hash) = self.settings.hasher.hash_blocking(password).await {
                        U::objects()
                            .filter(U::id_field().eq(user.user_id()))
                            .update([U::password_field().set(hash)], db)
                            .await?;
                        // The session must bind to the hash now stored.
                        return Ok(self.get(db, user.user_id()).await?.unwrap_or(user));
                    }
                }
                Ok(user)
            }
            _ => {
                throttle.failed(db, counted);
                tracing::warn!(target: "brisk_auth", username, client = ?client, "login failed");
                Err(LoginError::Invalid)
            }
        }
    }

    /// The tag that binds a session to the user's password hash and session epoch: a new
    /// password, or [`Accounts::logout_everywhere`], makes every other session's tag wrong.
    fn session_tag(&self, user: &U) -> Result<String, brisk::Error> {
        let Some(key) = &self.key else {
            return Err(brisk::Error::internal("brisk-auth needs the app's sessions (and their secret key)"));
        };
        let message = format!("{}\n{}\n{}", user.user_id(), user.session_epoch(), user.password_hash());
        Ok(URL_SAFE_NO_PAD.encode(key.signer("brisk-auth.session").sign(message.as_bytes())))
    }

    /// Logs `user` into `session`: a new session id (an id planted before login is worthless
    /// after it) and CSRF secret, the user and its binding tag stored, `last_login` set.
    pub async fn login(&self, db: &impl Executor, session: &Session, user: &U) -> Result<(), brisk::Error> {
        let tag = self.session_tag(user)?;
        session.cycle_id();
        session.insert(USER_ID_KEY, user.user_id())?;
        session.insert(USER_HASH_KEY, tag)?;
        U::objects()
            .filter(U::id_field().eq(user.user_id()))
            .update([U::last_login_field().set(DateTime::now())], db)
            .await?;
        Ok(())
    }

    /// Keeps `session` logged in after `user`'s password changed in it (Django's
    /// `update_session_auth_hash`); the user's other sessions stay ended.
    pub fn update_session(&self, session: &Session, user: &U) -> Result<(), brisk::Error> {
        session.insert(USER_HASH_KEY, self.session_tag(user)?)?;
        Ok(())
    }

    /// Logs the session out: its data is removed and it is deleted from the store, so its
    /// cookie is worthless even if kept.
    pub fn logout(&self, session: &Session) {
        session.flush();
    }

    /// Ends every session of `user`, wherever it is (its tag no longer matches).
    pub async fn logout_everywhere(&self, db: &impl Executor, user: &U) -> Result<(), brisk_orm::Error> {
        U::objects()
            .filter(U::id_field().eq(user.user_id()))
            .update([U::session_epoch_field().set(U::session_epoch_field() + 1)], db)
            .await?;
        Ok(())
    }

    /// The user `session` is logged in as: `None` when anonymous, when the user is gone or
    /// deactivated, or when the session's tag no longer matches (password changed, logged out
    /// everywhere) — then the session is flushed.
    pub async fn session_user(
        &self,
        db: &impl Executor,
        session: &Session,
    ) -> Result<Option<U>, brisk::Error> {
        let Some(id) = session.get::<i64>(USER_ID_KEY).ok().flatten() else { return Ok(None) };
        let tag = session.get::<String>(USER_HASH_KEY).ok().flatten().unwrap_or_default();
        let user = self.get(db, id).await?;
        match user {
            Some(user) if user.is_active() => {
                let expected = self.session_tag(&user)?;
                if brisk::security::constant_time_eq(expected.as_bytes(), tag.as_bytes()) {
                    return Ok(Some(user));
                }
                session.flush();
                Ok(None)
            }
            _ => {
                session.flush();
                Ok(None)
            }
        }
    }

    /// Checks `password` for `user` against the validators.
    pub fn validate_password(&self, password: &str, user: &U) -> Result<(), PasswordErrors> {
        self.settings.validators.validate(password, &user.attributes())
    }

    /// Makes a user: the username checked (and free), the password checked by the validators
    /// and hashed. `None` as password makes a user who cannot log in with one.
    pub async fn create_user(
        &self,
        db: &impl Executor,
        username: &str,
        email: &str,
        password: Option<&str>,
        superuser: bool,
    ) -> Result<U, AccountError> {
        let mut problems = Vec::new();
        if let Err(m) = check_username(username) {
            problems.push(("username", m));
        } else if self.find(db, username).await?.is_some() {
            problems.push(("username", "A user with that username already exists.".to_owned()));
        }
        if email.len() > 254 || (!email.is_empty() && !email.contains('@')) {
            problems.push(("email", "Enter a valid email address.".to_owned()));
        }
        let draft = U::new_user(NewUser {
            username,
            email,
            password_hash: String::new(),
            is_staff: superuser,
            is_superuser: superuser,
        });
        if let Some(password) = password {
            if let Err(errors) = self.validate_password(password, &draft) {
                problems.extend(errors.0.into_iter().map(|m| ("password", m)));
            }
        }
        if !problems.is_empty() {
            return Err(AccountError::Invalid(problems));
        }
        let password_hash = match password {
            Some(password) => self.settings.hasher.hash_blocking(password).await?,
            None => "!".to_owned(),
        };
        let user = U::new_user(NewUser {
            username,
            email,
            password_hash,
            is_staff: superuser,
            is_superuser: superuser,
        });
        match U::objects().create(user, db).await {
            Ok(user) => Ok(user),
            Err(brisk_orm::Error::UniqueViolation { .. }) => Err(AccountError::Invalid(vec![(
                "username",
                "A user with that username already exists.".to_owned(),
            )])),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives `user` a new password (checked by the validators): every session of the user
    /// ends, as its binding tag changes; keep the current one with [`Accounts::update_session`].
    pub async fn set_password(
        &self,
        db: &impl Executor,
        user: &mut U,
        password: &str,
    ) -> Result<(), AccountError> {
        if let Err(errors) = self.validate_password(password, user) {
            return Err(AccountError::Invalid(errors.0.into_iter().map(|m| ("password", m)).collect()));
        }
        let hash = self.settings.hasher.hash_blocking(password).await?;
        U::objects()
            .filter(U::id_field().eq(user.user_id()))
            .update([U::password_field().set(hash)], db)
            .await?;
        if let Some(fresh) = self.get(db, user.user_id()).await? {
            *user = fresh;
        }
        Ok(())
    }

    /// Every permission `user` has, as `app_label.codename`: its own and its groups', in one
    /// query. An inactive user has none; a superuser's are not listed (it has all: see
    /// [`Accounts::has_perm`]).
    pub async fn permissions(
        &self,
        db: &impl Executor,
        user: &U,
    ) -> Result<BTreeSet<String>, brisk_orm::Error> {
        if !user.is_active() {
            return Ok(BTreeSet::new());
        }
        let own = *U::permissions_field().meta();
        let groups = *U::groups_field().meta();
        let group_perms = *crate::models::Group::permissions().meta();
        let sql = format!(
            "SELECT p.app_label, p.codename FROM auth_permission p JOIN {own_t} l ON l.{own_to} = p.id WHERE l.{own_from} = ? \
             UNION SELECT p.app_label, p.codename FROM auth_permission p \
             JOIN {gp_t} gp ON gp.{gp_to} = p.id JOIN {ug_t} ug ON ug.{ug_to} = gp.{gp_from} WHERE ug.{ug_from} = ?",
            own_t = quote(own.through),
            own_to = quote(own.to_column),
            own_from = quote(own.from_column),
            gp_t = quote(group_perms.through),
            gp_to = quote(group_perms.to_column),
            gp_from = quote(group_perms.from_column),
            ug_t = quote(groups.through),
            ug_to = quote(groups.to_column),
            ug_from = quote(groups.from_column),
        );
        let rows: Vec<(String, String)> =
            Raw::new(sql).bind(user.user_id()).bind(user.user_id()).fetch(db).await?;
        Ok(rows.into_iter().map(|(app, code)| format!("{app}.{code}")).collect())
    }

    /// Whether `user` has permission `perm` (`app_label.codename`): active superusers have
    /// all; an inactive user none.
    pub async fn has_perm(&self, db: &impl Executor, user: &U, perm: &str) -> Result<bool, brisk_orm::Error> {
        if !user.is_active() {
            return Ok(false);
        }
        if user.is_superuser() {
            return Ok(true);
        }
        Ok(self.permissions(db, user).await?.contains(perm))
    }
}

/// A table or column name, quoted for both backends.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The installed [`Auth`](crate::Auth)'s settings, shared as state.
#[derive(Clone)]
pub(crate) struct SharedSettings(pub(crate) Arc<Settings>);

impl<U: AuthUser> FromRequestParts for Accounts<U> {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, brisk::Error> {
        let Some(settings) = cx.state::<SharedSettings>() else {
            return Err(brisk::Error::internal("brisk-auth is not installed: App::install(Auth::default())"));
        };
        Ok(Accounts::new(settings.0.clone(), cx.state::<SecretKey>().cloned())
            .with_app_store(cx.state::<Arc<dyn RateLimitStore>>()))
    }
}

/// The server's own: documents nothing.
impl<U: AuthUser> DescribeInput for Accounts<U> {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

// `ModelExt` is what gives `U::objects().update(...)`'s rows `save`; imported for callers'
// generic code paths.
const _: fn() = || {
    fn assert_model_ext<T: brisk_orm::ModelExt>() {}
    assert_model_ext::<User>();
};
