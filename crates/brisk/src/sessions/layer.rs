//! The layer that gives each request its [`Session`] and, after the handler, saves it and sets
//! (or expires) the cookie.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{SET_COOKIE, VARY};
use http::HeaderValue;
use tower_layer::Layer;
use tower_service::Service;

use super::session::{Outcome, Session, Sessions};
use crate::extract::{parse_cookies, Request};
use crate::handler::BoxFuture;
use crate::response::{IntoResponse, Response};
use crate::routing::Route;

/// Wraps the app: see [`App::sessions`](crate::App::sessions).
#[derive(Clone)]
pub(crate) struct SessionLayer(pub(crate) Arc<Sessions>);

impl Layer<Route> for SessionLayer {
    type Service = SessionService;

    fn layer(&self, inner: Route) -> SessionService {
        SessionService { sessions: self.0.clone(), inner }
    }
}

/// The service [`SessionLayer`] builds.
#[derive(Clone)]
pub(crate) struct SessionService {
    sessions: Arc<Sessions>,
    inner: Route,
}

impl Service<Request> for SessionService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let config = &self.sessions.config;
        let secure = config.is_secure(&parts);
        let name = config.name_for(secure);
        let cookie = parse_cookies(&parts.headers)
            .into_iter()
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| v.into_owned());
        let session = Session::new(self.sessions.clone(), cookie);
        parts.extensions.insert(session.clone());
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut res = inner.call(Request::from_parts(parts, body)).await;
            finish(&session, &mut res, &name, secure).await;
            Ok(res)
        })
    }
}

/// Saves what the request changed and tells the browser.
async fn finish(session: &Session, res: &mut Response, name: &str, secure: bool) {
    let sessions = session.sessions().clone();
    let outcome = session.outcome();
    if !matches!(outcome, Outcome::Nothing) || session.is_loaded() {
        // The answer depends on the cookie: shared caches must not serve it to others.
        res.headers_mut().append(VARY, HeaderValue::from_static("Cookie"));
    }
    let forget = |ids: Vec<super::SessionId>| {
        let sessions = sessions.clone();
        async move {
            for id in ids {
                if let Err(e) = sessions.store.delete(&id).await {
                    tracing::warn!(target: "brisk::sessions", error = %e, "could not delete a session");
                }
            }
        }
    };
    let set_cookie = |res: &mut Response, value: &str, max_age| {
        let cookie = sessions.config.set_cookie(name, value, max_age, secure);
        match HeaderValue::try_from(cookie) {
            Ok(cookie) => {
                res.headers_mut().append(SET_COOKIE, cookie);
            }
            Err(e) => {
                tracing::error!(target: "brisk::sessions", error = %e, "the session cookie is not a valid header")
            }
        }
    };
    match outcome {
        Outcome::Nothing => {}
        Outcome::Save { record, forget: old, max_age } => match sessions.store.save(&record).await {
            Ok(value) => {
                set_cookie(res, &value, Some(max_age));
                forget(old).await;
            }
            // The handler's answer said it worked; without its session it did not.
            Err(e) => *res = e.into_response(),
        },
        Outcome::Remove { forget: old, expire_cookie } => {
            forget(old).await;
            if expire_cookie {
                set_cookie(res, "", None);
            }
        }
        Outcome::Failed(e) => *res = e.into_response(),
    }
}
