//! What sessions add to every template (features `sessions` + `templates`):
//!
//! - `get_flashed_messages()`: the flash messages, as `{level, message}`, taken from the
//!   session when the template calls it (Flask's name), so they show once — and a page that
//!   never calls it leaves them for the next;
//! - `csrf_token()` and `csrf_input()` (feature `csrf`): the form token, or the whole hidden
//!   `<input>`; a page that never calls them stores no CSRF secret.
//!
//! ```jinja
//! {% for flash in get_flashed_messages() %}<p class="{{ flash.level }}">{{ flash.message }}</p>{% endfor %}
//! <form method="post">{{ csrf_input() }} ... </form>
//! ```
//!
//! The `Templates` extractor loads the session first (when the app has sessions), so these
//! see the request's own.

use crate::templates::{to_value, Value};
use crate::App;

use super::Session;

/// Registers the functions above as a per-request template context.
pub(crate) fn wire(app: App) -> App {
    app.template_context(|parts, cx| {
        let Some(session) = Session::loaded(&parts.extensions) else { return };
        let flashes = session.clone();
        cx.insert("get_flashed_messages", Value::from_function(move || to_value(&flashes.take_flashes())));
        #[cfg(feature = "csrf")]
        {
            use crate::templates::minijinja::{Error as TemplateError, ErrorKind};
            let token = session.clone();
            cx.insert(
                "csrf_token",
                Value::from_function(move || -> Result<String, TemplateError> {
                    crate::csrf::CsrfToken::for_session(&token)
                        .map(|t| t.to_string())
                        .map_err(|e| TemplateError::new(ErrorKind::InvalidOperation, e.to_string()))
                }),
            );
            cx.insert(
                "csrf_input",
                Value::from_function(move || -> Result<Value, TemplateError> {
                    crate::csrf::CsrfToken::for_session(&session)
                        .map(|t| Value::from_safe_string(t.hidden_input()))
                        .map_err(|e| TemplateError::new(ErrorKind::InvalidOperation, e.to_string()))
                }),
            );
        }
    })
}
