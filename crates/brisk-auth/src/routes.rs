//! The routes [`Auth`](crate::Auth) mounts (under `/auth` by default):
//!
//! | route | what |
//! |---|---|
//! | `GET /auth/login` | the login page (template `auth/login.html`) |
//! | `POST /auth/login` | JSON `{"username", "password"}` → the user; a form → a redirect to `next` |
//! | `POST /auth/logout` | ends the session (JSON: 204; a form: the `auth/logged_out.html` page) |
//! | `POST /auth/logout-everywhere` | ends every session of the user |
//! | `GET /auth/me` | the logged-in user |
//! | `POST /auth/password` | changes the password (`old_password`, `new_password`) |
//! | `GET`/`POST /auth/tokens`, `DELETE /auth/tokens/{id}` | personal access tokens |

use std::marker::PhantomData;

use brisk::extract::{ClientAddr, Form, FromRequest, Json, RequestContext};
use brisk::http::header::CONTENT_TYPE;
use brisk::openapi::{document_error, DescribeInput, DescribeOutput, DocContext, Operation, ResponseDoc};
use brisk::prelude::*;
use brisk::sessions::Session;
use brisk::templates::{context, Templates};
use brisk_orm::Db;
use serde_json::json;

use crate::accounts::{AccountError, Accounts, LoginError};
use crate::extract::{resolve, CurrentUser};
use crate::tokens::{self, NewToken, TokenInfo};
use crate::user::AuthUser;
use crate::Redirects;

/// What `POST /auth/login` reads, as JSON or as a form.
#[derive(Debug, Clone, Deserialize, JsonSchema, Validate)]
pub struct LoginIn {
    /// The login name.
    #[validate(min_length = 1, max_length = 150)]
    pub username: String,
    /// The password (an empty form field counts as absent, so it is at least 1 character).
    #[validate(min_length = 1, max_length = 4096)]
    pub password: String,
    /// Where a browser goes after logging in (a path of this site); forms only.
    #[serde(default)]
    #[validate(max_length = 2000)]
    pub next: Option<String>,
}

/// The login body and whether it came from an HTML form.
pub(crate) struct LoginBody {
    login: LoginIn,
    from_form: bool,
}

impl FromRequest for LoginBody {
    async fn from_request(req: brisk::extract::Request, cx: &RequestContext) -> Result<Self, brisk::Error> {
        // A form is urlencoded (an HTML form) or multipart (`FormData`, `curl -F`).
        let form = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let v = v.trim_start().to_ascii_lowercase();
            v.starts_with("application/x-www-form-urlencoded") || v.starts_with("multipart/form-data")
        });
        if form {
            let Form(login) = Form::<LoginIn>::from_request(req, cx).await?;
            Ok(LoginBody { login, from_form: true })
        } else {
            let Json(login) = Json::<LoginIn>::from_request(req, cx).await.map_err(|e| {
                if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    brisk::Error::unsupported_media_type(&[
                        "application/json",
                        "application/x-www-form-urlencoded",
                        "multipart/form-data",
                    ])
                } else {
                    e
                }
            })?;
            Ok(LoginBody { login, from_form: false })
        }
    }
}

impl DescribeInput for LoginBody {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let mut form = Operation::default();
        Form::<LoginIn>::describe_input(cx, &mut form);
        Json::<LoginIn>::describe_input(cx, op);
        if let (Some(body), Some(form)) = (op.request_body.as_mut(), form.request_body) {
            body.content.extend(form.content);
        }
    }
}

/// The answer of `POST /auth/login`: the user (JSON), a redirect or the page again (forms).
pub(crate) struct LoginAnswer<U>(Response, PhantomData<fn() -> U>);

impl<U> IntoResponse for LoginAnswer<U> {
    fn into_response(self) -> Response {
        self.0
    }
}

impl<U: AuthUser> DescribeOutput for LoginAnswer<U> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        let schema = cx.output_schema::<U::Public>();
        op.add_response(
            "200",
            ResponseDoc::new("Logged in: the session cookie is set").with_content("application/json", schema),
        );
        op.add_response("303", ResponseDoc::new("Logged in from the HTML form: on to `next`"));
        document_error(cx, op, 400, "Incorrect username or password");
        document_error(cx, op, 429, "Too many failed login attempts (see Retry-After)");
        // A form sent from the login page gets the page again, with the message.
        let page = json!({"type": "string"});
        for status in ["400", "429"] {
            op.add_response(
                status,
                ResponseDoc::new("The login page again, with the message")
                    .with_content("text/html", page.clone()),
            );
        }
    }
}

/// `next` if it is a path of this site (never another origin: `//evil`, `/\evil`, `https:`).
pub(crate) fn safe_next(next: Option<&str>) -> Option<&str> {
    let next = next?.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    ok.then_some(next)
}

