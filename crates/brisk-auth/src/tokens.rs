//! Personal access tokens: made per user, shown once, kept only as their SHA-256, with an
//! optional expiry and scopes; sent as `Authorization: Bearer brisk_...`, they act as their
//! user for every extractor ([`CurrentUser`](crate::CurrentUser), [`Permission`](crate::Permission) ...).
//! A token's scopes are permission names: a token with scopes grants only those of its user's
//! permissions; a token without scopes grants all of them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use brisk::prelude::*;
use brisk_orm::{DateTime, Executor, Model as _};
use sha2::{Digest, Sha256};

use crate::models::ApiToken;

/// Every token starts with this, so a leaked one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "brisk_";

/// A token just made: the only time its secret is seen.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewToken {
    /// The token's row (its id, name, prefix, scopes, expiry).
    pub id: i64,
    /// What its owner called it.
    pub name: String,
    /// The whole token: send it as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    /// Scopes (permission names), empty for all of the user's.
    pub scopes: Vec<String>,
    /// When it stops working, if ever.
    pub expires: Option<DateTime>,
}

/// What a token row shows in a list (never the secret).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenInfo {
    /// Its key: revoke it with `DELETE /auth/tokens/{id}`.
    pub id: i64,
    /// What its owner called it.
    pub name: String,
    /// The token's first characters.
    pub prefix: String,
    /// Scopes, empty for all.
    pub scopes: Vec<String>,
    /// When it was made.
    pub created: DateTime,
    /// When it stops working, if ever.
    pub expires: Option<DateTime>,
    /// When it was last used (to the minute).
    pub last_used: Option<DateTime>,
}

impl From<&ApiToken> for TokenInfo {
    fn from(t: &ApiToken) -> Self {
        TokenInfo {
            id: t.id.value(),
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            scopes: split_scopes(&t.scopes),
            created: t.created,
            expires: t.expires,
            last_used: t.last_used,
        }
    }
}

pub(crate) fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split_whitespace().map(str::to_owned).collect()
}

/// The hex SHA-256 of a token: what is stored and looked up. A token is 256 random bits, so
/// a fast hash is enough (nothing to guess), unlike a password.
pub fn digest(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a token for the user with key `user_id`: `expires_in` from now (`None`: never), with
/// `scopes` (permission names; empty for all).
pub async fn create(
    db: &impl Executor,
    user_id: i64,
    name: &str,
    scopes: &[String],
    expires_in: Option<std::time::Duration>,
) -> Result<NewToken, brisk::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| brisk::Error::internal(format!("no randomness for a token: {e}")))?;
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let expires =
        expires_in.map(|d| DateTime::from_micros(DateTime::now().timestamp_micros() + d.as_micros() as i64));
    let row = ApiToken {
        id: Default::default(),
        user_id,
        name: name.to_owned(),
        prefix: token.chars().take(TOKEN_PREFIX.len() + 6).collect(),
        digest: digest(&token),
        scopes: scopes.join(" "),
        created: DateTime::now(),
        expires,
        last_used: None,
    };
    let row = ApiToken::objects().create(row, db).await?;
    Ok(NewToken { id: row.id.value(), name: row.name, token, scopes: scopes.to_vec(), expires })
}

/// The live token `token` is, if any: known, not expired. Marks it used (at most once a minute).
pub async fn lookup(db: &impl Executor, token: &str) -> Result<Option<ApiToken>, brisk_orm::Error> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Ok(None);
    }
    let Some(row) = ApiToken::objects().filter(ApiToken::digest().eq(digest(token))).first(db).await? else {
        return Ok(None);
    };
    let now = DateTime::now();
    if row.expires.is_some_and(|e| e.timestamp_micros() <= now.timestamp_micros()) {
        return Ok(None);
    }
    let stale = row.last_used.is_none_or(|t| now.timestamp_micros() - t.timestamp_micros() > 60_000_000);
    if stale {
        ApiToken::objects()
            .filter(ApiToken::id().eq(row.id.value()))
            .update([ApiToken::last_used().set(now)], db)
            .await?;
    }
    Ok(Some(row))
}

/// The tokens of the user with key `user_id`, newest first.
pub async fn list(db: &impl Executor, user_id: i64) -> Result<Vec<TokenInfo>, brisk_orm::Error> {
    let rows = ApiToken::objects().filter(ApiToken::user_id().eq(user_id)).all(db).await?;
    Ok(rows.iter().map(TokenInfo::from).collect())
}

/// Revokes token `id` of the user with key `user_id`; false when there is no such token of theirs.
pub async fn revoke(db: &impl Executor, user_id: i64, id: i64) -> Result<bool, brisk_orm::Error> {
    let n = ApiToken::objects()
        .filter(ApiToken::id().eq(id).and(ApiToken::user_id().eq(user_id)))
        .delete(db)
        .await?;
    Ok(n > 0)
}

/// Revokes every token of the user with key `user_id`; returns how many.
pub async fn revoke_all(db: &impl Executor, user_id: i64) -> Result<u64, brisk_orm::Error> {
    ApiToken::objects().filter(ApiToken::user_id().eq(user_id)).delete(db).await
}
