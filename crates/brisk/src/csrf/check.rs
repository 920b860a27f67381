//! The check itself: which requests are checked, tower-http's `Sec-Fetch-Site` / `Origin`
//! check, then the token when the browser sent neither header.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use tower::ServiceExt;
use tower_http::csrf::{ProtectionError, ProtectionErrorKind};
use tower_layer::Layer;
use tower_service::Service;

use super::refusal::{refusal, wants_html};
use super::token::{verify, CsrfToken};
use crate::body::Body;
use crate::error::Error;
use crate::extract::Request;
use crate::handler::BoxFuture;
use crate::response::{IntoResponse, Response};
use crate::routing::Route;
use crate::sessions::Session;

/// What the app's CSRF check follows.
pub(crate) struct Rules {
    /// tower-http's layer, with the trusted origins.
    pub(crate) origins: tower_http::csrf::CsrfLayer,
    pub(crate) exempt: Vec<String>,
    pub(crate) form_limit: usize,
}

/// Wraps the app inside the session layer (it reads the request's [`Session`]).
#[derive(Clone)]
pub(crate) struct CsrfLayer(pub(crate) Arc<Rules>);

impl Layer<Route> for CsrfLayer {
    type Service = CsrfService;

    fn layer(&self, inner: Route) -> CsrfService {
        let token = TokenCheck { inner: inner.clone(), form_limit: self.0.form_limit };
        CsrfService { rules: self.0.clone(), checked: self.0.origins.layer(token), inner }
    }
}

/// The service [`CsrfLayer`] builds: unchecked requests go straight to `inner`, the others
/// through tower-http's check and then [`TokenCheck`].
#[derive(Clone)]
pub(crate) struct CsrfService {
    rules: Arc<Rules>,
    checked: tower_http::csrf::Csrf<TokenCheck>,
    inner: Route,
}

/// Whether a request needs the check: an unsafe method, with the session cookie, without a
/// bearer token, outside the exempt paths.
fn needs_check(rules: &Rules, req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "));
    let path = req.uri().path();
    !bearer
        && !rules.exempt.iter().any(|prefix| path.starts_with(prefix.as_str()))
        && req.extensions().get::<Session>().is_some_and(Session::has_cookie)
}

impl Service<Request> for CsrfService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !needs_check(&self.rules, &req) {
            let answer = self.inner.call(req);
            return Box::pin(async move { Ok(answer.await) });
        }
        let html = wants_html(req.headers());
        let checked = self.checked.clone();
        Box::pin(async move {
            let res = checked.oneshot(req).await?;
            Ok(match res.extensions().get::<ProtectionError>().map(ProtectionError::kind) {
                None => res,
                Some(ProtectionErrorKind::CrossOriginRequest) => {
                    refusal(html, "The request came from another site (Sec-Fetch-Site).")
                }
                Some(_) => refusal(html, "The request came from another origin (Origin is not this host)."),
            })
        })
    }
}

/// After tower-http's check: when the browser sent neither `Origin` nor `Sec-Fetch-Site`
/// (which tower-http lets through), the request must carry the session's token.
#[derive(Clone)]
pub(crate) struct TokenCheck {
    inner: Route,
    form_limit: usize,
}

fn absent(headers: &HeaderMap, name: &str) -> bool {
    headers.get(name).is_none_or(|v| v.is_empty())
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

impl Service<Request> for TokenCheck {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let inner = self.inner.clone();
        if !(absent(req.headers(), "origin") && absent(req.headers(), "sec-fetch-site")) {
            let answer = inner.call(req);
            return Box::pin(async move { Ok(answer.await) });
        }
        let form_limit = self.form_limit;
        Box::pin(async move {
            let html = wants_html(req.headers());
            let Some(session) = req.extensions().get::<Session>().cloned() else {
                return Ok(inner.call(req).await);
            };
            if let Err(e) = session.load().await {
                return Ok(e.into_response());
            }
            let header =
                req.headers().get(CsrfToken::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (req, token) = match header {
                Some(token) => (req, Some(token)),
                None if is_urlencoded(req.headers()) => {
                    let (parts, body) = req.into_parts();
                    let bytes = match Limited::new(body, form_limit).collect().await {
                        Ok(collected) => collected.to_bytes(),
                        Err(_) => {
                            let too_large = Error::http(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                "The form is too large to check its CSRF token",
                            );
                            return Ok(too_large.into_response());
                        }
                    };
                    let token = form_urlencoded::parse(&bytes)
                        .find(|(name, _)| name == CsrfToken::FIELD)
                        .map(|(_, value)| value.into_owned());
                    (Request::from_parts(parts, Body::from(bytes)), token)
                }
                None => (req, None),
            };
            Ok(match token {
                None => refusal(
                    html,
                    "The CSRF token is missing: the browser sent neither Origin nor Sec-Fetch-Site, so \
                     the form must carry its csrf_token field (or a script its X-CSRF-Token header).",
                ),
                Some(token) if !verify(&session, &token) => {
                    refusal(html, "The CSRF token is incorrect or expired: reload the page and try again.")
                }
                Some(_) => inner.call(req).await,
            })
        })
    }
}
