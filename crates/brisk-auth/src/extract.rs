//! The extractors that say who is asking: [`CurrentUser`] (401 when anonymous),
//! [`OptionalUser`], [`Staff`], [`Superuser`], [`Permission<P>`] (403 without it) and
//! [`LoginRequired`] (a browser is sent to the login page). Each finds the user once per
//! request — from an API token (`Authorization: Bearer brisk_...`) or the session cookie —
//! and documents the security schemes in OpenAPI.

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

use brisk::extract::{FromRequestParts, RequestContext};
use brisk::http::header::{AUTHORIZATION, LOCATION};
use brisk::http::request::Parts;
use brisk::http::{HeaderValue, StatusCode};
use brisk::openapi::{document_error, DescribeInput, DocContext, Operation};
use brisk::sessions::Session;
use brisk::Error;
use brisk_orm::Db;
use serde_json::json;

use crate::accounts::Accounts;
use crate::models::User;
use crate::perm::PermissionName;
use crate::tokens;
use crate::user::AuthUser;

/// Who the request is from, found once and kept in the request.
pub(crate) struct Resolved<U> {
    pub(crate) user: Option<U>,
    /// The scopes of the API token the request came with (`None`: the session, or a token
    /// without scopes — everything the user may do).
    pub(crate) scopes: Option<Vec<String>>,
    /// Whether it came with an API token (not the session).
    pub(crate) via_token: bool,
    perms: tokio::sync::OnceCell<BTreeSet<String>>,
}

/// The request's user (cached in its extensions after the first extractor finds it).
pub(crate) async fn resolve<U: AuthUser>(
    parts: &mut Parts,
    cx: &RequestContext,
) -> Result<Arc<Resolved<U>>, Error> {
    if let Some(found) = parts.extensions.get::<Arc<Resolved<U>>>() {
        return Ok(found.clone());
    }
    let accounts = Accounts::<U>::from_request_parts(parts, cx).await?;
    let db = Db::from_request_parts(parts, cx).await?;
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| t.starts_with(tokens::TOKEN_PREFIX));
    let resolved = match bearer {
        Some(token) => {
            let Some(row) = tokens::lookup(&db, token).await? else {
                return Err(brisk::security::unauthorized("Invalid or expired token", "Bearer"));
            };
            let user = accounts.get(&db, row.user_id).await?.filter(|u| u.is_active());
            if user.is_none() {
                return Err(brisk::security::unauthorized("Invalid or expired token", "Bearer"));
            }
            let scopes = tokens::split_scopes(&row.scopes);
            Resolved {
                user,
                scopes: (!scopes.is_empty()).then_some(scopes),
                via_token: true,
                perms: Default::default(),
            }
        }
        None => {
            let session = Session::from_extensions(&parts.extensions).await?;
            let user = accounts.session_user(&db, &session).await?;
            Resolved { user, scopes: None, via_token: false, perms: Default::default() }
        }
    };
    let resolved = Arc::new(resolved);
    parts.extensions.insert(resolved.clone());
    Ok(resolved)
}

/// Whether the request's user has `perm`, through its own permissions, its groups' or being
/// a superuser — and, for an API token with scopes, only if a scope names it.
pub(crate) async fn request_has_perm<U: AuthUser>(
    parts: &mut Parts,
    cx: &RequestContext,
    perm: &str,
) -> Result<bool, Error> {
    UserPermissions::<U>::from_request_parts(parts, cx).await?.has(perm).await
}

fn not_authenticated() -> Error {
    brisk::security::unauthorized("Not authenticated", "Bearer")
}

fn forbidden(detail: &str) -> Error {
    Error::http(StatusCode::FORBIDDEN, detail.to_owned())
}

/// Documents the two ways in (session cookie, API token) and the 401 (and, when `forbids`,
/// the 403) these extractors answer.
fn describe_security(cx: &mut DocContext, op: &mut Operation, forbids: bool) {
    cx.security_scheme(
        "sessionCookie",
        json!({"type": "apiKey", "in": "cookie", "name": "session",
               "description": "The session cookie set by POST /auth/login (`__Host-session` over HTTPS)."}),
    );
    cx.security_scheme(
        "apiToken",
        json!({"type": "http", "scheme": "bearer",
               "description": "A personal access token (`brisk_...`) made with POST /auth/tokens."}),
    );
    document_error(cx, op, 401, "Not authenticated");
    if forbids {
        document_error(cx, op, 403, "Not allowed");
    }
    for scheme in ["sessionCookie", "apiToken"] {
        let requirement = json!({ scheme: [] });
        if !op.security.contains(&requirement) {
            op.security.push(requirement);
        }
    }
}

