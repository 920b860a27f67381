//! Login and access control, on brisk-auth's users (the `auth_user` table):
//!
//! - `POST /token` (OAuth2 password form) checks the password with brisk-auth — throttled, and
//!   an unknown name costs what a wrong password costs — and issues a JWT;
//! - `GET /users/me` needs one; `GET /stats` needs one with the `admin` scope;
//! - browsers log in with brisk-auth's form at `/auth/login` (the `/ui` page links to it).
//!
//! The demo users `alice`/`wonderland` and `bob`/`builder` are made by the data migration
//! `showcase/0002_demo_users` (see [`crate::demo_users`]) with Argon2id hashes computed ahead
//! of time, so nothing is hashed at start-up. alice is in the group `admins`, which has the
//! permission `showcase.view_stats`: a token gets the `admin` scope when its user has that
//! permission (superusers have every permission). More users: `showcase createsuperuser`, and
//! `showcase changepassword NAME` changes a password. `SHOWCASE_USERS` is no longer read.
//!
//! Tokens are signed with `SHOWCASE_JWT_SECRET`, or a random secret made at start-up (tokens
//! then die with the process). A token names its user, who must still exist and be active
//! when the token is used.

use std::sync::Arc;
use std::time::Duration;

use brisk::extract::ClientAddr;
use brisk::http::HeaderMap;
use brisk::openapi::{document_error, DescribeOutput, DocContext, Operation};
use brisk::prelude::*;
use brisk::security::jwt::{now, JwtKeys};
use brisk::security::{
    insufficient_scope, OAuth2Flow, OAuth2PasswordBearer, OAuth2PasswordRequestForm, OAuth2Scoped,
    RequiredScopes,
};
use brisk_auth::{Accounts, Auth, AuthUser, User};
use brisk_orm::{Db, Model};

use crate::items::Item;
use crate::store::Sessions;

/// The showcase's OAuth2 password flow.
pub struct ShowcaseAuth;

impl OAuth2Flow for ShowcaseAuth {
    const TOKEN_URL: &'static str = "/token";
    const SCOPES: &'static [(&'static str, &'static str)] = &[("admin", "Read server statistics")];
}

/// The scopes `GET /stats` requires.
pub struct AdminScope;

impl RequiredScopes for AdminScope {
    const SCOPES: &'static [&'static str] = &["admin"];
}

/// Each OAuth2 scope and the permission (`app_label.codename`) a user needs to be granted it
/// (`showcase.view_stats` is made by [`crate::demo_users`]).
pub const SCOPE_PERMISSIONS: &[(&str, &str)] = &[("admin", "showcase.view_stats")];

const AUDIENCE: &str = "brisk-showcase";
const TOKEN_LIFETIME_SECS: u64 = 30 * 60;

/// brisk-auth as the showcase installs it: its defaults (Argon2id at OWASP's minimum, the
/// cost of the seeded hashes, so they are never rehashed), and `/ui` as the page a browser
/// lands on after logging in from a form that names no `next`.
pub fn settings() -> Auth {
    Auth::default().login_redirect("/ui")
}

/// The keys `POST /token` signs its JWTs with.
#[derive(Clone)]
pub struct AuthConfig(Arc<JwtKeys>);

impl AuthConfig {
    /// From `SHOWCASE_JWT_SECRET` (at least 32 bytes), or a random secret when it is not set.
    pub fn from_env() -> Result<Self, String> {
        let secret = match std::env::var("SHOWCASE_JWT_SECRET") {
            Ok(secret) if secret.len() >= 32 => secret.into_bytes(),
            Ok(_) => return Err("SHOWCASE_JWT_SECRET must be at least 32 bytes".to_owned()),
            Err(_) => {
                let mut bytes = vec![0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the JWT secret: {e}"))?;
                bytes
            }
        };
        Ok(AuthConfig::new(&secret))
    }

    /// Tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        AuthConfig(Arc::new(JwtKeys::hs256(secret, AUDIENCE)))
    }

    fn keys(&self) -> &JwtKeys {
        &self.0
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    scope: String,
}

/// What `POST /token` answers.
#[derive(Serialize, JsonSchema)]
pub struct Token {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// The scopes granted, separated by spaces (fewer than asked when the user lacks some).
    pub scope: String,
}

/// What the token endpoint can refuse.
#[derive(Debug)]
pub enum LoginError {
    /// Unknown user, wrong password or a deactivated user (a client cannot tell which): 400.
    BadCredentials,
    /// Too many failed logins for this username or from this address: 429 with `Retry-After`.
    Throttled(Duration),
    /// The database, or signing the token, failed.
    Server(brisk::Error),
}

impl From<brisk_auth::LoginError> for LoginError {
    fn from(e: brisk_auth::LoginError) -> Self {
        match e {
            brisk_auth::LoginError::Invalid => LoginError::BadCredentials,
            brisk_auth::LoginError::Throttled(wait) => LoginError::Throttled(wait),
            brisk_auth::LoginError::Database(e) => LoginError::Server(e.into()),
        }
    }
}

impl From<brisk_orm::Error> for LoginError {
    fn from(e: brisk_orm::Error) -> Self {
        LoginError::Server(e.into())
    }
}

impl From<LoginError> for brisk::Error {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::BadCredentials => brisk_auth::LoginError::Invalid.into(),
            LoginError::Throttled(wait) => brisk_auth::LoginError::Throttled(wait).into(),
            LoginError::Server(e) => e,
        }
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        brisk::Error::from(self).into_response()
    }
}

impl DescribeOutput for LoginError {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        document_error(cx, op, 400, "Incorrect username or password");
        document_error(cx, op, 429, "Too many failed login attempts (see Retry-After)");
    }
}

