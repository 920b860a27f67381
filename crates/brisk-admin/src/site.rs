//! The admin site shared by its pages: the registered models, where it is mounted, and who is
//! asking (a staff user, with the permissions of the model in the URL checked on every request).

use std::sync::Arc;

use brisk::extract::{FromRequestParts, RequestContext};
use brisk::http::header::LOCATION;
use brisk::http::request::Parts;
use brisk::http::{HeaderValue, StatusCode};
use brisk::openapi::{DescribeInput, DocContext, Operation};
use brisk::Error;
use brisk_auth::{AuthUser, User, UserPermissions};

use crate::history::Actor;
use crate::registry::Registered;

/// The registered models and the admin's path.
pub(crate) struct Site {
    pub(crate) prefix: String,
    pub(crate) models: Vec<Registered>,
    pub(crate) login_url: String,
}

#[derive(Clone)]
pub(crate) struct SharedSite(pub(crate) Arc<Site>);

impl Site {
    pub(crate) fn model(&self, app: &str, model: &str) -> Option<&Registered> {
        self.models.iter().find(|m| m.meta.app_label == app && m.model_slug() == model)
    }
}

/// A request of a logged-in, active staff user; anonymous browsers are sent to the login page,
/// others are refused (403).
pub(crate) struct StaffRequest {
    pub(crate) site: Arc<Site>,
    pub(crate) perms: UserPermissions<User>,
    pub(crate) actor: Actor,
    pub(crate) query: String,
}

impl StaffRequest {
    /// Whether the user may do `action` (`view`, `add`, `change`, `delete`) on `model`; a
    /// change permission gives view too, as in Django.
    pub(crate) async fn may(&self, model: &Registered, action: &str) -> Result<bool, Error> {
        let perm = |a: &str| format!("{}.{a}_{}", model.meta.app_label, model.model_slug());
        if self.perms.has(&perm(action)).await? {
            return Ok(true);
        }
        Ok(action == "view" && self.perms.has(&perm("change")).await?)
    }

    /// 403 unless [`StaffRequest::may`].
    pub(crate) async fn require(&self, model: &Registered, action: &str) -> Result<(), Error> {
        match self.may(model, action).await? {
            true => Ok(()),
            false => Err(Error::http(
                StatusCode::FORBIDDEN,
                format!("You do not have permission to {action} {}.", model.meta.verbose_name_plural),
            )),
        }
    }

    /// The registered model of the URL, or 404.
    pub(crate) fn model(&self, app: &str, model: &str) -> Result<Registered, Error> {
        self.site
            .model(app, model)
            .cloned()
            .ok_or_else(|| Error::http(StatusCode::NOT_FOUND, "No such model in the admin"))
    }
}

impl FromRequestParts for StaffRequest {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        let Some(site) = cx.state::<SharedSite>().map(|s| s.0.clone()) else {
            return Err(Error::internal("the admin is not installed"));
        };
        let perms = UserPermissions::<User>::from_request_parts(parts, cx).await?;
        let query = parts.uri.query().unwrap_or("").to_owned();
        let actor = match perms.user() {
            None => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let target = format!("{}?next={}", site.login_url, encode(next));
                let location = HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/"));
                return Err(Error::http(StatusCode::SEE_OTHER, "Log in to use the admin")
                    .with_header(LOCATION, location));
            }
            Some(user) if !(user.is_active() && user.is_staff()) => {
                return Err(Error::http(StatusCode::FORBIDDEN, "The admin is for staff users only."));
            }
            Some(user) => Actor { id: user.user_id(), username: user.username.clone() },
        };
        Ok(StaffRequest { site, perms, actor, query })
    }
}

impl DescribeInput for StaffRequest {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

/// `value` percent-encoded for a query string.
pub(crate) fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
