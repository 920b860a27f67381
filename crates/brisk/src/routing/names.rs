//! Route names, and URLs built from them: a path is named once, where it is routed
//! (`get(show).name("notes.detail")`), and pages and handlers ask for its URL by name, with
//! the parameters filled in and percent-encoded.
//!
//! - In templates: `{{ url_for("notes.detail", id=note.id) }}` (feature `templates`).
//! - In handlers: [`UrlFor`] builds any named route's URL, checked when it runs;
//!   [`UrlTo<N>`] builds the URL of one route whose name is a type ([`route_name!`](crate::route_name)),
//!   checked when the app is built.
//!
//! Parameters the path has no `{slot}` for go to the query string:
//! `url_for("notes.list", page=2)` is `/notes?page=2`.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::routing::UrlFor;
//!
//! async fn show(Path(id): Path<i64>) -> String { id.to_string() }
//! async fn newest(url: UrlFor) -> Result<Redirect> {
//!     Ok(Redirect::to(url.path("notes.detail", [("id", 42)])?))
//! }
//!
//! let app = App::new()
//!     .route("/notes/{id}", get(show).name("notes.detail"))
//!     .route("/notes/newest", get(newest));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use http::request::Parts;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::Router;
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::{DescribeInput, DocContext, Operation};

/// What a path segment must not hold as is: anything that would end it, start a query or a
/// fragment, or that URLs cannot carry raw.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A `{*rest}` parameter keeps its slashes.
const REST: &AsciiSet = &SEGMENT.remove(b'/');

/// Every named route of an app: each name and the path pattern it stands for. Built when the
/// app is built; handlers reach it through [`UrlFor`].
#[derive(Debug, Clone, Default)]
pub struct RouteNames {
    by_name: HashMap<String, Arc<str>>,
}

impl RouteNames {
    /// The names of `router`'s routes, and a problem for each name given to two paths.
    pub(crate) fn collect(router: &Router) -> (RouteNames, Vec<String>) {
        let mut by_name: HashMap<String, Arc<str>> = HashMap::new();
        let mut problems = Vec::new();
        for (path, methods) in &router.routes {
            for name in &methods.names {
                if name.is_empty() {
                    problems.push(format!("route `{path}` has an empty name"));
                    continue;
                }
                match by_name.get(name) {
                    Some(other) if **other != **path => problems.push(format!(
                        "route name `{name}` is given to both `{other}` and `{path}`: a name must name one path"
                    )),
                    Some(_) => {}
                    None => {
                        by_name.insert(name.clone(), Arc::from(path.as_str()));
                    }
                }
            }
        }
        (RouteNames { by_name }, problems)
    }

    /// Whether a route has this name.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The path pattern named `name` (`/notes/{id}`).
    pub fn pattern(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(|p| &**p)
    }

    /// Every name, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The URL of the route named `name`: its `{params}` filled from `params`
    /// (percent-encoded), the other params as the query string.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::routing::RouteNames;
    ///
    /// async fn show() -> &'static str { "" }
    /// let router = Router::new().route("/files/{*path}", get(show).name("file"));
    /// let names = RouteNames::from_router(&router).unwrap();
    /// assert_eq!(names.url("file", [("path", "a b/c.txt"), ("v", "2")]).unwrap(), "/files/a%20b/c.txt?v=2");
    /// assert!(names.url("nope", ()).is_err());
    /// ```
    pub fn url(&self, name: &str, params: impl UrlParams) -> Result<String, UrlError> {
        let Some(pattern) = self.by_name.get(name) else {
            return Err(UrlError::UnknownRoute(name.to_owned()));
        };
        fill(name, pattern, params.into_url_params())
    }

    /// The names of a router's routes (for tests and tools); an error lists every name given
    /// to two paths.
    pub fn from_router(router: &Router) -> Result<RouteNames, Vec<String>> {
        match RouteNames::collect(router) {
            (names, problems) if problems.is_empty() => Ok(names),
            (_, problems) => Err(problems),
        }
    }
}

/// Why a URL could not be built: a bug in the caller, answered as a 500 when it reaches a
/// handler's `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// No route has this name.
    UnknownRoute(String),
    /// The route's path has a `{param}` that was not given, or was given empty.
    MissingParam {
        /// The route name.
        route: String,
        /// The parameter.
        param: String,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::UnknownRoute(name) => write!(f, "no route is named `{name}`"),
            UrlError::MissingParam { route, param } => {
                write!(f, "the route `{route}` needs a non-empty `{param}` parameter")
            }
        }
    }
}

