//! [`AuthUser`]: what brisk-auth needs of a user model, so that an app can bring its own
//! (Django's `AUTH_USER_MODEL`) — and the default [`User`]'s side of it.

use brisk::prelude::*;
use brisk_orm::{AutoId, DateTime, Field, ManyField};

use crate::models::{Group, Permission, User};
use crate::password::UserAttributes;

/// What a new user is made of (the password is hashed by the caller).
#[derive(Debug, Clone, Default)]
pub struct NewUser<'a> {
    /// The name it logs in with.
    pub username: &'a str,
    /// Its email address, or empty.
    pub email: &'a str,
    /// The password's hash.
    pub password_hash: String,
    /// May log into the admin.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
}

/// A user model brisk-auth can log in, check permissions of, and manage. [`User`] is the
/// default; an app with its own (extra fields, another table) derives `Model` for it with the
/// same fields — `username` (unique), `password`, `is_active`, `is_staff`, `is_superuser`,
/// `last_login`, `session_epoch` and the many-to-many `groups` and `user_permissions` — and
/// implements this trait by naming them, then installs `Auth::<MyUser>::new()`.
pub trait AuthUser: brisk_orm::Model<Pk = AutoId> + Clone + Send + Sync + 'static {
    /// What [`AuthUser::public`] gives: the user as the API shows it.
    type Public: Serialize + JsonSchema + Send + 'static;

    /// The primary key field.
    fn id_field() -> Field<Self, AutoId>;
    /// The unique login name's field.
    fn username_field() -> Field<Self, String>;
    /// The password hash's field.
    fn password_field() -> Field<Self, String>;
    /// The last login's field.
    fn last_login_field() -> Field<Self, Option<DateTime>>;
    /// The field bumped to end every session of the user.
    fn session_epoch_field() -> Field<Self, i64>;
    /// The user's groups.
    fn groups_field() -> ManyField<Self, Group>;
    /// The permissions given to the user directly.
    fn permissions_field() -> ManyField<Self, Permission>;

    /// The key's value.
    fn user_id(&self) -> i64 {
        self.pk().value()
    }
    /// The login name.
    fn username(&self) -> &str;
    /// The password hash.
    fn password_hash(&self) -> &str;
    /// The session epoch (see [`AuthUser::session_epoch_field`]).
    fn session_epoch(&self) -> i64;
    /// May log in at all.
    fn is_active(&self) -> bool;
    /// May log into the admin.
    fn is_staff(&self) -> bool;
    /// Has every permission.
    fn is_superuser(&self) -> bool;
    /// What the password may not resemble.
    fn attributes(&self) -> UserAttributes<'_>;
    /// The user as the API shows it (never the hash).
    fn public(&self) -> Self::Public;
    /// A new, unsaved user.
    fn new_user(new: NewUser<'_>) -> Self;
}

/// A user as the API shows it: [`User`]'s public fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserOut {
    /// Its key.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Email address, or empty.
    pub email: String,
    /// Given name, or empty.
    pub first_name: String,
    /// Family name, or empty.
    pub last_name: String,
    /// May log into the admin.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
}

impl AuthUser for User {
    type Public = UserOut;

    fn id_field() -> Field<Self, AutoId> {
        User::id()
    }
    fn username_field() -> Field<Self, String> {
        User::username()
    }
    fn password_field() -> Field<Self, String> {
        User::password()
    }
    fn last_login_field() -> Field<Self, Option<DateTime>> {
        User::last_login()
    }
    fn session_epoch_field() -> Field<Self, i64> {
        User::session_epoch()
    }
    fn groups_field() -> ManyField<Self, Group> {
        User::groups()
    }
    fn permissions_field() -> ManyField<Self, Permission> {
        User::user_permissions()
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn password_hash(&self) -> &str {
        &self.password
    }
    fn session_epoch(&self) -> i64 {
        self.session_epoch
    }
    fn is_active(&self) -> bool {
        self.is_active
    }
    fn is_staff(&self) -> bool {
        self.is_staff
    }
    fn is_superuser(&self) -> bool {
        self.is_superuser
    }
    fn attributes(&self) -> UserAttributes<'_> {
        UserAttributes {
            username: &self.username,
            email: &self.email,
            first_name: &self.first_name,
            last_name: &self.last_name,
        }
    }
    fn public(&self) -> UserOut {
        UserOut {
            id: self.id.value(),
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            is_staff: self.is_staff,
            is_superuser: self.is_superuser,
        }
    }
    fn new_user(new: NewUser<'_>) -> Self {
        User {
            id: AutoId::default(),
            username: new.username.to_owned(),
            email: new.email.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            password: new.password_hash,
            is_active: true,
            is_staff: new.is_staff || new.is_superuser,
            is_superuser: new.is_superuser,
            last_login: None,
            date_joined: DateTime::now(),
            session_epoch: 0,
            groups: Default::default(),
            user_permissions: Default::default(),
        }
    }
}
