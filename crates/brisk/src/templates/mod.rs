//! Server-rendered pages (feature `templates`): Jinja templates on
//! [minijinja](https://docs.rs/minijinja) — `{% extends %}` and `{% block %}`, `{% include %}`,
//! `{% macro %}` and `{% import %}`, filters — rendered by handlers into a [`Template`]
//! response.
//!
//! Needs feature `templates`.
//!
//! ```no_run
//! use brisk::prelude::*;
//! use brisk::templates::{context, Template, Templates};
//!
//! #[derive(Serialize)]
//! struct Note { id: i64, title: String }
//!
//! async fn note_page(Path(id): Path<i64>, tpl: Templates) -> Result<Template> {
//!     let note = Note { id, title: "<script>alert(1)</script>".into() }; // rendered escaped
//!     tpl.render("notes/detail.html", context! { note })
//! }
//!
//! let app = App::new()
//!     .route("/notes/{id}", get(note_page).name("notes.detail"))
//!     .templates(Templates::from_dir("templates"));
//! ```
//!
//! with `templates/notes/detail.html`:
//!
//! ```jinja
//! {% extends "base.html" %}
//! {% block content %}
//!   <h1>{{ note.title }}</h1>
//!   <a href="{{ url_for('notes.detail', id=note.id) }}">permalink</a>
//! {% endblock %}
//! ```
//!
//! - **Autoescaping**: templates named `.html`, `.htm` or `.xml` escape every value they print
//!   (`<` becomes `&lt;`); `.json`/`.js` escape as JSON. `{{ x|safe }}` opts out, for values
//!   the app made safe itself.
//! - **Where templates come from**: folders ([`Templates::from_dir`], [`Templates::dir`]), then
//!   templates embedded in the binary ([`Templates::embedded`] for a release build's own,
//!   [`Templates::namespace`] and [`App::template_namespace`](crate::App::template_namespace)
//!   for a battery's, under `namespace/`). The first that has a name wins, so the app overrides
//!   a battery's `admin/base.html` with its own `templates/admin/base.html`.
//! - **Debug** ([`Templates::debug`], on in debug builds): a template edited on disk is
//!   reloaded on its next render (and one added to the app's folder takes over an embedded one);
//!   a template error answers browsers with a 500 page showing the template, the line and the
//!   cause. Off (release builds), templates are read once and a template error is a logged 500
//!   with nothing of it sent.
//! - **In every template**: `url_for(name, **params)` (the URL of a named route, see
//!   [`crate::routing`]; extra params become the query string), `request` (`method`, `path`,
//!   `query_string`, `url`, `host`, `args`), `static(path)` when the app serves
//!   static files with `App::static_files` (feature `static-files`: the hashed URL once
//!   collected), and what the app and its batteries add (below) — `csrf_token()` and the
//!   flashes with sessions.
//! - **Route names are checked when the app is built**: every `url_for("...")` or
//!   `url_for('...')` whose first argument is a string literal, in every template the folders and
//!   embedded sets hold (the one that wins for each name), must name a route; a name given to
//!   two paths fails too. A name computed at render time (`url_for(name)`) is checked when it
//!   renders: an unknown one is a template error.
//! - **Forms**: `context! { errors, values => errors.values() }` with
//!   [`FormErrors`](crate::extract::FormErrors) gives `{{ errors.title }}` (the title's
//!   messages) and `{{ values.title }}` (what was typed).
//! - **Error pages**: `errors/404.html`, `errors/405.html`, `errors/422.html`,
//!   `errors/500.html` ... replace the built-in pages browsers get (see [`crate::error`]).
//!
//! ## Adding to every template: the seam for batteries
//!
//! - [`App::template_global(name, value)`](crate::App::template_global) and
//!   [`App::template_function(name, f)`](crate::App::template_function): a value or a function
//!   every template sees (static files add `static(path)` this way).
//! - [`App::template_context(|parts, cx| ...)`](crate::App::template_context): values computed
//!   from each request (its head, extensions included — what layers and earlier extractors put
//!   there), added to every render made with that request's [`Templates`] (sessions add
//!   `csrf_token()` and the flashes this way). The handler's own context wins over them.
//! - [`Templates::configure`]: filters, tests, anything minijinja's `Environment` offers.
//!
//! These work in whichever order they are called, with or without [`App::templates`](crate::App::templates);
//! a battery's handlers ask for [`Templates`] like the app's do and render `namespace/page.html`.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::templates::{TemplateContext, Value};
//!
//! let app = App::new()
//!     .template_global("site_name", "Notes")
//!     .template_function("shout", |s: String| s.to_uppercase())
//!     .template_context(|parts, cx: &mut TemplateContext| {
//!         let lang = parts.headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("en");
//!         cx.insert("lang", lang.get(..2).unwrap_or("en"));
//!     });
//! ```