macro_rules! user_extractor {
    ($(#[$doc:meta])* $name:ident, forbids = $forbids:expr, |$user:ident| $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<U: AuthUser = User>(pub U);

        impl<U: AuthUser> std::ops::Deref for $name<U> {
            type Target = U;
            fn deref(&self) -> &U {
                &self.0
            }
        }

        impl<U: AuthUser> $name<U> {
            /// The user.
            pub fn into_inner(self) -> U {
                self.0
            }

            /// The user as the API shows it.
            pub fn public(&self) -> U::Public {
                self.0.public()
            }
        }

        impl<U: AuthUser> FromRequestParts for $name<U> {
            async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
                let resolved = resolve::<U>(parts, cx).await?;
                let Some($user) = resolved.user.clone() else { return Err(not_authenticated()) };
                $check?;
                Ok($name($user))
            }
        }

        impl<U: AuthUser> DescribeInput for $name<U> {
            fn describe_input(cx: &mut DocContext, op: &mut Operation) {
                describe_security(cx, op, $forbids);
            }
        }
    };
}

user_extractor!(
    /// The logged-in user (by session cookie or API token); 401 when anonymous.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk_auth::{CurrentUser, UserOut};
    ///
    /// async fn me(user: CurrentUser) -> Json<UserOut> {
    ///     Json(user.public())
    /// }
    /// ```
    CurrentUser,
    forbids = false,
    |user| Ok::<(), Error>(())
);

user_extractor!(
    /// A logged-in staff user (may use the admin); 401 when anonymous, 403 otherwise.
    Staff,
    forbids = true,
    |user| if user.is_staff() { Ok(()) } else { Err(forbidden("Staff only")) }
);

user_extractor!(
    /// A logged-in superuser; 401 when anonymous, 403 otherwise.
    Superuser,
    forbids = true,
    |user| if user.is_superuser() { Ok(()) } else { Err(forbidden("Superusers only")) }
);

/// The logged-in user, or `None`: never refuses.
#[derive(Debug, Clone)]
pub struct OptionalUser<U: AuthUser = User>(pub Option<U>);

impl<U: AuthUser> FromRequestParts for OptionalUser<U> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        Ok(OptionalUser(resolve::<U>(parts, cx).await?.user.clone()))
    }
}

impl<U: AuthUser> DescribeInput for OptionalUser<U> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let mut inner = Operation::default();
        describe_security(cx, &mut inner, false);
        // Anonymous is allowed too: the empty requirement.
        op.security.extend(inner.security);
        if !op.security.contains(&json!({})) {
            op.security.push(json!({}));
        }
    }
}

/// The logged-in user, for HTML pages: an anonymous browser is sent (303) to the login page
/// with `?next=` the page it asked for, as Django's `login_required`.
#[derive(Debug, Clone)]
pub struct LoginRequired<U: AuthUser = User>(pub U);

impl<U: AuthUser> std::ops::Deref for LoginRequired<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U: AuthUser> FromRequestParts for LoginRequired<U> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        let resolved = resolve::<U>(parts, cx).await?;
        if let Some(user) = resolved.user.clone() {
            return Ok(LoginRequired(user));
        }
        let login = cx.state::<crate::LoginUrl>().map_or("/auth/login", |l| l.0.as_str());
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let target = format!("{login}?next={}", crate::routes::encode_query_value(next));
        let location = HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/auth/login"));
        Err(Error::http(StatusCode::SEE_OTHER, "Log in to see this page").with_header(LOCATION, location))
    }
}

impl<U: AuthUser> DescribeInput for LoginRequired<U> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        describe_security(cx, op, false);
    }
}

/// The logged-in user, who has permission `P` (`Permission<perm!("reports.view_report")>`):
/// through its own permissions, its groups', or being a superuser; an API token must also
/// have it among its scopes (when it has scopes). 401 when anonymous, 403 without it. The
/// user's permissions are read once per request, in one query.
///
/// ```
/// use brisk::prelude::*;
/// use brisk_auth::{perm, Permission};
///
/// async fn reports(user: Permission<perm!("reports.view_report")>) -> String {
///     format!("reports for {}", user.username)
/// }
/// ```
pub struct Permission<P: PermissionName, U: AuthUser = User> {
    /// The user.
    pub user: U,
    name: PhantomData<fn() -> P>,
}

impl<P: PermissionName, U: AuthUser> std::fmt::Debug for Permission<P, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permission").field("name", &P::NAME).field("user", &self.user.username()).finish()
    }
}

impl<P: PermissionName, U: AuthUser> std::ops::Deref for Permission<P, U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.user
    }
}

impl<P: PermissionName, U: AuthUser> FromRequestParts for Permission<P, U> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        let resolved = resolve::<U>(parts, cx).await?;
        let Some(user) = resolved.user.clone() else { return Err(not_authenticated()) };
        if !request_has_perm::<U>(parts, cx, P::NAME).await? {
            return Err(forbidden("You do not have permission to perform this action"));
        }
        Ok(Permission { user, name: PhantomData })
    }
}

