#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod accounts;
pub mod commands;
mod extract;
pub mod models;
pub mod password;
mod perm;
pub mod permissions;
pub mod routes;
pub mod throttle;
pub mod tokens;
mod user;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use brisk::sessions::SessionConfig;
use brisk::templates::EmbeddedTemplates;
use brisk::{App, Install};
use brisk_orm::Database;

pub use accounts::{check_username, AccountError, Accounts, LoginError};
pub use extract::{
    CurrentUser, LoginRequired, ObjectPermission, OptionalUser, Permission, Staff, Superuser, UserPermissions,
};
pub use models::{Group, User};
pub use password::{Argon2Cost, Hasher, PasswordValidators, Verified};
pub use perm::{PackedPerm, PermissionName, MAX_PERM_LEN};
pub use throttle::{Attempt, Counted, Throttle};
pub use user::{AuthUser, NewUser, UserOut};

brisk_orm::ship_migrations!();

/// The login and logout pages, under the template namespace `auth` (an app's own
/// `auth/login.html` replaces them; `auth/base.html` holds their page and style).
pub const TEMPLATES: EmbeddedTemplates = &[
    ("base.html", include_str!("../templates/auth/base.html")),
    ("login.html", include_str!("../templates/auth/login.html")),
    ("logged_out.html", include_str!("../templates/auth/logged_out.html")),
];

/// Where browsers go after logging in (when the form names no `next`).
#[derive(Debug, Clone)]
pub(crate) struct Redirects {
    pub(crate) after_login: String,
}

/// The login page's path, for [`LoginRequired`]'s redirect.
#[derive(Debug, Clone)]
pub(crate) struct LoginUrl(pub(crate) String);

/// brisk-auth, installed: `App::install(Auth::default())` (after the `Database`). It adds
///
/// - the `auth` app's models and migrations (`migrate` makes the tables, then the default
///   `view_`/`add_`/`change_`/`delete_` permissions of every model);
/// - the routes of [`routes`] under `/auth`, with the login and logout pages;
/// - [`Accounts`] and the extractors ([`CurrentUser`], [`Permission`] ...) for handlers;
/// - sessions, if the app did not turn them on itself (`SessionConfig::from_env()`), with
///   CSRF protection;
/// - the commands `createsuperuser` and `changepassword`;
/// - login throttling (on by default: see [`Throttle`]), its old counts pruned on a timer.
///
/// `Auth::<MyUser>::new()` uses the app's own user model (see [`AuthUser`]).
pub struct Auth<U: AuthUser = User> {
    hasher: Hasher,
    validators: PasswordValidators,
    throttle: Throttle,
    prefix: String,
    after_login: String,
    user: PhantomData<fn() -> U>,
}

impl Default for Auth<User> {
    fn default() -> Self {
        Auth::new()
    }
}

impl<U: AuthUser> Auth<U> {
    /// brisk-auth for user model `U`, with the defaults.
    pub fn new() -> Self {
        Auth {
            hasher: Hasher::default(),
            validators: PasswordValidators::default(),
            throttle: Throttle::default(),
            prefix: "/auth".to_owned(),
            after_login: "/".to_owned(),
            user: PhantomData,
        }
    }

    /// Argon2id's cost (default: OWASP's minimum). Stored hashes at another cost are rehashed
    /// at their user's next login.
    pub fn argon2(mut self, cost: Argon2Cost) -> Self {
        self.hasher = Hasher::new(cost);
        self
    }

    /// The password validators (default: [`PasswordValidators::default`]).
    pub fn validators(mut self, validators: PasswordValidators) -> Self {
        self.validators = validators;
        self
    }

    /// The login throttle (default: [`Throttle::default`]; [`Throttle::off`] for none).
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = throttle;
        self
    }

    /// Where the routes are mounted (default `/auth`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Where a browser goes after logging in from the form without `next` (default `/`).
    pub fn login_redirect(mut self, path: impl Into<String>) -> Self {
        self.after_login = path.into();
        self
    }

    /// The [`Accounts`] of these settings, outside a request (scripts, tests, seeding): it
    /// can do everything but log a session in (that needs the app's secret key).
    pub fn accounts(&self) -> Accounts<U> {
        Accounts::new(Arc::new(self.settings()), None)
    }

    fn settings(&self) -> accounts::Settings {
        accounts::Settings {
            hasher: self.hasher.clone(),
            validators: self.validators.clone(),
            throttle: self.throttle.clone(),
        }
    }
}

impl<U: AuthUser> Install for Auth<U> {
    fn install(self, app: App) -> App {
        let settings = Arc::new(self.settings());
        let db = app.state::<Database>().cloned();
        let shared =
            Arc::new(commands::Shared::<U> { settings: settings.clone(), db: db.clone(), user: PhantomData });
        let prefix = self.prefix.trim_end_matches('/').to_owned();
        let app = app
            .default_sessions(SessionConfig::from_env())
            .with_state(accounts::SharedSettings(settings.clone()))
            .with_state(Redirects { after_login: self.after_login })
            .with_state(LoginUrl(format!("{prefix}/login")))
            .template_namespace("auth", TEMPLATES)
            .nest(&prefix, routes::router::<U>())
            .command(commands::CreateSuperuser(shared.clone()))
            .command(commands::ChangePassword(shared));
        match db {
            Some(db) => prune_on_a_timer(app, db, settings.throttle.clone()),
            None => app,
        }
    }
}

/// Removes the login-failure counts whose window ended, once per window, until shutdown.
fn prune_on_a_timer(app: App, db: Database, throttle: Throttle) -> App {
    let timer: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>> = Arc::default();
    let stop = timer.clone();
    let every = throttle.window.max(Duration::from_secs(60));
    app.on_startup(move || async move {
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = throttle.prune(&db).await {
                    tracing::debug!(target: "brisk_auth", error = %e, "could not prune login failures");
                }
            }
        });
        *timer.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(())
    })
    .on_shutdown(move || async move {
        if let Some(task) = stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        Ok(())
    })
}

/// What the derive and `perm!` name; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::perm::{chunk, length};
}

/// What a module using brisk-auth needs: `use brisk_auth::prelude::*;`.
pub mod prelude {
    pub use crate::{
        perm, Accounts, Auth, AuthUser, CurrentUser, Group, LoginRequired, OptionalUser, Permission, Staff,
        Superuser, User, UserOut,
    };
}