/// The OAuth2 scopes `user` may be granted: those whose permission it has (see
/// [`SCOPE_PERMISSIONS`]).
pub async fn scopes_of(
    accounts: &Accounts,
    db: &Db,
    user: &User,
) -> Result<Vec<&'static str>, brisk_orm::Error> {
    let mut scopes = Vec::new();
    for (scope, perm) in SCOPE_PERMISSIONS {
        if accounts.has_perm(db, user, perm).await? {
            scopes.push(*scope);
        }
    }
    Ok(scopes)
}

/// Log in.
///
/// OAuth2's password grant: the form's `username` and `password`, optionally `scope`. The
/// token grants the requested scopes the user has (all of them when none are requested).
/// Failed logins are throttled per username and per address.
// The operation ids stay what they were before brisk-auth brought handlers of the same names.
#[brisk::endpoint(tags = ["auth"], operation_id = "login")]
async fn login(
    accounts: Accounts,
    db: Db,
    headers: HeaderMap,
    State(config): State<AuthConfig>,
    Form(form): Form<OAuth2PasswordRequestForm>,
) -> Result<Json<Token>, LoginError> {
    let client = accounts.throttle().client(&headers, ClientAddr::current().map(|a| a.ip()));
    let user = accounts.authenticate(&db, &form.username, &form.password, client).await?;
    let requested: Vec<&str> = form.scopes().collect();
    let granted: Vec<&str> = scopes_of(&accounts, &db, &user)
        .await?
        .into_iter()
        .filter(|s| requested.is_empty() || requested.contains(s))
        .collect();
    let issued = now();
    let claims = Claims {
        sub: user.username.clone(),
        aud: AUDIENCE.to_owned(),
        exp: issued + TOKEN_LIFETIME_SECS,
        iat: issued,
        scope: granted.join(" "),
    };
    let access_token = config.keys().encode(&claims).map_err(|e| {
        LoginError::Server(brisk::Error::internal(format!("the token could not be signed: {e}")))
    })?;
    Ok(Json(Token { access_token, token_type: "bearer", scope: claims.scope }))
}

/// The user a valid token names.
#[derive(Clone, Serialize, JsonSchema)]
pub struct CurrentUser {
    /// The user's name.
    pub username: String,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
}

/// The token's claims and the user they name, who must exist and be active.
async fn user_from_token(
    config: &AuthConfig,
    accounts: &Accounts,
    db: &Db,
    token: &str,
) -> Result<(CurrentUser, User)> {
    let claims: Claims = config.keys().decode(token)?;
    let Some(user) = accounts.find(db, &claims.sub).await?.filter(|u| u.is_active()) else {
        return Err(brisk::security::unauthorized("Could not validate credentials", "Bearer"));
    };
    let current = CurrentUser {
        username: claims.sub,
        scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
    };
    Ok((current, user))
}

impl Dependency for CurrentUser {
    type Inputs = (OAuth2PasswordBearer<ShowcaseAuth>, State<AuthConfig>, Accounts, Db);
    async fn provide((bearer, State(config), accounts, db): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(user_from_token(&config, &accounts, &db, &bearer.token).await?.0)
    }
}

/// A user whose token grants `admin`, and who still has its permission.
#[derive(Clone)]
pub struct AdminUser(pub CurrentUser);

impl Dependency for AdminUser {
    type Inputs = (OAuth2Scoped<ShowcaseAuth, AdminScope>, State<AuthConfig>, Accounts, Db);
    async fn provide((bearer, State(config), accounts, db): Self::Inputs, _: &Scope) -> Result<Self> {
        let (current, user) = user_from_token(&config, &accounts, &db, &bearer.token).await?;
        let in_token = bearer.required().iter().all(|s| current.scopes.iter().any(|have| have == s));
        // A permission taken away since the token was issued counts at once.
        let still_granted = scopes_of(&accounts, &db, &user).await?;
        if !in_token || !bearer.required().iter().all(|s| still_granted.contains(s)) {
            return Err(insufficient_scope(bearer.required()));
        }
        Ok(AdminUser(current))
    }
}

/// The current user.
#[brisk::endpoint(tags = ["auth"], operation_id = "me")]
async fn me(Depends(user): Depends<CurrentUser>) -> Json<CurrentUser> {
    Json(user)
}

/// Server statistics (needs the `admin` scope).
#[derive(Serialize, JsonSchema)]
pub struct Stats {
    /// Items stored now.
    pub items: i64,
    /// Database sessions opened since start-up.
    pub sessions_opened: u64,
    /// Database sessions open now (teardown closes them after each response).
    pub sessions_open: u64,
    /// Calls of the (stand-in) model: each runs one batch of next-token steps.
    pub model_batches: u64,
    /// Next-token steps run, over all batches.
    pub model_steps: u64,
}

/// Server statistics.
///
/// Needs a token with the `admin` scope.
#[brisk::endpoint(tags = ["auth"])]
async fn stats(
    Depends(_admin): Depends<AdminUser>,
    db: Db,
    State(sessions): State<Sessions>,
    State(model): State<crate::chat::Model>,
) -> Result<Json<Stats>> {
    let (opened, open) = sessions.counts();
    let metrics = model.metrics();
    Ok(Json(Stats {
        items: Item::objects().count(&db).await?,
        sessions_opened: opened,
        sessions_open: open,
        model_batches: metrics.batches,
        model_steps: metrics.items,
    }))
}

/// The auth routes.
pub fn router() -> Router {
    Router::new().route("/token", post(login)).route("/users/me", get(me)).route("/stats", get(stats))
}
