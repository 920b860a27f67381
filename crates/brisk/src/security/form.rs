//! The form a client posts to an OAuth2 token URL.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::validation::Validate;

/// OAuth2's password grant form (`application/x-www-form-urlencoded`), as FastAPI's
/// `OAuth2PasswordRequestForm`: read it with `Form<OAuth2PasswordRequestForm>`.
#[derive(Clone, Deserialize, JsonSchema, Validate)]
pub struct OAuth2PasswordRequestForm {
    /// `password` when given.
    #[validate(pattern = "^password$")]
    pub grant_type: Option<String>,
    /// The user name.
    #[validate(min_length = 1)]
    pub username: String,
    /// The password (an empty form field counts as absent, so it is at least 1 character).
    #[validate(min_length = 1)]
    pub password: String,
    /// Requested scopes, separated by spaces.
    #[serde(default)]
    pub scope: String,
    /// The client id, if the client sends one.
    pub client_id: Option<String>,
    /// The client secret, if the client sends one.
    pub client_secret: Option<String>,
}

impl OAuth2PasswordRequestForm {
    /// The requested scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }
}

impl std::fmt::Debug for OAuth2PasswordRequestForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2PasswordRequestForm")
            .field("username", &self.username)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