mod context;
mod debug;
mod engine;
mod extract;
mod loader;
mod response;
mod url_for;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::error::Error;
use crate::routing::{RouteNames, UrlParams};

pub use context::TemplateContext;
pub use engine::TemplateError;
pub use minijinja;
pub use minijinja::value::Value;
pub use response::{StatusArg, Template};

pub(crate) use context::TemplateSetup;
pub(crate) use engine::assemble;

use engine::{Config, Engine};

/// Templates a crate embeds: `(name, source)` pairs, e.g. with `include_str!`.
///
/// ```
/// const ADMIN: brisk::templates::EmbeddedTemplates = &[
///     ("base.html", "<main>{% block content %}{% endblock %}</main>"),
///     ("index.html", "{% extends 'admin/base.html' %}{% block content %}Admin{% endblock %}"),
/// ];
/// ```
pub type EmbeddedTemplates = &'static [(&'static str, &'static str)];

/// The app's templates: where they come from and how they are rendered, and — as an extractor —
/// the renderer a handler uses, carrying its request's template values. Cheap to clone.
///
/// Made with [`Templates::from_dir`] (or [`Templates::new`]) and given to
/// [`App::templates`](crate::App::templates); a handler asks for it as an argument. It also
/// renders on its own, outside an app (emails, say), with no `url_for` routes and no app values.
///
/// Needs feature `templates`.
///
/// ```
/// use brisk::templates::{context, Templates};
///
/// const PAGES: brisk::templates::EmbeddedTemplates = &[("hello.html", "Hello {{ name }}!")];
/// let page = Templates::new().embedded(PAGES).render("hello.html", context! { name => "<you>" }).unwrap();
/// assert_eq!(page.body(), "Hello &lt;you&gt;!");
/// ```
#[derive(Clone)]
pub struct Templates {
    config: Config,
    engine: Arc<OnceLock<Arc<Engine>>>,
    /// The request's values (as an extractor), added to each render.
    request: Option<Arc<TemplateContext>>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

impl Templates {
    /// No templates yet: add folders or embedded sets.
    pub fn new() -> Self {
        Templates { config: Config::default(), engine: Arc::default(), request: None }
    }

    /// The templates in folder `dir` (relative to the working directory, or absolute).
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Templates::new().dir(dir)
    }

