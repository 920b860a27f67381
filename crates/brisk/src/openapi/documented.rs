//! [`Documented`]: what `#[brisk::endpoint]` wraps a handler's return value in, to carry the
//! operation's summary, description and other metadata into the document.

use std::marker::PhantomData;

#[cfg(debug_assertions)]
use super::route_errors::is_declared_status;
use super::route_errors::{with_declared_errors, DeclaredError};
use super::{document_error, DescribeOutput, DocContext, Operation, ResponseDoc};
use crate::response::{IntoResponse, Response};

/// An operation's metadata, as `#[brisk::endpoint]` writes it from a handler's doc comment and
/// options.
pub trait EndpointDocs {
    /// One line.
    const SUMMARY: Option<&'static str>;
    /// Markdown.
    const DESCRIPTION: Option<&'static str>;
    /// Replaces the id derived from the function name.
    const OPERATION_ID: Option<&'static str>;
    /// Marks the operation deprecated.
    const DEPRECATED: bool;
    /// Extra tags.
    const TAGS: &'static [&'static str];
    /// Extra documented responses: status and description (error statuses get FastAPI's
    /// `{"detail": ...}` body).
    const RESPONSES: &'static [(u16, &'static str)];
    /// The variants of shared error enums this operation answers with
    /// (`errors(NoteError::NotFound, ...)`): only these are documented for the enums they
    /// belong to. Empty: every variant of every error enum returned is documented.
    const ERRORS: &'static [DeclaredError] = &[];
}

/// A handler's return value with its operation's metadata; answers exactly like `R`.
pub struct Documented<R, D> {
    inner: R,
    _docs: PhantomData<fn() -> D>,
}

impl<R, D> Documented<R, D> {
    /// Wraps a return value.
    pub fn new(inner: R) -> Self {
        Documented { inner, _docs: PhantomData }
    }

    /// The value the handler returned.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: IntoResponse, D: EndpointDocs> IntoResponse for Documented<R, D> {
    fn into_response(self) -> Response {
        let res = self.inner.into_response();
        #[cfg(debug_assertions)]
        warn_undeclared::<D>(res.status());
        res
    }
}

/// Documenting is not enforcing: an error status the endpoint did not declare still answers,
/// and debug builds say so (500s, which no one declares, excepted).
#[cfg(debug_assertions)]
fn warn_undeclared<D: EndpointDocs>(status: http::StatusCode) {
    let undeclared = !D::ERRORS.is_empty()
        && (status.is_client_error()
            || (status.is_server_error() && status != http::StatusCode::INTERNAL_SERVER_ERROR))
        && !is_declared_status(D::ERRORS, D::RESPONSES, status.as_u16());
    if undeclared {
        tracing::warn!(
            target: "brisk::openapi",
            status = status.as_u16(),
            declared = ?D::ERRORS,
            "a handler answered with an error status its #[endpoint(errors(...))] does not declare"
        );
    }
}

impl<R: DescribeOutput, D: EndpointDocs> DescribeOutput for Documented<R, D> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        with_declared_errors(D::ERRORS, cx, op, R::describe_output);
        op.summary = D::SUMMARY.map(str::to_owned).or(op.summary.take());
        op.description = D::DESCRIPTION.map(str::to_owned).or(op.description.take());
        op.operation_id = D::OPERATION_ID.map(str::to_owned).or(op.operation_id.take());
        op.deprecated |= D::DEPRECATED;
        op.tags.extend(D::TAGS.iter().map(|t| (*t).to_owned()));
        for (status, description) in D::RESPONSES {
            if *status >= 400 {
                document_error(cx, op, *status, description);
            } else {
                op.add_response(&status.to_string(), ResponseDoc::new(*description));
            }
        }
    }
}