impl<P: PermissionName, U: AuthUser> DescribeInput for Permission<P, U> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        describe_security(cx, op, true);
        let note = format!("Needs the permission `{}`.", P::NAME);
        match &mut op.description {
            Some(d) if !d.contains(&note) => {
                d.push_str("\n\n");
                d.push_str(&note);
            }
            Some(_) => {}
            None => op.description = Some(note),
        }
    }
}

/// The request's user and a cached check of their permissions, for code that decides at run
/// time which permission it needs (the admin checks `app.view_model` for the model in its URL).
/// Never refuses by itself: `user` is `None` for an anonymous request.
///
/// ```
/// use brisk::prelude::*;
/// use brisk_auth::UserPermissions;
///
/// async fn model_page(perms: UserPermissions, Path(model): Path<String>) -> Result<String> {
///     if !perms.has(&format!("shop.view_{model}")).await? {
///         return Err(brisk::Error::http(StatusCode::FORBIDDEN, "no"));
///     }
///     Ok(format!("{model} for {}", perms.user().map_or("?", |u| u.username.as_str())))
/// }
/// ```
pub struct UserPermissions<U: AuthUser = User> {
    resolved: Arc<Resolved<U>>,
    accounts: Accounts<U>,
    db: Db,
}

impl<U: AuthUser> UserPermissions<U> {
    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&U> {
        self.resolved.user.as_ref()
    }

    /// Whether the user has `perm` (`app_label.codename`): as [`Permission`] decides, with the
    /// user's permissions read once per request.
    pub async fn has(&self, perm: &str) -> Result<bool, Error> {
        let Some(user) = &self.resolved.user else { return Ok(false) };
        if self.resolved.scopes.as_ref().is_some_and(|scopes| !scopes.iter().any(|s| s == perm)) {
            return Ok(false);
        }
        if !user.is_active() {
            return Ok(false);
        }
        if user.is_superuser() {
            return Ok(true);
        }
        let perms = self.resolved.perms.get_or_try_init(|| self.accounts.permissions(&self.db, user)).await?;
        Ok(perms.contains(perm))
    }
}

impl<U: AuthUser> FromRequestParts for UserPermissions<U> {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        let resolved = resolve::<U>(parts, cx).await?;
        let accounts = Accounts::<U>::from_request_parts(parts, cx).await?;
        let db = Db::from_request_parts(parts, cx).await?;
        Ok(UserPermissions { resolved, accounts, db })
    }
}

impl<U: AuthUser> DescribeInput for UserPermissions<U> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        OptionalUser::<U>::describe_input(cx, op);
    }
}

/// Object-level permissions, for an app's own rules ("authors may edit their own posts"):
/// implement it for a model and ask [`Accounts::has_object_perm`](crate::Accounts::has_object_perm).
///
/// ```
/// use brisk_auth::{ObjectPermission, User};
///
/// struct Post { author_id: i64 }
///
/// impl ObjectPermission for Post {
///     fn permits(&self, user: &User, perm: &str) -> Option<bool> {
///         // Authors may change their own posts; for anything else, the model permission decides.
///         (perm == "blog.change_post" && self.author_id == user.id.value()).then_some(true)
///     }
/// }
/// ```
pub trait ObjectPermission<U: AuthUser = User> {
    /// `Some(true)` grants `perm` on this object, `Some(false)` refuses it whatever the user's
    /// permissions, `None` leaves it to the user's (model-level) permissions.
    fn permits(&self, user: &U, perm: &str) -> Option<bool>;
}

impl<U: AuthUser> Accounts<U> {
    /// Whether `user` has `perm` on `object`: active superusers always; otherwise the object's
    /// [`ObjectPermission::permits`] decides, or when it has no opinion the user's permissions.
    pub async fn has_object_perm(
        &self,
        db: &impl brisk_orm::Executor,
        user: &U,
        perm: &str,
        object: &impl ObjectPermission<U>,
    ) -> Result<bool, brisk_orm::Error> {
        if !user.is_active() {
            return Ok(false);
        }
        if user.is_superuser() {
            return Ok(true);
        }
        match object.permits(user, perm) {
            Some(decided) => Ok(decided),
            None => self.has_perm(db, user, perm).await,
        }
    }

    /// [`Accounts::has_object_perm`] as a 403 when refused.
    pub async fn require_object_perm(
        &self,
        db: &impl brisk_orm::Executor,
        user: &U,
        perm: &str,
        object: &impl ObjectPermission<U>,
    ) -> Result<(), Error> {
        match self.has_object_perm(db, user, perm, object).await? {
            true => Ok(()),
            false => Err(forbidden("You do not have permission to perform this action")),
        }
    }
}