impl std::error::Error for UrlError {}

/// The parameters of a URL: `()`, `[("id", 3)]`, a `Vec` or a slice of `(name, value)` pairs,
/// values being anything `Display`.
pub trait UrlParams {
    /// The pairs, as strings.
    fn into_url_params(self) -> Vec<(String, String)>;
}

impl UrlParams for () {
    fn into_url_params(self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl<K: AsRef<str>, V: fmt::Display, const N: usize> UrlParams for [(K, V); N] {
    fn into_url_params(self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect()
    }
}

impl<K: AsRef<str>, V: fmt::Display> UrlParams for Vec<(K, V)> {
    fn into_url_params(self) -> Vec<(String, String)> {
        self.as_slice().into_url_params()
    }
}

impl<K: AsRef<str>, V: fmt::Display> UrlParams for &[(K, V)] {
    fn into_url_params(self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect()
    }
}

/// Fills `pattern`'s `{param}` and `{*rest}` slots (`{{` and `}}` are literal braces).
fn fill(name: &str, pattern: &str, params: Vec<(String, String)>) -> Result<String, UrlError> {
    let mut used = vec![false; params.len()];
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
            out.push_str(&tail[..1]);
            rest = after;
            continue;
        }
        let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        };
        let slot = &tail[1..end];
        let (param, rest_slot) = match slot.strip_prefix('*') {
            Some(param) => (param, true),
            None => (slot, false),
        };
        let found = params.iter().position(|(key, value)| key == param && !value.is_empty());
        let Some(k) = found else {
            return Err(UrlError::MissingParam { route: name.to_owned(), param: param.to_owned() });
        };
        used[k] = true;
        push_encoded(&mut out, &params[k].1, rest_slot);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for ((key, value), used) in params.iter().zip(used) {
        if !used {
            query.append_pair(key, value);
            any = true;
        }
    }
    if any {
        out.push('?');
        out.push_str(&query.finish());
    }
    Ok(out)
}

/// Percent-encodes `value` into `out` (a `{*rest}` value keeps its slashes); a `.` or `..`
/// segment is encoded too, so that it stays a value instead of moving up the path.
fn push_encoded(out: &mut String, value: &str, rest_slot: bool) {
    let (set, pieces): (&AsciiSet, Vec<&str>) =
        if rest_slot { (REST, value.split('/').collect()) } else { (SEGMENT, vec![value]) };
    for (n, piece) in pieces.into_iter().enumerate() {
        if n > 0 {
            out.push('/');
        }
        if piece == "." || piece == ".." {
            out.push_str(&piece.replace('.', "%2E"));
        } else {
            out.extend(utf8_percent_encode(piece, set));
        }
    }
}

/// Builds URLs of named routes in a handler; an unknown name or a missing parameter is an
/// internal error (a 500, logged) when the handler runs.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::routing::UrlFor;
///
/// async fn list() -> &'static str { "notes" }
/// async fn create(url: UrlFor) -> Result<Redirect> {
///     Ok(Redirect::to(url.path("notes.list", [("created", 1)])?)) // /notes?created=1
/// }
///
/// let app = App::new().route("/notes", get(list).post(create).name("notes.list"));
/// ```
#[derive(Clone)]
pub struct UrlFor(Arc<RouteNames>);

impl UrlFor {
    /// The URL of the route named `name` (see [`RouteNames::url`]).
    pub fn path(&self, name: &str, params: impl UrlParams) -> Result<String, Error> {
        self.0.url(name, params).map_err(Error::internal)
    }

    /// Every named route of the app.
    pub fn names(&self) -> &RouteNames {
        &self.0
    }
}

/// The app's route names, as `App::build` left them in the state.
pub(crate) fn names_of(cx: &RequestContext) -> Arc<RouteNames> {
    cx.state::<Arc<RouteNames>>().cloned().unwrap_or_default()
}

impl FromRequestParts for UrlFor {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        Ok(UrlFor(names_of(cx)))
    }
}

