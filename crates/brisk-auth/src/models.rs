//! The `auth` app's tables: users, groups, permissions, API tokens and the login-failure
//! counters. Their migrations ship in this crate (`migrations/auth/`).

use brisk::prelude::*;
use brisk_orm::prelude::*;

/// A person who logs in (Django's `auth.User`). The password is kept only as a hash
/// (`password`, an Argon2id PHC string, or a Django hash until its first login). Serialize it
/// with [`User::public`](crate::AuthUser::public), never whole.
#[derive(Debug, Clone, Model)]
#[model(app_label = "auth", ordering = ["username"], verbose_name = "user")]
pub struct User {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// The name it logs in with: unique, 1 to 150 characters.
    #[model(unique, help_text = "Required. 150 characters or fewer.")]
    #[validate(min_length = 1, max_length = 150)]
    pub username: String,
    /// Its email address, or empty.
    #[validate(max_length = 254)]
    pub email: String,
    /// Given name, or empty.
    #[validate(max_length = 150)]
    pub first_name: String,
    /// Family name, or empty.
    #[validate(max_length = 150)]
    pub last_name: String,
    /// The password's hash; empty or `!...` means no password can log in.
    #[validate(max_length = 255)]
    pub password: String,
    /// Whether the user may log in at all; deactivate instead of deleting.
    #[model(default = true, help_text = "Unselect this instead of deleting accounts.")]
    pub is_active: bool,
    /// Whether the user may log into the admin.
    #[model(default = false)]
    pub is_staff: bool,
    /// Whether the user has every permission without being given it.
    #[model(default = false)]
    pub is_superuser: bool,
    /// The last successful login.
    pub last_login: Option<DateTime>,
    /// When the account was made.
    #[model(auto_now_add)]
    pub date_joined: DateTime,
    /// Bumped to end every session of the user at once ("log out everywhere").
    #[model(default = 0)]
    pub session_epoch: i64,
    /// The groups the user is in.
    pub groups: ManyToMany<Group>,
    /// Permissions given to the user directly (groups give more).
    pub user_permissions: ManyToMany<Permission>,
}

/// A named set of permissions users can be put in (Django's `auth.Group`).
#[derive(Debug, Clone, Model, Serialize)]
#[model(app_label = "auth", ordering = ["name"], verbose_name = "group")]
pub struct Group {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// Unique, 1 to 150 characters.
    #[model(unique)]
    #[validate(min_length = 1, max_length = 150)]
    pub name: String,
    /// What its members may do.
    pub permissions: ManyToMany<Permission>,
}

/// One thing a user may do, named `app_label.codename` (`blog.change_post`). `migrate` makes
/// `view_`, `add_`, `change_` and `delete_` for every model; an app adds its own rows.
#[derive(Debug, Clone, Model, Serialize)]
#[model(
    app_label = "auth",
    ordering = ["app_label", "codename"],
    unique_together(["app_label", "codename"]),
    verbose_name = "permission"
)]
pub struct Permission {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// What people read: "Can change post".
    #[validate(max_length = 255)]
    pub name: String,
    /// The app label of the model (or of the app) it is about.
    #[validate(max_length = 100)]
    pub app_label: String,
    /// The model it is about (lowercase name), or empty for an app-wide permission.
    #[validate(max_length = 100)]
    pub model: String,
    /// `change_post`.
    #[validate(max_length = 100)]
    pub codename: String,
}

/// A personal access token: sent as `Authorization: Bearer brisk_...`, kept only as its
/// SHA-256, shown once when made. See [`tokens`](crate::tokens).
#[derive(Debug, Clone, Model, Serialize)]
#[model(app_label = "auth", table = "auth_token", ordering = ["-created"], verbose_name = "API token")]
pub struct ApiToken {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// The user it acts as (the user model's key).
    #[model(index)]
    pub user_id: i64,
    /// What its owner called it.
    #[validate(max_length = 100)]
    pub name: String,
    /// The first characters of the token, to tell tokens apart in a list.
    #[validate(max_length = 16)]
    pub prefix: String,
    /// SHA-256 of the whole token, hex.
    #[model(unique)]
    #[serde(skip)]
    #[validate(max_length = 64)]
    pub digest: String,
    /// Scopes, separated by spaces; empty means everything the user may do.
    pub scopes: String,
    /// When it was made.
    #[model(auto_now_add)]
    pub created: DateTime,
    /// After this it is refused; `None` never expires.
    pub expires: Option<DateTime>,
    /// Last time it was used (updated at most once a minute).
    pub last_used: Option<DateTime>,
}

/// Failed logins for one key (`user:<name>` or `addr:<ip>`) in the current window: what
/// login throttling counts, kept in the database so it holds across processes and restarts.
#[derive(Debug, Clone, Model)]
#[model(app_label = "auth", table = "auth_loginfailure", verbose_name = "login failure count")]
pub struct LoginFailure {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// `user:<username>` or `addr:<ip>`.
    #[model(unique)]
    #[validate(max_length = 200)]
    pub key: String,
    /// Failures since `window_start`.
    pub failures: i64,
    /// When the window began (the first failure counted in it).
    pub window_start: DateTime,
}
