//! Login and access control: `POST /token` (OAuth2 password form) issues a JWT for a demo user;
//! `GET /users/me` needs one; `GET /stats` needs one with the `admin` scope.
//!
//! The demo users come from `SHOWCASE_USERS` (`name:password:scope scope;name:password:`), by
//! default `alice:wonderland:admin` and `bob:builder:` (no scopes). Passwords are kept only
//! as Argon2id hashes. Tokens are signed with `SHOWCASE_JWT_SECRET`, or a random secret made at
//! start-up (tokens then die with the process).

use std::sync::Arc;

use brisk::prelude::*;
use brisk::security::jwt::{now, JwtKeys};
use brisk::security::password::{hash_password, verify_password};
use brisk::security::{
    insufficient_scope, OAuth2Flow, OAuth2PasswordBearer, OAuth2PasswordRequestForm, OAuth2Scoped,
    RequiredScopes,
};

use crate::items::Item;
use crate::store::Sessions;
use brisk_orm::{Db, Model};

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

const AUDIENCE: &str = "brisk-showcase";

/// The default demo users, hashed ahead of time (Argon2id, m=19 MiB, t=2, p=1): hashing them at
/// every start-up cost ~40 MiB of resident heap for nothing (see bench/README.md).
const DEFAULT_USERS: &[(&str, &str, &str)] = &[
    (
        "alice",
        "$argon2id$v=19$m=19456,t=2,p=1$A4jMSt4c5VLZ/LYONkov/Q$I9d3A/kVhpk+Ah2dkk1QID2E6V9ETCHkdTx+tOl3fhA",
        "admin",
    ),
    (
        "bob",
        "$argon2id$v=19$m=19456,t=2,p=1$EkdHutVybAiV7wL/ye40WA$CfwGI4bx+l3wZlvh4OZ5mfWDjIqjcBiY5HTfox8V6sc",
        "",
    ),
];

/// A hash unknown users are checked against, so a wrong name takes as long as a wrong password.
const DECOY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$4xjo3x2j4bQGI1BAqiDWuA$9z0LpC3uWEXAwbjM+F67NLrcihFertMfrOZUrKSTdz8";
const TOKEN_LIFETIME_SECS: u64 = 30 * 60;

struct DemoUser {
    username: String,
    password_hash: String,
    scopes: Vec<String>,
}

/// The demo users and the token keys.
#[derive(Clone)]
pub struct AuthConfig(Arc<(Vec<DemoUser>, JwtKeys, String)>);

impl AuthConfig {
    /// From `SHOWCASE_USERS` and `SHOWCASE_JWT_SECRET` (see the module docs).
    pub fn from_env() -> Result<Self, String> {
        let users = std::env::var("SHOWCASE_USERS").ok();
        let secret = match std::env::var("SHOWCASE_JWT_SECRET") {
            Ok(secret) if secret.len() >= 32 => secret.into_bytes(),
            Ok(_) => return Err("SHOWCASE_JWT_SECRET must be at least 32 bytes".to_owned()),
            Err(_) => {
                let mut bytes = vec![0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the JWT secret: {e}"))?;
                bytes
            }
        };
        match users {
            Some(users) => AuthConfig::new(&users, &secret),
            None => {
                let users = DEFAULT_USERS
                    .iter()
                    .map(|(name, hash, scopes)| DemoUser {
                        username: (*name).to_owned(),
                        password_hash: (*hash).to_owned(),
                        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                    })
                    .collect();
                Ok(AuthConfig(Arc::new((users, JwtKeys::hs256(&secret, AUDIENCE), DECOY.to_owned()))))
            }
        }
    }

    /// From a user list (`name:password:scopes;...`) and a secret.
    pub fn new(users: &str, secret: &[u8]) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for entry in users.split(';').filter(|e| !e.trim().is_empty()) {
            let mut fields = entry.splitn(3, ':');
            let (Some(name), Some(password)) = (fields.next(), fields.next()) else {
                return Err(format!("a SHOWCASE_USERS entry is not name:password:scopes: {entry:?}"));
            };
            let scopes = fields.next().unwrap_or("").split_whitespace().map(str::to_owned).collect();
            let password_hash = hash_password(password).map_err(|e| e.to_string())?;
            parsed.push(DemoUser { username: name.trim().to_owned(), password_hash, scopes });
        }
        Ok(AuthConfig(Arc::new((parsed, JwtKeys::hs256(secret, AUDIENCE), DECOY.to_owned()))))
    }

    fn user(&self, name: &str) -> Option<&DemoUser> {
        self.0 .0.iter().find(|u| u.username == name)
    }

    fn keys(&self) -> &JwtKeys {
        &self.0 .1
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
#[derive(Debug, ApiError)]
pub enum LoginError {
    /// Unknown user, or wrong password.
    #[api(status = 400, detail = "Incorrect username or password")]
    BadCredentials,
}

/// Log in.
///
/// OAuth2's password grant: the form's `username` and `password`, optionally `scope`. The
/// token grants the requested scopes the user has (all of them when none are requested).
#[brisk::endpoint(tags = ["auth"])]
async fn login(
    State(config): State<AuthConfig>,
    Form(form): Form<OAuth2PasswordRequestForm>,
) -> Result<Json<Token>, LoginError> {
    let user = config.user(&form.username);
    let hash = user.map_or(config.0 .2.as_str(), |u| u.password_hash.as_str());
    let password = form.password.clone();
    let hash = hash.to_owned();
    // Argon2 takes tens of milliseconds: off the async workers.
    let matches =
        tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        return Err(LoginError::BadCredentials);
    };
    let requested: Vec<&str> = form.scopes().collect();
    let granted: Vec<&str> = user
        .scopes
        .iter()
        .map(String::as_str)
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
    let access_token = config.keys().encode(&claims).map_err(|_| LoginError::BadCredentials)?;
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

fn user_from_token(config: &AuthConfig, token: &str) -> Result<CurrentUser> {
    let claims: Claims = config.keys().decode(token)?;
    if config.user(&claims.sub).is_none() {
        return Err(brisk::security::unauthorized("Could not validate credentials", "Bearer"));
    }
    Ok(CurrentUser {
        username: claims.sub,
        scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
    })
}

impl Dependency for CurrentUser {
    type Inputs = (OAuth2PasswordBearer<ShowcaseAuth>, State<AuthConfig>);
    async fn provide((bearer, State(config)): Self::Inputs, _: &Scope) -> Result<Self> {
        user_from_token(&config, &bearer.token)
    }
}

/// A user whose token grants `admin`.
#[derive(Clone)]
pub struct AdminUser(pub CurrentUser);

impl Dependency for AdminUser {
    type Inputs = (OAuth2Scoped<ShowcaseAuth, AdminScope>, State<AuthConfig>);
    async fn provide((bearer, State(config)): Self::Inputs, _: &Scope) -> Result<Self> {
        let user = user_from_token(&config, &bearer.token)?;
        let missing = bearer.required().iter().any(|s| !user.scopes.iter().any(|have| have == s));
        if missing {
            return Err(insufficient_scope(bearer.required()));
        }
        Ok(AdminUser(user))
    }
}

/// The current user.
#[brisk::endpoint(tags = ["auth"])]
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