/// The server's own: documents nothing.
impl DescribeInput for UrlFor {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

/// A route name as a type, made with [`route_name!`](crate::route_name): handlers that link
/// to it with [`UrlTo`] are checked when the app is built.
pub trait RouteName: Send + Sync + 'static {
    /// The name, as given to [`MethodRouter::name`](super::MethodRouter::name).
    const NAME: &'static str;
}

/// Declares a [`RouteName`] type: `route_name!(pub NotesList = "notes.list");`.
///
/// ```
/// brisk::route_name!(pub NotesList = "notes.list");
/// use brisk::routing::RouteName;
/// assert_eq!(NotesList::NAME, "notes.list");
/// ```
#[macro_export]
macro_rules! route_name {
    ($(#[$meta:meta])* $vis:vis $ty:ident = $name:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $ty;
        impl $crate::routing::RouteName for $ty {
            const NAME: &'static str = $name;
        }
    };
}

/// The URL of one named route, whose name is a type: an extractor checked when the app is
/// built (a name no route has makes `App::build` fail, naming the handler's route).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::routing::UrlTo;
///
/// brisk::route_name!(NotesList = "notes.list");
///
/// async fn list() -> &'static str { "notes" }
/// async fn create(to_list: UrlTo<NotesList>) -> Result<Redirect> {
///     Ok(Redirect::to(to_list.path(())?))
/// }
///
/// let app = App::new().route("/notes", get(list).post(create).name("notes.list"));
/// assert!(app.build().is_ok());
///
/// let typo = App::new().route("/notes", get(list)).route("/new", post(create));
/// assert!(typo.build().is_err()); // no route is named `notes.list`
/// ```
pub struct UrlTo<N> {
    names: Arc<RouteNames>,
    _name: PhantomData<fn() -> N>,
}

impl<N: RouteName> UrlTo<N> {
    /// The route's URL with `params` (see [`RouteNames::url`]).
    pub fn path(&self, params: impl UrlParams) -> Result<String, Error> {
        self.names.url(N::NAME, params).map_err(Error::internal)
    }
}

impl<N> Clone for UrlTo<N> {
    fn clone(&self) -> Self {
        UrlTo { names: self.names.clone(), _name: PhantomData }
    }
}

impl<N: RouteName> FromRequestParts for UrlTo<N> {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        Ok(UrlTo { names: names_of(cx), _name: PhantomData })
    }
}

/// Checks the name when the app is built; documents nothing.
impl<N: RouteName> DescribeInput for UrlTo<N> {
    fn describe_input(cx: &mut DocContext, _op: &mut Operation) {
        cx.links_to_route(N::NAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(pattern: &str, params: &[(&str, &str)]) -> Result<String, UrlError> {
        fill("r", pattern, params.into_url_params())
    }

    #[test]
    fn fills_slots_and_encodes_them() {
        assert_eq!(url("/notes/{id}", &[("id", "3")]).as_deref(), Ok("/notes/3"));
        assert_eq!(url("/u/{name}", &[("name", "a b/c?d#e%")]).as_deref(), Ok("/u/a%20b%2Fc%3Fd%23e%25"));
        assert_eq!(url("/u/{name}", &[("name", "café")]).as_deref(), Ok("/u/caf%C3%A9"));
        assert_eq!(url("/f/{*rest}", &[("rest", "a/../b c")]).as_deref(), Ok("/f/a/%2E%2E/b%20c"));
        assert_eq!(url("/u/{name}", &[("name", "..")]).as_deref(), Ok("/u/%2E%2E"));
        assert_eq!(url("/a}}b/{x}", &[("x", "1")]).as_deref(), Ok("/a}b/1"));
        assert_eq!(url("/a/{x}/{y}", &[("y", "2"), ("x", "1")]).as_deref(), Ok("/a/1/2"));
    }

    #[test]
    fn extra_params_become_the_query() {
        assert_eq!(url("/notes", &[("page", "2"), ("q", "a&b c")]).as_deref(), Ok("/notes?page=2&q=a%26b+c"));
        assert_eq!(url("/n/{id}", &[("id", "1"), ("x", "y")]).as_deref(), Ok("/n/1?x=y"));
    }

    #[test]
    fn missing_or_empty_params_are_errors() {
        let missing = UrlError::MissingParam { route: "r".into(), param: "id".into() };
        assert_eq!(url("/n/{id}", &[]), Err(missing.clone()));
        assert_eq!(url("/n/{id}", &[("id", "")]), Err(missing));
    }
}
