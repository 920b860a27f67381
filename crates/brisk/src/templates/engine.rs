//! The engine: minijinja's environment, made once from the app's sources, route names,
//! globals and configuration; rendering, and what a template error says.

use std::fmt;
use std::sync::{Arc, OnceLock};

use minijinja::value::merge_maps;
use minijinja::{Environment, ErrorKind as EngineErrorKind};

use super::context::{Processor, TemplateContext, TemplateSetup};
use super::loader::Sources;
use super::{debug, url_for, EmbeddedTemplates, Templates, Value};
use crate::error::{shown_detail, Error, ErrorKind};
use crate::extract::{inputs_of, FormErrors, FormValues};
use crate::routing::RouteNames;

/// Runs on the environment when it is made ([`Templates::configure`]).
pub(crate) type Configure = Arc<dyn Fn(&mut Environment<'static>) + Send + Sync>;

/// How a [`Templates`] was configured.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) sources: Sources,
    pub(crate) debug: bool,
    pub(crate) configure: Vec<Configure>,
}

impl Default for Config {
    fn default() -> Self {
        Config { sources: Sources::default(), debug: cfg!(debug_assertions), configure: Vec::new() }
    }
}

/// What the app adds to its templates.
#[derive(Default)]
pub(crate) struct AppExtras {
    pub(crate) names: Arc<RouteNames>,
    pub(crate) namespaces: Vec<(&'static str, EmbeddedTemplates)>,
    pub(crate) globals: Vec<(String, Value)>,
    pub(crate) processors: Vec<Processor>,
}

/// A ready environment.
pub(crate) struct Engine {
    pub(crate) env: Environment<'static>,
    pub(crate) debug: bool,
    pub(crate) names: Arc<RouteNames>,
    pub(crate) processors: Vec<Processor>,
    pub(crate) sources: Sources,
}

impl Engine {
    pub(crate) fn new(config: &Config, extras: &AppExtras) -> Engine {
        let mut sources = config.sources.clone();
        sources.embedded.extend(extras.namespaces.iter().copied());
        let mut env = Environment::new();
        env.set_loader(sources.loader(config.debug));
        env.set_auto_reload(config.debug);
        env.set_debug(config.debug);
        env.add_global("url_for", url_for::function(extras.names.clone()));
        for (name, value) in &extras.globals {
            env.add_global(name.clone(), value.clone());
        }
        for configure in &config.configure {
            configure(&mut env);
        }
        Engine {
            env,
            debug: config.debug,
            names: extras.names.clone(),
            processors: extras.processors.clone(),
            sources,
        }
    }

    /// Renders `name`; the handler's `context` wins over the request's values.
    pub(crate) fn render(
        &self,
        name: &str,
        context: Value,
        request: Option<&TemplateContext>,
    ) -> Result<String, Error> {
        let context = match request {
            // Later maps win: the handler's context over the request's values.
            Some(request) => merge_maps([request.to_value(), context]),
            None => context,
        };
        let template = self.env.get_template(name).map_err(|e| TemplateError::new(name, e).into_error())?;
        template.render(context).map_err(|e| TemplateError::new(name, e).into_error())
    }