/// `value` percent-encoded for a query string (as `application/x-www-form-urlencoded`).
pub(crate) fn encode_query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Query of the login page.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub(crate) struct LoginPageQuery {
    /// Where to go after logging in.
    #[serde(default)]
    #[validate(max_length = 2000)]
    next: Option<String>,
}

/// The login page.
pub(crate) async fn login_page(tpl: Templates, Query(q): Query<LoginPageQuery>) -> Result<Template> {
    let next = safe_next(q.next.as_deref()).unwrap_or("");
    tpl.render("auth/login.html", context! { next, username => "", error => "" })
}

/// The client's address as login throttling counts it: the TCP peer, or the header the
/// throttle is told to trust (behind a proxy).
pub(crate) struct LoginClient(Option<std::net::IpAddr>);

impl brisk::extract::FromRequestParts for LoginClient {
    async fn from_request_parts(
        parts: &mut brisk::http::request::Parts,
        cx: &RequestContext,
    ) -> Result<Self> {
        let peer = ClientAddr::current().map(|a| a.ip());
        let addr = match cx.state::<crate::accounts::SharedSettings>() {
            Some(settings) => settings.0.throttle.client(&parts.headers, peer),
            None => peer,
        };
        Ok(LoginClient(addr))
    }
}

impl DescribeInput for LoginClient {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

/// Log in.
pub(crate) async fn login<U: AuthUser>(
    accounts: Accounts<U>,
    db: Db,
    session: Session,
    tpl: Templates,
    State(redirects): State<Redirects>,
    LoginClient(addr): LoginClient,
    body: LoginBody,
) -> Result<LoginAnswer<U>> {
    let LoginBody { login, from_form } = body;
    let answer = match accounts.authenticate(&db, &login.username, &login.password, addr).await {
        Ok(user) => {
            accounts.login(&db, &session, &user).await?;
            if from_form {
                let to = safe_next(login.next.as_deref()).unwrap_or(&redirects.after_login).to_owned();
                Redirect::to(to).into_response()
            } else {
                Json(user.public()).into_response()
            }
        }
        Err(LoginError::Database(e)) => return Err(e.into()),
        Err(refused) if from_form => {
            let status = match refused {
                LoginError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            };
            let next = safe_next(login.next.as_deref()).unwrap_or("");
            let error = refused.to_string();
            let page = tpl.render_status(
                status,
                "auth/login.html",
                context! { next, username => login.username, error },
            )?;
            let mut res = page.into_response();
            if let Some(retry) =
                brisk::Error::from(refused).headers().and_then(|h| h.get(brisk::http::header::RETRY_AFTER))
            {
                res.headers_mut().insert(brisk::http::header::RETRY_AFTER, retry.clone());
            }
            res
        }
        Err(refused) => return Err(refused.into()),
    };
    Ok(LoginAnswer(answer, PhantomData))
}

/// What `POST /auth/logout` answers: 204, or the logged-out page for a form.
pub(crate) struct LogoutAnswer(Response);

impl IntoResponse for LogoutAnswer {
    fn into_response(self) -> Response {
        self.0
    }
}

impl DescribeOutput for LogoutAnswer {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("204", ResponseDoc::new("Logged out: the session is deleted"));
        op.add_response(
            "200",
            ResponseDoc::new("Logged out from the HTML form")
                .with_content("text/html", json!({"type": "string"})),
        );
    }
}

fn is_form(headers: &brisk::http::HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        let v = v.trim_start().to_ascii_lowercase();
        v.starts_with("application/x-www-form-urlencoded") || v.starts_with("multipart/form-data")
    })
}

/// Log out.
pub(crate) async fn logout<U: AuthUser>(
    accounts: Accounts<U>,
    session: Session,
    tpl: Templates,
    headers: brisk::http::HeaderMap,
) -> Result<LogoutAnswer> {
    accounts.logout(&session);
    if is_form(&headers) {
        return Ok(LogoutAnswer(tpl.render("auth/logged_out.html", context! {})?.into_response()));
    }
    Ok(LogoutAnswer(StatusCode::NO_CONTENT.into_response()))
}

/// Log out everywhere: ends every session of the user, this one included.
pub(crate) async fn logout_everywhere<U: AuthUser>(
    accounts: Accounts<U>,
    db: Db,
    session: Session,
    user: CurrentUser<U>,
) -> Result<StatusCode> {
    accounts.logout_everywhere(&db, &user).await?;
    accounts.logout(&session);
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in user.
pub(crate) async fn me<U: AuthUser>(user: CurrentUser<U>) -> Json<U::Public> {
    Json(user.public())
}

/// What `POST /auth/password` reads.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct PasswordChange {
    /// The password now.
    #[validate(max_length = 4096)]
    pub old_password: String,
    /// The new one (checked by the password validators).
    #[validate(max_length = 4096)]
    pub new_password: String,
}

