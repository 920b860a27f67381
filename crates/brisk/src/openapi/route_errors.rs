//! Per-route error documentation: which variants of a shared `#[derive(ApiError)]` enum an
//! operation can answer with.
//!
//! An error enum documents every one of its variants wherever it is returned. An endpoint that
//! can only answer some of them says which, as FastAPI's `responses={404: ...}` does per route:
//!
//! ```
//! use brisk::prelude::*;
//!
//! #[derive(Debug, ApiError)]
//! enum NoteError {
//!     #[api(status = 404, detail = "Note not found")]
//!     NotFound,
//!     #[api(status = 409, detail = "A note with this title exists")]
//!     Conflict,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Note {
//!     title: String,
//! }
//!
//! /// Reads a note.
//! #[brisk::endpoint(errors(NoteError::NotFound))]
//! async fn show(Path(id): Path<u32>) -> Result<Json<Note>, NoteError> {
//!     Err(NoteError::NotFound)
//! }
//!
//! let doc = App::new().route("/notes/{id}", get(show)).openapi().unwrap();
//! let responses = &doc.paths["/notes/{id}"]["get"]["responses"];
//! assert!(responses.get("404").is_some());
//! assert!(responses.get("409").is_none());
//! ```
//!
//! Naming a variant the enum does not have is a compile error. Declaring documents, it does not
//! enforce: a handler that returns a variant it did not declare still answers with it (debug
//! builds log a warning naming the route's status).

use super::{document_error, DocContext, Operation};

/// One documented variant of a `#[derive(ApiError)]` enum.
#[derive(Debug, Clone, Copy)]
pub struct ErrorVariantDoc {
    /// The variant's name (`NotFound`).
    pub name: &'static str,
    /// Its HTTP status.
    pub status: u16,
    /// Its fixed detail, which describes the response; otherwise the status's reason.
    pub detail: Option<&'static str>,
}

impl ErrorVariantDoc {
    /// The response's description: the detail, or the status's reason phrase.
    pub fn description(&self) -> &'static str {
        self.detail.unwrap_or_else(|| {
            http::StatusCode::from_u16(self.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
        })
    }
}

/// An error enum whose variants are documented HTTP errors; `#[derive(ApiError)]` implements it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an error enum brisk can document",
    label = "derive `brisk::ApiError` for it",
    note = "`#[endpoint(errors(...))]` names variants of enums that derive `ApiError`"
)]
pub trait ErrorVariants {
    /// The variants with a status (transparent ones are documented by the error they wrap).
    const VARIANTS: &'static [ErrorVariantDoc];
}

/// A variant an endpoint declares it can answer with (`#[endpoint(errors(NoteError::NotFound))]`).
#[derive(Clone, Copy)]
pub struct DeclaredError {
    enum_name: fn() -> &'static str,
    variants: fn() -> &'static [ErrorVariantDoc],
    variant: &'static str,
}

fn variants_of<E: ErrorVariants + ?Sized>() -> &'static [ErrorVariantDoc] {
    E::VARIANTS
}

impl DeclaredError {
    /// Variant `variant` of `E` (the macro checks that it exists).
    pub const fn of<E: ErrorVariants + ?Sized>(variant: &'static str) -> Self {
        DeclaredError { enum_name: std::any::type_name::<E>, variants: variants_of::<E>, variant }
    }

    /// The variant's documentation; `None` for a transparent variant.
    pub fn doc(&self) -> Option<&'static ErrorVariantDoc> {
        (self.variants)().iter().find(|v| v.name == self.variant)
    }

    pub(crate) fn enum_name(&self) -> &'static str {
        (self.enum_name)()
    }
}

impl std::fmt::Debug for DeclaredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.enum_name(), self.variant)
    }
}

/// Documents the variants of `E` (what `#[derive(ApiError)]`'s `DescribeOutput` does): all of
/// them, unless the endpoint being described declares which variants of `E` it answers with
/// (then those are documented by the endpoint, and none here).
pub fn document_error_variants<E: ErrorVariants + ?Sized>(cx: &mut DocContext, op: &mut Operation) {
    if cx.declares_errors_of(std::any::type_name::<E>()) {
        return;
    }
    for variant in E::VARIANTS {
        document_error(cx, op, variant.status, variant.description());
    }
}

/// Describes `describe` (an endpoint's return type) with `declared` in force, then documents
/// the declared variants.
pub(crate) fn with_declared_errors(
    declared: &'static [DeclaredError],
    cx: &mut DocContext,
    op: &mut Operation,
    describe: impl FnOnce(&mut DocContext, &mut Operation),
) {
    if declared.is_empty() {
        describe(cx, op);
        return;
    }
    let previous =
        std::mem::replace(&mut cx.declared_errors, declared.iter().map(DeclaredError::enum_name).collect());
    describe(cx, op);
    cx.declared_errors = previous;
    for doc in declared.iter().filter_map(DeclaredError::doc) {
        document_error(cx, op, doc.status, doc.description());
    }
}

/// Whether a response's status is one the endpoint documents as an error it can answer with:
/// a declared variant's, or one of its `response(status = ...)` (debug builds warn otherwise).
#[cfg(debug_assertions)]
pub(crate) fn is_declared_status(declared: &[DeclaredError], responses: &[(u16, &str)], status: u16) -> bool {
    declared.iter().filter_map(DeclaredError::doc).any(|d| d.status == status)
        || responses.iter().any(|(s, _)| *s == status)
}