    /// The page of `error` from `errors/<status>.html`, or, in debug, a template error's own.
    /// `None`: no such template, or it failed (logged).
    pub(crate) fn error_page(&self, error: &Error, values: Option<&FormValues>) -> Option<String> {
        if self.debug {
            if let Some(template_error) = TemplateError::of(error) {
                return Some(debug::page(template_error));
            }
        }
        let name = format!("errors/{}.html", error.status().as_u16());
        let template = match self.env.get_template(&name) {
            Ok(template) => template,
            Err(e) if e.kind() == EngineErrorKind::TemplateNotFound => return None,
            Err(e) => {
                let e = TemplateError::new(&name, e);
                tracing::error!(target: "brisk::error", error = %e, "the error page's template failed");
                return None;
            }
        };
        match template.render(error_context(error, values)) {
            Ok(page) => Some(page),
            Err(e) => {
                let e = TemplateError::new(&name, e);
                tracing::error!(target: "brisk::error", error = %e, "the error page's template failed");
                None
            }
        }
    }
}

/// What an error page's template sees: `status`, `reason`, `detail`, `errors` by field and the
/// submitted `values` (the form's, or each failing field's input).
fn error_context(error: &Error, values: Option<&FormValues>) -> Value {
    let status = error.status();
    let (errors, values) = match error.kind() {
        ErrorKind::Validation(list) => {
            let values = values.cloned().unwrap_or_else(|| inputs_of(list));
            (FormErrors::from_validation(list.clone(), values.clone()), values)
        }
        _ => (FormErrors::default(), FormValues::default()),
    };
    crate::context! {
        status => status.as_u16(),
        reason => status.canonical_reason().unwrap_or("Error"),
        detail => shown_detail(error),
        errors,
        values,
    }
}

/// A template that failed: missing, not compiling, or failing as it rendered. As an internal
/// error's source it is logged (template, line, cause); in debug, browsers see it on the 500
/// page, source excerpt included.
#[derive(Debug)]
pub struct TemplateError {
    rendering: String,
    error: minijinja::Error,
}

impl TemplateError {
    pub(crate) fn new(rendering: &str, error: minijinja::Error) -> Self {
        TemplateError { rendering: rendering.to_owned(), error }
    }

    fn into_error(self) -> Error {
        Error::internal(self)
    }

    /// The template error an internal error carries, if it carries one.
    pub(crate) fn of(error: &Error) -> Option<&TemplateError> {
        match error.kind() {
            ErrorKind::Internal(source) => source.downcast_ref::<TemplateError>(),
            _ => None,
        }
    }

    /// The template that failed (the one being rendered, or one it extends or includes).
    pub fn template(&self) -> &str {
        self.innermost().name().unwrap_or(&self.rendering)
    }

    /// The template the handler asked for.
    pub fn rendering(&self) -> &str {
        &self.rendering
    }

    /// The line of [`template`](Self::template) where it failed, when known.
    pub fn line(&self) -> Option<usize> {
        self.innermost().line()
    }

    /// What went wrong: `undefined value`, `syntax error: unexpected end of input` ...
    pub fn cause(&self) -> String {
        let e = self.innermost();
        match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        }
    }

    /// The failing template's source (in debug mode), for an excerpt.
    pub(crate) fn source(&self) -> Option<&str> {
        self.innermost().template_source()
    }

    /// minijinja's error.
    pub fn engine_error(&self) -> &minijinja::Error {
        &self.error
    }

    /// The deepest minijinja error of the chain (an include's error is inside its includer's).
    fn innermost(&self) -> &minijinja::Error {
        let mut e = &self.error;
        while let Some(inner) =
            std::error::Error::source(e).and_then(|s| s.downcast_ref::<minijinja::Error>())
        {
            e = inner;
        }
        e
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template `{}`", self.template())?;
        if let Some(line) = self.line() {
            write!(f, " line {line}")?;
        }
        write!(f, ": {}", self.cause())?;
        if self.template() != self.rendering {
            write!(f, " (rendering `{}`)", self.rendering)?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}

/// Makes the app's templates as it is built (`None`: it has none), with its route names,
/// globals and per-request values; checks the route names the templates use and the folders.
pub(crate) fn assemble(
    setup: &mut TemplateSetup,
    names: &Arc<RouteNames>,
    problems: &mut Vec<String>,
) -> Option<Templates> {
    let base = setup.templates.take();
    if base.is_none() && setup.namespaces.is_empty() {
        return None;
    }
    let base = base.unwrap_or_default();
    for dir in base.config.sources.missing_dirs() {
        problems.push(format!(
            "the template folder `{}` does not exist (the working directory is `{}`)",
            dir.display(),
            std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
        ));
    }
    let extras = AppExtras {
        names: names.clone(),
        namespaces: std::mem::take(&mut setup.namespaces),
        globals: std::mem::take(&mut setup.globals),
        processors: std::mem::take(&mut setup.processors),
    };
    let engine = Engine::new(&base.config, &extras);
    problems.extend(url_for::check(&engine.sources, names));
    let engine = OnceLock::from(Arc::new(engine));
    Some(Templates { config: base.config, engine: Arc::new(engine), request: None })
}
