//! A router- or app-level dependency's validation errors, kept for the handler's 422.
//!
//! FastAPI validates every dependency's and the endpoint's parameters before it answers 422,
//! so the client sees all of them at once. A route dependency whose inputs fail validation
//! leaves its errors in the request's extensions; the handler starts its own error list with
//! them, validates its arguments, and answers 422 without running. An error that is not a
//! validation failure (a dependency's 401 or 403) still answers at once.

use http::Extensions;

use crate::error::{Error, ValidationError};

/// The errors waiting for the handler, dependency order kept.
#[derive(Clone, Default)]
struct Deferred(Vec<ValidationError>);

/// Adds a dependency's validation errors to those waiting; hands back an error that is not one,
/// or a validation error with no entries (nothing would hold the handler back: it answers at
/// once, as before).
pub(crate) fn defer(extensions: &mut Extensions, error: Error) -> Result<(), Error> {
    if error.validation_errors().is_some_and(<[ValidationError]>::is_empty) {
        return Err(error);
    }
    let mut waiting = extensions.remove::<Deferred>().unwrap_or_default();
    let result = error.gather_into(&mut waiting.0);
    if !waiting.0.is_empty() {
        extensions.insert(waiting);
    }
    result
}

/// The errors dependencies left for the handler (none, usually: no allocation then).
pub(crate) fn take_deferred(extensions: &mut Extensions) -> Vec<ValidationError> {
    extensions.remove::<Deferred>().map(|d| d.0).unwrap_or_default()
}