    /// Adds folder `dir`, looked in after the folders added before it.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.sources.dirs.push(dir.into());
        self.reconfigured()
    }

    /// Adds templates embedded in the binary, by their own names (a release build's own pages,
    /// when it should not read a folder); looked in after every folder.
    pub fn embedded(self, files: EmbeddedTemplates) -> Self {
        self.namespace("", files)
    }

    /// Adds embedded templates under `namespace` (`admin`: `admin/index.html`); a folder's
    /// `admin/index.html` is used instead when it has one.
    pub fn namespace(mut self, namespace: &'static str, files: EmbeddedTemplates) -> Self {
        self.config.sources.embedded.push((namespace, files));
        self.reconfigured()
    }

    /// Debug mode (default: on in debug builds): templates reload when their file changes, and a
    /// template error shows itself on the 500 page browsers get. Off, files are read once and
    /// errors are only logged.
    pub fn debug(mut self, on: bool) -> Self {
        self.config.debug = on;
        self.reconfigured()
    }

    /// Configures minijinja's environment: filters, tests, syntax ... (runs once, when the
    /// environment is made).
    ///
    /// ```
    /// use brisk::templates::{context, Templates};
    ///
    /// let tpl = Templates::new()
    ///     .embedded(&[("t.txt", "{{ 'hi'|twice }}")])
    ///     .configure(|env| env.add_filter("twice", |s: String| s.repeat(2)));
    /// assert_eq!(tpl.render("t.txt", context! {}).unwrap().body(), "hihi");
    /// ```
    pub fn configure(
        mut self,
        configure: impl Fn(&mut minijinja::Environment<'static>) + Send + Sync + 'static,
    ) -> Self {
        self.config.configure.push(Arc::new(configure));
        self.reconfigured()
    }

    fn reconfigured(mut self) -> Self {
        self.engine = Arc::default();
        self
    }

    /// Whether debug mode is on.
    pub fn is_debug(&self) -> bool {
        self.config.debug
    }

    /// The engine: the app's (set when the app was built), or one made on first use.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        self.engine.get_or_init(|| Arc::new(Engine::new(&self.config, &Default::default())))
    }

    /// Renders template `name` with `context` (usually [`context!`](crate::templates::context),
    /// or anything `Serialize`) plus the request's values, as a 200 page.
    ///
    /// A missing template or a template error is an internal error: a 500, logged; in debug,
    /// browsers see the template, line and cause.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<Template, Error> {
        self.render_status(200u16, name, context)
    }

    /// [`render`](Self::render) with another status (`422` for a form with errors).
    ///
    /// ```
    /// use brisk::templates::{context, Templates};
    /// let tpl = Templates::new().embedded(&[("gone.html", "<h1>Gone</h1>")]);
    /// let page = tpl.render_status(410, "gone.html", context! {}).unwrap();
    /// assert_eq!(page.status(), 410);
    /// ```
    pub fn render_status(
        &self,
        status: impl StatusArg,
        name: &str,
        context: impl Serialize,
    ) -> Result<Template, Error> {
        let status = status.into_status()?;
        let engine = self.engine();
        let body = engine.render(name, to_value(&context), self.request.as_deref())?;
        Ok(Template::new(status, name, body))
    }

    /// The URL of the route named `name`, as `url_for` gives it (see
    /// [`RouteNames::url`](crate::routing::RouteNames::url)).
    pub fn url_for(&self, name: &str, params: impl UrlParams) -> Result<String, Error> {
        self.engine().names.url(name, params).map_err(Error::internal)
    }

    /// Whether a template named `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.engine().env.get_template(name).is_ok()
    }

    /// The route names `url_for` knows.
    pub fn route_names(&self) -> &RouteNames {
        &self.engine().names
    }

    /// The page of `error` from `errors/<status>.html` (or, in debug, a template error's page).
    pub(crate) fn error_page(
        &self,
        error: &Error,
        values: Option<&crate::extract::FormValues>,
    ) -> Option<String> {
        self.engine().error_page(error, values)
    }
}

/// `value` as a template value (by serde).
///
/// ```
/// use brisk::templates::to_value;
/// #[derive(serde::Serialize)]
/// struct Note { title: &'static str }
/// assert_eq!(to_value(&Note { title: "Hi" }).get_attr("title").unwrap().as_str(), Some("Hi"));
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// Builds a template context from names and values, each serialized with serde (borrowed, so
/// `context! { errors, values => errors.values() }` works):
/// `context! { note, flashes => session.take_flashes() }`.
///
/// Needs feature `templates`.
///
/// ```
/// use brisk::templates::context;
/// let title = "Hi";
/// let cx = context! { title, count => 3 };
/// assert_eq!(cx.get_attr("count").unwrap().as_i64(), Some(3));
/// ```
#[macro_export]
macro_rules! context {
    () => {
        $crate::templates::Value::from_pairs(::std::iter::empty::<(&str, $crate::templates::Value)>())
    };
    ($($key:ident $(=> $value:expr)?),+ $(,)?) => {
        $crate::templates::Value::from_pairs([
            $((stringify!($key), $crate::__template_value!($key $(=> $value)?)),)+
        ])
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __template_value {
    ($key:ident) => {
        $crate::templates::to_value(&$key)
    };
    ($key:ident => $value:expr) => {
        $crate::templates::to_value(&$value)
    };
}

pub use crate::context;
