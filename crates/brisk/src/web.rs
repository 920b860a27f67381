//! The app's web face as `App::build` assembles it: the route names (for `url_for` and
//! [`UrlFor`](crate::routing::UrlFor)), the templates (feature `templates`), and the HTML error
//! pages browsers get (see [`crate::error`]).

use std::sync::Arc;

use crate::error::ErrorPages;
use crate::extract::StateMap;
use crate::routing::{RouteNames, Router};
use crate::App;

/// What the app has said about its pages, until it is built.
pub(crate) struct WebSetup {
    html_error_pages: bool,
    #[cfg(feature = "templates")]
    pub(crate) templates: crate::templates::TemplateSetup,
}

impl Default for WebSetup {
    fn default() -> Self {
        WebSetup {
            html_error_pages: true,
            #[cfg(feature = "templates")]
            templates: Default::default(),
        }
    }
}

impl App {
    /// Whether errors answer browsers (requests whose `Accept` prefers HTML) with HTML pages —
    /// the default — or with the same JSON as API clients. See [`crate::error`].
    ///
    /// ```
    /// let api_only = brisk::App::new().html_error_pages(false);
    /// ```
    pub fn html_error_pages(mut self, on: bool) -> Self {
        self.web.html_error_pages = on;
        self
    }
}

/// Collects the route names (a name on two paths is a problem) and makes the templates, both
/// kept as state for the extractors; returns the error pages, if switched on.
pub(crate) fn assemble(
    setup: &mut WebSetup,
    routes: &Router,
    state: &mut StateMap,
    problems: &mut Vec<String>,
) -> Option<Arc<ErrorPages>> {
    let (names, mut found) = RouteNames::collect(routes);
    problems.append(&mut found);
    let names = Arc::new(names);
    // Static files' `static(path)`, unless the app set its own.
    #[cfg(all(feature = "templates", feature = "static-files"))]
    if let Some(files) = state.get::<crate::static_files::StaticFiles>().cloned() {
        let globals = &mut setup.templates.globals;
        if !globals.iter().any(|(name, _)| name == "static") {
            let url = move |path: &str| files.url(path);
            globals.push(("static".to_owned(), crate::templates::Value::from_function(url)));
        }
    }
    #[cfg(feature = "templates")]
    let templates = crate::templates::assemble(&mut setup.templates, &names, problems);
    #[cfg(feature = "templates")]
    if let Some(templates) = &templates {
        state.insert(templates.clone());
    }
    state.insert(names);
    setup.html_error_pages.then(|| {
        Arc::new(ErrorPages {
            #[cfg(feature = "templates")]
            templates,
        })
    })
}
