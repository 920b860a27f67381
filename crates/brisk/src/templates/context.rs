//! The seam through which the app and its batteries add to every template: globals (values and
//! functions, the same for every render) and per-request values (computed from each request's
//! head), plus the `App` methods that set templates up.

use std::sync::Arc;

use http::request::Parts;
use serde::Serialize;

use super::{to_value, EmbeddedTemplates, Templates, Value};
use crate::App;

/// Computes a request's template values ([`App::template_context`]).
pub(crate) type Processor = Arc<dyn Fn(&Parts, &mut TemplateContext) + Send + Sync>;

/// What the app has said about templates, until it is built.
#[derive(Default)]
pub(crate) struct TemplateSetup {
    pub(crate) templates: Option<Templates>,
    pub(crate) namespaces: Vec<(&'static str, EmbeddedTemplates)>,
    pub(crate) globals: Vec<(String, Value)>,
    pub(crate) processors: Vec<Processor>,
}

/// The values one request adds to the templates rendered for it: filled by the functions given
/// to [`App::template_context`], read by templates by name. The handler's own context wins over
/// them when a name is in both.
///
/// ```
/// use brisk::templates::{TemplateContext, Value};
///
/// let mut cx = TemplateContext::default();
/// cx.insert("user", "alice");
/// cx.insert("csrf_token", Value::from_function(|| "t0k3n".to_owned()));
/// assert!(cx.get("user").is_some());
/// ```
#[derive(Debug, Default, Clone)]
pub struct TemplateContext {
    values: Vec<(String, Value)>,
}

impl TemplateContext {
    /// Adds (or replaces) the value `name`: anything minijinja converts (`&str`, numbers,
    /// `Value::from_function(...)` ...).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        let name = name.into();
        let value = value.into();
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.values.push((name, value)),
        }
    }

    /// Adds a value serialized with serde (a struct, a `Vec` of flashes ...).
    pub fn insert_serialized<T: Serialize + ?Sized>(&mut self, name: impl Into<String>, value: &T) {
        self.insert(name, to_value(value));
    }

    /// The value `name`, if added.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// As one map value.
    pub(crate) fn to_value(&self) -> Value {
        Value::from_pairs(self.values.iter().map(|(k, v)| (k.as_str(), v.clone())))
    }
}

impl App {
    /// The app's templates (see [`crate::templates`]): handlers render them through the
    /// [`Templates`] extractor, and `errors/<status>.html` replace the built-in error pages.
    ///
    /// Needs feature `templates`.
    ///
    /// ```no_run
    /// use brisk::prelude::*;
    /// use brisk::templates::Templates;
    /// let app = App::new().templates(Templates::from_dir("templates"));
    /// ```
    pub fn templates(mut self, templates: Templates) -> Self {
        self.web.templates.templates = Some(templates);
        self
    }

    /// Adds a battery's embedded templates under `namespace` (`admin/index.html` ...), after the
    /// app's own sources, which override them name by name. Works without
    /// [`App::templates`] too.
    ///
    /// Needs feature `templates`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// const ADMIN: brisk::templates::EmbeddedTemplates = &[("index.html", "<h1>Admin</h1>")];
    /// let app = App::new().template_namespace("admin", ADMIN);
    /// ```
    pub fn template_namespace(mut self, namespace: &'static str, files: EmbeddedTemplates) -> Self {
        self.web.templates.namespaces.push((namespace, files));
        self
    }

    /// Adds a value every template sees as `name` (a constant, or a function made with
    /// `Value::from_function`); a later one of the same name replaces it.
    ///
    /// Needs feature `templates`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let app = App::new().template_global("site_name", "Notes");
    /// ```
    pub fn template_global(mut self, name: &str, value: impl Into<Value>) -> Self {
        let globals = &mut self.web.templates.globals;
        globals.retain(|(n, _)| n != name);
        globals.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a function every template can call as `name`: any function or closure minijinja
    /// accepts (arguments it converts from template values, a result it converts back, `Result`
    /// for failures). Static files add `static(path)` this way.
    ///
    /// Needs feature `templates`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// let app = App::new().template_function("initials", |name: String| {
    ///     name.split_whitespace().filter_map(|w| w.chars().next()).collect::<String>()
    /// });
    /// ```
    pub fn template_function<F, Rv, Args>(self, name: &str, function: F) -> Self
    where
        F: minijinja::functions::Function<Rv, Args>,
        Rv: minijinja::value::FunctionResult,
        Args: for<'a> minijinja::value::FunctionArgs<'a>,
    {
        self.template_global(name, Value::from_function(function))
    }

    /// Adds values computed from each request to the templates rendered for it: `processor`
    /// runs when a handler's [`Templates`] is extracted, with the request's head (method, URI,
    /// headers, and the extensions that layers and earlier extractors have set), and fills the
    /// [`TemplateContext`]. Sessions add `csrf_token()` and the flashes this way. Error pages
    /// are rendered without them.
    ///
    /// Needs feature `templates`.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::templates::TemplateContext;
    ///
    /// #[derive(Clone)]
    /// struct CurrentUser(String);
    ///
    /// let app = App::new().template_context(|parts, cx: &mut TemplateContext| {
    ///     if let Some(CurrentUser(name)) = parts.extensions.get::<CurrentUser>() {
    ///         cx.insert("user", name.as_str());
    ///     }
    /// });
    /// ```
    pub fn template_context<F>(mut self, processor: F) -> Self
    where
        F: Fn(&Parts, &mut TemplateContext) + Send + Sync + 'static,
    {
        self.web.templates.processors.push(Arc::new(processor));
        self
    }
}