/// Change the password. Every other session of the user ends; this one stays logged in.
pub(crate) async fn change_password<U: AuthUser>(
    accounts: Accounts<U>,
    db: Db,
    session: Session,
    user: CurrentUser<U>,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode> {
    let mut user = user.into_inner();
    let verified = accounts.hasher().verify_blocking(&change.old_password, Some(user.password_hash())).await;
    if !verified.is_match() {
        return Err(AccountError::Invalid(vec![(
            "old_password",
            "Your old password was entered incorrectly.".into(),
        )])
        .into());
    }
    accounts.set_password(&db, &mut user, &change.new_password).await?;
    accounts.update_session(&session, &user)?;
    Ok(StatusCode::NO_CONTENT)
}

/// What `POST /auth/tokens` reads.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct TokenRequest {
    /// A name to tell the token apart ("CI deploy").
    #[validate(min_length = 1, max_length = 100)]
    pub name: String,
    /// Permission names the token may use (each one the user has); empty for all of them.
    #[serde(default)]
    #[validate(max_length = 100)]
    pub scopes: Vec<String>,
    /// Days until it stops working; none for never.
    #[serde(default)]
    #[validate(ge = 1, le = 3650)]
    pub expires_in_days: Option<u32>,
}

/// Refuses token management through a token: a token must not mint or revoke tokens.
async fn by_session<U: AuthUser>(parts: &mut brisk::http::request::Parts, cx: &RequestContext) -> Result<()> {
    let resolved = resolve::<U>(parts, cx).await?;
    if resolved.via_token {
        return Err(brisk::Error::http(
            StatusCode::FORBIDDEN,
            "Manage tokens from a logged-in session, not with a token",
        ));
    }
    Ok(())
}

/// A session login, not an API token (for the token routes).
pub(crate) struct SessionLogin<U>(PhantomData<fn() -> U>);

impl<U: AuthUser> brisk::extract::FromRequestParts for SessionLogin<U> {
    async fn from_request_parts(
        parts: &mut brisk::http::request::Parts,
        cx: &RequestContext,
    ) -> Result<Self> {
        by_session::<U>(parts, cx).await?;
        Ok(SessionLogin(PhantomData))
    }
}

impl<U: AuthUser> DescribeInput for SessionLogin<U> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        document_error(cx, op, 403, "Not allowed");
    }
}

/// Make a personal access token: the token is in the answer, and only there.
pub(crate) async fn create_token<U: AuthUser>(
    accounts: Accounts<U>,
    db: Db,
    user: CurrentUser<U>,
    _session: SessionLogin<U>,
    Json(request): Json<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>)> {
    if !request.scopes.is_empty() {
        let mut problems = Vec::new();
        for scope in &request.scopes {
            if !accounts.has_perm(&db, &user, scope).await? {
                problems.push(("scopes", format!("You do not have the permission {scope:?}.")));
            }
        }
        if !problems.is_empty() {
            return Err(AccountError::Invalid(problems).into());
        }
    }
    let expires = request.expires_in_days.map(|d| std::time::Duration::from_secs(u64::from(d) * 86_400));
    let token = tokens::create(&db, user.user_id(), &request.name, &request.scopes, expires).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// The user's personal access tokens (never their secrets).
pub(crate) async fn list_tokens<U: AuthUser>(db: Db, user: CurrentUser<U>) -> Result<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&db, user.user_id()).await?))
}

/// Revoke a personal access token.
pub(crate) async fn revoke_token<U: AuthUser>(
    db: Db,
    user: CurrentUser<U>,
    _session: SessionLogin<U>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    match tokens::revoke(&db, user.user_id(), id).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(brisk::Error::http(StatusCode::NOT_FOUND, "No such token")),
    }
}

/// The routes, for a user model `U`.
pub(crate) fn router<U: AuthUser>() -> Router {
    Router::new()
        .route("/login", get(login_page).name("auth.login").post(login::<U>))
        .route("/logout", post(logout::<U>).name("auth.logout"))
        .route("/logout-everywhere", post(logout_everywhere::<U>))
        .route("/me", get(me::<U>))
        .route("/password", post(change_password::<U>))
        .route("/tokens", get(list_tokens::<U>).post(create_token::<U>))
        .route("/tokens/{id}", delete(revoke_token::<U>))
        .tag("auth")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed_after_login() {
        assert_eq!(safe_next(Some("/notes?page=2")), Some("/notes?page=2"));
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "evil", "", "/a\nb"] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_next(None), None);
    }

    #[test]
    fn next_values_are_encoded() {
        assert_eq!(encode_query_value("/notes?page=2&x=é"), "%2Fnotes%3Fpage%3D2%26x%3D%C3%A9");
    }
}
